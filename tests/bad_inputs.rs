//! The bad-input corpus: every malformed file gets a clear error (snapshotted), exit code
//! 2, no panic, and no output file. Files live in `tests/bad_inputs/`; corrupt core maps
//! are derived at test time from a freshly compiled one (so they follow the format's
//! version), each by one named edit.

use std::path::{Path, PathBuf};
use std::process::Command;

use spikeforge_targets::coremap::{AxonTable, CoreProgram, CoreUsage, NeuronModel, NeuronParams, Piece, Population};
use spikeforge_targets::{CoreMap, IndexBits, RowFormat};

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
    // HDF5 hard links: every node of the root graph is the root graph again (a cycle), and
    // a 131 KB chain of 40 graphs each holding four links to the next (4^40 as a tree).
    ("nir_cyclic_groups", &["check", "tests/bad_inputs/cyclic_groups.nir"]),
    ("nir_shared_groups", &["check", "tests/bad_inputs/shared_groups.nir"]),
    // Soft and external HDF5 links, which the HDF5 reader skips (links.py): compact groups
    // in version-1 and version-2 object headers, dense groups, an old-style group.
    ("nir_link_external", &["check", "tests/bad_inputs/link_external.nir"]),
    ("nir_link_soft_latest", &["check", "tests/bad_inputs/link_soft_latest.nir"]),
    ("nir_link_external_dense", &["check", "tests/bad_inputs/link_external_dense.nir"]),
    ("nir_link_external_dense_latest", &["check", "tests/bad_inputs/link_external_dense_latest.nir"]),
    ("nir_link_soft_symbol_table", &["check", "tests/bad_inputs/link_soft_symbol_table.nir"]),
    ("nir_link_soft_userblock", &["check", "tests/bad_inputs/link_soft_userblock.nir"]),
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
        // Found by fuzzing: unclosed brackets in the header made its parser backtrack for minutes.
        "run_input_nested_header",
        &[
            "run",
            "examples/digits_mlp/model.nir",
            "--input",
            "tests/bad_inputs/input_nested_header.npy",
            "--output",
            "OUT",
        ],
    ),
    (
        // Found by fuzzing: a zero dimension beside huge ones overflowed the reader's strides.
        "run_input_zero_dim_overflow",
        &[
            "run",
            "examples/digits_mlp/model.nir",
            "--input",
            "tests/bad_inputs/input_zero_dim_overflow.npy",
            "--output",
            "OUT",
        ],
    ),
    // A device is written in place, never replaced; its write error is reported.
    ("run_output_dev_full", &["run", "examples/tiny_mlp.snn", "--input", "examples/tiny_input.npy", "-o", "/dev/full"]),
    (
        "run_bad_model_leaves_no_output",
        &["run", "tests/bad_inputs/nan_weight.nir", "--input", "examples/digits_mlp/input.npy", "--output", "OUT"],
    ),
    ("convert_bad_model", &["convert", "tests/bad_inputs/syntax_error.snn", "-o", "OUT.nir"]),
    ("check_bad_dt", &["check", "examples/tiny_mlp.snn", "--dt", "-1"]),
    ("check_bad_max_memory", &["check", "examples/tiny_mlp.snn", "--max-memory", "lots"]),
    ("check_small_max_memory", &["check", "examples/digits_mlp/model.nir", "--max-memory", "1K"]),
    ("snn_over_small_max_memory", &["check", "examples/tiny_mlp.snn", "--max-memory", "1K"]),
    ("snn_over_one_byte_max_memory", &["check", "examples/tiny_mlp.snn", "--max-memory", "1"]),
    (
        "delay_buffer_over_max_memory",
        &[
            "run",
            "tests/bad_inputs/long_delay_buffer.snn",
            "--input",
            "tests/bad_inputs/input_200.npy",
            "--output",
            "OUT",
            "--max-memory",
            "16K",
        ],
    ),
    (
        "run_input_over_small_max_memory",
        &[
            "run",
            "examples/tiny_mlp.snn",
            "--input",
            "examples/digits_mlp/input.npy",
            "--output",
            "OUT",
            "--max-memory",
            "4K",
        ],
    ),
    // Non-finite inputs are refused by every command, naming the file and position.
    ("run_input_nan", &["run", "examples/tiny_mlp.snn", "--input", "tests/bad_inputs/input_nan.npy", "-o", "OUT"]),
    (
        "eval_input_inf",
        &[
            "eval",
            "examples/tiny_mlp.snn",
            "--input",
            "tests/bad_inputs/input_inf.npy",
            "--labels",
            "examples/digits_mlp/labels.npy",
            "--target",
            "test_2x2",
            "--json",
            "OUT.json",
        ],
    ),
    (
        "trace_record_input_nan",
        &["trace", "record", "examples/tiny_mlp.snn", "--input", "tests/bad_inputs/input_nan.npy", "-o", "OUT.dir"],
    ),
    (
        "compile_calib_nan",
        &[
            "compile",
            "examples/tiny_mlp.snn",
            "--target",
            "test_2x2",
            "--calib",
            "tests/bad_inputs/input_nan.npy",
            "-o",
            "OUT.map",
        ],
    ),
    (
        "prune_calib_inf",
        &[
            "prune",
            "examples/tiny_mlp.snn",
            "--passes",
            "prune(method=sbc, sparsity=0.5)",
            "--calib",
            "tests/bad_inputs/input_inf.npy",
            "-o",
            "OUT.snn",
        ],
    ),
    // A bundle's paths stay inside its folder.
    ("regress_bundle_outside", &["regress", "tests/bad_inputs/bundle_outside"]),
    ("regress_bundle_unknown_stat", &["regress", "tests/bad_inputs/bundle_unknown_stat"]),
    // Sample ranges past the end of the input are refused, not clamped.
    (
        "run_samples_past_the_end",
        &[
            "trace",
            "record",
            "examples/tiny_mlp.snn",
            "--input",
            "examples/tiny_input.npy",
            "--samples",
            "0..1000000000000",
            "-o",
            "OUT.dir",
        ],
    ),
    ("passes_duplicate_argument", &["check", "examples/tiny_mlp.snn", "--passes", "quantize(bits=4, bits=8)"]),
    // Targets: syntax, validation, and sizes checked against --max-memory before allocation.
    ("target_huge_mesh", &["target", "show", "tests/bad_inputs/target_huge_mesh.ron"]),
    ("target_absurd_max_neurons", &["target", "show", "tests/bad_inputs/target_absurd_max_neurons.ron"]),
    ("target_negative_count", &["target", "show", "tests/bad_inputs/target_negative_count.ron"]),
    ("target_syntax_error", &["target", "show", "tests/bad_inputs/target_syntax_error.ron"]),
    ("target_invalid_fields", &["target", "show", "tests/bad_inputs/target_invalid_fields.ron"]),
    ("target_unknown_field", &["target", "show", "tests/bad_inputs/target_unknown_field.ron"]),
    ("target_empty", &["target", "show", "tests/bad_inputs/target_empty.ron"]),
    ("target_unknown_preset", &["target", "show", "loihi3"]),
    ("target_overflowing_sizes", &["target", "show", "tests/bad_inputs/target_overflowing_sizes.ron"]),
    // Found by fuzzing: a multi-byte character before a `:` made the field lookup panic.
    ("target_multibyte_before_colon", &["target", "show", "tests/bad_inputs/target_multibyte_before_colon.ron"]),
    (
        "compile_huge_target_leaves_no_output",
        &["compile", "examples/tiny_mlp.snn", "--target", "tests/bad_inputs/target_huge_mesh.ron", "-o", "OUT.map"],
    ),
    (
        "compile_target_over_small_max_memory",
        &["compile", "examples/tiny_mlp.snn", "--target", "truenorth", "-o", "OUT.map", "--max-memory", "1M"],
    ),
    (
        "compile_huge_unrolled_conv",
        &["compile", "tests/bad_inputs/huge_unrolled_conv.snn", "--target", "loihi", "-o", "OUT.map"],
    ),
    // --passes strings.
    ("passes_missing_comma", &["check", "examples/tiny_mlp.snn", "--passes", "quantize(bits=4 scheme=uniform)"]),
    ("passes_unknown_pass", &["check", "examples/tiny_mlp.snn", "--passes", "quantise(bits=4)"]),
    ("passes_unknown_pipeline", &["check", "examples/tiny_mlp.snn", "--passes", "@int3"]),
    ("passes_named_pipeline_unknown_argument", &["check", "examples/tiny_mlp.snn", "--passes", "@slamp(sparsity=0.5, round=2)"]),
    ("passes_finetune_bits_without_qat", &["check", "examples/tiny_mlp.snn", "--passes", "finetune(epochs=1, bits=4)"]),
    ("passes_bad_value", &["check", "examples/tiny_mlp.snn", "--passes", "prune(method=magnitude, sparsity=1.5)"]),
    ("passes_unknown_method", &["check", "examples/tiny_mlp.snn", "--passes", "prune(method=random, sparsity=0.5)"]),
    ("passes_unterminated_string", &["check", "examples/tiny_mlp.snn", "--passes", "mask(path=\"m.safetensors)"]),
    ("passes_non_ascii_at_error", &["check", "examples/tiny_mlp.snn", "--passes", "quantize(bits=4é)"]),
    // Found by fuzzing: the parser recursed once per `[` and overflowed the stack.
    (
        "passes_deeply_nested_lists",
        &["check", "examples/tiny_mlp.snn", "--passes", "prune(method=lamp, sparsity=0.5, layers=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"0\"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])"],
    ),
    ("passes_trailing_garbage", &["check", "examples/tiny_mlp.snn", "--passes", "cleanup; 9x"]),
    (
        "passes_need_calibration",
        &[
            "compile",
            "examples/tiny_mlp.snn",
            "--target",
            "test_2x2",
            "-o",
            "OUT.map",
            "--passes",
            "prune(method=sbc, sparsity=0.5)",
        ],
    ),
];

/// Runs one case; records failures (exit code, panic, output left behind) and snapshots
/// stderr under `name`.
fn check_case(name: &str, args: &[&str], dir: &Path, failures: &mut Vec<String>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `OUT` is an output path; `OUT.ext` one with that extension.
    let ext = args.iter().find_map(|a| a.strip_prefix("OUT")).map(|e| if e.is_empty() { ".npy" } else { e });
    let out = dir.join(format!("{name}.out{}", ext.unwrap_or(".npy")));
    let args: Vec<String> =
        args.iter().map(|a| if a.starts_with("OUT") { out.display().to_string() } else { a.to_string() }).collect();
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(&args).current_dir(&root).output().unwrap();
    let err = redact_fingerprints(&String::from_utf8_lossy(&o.stderr).replace(&dir.display().to_string(), "$TMP"));
    if o.status.code() != Some(2) {
        failures.push(format!("{name}: exit code {:?}, stderr:\n{err}", o.status.code()));
    }
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        failures.push(format!("{name}: panicked:\n{err}"));
    }
    if out.exists() {
        failures.push(format!("{name}: left an output file behind"));
    }
    insta::assert_snapshot!(name, err);
}

/// Replaces 16-hex-digit core-map fingerprints (they change with any compiler change) by
/// `<fingerprint>`.
fn redact_fingerprints(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let is_fp = word.len() == 16 && word.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        out.push_str(if is_fp { "<fingerprint>" } else { word.as_str() });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[test]
fn bad_inputs_fail_cleanly_with_exit_code_two() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, args) in CASES {
        check_case(name, args, dir.path(), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One named corruption of a valid core map.
type Edit = fn(&mut CoreMap);

const MAP_EDITS: &[(&str, Edit)] = &[
    ("map_version_field", |m| m.version = 99),
    ("map_core_claims_billions_of_neurons", |m| {
        m.cores[0].groups[0].2 = 2_000_000_000;
    }),
    ("map_identity_population_of_a_billion", |m| {
        // Valid in every other respect: an identity (readout) population of 2^30 neurons
        // needs no per-neuron data in the file, yet the simulator would keep state for each.
        let pop = m.populations.len() as u32;
        let core = spikeforge_targets::CoreId(m.cores.last().expect("cores").core.0 + 1);
        m.populations.push(Population {
            name: "huge".into(),
            model: NeuronModel::Identity,
            shape: vec![1 << 30],
            n_neurons: 1 << 30,
            pieces: vec![Piece { core, first: 0, count: 1 << 30, local_offset: 0 }],
            rule: Default::default(),
        });
        m.cores.push(CoreProgram {
            core,
            groups: vec![(pop, 0, 1 << 30)],
            params: NeuronParams::default(),
            axons: AxonTable::default(),
            usage: CoreUsage::default(),
        });
    }),
    ("map_group_counts_overflow", |m| {
        let g = m.cores[0].groups[0];
        m.cores[0].groups.push((g.0, g.1, u32::MAX));
    }),
    ("map_synapse_target_out_of_range", |m| {
        let c = m.cores.iter_mut().find(|c| !c.axons.syn_target.is_empty()).expect("a core with synapses");
        c.axons.syn_target.as_u32_mut()[0] = 1_000;
    }),
    ("map_nan_weight", |m| {
        let c = m.cores.iter_mut().find(|c| !c.axons.syn_weight.is_empty()).expect("a core with synapses");
        c.axons.syn_weight.as_f64_mut()[0] = f64::NAN;
    }),
    ("map_pieces_do_not_tile", |m| {
        let p = m.populations.iter_mut().find(|p| !p.pieces.is_empty()).expect("a placed population");
        p.pieces[0].first = 3;
    }),
    ("map_fanout_to_unused_core", |m| {
        let p = m.projections.iter_mut().find(|p| !p.fanout.is_empty()).expect("a projection with fan-out");
        p.fanout[0].core = spikeforge_targets::CoreId(3_000);
    }),
    ("map_output_out_of_range", |m| m.output = 77),
    ("map_negative_time_step", |m| m.dynamics.dt_s = -1e-4),
    ("map_embedded_target_invalid", |m| m.target.noc.buffer_depth_packets = 0),
    ("map_embedded_target_absurd_core", |m| {
        // Valid for the target crate (32-bit indices address it), refused by --max-memory.
        m.target.core_types[0].max_neurons = 4_000_000_000;
        m.target.core_types[0].encoding.format = RowFormat::Sparse { index_bits: IndexBits::Fit { min: 1, max: 32 } };
    }),
];

fn conv_of(m: &mut CoreMap) -> &mut spikeforge_targets::conv_synapses::ConvSynapses {
    m.projections.iter_mut().find_map(|p| p.conv.as_mut()).expect("a symbolic convolution")
}

const CONV_MAP_EDITS: &[(&str, Edit)] = &[
    ("map_conv_kernel_too_short", |m| {
        conv_of(m).weight.pop();
    }),
    ("map_conv_nan_weight", |m| conv_of(m).weight[0] = f64::NAN),
    ("map_conv_zero_stride", |m| conv_of(m).stride = [0, 1]),
    ("map_conv_output_size_wrong", |m| conv_of(m).output = [7, 6]),
    ("map_conv_channels_not_events", |m| conv_of(m).c_in = 3),
    ("map_conv_groups_zero", |m| conv_of(m).groups = 0),
    ("map_conv_huge_padding", |m| conv_of(m).padding = [u32::MAX, u32::MAX]),
    ("map_conv_axon_with_explicit_synapses", |m| {
        // A convolution's axon run marked explicit, with one synapse, numbering kept consistent.
        let c = m.cores.iter_mut().find(|c| c.axons.runs.iter().any(|r| r.symbolic)).expect("convolution axons");
        let a = &mut c.axons;
        let r = a.runs.iter().position(|r| r.symbolic).expect("a symbolic run");
        let (count, row) = (a.runs[r].count, a.runs[r].first_explicit as usize);
        a.runs[r].symbolic = false;
        for later in &mut a.runs[r + 1..] {
            later.first_explicit += count;
        }
        let at = a.syn_start[row];
        for s in &mut a.syn_start[row + 1..] {
            *s += 1;
        }
        a.syn_start.splice(row + 1..row + 1, vec![at + 1; count as usize]);
        a.syn_target.as_u32_mut().insert(at as usize, 0);
        a.syn_weight.as_f64_mut().insert(at as usize, 1.0);
    }),
];

#[test]
fn corrupt_core_maps_fail_cleanly_with_exit_code_two() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.map");
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .args(["compile", "examples/tiny_mlp.snn", "--target", "test_2x2", "-o"])
        .arg(&good)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&good).unwrap();
    let map = CoreMap::from_bytes(&bytes, "good.map").expect("the compiled map reads back");
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("map_not_a_core_map".into(), b"SFCOREMAQ\x01\x00\x00\x00".to_vec()),
        ("map_empty".into(), Vec::new()),
        ("map_truncated".into(), bytes[..bytes.len() / 2].to_vec()),
        ("map_version_2".into(), {
            // A file of the previous format (axons one record each) is refused by its number.
            let mut b = bytes.clone();
            b[9] = 2;
            b
        }),
        ("map_future_version".into(), {
            let mut b = bytes.clone();
            b[9] = (spikeforge_targets::coremap::CORE_MAP_VERSION + 1) as u8;
            b
        }),
        ("map_huge_length_prefix".into(), {
            // A sequence length prefix claiming billions of entries.
            let mut b = bytes[..13].to_vec();
            b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
            b
        }),
    ];
    for (name, edit) in MAP_EDITS {
        let mut m = map.clone();
        edit(&mut m);
        files.push((name.to_string(), m.to_bytes()));
    }
    let mut failures = Vec::new();
    for (name, data) in &files {
        let path = dir.path().join(format!("{name}.map"));
        std::fs::write(&path, data).unwrap();
        let p = path.display().to_string();
        let args = ["simulate", &p, "--input", "examples/tiny_input.npy", "--output", "OUT"];
        check_case(name, &args, dir.path(), &mut failures);
    }
    // Corruptions of a symbolic convolution's kernel and geometry.
    let conv_good = dir.path().join("conv.map");
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .args(["compile", "examples/tiny_conv.snn", "--target", "test_4x4", "-o"])
        .arg(&conv_good)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conv_map = CoreMap::from_bytes(&std::fs::read(&conv_good).unwrap(), "conv.map").expect("reads back");
    for (name, edit) in CONV_MAP_EDITS {
        let mut m = conv_map.clone();
        edit(&mut m);
        let path = dir.path().join(format!("{name}.map"));
        std::fs::write(&path, m.to_bytes()).unwrap();
        let p = path.display().to_string();
        let args = ["simulate", &p, "--input", "examples/tiny_input.npy", "--output", "OUT"];
        check_case(name, &args, dir.path(), &mut failures);
    }
    // A valid map with inputs or limits that do not fit it.
    let g = good.display().to_string();
    let wrong_input = ["simulate", &g, "--input", "examples/digits_mlp/input.npy", "--output", "OUT"];
    check_case("map_input_wrong_shape", &wrong_input, dir.path(), &mut failures);
    let nan = ["simulate", &g, "--input", "tests/bad_inputs/input_nan.npy", "--output", "OUT"];
    check_case("simulate_input_nan", &nan, dir.path(), &mut failures);
    let small = ["simulate", &g, "--input", "examples/tiny_input.npy", "--output", "OUT", "--max-memory", "1K"];
    check_case("map_over_small_max_memory", &small, dir.path(), &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Compiles `examples/tiny_mlp.snn` for `test_2x2` into `dir/name` with extra arguments.
fn compile_tiny(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .args(["compile", "examples/tiny_mlp.snn", "--target", "test_2x2", "-o"])
        .arg(&path)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    path
}

/// Simulates `map` on the tiny input: Ok(output bytes) on exit 0, Err(exit code, stderr).
fn simulate_tiny(map: &Path, out: &Path) -> Result<Vec<u8>, (Option<i32>, String)> {
    let _ = std::fs::remove_file(out);
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .arg("simulate")
        .arg(map)
        .args(["--input", "examples/tiny_input.npy", "--output"])
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    match o.status.code() {
        Some(0) => Ok(std::fs::read(out).unwrap()),
        code => Err((code, String::from_utf8_lossy(&o.stderr).into_owned())),
    }
}

/// A damaged map is never silently run: 100 seeded single-byte corruptions anywhere in a
/// compiled map are each refused (exit 2, no panic) or give the uncorrupted map's output.
#[test]
fn single_byte_corruptions_are_refused_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let good = compile_tiny(dir.path(), "good.map", &[]);
    let out = dir.path().join("y.npy");
    let expected = simulate_tiny(&good, &out).expect("the compiled map simulates");
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.path().join("bad.map");
    // SplitMix64, seeded: the same positions on every run.
    let mut state = 0x5eed_u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (mut refused, mut harmless, mut wrong) = (0, 0, Vec::new());
    for _ in 0..100 {
        let at = (next() % bytes.len() as u64) as usize;
        let flip = (next() % 255 + 1) as u8;
        let mut b = bytes.clone();
        b[at] ^= flip;
        std::fs::write(&bad, &b).unwrap();
        match simulate_tiny(&bad, &out) {
            Ok(y) if y == expected => harmless += 1,
            Ok(_) => wrong.push(format!("byte {at} ^ {flip:#04x}: exit 0 with different spikes")),
            Err((Some(2), err)) if !err.contains("panicked") => refused += 1,
            Err((code, err)) => wrong.push(format!("byte {at} ^ {flip:#04x}: exit {code:?}: {err}")),
        }
    }
    assert!(wrong.is_empty(), "{} refused, {} harmless, wrong:\n{}", refused, harmless, wrong.join("\n"));
}

/// Trailing bytes, a map concatenated with itself, and a truncated trailer are refused.
#[test]
fn map_framing_is_consumed_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let good = compile_tiny(dir.path(), "good.map", &[]);
    let bytes = std::fs::read(&good).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("map_trailing_junk", [bytes.as_slice(), b"junk"].concat()),
        ("map_concatenated", [bytes.as_slice(), bytes.as_slice()].concat()),
        ("map_trailer_cut", bytes[..bytes.len() - 3].to_vec()),
    ];
    let mut failures = Vec::new();
    for (name, data) in &cases {
        let path = dir.path().join(format!("{name}.map"));
        std::fs::write(&path, data).unwrap();
        let p = path.display().to_string();
        let args = ["simulate", &p, "--input", "examples/tiny_input.npy", "--output", "OUT"];
        check_case(name, &args, dir.path(), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Statistics of another build of the map (same cores and usage, other coefficients) are
/// refused by `report`: the stats carry the map's fingerprint.
#[test]
fn report_refuses_stats_of_another_build() {
    let dir = tempfile::tempdir().unwrap();
    let map = compile_tiny(dir.path(), "a.map", &[]);
    let other = compile_tiny(dir.path(), "b.map", &["--dt", "0.002"]);
    assert_ne!(std::fs::read(&map).unwrap(), std::fs::read(&other).unwrap());
    let stats = dir.path().join("b.json");
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .arg("simulate")
        .arg(&other)
        .args(["--input", "examples/tiny_input.npy", "--output"])
        .arg(dir.path().join("y.npy"))
        .arg("--stats")
        .arg(&stats)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (m, s) = (map.display().to_string(), stats.display().to_string());
    let mut failures = Vec::new();
    check_case(
        "report_stats_of_another_build",
        &["report", &m, "--stats", &s, "-o", "OUT.html"],
        dir.path(),
        &mut failures,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `args` (`$D` is replaced by a temporary folder holding copies of the tiny model and
/// input) and requires exit 2, the copies unchanged and no new file; snapshots stderr.
fn check_paths_case(name: &str, args: &[&str], failures: &mut Vec<String>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let model = std::fs::read(root.join("examples/tiny_mlp.snn")).unwrap();
    let input = std::fs::read(root.join("examples/tiny_input.npy")).unwrap();
    std::fs::write(dir.path().join("m.snn"), &model).unwrap();
    std::fs::write(dir.path().join("x.npy"), &input).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("x.npy"), dir.path().join("link.npy")).unwrap();
        std::fs::hard_link(dir.path().join("m.snn"), dir.path().join("hard.snn")).unwrap();
    }
    let args: Vec<String> = args.iter().map(|a| a.replace("$D", &d)).collect();
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge")).args(&args).current_dir(&root).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).replace(&d, "$TMP");
    if o.status.code() != Some(2) {
        failures.push(format!("{name}: exit code {:?}, stderr:\n{err}", o.status.code()));
    }
    if std::fs::read(dir.path().join("m.snn")).unwrap() != model
        || std::fs::read(dir.path().join("x.npy")).unwrap() != input
    {
        failures.push(format!("{name}: an input was overwritten"));
    }
    let n_files = std::fs::read_dir(dir.path()).unwrap().count();
    if n_files != 4 {
        failures.push(format!("{name}: {n_files} files in the folder, expected the 4 inputs"));
    }
    insta::assert_snapshot!(name, err);
}

/// An output path that is an input, or that two outputs share, is refused before any work.
#[test]
#[cfg(unix)]
fn outputs_never_overwrite_inputs_or_each_other() {
    let cases: &[(&str, &[&str])] = &[
        ("output_is_the_model", &["compile", "$D/m.snn", "--target", "test_2x2", "-o", "$D/m.snn"]),
        ("output_is_the_model_by_hard_link", &["convert", "$D/m.snn", "-o", "$D/hard.snn"]),
        ("output_is_the_input", &["run", "$D/m.snn", "--input", "$D/x.npy", "-o", "$D/x.npy"]),
        ("output_is_the_input_by_symlink", &["run", "$D/m.snn", "--input", "$D/x.npy", "-o", "$D/./link.npy"]),
        (
            "two_outputs_one_path",
            &["compile", "$D/m.snn", "--target", "test_2x2", "-o", "$D/m.map", "--report", "$D/m.map"],
        ),
        (
            "two_outputs_one_path_run",
            &["run", "$D/m.snn", "--input", "$D/x.npy", "-o", "$D/s.npy", "--stats", "$D/s.npy"],
        ),
    ];
    let mut failures = Vec::new();
    for (name, args) in cases {
        check_paths_case(name, args, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A time constant below dt/2 makes forward Euler unstable: the run goes on with a warning
/// naming the node, the parameter and the step that would fix it.
#[test]
fn unstable_euler_step_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .args(["run", "tests/bad_inputs/tiny_tau.snn", "--input", "examples/tiny_input.npy", "-o"])
        .arg(dir.path().join("y.npy"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("node `lif1`: tau = 1e-5 s gives dt/tau = 10.000 > 2"), "{err}");
    assert!(!err.contains("node `lif2`"), "{err}");
}
