//! The `--passes` language: parsing, per-pass argument checking, and the caret rendering
//! of errors under the pipeline string (deep list nesting and one-byte spans at multi-byte
//! characters were found here and are fixed in `compiler/src/passes/spec.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeforge_compiler::passes::build_pipeline;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Err(e) = build_pipeline(src) {
        let _ = e.render(src);
    }
});
