//! The NIR reader: HDF5 signature and structure, NIR layout, nested graphs, op building
//! and verification. A panic inside the HDF5 library is caught and reported by the reader
//! itself (`NirError::ReaderPanic`); libFuzzer still sees it, so set
//! `FUZZ_NIR_ALLOW_READER_PANIC=1` to fuzz past known hdf5-pure panics.
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
