//! The `--passes` language: parsing, per-pass argument checking, and the caret rendering
//! of errors under the pipeline string.
//!
//! As in the CLI (`src/pipeline.rs`), deep list nesting is refused first and spans are
//! widened to whole characters before rendering: the parser itself still overflows the
//! stack on deep nesting, and `SpecError::render` panics on a one-byte span at a multi-byte
//! character (`quantize(bits=4é)`); both were found here and belong to fixes in
//! `compiler/src/passes/spec.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeforge_compiler::passes::build_pipeline;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    // As the CLI does (`check_list_nesting`): the parser recurses once per `[`, and deep
    // nesting overflowed the stack (found here).
    let (mut depth, mut in_string, mut max_depth) = (0usize, false, 0usize);
    for c in src.chars() {
        match c {
            '"' => in_string = !in_string,
            '[' if !in_string => depth += 1,
            ']' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
        max_depth = max_depth.max(depth);
    }
    if max_depth > 32 {
        return;
    }
    if let Err(mut e) = build_pipeline(src) {
        let (mut start, mut end) = (e.span.start.min(src.len()), e.span.end.min(src.len()));
        while !src.is_char_boundary(start) {
            start -= 1;
        }
        while !src.is_char_boundary(end) {
            end += 1;
        }
        e.span = start..end.max(start);
        let _ = e.render(src);
    }
});
