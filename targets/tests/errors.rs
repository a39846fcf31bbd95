//! Bad targets give the right error: syntax errors with line:column, semantic problems by
//! field path, all of them at once.

use spikeforge_targets::{load_target, parse_target, preset_text, Target, TargetError};

/// The test_2x2 preset with `from` replaced by `to` (which must occur exactly once).
fn edit(from: &str, to: &str) -> String {
    let base = preset_text("test_2x2").unwrap();
    assert_eq!(base.matches(from).count(), 1, "`{from}` must occur once in test_2x2.ron");
    base.replacen(from, to, 1)
}

fn parse(text: &str) -> Result<Target, TargetError> {
    parse_target(text, "bad.ron")
}

/// 1-based (line, column) of the first occurrence of `needle`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap();
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn syntax(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(TargetError::Syntax { file, line, column, message }) => {
            assert_eq!(file, "bad.ron");
            (line, column, message)
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

fn invalid(text: &str) -> Vec<String> {
    match parse(text) {
        Err(e @ TargetError::Invalid { .. }) => e.problems().iter().map(|p| p.to_string()).collect(),
        other => panic!("expected semantic problems, got {other:?}"),
    }
}

#[test]
fn syntax_error_reports_line_and_column() {
    let text = edit("cores_per_tile: 1,", "cores_per_tile: 1");
    let (line, column, message) = syntax(&text);
    // RON stops where the comma was expected: at the next field.
    assert_eq!((line, column), position_of(&text, "routing: Xy"));
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.starts_with(&format!("bad.ron:{line}:{column}: ")), "{err}");
    assert!(!message.is_empty());
}

#[test]
fn unterminated_file_is_a_syntax_error() {
    let text = preset_text("test_2x2").unwrap();
    let cut = &text[..text.find("timing:").unwrap()];
    let (line, _, message) = syntax(cut);
    assert!(line > 1);
    assert!(message.to_lowercase().contains("end") || message.contains("Expected"), "{message}");
}

#[test]
fn unknown_field_is_named() {
    let text = edit("in_axons: 16,", "in_axons: 16,\n            max_nurons: 5,");
    let (line, column, message) = syntax(&text);
    assert_eq!(line, position_of(&text, "max_nurons").0);
    assert!(column >= position_of(&text, "max_nurons").1);
    assert!(message.contains("max_nurons"), "{message}");
}

#[test]
fn missing_field_is_named() {
    let text = edit("            out_axons: 16,\n", "");
    let problems = invalid(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("core_types[0].out_axons: required field missing"), "{problems:?}");
}

#[test]
fn every_missing_field_is_named_at_once() {
    let text = edit("            out_axons: 16,\n", "").replace("        link_cycles_ew: 1,\n", "");
    let text = text.replace(&text[text.find("    timing: (").unwrap()..text.find("    energy: (").unwrap()], "");
    let problems = invalid(&text);
    let fields: Vec<&str> = problems.iter().map(|p| p.split(':').next().unwrap()).collect();
    assert_eq!(fields, ["noc.link_cycles_ew", "core_types[0].out_axons", "timing"], "{problems:?}");
}

#[test]
fn negative_size_names_the_field() {
    let text = edit("max_neurons: 16,", "max_neurons: -16,");
    let (line, _, message) = syntax(&text);
    assert_eq!(line, position_of(&text, "max_neurons: -16").0);
    assert_eq!(message, "sizes and counts cannot be negative (in field `max_neurons`)");
    // Too large for the field is a different message.
    let (_, _, message) = syntax(&edit("max_neurons: 16,", "max_neurons: 99999999999,"));
    assert_eq!(message, "Integer is out of bounds (in field `max_neurons`)");
}

#[test]
fn zero_size_is_a_named_problem() {
    let problems = invalid(&edit("max_neurons: 16,", "max_neurons: 0,"));
    assert!(problems.contains(&"core_types[\"tiny\"].max_neurons = 0: must be > 0".to_string()), "{problems:?}");
    let err = parse(&edit("synapse_memory_bits: 2048,", "synapse_memory_bits: 0,")).unwrap_err();
    assert_eq!(err.to_string(), "bad.ron: core_types[\"tiny\"].synapse_memory_bits = 0: must be > 0");
}

#[test]
fn zero_mesh_dimension() {
    let problems = invalid(&edit("mesh: [2, 2],", "mesh: [0, 4],"));
    assert_eq!(problems[0], "noc.mesh = [0, 4]: every dimension must be > 0");
    assert!(problems.iter().any(|p| p.contains("zero cores")), "{problems:?}");
}

#[test]
fn mesh_needs_two_numbers() {
    let text = edit("mesh: [2, 2],", "mesh: [2, 2, 2],");
    let (line, _, message) = syntax(&text);
    assert_eq!(line, position_of(&text, "mesh: [2, 2, 2]").0);
    assert!(message.contains("expected two numbers [x, y]"), "{message}");
}

#[test]
fn zero_cores() {
    let problems = invalid(&edit("layout: Uniform(\"tiny\"),", "layout: PerTile([None, None, None, None]),"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("layout: the target has zero cores"), "{problems:?}");
    let problems = invalid(&edit("cores_per_tile: 1,", "cores_per_tile: 0,"));
    assert!(problems.contains(&"noc.cores_per_tile = 0: must be > 0".to_string()), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("zero cores")), "{problems:?}");
    let problems = invalid(&edit("chips: [1, 1],", "chips: [1, 0],"));
    assert!(problems.contains(&"grid.chips = [1, 0]: every dimension must be > 0".to_string()));
}

#[test]
fn weight_bits_above_32() {
    let text = edit("weight_bits: 4,\n        weight_signed", "weight_bits: 40,\n        weight_signed");
    let problems = invalid(&text);
    assert!(problems.contains(&"numerics.weight_bits = 40: must be in 1..=32".to_string()), "{problems:?}");
    let text = edit("weight_bits: 4,\n                extra", "weight_bits: 33,\n                extra");
    let problems = invalid(&text);
    assert!(problems.contains(&"core_types[\"tiny\"].encoding.weight_bits = 33: must be in 1..=32".to_string()));
    // A stored weight wider than the numeric weight is also refused.
    let text = edit("weight_bits: 4,\n                extra", "weight_bits: 8,\n                extra");
    let problems = invalid(&text);
    assert_eq!(problems, ["core_types[\"tiny\"].encoding.weight_bits = 8: exceeds numerics.weight_bits = 4"]);
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = edit("max_neurons: 16,", "max_neurons: 0,")
        .replace("mesh: [2, 2],", "mesh: [2, 0],")
        .replace("clock_mhz: 100.0,", "clock_mhz: -1.0,")
        .replace("hop_ns_pj: 0.75,", "hop_ns_pj: -0.75,")
        .replace("state_bits: 16,\n        decay", "state_bits: 70,\n        decay");
    let err = parse(&text).unwrap_err();
    let problems: Vec<String> = err.problems().iter().map(|p| p.field.clone()).collect();
    for field in [
        "noc.mesh",
        "core_types[\"tiny\"].max_neurons",
        "timing.clock_mhz",
        "energy.hop_ns_pj",
        "numerics.state_bits",
        "layout",
    ] {
        assert!(problems.iter().any(|p| p == field), "{field} missing from {problems:?}");
    }
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("bad.ron: {} problems:\n  ", problems.len())), "{shown}");
}

#[test]
fn layout_must_name_core_types_and_cover_the_mesh() {
    let problems = invalid(&edit("layout: Uniform(\"tiny\"),", "layout: Uniform(\"huge\"),"));
    assert_eq!(problems, ["layout = Uniform(\"huge\"): names no core type in core_types"]);
    let problems = invalid(&edit("layout: Uniform(\"tiny\"),", "layout: PerTile([\"tiny\", \"tiny\", \"tiny\"]),"));
    assert_eq!(
        problems,
        ["layout = PerTile([3 entries]): must have one entry per tile: noc.mesh = [2, 2] has 4 tiles"]
    );
    let problems =
        invalid(&edit("layout: Uniform(\"tiny\"),", "layout: PerCore([\"tiny\", \"nope\", None, \"tiny\"]),"));
    assert_eq!(problems, ["layout[1] = \"nope\": names no core type in core_types"]);
    let problems = invalid(&edit("layout: Uniform(\"tiny\"),", "layout: PerCore([\"tiny\"]),"));
    assert!(problems[0].contains("must have one entry per core slot"), "{problems:?}");
}

#[test]
fn encoding_must_address_the_core_and_fit_a_row() {
    let problems = invalid(&edit("Sparse(index_bits: Fixed(4))", "Sparse(index_bits: Fixed(3))"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("core_types[\"tiny\"].encoding.format.index_bits: cannot address all 16 neurons"));
    let problems = invalid(&edit("synapse_memory_bits: 2048,", "synapse_memory_bits: 16,"));
    assert_eq!(
        problems,
        ["core_types[\"tiny\"].synapse_memory_bits = 16: is smaller than one row of one synapse (32 bits)"]
    );
    let problems = invalid(&edit("Sparse(index_bits: Fixed(4))", "Sparse(index_bits: Fit(min: 6, max: 5))"));
    assert!(problems.contains(&"core_types[\"tiny\"].encoding.format.index_bits.min = 6: exceeds max = 5".to_string()));
}

#[test]
fn threshold_must_fit_in_the_state() {
    let problems = invalid(&edit("threshold_bits: 12,", "threshold_bits: 15,"));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0]
        .starts_with("numerics.threshold_bits = 15: threshold_bits + threshold_shift = 17 exceeds state_bits = 16"));
}

#[test]
fn optional_limits_use_none_not_zero() {
    let problems = invalid(&edit("routing_entries: 8,", "routing_entries: 0,"));
    assert_eq!(
        problems,
        ["core_types[\"tiny\"].routing_entries = 0: must be > 0 (write None when there is no such limit)"]
    );
    // `None` and a bare value are both accepted.
    assert!(parse(&edit("routing_entries: 8,", "routing_entries: None,")).is_ok());
    assert!(parse(&edit("routing_entries: 8,", "routing_entries: Some(8),")).is_ok());
}

#[test]
fn duplicate_core_type_names() {
    let base = preset_text("test_2x2").unwrap();
    let start = base.find("        (\n            name: \"tiny\"").unwrap();
    let end = base[start..].find("\n        ),\n").unwrap() + start + "\n        ),\n".len();
    let text = format!("{}{}{}", &base[..end], &base[start..end], &base[end..]);
    let problems = invalid(&text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("core_types[0].name = \"tiny\": is used by more than one core type"));
    assert!(problems[1].starts_with("core_types[1].name"));
}

#[test]
fn too_many_cores() {
    let problems = invalid(&edit("mesh: [2, 2],", "mesh: [5000, 5000],"));
    assert_eq!(problems, ["layout: the target has 25000000 core positions; at most 16777216 are supported"]);
}

#[test]
fn unreadable_file() {
    let err = load_target("/nonexistent/dir/chip.ron").unwrap_err();
    assert!(matches!(err, TargetError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/dir/chip.ron: cannot read target file"), "{err}");
}
