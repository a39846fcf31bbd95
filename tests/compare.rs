//! `spikeforge compare` end to end: four presets side by side on the digit CNN (unknown
//! energy never printed as 0), a grid of chips per target, maps from files giving the same
//! figures as the compile that wrote them, and bad input refused with exit code 2.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(root()).output().expect("binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn compare(out: &std::path::Path, targets: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "compare",
        "examples/digits_cnn/model.nir",
        "--targets",
        targets,
        "--input",
        "examples/digits_cnn/input.npy",
        "--samples",
        "0..4",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    spikeforge(&args)
}

fn entries(dir: &std::path::Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("compare.json")).unwrap()).unwrap();
    v["entries"].as_array().unwrap().clone()
}

#[test]
fn four_presets_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let o = compare(dir.path(), "loihi,loihi2,speck,spinnaker2", &["--chips", "auto"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    for metric in
        ["fits", "cores used", "latency per step", "throughput", "energy per inference", "energy-delay product"]
    {
        assert!(stdout.lines().any(|l| l.starts_with(metric)), "no `{metric}` row:\n{stdout}");
    }
    let energy = stdout.lines().find(|l| l.starts_with("energy per inference")).unwrap();
    assert!(energy.contains("unknown"), "SpiNNaker 2 has no energy figures: {energy}");
    assert!(energy.contains("(partial)"), "Loihi lacks static power: {energy}");
    assert!(!energy.contains(" 0 pJ") && !energy.contains(" 0.0"), "unknown energy shown as 0: {energy}");
    let e = entries(dir.path());
    assert_eq!(e.len(), 4);
    for x in &e {
        assert_eq!(x["status"], "fits", "{x}");
        let lat = x["latency_us_per_inference"].as_f64().unwrap();
        assert!((x["inferences_per_s"].as_f64().unwrap() - 1e6 / lat).abs() < 1e-6 * (1e6 / lat));
        assert!(x["cores_used"].as_u64().unwrap() <= x["cores_available"].as_u64().unwrap());
        assert!(!x["utilisation"].as_array().unwrap().is_empty());
    }
    assert!(e[3]["energy_pj_per_inference"].is_null() && e[3]["edp_uj_ms"].is_null());
    assert_eq!(e[0]["energy_partial"], true);
    let csv = std::fs::read_to_string(dir.path().join("compare.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let spinnaker = csv.lines().find(|l| l.starts_with("spinnaker2,")).unwrap();
    assert!(spinnaker.contains(",,"), "an unknown energy is an empty cell: {spinnaker}");
    let html = std::fs::read_to_string(dir.path().join("compare.html")).unwrap();
    assert!(html.contains("<th>spinnaker2</th>") && html.contains("unknown") && !html.contains("<script"));
    for f in ["loihi.map", "loihi.stats.json", "spinnaker2.map"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn a_grid_per_target_and_maps_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = compare(dir.path(), "test_4x4@1x1,test_4x4@2x1", &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let first = entries(dir.path());
    assert_eq!(first[0]["chips"], serde_json::json!([1, 1]));
    assert_eq!(first[1]["chips"], serde_json::json!([2, 1]));
    assert_eq!(first[1]["cores_available"].as_u64().unwrap(), 2 * first[0]["cores_available"].as_u64().unwrap());

    let again = tempfile::tempdir().unwrap();
    let map = dir.path().join("test_4x4_1x1.map");
    let o = spikeforge(&[
        "compare",
        "--maps",
        map.to_str().unwrap(),
        "--input",
        "examples/digits_cnn/input.npy",
        "--samples",
        "0..4",
        "--out",
        again.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let from_map = &entries(again.path())[0];
    for k in
        ["cores_used", "chips", "latency_us_per_step", "energy_pj_per_inference", "sops_per_inference", "utilisation"]
    {
        assert_eq!(from_map[k], first[0][k], "{k}");
    }
}

#[test]
fn a_target_that_does_not_fit_is_a_column_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let o = spikeforge(&[
        "compare",
        "examples/digits_mlp/model.nir",
        "--targets",
        "test_2x2,test_4x4",
        "--input",
        "examples/digits_mlp/input.npy",
        "--samples",
        "0..2",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let e = entries(dir.path());
    assert_eq!(e[0]["status"], "does_not_fit");
    assert!(e[0]["reason"].as_str().unwrap().contains("layer"), "{}", e[0]["reason"]);
    assert!(e[0]["energy_pj_per_inference"].is_null());
    assert!(text(&o.stdout).contains("note: test_2x2: "));
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--targets", "nosuchchip"], "nosuchchip"),
        (&["--targets", "loihi@2y2"], "loihi@2y2"),
        (&["--targets", "loihi", "--samples", "0..99"], "0..99"),
        (&["--targets", "loihi", "--out", "no/such/folder"], "not a folder"),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["compare", "examples/digits_cnn/model.nir", "--input", "examples/digits_cnn/input.npy"];
        if !extra.contains(&"--out") {
            args.extend(["--out", dir.path().to_str().unwrap()]);
        }
        args.extend_from_slice(extra);
        let o = spikeforge(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(needle), "{extra:?}: {}", text(&o.stderr));
    }
    let o = spikeforge(&["compare", "--targets", "loihi", "--input", "x.npy", "--out", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("needs the MODEL"), "{}", text(&o.stderr));
}
