//! The `--passes` language: parsing, per-pass argument checking, and the caret rendering
//! of errors under the pipeline string.
//!
//! Rendering goes through the same span widening as the CLI (`src/pipeline.rs`,
//! `render_spec_error`): `SpecError::render` itself still panics on a one-byte span at a
//! multi-byte character (`quantize(bits=4é)`, found here), which belongs to a fix in
//! `compiler/src/passes/spec.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeforge_compiler::passes::build_pipeline;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
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
