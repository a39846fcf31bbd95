//! Long commands: progress goes to stderr only when it is a terminal (so a piped run's
//! stderr holds nothing but messages), `--quiet` is accepted by every command,
//! `simulate --samples` selects samples (a range past the input is exit 2), and passes
//! that calibrate on `--input` say so.

use std::path::PathBuf;
use std::process::{Command, Output};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::limits::Limits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(root()).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn piped_runs_draw_no_progress_and_quiet_is_global() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("m.map");
    let y = dir.path().join("y.npy");
    let (m, y) = (map.to_str().unwrap(), y.to_str().unwrap());
    let runs: [&[&str]; 3] = [
        &["compile", "examples/digits_cnn/model.nir", "--target", "test_4x4", "-o", m],
        &["simulate", m, "--input", "examples/digits_cnn/input.npy", "-o", y, "--samples", "2..5", "--threads", "2"],
        &["--quiet", "run", "examples/digits_cnn/model.nir", "--input", "examples/digits_cnn/input.npy", "-o", y],
    ];
    for args in runs {
        let o = spikeforge(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{args:?} wrote to a piped stderr: {:?}", stderr(&o));
    }
    let simulated =
        spikeforge(&["simulate", m, "--input", "examples/digits_cnn/input.npy", "-o", y, "--samples", "2..5"]);
    assert!(simulated.status.success());
    let out = read_npy_f64(std::path::Path::new(y), &Limits::default()).unwrap();
    assert_eq!(out.shape[0], 3, "--samples 2..5 simulates three samples");
}

#[test]
fn simulate_samples_past_the_input_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("m.map");
    let m = map.to_str().unwrap();
    assert!(spikeforge(&["compile", "examples/digits_cnn/model.nir", "--target", "test_4x4", "-o", m])
        .status
        .success());
    let y = dir.path().join("y.npy");
    let o = spikeforge(&[
        "simulate",
        m,
        "--input",
        "examples/digits_cnn/input.npy",
        "-o",
        y.to_str().unwrap(),
        "--samples",
        "0..360",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has 16 samples; the range 0..360 reaches past them"), "{}", stderr(&o));
    assert!(!y.exists());
}

#[test]
fn passes_that_calibrate_on_the_input_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.npy");
    let args = [
        "run",
        "examples/digits_mlp/model.nir",
        "--input",
        "examples/digits_mlp/input.npy",
        "-o",
        y.to_str().unwrap(),
        "--passes",
        "prune(method=sbc, sparsity=0.5)",
    ];
    let o = spikeforge(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: the passes calibrate on --input examples/digits_mlp/input.npy"),
        "{}",
        stderr(&o)
    );
    let mut magnitude = args;
    magnitude[7] = "prune(method=magnitude, sparsity=0.5)";
    let o = spikeforge(&magnitude);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("calibrate on"), "magnitude pruning needs no calibration: {}", stderr(&o));
}
