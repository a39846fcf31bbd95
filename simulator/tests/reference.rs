//! Exact mode against a straightforward f64 reference on random maps: bit-identical
//! outputs and spike counts, the same SOP counts, determinism and conservation.

mod common;

use common::{random_input, random_map, reference};
use spikeforge_simulator::{simulate, steps_csv, SimOptions};

const TARGETS: [(&str, u32); 3] = [("test_2x2", 4), ("test_grid", 12), ("loihi", 128)];

#[test]
fn exact_mode_is_bit_identical_to_the_reference() {
    let (n, t) = (2, 8);
    let (mut spikes, mut graded) = (0, 0);
    for seed in 0..30u64 {
        let (target, cores) = TARGETS[seed as usize % 3];
        let mut b = random_map(seed, target, cores);
        let map = b.build();
        let x = random_input(seed + 1000, n * t * b.pops[0].n as usize);
        let want = reference(&b, &x, n, t);
        let got = simulate(&map, &x, n, t, &SimOptions::default()).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        assert_eq!(bits(&got.outputs), bits(&want.outputs), "seed {seed} on {target}: outputs differ");
        assert_eq!(got.output_shape, [n, t, b.pops[b.output as usize].n as usize]);
        // Every graded population as the output too: membrane potentials bit for bit.
        for p in 1..b.pops.len() {
            if b.pops[p].model.is_spiking() {
                continue;
            }
            b.output = p as u32;
            let other = simulate(&b.build(), &x, n, t, &SimOptions::default()).unwrap();
            assert_eq!(bits(&other.outputs), bits(&want.values[p]), "seed {seed}: population {p} differs");
            graded += 1;
        }
        assert_eq!(got.layer_spikes, want.layer_spikes, "seed {seed}: spike counts differ");
        assert_eq!(got.stats.sops_weight_layers_total, want.sops_weight, "seed {seed}: weight SOPs");
        assert_eq!(got.stats.sops_pooling_total, want.sops_pool, "seed {seed}: pooling SOPs");
        assert_eq!(got.stats.deliveries_injected, got.stats.deliveries_delivered);
        spikes += got.layer_spikes.iter().sum::<u64>();
    }
    // The maps are not silent: the comparison covered spiking activity.
    assert!(spikes > 100, "only {spikes} spikes in all runs");
    assert!(graded > 10, "only {graded} graded populations compared");
}

#[test]
fn two_runs_are_byte_identical() {
    for seed in [3u64, 7, 11] {
        let b = random_map(seed, "test_grid", 12);
        let map = b.build();
        let x = random_input(seed, 3 * 5 * b.pops[0].n as usize);
        let a = simulate(&map, &x, 3, 5, &SimOptions::default()).unwrap();
        let c = simulate(&map, &x, 3, 5, &SimOptions::default()).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&c).unwrap());
        assert_eq!(steps_csv(&a.steps), steps_csv(&c.steps));
    }
}

#[test]
fn conservation_counters_add_up() {
    for seed in 0..10u64 {
        let b = random_map(seed, "test_2x2", 4);
        let map = b.build();
        let x = random_input(seed, 2 * 6 * b.pops[0].n as usize);
        let r = simulate(&map, &x, 2, 6, &SimOptions::default()).unwrap();
        let s = &r.stats;
        assert_eq!(s.deliveries_injected, s.deliveries_delivered);
        // Unicast: every packet (network, loopback, host) has exactly one destination.
        assert_eq!(s.packets + s.loopback_packets + s.host_packets, s.deliveries_delivered, "seed {seed}");
        let row_sum: u64 = r.steps.iter().map(|x| x.packets).sum();
        assert_eq!(row_sum, s.packets);
        assert_eq!(s.hops, s.hops_ew + s.hops_ns + s.hops_chip);
    }
}
