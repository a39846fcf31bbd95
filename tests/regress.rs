//! Golden-trace regression through the CLI: `trace record`, `trace diff`, `regress` and its
//! JUnit XML. Divergences are planted by hand and must be found where they were planted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quick_xml::events::Event;
use quick_xml::Reader;
use spikeforge_compiler::arrays::{read_npy_f64, write_npy};
use spikeforge_compiler::limits::Limits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(case: &str) -> PathBuf {
    root().join("../shared/golden").join(case)
}

fn spikeforge_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(dir).output().expect("binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Copies a golden case into `dir/name` (writable, unlike the originals).
fn copy_case(case: &str, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for f in ["model.nir", "input.npy", "output.npy", "layer_spikes.npy", "meta.json"] {
        std::fs::write(to.join(f), std::fs::read(golden(case).join(f)).unwrap()).unwrap();
    }
    to
}

/// Flips the value at `[sample, step, k]` of a uint8 array, or adds one to an int64 count.
fn plant(path: &Path, at: [usize; 3], count: bool) {
    let a = read_npy_f64(path, &Limits::default()).unwrap();
    let i = (at[0] * a.shape[1] + at[1]) * a.shape[2] + at[2];
    let mut data = a.data.clone();
    if count {
        data[i] += 1.0;
        write_npy(path, &a.shape, &data.iter().map(|&v| v as i64).collect::<Vec<_>>()).unwrap();
    } else {
        data[i] = 1.0 - data[i];
        write_npy(path, &a.shape, &data.iter().map(|&v| v as u8).collect::<Vec<_>>()).unwrap();
    }
}

/// The table without its time column (the only part that varies between runs).
fn without_times(stdout: &str) -> String {
    let cut = stdout.lines().next().and_then(|h| h.find("time")).expect("a table header with a time column");
    stdout
        .lines()
        .map(|l| if l.len() > cut && l.ends_with(" s") { l[..cut].trim_end() } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// (tests, failures, errors) of the one testsuite, testcases as (classname, name, failed),
/// failure messages.
type Junit = ((usize, usize, usize), Vec<(String, String, bool)>, Vec<String>);

fn parse_junit(path: &Path) -> Junit {
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = Reader::from_str(&xml);
    let (mut suites, mut counts, mut cases, mut messages) = (0, (0, 0, 0), Vec::new(), Vec::new());
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> String {
        let a = e.try_get_attribute(name).unwrap().unwrap_or_else(|| panic!("attribute {name}"));
        a.unescape_value().unwrap().into_owned()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => {
                    suites += 1;
                    let n = |k: &str| attr(&e, k).parse::<usize>().unwrap();
                    counts = (n("tests"), n("failures"), n("errors"));
                }
                b"testcase" => cases.push((attr(&e, "classname"), attr(&e, "name"), false)),
                b"failure" | b"error" => {
                    cases.last_mut().expect("inside a testcase").2 = true;
                    messages.push(attr(&e, "message"));
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites, 1, "one testsuite");
    (counts, cases, messages)
}

#[test]
fn trace_and_regress_have_help() {
    for cmd in
        [&["trace", "--help"][..], &["trace", "record", "--help"], &["trace", "diff", "--help"], &["regress", "--help"]]
    {
        let o = spikeforge_in(&root(), cmd);
        assert_eq!(o.status.code(), Some(0), "{cmd:?}: {}", text(&o));
    }
}

#[test]
fn regress_on_shared_golden_passes_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let o = spikeforge_in(&root(), &["regress", "../shared/golden", "--junit", p(&junit)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    insta::assert_snapshot!("regress_golden", without_times(&String::from_utf8_lossy(&o.stdout)));
    let (counts, cases, messages) = parse_junit(&junit);
    assert_eq!(counts, (3, 0, 0));
    let names: Vec<_> = cases.iter().map(|(c, n, failed)| (c.as_str(), n.as_str(), *failed)).collect();
    assert_eq!(
        names,
        [("digits_cnn", "reference", false), ("digits_mlp", "reference", false), ("rsnn_random", "reference", false)]
    );
    assert!(messages.is_empty());
}

#[test]
fn planted_one_spike_divergences_are_found_where_planted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An output spike flipped at sample 5, step 7, neuron 3 of layer `3` (the output LIF).
    let b = copy_case("digits_mlp", d, "planted_output");
    plant(&b.join("output.npy"), [5, 7, 3], false);
    let model = golden("digits_mlp").join("model.nir");
    let o = spikeforge_in(
        d,
        &[
            "trace",
            "diff",
            p(&golden("digits_mlp").join("output.npy")),
            "planted_output/output.npy",
            "--model",
            p(&model),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).replace(p(&golden("digits_mlp")), "GOLDEN");
    assert!(out.contains("first divergence: sample 5, step 7, layer `3`, neuron 3: A 0, B 1"), "{out}");
    assert!(out.contains("mismatch: 1 of 72000 values"), "{out}");
    insta::assert_snapshot!("diff_output_planted", out);

    // One extra spike counted in hidden layer `1` at sample 2, step 4.
    std::fs::write(d.join("l.npy"), std::fs::read(golden("digits_mlp").join("layer_spikes.npy")).unwrap()).unwrap();
    plant(&d.join("l.npy"), [2, 4, 0], true);
    let o = spikeforge_in(
        d,
        &["trace", "diff", p(&golden("digits_mlp").join("layer_spikes.npy")), "l.npy", "--model", p(&model)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("first divergence: sample 2, step 4, layer `1` spike count"), "{}", text(&o));

    // regress reports the planted output spike with its neuron, and the earlier layer count
    // when both are planted.
    let o = spikeforge_in(d, &["regress", "planted_output"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        stdout.contains("first divergence at sample 5, step 7, layer `3`, neuron 3: expected 1, got 0"),
        "{stdout}"
    );
    insta::assert_snapshot!("regress_planted_output", without_times(&stdout));
    std::fs::copy(d.join("l.npy"), b.join("layer_spikes.npy")).unwrap();
    let o = spikeforge_in(d, &["regress", "planted_output"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("first divergence at sample 2, step 4, layer `1` spike count"), "{}", text(&o));

    // Equal arrays: exit 0.
    let o = spikeforge_in(d, &["trace", "diff", "l.npy", "l.npy"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn recorded_bundle_with_a_target_regresses_cleanly_through_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = root().join("targets/test_4x4.ron");
    let g = golden("rsnn_random");
    let o = spikeforge_in(
        d,
        &[
            "trace",
            "record",
            p(&g.join("model.nir")),
            "--input",
            p(&g.join("input.npy")),
            "-o",
            "suite/rsnn",
            "--target",
            p(&target),
            "--hardware",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let g = golden("digits_mlp");
    let o = spikeforge_in(
        d,
        &[
            "trace",
            "record",
            p(&g.join("model.nir")),
            "--input",
            p(&g.join("input.npy")),
            "--samples",
            "0..12",
            "-o",
            "suite/mlp_int8",
            "--target",
            "test_4x4",
            "--passes",
            "@int8",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for f in
        ["bundle.ron", "model.nir", "input.npy", "output.npy", "layer_spikes.npy", "target.ron", "output_hardware.npy"]
    {
        assert!(d.join("suite/rsnn").join(f).is_file(), "{f} recorded");
    }
    let input = read_npy_f64(&d.join("suite/mlp_int8/input.npy"), &Limits::default()).unwrap();
    assert_eq!(input.shape, [12, 20, 64], "--samples keeps 12 samples");
    let o = spikeforge_in(
        d,
        &["trace", "record", p(&g.join("model.nir")), "--input", p(&g.join("input.npy")), "-o", "suite/mlp_int8"],
    );
    assert_eq!(o.status.code(), Some(2), "an existing bundle is not overwritten without --force");

    let o = spikeforge_in(d, &["regress", "suite", "--junit", "r.xml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    insta::assert_snapshot!("regress_recorded", without_times(&stdout));
    let (counts, cases, _) = parse_junit(&d.join("r.xml"));
    assert_eq!(counts, (5, 0, 0));
    let engines: Vec<_> = cases.iter().map(|(c, n, _)| format!("{c}/{n}")).collect();
    assert_eq!(
        engines,
        ["mlp_int8/reference", "mlp_int8/sim-exact", "rsnn/reference", "rsnn/sim-exact", "rsnn/sim-hardware"]
    );
}

/// Sets the `value` of the stat named `name` (for `engine`) in a bundle.ron.
fn set_stat(ron: &Path, name: &str, engine: &str, f: impl Fn(f64) -> f64, rel_tol: f64) {
    let text = std::fs::read_to_string(ron).unwrap();
    let key = format!("name: \"{name}\",\n            engine: \"{engine}\",\n            value: ");
    let at = text.find(&key).unwrap_or_else(|| panic!("{key} in {text}")) + key.len();
    let end = at + text[at..].find(',').unwrap();
    let value: f64 = text[at..end].parse().unwrap();
    let tol_at = end + text[end..].find("rel_tol: ").unwrap() + "rel_tol: ".len();
    let tol_end = tol_at + text[tol_at..].find(',').unwrap();
    let new = format!("{}{}{}{}{}", &text[..at], f(value), &text[end..tol_at], rel_tol, &text[tol_end..]);
    std::fs::write(ron, new).unwrap();
}

#[test]
fn expected_stats_beyond_tolerance_fail_naming_the_stat() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let g = golden("rsnn_random");
    let o = spikeforge_in(
        d,
        &[
            "trace",
            "record",
            p(&g.join("model.nir")),
            "--input",
            p(&g.join("input.npy")),
            "-o",
            "b",
            "--target",
            "test_4x4",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let ron = d.join("b/bundle.ron");
    set_stat(&ron, "cycles_total", "sim-exact", |v| v * 1.10, 0.05);
    let o = spikeforge_in(d, &["regress", "b", "--junit", "r.xml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("stat `cycles_total` = "), "{}", text(&o));
    let (counts, cases, messages) = parse_junit(&d.join("r.xml"));
    assert_eq!(counts, (2, 1, 0));
    assert!(!cases[0].2 && cases[1].2, "only sim-exact fails: {cases:?}");
    assert!(messages[0].starts_with("stat `cycles_total` = ") && messages[0].contains("rel_tol 0.05"), "{messages:?}");
    // Within tolerance it passes.
    set_stat(&ron, "cycles_total", "sim-exact", |v| v / 1.10 * 0.98, 0.05);
    let o = spikeforge_in(d, &["regress", "b"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn bad_input_exits_two_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let g = golden("digits_mlp");
    let o = spikeforge_in(d, &["trace", "diff", p(&g.join("output.npy")), p(&g.join("layer_spikes.npy"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("[360, 20, 10]") && text(&o).contains("[360, 20, 2]"), "{}", text(&o));
    let o = spikeforge_in(d, &["regress", "."]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no bundles found"), "{}", text(&o));
    let b = copy_case("rsnn_random", d, "bad");
    std::fs::write(
        b.join("bundle.ron"),
        "(model: \"model.nir\", input: \"input.npy\",\n output: \"output.npy\", dt_s: -1.0)",
    )
    .unwrap();
    let o = spikeforge_in(d, &["regress", ".", "--junit", "r.xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("field `dt_s`"), "{}", text(&o));
    assert!(!d.join("r.xml").exists(), "nothing written");
    std::fs::write(b.join("bundle.ron"), "(model: \"model.nir\", inptu: \"input.npy\")").unwrap();
    let o = spikeforge_in(d, &["regress", "bad"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bundle.ron:1:"), "{}", text(&o));
}
