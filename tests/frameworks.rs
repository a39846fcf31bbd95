//! Conformance with the frameworks themselves: every case under
//! `compiler/tests/fixtures/frameworks/<framework>/<case>/` is a small network that the
//! framework exported to NIR and simulated (float64; `generate.py` beside them). With the
//! semantics and flags of its `case.json`, `spikeforge run` (the f64 executor) and
//! `compile` + `simulate --numeric exact` must reproduce the framework's output spikes with
//! zero mismatches (a membrane output, LI, to 1e-12 relative); `simulate --numeric
//! hardware` must run.

use std::path::{Path, PathBuf};
use std::process::Command;

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::limits::Limits;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compiler/tests/fixtures/frameworks")
}

fn spikeforge(args: &[String]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "spikeforge {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn cases(framework: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures().join(framework))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.nir").is_file())
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no cases for {framework}");
    v
}

/// `--semantics NAME` and the case's extra flags.
fn flags(case: &Path) -> Vec<String> {
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
    let mut f = vec!["--semantics".to_string(), spec["semantics"].as_str().unwrap().to_string()];
    f.extend(spec["flags"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()));
    f
}

fn mismatches(want: &Path, got: &Path) -> usize {
    let limits = Limits::default();
    let (a, b) = (read_npy_f64(want, &limits).unwrap(), read_npy_f64(got, &limits).unwrap());
    assert_eq!(a.shape, b.shape, "{}", got.display());
    a.data.iter().zip(&b.data).filter(|(x, y)| !same(**x, **y)).count()
}

/// Spikes and spike counts must be equal. A membrane output (LI) may differ in the last
/// bits: the framework's matmul sums the synapses in another order than the executor.
fn same(want: f64, got: f64) -> bool {
    want == got || (want.fract() != 0.0 && (want - got).abs() <= 1e-12 * want.abs().max(1.0))
}

fn check(framework: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let mut report = Vec::new();
    for case in cases(framework) {
        let name = case.file_name().unwrap().to_str().unwrap().to_string();
        let f = flags(&case);
        let (model, input, want) = (case.join("model.nir"), case.join("input.npy"), case.join("output.npy"));
        let out = dir.path().join(format!("{name}.run.npy"));
        let mut args = vec!["run".into(), p(&model), "--input".into(), p(&input), "--output".into(), p(&out)];
        args.extend(f.clone());
        spikeforge(&args);
        let run = mismatches(&want, &out);
        let map = dir.path().join(format!("{name}.map"));
        let mut args = vec!["compile".into(), p(&model), "--target".into(), "test_4x4".into(), "-o".into(), p(&map)];
        args.extend(f.clone());
        spikeforge(&args);
        let simulate = |numeric: &str| {
            let out = dir.path().join(format!("{name}.{numeric}.npy"));
            spikeforge(&[
                "simulate".into(),
                p(&map),
                "--input".into(),
                p(&input),
                "--output".into(),
                p(&out),
                "--numeric".into(),
                numeric.into(),
            ]);
            out
        };
        let exact = mismatches(&want, &simulate("exact"));
        simulate("hardware");
        report.push(format!("{framework}/{name} {}: run {run}, simulate exact {exact} mismatches", f.join(" ")));
        if run != 0 || exact != 0 {
            report.push("  ^ differs".into());
        }
    }
    let text = report.join("\n");
    println!("{text}");
    assert!(!text.contains("differs"), "{text}");
}

#[test]
fn snntorch_exports_reproduce_exactly() {
    check("snntorch");
}

#[test]
fn spikingjelly_exports_reproduce_exactly() {
    check("spikingjelly");
}

#[test]
fn sinabs_exports_reproduce_exactly() {
    check("sinabs");
}

/// A bundle recorded with `--semantics` keeps it (`bundle.ron`), so `regress` replays the
/// framework's rule on the executor and the simulator; the framework's spikes match.
#[test]
fn bundles_carry_the_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let case = fixtures().join("snntorch/rsynaptic_zero");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let bundle = dir.path().join("b");
    let mut args = vec![
        "trace".into(),
        "record".into(),
        p(&case.join("model.nir")),
        "--input".into(),
        p(&case.join("input.npy")),
        "--target".into(),
        "test_4x4".into(),
        "-o".into(),
        p(&bundle),
    ];
    args.extend(flags(&case));
    spikeforge(&args);
    let ron = std::fs::read_to_string(bundle.join("bundle.ron")).unwrap();
    assert!(ron.contains("semantics: \"snntorch\"") || ron.contains("semantics: Some(\"snntorch\")"), "{ron}");
    assert_eq!(mismatches(&case.join("output.npy"), &bundle.join("output.npy")), 0);
    spikeforge(&["regress".into(), p(&bundle)]);
}

#[test]
fn norse_exports_reproduce_exactly() {
    check("norse");
}

#[test]
fn rockpool_exports_reproduce_exactly() {
    check("rockpool");
}

/// Not Lava itself (it does not install on Python 3.11): a NumPy mirror of lava-nc's float
/// LIF and Dense processes, see `VERSIONS.md`.
#[test]
fn lava_mirror_reproduces_exactly() {
    check("lava");
}
