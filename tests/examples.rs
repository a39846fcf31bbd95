//! The committed example outputs and the README agree with the code: `examples/regenerate.sh`
//! writes the same bytes as are committed, the README's sweep prose states the committed
//! results, and its target-format table is the one `spikeforge_targets::schema` describes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

const OUTPUTS: [&str; 3] = ["report/digits_mlp_test_4x4.html", "sweep/results.csv", "sweep/pareto.svg"];

#[test]
fn regenerated_examples_equal_the_committed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("bash")
        .arg(root().join("examples/regenerate.sh"))
        .arg(dir.path())
        .env("SPIKEFORGE", env!("CARGO_BIN_EXE_spikeforge"))
        .output()
        .expect("bash runs");
    assert!(o.status.success(), "regenerate.sh failed: {}", String::from_utf8_lossy(&o.stderr));
    for name in OUTPUTS {
        let (new, old) = (dir.path().join(name), root().join("examples").join(name));
        let (new, old) = (std::fs::read(&new).unwrap(), std::fs::read(&old).unwrap());
        assert!(
            new == old,
            "examples/{name} differs from what the code writes now: run examples/regenerate.sh and commit the result"
        );
    }
}

/// `(fit, do not fit, on the front)` of the committed sweep.
fn sweep_counts(csv: &Path) -> (usize, usize, usize) {
    let mut r = csv::Reader::from_path(csv).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (status, pareto) = (col("status"), col("pareto"));
    let (mut fit, mut not, mut front) = (0, 0, 0);
    for row in r.records() {
        let row = row.unwrap();
        match &row[status] {
            "fits" => fit += 1,
            "does_not_fit" => not += 1,
            _ => {}
        }
        front += usize::from(&row[pareto] == "true");
    }
    (fit, not, front)
}

#[test]
fn the_readme_states_the_committed_sweep_results() {
    let (fit, not, front) = sweep_counts(&root().join("examples/sweep/results.csv"));
    let text = readme();
    let claim = format!("{fit} fit, {not} do not");
    assert!(text.contains(&claim), "README should say `{claim}`");
    let claim = format!("{front} on the Pareto front");
    assert!(text.contains(&claim), "README should say `{claim}`");
}

#[test]
fn the_readme_documents_every_target_field() {
    let table = spikeforge_targets::schema::markdown_table();
    assert!(readme().contains(&table), "README's target-format table is out of date; it should be:\n{table}");
}
