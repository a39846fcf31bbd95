//! End-to-end tests of the model generator and of multi-chip targets from the command line:
//! `generate`, `--chips CxR|auto` and `--set FIELD=VALUE` on every command that takes a
//! target, the not-fit message naming chips, and the board presets.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spikeforge_compiler::arrays::{read_npy_f64, write_npy};
use spikeforge_compiler::limits::Limits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(case: &str) -> String {
    root().join("../shared/golden").join(case).join("model.nir").display().to_string()
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

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn generate_writes_a_model_and_a_matching_input() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = (dir.path().join("vgg11.nir"), dir.path().join("x.npy"));
    let o = spikeforge(&[
        "generate",
        "vgg11",
        "--width",
        "0.0625",
        "--input-shape",
        "3,16,16",
        "--steps",
        "3",
        "--seed",
        "7",
        "-o",
        p(&m),
        "--input",
        p(&x),
        "--samples",
        "2",
    ]);
    ok(&o);
    assert!(stdout(&o).contains("10 spiking layers"), "{}", stdout(&o));
    let a = read_npy_f64(&x, &Limits::default()).unwrap();
    assert_eq!(a.shape, vec![2, 3, 3, 16, 16]);
    assert!(a.data.iter().all(|&v| v == 0.0 || v == 1.0) && a.data.iter().any(|&v| v == 1.0));
    // The model reads back and runs on the input.
    let y = dir.path().join("y.npy");
    ok(&spikeforge(&["run", p(&m), "--input", p(&x), "--output", p(&y)]));
    // Same seed, same bytes; the .snn form too.
    let m2 = dir.path().join("again.nir");
    ok(&spikeforge(&[
        "generate",
        "vgg11",
        "--width",
        "0.0625",
        "--input-shape",
        "3,16,16",
        "--steps",
        "3",
        "--seed",
        "7",
        "-o",
        p(&m2),
    ]));
    assert_eq!(std::fs::read(&m).unwrap(), std::fs::read(&m2).unwrap());
    ok(&spikeforge(&[
        "generate",
        "sew-resnet",
        "--width",
        "0.125",
        "--input-shape",
        "2,8,8",
        "-o",
        p(&dir.path().join("sew.snn")),
    ]));
}

#[test]
fn generate_refuses_bad_arguments_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.nir");
    let o = spikeforge(&["generate", "vgg19", "-o", p(&m)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown architecture `vgg19`"), "{}", stderr(&o));
    let o = spikeforge(&["generate", "vgg11", "--width", "-1", "-o", p(&m)]);
    assert_eq!(o.status.code(), Some(2));
    let o = spikeforge(&["generate", "vgg11", "--firing-rate", "0", "-o", p(&m)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("firing rate"), "{}", stderr(&o));
    let o = spikeforge(&["generate", "vgg16", "--input-shape", "3,4096,4096", "--max-memory", "64M", "-o", p(&m)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("above the limit"), "{}", stderr(&o));
    assert!(!m.exists());
}

/// The numbers of a not-fit message: the total and the per-layer counts after it.
fn counts(msg: &str) -> (u64, u64) {
    let num = |s: &str| s.replace(',', "").parse::<u64>().unwrap();
    let needed = num(msg.split("needs ").nth(1).unwrap().split(' ').next().unwrap());
    let list = msg.split("only that layer): ").nth(1).unwrap().split(';').next().unwrap();
    let sum = list.split(", ").map(|part| num(part.rsplit(' ').next().unwrap())).sum();
    (needed, sum)
}

#[test]
fn not_fit_names_chips_and_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.map");
    // test_4x4's cores on a 2 × 2 mesh: 4 cores per chip.
    let o =
        spikeforge(&["compile", &golden("digits_cnn"), "--target", "test_4x4", "--set", "noc.mesh=2x2", "-o", p(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let msg = stderr(&o);
    let (needed, sum) = counts(&msg);
    assert_eq!(needed, sum, "{msg}");
    assert!(msg.contains("chips of `test_4x4` (4 cores each)") && msg.contains("--chips auto"), "{msg}");
    assert!(!out.exists());
    insta::assert_snapshot!(
        "compile_digits_cnn_on_one_test_chip",
        msg.replace(&golden("digits_cnn"), "digits_cnn.nir")
    );
}

#[test]
fn chips_auto_picks_the_smallest_grid_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let (out, r) = (dir.path().join("m.map"), dir.path().join("r.json"));
    let o = spikeforge(&[
        "compile",
        &golden("digits_cnn"),
        "--target",
        "test_4x4",
        "--set",
        "noc.mesh=2x2",
        "--chips",
        "auto",
        "-o",
        p(&out),
        "--report",
        p(&r),
    ]);
    ok(&o);
    assert!(stderr(&o).contains("--chips auto: "), "{}", stderr(&o));
    let rep = json(&r);
    let (used, bound) = (rep["chips_used"].as_u64().unwrap(), rep["chips_lower_bound"].as_u64().unwrap());
    let grid: Vec<u64> = rep["chips"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(bound >= 2 && used >= bound && used <= grid[0] * grid[1], "{rep}");
    assert_eq!(rep["cores_available"].as_u64().unwrap(), grid[0] * grid[1] * 4);
    assert!(grid[0] * grid[1] > 1, "{rep}");
    // 9 cores of 4 per chip: 3 chips, whose near-square grid is 2 × 2.
    assert_eq!((rep["cores_used"].as_u64().unwrap(), grid.as_slice()), (9, [2, 2].as_slice()), "{rep}");
    // The map runs on its chips.
    let all = read_npy_f64(&root().join("../shared/golden/digits_cnn/input.npy"), &Limits::default()).unwrap();
    let per_sample: usize = all.shape[1..].iter().product();
    let (x, y) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    let mut shape = all.shape.clone();
    shape[0] = 2;
    write_npy(&x, &shape, &all.data[..2 * per_sample]).unwrap();
    ok(&spikeforge(&["simulate", p(&out), "--input", p(&x), "--output", p(&y)]));

    // --chips CxR gives that grid.
    let o = spikeforge(&[
        "compile",
        &golden("digits_cnn"),
        "--target",
        "test_4x4",
        "--set",
        "noc.mesh=2x2",
        "--chips",
        "8x4",
        "-o",
        p(&out),
        "--report",
        p(&r),
    ]);
    ok(&o);
    assert_eq!(json(&r)["cores_available"], 128);
}

#[test]
fn set_and_chips_change_the_target_everywhere() {
    let o = spikeforge(&["target", "show", "loihi", "--chips", "4x3", "--set", "core.synapse_memory_kib=256"]);
    ok(&o);
    let shown = stdout(&o);
    assert!(shown.contains("1536") || shown.contains("1,536"), "{shown}");
    assert!(shown.contains("2097152") || shown.contains("2,097,152"), "{shown}");

    let o = spikeforge(&["target", "show", "loihi", "--set", "core.bogus=1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown target field `core.bogus`"), "{}", stderr(&o));
    let o = spikeforge(&["target", "show", "loihi", "--set", "grid.chips"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not FIELD=VALUE"), "{}", stderr(&o));
    let o = spikeforge(&["target", "show", "loihi", "--chips", "0x3"]);
    assert_eq!(o.status.code(), Some(2));
    let o = spikeforge(&["target", "show", "loihi", "--chips", "auto"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--chips auto"), "{}", stderr(&o));

    // A --set that breaks the target's rules is refused naming the field.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.map");
    let o = spikeforge(&[
        "compile",
        &golden("digits_mlp"),
        "--target",
        "loihi",
        "--set",
        "core.max_neurons=0",
        "-o",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("max_neurons"), "{}", stderr(&o));
    assert!(!out.exists());

    // trace record stores the changed target in the bundle; regress reads it back.
    let bundle = dir.path().join("b");
    let x = root().join("../shared/golden/digits_mlp/input.npy");
    ok(&spikeforge(&[
        "trace",
        "record",
        &golden("digits_mlp"),
        "--input",
        p(&x),
        "--samples",
        "0..2",
        "--target",
        "test_4x4",
        "--set",
        "noc.mesh=2x2",
        "--chips",
        "4x4",
        "-o",
        p(&bundle),
    ]));
    let ron = std::fs::read_to_string(bundle.join("target.ron")).unwrap();
    let stored = spikeforge_targets::parse_spec(&ron, "target.ron").unwrap();
    assert_eq!((stored.grid.chips, stored.noc.mesh), ([4, 4], [2, 2]));
    ok(&spikeforge(&["regress", p(&bundle)]));
}

#[test]
fn presets_are_listed_and_boards_have_their_chips() {
    let o = spikeforge(&["target", "show"]);
    ok(&o);
    for name in ["loihi2", "loihi_nahuku32", "loihi2_kapoho8", "spinnaker2_board48"] {
        assert!(stdout(&o).contains(name), "{}", stdout(&o));
    }
    for (name, chips, cores) in [
        ("loihi2", "1x1", 128),
        ("loihi_nahuku32", "8x4", 4096),
        ("loihi2_kapoho8", "4x2", 1024),
        ("spinnaker2_board48", "8x6", 7296),
    ] {
        let line = stdout(&o).lines().find(|l| l.starts_with(name)).unwrap().to_string();
        assert!(line.contains(&format!("{chips} chips")) && line.contains(&format!("{cores} cores")), "{line}");
    }
}

#[test]
fn golden_models_compile_on_the_new_presets() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["loihi2", "loihi_nahuku32", "loihi2_kapoho8", "spinnaker2_board48"] {
        let (out, r) = (dir.path().join(format!("{target}.map")), dir.path().join(format!("{target}.json")));
        ok(&spikeforge(&["compile", &golden("digits_cnn"), "--target", target, "-o", p(&out), "--report", p(&r)]));
        let rep = json(&r);
        assert_eq!(rep["chips_lower_bound"], 1, "{target}: {rep}");
        assert!(rep["chips_used"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn eval_and_sweep_take_the_target_flags() {
    let dir = tempfile::tempdir().unwrap();
    let g = root().join("../shared/golden/digits_mlp");
    let o = spikeforge(&[
        "eval",
        p(&g.join("model.nir")),
        "--input",
        p(&g.join("input.npy")),
        "--labels",
        p(&g.join("labels.npy")),
        "--samples",
        "0..4",
        "--target",
        "loihi",
        "--chips",
        "auto",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("maps no model"), "{}", stderr(&o));
    let o = spikeforge(&[
        "eval",
        p(&g.join("model.nir")),
        "--input",
        p(&g.join("input.npy")),
        "--labels",
        p(&g.join("labels.npy")),
        "--samples",
        "0..4",
        "--set",
        "weight_bits=4",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--target"), "{}", stderr(&o));

    // Each configuration on its smallest grid: a smaller core memory needs more chips.
    let csv = dir.path().join("r.csv");
    ok(&spikeforge(&[
        "sweep",
        "--model",
        p(&g.join("model.nir")),
        "--target",
        "test_4x4",
        "--set",
        "noc.mesh=2x2",
        "--chips",
        "auto",
        "--grid",
        "core.max_neurons=[32,16]",
        "--input",
        p(&g.join("input.npy")),
        "--samples",
        "0..2",
        "-o",
        p(&csv),
    ]));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.matches(",fits,").count(), 2, "{text}");
    // Fewer neurons per core need more cores, so a grid at least as large.
    let cores: Vec<u64> = text.lines().skip(1).map(|l| l.split(',').nth(4).unwrap().parse().unwrap()).collect();
    assert!(cores[1] > cores[0] && cores[0] > 4, "{text}");
}

/// A residual network's identity shortcuts are weightless projections on the chip: the
/// simulator counts the SOPs the executor counts (weight and pooling, NeuroBench's
/// Effective_ACs: an identity edge is neither), and its output equals `run`'s.
#[test]
fn residual_shortcuts_count_the_sops_run_counts() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let (m, x) = (d("r.nir"), d("x.npy"));
    ok(&spikeforge(&[
        "generate",
        "resnet19",
        "--width",
        "0.0625",
        "--input-shape",
        "3,16,16",
        "-o",
        p(&m),
        "--input",
        p(&x),
        "--samples",
        "1",
        "--quiet",
    ]));
    ok(&spikeforge(&["run", p(&m), "--input", p(&x), "-o", p(&d("run.npy")), "--stats", p(&d("run.json")), "--quiet"]));
    ok(&spikeforge(&["compile", p(&m), "--target", "loihi", "--chips", "auto", "-o", p(&d("r.map")), "--quiet"]));
    let (sim, sim_stats) = (d("sim.npy"), d("sim.json"));
    ok(&spikeforge(&[
        "simulate",
        p(&d("r.map")),
        "--input",
        p(&x),
        "-o",
        p(&sim),
        "--stats",
        p(&sim_stats),
        "--quiet",
    ]));
    let (run, simulated) = (json(&d("run.json")), json(&sim_stats));
    for key in ["sops_weight_layers_per_sample", "sops_pooling_per_sample"] {
        assert_eq!(run[key], simulated[key], "{key}");
    }
    assert!(run["sops_pooling_per_sample"].as_f64().unwrap() > 0.0, "the global average pool counts");
    let lim = Limits::default();
    assert_eq!(read_npy_f64(&d("run.npy"), &lim).unwrap().data, read_npy_f64(&sim, &lim).unwrap().data);
}
