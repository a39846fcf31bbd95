//! `cleanup` on convolutional networks (the graph really shrinks, outputs stay bit for bit)
//! and masks exported and applied as `.npz`.

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::ir::{Graph, Op, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::passes::mask::{export_masks, read_masks};
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext};
use spikeforge_compiler::summary::Summary;
use spikeforge_compiler::text::parse_snn;

mod nets;
use nets::{dims, lit, passes, run, Lcg};

/// (neurons, unrolled nonzero synapses, stored weights) as `check` prints them.
fn summary(g: &Graph) -> (u64, u64, u64) {
    let v = g.verify(&Limits::default()).unwrap();
    let s = Summary::new(g, &v);
    (s.neurons(), s.synapses(), s.weights_stored())
}

/// Layout of the small conv net.
#[derive(Clone, Copy)]
enum Net {
    /// c1 → l1 → SumPool → c2 → l2 → Flatten → fc: pooling then a conv, a flatten then a dense layer.
    PoolThenConv,
    /// c1 → l1 → c2 → l2 → AvgPool → Flatten → fc: a conv directly, pooling then a flatten.
    ConvThenPool,
    /// As `PoolThenConv`, with `groups = 2` on c2: l1 must be left alone.
    Grouped,
}

/// `[2, 6, 6]` input; c1 2→4 3×3 pad 1; l1 LIF `[4, 6, 6]` with per-element thresholds; c2
/// 4→4 3×3 pad 1; l2 LIF; fc → 5 classes. Dead by construction: l1 channel 1 (no input, no
/// output) and l2 channel 0. Half-dead, so kept: l1 channel 2 has no input but an output
/// weight, l1 channel 3 an input but no output.
fn conv_net(net: Net) -> Graph {
    let mut r = Lcg(7);
    let mut c1 = r.tensor(&[4, 2, 3, 3], -0.4, 1.0);
    let mut b1 = r.tensor(&[4], 0.0, 0.2);
    let groups = if matches!(net, Net::Grouped) { 2 } else { 1 };
    let mut c2 = r.tensor(&[4, 4 / groups, 3, 3], -0.4, 1.0);
    let mut b2 = r.tensor(&[4], 0.0, 0.2);
    let per = 9; // l2's 3×3 map (after pooling in `ConvThenPool`)
    let mut fc = r.tensor(&[5, 4 * per], -0.5, 1.0);
    let k = 9;
    for ch in [1usize, 2] {
        c1.data_mut()[ch * 18..(ch + 1) * 18].fill(0.0);
        b1.data_mut()[ch] = 0.0;
    }
    if groups == 1 {
        for o in 0..4 {
            for ch in [1usize, 3] {
                c2.data_mut()[(o * 4 + ch) * k..(o * 4 + ch + 1) * k].fill(0.0);
            }
        }
    }
    c2.data_mut()[..4 / groups * k].fill(0.0); // filter 0
    b2.data_mut()[0] = 0.0;
    for row in 0..5 {
        fc.data_mut()[row * 4 * per..row * 4 * per + per].fill(0.0);
    }
    let thr1 = r.tensor(&[4, 6, 6], 0.5, 1.5);
    let c2_in = if matches!(net, Net::ConvThenPool) { "l1" } else { "p1" };
    let l2_shape = if matches!(net, Net::ConvThenPool) { "[4, 6, 6]" } else { "[4, 3, 3]" };
    let body = match net {
        Net::ConvThenPool => "p2 = AvgPool2d<kernel_size=[2, 2]>(l2)\nfl = Flatten<start_dim=0, end_dim=-1>(p2)\n",
        _ => "fl = Flatten<start_dim=0, end_dim=-1>(l2)\n",
    };
    let src = format!(
        "snn 1\n\
         input = Input<shape=[2, 6, 6]>()\n\
         c1 = Conv2d<weight={}, bias={}, padding=[1, 1]>(input)\n\
         l1 = LIF<tau=full([4, 6, 6], 0.0005), r=5.0, v_leak=0.0, v_threshold={}, v_reset=0.0>(c1)\n\
         p1 = SumPool2d<kernel_size=[2, 2]>(l1)\n\
         c2 = Conv2d<weight={}, bias={}, padding=[1, 1], groups={groups}>({c2_in})\n\
         l2 = LIF<tau=full({l2_shape}, 0.0005), r=5.0, v_leak=0.0, v_threshold=full({l2_shape}, 0.75), v_reset=0.0>(c2)\n\
         {body}\
         fc = Affine<weight={}, bias=full([5], 0.05)>(fl)\n\
         l3 = LIF<tau=full([5], 0.0005), r=5.0, v_leak=0.0, v_threshold=full([5], 1.0), v_reset=0.0>(fc)\n\
         output = Output<shape=[5]>(l3)\n",
        lit(&c1),
        lit(&b1),
        lit(&thr1),
        lit(&c2),
        lit(&b2),
        lit(&fc)
    );
    let src = if matches!(net, Net::ConvThenPool) {
        src.replace("p1 = SumPool2d<kernel_size=[2, 2]>(l1)\n", "")
    } else {
        src
    };
    parse_snn(&src, "net.snn", Path::new("."), &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

fn random_input(n: usize, t: usize, len: usize, seed: u64) -> Vec<f64> {
    nets::random_input(n, t, len, seed, 0.35)
}

#[test]
fn conv_channels_with_no_inputs_and_outputs_are_deleted_exactly() {
    let (n, t) = (6, 12);
    let x = random_input(n, t, 72, 11);
    for net in [Net::PoolThenConv, Net::ConvThenPool] {
        let g = conv_net(net);
        let before = run(&g, &x, n, t);
        assert!(before.output.iter().sum::<f64>() > 10.0, "the test net must spike");
        let (cleaned, reports) = passes(&g, "cleanup", None);
        println!("{}", reports[0].lines.join("\n"));
        // l1: channel 1 goes (2, 3 are half-connected and stay); l2: channel 0 goes.
        assert_eq!(dims(&cleaned, "c1"), [3, 2, 3, 3]);
        assert_eq!(dims(&cleaned, "c2"), [3, 3, 3, 3]);
        assert_eq!(dims(&cleaned, "fc"), [5, 3 * 9]);
        let l1 = cleaned.op(cleaned.find("l1").unwrap());
        assert!(l1.neuron_params().iter().all(|p| p.dims() == [3, 6, 6]));
        // The surviving thresholds are channels 0, 2, 3 of the original, in order.
        let (thr_old, thr_new) = match (g.op(g.find("l1").unwrap()), l1) {
            (Op::LIF { v_threshold: a, .. }, Op::LIF { v_threshold: b, .. }) => (a.data().to_vec(), b.data().to_vec()),
            _ => panic!("l1 is a LIF"),
        };
        let want: Vec<f64> = [0usize, 2, 3].iter().flat_map(|&c| thr_old[c * 36..(c + 1) * 36].to_vec()).collect();
        assert_eq!(thr_new, want);
        let after = run(&cleaned, &x, n, t);
        assert!(after.output.iter().zip(&before.output).all(|(a, b)| a.to_bits() == b.to_bits()), "outputs changed");
        let ((n0, s0, w0), (n1, s1, w1)) = (summary(&g), summary(&cleaned));
        assert_eq!(n0 - n1, 36 + if matches!(net, Net::ConvThenPool) { 36 } else { 9 });
        assert_eq!(s0, s1, "only zero weights went, so the unrolled synapse count is unchanged");
        assert_eq!(w0 - w1, 18 + 4 * 9 + 3 * 9 + 5 * 9, "c1 filter, c2 filter and input slice, fc columns");
        // A second cleanup finds nothing more.
        let (again, _) = passes(&cleaned, "cleanup", None);
        assert!(again.same_as(&cleaned));
    }
}

#[test]
fn unsupported_structures_are_left_alone() {
    // A grouped c2: l1's channels cannot be cut out of it, nor l2's out of its filters.
    let g = conv_net(Net::Grouped);
    let (cleaned, reports) = passes(&g, "cleanup", None);
    assert!(cleaned.same_as(&g), "{:?}", reports[0].lines);
    // l1 read by the Output node: its channels are observable, so they all stay; l2 shrinks.
    let mut g = conv_net(Net::PoolThenConv);
    g.remove_node(g.find("output").unwrap());
    let l1 = g.find("l1").unwrap();
    let o = g.add_node("output", Op::Output { shape: spikeforge_compiler::ir::Shape(vec![144]) }).unwrap();
    g.add_edge(l1, o).unwrap();
    let x = random_input(3, 8, 72, 5);
    let before = run(&g, &x, 3, 8);
    assert!(before.output.iter().sum::<f64>() > 0.0);
    let (cleaned, _) = passes(&g, "cleanup", None);
    assert_eq!(dims(&cleaned, "c1"), [4, 2, 3, 3]);
    assert_eq!(dims(&cleaned, "c2"), [3, 4, 3, 3]);
    assert_eq!(run(&cleaned, &x, 3, 8).output, before.output);
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden").join(name)
}

/// digits_cnn after `prune(method=sca, sparsity=0.5)`: the removed channels' filters, biases
/// and downstream weights (behind the AvgPool, behind the Flatten) are zero; `cleanup`
/// deletes them, and the smaller model's output spikes equal the pruned model's exactly.
#[test]
fn structured_pruned_digits_cnn_shrinks_exactly() {
    let limits = Limits::default();
    let g = read_nir(&golden("digits_cnn").join("model.nir"), &limits).unwrap();
    let x = read_npy_f64(&golden("digits_cnn").join("input.npy"), &limits).unwrap();
    let (t, len) = (x.shape[1], x.shape[2..].iter().product::<usize>());
    let take = |s: std::ops::Range<usize>| x.data[s.start * t * len..s.end * t * len].to_vec();
    let calib = Calibration { data: take(0..40), n_samples: 40, n_steps: t };
    let (pruned, _) = passes(&g, "prune(method=sca, sparsity=0.5)", Some(&calib));
    let (cleaned, reports) = passes(&pruned, "cleanup", None);
    println!("{}", reports[0].lines.join("\n"));
    assert_eq!(dims(&cleaned, "0"), [4, 1, 3, 3]);
    assert_eq!(dims(&cleaned, "3"), [8, 4, 3, 3]);
    assert_eq!(dims(&cleaned, "6"), [10, 8 * 16]);
    let (dense, (n0, s0, w0), (n1, s1, w1)) = (summary(&g), summary(&pruned), summary(&cleaned));
    println!(
        "digits_cnn: dense {dense:?}; sca 0.5: neurons {n0} -> {n1}, synapses {s0} -> {s1}, stored weights {w0} -> {w1}"
    );
    assert_eq!(n0 - n1, 4 * 64 + 8 * 16);
    assert_eq!((s0, w1), (s1, 4 * 9 + 8 * 4 * 9 + 10 * 128), "zero weights went, every nonzero one stayed");
    assert!(s0 < dense.1);
    let eval = take(40..100);
    let (a, b) = (run(&pruned, &eval, 60, t), run(&cleaned, &eval, 60, t));
    assert!(a.output.iter().sum::<f64>() > 0.0);
    assert!(a.output.iter().zip(&b.output).all(|(p, q)| p.to_bits() == q.to_bits()), "outputs differ");
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn weights(g: &Graph) -> Vec<Vec<f64>> {
    g.node_ids().filter_map(|n| g.op(n).weight()).map(|w| w.data().to_vec()).collect()
}

/// `.npz` masks hold what the safetensors export holds, and `mask(path=….npz)` on the dense
/// model reproduces the pruned graph.
#[test]
fn npz_masks_round_trip() {
    let limits = Limits::default();
    let dense = read_nir(&golden("digits_mlp").join("model.nir"), &limits).unwrap();
    let (pruned, _) = passes(&dense, "prune(method=magnitude, sparsity=0.7)", None);
    let first = pruned.node_ids().find(|&n| pruned.op(n).weight().is_some()).unwrap();
    let score = Tensor::new(vec![3], vec![0.5, 1.0 / 3.0, 2.0]).unwrap();
    let scores = vec![(pruned.name(first).to_string(), score.clone())];
    let dir = tmp();
    let (npz, st) = (dir.path().join("m.npz"), dir.path().join("m.safetensors"));
    export_masks(&pruned, &scores, &npz).unwrap();
    export_masks(&pruned, &scores, &st).unwrap();
    let (a, b) = (read_masks(&npz, &limits).unwrap(), read_masks(&st, &limits).unwrap());
    assert_eq!(a.len(), b.len());
    for ((ka, ta), (kb, tb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert!(ta.bit_eq(tb), "`{ka}` differs between .npz and .safetensors");
    }
    assert!(a.iter().any(|(k, t)| *k == format!("{}.score", pruned.name(first)) && t.bit_eq(&score)));
    let (masked, reports) = passes(&dense, &format!("mask(path=\"{}\")", npz.display()), None);
    assert_eq!(weights(&masked), weights(&pruned));
    assert!(masked.same_as(&pruned));
    assert!(reports[0].lines[0].contains("70.0 % sparse"), "{:?}", reports[0].lines);
}

#[test]
fn bad_npz_and_extensions_are_clean_errors() {
    let limits = Limits::default();
    let dense = read_nir(&golden("digits_mlp").join("model.nir"), &limits).unwrap();
    let dir = tmp();
    let good = dir.path().join("m.npz");
    export_masks(&dense, &[], &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.npz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let ctx = PassContext { limits: &limits, dynamics: Dynamics::default(), calib: None, train: None, target: None };
    let mut g = dense.clone();
    let e = run_pipeline(&mut g, &build_pipeline(&format!("mask(path=\"{}\")", cut.display())).unwrap(), &ctx)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("mask: ") && e.contains("cut.npz") && e.contains("not a valid .npz"), "{e}");
    let e = build_pipeline("mask(path=\"m.npy\")").err().unwrap();
    assert!(e.message.contains("`.safetensors` or `.npz`"), "{}", e.message);
    let e = export_masks(&dense, &[], &dir.path().join("m.h5")).unwrap_err();
    assert!(e.contains("m.h5") && e.contains(".npz"), "{e}");
    assert!(!dir.path().join("m.h5").exists());
}
