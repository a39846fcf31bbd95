//! Structured pruning and `cleanup` as the methods define them, on small conv nets: a
//! channel that never spikes goes first under every activity score, and residual nets
//! (a node with two incoming edges sums them) are pruned and shrunk with the channels an
//! addition ties removed together, outputs bit for bit.

mod nets;

use nets::{dims, lit, parse, passes, random_input, run, Lcg};
use spikeforge_compiler::ir::{Graph, Op};
use spikeforge_compiler::passes::Calibration;

/// `[1, 6, 6]` → c1 (1→4, 3×3, pad 1) → l1 → c2 (4→4) → l2 → Flatten → fc → l3. Channel 0
/// of c1 has the largest filter of all, negative, and a bias of −2: held far below rest,
/// it never spikes (the largest |u| of the layer, and the largest L1 magnitude).
fn net_with_a_hyperpolarised_channel() -> Graph {
    let mut r = Lcg(3);
    let mut c1 = r.tensor(&[4, 1, 3, 3], 0.2, 1.0);
    c1.data_mut()[..9].fill(-1.5);
    let b1 = [-2.0, 0.1, 0.1, 0.1];
    let c2 = r.tensor(&[4, 4, 3, 3], -0.3, 1.0);
    let fc = r.tensor(&[3, 4 * 36], -0.5, 1.0);
    parse(&format!(
        "snn 1\n\
         input = Input<shape=[1, 6, 6]>()\n\
         c1 = Conv2d<weight={}, bias={:?}, padding=[1, 1]>(input)\n\
         l1 = LIF<tau=full([4, 6, 6], 0.0005), r=5.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0>(c1)\n\
         c2 = Conv2d<weight={}, bias=full([4], 0.0), padding=[1, 1]>(l1)\n\
         l2 = LIF<tau=full([4, 6, 6], 0.0005), r=5.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0>(c2)\n\
         fl = Flatten<start_dim=0, end_dim=-1>(l2)\n\
         fc = Affine<weight={}, bias=full([3], 0.0)>(fl)\n\
         l3 = LIF<tau=full([3], 0.0005), r=5.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0>(fc)\n\
         output = Output<shape=[3]>(l3)\n",
        lit(&c1),
        b1,
        lit(&c2),
        lit(&fc)
    ))
}

#[test]
fn a_channel_that_never_spikes_goes_first_under_every_score() {
    let g = net_with_a_hyperpolarised_channel();
    let (n, t) = (8, 16);
    let calib = Calibration { data: random_input(n, t, 36, 5, 0.35), n_samples: n, n_steps: t };
    for method in ["svs", "sca", "criticality"] {
        let (p, reports) = passes(&g, &format!("prune(method={method}, sparsity=0.25, layers=[c1])"), Some(&calib));
        let w = p.op(p.find("c1").unwrap()).weight().unwrap();
        let dead: Vec<usize> = (0..4).filter(|&c| w.data()[c * 9..(c + 1) * 9].iter().all(|v| *v == 0.0)).collect();
        assert_eq!(dead, vec![0], "{method}: {:?}", reports[0].lines);
        let scores = &reports[0].scores.iter().find(|(k, _)| k == "c1").unwrap().1;
        let s = scores.data();
        assert!(s[0] == 0.0 && s[1..].iter().all(|v| *v > 0.0), "{method}: {s:?}");
    }
}

/// The shortcut of a residual block.
#[derive(Clone, Copy, Debug)]
enum Shortcut {
    /// SEW-ResNet: `l3 = LIF(c3(l2) + l1)`; l1 and l3 share channels.
    Identity,
    /// ResNet-19 downsampling style: `l3 = LIF(c3(l2) + sc(l1))`, sc a 1×1 conv; c3 and sc
    /// share channels, l1 is read by c2 and sc.
    Projection,
}

/// `[2, 6, 6]` → c1 (2→4) → l1 → c2 (4→4) → l2 → c3 (4→4) → (+ shortcut) → l3 → SumPool 2 →
/// Flatten → fc (36 → 5) → l4. Per-element thresholds on l1 and l3.
fn residual_net(shortcut: Shortcut, edit: impl Fn(&str, &mut Vec<f64>)) -> Graph {
    let mut r = Lcg(11);
    let mut t = |name: &str, dims: &[usize], lo: f64, hi: f64| {
        let mut x = r.tensor(dims, lo, hi);
        let mut v = x.data().to_vec();
        edit(name, &mut v);
        x.data_mut().copy_from_slice(&v);
        x
    };
    let c1 = t("c1", &[4, 2, 3, 3], -0.3, 1.0);
    let b1 = t("b1", &[4], 0.0, 0.2);
    let c2 = t("c2", &[4, 4, 3, 3], -0.4, 0.8);
    let b2 = t("b2", &[4], 0.0, 0.2);
    let c3 = t("c3", &[4, 4, 3, 3], -0.4, 0.8);
    let b3 = t("b3", &[4], 0.0, 0.2);
    let sc = t("sc", &[4, 4, 1, 1], 0.0, 0.8);
    let bs = t("bs", &[4], 0.0, 0.1);
    let fc = t("fc", &[5, 4 * 9], -0.5, 1.0);
    let thr1 = t("thr1", &[4, 6, 6], 0.5, 1.5);
    let thr3 = t("thr3", &[4, 6, 6], 0.5, 1.5);
    let lif = |name: &str, input: &str, thr: String| {
        format!(
            "{name} = LIF<tau=full([4, 6, 6], 0.0005), r=5.0, v_leak=0.0, v_threshold={thr}, v_reset=0.0>({input})\n"
        )
    };
    let (shortcut_node, l3_inputs) = match shortcut {
        Shortcut::Identity => (String::new(), "c3, l1"),
        Shortcut::Projection => (format!("sc = Conv2d<weight={}, bias={}>(l1)\n", lit(&sc), lit(&bs)), "c3, sc"),
    };
    parse(&format!(
        "snn 1\n\
         input = Input<shape=[2, 6, 6]>()\n\
         c1 = Conv2d<weight={}, bias={}, padding=[1, 1]>(input)\n\
         {}\
         c2 = Conv2d<weight={}, bias={}, padding=[1, 1]>(l1)\n\
         {}\
         c3 = Conv2d<weight={}, bias={}, padding=[1, 1]>(l2)\n\
         {shortcut_node}\
         {}\
         p = SumPool2d<kernel_size=[2, 2]>(l3)\n\
         fl = Flatten<start_dim=0, end_dim=-1>(p)\n\
         fc = Affine<weight={}, bias=full([5], 0.05)>(fl)\n\
         l4 = LIF<tau=full([5], 0.0005), r=5.0, v_leak=0.0, v_threshold=full([5], 1.0), v_reset=0.0>(fc)\n\
         output = Output<shape=[5]>(l4)\n",
        lit(&c1),
        lit(&b1),
        lif("l1", "c1", lit(&thr1)),
        lit(&c2),
        lit(&b2),
        lif("l2", "c2", "1.0".into()),
        lit(&c3),
        lit(&b3),
        lif("l3", l3_inputs, lit(&thr3)),
        lit(&fc)
    ))
}

fn thresholds(g: &Graph, node: &str) -> Vec<f64> {
    match g.op(g.find(node).unwrap()) {
        Op::LIF { v_threshold, .. } => v_threshold.data().to_vec(),
        _ => panic!("{node} is a LIF"),
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())
}

/// Channel 1 of the residual group (l1 and l3, or c3 and sc) has no input and no output on
/// every branch; channel 2 has no input through c1 but one through c3, so it stays.
#[test]
fn cleanup_removes_a_channel_from_both_branches_of_a_residual_block() {
    for shortcut in [Shortcut::Identity, Shortcut::Projection] {
        let dead = |name: &str, v: &mut Vec<f64>| match (shortcut, name) {
            // the group's sources: row/filter 1 and bias 1
            (_, "c3") | (Shortcut::Projection, "sc") => {
                let k = v.len() / 4;
                v[k..2 * k].fill(0.0);
            }
            (_, "b3") | (Shortcut::Projection, "bs") => v[1] = 0.0,
            (Shortcut::Identity, "c1") => {
                v[18..36].fill(0.0);
                v[36..54].fill(0.0);
            }
            (Shortcut::Identity, "b1") => {
                v[1] = 0.0;
                v[2] = 0.0;
            }
            // its uses: c2's input slice 1 (identity: l1 is in the group), fc's columns
            (Shortcut::Identity, "c2") => (0..4).for_each(|o| v[(o * 4 + 1) * 9..(o * 4 + 2) * 9].fill(0.0)),
            (_, "fc") => (0..5).for_each(|r| v[r * 36 + 9..r * 36 + 18].fill(0.0)),
            _ => {}
        };
        let g = residual_net(shortcut, dead);
        let (n, t) = (6, 12);
        let x = random_input(n, t, 72, 17, 0.35);
        let before = run(&g, &x, n, t);
        assert!(before.output.iter().sum::<f64>() > 10.0, "the test net must spike");
        let (cleaned, reports) = passes(&g, "cleanup", None);
        println!("{shortcut:?}: {}", reports[0].lines.join("; "));
        assert_eq!(dims(&cleaned, "c3"), [3, 4, 3, 3], "{shortcut:?}");
        assert_eq!(dims(&cleaned, "fc"), [5, 27]);
        match shortcut {
            Shortcut::Identity => {
                assert_eq!(dims(&cleaned, "c1"), [3, 2, 3, 3]);
                assert_eq!(dims(&cleaned, "c2"), [4, 3, 3, 3]);
                for l in ["l1", "l3"] {
                    let old = thresholds(&g, l);
                    let want: Vec<f64> =
                        [0usize, 2, 3].iter().flat_map(|&c| old[c * 36..(c + 1) * 36].to_vec()).collect();
                    assert_eq!(thresholds(&cleaned, l), want, "{l}");
                }
            }
            Shortcut::Projection => {
                assert_eq!(dims(&cleaned, "sc"), [3, 4, 1, 1]);
                assert_eq!(dims(&cleaned, "c1"), [4, 2, 3, 3]);
            }
        }
        assert!(reports[0].lines[0].contains("tied by additions"), "{:?}", reports[0].lines);
        let after = run(&cleaned, &x, n, t);
        assert!(same_bits(&after.output, &before.output), "{shortcut:?}: outputs changed");
        let (again, _) = passes(&cleaned, "cleanup", None);
        assert!(again.same_as(&cleaned));
    }
}

/// Structured pruning scores a residual group once, over both branches, zeroes its channels
/// in every source and use, and `cleanup` then shrinks both branches with outputs unchanged.
#[test]
fn structured_pruning_spans_residual_branches() {
    for shortcut in [Shortcut::Identity, Shortcut::Projection] {
        let g = residual_net(shortcut, |_, _| {});
        let (n, t) = (8, 12);
        let calib = Calibration { data: random_input(n, t, 72, 23, 0.35), n_samples: n, n_steps: t };
        for method in ["svs", "sca", "criticality"] {
            let (pruned, reports) = passes(&g, &format!("prune(method={method}, sparsity=0.5)"), Some(&calib));
            let tied = match shortcut {
                Shortcut::Identity => "`c1` + `c3`",
                Shortcut::Projection => "`c3` + `sc`",
            };
            assert!(
                reports[0].lines.iter().any(|l| l.contains(tied) && l.contains("removed 2 of 4")),
                "{:?}",
                reports[0].lines
            );
            let (cleaned, rep) = passes(&pruned, "cleanup", None);
            println!("{shortcut:?} {method}: {}", rep[0].lines.join("; "));
            for node in ["c1", "c2", "c3"] {
                assert_eq!(dims(&cleaned, node)[0], 2, "{shortcut:?} {method}: {node}");
            }
            assert_eq!(dims(&cleaned, "fc"), [5, 18]);
            let eval = random_input(5, t, 72, 29, 0.35);
            let (a, b) = (run(&pruned, &eval, 5, t), run(&cleaned, &eval, 5, t));
            assert!(same_bits(&a.output, &b.output), "{shortcut:?} {method}: outputs differ after cleanup");
        }
    }
}
