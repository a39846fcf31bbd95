//! `spikeforge grad` and the training flags end to end: the written gradients equal the
//! golden PyTorch ones, bad training input exits 2 with no output file.

use std::path::PathBuf;
use std::process::{Command, Output};

use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::npz::read_npz;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(case: &str) -> PathBuf {
    root().join("../shared/golden").join(case)
}

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(root()).output().expect("binary runs")
}

#[test]
fn grad_writes_the_golden_gradients() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.npz");
    let case = golden("rsnn_random");
    let o = spikeforge(&[
        "grad",
        case.join("model.nir").to_str().unwrap(),
        "--input",
        case.join("input.npy").to_str().unwrap(),
        "--samples",
        "0..16",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let limits = Limits::default();
    let got = read_npz(&out, &limits).unwrap();
    let want = read_npz(&case.join("grad.npz"), &limits).unwrap();
    for (name, w) in &want {
        let (_, g) = got.iter().find(|(n, _)| n == name).unwrap();
        let scale = w.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // The file stores f32 when a value is exact in f32, else f64: compare at f64.
        for (a, b) in g.data().iter().zip(w.data()) {
            assert!((a - b).abs() <= 1e-9 * scale, "{name}: {a} vs {b}");
        }
    }
    assert!(got.iter().any(|(n, t)| n == "loss" && (t.data()[0] - 7.294336042920504).abs() < 1e-9));
}

#[test]
fn training_labels_out_of_range_exit_two_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.nir");
    let case = golden("rsnn_random");
    // rsnn_random has 5 outputs; digit labels go up to 9.
    let o = spikeforge(&[
        "prune",
        case.join("model.nir").to_str().unwrap(),
        "--passes",
        "finetune(epochs=1)",
        "--calib",
        case.join("input.npy").to_str().unwrap(),
        "--train-input",
        case.join("input.npy").to_str().unwrap(),
        "--train-labels",
        golden("digits_mlp").join("labels.npy").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
    let o = spikeforge(&[
        "grad",
        case.join("model.nir").to_str().unwrap(),
        "--input",
        "nope.npy",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
