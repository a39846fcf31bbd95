//! The `finetune` pass on digits_mlp: after 70 % magnitude pruning it recovers test
//! accuracy, pruned weights stay exactly zero, it is deterministic for a seed and thread
//! count, quantized layers end on their grid, and it refuses to run without training data.

mod nets;

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, PassContext, PassError, TrainingData};
use spikeforge_compiler::train::grid::AffineGrid;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

fn training_data(n: usize) -> TrainingData {
    nets::digits_mlp_training(n)
}

fn run(graph: &Graph, spec: &str, train: Option<&TrainingData>) -> Result<Graph, PassError> {
    let limits = Limits::default();
    let mut g = graph.clone();
    let passes = build_pipeline(spec).unwrap_or_else(|e| panic!("{spec}: {}", e.render(spec)));
    let ctx = PassContext { limits: &limits, dynamics: Dynamics::default(), calib: None, train, target: None };
    run_pipeline(&mut g, &passes, &ctx)?;
    Ok(g)
}

fn test_accuracy(g: &Graph) -> f64 {
    let limits = Limits::default();
    let x = read_npy_f64(&golden().join("digits_mlp/input.npy"), &limits).unwrap();
    let y = read_npy_f64(&golden().join("digits_mlp/labels.npy"), &limits).unwrap();
    let v = g.verify(&limits).unwrap();
    let exec = Executor::new(g, &v, Dynamics::default(), &limits).unwrap();
    let (n, t) = exec.check_input(&x.shape).unwrap();
    let out = exec.run(&x.data, n, t, 1).output;
    let k = exec.output_len();
    let correct = (0..n)
        .filter(|&s| {
            let mut c = vec![0.0; k];
            for step in 0..t {
                c.iter_mut().zip(&out[(s * t + step) * k..]).for_each(|(a, b)| *a += b);
            }
            let best = (0..k).fold(0, |b, i| if c[i] > c[b] { i } else { b });
            best as f64 == y.data[s]
        })
        .count();
    correct as f64 / n as f64
}

fn weights(g: &Graph) -> Vec<Vec<f64>> {
    g.node_ids().filter_map(|n| g.op(n).weight()).map(|w| w.data().to_vec()).collect()
}

#[test]
fn finetune_recovers_pruned_accuracy_and_keeps_masks() {
    let limits = Limits::default();
    let model = read_nir(&golden().join("digits_mlp/model.nir"), &limits).unwrap();
    let data = training_data(640);
    let pruned = run(&model, "prune(method=magnitude, sparsity=0.7)", None).unwrap();
    let tuned = run(&pruned, "finetune(epochs=2, lr=2e-3, batch=64, threads=2)", Some(&data)).unwrap();
    let (before, after) = (test_accuracy(&pruned), test_accuracy(&tuned));
    eprintln!("digits_mlp pruned 70 %: test accuracy {before:.4} → {after:.4} after finetune");
    assert!(after > before + 0.02, "accuracy {before} → {after}");
    for (p, t) in weights(&pruned).iter().zip(weights(&tuned)) {
        for (a, b) in p.iter().zip(&t) {
            assert!(*a != 0.0 || *b == 0.0, "a pruned weight came back");
        }
        assert!(p != &t, "weights trained");
    }
    let again = run(&pruned, "finetune(epochs=2, lr=2e-3, batch=64, threads=2)", Some(&data)).unwrap();
    assert!(weights(&again) == weights(&tuned), "same seed and threads, same weights");
    let other_seed = run(&pruned, "finetune(epochs=2, lr=2e-3, batch=64, threads=2, seed=5)", Some(&data)).unwrap();
    assert!(weights(&other_seed) != weights(&tuned));
}

#[test]
fn quantized_layers_stay_on_their_grid() {
    let limits = Limits::default();
    let model = read_nir(&golden().join("digits_mlp/model.nir"), &limits).unwrap();
    let data = training_data(128);
    let q = run(&model, "prune(method=magnitude, sparsity=0.5); quantize(bits=4, granularity=channel)", None).unwrap();
    let tuned = run(&q, "finetune(epochs=1, lr=1e-2, batch=32, threads=1)", Some(&data)).unwrap();
    let n_in = [64usize, 128];
    for ((w0, w1), n_in) in weights(&q).iter().zip(weights(&tuned)).zip(n_in) {
        assert!(w0 != &w1, "quantized weights moved to other levels");
        for (r0, r1) in w0.chunks(n_in).zip(w1.chunks(n_in)) {
            let g = AffineGrid::infer(r0).expect("quantize leaves rows on a grid");
            for (&a, &b) in r0.iter().zip(r1) {
                assert!(a != 0.0 || b == 0.0, "mask");
                assert!((g.project(b) - b).abs() <= 1e-12 * g.step.abs().max(1.0), "{b} is off the grid {g:?}");
            }
        }
    }
}

#[test]
fn finetune_without_training_data_is_an_error() {
    let model = read_nir(&golden().join("digits_mlp/model.nir"), &Limits::default()).unwrap();
    let err = run(&model, "finetune(epochs=1)", None).unwrap_err();
    assert!(matches!(err, PassError::NeedsTrainingData { .. }), "{err}");
    assert!(build_pipeline("finetune(optimizer=rmsprop)").is_err());
    assert!(build_pipeline("finetune(epochs=1, wobble=2)").is_err());
}
