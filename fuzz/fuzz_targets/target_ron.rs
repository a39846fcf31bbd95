//! The target loader: RON syntax errors with line:column and field names, validation of
//! every field, core numbering, and the `target show` report of an accepted target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeforge_targets::{parse_target, show};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_target(text, "fuzz.ron") {
        Ok(target) => {
            let _ = show::render(&target);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
