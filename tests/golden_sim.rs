//! The golden snnTorch models compiled to chips and simulated in exact mode reproduce
//! output.npy spike for spike, per-layer spikes, and the SOP counts of meta.json; runs are
//! deterministic.

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions};
use spikeforge_compiler::nir::read_nir;
use spikeforge_simulator::{simulate, SimOptions};
use spikeforge_targets::{load_target, preset, CoreMap, Target};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn targets() -> Vec<Target> {
    vec![
        preset("loihi").unwrap().unwrap(),
        preset("speck").unwrap().unwrap(),
        load_target(root().join("targets/test_4x4.ron")).unwrap(),
    ]
}

fn check(case: &str) {
    let dir = root().join("../shared/golden").join(case);
    let limits = Limits::default();
    let graph = read_nir(&dir.join("model.nir"), &limits).unwrap();
    let verified = graph.verify(&limits).unwrap();
    let x = read_npy_f64(&dir.join("input.npy"), &limits).unwrap();
    let (n, t) = (x.shape[0], x.shape[1]);
    let want = read_npy_f64(&dir.join("output.npy"), &limits).unwrap();
    let want_layers = read_npy_f64(&dir.join("layer_spikes.npy"), &limits).unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    for target in targets() {
        let (map, report) =
            compile(&graph, &verified, &target, Dynamics::default(), &CompileOptions::default()).unwrap();
        let map = CoreMap::from_bytes(&map.to_bytes(), "map").expect("the written map reads back and validates");
        let r = simulate(&map, &x.data, n, t, &SimOptions::default()).unwrap();
        let name = format!("{case} on {} ({} cores)", target.name(), report.cores_used);
        let mismatches = r.outputs.iter().zip(&want.data).filter(|(a, b)| a != b).count();
        assert_eq!(mismatches, 0, "{name}: output spikes differ");
        let layers: Vec<f64> = r.layer_spikes.iter().map(|&v| v as f64).collect();
        assert!(layers == want_layers.data, "{name}: per-layer spikes differ");
        for (key, got) in [
            ("sops_weight_layers_per_sample", r.stats.sops_weight_layers_per_sample),
            ("sops_pooling_per_sample", r.stats.sops_pooling_per_sample),
        ] {
            let want = meta[key].as_f64().unwrap();
            let err = if want == 0.0 { got.abs() } else { ((got - want) / want).abs() };
            assert!(err < 1e-9, "{name}: {key} {got} vs {want}");
        }
        assert_eq!(r.stats.deliveries_injected, r.stats.deliveries_delivered, "{name}: packets lost");
        let again = simulate(&map, &x.data, n, t, &SimOptions::default()).unwrap();
        assert!(
            again.outputs == r.outputs && again.stats.cycles_total == r.stats.cycles_total,
            "{name}: not deterministic"
        );
    }
}

#[test]
fn digits_mlp_on_chips() {
    check("digits_mlp");
}

#[test]
fn digits_cnn_on_chips() {
    check("digits_cnn");
}

#[test]
fn rsnn_random_on_chips() {
    check("rsnn_random");
}

#[test]
fn cli_runs_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let g = root().join("../shared/golden/digits_cnn");
    let map = dir.path().join("m.map");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let p = |p: &Path| p.to_str().unwrap().to_string();
    run(&["compile", &p(&g.join("model.nir")), "--target", &p(&root().join("targets/test_4x4.ron")), "-o", &p(&map)]);
    let mut outs = Vec::new();
    for i in 0..2 {
        let (y, s, c) = (
            dir.path().join(format!("y{i}.npy")),
            dir.path().join(format!("s{i}.json")),
            dir.path().join(format!("c{i}.csv")),
        );
        run(&[
            "simulate",
            &p(&map),
            "--input",
            &p(&g.join("input.npy")),
            "--output",
            &p(&y),
            "--stats",
            &p(&s),
            "--steps-csv",
            &p(&c),
        ]);
        outs.push((std::fs::read(&y).unwrap(), std::fs::read(&s).unwrap(), std::fs::read(&c).unwrap()));
    }
    assert!(outs[0] == outs[1], "two simulate runs differ");
}

/// A convolution with a nonzero bias: the executor adds a conv's bias after the synaptic
/// sum (unlike a dense layer's), so exact mode must too, or the last bit of the input
/// current differs and near-threshold spikes flip (21 of 5,760 outputs did).
#[test]
fn conv_bias_is_added_where_the_executor_adds_it() {
    let src = "snn 1\n\
        input = Input<shape=[2, 6, 6]>()\n\
        conv = Conv2d<weight=[[[[0.31, -0.17, 0.23], [0.11, 0.29, -0.07], [0.19, 0.13, 0.37]], \
        [[0.07, 0.41, -0.13], [0.17, -0.03, 0.27], [0.09, 0.21, 0.33]]], \
        [[[0.13, 0.27, 0.11], [-0.19, 0.37, 0.05], [0.23, 0.07, 0.15]], \
        [[0.29, 0.03, 0.17], [0.11, 0.31, -0.21], [0.13, 0.19, 0.07]]]], \
        bias=[0.1, 0.3], stride=[1, 1], padding=[1, 1]>(input)\n\
        lif = LIF<tau=full([2, 6, 6], 0.0003), r=full([2, 6, 6], 3.0), v_leak=full([2, 6, 6], 0.0), \
        v_threshold=full([2, 6, 6], 1.0), v_reset=full([2, 6, 6], 0.0)>(conv)\n\
        output = Output<shape=[2, 6, 6]>(lif)\n";
    let limits = Limits::default();
    let graph = spikeforge_compiler::text::parse_snn(src, "conv_bias.snn", Path::new("."), &limits).unwrap();
    let verified = graph.verify(&limits).unwrap();
    let (n, t) = (8, 20);
    // Seeded Bernoulli(0.4) input.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let x: Vec<f64> = (0..n * t * 72)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 / (1u64 << 53) as f64) < 0.4
        })
        .map(|s| s as u8 as f64)
        .collect();
    let exec = spikeforge_compiler::exec::Executor::new(&graph, &verified, Dynamics::default(), &limits).unwrap();
    let want = exec.run(&x, n, t, 1).output;
    assert!(want.iter().sum::<f64>() > 1000.0, "the test needs a busy layer");
    for target in targets() {
        let (map, _) = compile(&graph, &verified, &target, Dynamics::default(), &CompileOptions::default()).unwrap();
        let got = simulate(&map, &x, n, t, &SimOptions::default()).unwrap();
        let differ = got.outputs.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{}: {differ} output spikes differ from the executor", target.name());
    }
}
