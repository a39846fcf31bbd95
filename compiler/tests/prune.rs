//! The `prune` pass on the golden digits models: exact sparsity per layer and globally,
//! SLAMP's reductions to LAMP, SOP costs, and accuracy and SOPs of every method at
//! 50/70/90 % (unstructured; by weights and by SOPs) and 25/50/75 % (structured), and of
//! ReScaW's γ choices at 4 and 2 bits (calibrate on samples 0..120, evaluate on 120..360).
//! Run with `--nocapture` for the tables.

use std::path::PathBuf;

use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport};

mod golden_digits;

use golden_digits::{load_case, run_passes, weights, zeros, Data};

fn load() -> Data {
    load_case("digits_mlp")
}

fn prune(g: &Graph, spec: &str, calib: Option<&Calibration>) -> (Graph, Vec<PassReport>) {
    run_passes(g, spec, calib)
}

fn layer_names(g: &Graph) -> Vec<String> {
    g.node_ids().filter(|&n| g.op(n).weight().is_some()).map(|n| g.name(n).to_string()).collect()
}

#[test]
fn magnitude_per_layer_and_global_hit_the_sparsity() {
    let d = load();
    let (g, reports) = prune(&d.graph, "prune(method=magnitude, sparsity=0.8)", None);
    let orig = weights(&d.graph);
    for (w, o) in weights(&g).iter().zip(&orig) {
        assert_eq!(zeros(w), (0.8 * w.len() as f64).round() as usize);
        // survivors are untouched and the largest
        let kept_min = w.iter().filter(|v| **v != 0.0).map(|v| v.abs()).fold(f64::MAX, f64::min);
        let cut_max = o.iter().zip(w).filter(|(_, v)| **v == 0.0).map(|(a, _)| a.abs()).fold(0.0, f64::max);
        assert!(kept_min >= cut_max);
        assert!(o.iter().zip(w).all(|(a, b)| *b == 0.0 || a == b));
    }
    assert!(reports[0].lines[0].contains("80.0 % sparse"), "{:?}", reports[0].lines);

    let (g, _) = prune(&d.graph, "prune(method=magnitude, sparsity=0.7, scope=global)", None);
    let ws = weights(&g);
    let total: usize = ws.iter().map(Vec::len).sum();
    assert_eq!(ws.iter().map(|w| zeros(w)).sum::<usize>(), (0.7 * total as f64).round() as usize);

    // A per-layer list, and already-zero weights count as pruned: pruning twice changes nothing.
    let (g1, _) = prune(&d.graph, "prune(sparsity=[0.5, 0.25])", None);
    let ws = weights(&g1);
    assert_eq!(zeros(&ws[0]), ws[0].len() / 2);
    assert_eq!(zeros(&ws[1]), ws[1].len() / 4);
    let (g2, _) = prune(&g1, "prune(sparsity=[0.5, 0.25])", None);
    assert_eq!(weights(&g2), ws);

    let names = layer_names(&d.graph);
    let (g3, _) = prune(&d.graph, &format!("prune(sparsity=0.9, layers=[\"{}\"])", names[1]), None);
    let ws = weights(&g3);
    assert_eq!(ws[0], orig[0]);
    assert_eq!(zeros(&ws[1]), (0.9 * ws[1].len() as f64).round() as usize);

    for bad in ["prune(sparsity=1.5)", "prune(sparsity=[0.5, 0.5], scope=global)", "prune(method=foo, sparsity=0.5)"] {
        assert!(build_pipeline(bad).is_err(), "{bad}");
    }
}

#[test]
fn slamp_reduces_to_lamp() {
    let d = load();
    let (lamp, _) = prune(&d.graph, "prune(method=lamp, sparsity=0.8)", None);
    let total: usize = weights(&lamp).iter().map(Vec::len).sum();
    assert_eq!(weights(&lamp).iter().map(|w| zeros(w)).sum::<usize>(), (0.8 * total as f64).round() as usize);

    // T = 1: the single-timestep limit.
    let mut one = d.calib(0..120);
    one.data = (0..120).flat_map(|s| d.x[s * d.t * d.len..(s * d.t + 1) * d.len].to_vec()).collect();
    one.n_steps = 1;
    let (slamp1, _) = prune(&d.graph, "prune(method=slamp, sparsity=0.8)", Some(&one));
    assert_eq!(weights(&slamp1), weights(&lamp));

    // Uniform activity: every input fires at every step; restricted to the first layer,
    // whose presynaptic activity is then uniform.
    let first = &layer_names(&d.graph)[0];
    let uniform = Calibration { data: vec![1.0; 8 * d.t * d.len], n_samples: 8, n_steps: d.t };
    let spec = |m: &str| format!("prune(method={m}, sparsity=0.6, layers=[\"{first}\"])");
    let (a, _) = prune(&d.graph, &spec("slamp"), Some(&uniform));
    let (b, _) = prune(&d.graph, &spec("lamp"), None);
    assert_eq!(weights(&a), weights(&b));

    // Real activity over T = 20 steps does change the ranking.
    let calib = d.calib(0..120);
    let (slamp, _) = prune(&d.graph, "prune(method=slamp, sparsity=0.8)", Some(&calib));
    assert_ne!(weights(&slamp), weights(&lamp));
}

/// Accuracy (and SOPs per sample) of every unstructured method, by weights and by SOPs.
fn unstructured_table(d: &Data, case: &str) -> std::collections::HashMap<(String, String), (f64, f64)> {
    let calib = d.calib(0..120);
    let (dense, dense_sops) = d.accuracy_and_sops(&d.graph, 120..360);
    println!(
        "{case}, calibration 0..120, evaluation 120..360; dense accuracy {:.1} %, {dense_sops:.0} SOPs/sample",
        100.0 * dense
    );
    println!("{:<30} {:>16} {:>16} {:>16}", "method (accuracy, SOPs kept)", "50 %", "70 %", "90 %");
    let methods = [
        ("magnitude (per layer)", "method=magnitude"),
        ("magnitude (global)", "method=magnitude, scope=global"),
        ("lamp", "method=lamp"),
        ("slamp", "method=slamp"),
        ("sbc (LAMP allocation)", "method=sbc"),
        ("sbc (per layer)", "method=sbc, scope=layer"),
        ("magnitude, allocate=sops", "method=magnitude, scope=global, allocate=sops"),
        ("lamp, allocate=sops", "method=lamp, allocate=sops"),
        ("slamp, allocate=sops", "method=slamp, allocate=sops"),
        ("sbc, allocate=sops", "method=sbc, allocate=sops"),
    ];
    let mut out = std::collections::HashMap::new();
    for (label, args) in methods {
        let mut row = format!("{label:<30}");
        for s in [0.5, 0.7, 0.9] {
            let (g, _) = prune(&d.graph, &format!("prune({args}, sparsity={s})"), Some(&calib));
            let (acc, sops) = d.accuracy_and_sops(&g, 120..360);
            row += &format!("  {:>5.1}% {:>6.1}%", 100.0 * acc, 100.0 * sops / dense_sops);
            out.insert((label.to_string(), s.to_string()), (acc, sops));
        }
        println!("{row}");
    }
    out
}

#[test]
fn accuracy_table_on_digits_mlp() {
    let d = load();
    assert_eq!(d.n, 360);
    let t = unstructured_table(&d, "digits_mlp");
    let at = |m: &str, s: &str| t[&(m.to_string(), s.to_string())];
    assert!(
        at("sbc (LAMP allocation)", "0.7").0 >= at("magnitude (per layer)", "0.7").0,
        "sbc {:?} < magnitude {:?} at 70 %",
        at("sbc (LAMP allocation)", "0.7"),
        at("magnitude (per layer)", "0.7")
    );
}

/// On a conv net, counting weights keeps the busy early synapses: the SOP budget removes
/// more synaptic operations at the same fraction.
#[test]
fn accuracy_table_on_digits_cnn_and_the_sop_budget() {
    let d = load_case("digits_cnn");
    let t = unstructured_table(&d, "digits_cnn");
    let at = |m: &str| t[&(m.to_string(), "0.7".to_string())];
    for m in ["lamp", "slamp", "sbc"] {
        let short = if m == "sbc" { "sbc (LAMP allocation)" } else { m };
        let (by_weights, by_sops) = (at(short), at(&format!("{m}, allocate=sops")));
        assert!(by_weights.1 > by_sops.1, "{m}: (accuracy, SOPs) by weights {by_weights:?} vs by SOPs {by_sops:?}");
    }
}

/// The SOP costs the `allocate=sops` budget counts are exactly the executor's SOPs: their
/// sum over nonzero weights, times the samples, is each layer's Effective_ACs count.
#[test]
fn sop_costs_are_the_executors_count() {
    use spikeforge_compiler::passes::sop_cost::layer_sop_costs;
    for case in ["digits_mlp", "digits_cnn"] {
        let d = load_case(case);
        let calib = d.calib(0..40);
        let limits = Limits::default();
        let v = d.graph.verify(&limits).unwrap();
        let layers: Vec<_> = d.graph.node_ids().filter(|&n| d.graph.op(n).weight().is_some()).collect();
        let ctx = PassContext {
            limits: &limits,
            dynamics: Dynamics::default(),
            calib: Some(&calib),
            train: None,
            target: None,
        };
        let costs = layer_sop_costs(&d.graph, &v, &layers, &calib, &ctx).unwrap();
        let r = Executor::new(&d.graph, &v, Dynamics::default(), &limits).unwrap().run(
            &calib.data,
            calib.n_samples,
            calib.n_steps,
            2,
        );
        for &n in &layers {
            let w = d.graph.op(n).weight().unwrap().data();
            let sum: f64 = w.iter().zip(&costs[&n]).filter(|(w, _)| **w != 0.0).map(|(_, c)| c).sum();
            let exec = r.nodes.iter().find(|s| s.name == d.graph.name(n)).unwrap().sops as f64;
            assert!(
                (sum * 40.0 - exec).abs() < 1e-6 * exec.max(1.0),
                "{case} `{}`: {} vs {exec}",
                d.graph.name(n),
                sum * 40.0
            );
        }
    }
}

/// ReScaW post-training: γ = mean|W| clips every weight above the mean; the default γ
/// keeps the accuracy of uniform quantization at 4 bits.
#[test]
fn rescaw_gamma_table() {
    for case in ["digits_mlp", "digits_cnn"] {
        let d = load_case(case);
        let dense = d.accuracy(&d.graph, 120..360);
        println!("{case}: ReScaW γ, per channel, evaluation 120..360; dense {:.1} %", 100.0 * dense);
        println!("{:<24} {:>7} {:>7}", "γ", "4 bit", "2 bit");
        let mut acc = std::collections::HashMap::new();
        for (label, q) in [
            ("uniform (symmetric)", "scheme=uniform"),
            ("rescaw γ = mean", "scheme=rescaw, gamma=mean"),
            ("rescaw γ = p99", "scheme=rescaw, gamma=p99"),
            ("rescaw γ = mse", "scheme=rescaw, gamma=mse"),
            ("rescaw (default γ)", "scheme=rescaw"),
        ] {
            let mut row = format!("{label:<24}");
            for bits in [4, 2] {
                let (g, _) = prune(&d.graph, &format!("quantize(bits={bits}, {q}, granularity=channel)"), None);
                let a = d.accuracy(&g, 120..360);
                acc.insert((label, bits), a);
                row += &format!(" {:>6.1}%", 100.0 * a);
            }
            println!("{row}");
        }
        let default4 = acc[&("rescaw (default γ)", 4)];
        assert!(default4 >= acc[&("uniform (symmetric)", 4)] - 0.02, "{case}: {acc:?}");
        assert!(default4 > acc[&("rescaw γ = mean", 4)] + 0.1, "{case}: {acc:?}");
    }
}

/// A hidden neuron with no inputs (zero row and bias) and no outputs (zero column) is
/// removed; the outputs do not change; neurons with any connection stay.
#[test]
fn cleanup_removes_disconnected_neurons_exactly() {
    use spikeforge_compiler::ir::Op;
    let d = load();
    let (mut g, _) = prune(&d.graph, "prune(method=magnitude, sparsity=0.8)", None);
    let names = layer_names(&g);
    let (a, b) = (g.find(&names[0]).unwrap(), g.find(&names[1]).unwrap());
    let n_in = g.op(a).weight().unwrap().dims()[1];
    let n_hidden = g.op(a).weight().unwrap().dims()[0];
    // Disconnect neurons 3 and 7 entirely; neuron 5 keeps one output synapse.
    for i in [3usize, 5, 7] {
        if let Op::Affine { weight, bias } = g.op_mut(a) {
            weight.data_mut()[i * n_in..(i + 1) * n_in].fill(0.0);
            bias.data_mut()[i] = 0.0;
        }
        let w = g.op_mut(b).weight_mut().unwrap();
        let rows = w.dims()[0];
        for r in 0..rows {
            w.data_mut()[r * n_hidden + i] = if i == 5 && r == 0 { 0.5 } else { 0.0 };
        }
    }
    let before = d.accuracy(&g, 120..360);
    let limits = Limits::default();
    let exec_out = |g: &Graph| {
        let v = g.verify(&limits).unwrap();
        let c = d.calib(120..200);
        Executor::new(g, &v, Dynamics::default(), &limits).unwrap().run(&c.data, c.n_samples, c.n_steps, 2).output
    };
    let out_before = exec_out(&g);
    let (cleaned, reports) = prune(&g, "cleanup", None);
    let reported = reports[0].lines.iter().any(|l| l.contains("removed"));
    assert!(reported, "{:?}", reports[0].lines);
    let ca = cleaned.find(&names[0]).unwrap();
    let removed = n_hidden - cleaned.op(ca).weight().unwrap().dims()[0];
    assert!(removed >= 2, "removed {removed}");
    // neuron 5 survives: its output synapse is the only 0.5 in the first row's remaining columns
    let cb = cleaned.find(&names[1]).unwrap();
    assert!(cleaned.op(cb).weight().unwrap().data().contains(&0.5));
    assert_eq!(exec_out(&cleaned), out_before);
    assert_eq!(d.accuracy(&cleaned, 120..360), before);
    println!("cleanup: {}", reports[0].lines.join("; "));
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spikeforge-mask-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Masks exported from a pruned graph, applied to the dense graph, reproduce the pruned
/// weights exactly; scores ride along under `<node>.score` and are ignored by `mask`.
#[test]
fn mask_export_and_apply_round_trip() {
    use spikeforge_compiler::ir::Tensor;
    use spikeforge_compiler::passes::mask::{export_masks, read_masks};
    let d = load();
    let (pruned, _) = prune(&d.graph, "prune(method=magnitude, sparsity=0.7)", None);
    let names = layer_names(&pruned);
    let path = tmp("round_trip.safetensors");
    let score = Tensor::new(vec![3], vec![0.5, 1.0, 2.0]).unwrap();
    export_masks(&pruned, &[(names[0].clone(), score.clone())], &path).unwrap();
    let read = read_masks(&path, &Limits::default()).unwrap();
    let s = read.iter().find(|(k, _)| *k == format!("{}.score", names[0])).unwrap();
    assert_eq!(s.1, score);
    let spec = format!("mask(path=\"{}\")", path.display());
    let (masked, reports) = prune(&d.graph, &spec, None);
    assert_eq!(weights(&masked), weights(&pruned));
    assert!(reports[0].lines[0].contains("70.0 % sparse"), "{:?}", reports[0].lines);
}

#[test]
fn mask_errors_name_the_key() {
    use spikeforge_compiler::ir::Tensor;
    use spikeforge_compiler::passes::mask::{export_masks, write_tensors};
    let d = load();
    let names = layer_names(&d.graph);
    let limits = Limits::default();
    let ctx = PassContext { limits: &limits, dynamics: Dynamics::default(), calib: None, train: None, target: None };
    let run = |spec: &str| {
        let mut g = d.graph.clone();
        run_pipeline(&mut g, &build_pipeline(spec).unwrap(), &ctx).map(|_| g)
    };
    // A graph whose first layer is a different shape: exporting its masks gives a mismatch.
    let mut other = d.graph.clone();
    let a = other.find(&names[0]).unwrap();
    let w = other.op_mut(a).weight_mut().unwrap();
    *w = Tensor::new(vec![w.dims()[0], 3], vec![1.0; w.dims()[0] * 3]).unwrap();
    let bad = tmp("bad_shape.safetensors");
    export_masks(&other, &[], &bad).unwrap();
    let e = run(&format!("mask(path=\"{}\")", bad.display())).unwrap_err().to_string();
    assert!(e.contains(&format!("{}.weight", names[0])) && e.contains("shape"), "{e}");
    // Only the second layer's mask (keyed by bare node name): asking for the first names
    // the missing key; without `layers` the first is left alone and reported.
    let partial = tmp("partial.safetensors");
    let wb = d.graph.op(d.graph.find(&names[1]).unwrap()).weight().unwrap().clone();
    let zeros_b = Tensor::new(wb.dims().to_vec(), vec![0.0; wb.numel()]).unwrap();
    write_tensors(&[(names[1].clone(), zeros_b)], &partial).unwrap();
    let e = run(&format!("mask(path=\"{}\", layers=[{}])", partial.display(), names[0])).unwrap_err().to_string();
    assert!(e.contains(&format!("no mask `{}.weight`", names[0])), "{e}");
    let g = run(&format!("mask(path=\"{}\")", partial.display())).unwrap();
    assert_eq!(weights(&g)[0], weights(&d.graph)[0]);
    assert!(weights(&g)[1].iter().all(|v| *v == 0.0));
    // A key naming no node.
    let unknown = tmp("unknown.safetensors");
    write_tensors(&[("nosuch.weight".into(), Tensor::new(vec![1], vec![1.0]).unwrap())], &unknown).unwrap();
    let e = run(&format!("mask(path=\"{}\")", unknown.display())).unwrap_err().to_string();
    assert!(e.contains("nosuch"), "{e}");
}

/// Structured pruning on digits_mlp: removed neurons have zero rows, bias and outgoing
/// columns; `cleanup` then deletes them without changing outputs. Prints the accuracy table.
#[test]
fn structured_pruning_on_digits_mlp() {
    let d = load();
    let calib = d.calib(0..120);
    let names = layer_names(&d.graph);
    let a = d.graph.find(&names[0]).unwrap();
    let n_hidden = d.graph.op(a).weight().unwrap().dims()[0];
    let limits = Limits::default();
    let exec_out = |g: &Graph, s: std::ops::Range<usize>| {
        let v = g.verify(&limits).unwrap();
        let c = d.calib(s);
        Executor::new(g, &v, Dynamics::default(), &limits).unwrap().run(&c.data, c.n_samples, c.n_steps, 2)
    };
    let (g, reports) = prune(&d.graph, "prune(method=svs, sparsity=0.5)", Some(&calib));
    println!("{}", reports[0].lines.join("\n"));
    let wa = g.op(g.find(&names[0]).unwrap()).weight().unwrap();
    let n_in = wa.dims()[1];
    let dead: Vec<usize> =
        (0..n_hidden).filter(|&i| wa.data()[i * n_in..(i + 1) * n_in].iter().all(|v| *v == 0.0)).collect();
    assert_eq!(dead.len(), n_hidden / 2);
    let wb = g.op(g.find(&names[1]).unwrap()).weight().unwrap();
    for &i in &dead {
        assert!((0..wb.dims()[0]).all(|r| wb.data()[r * n_hidden + i] == 0.0));
    }
    let (cleaned, rep) = prune(&g, "cleanup", None);
    assert!(rep[0].lines[0].contains("removed"), "{:?}", rep[0].lines);
    assert_eq!(exec_out(&cleaned, 0..120).output, exec_out(&g, 0..120).output);

    for case in ["digits_mlp", "digits_cnn"] {
        let d = load_case(case);
        let calib = d.calib(0..120);
        let base = d.accuracy(&d.graph, 120..360);
        println!("structured, {case}, calib 0..120, eval 120..360; dense {:.1} %", 100.0 * base);
        println!("{:<14} {:>7} {:>7} {:>7}", "method", "25 %", "50 %", "75 %");
        for m in ["svs", "sca", "criticality"] {
            let mut row = format!("{m:<14}");
            for s in [0.25, 0.5, 0.75] {
                let (g, _) = prune(&d.graph, &format!("prune(method={m}, sparsity={s})"), Some(&calib));
                let acc = d.accuracy(&g, 120..360);
                if s == 0.25 {
                    assert!(acc > base - 0.25, "{case} {m} at 25 %: {acc} (dense {base})");
                }
                row += &format!(" {:>6.1}%", 100.0 * acc);
            }
            println!("{row}");
        }
    }
}

/// Channels that never spiked score rank 0 under svs and go first; removing them (rows,
/// bias and outgoing columns) leaves every output exactly unchanged.
#[test]
fn structured_pruning_of_silent_channels_is_exact() {
    use spikeforge_compiler::ir::Op;
    let d = load();
    let names = layer_names(&d.graph);
    let mut g = d.graph.clone();
    let a = g.find(&names[0]).unwrap();
    let (n_hidden, n_in) = {
        let w = g.op(a).weight().unwrap();
        (w.dims()[0], w.dims()[1])
    };
    for i in [2usize, 9, 40] {
        if let Op::Affine { weight, bias } = g.op_mut(a) {
            weight.data_mut()[i * n_in..(i + 1) * n_in].fill(0.0);
            bias.data_mut()[i] = 0.0;
        }
    }
    let calib = d.calib(0..360);
    let limits = Limits::default();
    let out = |g: &Graph| {
        let v = g.verify(&limits).unwrap();
        Executor::new(g, &v, Dynamics::default(), &limits).unwrap().run(&calib.data, 360, calib.n_steps, 4).output
    };
    let s = 3.0 / n_hidden as f64;
    let (p, _) = prune(&g, &format!("prune(method=svs, sparsity={s})"), Some(&calib));
    let b = p.op(p.find(&names[1]).unwrap()).weight().unwrap();
    // At least the three silenced neurons have rank 0; the dense model may have more silent
    // ones, which tie at 0 and go by index. All removed neurons are silent, so exactness holds.
    let removed = (0..n_hidden).filter(|&i| (0..b.dims()[0]).all(|r| b.data()[r * n_hidden + i] == 0.0)).count();
    assert!(removed >= 3, "{removed}");
    assert_eq!(out(&p), out(&g));
}
