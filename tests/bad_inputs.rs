//! The bad-input corpus: every malformed file gets a clear error (snapshotted), exit code
//! 2, no panic, and no output file.

use std::path::PathBuf;
use std::process::Command;

/// (case name, command and arguments; `OUT` is replaced by a fresh output path).
const CASES: &[(&str, &[&str])] = &[
    ("nir_truncated", &["check", "tests/bad_inputs/truncated.nir"]),
    ("nir_empty", &["check", "tests/bad_inputs/empty.nir"]),
    ("nir_not_hdf5", &["check", "tests/bad_inputs/not_hdf5.nir"]),
    ("nir_unknown_node_type", &["check", "tests/bad_inputs/unknown_node_type.nir"]),
    ("nir_wrong_shape", &["check", "tests/bad_inputs/wrong_shape.nir"]),
    ("nir_nan_weight", &["check", "tests/bad_inputs/nan_weight.nir"]),
    ("nir_absurd_dimensions", &["check", "tests/bad_inputs/absurd_dimensions.nir"]),
    ("nir_missing_parameter", &["check", "tests/bad_inputs/missing_parameter.nir"]),
    ("nir_edge_to_unknown_node", &["check", "tests/bad_inputs/edge_to_unknown_node.nir"]),
    ("snn_syntax_error", &["check", "tests/bad_inputs/syntax_error.snn"]),
    ("snn_two_errors", &["check", "tests/bad_inputs/two_errors.snn"]),
    ("snn_missing_sidecar", &["check", "tests/bad_inputs/missing_sidecar.snn"]),
    ("snn_shape_mismatch", &["check", "tests/bad_inputs/shape_mismatch.snn"]),
    ("snn_absurd_dimensions", &["check", "tests/bad_inputs/absurd_dimensions.snn"]),
    ("snn_nan_weight", &["check", "tests/bad_inputs/nan_weight.snn"]),
    ("snn_negative_tau", &["check", "tests/bad_inputs/negative_tau.snn"]),
    ("snn_unknown_attribute", &["check", "tests/bad_inputs/unknown_attribute.snn"]),
    ("snn_duplicate_name", &["check", "tests/bad_inputs/duplicate_name.snn"]),
    ("model_unknown_extension", &["check", "tests/bad_inputs/generate.py"]),
    ("model_missing_file", &["check", "tests/bad_inputs/no_such_model.nir"]),
    (
        "run_input_wrong_shape",
        &[
            "run",
            "examples/digits_mlp/model.nir",
            "--input",
            "tests/bad_inputs/input_wrong_shape.npy",
            "--output",
            "OUT",
        ],
    ),
    (
        "run_input_truncated",
        &["run", "examples/digits_mlp/model.nir", "--input", "tests/bad_inputs/input_truncated.npy", "--output", "OUT"],
    ),
    (
        "run_input_strings",
        &["run", "examples/digits_mlp/model.nir", "--input", "tests/bad_inputs/input_strings.npy", "--output", "OUT"],
    ),
    (
        "run_bad_model_leaves_no_output",
        &["run", "tests/bad_inputs/nan_weight.nir", "--input", "examples/digits_mlp/input.npy", "--output", "OUT"],
    ),
    ("convert_bad_model", &["convert", "tests/bad_inputs/syntax_error.snn", "-o", "OUT.nir"]),
    ("check_bad_dt", &["check", "examples/tiny_mlp.snn", "--dt", "-1"]),
    ("check_bad_max_memory", &["check", "examples/tiny_mlp.snn", "--max-memory", "lots"]),
    ("check_small_max_memory", &["check", "examples/digits_mlp/model.nir", "--max-memory", "1K"]),
];

#[test]
fn bad_inputs_fail_cleanly_with_exit_code_two() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, args) in CASES {
        // `OUT` is an output path; `OUT.ext` one with that extension.
        let ext = args.iter().find_map(|a| a.strip_prefix("OUT")).map(|e| if e.is_empty() { ".npy" } else { e });
        let out = dir.path().join(format!("{name}.out{}", ext.unwrap_or(".npy")));
        let args: Vec<String> =
            args.iter().map(|a| if a.starts_with("OUT") { out.display().to_string() } else { a.to_string() }).collect();
        let o = Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(&args).current_dir(&root).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).replace(&dir.path().display().to_string(), "$TMP");
        if o.status.code() != Some(2) {
            failures.push(format!("{name}: exit code {:?}, stderr:\n{err}", o.status.code()));
        }
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            failures.push(format!("{name}: panicked:\n{err}"));
        }
        if out.exists() {
            failures.push(format!("{name}: left an output file behind"));
        }
        insta::assert_snapshot!(*name, err);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
