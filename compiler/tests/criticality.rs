//! Unstructured criticality pruning (`prune(method=criticality, granularity=weight)` and
//! `@criticality(granularity=weight)`) on the golden digits models: the requested sparsity
//! exactly, a graph that verifies, survivors untouched, magnitude's mask at `margin=0`, the
//! same result for any thread count, and accuracy against magnitude at the same sparsity
//! (calibrate on samples 0..120, evaluate on 120..360). `--nocapture` prints the figures.

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport};

fn dir_of(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden").join(case)
}

struct Data {
    graph: Graph,
    x: Vec<f64>,
    labels: Vec<f64>,
    t: usize,
    len: usize,
}

fn load(case: &str) -> Data {
    let limits = Limits::default();
    let graph = read_nir(&dir_of(case).join("model.nir"), &limits).unwrap();
    let x = read_npy_f64(&dir_of(case).join("input.npy"), &limits).unwrap();
    let labels = read_npy_f64(&dir_of(case).join("labels.npy"), &limits).unwrap().data;
    let (t, len) = (x.shape[1], x.shape[2..].iter().product());
    Data { graph, x: x.data, labels, t, len }
}

impl Data {
    fn calib(&self, samples: std::ops::Range<usize>) -> Calibration {
        let per = self.t * self.len;
        Calibration {
            data: self.x[samples.start * per..samples.end * per].to_vec(),
            n_samples: samples.len(),
            n_steps: self.t,
        }
    }

    fn accuracy(&self, g: &Graph, samples: std::ops::Range<usize>) -> f64 {
        let limits = Limits::default();
        let v = g.verify(&limits).unwrap();
        let exec = Executor::new(g, &v, Dynamics::default(), &limits).unwrap();
        let c = self.calib(samples.clone());
        let r = exec.run(&c.data, c.n_samples, c.n_steps, 2);
        let correct = (0..c.n_samples)
            .filter(|&s| {
                let mut counts = vec![0.0; r.output_len];
                for step in 0..c.n_steps {
                    for (k, cnt) in counts.iter_mut().enumerate() {
                        *cnt += r.output[(s * c.n_steps + step) * r.output_len + k];
                    }
                }
                let best = (0..counts.len()).fold(0, |b, k| if counts[k] > counts[b] { k } else { b });
                best as f64 == self.labels[samples.start + s]
            })
            .count();
        correct as f64 / c.n_samples as f64
    }
}

fn prune(g: &Graph, spec: &str, calib: &Calibration) -> (Graph, Vec<PassReport>) {
    let limits = Limits::default();
    let mut g = g.clone();
    let passes = build_pipeline(spec).unwrap_or_else(|e| panic!("{spec}: {}", e.render(spec)));
    let ctx =
        PassContext { limits: &limits, dynamics: Dynamics::default(), calib: Some(calib), train: None, target: None };
    let reports = run_pipeline(&mut g, &passes, &ctx).unwrap_or_else(|e| panic!("{spec}: {e}"));
    g.verify(&limits).unwrap_or_else(|e| panic!("{spec}: the pruned graph does not verify: {e:?}"));
    (g, reports)
}

fn weights(g: &Graph) -> Vec<Vec<f64>> {
    g.node_ids().filter_map(|n| g.op(n).weight()).map(|w| w.data().to_vec()).collect()
}

fn zeros(w: &[f64]) -> usize {
    w.iter().filter(|v| **v == 0.0).count()
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
    let d = load("digits_mlp");
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
    let d = load("digits_cnn");
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
