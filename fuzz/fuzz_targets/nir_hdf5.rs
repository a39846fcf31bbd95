//! The NIR reader: HDF5 signature and structure, NIR layout, nested graphs, op building
//! and verification. A panic inside the HDF5 library is caught by the reader itself
//! (`NirError::ReaderPanic`, the last line of defence), but libFuzzer's panic hook aborts
//! first, so such panics still show up here as crashes to fix at their source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir_bytes;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::from_max_memory(16 << 20);
    match read_nir_bytes(data.to_vec(), "fuzz.nir", &limits) {
        Ok(graph) => {
            let _ = graph.verify(&limits);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
