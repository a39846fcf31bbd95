//! Reading targets: RON text → [`TargetSpec`] → validated [`Target`], and the built-in
//! presets (the `.ron` files shipped in the crate's root folder).
//!
//! Syntax errors carry the file name and RON's `line:column`; when the error is about a
//! value (not a field name), the field being written at that position is named too.
//! Missing required fields are all listed at once, by path (serde stops at the first):
//! the text is read again as an untyped RON value and compared with [`crate::schema`].
//! Unknown fields are rejected (`#[serde(deny_unknown_fields)]`) and named by RON.
//! Optional figures may be written bare (`synop_pj: 23.6`) or as `None`: the loader
//! enables RON's `implicit_some` extension.

use std::path::Path;

use ron::extensions::Extensions;

use crate::chip::TargetSpec;
use crate::error::{Problem, TargetError};
use crate::schema;
use crate::target::Target;

fn options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Parse RON text into an unvalidated spec. A UTF-8 byte-order mark (which some editors
/// write) is skipped.
pub fn parse_spec(text: &str, file_name: &str) -> Result<TargetSpec, TargetError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    options().from_str::<TargetSpec>(text).map_err(|e| {
        if matches!(e.code, ron::Error::MissingStructField { .. }) {
            if let Some(err) = all_missing(text, file_name) {
                return err;
            }
        }
        let (line, column) = (e.position.line, e.position.col);
        let mut message = e.code.to_string();
        if matches!(e.code, ron::Error::IntegerOutOfBounds) && negative_at(text, line, column) {
            message = "sizes and counts cannot be negative".to_string();
        }
        if !message.contains("field") {
            if let Some(field) = field_before(text, line, column) {
                message = format!("{message} (in field `{field}`)");
            }
        }
        TargetError::Syntax { file: file_name.to_string(), line, column, message }
    })
}

/// Every missing required field of `text`, when it parses as untyped RON and any is missing.
fn all_missing(text: &str, file_name: &str) -> Option<TargetError> {
    let value = options().from_str::<ron::Value>(text).ok()?;
    let problems: Vec<Problem> = schema::missing_fields(&value)
        .into_iter()
        .map(|field| Problem { message: schema::describe_missing(&field), field, value: String::new() })
        .collect();
    (!problems.is_empty()).then(|| TargetError::Invalid { file: file_name.to_string(), problems })
}

/// Parse and validate RON text. `file_name` names the source in messages.
pub fn parse_target(text: &str, file_name: &str) -> Result<Target, TargetError> {
    Target::from_spec(parse_spec(text, file_name)?, file_name)
}

/// Read, parse and validate a target file.
pub fn load_target(path: impl AsRef<Path>) -> Result<Target, TargetError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TargetError::Io { file: file.clone(), source })?;
    parse_target(&text, &file)
}

/// Serialize a spec as pretty RON (comments are not preserved).
pub fn to_ron(spec: &TargetSpec) -> String {
    let config = ron::ser::PrettyConfig::new().struct_names(false).indentor("    ".to_string());
    options().to_string_pretty(spec, config).expect("a TargetSpec always serializes")
}

/// Names of the built-in presets, in display order: single chips, boards, test targets.
pub const PRESETS: &[&str] = &[
    "loihi",
    "loihi2",
    "truenorth",
    "spinnaker2",
    "speck",
    "xylo",
    "loihi_nahuku32",
    "loihi2_kapoho8",
    "spinnaker2_board48",
    "test_2x2",
    "test_4x4",
    "test_grid",
];

/// A board: several chips of a single-chip preset on a grid.
struct Board {
    name: &'static str,
    chip: &'static str,
    chips: [u32; 2],
    description: &'static str,
    source: &'static str,
}

/// The board presets. A board's chips are its chip preset's; the grid arrangement is an
/// assumption where the board's own topology is not a mesh.
const BOARDS: &[Board] = &[
    Board {
        name: "loihi_nahuku32",
        chip: "loihi",
        chips: [8, 4],
        description: "Intel Nahuku board: 32 Loihi chips (4,096 cores); 8 x 4 grid assumed",
        source: "Intel Nahuku: 32 Loihi chips per board (Pohoiki Beach = 2 boards, 64 chips), Intel, 2019",
    },
    Board {
        name: "loihi2_kapoho8",
        chip: "loihi2",
        chips: [4, 2],
        description: "Intel Kapoho Point: 8 Loihi 2 chips (1,024 neuro cores); 4 x 2 grid assumed",
        source: "Intel Kapoho Point: a stackable board of 8 Loihi 2 chips, Intel, 2022",
    },
    Board {
        name: "spinnaker2_board48",
        chip: "spinnaker2",
        chips: [8, 6],
        description: "SpiNNaker 2 board of 48 chips (7,296 PEs); its chip links modelled as an 8 x 6 mesh (assumption)",
        source: "SpiNNcloud / TU Dresden: SpiNNaker 2 boards of 48 chips (Gonzalez et al., SpiNNaker2: A Large-Scale Neuromorphic System for Event-Based and Asynchronous Machine Learning, 2024)",
    },
];

/// The text of a single-chip built-in preset, by name (boards have none: see
/// [`preset_spec`]).
pub fn preset_text(name: &str) -> Option<&'static str> {
    Some(match name {
        "loihi" => include_str!("../loihi.ron"),
        "loihi2" => include_str!("../loihi2.ron"),
        "truenorth" => include_str!("../truenorth.ron"),
        "spinnaker2" => include_str!("../spinnaker2.ron"),
        "speck" => include_str!("../speck.ron"),
        "xylo" => include_str!("../xylo.ron"),
        "test_2x2" => include_str!("../test_2x2.ron"),
        "test_4x4" => include_str!("../test_4x4.ron"),
        "test_grid" => include_str!("../test_grid.ron"),
        _ => return None,
    })
}

/// The spec of a built-in preset by name (a board is its chip's spec on the board's
/// grid); `None` if there is no such preset.
pub fn preset_spec(name: &str) -> Option<Result<TargetSpec, TargetError>> {
    let file = format!("{name}.ron");
    if let Some(text) = preset_text(name) {
        return Some(parse_spec(text, &file));
    }
    let board = BOARDS.iter().find(|b| b.name == name)?;
    let chip = parse_spec(preset_text(board.chip)?, &file);
    Some(chip.map(|mut spec| {
        spec.name = board.name.to_string();
        spec.description = board.description.to_string();
        spec.grid.chips = board.chips;
        spec.sources.push(board.source.to_string());
        spec
    }))
}

/// Load a built-in preset by name; `None` if there is no such preset.
pub fn preset(name: &str) -> Option<Result<Target, TargetError>> {
    preset_spec(name).map(|spec| spec.and_then(|s| Target::from_spec(s, &format!("{name}.ron"))))
}

/// Whether the number RON stopped at (ending before `column` on `line`) is negative.
fn negative_at(text: &str, line: usize, column: usize) -> bool {
    let Some(l) = line.checked_sub(1).and_then(|i| text.lines().nth(i)) else {
        return false;
    };
    let upto: String = l.chars().take(column.saturating_sub(1)).collect();
    let token = upto.trim_end().rsplit([':', ',', '[', '(', ' ']).next().unwrap_or("");
    token.starts_with('-')
}

/// The identifier of the last `name:` that starts before `column` on `line` (1-based),
/// i.e. the field whose value RON was reading.
fn field_before(text: &str, line: usize, column: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let upto: String = l.chars().take(column.saturating_sub(1)).collect();
    if upto.contains("//") {
        return None; // in a comment
    }
    let colon = upto.rfind(':')?;
    let head = upto[..colon].trim_end();
    // After the last character that cannot be in an identifier (which may be multi-byte).
    let start = head
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let ident = &head[start..];
    (!ident.is_empty() && !ident.starts_with(|c: char| c.is_ascii_digit())).then(|| ident.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let text = crate::preset_text("test_2x2").expect("a preset");
        let spec = parse_spec(&format!("\u{feff}{text}"), "bom.ron").expect("a BOM is not a syntax error");
        assert_eq!(spec, parse_spec(text, "plain.ron").unwrap());
    }

    #[test]
    fn field_before_finds_the_field_being_written() {
        let text = "(\n    max_neurons: -5,\n)";
        assert_eq!(field_before(text, 2, 18).as_deref(), Some("max_neurons"));
        assert_eq!(field_before(text, 1, 1), None);
        assert_eq!(field_before("  mesh: [1, x]", 1, 14).as_deref(), Some("mesh"));
        assert!(negative_at("    max_neurons: -16,", 1, 21));
        assert!(negative_at("    mesh: [2, -1],", 1, 17));
        assert!(!negative_at("    max_neurons: 99999999999,", 1, 29));
        // Found by fuzzing: a multi-byte character before the colon split the string.
        assert_eq!(field_before("// Test targ/biks (1њt: one", 1, 27), None);
        assert_eq!(field_before("   (1њt: one", 1, 11).as_deref(), Some("t"));
        assert_eq!(field_before("  њmesh: [1, x]", 1, 15).as_deref(), Some("mesh"));
    }
}
