//! The reference executor reproduces ../shared/golden exactly: output spikes, per-layer
//! spikes, synaptic operation counts (relative error < 1e-9) and digit accuracy.

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

fn check_case(case: &str, threads: usize) {
    let dir = golden_dir().join(case);
    let limits = Limits::default();
    let graph = read_nir(&dir.join("model.nir"), &limits).expect("golden model imports");
    let verified = graph.verify(&limits).expect("golden model verifies");
    let exec = Executor::new(&graph, &verified, Dynamics::default(), &limits).unwrap();
    let x = read_npy_f64(&dir.join("input.npy"), &limits).unwrap();
    let (n, t) = exec.check_input(&x.shape).unwrap();
    let r = exec.run(&x.data, n, t, threads);

    let want = read_npy_f64(&dir.join("output.npy"), &limits).unwrap();
    assert_eq!(want.shape, vec![n, t, r.output_len]);
    let mismatches = want.data.iter().zip(&r.output).filter(|(a, b)| a != b).count();
    assert_eq!(mismatches, 0, "{case}: {mismatches} output spikes differ from snnTorch's");

    let layers = read_npy_f64(&dir.join("layer_spikes.npy"), &limits).unwrap();
    assert_eq!(layers.shape, vec![n, t, r.spiking_layers.len()], "{case}: layer count");
    let got: Vec<f64> = r.layer_spikes.iter().map(|&v| v as f64).collect();
    assert!(layers.data == got, "{case}: per-layer spike counts differ");

    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let rel = |got: f64, want: f64| if want == 0.0 { got.abs() } else { ((got - want) / want).abs() };
    let sops = r.sops_weight_layers() as f64 / n as f64;
    let want_sops = meta["sops_weight_layers_per_sample"].as_f64().unwrap();
    assert!(rel(sops, want_sops) < 1e-9, "{case}: SOPs/sample {sops} vs {want_sops}");
    let pool = r.sops_pooling() as f64 / n as f64;
    let want_pool = meta["sops_pooling_per_sample"].as_f64().unwrap();
    assert!(rel(pool, want_pool) < 1e-9, "{case}: pooling SOPs/sample {pool} vs {want_pool}");
    let totals: Vec<u64> = meta["total_layer_spikes"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    let ours: Vec<u64> =
        r.spiking_layers.iter().map(|l| r.nodes.iter().find(|s| &s.name == l).unwrap().spikes).collect();
    assert_eq!(ours, totals, "{case}: total spikes per layer");

    if let Some(acc) = meta["accuracy"].as_f64() {
        let labels = read_npy_f64(&dir.join("labels.npy"), &limits).unwrap();
        let correct = (0..n)
            .filter(|&s| {
                let mut counts = vec![0.0; r.output_len];
                for step in 0..t {
                    for (k, c) in counts.iter_mut().enumerate() {
                        *c += r.output[(s * t + step) * r.output_len + k];
                    }
                }
                // argmax, first maximum wins (numpy's convention)
                let mut best = 0;
                for k in 1..counts.len() {
                    if counts[k] > counts[best] {
                        best = k;
                    }
                }
                best as f64 == labels.data[s]
            })
            .count();
        let ours = correct as f64 / n as f64;
        assert!((ours - acc).abs() < 1e-12, "{case}: accuracy {ours} vs {acc}");
    }
}

#[test]
fn digits_mlp_matches_snntorch() {
    check_case("digits_mlp", 1);
}

#[test]
fn digits_cnn_matches_snntorch() {
    check_case("digits_cnn", 1);
}

#[test]
fn rsnn_random_matches_snntorch() {
    check_case("rsnn_random", 1);
}

#[test]
fn thread_count_does_not_change_results() {
    check_case("digits_cnn", 2);
    check_case("rsnn_random", 0);
}
