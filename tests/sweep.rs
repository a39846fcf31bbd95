//! `spikeforge sweep` and `sweep merge` end to end, on the tiny model and the tiny test chip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spikeforge_targets::{overrides, parse_spec, preset_text, to_ron};

const GRID: &str = "core.max_neurons=[4,16]; core.synapse_memory_bits=[256,2048]; noc.link_bits_per_cycle=[4,16]";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spikeforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(args).current_dir(root()).output().expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sweep(grid: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        "--model",
        "examples/tiny_mlp.snn",
        "--target",
        "test_2x2",
        "--grid",
        grid,
        "--input",
        "examples/tiny_input.npy",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    spikeforge(&args)
}

/// The CSV as one map per row, column name → cell.
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A top-level number of a JSON file as written, parsed with Rust's correctly rounded
/// parser (serde_json's default parser may be off by one unit in the last place).
fn json_number(path: &Path, key: &str) -> f64 {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find(&format!("\n  \"{key}\": ")).unwrap_or_else(|| panic!("{key} in {}", path.display()));
    let rest = &text[at + key.len() + 7..];
    let end = rest.find([',', '\n', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().unwrap_or_else(|_| panic!("{key} = {:?}", &rest[..end]))
}

#[test]
fn a_2x2x2_sweep_gives_the_rows_of_compile_and_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let o = sweep(GRID, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "no progress bar when stderr is not a terminal");
    assert!(String::from_utf8_lossy(&o.stdout).contains("swept 8 configurations"));
    let rows = rows(&out);
    assert_eq!(rows.len(), 8);
    let mut fits = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        // Nested loops in written order: the last axis varies fastest.
        let want = [["4", "16"][i / 4], ["256", "2048"][i / 2 % 2], ["4", "16"][i % 2]];
        let got = [&row["core.max_neurons"], &row["core.synapse_memory_bits"], &row["noc.link_bits_per_cycle"]];
        assert_eq!(got, want, "config {i}");
        assert_eq!(row["config"], i.to_string());
        assert_eq!(row["configs"], "8");
        let neurons: u64 = want[0].parse().unwrap();
        let synapse_bits: u64 = want[1].parse().unwrap();
        // 4 cores × (synapse memory + max_neurons × 16-bit neuron state).
        assert_eq!(num(row, "silicon_cost_bits") as u64, 4 * (synapse_bits + neurons * 16), "config {i}");
        if synapse_bits == 256 {
            assert_eq!(row["status"], "does_not_fit", "config {i}");
            assert!(
                row["reason"].starts_with("layer `lif1` does not fit: one neuron has 16 inputs")
                    && row["reason"].contains("(synapse memory)"),
                "{}",
                row["reason"]
            );
            assert_eq!((row["cores_used"].as_str(), row["energy_pj_per_sample"].as_str()), ("", ""));
            assert_eq!(row["pareto"], "false");
        } else {
            assert_eq!((row["status"].as_str(), row["reason"].as_str()), ("fits", ""), "config {i}");
            fits.push(row);
        }
    }

    // Every fitting row equals compile + simulate on the target with the same overrides.
    let base = parse_spec(preset_text("test_2x2").unwrap(), "test_2x2").unwrap();
    for row in &fits {
        let mut spec = base.clone();
        for key in ["core.max_neurons", "core.synapse_memory_bits", "noc.link_bits_per_cycle"] {
            overrides::apply(&mut spec, key, &row[key]).unwrap();
        }
        let [ron, map, report, stats] = ["t.ron", "m.map", "rep.json", "s.json"].map(|f| dir.path().join(f));
        std::fs::write(&ron, to_ron(&spec)).unwrap();
        let (ron_s, map_s) = (ron.to_str().unwrap(), map.to_str().unwrap());
        let o = spikeforge(&[
            "compile",
            "examples/tiny_mlp.snn",
            "--target",
            ron_s,
            "-o",
            map_s,
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let y = dir.path().join("y.npy");
        let args = ["simulate", map_s, "--input", "examples/tiny_input.npy", "-o", y.to_str().unwrap()];
        let o = spikeforge(&[&args[..], &["--stats", stats.to_str().unwrap()]].concat());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(num(row, "cores_used"), json(&report)["cores_used"].as_f64().unwrap());
        for (col, key) in [
            ("sops_weight_layers_per_sample", "sops_weight_layers_per_sample"),
            ("energy_pj_per_sample", "energy_pj_per_sample"),
            ("latency_us_per_step", "latency_us_per_step_mean"),
            ("cycles_per_step", "cycles_per_step_mean"),
            ("max_link_utilisation", "max_link_utilisation"),
        ] {
            assert_eq!(num(row, col), json_number(&stats, key), "config {}: {col}", row["config"]);
        }
    }

    // The Pareto column is the definition: fitting rows that no other fitting row dominates.
    let obj = |r: &HashMap<String, String>| {
        [num(r, "energy_pj_per_sample"), num(r, "latency_us_per_step"), num(r, "silicon_cost_bits")]
    };
    let dominates = |q: [f64; 3], p: [f64; 3]| (0..3).all(|k| q[k] <= p[k]) && (0..3).any(|k| q[k] < p[k]);
    for row in &fits {
        let on = !fits.iter().any(|q| dominates(obj(q), obj(row)));
        assert_eq!(row["pareto"], on.to_string(), "config {}", row["config"]);
    }
    assert!(fits.iter().any(|r| r["pareto"] == "true"));
}

#[test]
fn shards_merged_equal_the_unsharded_csv() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f);
    let o = sweep(GRID, &p("all.csv"), &["--jobs", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for k in ["1", "2"] {
        let o = sweep(GRID, &p(&format!("s{k}.csv")), &["--shard", &format!("{k}/2"), "--jobs", "2"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(rows(&p(&format!("s{k}.csv"))).len(), 4);
    }
    let s = |f: &str| p(f).to_str().unwrap().to_string();
    let o = spikeforge(&["sweep", "merge", &s("s2.csv"), &s("s1.csv"), "-o", &s("merged.csv"), "--plot", &s("m.svg")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read(p("merged.csv")).unwrap(), std::fs::read(p("all.csv")).unwrap());
    assert!(std::fs::read_to_string(p("m.svg")).unwrap().starts_with("<svg"));

    let o = spikeforge(&["sweep", "merge", &s("s1.csv"), "-o", &s("bad.csv")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("4 of 8 configurations are missing: 1, 3, 5, 7"), "{}", stderr(&o));
    let o = spikeforge(&["sweep", "merge", &s("s1.csv"), &s("s2.csv"), &s("s1.csv"), "-o", &s("bad.csv")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("config 0 appears twice"), "{}", stderr(&o));
    // A slice of another sweep (one more value) is refused.
    let other = GRID.replace("[4,16]; core.syn", "[4,8,16]; core.syn");
    let o = sweep(&other, &p("o.csv"), &["--shard", "2/2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = spikeforge(&["sweep", "merge", &s("s1.csv"), &s("o.csv"), "-o", &s("bad.csv")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different sweeps"), "{}", stderr(&o));
    assert!(!p("bad.csv").exists());
}

#[test]
fn bad_grids_exit_2_and_invalid_targets_are_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let o = sweep("core.max_neuron=[4,8]", &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("unknown target field `core.max_neuron`") && e.contains("valid keys: grid.chips"), "{e}");
    assert!(e.contains("core.max_neurons") && e.contains("core.synapse_memory_kib"), "{e}");
    let o = sweep("noc.mesh=[2x2, 3]", &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`noc.mesh` = `3`: expected a pair written XxY"), "{}", stderr(&o));
    let o = sweep("core.max_neurons=[4,8", &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing its closing `]`"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written on a bad grid");

    let svg = dir.path().join("p.svg");
    let o = sweep("noc.link_bits_per_cycle=[0,16]", &out, &["--plot", svg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = rows(&out);
    assert_eq!(rows[0]["status"], "invalid_target");
    assert_eq!(rows[0]["reason"], "noc.link_bits_per_cycle = 0: must be > 0");
    assert_eq!((rows[1]["status"].as_str(), rows[1]["pareto"].as_str()), ("fits", "true"));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("2 configurations, 1 fit, 1 on the Pareto front"), "{text}");

    let o = spikeforge(&["sweep", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("merge"));
}

/// A killed sweep keeps the rows it finished in `OUTPUT.partial`; `--resume` evaluates only
/// the rest and writes the same bytes as an uninterrupted run.
#[test]
fn an_interrupted_sweep_resumes_from_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f);
    let o = sweep(GRID, &p("all.csv"), &["--jobs", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!p("all.csv.partial").exists(), "the journal is removed when the sweep ends");

    // What a kill leaves: the header, three finished rows in the order they finished, and a
    // row cut short in the middle of its line.
    let all = std::fs::read_to_string(p("all.csv")).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    let torn = &lines[2][..lines[2].len() / 2];
    let journal = format!("{}\n{}\n{}\n{}\n{torn}", lines[0], lines[6], lines[1], lines[4]);
    std::fs::write(p("r.csv.partial"), &journal).unwrap();

    let o = sweep(GRID, &p("r.csv"), &[]);
    assert_eq!(o.status.code(), Some(2), "a journal is never overwritten without --resume");
    assert!(
        stderr(&o).contains("r.csv.partial holds the rows of an unfinished sweep: pass --resume"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(p("r.csv.partial")).unwrap(), journal);

    let o = sweep(GRID, &p("r.csv"), &["--resume", "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("swept 8 configurations (3 carried over from the interrupted run)"), "{out}");
    assert_eq!(std::fs::read_to_string(p("r.csv")).unwrap(), all);
    assert!(!p("r.csv.partial").exists());

    // Resuming a finished sweep reads its results and evaluates nothing.
    let o = sweep(GRID, &p("r.csv"), &["--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(8 carried over"), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(std::fs::read_to_string(p("r.csv")).unwrap(), all);

    // Rows of another sweep (another grid) are refused.
    std::fs::write(p("x.csv.partial"), &journal).unwrap();
    let other = GRID.replace("[4,16]; core.syn", "[4,8,16]; core.syn");
    let o = sweep(&other, &p("x.csv"), &["--resume"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the grid, model, input, target or options changed"), "{}", stderr(&o));
}

#[test]
fn sweeps_above_the_configuration_budget_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let o = sweep(GRID, &out, &["--max-configs", "4"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("the grid has 8 configurations, above the budget of 4") && e.contains("--force"), "{e}");
    assert!(!out.exists() && !dir.path().join("r.csv.partial").exists());
    let o = sweep(GRID, &out, &["--max-configs", "4", "--shard", "1/2"]);
    assert_eq!(o.status.code(), Some(0), "a shard within the budget runs: {}", stderr(&o));
    let o = sweep(GRID, &out, &["--max-configs", "4", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(rows(&out).len(), 8);
}
