//! Hardware numerics: the simulator's hardware mode equals the compiler's fixed-point
//! reference bit for bit on the golden models, on two presets and a test chip. Also prints
//! the fixed-point vs f64 output mismatch fraction (figures for the issue notes).

use std::path::PathBuf;

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::fixed::run_fixed;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::lower::lower;
use spikeforge_compiler::mapper::{compile, CompileOptions};
use spikeforge_compiler::nir::read_nir;
use spikeforge_simulator::{simulate, NumericMode, SimOptions};
use spikeforge_targets::{load_target, preset, Target};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(case: &str, samples: usize) {
    let dir = root().join("../shared/golden").join(case);
    let limits = Limits::default();
    let graph = read_nir(&dir.join("model.nir"), &limits).unwrap();
    let verified = graph.verify(&limits).unwrap();
    let x = read_npy_f64(&dir.join("input.npy"), &limits).unwrap();
    let t = x.shape[1];
    let n = samples.min(x.shape[0]);
    let per: usize = x.shape[1..].iter().product();
    let input = &x.data[..n * per];
    let golden = read_npy_f64(&dir.join("output.npy"), &limits).unwrap();
    let d = Dynamics::default();
    let targets: Vec<Target> = vec![
        preset("loihi").unwrap().unwrap(),
        preset("speck").unwrap().unwrap(),
        load_target(root().join("targets/test_4x4.ron")).unwrap(),
    ];
    for target in targets {
        let (map, _) = compile(&graph, &verified, &target, d, &CompileOptions::default()).unwrap();
        let opts = SimOptions { mode: NumericMode::Hardware, ..SimOptions::default() };
        let sim = simulate(&map, input, n, t, &opts).unwrap();
        let net = lower(&graph, &verified, &d).unwrap();
        let reference = run_fixed(&net, &target.spec().numerics, input, n, t);
        let name = format!("{case} on {}", target.name());
        assert!(sim.outputs == reference.output, "{name}: hardware mode differs from the fixed-point reference");
        let sim_layers: Vec<i64> = sim.layer_spikes.iter().map(|&v| v as i64).collect();
        assert_eq!(sim_layers, reference.layer_spikes, "{name}: per-layer spikes differ");
        let mismatch = reference.output.iter().zip(&golden.data).filter(|(a, b)| a != b).count() as f64
            / reference.output.len() as f64;
        let spikes = reference.output.iter().filter(|v| **v != 0.0).count();
        eprintln!("{name}: fixed point vs f64 output mismatch fraction {mismatch:.5} ({spikes} spikes)");
        assert!(spikes > 0, "{name}: fixed point produced no output spikes at all");
    }
}

#[test]
fn digits_mlp_hardware_mode_is_the_fixed_point_reference() {
    check("digits_mlp", 60);
}

#[test]
fn digits_cnn_hardware_mode_is_the_fixed_point_reference() {
    check("digits_cnn", 60);
}

#[test]
fn rsnn_random_hardware_mode_is_the_fixed_point_reference() {
    check("rsnn_random", 16);
}
