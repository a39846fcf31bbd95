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
    (
        "run_bad_model_leaves_no_output",
        &["run", "tests/bad_inputs/nan_weight.nir", "--input", "examples/digits_mlp/input.npy", "--output", "OUT"],
    ),
    ("convert_bad_model", &["convert", "tests/bad_inputs/syntax_error.snn", "-o", "OUT.nir"]),
    ("check_bad_dt", &["check", "examples/tiny_mlp.snn", "--dt", "-1"]),
    ("check_bad_max_memory", &["check", "examples/tiny_mlp.snn", "--max-memory", "lots"]),
    ("check_small_max_memory", &["check", "examples/digits_mlp/model.nir", "--max-memory", "1K"]),
    ("snn_over_small_max_memory", &["check", "examples/tiny_mlp.snn", "--max-memory", "1K"]),
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
    // Targets: syntax, validation, and sizes checked against --max-memory before allocation.
    ("target_huge_mesh", &["target", "show", "tests/bad_inputs/target_huge_mesh.ron"]),
    ("target_absurd_max_neurons", &["target", "show", "tests/bad_inputs/target_absurd_max_neurons.ron"]),
    ("target_negative_count", &["target", "show", "tests/bad_inputs/target_negative_count.ron"]),
    ("target_syntax_error", &["target", "show", "tests/bad_inputs/target_syntax_error.ron"]),
    ("target_invalid_fields", &["target", "show", "tests/bad_inputs/target_invalid_fields.ron"]),
    ("target_unknown_field", &["target", "show", "tests/bad_inputs/target_unknown_field.ron"]),
    ("target_empty", &["target", "show", "tests/bad_inputs/target_empty.ron"]),
    ("target_unknown_preset", &["target", "show", "loihi3"]),
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
    let err = String::from_utf8_lossy(&o.stderr).replace(&dir.display().to_string(), "$TMP");
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
        });
        m.cores.push(CoreProgram {
            core,
            groups: vec![(pop, 0, 1 << 30)],
            params: NeuronParams::default(),
            axons: AxonTable { syn_start: vec![0], ..Default::default() },
            usage: CoreUsage::default(),
        });
    }),
    ("map_group_counts_overflow", |m| {
        let g = m.cores[0].groups[0];
        m.cores[0].groups.push((g.0, g.1, u32::MAX));
    }),
    ("map_synapse_target_out_of_range", |m| {
        let c = m.cores.iter_mut().find(|c| !c.axons.syn_target.is_empty()).expect("a core with synapses");
        c.axons.syn_target[0] = 1_000;
    }),
    ("map_nan_weight", |m| {
        let c = m.cores.iter_mut().find(|c| !c.axons.syn_weight.is_empty()).expect("a core with synapses");
        c.axons.syn_weight[0] = f64::NAN;
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
        let c = m.cores.iter_mut().find(|c| !c.axons.projection.is_empty()).expect("a core with axons");
        let n = c.axons.syn_start.len();
        for s in &mut c.axons.syn_start[1..n] {
            *s += 1;
        }
        c.axons.syn_target.insert(0, 0);
        c.axons.syn_weight.insert(0, 1.0);
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
        ("map_future_version".into(), {
            let mut b = bytes.clone();
            b[9] = (spikeforge_targets::CORE_MAP_VERSION + 1) as u8;
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
    let small = ["simulate", &g, "--input", "examples/tiny_input.npy", "--output", "OUT", "--max-memory", "1K"];
    check_case("map_over_small_max_memory", &small, dir.path(), &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
