//! The `.npy` reader: header, dtype, shape checked against the limits and the file size,
//! Fortran order.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use spikeforge_compiler::arrays::parse_npy_f64;
use spikeforge_compiler::limits::Limits;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::from_max_memory(16 << 20);
    if let Ok(a) = parse_npy_f64(data, Path::new("fuzz.npy"), &limits) {
        let n = a.shape.iter().try_fold(1usize, |p, &d| p.checked_mul(d));
        assert_eq!(n, Some(a.data.len()), "shape {:?} vs {} values", a.shape, a.data.len());
    }
});
