//! Core maps read from disk (`simulate`'s input): signature, version, postcard decoding
//! and `CoreMap::validate`, the gate that lets the simulator index without checks; a map
//! that validates (and is small) is then simulated for two steps in both numeric modes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spikeforge_simulator::{simulate, NumericMode, SimOptions};
use spikeforge_targets::CoreMap;

fuzz_target!(|data: &[u8]| {
    let Ok(map) = CoreMap::from_bytes(data, "fuzz.map") else { return };
    // What validated must serialise and read back identically.
    let again = CoreMap::from_bytes(&map.to_bytes(), "again.map").expect("a valid map reads back");
    assert_eq!(again.to_bytes(), map.to_bytes());
    let neurons: u64 = map.populations.iter().map(|p| p.n_neurons as u64).sum();
    let positions: u64 = [map.target.grid.chips, map.target.noc.mesh].iter().flatten().map(|&d| d as u64).product();
    if neurons > 4096 || positions.saturating_mul(map.target.noc.cores_per_tile as u64) > 4096 {
        return; // the CLI's --max-memory checks bound these; keep runs fast
    }
    let n_in = map.populations[map.input as usize].n_neurons as usize;
    let x: Vec<f64> = (0..2 * n_in).map(|i| (i % 3 != 0) as u8 as f64).collect();
    for mode in [NumericMode::Exact, NumericMode::Hardware] {
        let opts = SimOptions { mode, max_cycles_per_step: 1 << 20, ..SimOptions::default() };
        if let Ok(r) = simulate(&map, &x, 1, 2, &opts) {
            assert_eq!(r.stats.deliveries_injected, r.stats.deliveries_delivered, "packet conservation");
        }
    }
});
