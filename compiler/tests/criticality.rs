//! Unstructured criticality pruning (`prune(method=criticality, granularity=weight)` and
//! `@criticality(granularity=weight)`) on the golden digits models: the requested sparsity
//! exactly, a graph that verifies, survivors untouched, magnitude's mask at `margin=0`, the
//! same result for any thread count, and accuracy against magnitude at the same sparsity
//! (calibrate on samples 0..120, evaluate on 120..360). `--nocapture` prints the figures.

mod golden_digits;

use golden_digits::{load_case, run_passes, weights, zeros};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::passes::{build_pipeline, Calibration, PassReport};

/// The pipeline on a copy of `g`; the result must verify.
fn prune(g: &Graph, spec: &str, calib: &Calibration) -> (Graph, Vec<PassReport>) {
    let (g, reports) = run_passes(g, spec, Some(calib));
    g.verify(&Limits::default()).unwrap_or_else(|e| panic!("{spec}: the pruned graph does not verify: {e:?}"));
    (g, reports)
}

/// Every layer exactly at the sparsity, survivors untouched, every pruned weight among the
/// `k + m` smallest, and at most `m` survivors (the regenerated) below the largest pruned.
fn check_exact(orig: &Graph, pruned: &Graph, s: f64, margin: f64) {
    for (w, o) in weights(pruned).iter().zip(&weights(orig)) {
        let (k, m) = ((s * w.len() as f64).round() as usize, (margin * w.len() as f64).round() as usize);
        assert_eq!(zeros(w), k.max(zeros(o)));
        assert!(o.iter().zip(w).all(|(a, b)| *b == 0.0 || a == b), "a survivor changed");
        let mut mags: Vec<f64> = o.iter().map(|v| v.abs()).collect();
        mags.sort_by(f64::total_cmp);
        let cut = mags[(k + m).min(mags.len()) - 1];
        let pruned_max = o.iter().zip(w).filter(|(_, b)| **b == 0.0).map(|(a, _)| a.abs()).fold(0.0, f64::max);
        assert!(pruned_max <= cut, "a pruned weight {pruned_max} above the k+m-th smallest {cut}");
        let below = o.iter().zip(w).filter(|(a, b)| **b != 0.0 && a.abs() < pruned_max).count();
        assert!(below <= m, "{below} survivors below the largest pruned, margin {m}");
    }
}

#[test]
fn unstructured_criticality_on_digits_mlp() {
    let d = load_case("digits_mlp");
    let calib = d.calib(0..120);
    let (s, margin) = (0.9, 0.1);
    let spec = format!("prune(method=criticality, granularity=weight, sparsity={s}, margin={margin})");
    let (g, reports) = prune(&d.graph, &spec, &calib);
    check_exact(&d.graph, &g, s, margin);
    assert!(reports[0].lines[0].contains("90.0 % sparse"), "{:?}", reports[0].lines);
    assert_eq!(reports[0].scores.len(), 2, "one score tensor per layer");

    // The margin regenerates weights: the mask is not magnitude's.
    let (mag, _) = prune(&d.graph, &format!("prune(method=magnitude, sparsity={s})"), &calib);
    assert_ne!(weights(&g), weights(&mag));
    assert!(reports[0].lines.iter().any(|l| !l.contains(" 0 of the")), "{:?}", reports[0].lines);
    // margin = 0: exactly magnitude pruning's mask.
    let (g0, _) =
        prune(&d.graph, &format!("prune(method=criticality, granularity=weight, sparsity={s}, margin=0)"), &calib);
    assert_eq!(weights(&g0), weights(&mag));

    // The named recipe without training is the same prune.
    let (named, _) =
        prune(&d.graph, &format!("@criticality(sparsity={s}, margin={margin}, granularity=weight, epochs=0)"), &calib);
    assert_eq!(weights(&named), weights(&g));

    // Any thread count: the same weights.
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (again, _) = pool.install(|| prune(&d.graph, &spec, &calib));
        assert_eq!(weights(&again), weights(&g), "{threads} threads");
    }

    // Before any fine-tune: accuracy against magnitude at the same sparsity.
    let eval = 120..360;
    println!("digits_mlp, calib 0..120, eval 120..360, dense {:.1} %", 100.0 * d.accuracy(&d.graph, eval.clone()));
    for s in [0.5, 0.7, 0.9] {
        let (m, _) = prune(&d.graph, &format!("prune(method=magnitude, sparsity={s})"), &calib);
        let mut row = format!("{:>3.0} %: magnitude {:.1} %", 100.0 * s, 100.0 * d.accuracy(&m, eval.clone()));
        for margin in [0.05, 0.1, 0.2] {
            let spec = format!("prune(method=criticality, granularity=weight, sparsity={s}, margin={margin})");
            let (c, _) = prune(&d.graph, &spec, &calib);
            check_exact(&d.graph, &c, s, margin);
            row += &format!(", crit(m={margin}) {:.1} %", 100.0 * d.accuracy(&c, eval.clone()));
        }
        println!("{row}");
    }
}

/// Conv layers: per kernel weight, summed over positions; the same guarantees.
#[test]
fn unstructured_criticality_on_digits_cnn() {
    let d = load_case("digits_cnn");
    let calib = d.calib(0..120);
    for (s, margin) in [(0.5, 0.1), (0.8, 0.2)] {
        let spec = format!("prune(method=criticality, granularity=weight, sparsity={s}, margin={margin})");
        let (g, _) = prune(&d.graph, &spec, &calib);
        check_exact(&d.graph, &g, s, margin);
        let (mag, _) = prune(&d.graph, &format!("prune(method=magnitude, sparsity={s})"), &calib);
        let eval = 120..360;
        println!(
            "digits_cnn {s}: magnitude {:.1} %, criticality(m={margin}) {:.1} %",
            100.0 * d.accuracy(&mag, eval.clone()),
            100.0 * d.accuracy(&g, eval)
        );
    }
}

#[test]
fn granularity_belongs_to_criticality() {
    for bad in [
        "prune(method=magnitude, sparsity=0.5, granularity=channel)",
        "prune(method=svs, sparsity=0.5, granularity=weight)",
        "prune(method=criticality, sparsity=0.5, granularity=weight, scope=global)",
    ] {
        assert!(build_pipeline(bad).is_err(), "{bad}");
    }
    assert!(build_pipeline("prune(method=magnitude, sparsity=0.5, granularity=weight)").is_ok());
    assert!(build_pipeline("prune(method=criticality, sparsity=0.5, granularity=channel)").is_ok());
}
