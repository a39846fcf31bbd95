//! End-to-end tests of the `spikeforge` binary: commands, outputs, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::limits::Limits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(case: &str) -> PathBuf {
    root().join("../shared/golden").join(case)
}

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(root()).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_command_has_help() {
    let cmds = ["check", "run", "convert", "eval", "compile", "simulate", "prune", "report", "target"];
    for cmd in std::iter::once(vec!["--help"]).chain(cmds.iter().map(|c| vec![*c, "--help"])) {
        let o = spikeforge(&cmd);
        assert_eq!(o.status.code(), Some(0), "{cmd:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("Usage"), "{cmd:?}");
    }
}

#[test]
fn check_summarises_nir_and_text_models() {
    let o = spikeforge(&["check", "examples/digits_mlp/model.nir"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_snapshot!("check_digits_mlp", stdout(&o));
    let o = spikeforge(&["check", "examples/tiny_mlp.snn", "--dt", "2e-4", "--reset", "subtract"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::assert_snapshot!("check_tiny_mlp_dt_reset", stdout(&o));
}

#[test]
fn run_reproduces_golden_digits_cnn_with_stats_and_layers() {
    let dir = tempfile::tempdir().unwrap();
    let (y, l, s) = (dir.path().join("y.npy"), dir.path().join("l.npy"), dir.path().join("s.json"));
    let g = golden("digits_cnn");
    let o = spikeforge(&[
        "run",
        g.join("model.nir").to_str().unwrap(),
        "--input",
        g.join("input.npy").to_str().unwrap(),
        "--output",
        y.to_str().unwrap(),
        "--layers",
        l.to_str().unwrap(),
        "--stats",
        s.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let limits = Limits::default();
    let got = read_npy_f64(&y, &limits).unwrap();
    let want = read_npy_f64(&g.join("output.npy"), &limits).unwrap();
    assert_eq!(got, want);
    let bytes = std::fs::read(&y).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..80]).contains("'descr': '|u1'"), "Y is uint8");
    let got_l = read_npy_f64(&l, &limits).unwrap();
    assert_eq!(got_l, read_npy_f64(&g.join("layer_spikes.npy"), &limits).unwrap());
    assert!(String::from_utf8_lossy(&std::fs::read(&l).unwrap()[..80]).contains("'descr': '<i8'"), "L is int64");

    let stats: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&s).unwrap()).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(g.join("meta.json")).unwrap()).unwrap();
    assert_eq!(stats["n_samples"], 360);
    assert_eq!(stats["n_steps"], 16);
    assert_eq!(stats["spikes_per_layer"], meta["total_layer_spikes"]);
    for key in ["sops_weight_layers_per_sample", "sops_pooling_per_sample"] {
        let (a, b) = (stats[key].as_f64().unwrap(), meta[key].as_f64().unwrap());
        assert!(((a - b) / b).abs() < 1e-9, "{key}: {a} vs {b}");
    }
    let sparsity = stats["activation_sparsity"].as_f64().unwrap();
    assert!(sparsity > 0.5 && sparsity < 1.0);
    assert!(stats["execute_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn convert_round_trips_nir_through_text() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits::default();
    for case in ["digits_mlp", "digits_cnn", "rsnn_random"] {
        let src = golden(case).join("model.nir");
        let snn = dir.path().join(format!("{case}.snn"));
        let back = dir.path().join(format!("{case}.nir"));
        let o = spikeforge(&["convert", src.to_str().unwrap(), "-o", snn.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(dir.path().join(format!("{case}.safetensors")).exists(), "large tensors go to a sidecar");
        let o = spikeforge(&["convert", snn.to_str().unwrap(), "-o", back.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let a = spikeforge_compiler::nir::read_nir(&src, &limits).unwrap();
        let b = spikeforge_compiler::nir::read_nir(&back, &limits).unwrap();
        let c = spikeforge_compiler::text::read_snn(&snn, &limits).unwrap();
        assert!(a.same_as(&b), "{case}: NIR → .snn → NIR changed the graph");
        assert!(a.same_as(&c), "{case}: NIR → .snn changed the graph");
    }
}

#[test]
fn run_on_the_text_example_is_deterministic_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2", "0"] {
        let y = dir.path().join(format!("y{threads}.npy"));
        let o = spikeforge(&[
            "run",
            "examples/tiny_mlp.snn",
            "--input",
            "examples/tiny_input.npy",
            "--output",
            y.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        outputs.push(std::fs::read(&y).unwrap());
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
    let y = read_npy_f64(&dir.path().join("y1.npy"), &Limits::default()).unwrap();
    assert!(y.data.iter().sum::<f64>() > 0.0, "the example must produce spikes");
}

#[test]
fn exit_code_two_and_no_output_on_bad_input_shape() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.npy");
    let o = spikeforge(&[
        "run",
        "examples/digits_mlp/model.nir",
        "--input",
        "tests/bad_inputs/input_wrong_shape.npy",
        "--output",
        y.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected [N, T, 64]"), "{}", stderr(&o));
    assert!(!Path::new(&y).exists());
}

#[test]
fn prune_writes_a_sparser_model_and_masks_that_apply_back() {
    let dir = tempfile::tempdir().unwrap();
    let g = golden("digits_mlp");
    let (pruned, masks) = (dir.path().join("p.nir"), dir.path().join("m.safetensors"));
    let model = g.join("model.nir");
    let o = spikeforge(&[
        "prune",
        model.to_str().unwrap(),
        "--passes",
        "prune(method=lamp, sparsity=0.7)",
        "-o",
        pruned.to_str().unwrap(),
        "--export-masks",
        masks.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let limits = Limits::default();
    let p = spikeforge_compiler::nir::read_nir(&pruned, &limits).unwrap();
    let zeros: usize = p.node_ids().filter_map(|n| p.op(n).weight()).map(|w| w.numel() - w.nnz()).sum();
    assert_eq!(zeros, (9472.0f64 * 0.7).round() as usize, "70 % of 9,472 weights pruned");
    // The masks reproduce the same sparsity pattern on the dense model.
    let back = dir.path().join("b.nir");
    let mask_pass = format!("mask(path=\"{}\")", masks.display());
    let o = spikeforge(&["convert", model.to_str().unwrap(), "-o", back.to_str().unwrap(), "--passes", &mask_pass]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let b = spikeforge_compiler::nir::read_nir(&back, &limits).unwrap();
    for n in p.node_ids().filter(|&n| p.op(n).weight().is_some()) {
        let (wp, wb) = (p.op(n).weight().unwrap(), b.op(b.find(p.name(n)).unwrap()).weight().unwrap());
        let same = wp.data().iter().zip(wb.data()).all(|(x, y)| (*x == 0.0) == (*y == 0.0));
        assert!(same, "layer `{}`: mask pattern differs", p.name(n));
    }
    let o = spikeforge(&["prune", model.to_str().unwrap(), "-o", pruned.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "prune without --passes is refused");
}

#[test]
fn prune_cleanup_shrinks_a_conv_net_and_exports_npz_masks() {
    let dir = tempfile::tempdir().unwrap();
    let g = golden("digits_cnn");
    let (model, input) = (g.join("model.nir"), g.join("input.npy"));
    let (small, masks) = (dir.path().join("small.nir"), dir.path().join("m.npz"));
    let passes = "prune(method=sca, sparsity=0.5); cleanup";
    let (m, i, s, k) =
        (model.to_str().unwrap(), input.to_str().unwrap(), small.to_str().unwrap(), masks.to_str().unwrap());
    let o = spikeforge(&["prune", m, "--passes", passes, "--calib", i, "-o", s, "--export-masks", k]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("`1`: removed 4 of 8 channels"), "{}", stderr(&o));
    let limits = Limits::default();
    let p = spikeforge_compiler::nir::read_nir(&small, &limits).unwrap();
    assert_eq!(p.op(p.find("3").unwrap()).weight().unwrap().dims(), [8, 4, 3, 3]);
    let read = spikeforge_compiler::npz::read_npz(&masks, &limits).unwrap();
    let keys: Vec<&str> = read.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["0.weight", "3.weight", "6.weight", "0.score", "3.score"]);
    // Another extension is refused before anything runs or is written.
    let bad = dir.path().join("m.txt");
    let other = dir.path().join("other.nir");
    let o = spikeforge(&[
        "prune",
        m,
        "--passes",
        "cleanup",
        "-o",
        other.to_str().unwrap(),
        "--export-masks",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`.safetensors` or `.npz`"), "{}", stderr(&o));
    assert!(!other.exists() && !bad.exists());
}
