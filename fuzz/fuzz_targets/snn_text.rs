//! The `.snn` reader: lexer, parser with recovery, lowering, verification, and the
//! rendering of every diagnostic. Sidecar paths resolve against an empty directory, so
//! `file(...)` references exercise the missing-file path only.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::text::{parse_snn, print_snn, PrintOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    // A small budget: the reader must refuse big shapes before allocating them.
    let limits = Limits::from_max_memory(16 << 20);
    match parse_snn(source, "fuzz.snn", Path::new("/nonexistent-fuzz-dir"), &limits) {
        Ok(graph) => {
            // An accepted graph verifies and prints (print → parse is the identity).
            if graph.verify(&limits).is_ok() {
                let _ = print_snn(&graph, &PrintOptions::default());
            }
        }
        Err(errors) => {
            let _ = errors.render(false);
            let _ = errors.to_string();
        }
    }
});
