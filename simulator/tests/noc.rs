//! Network behaviour: multicast vs unicast, back-pressure with one-packet buffers,
//! deadlock reporting, chip-to-chip hops.

mod common;

use common::{random_input, random_map, Coeffs, MapBuilder};
use spikeforge_simulator::{simulate, SimError, SimOptions};
use spikeforge_targets::coremap::NeuronModel;
use spikeforge_targets::Cast;

/// On `test_grid` (2 chips of 2 × 2 tiles, 2 cores per tile): A (4 always-spiking IF
/// neurons on c0 at global tile (0,0)) → B (8 neurons, 2 on each of c0, c3 at (1,0), c5
/// at (0,1) and c8 at (3,0) on the second chip), all-to-all.
fn fanout_map(cast: Cast) -> spikeforge_targets::CoreMap {
    let mut b = MapBuilder::new("test_grid");
    b.target.noc.cast = cast;
    let inp = b.input(4);
    let a = b.pop("A", NeuronModel::IF, Coeffs::uniform(4, 0.0, 1.0, -1.0), &[(0, 4)]);
    let bb = b.pop("B", NeuronModel::IF, Coeffs::uniform(8, 0.0, 1.0, 10.0), &[(0, 2), (3, 2), (5, 2), (8, 2)]);
    let eye: Vec<Vec<f64>> = (0..4).map(|i| (0..4).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    b.dense(inp, a, &eye);
    b.dense(a, bb, &vec![vec![0.1; 8]; 4]);
    b.build()
}

#[test]
fn multicast_sends_one_packet_per_event_and_fewer_hops() {
    let x = vec![1.0; 3 * 4];
    let uni = simulate(&fanout_map(Cast::Unicast), &x, 1, 3, &SimOptions::default()).unwrap();
    let multi = simulate(&fanout_map(Cast::Multicast), &x, 1, 3, &SimOptions::default()).unwrap();
    // Per step A emits 4 events, each for 4 cores, one of them its own (loopback).
    // Unicast: 4 × 3 network packets; per event 1 E-W hop to c3, 1 N-S hop to c5 and
    // E-W, chip, E-W to c8: 3 E-W + 1 N-S + 1 chip = 5 hops.
    assert_eq!((uni.stats.packets, uni.stats.loopback_packets), (3 * 12, 3 * 4));
    assert_eq!((uni.stats.hops_ew, uni.stats.hops_ns, uni.stats.hops_chip), (3 * 12, 3 * 4, 3 * 4));
    // Multicast: one network packet per event; its XY tree shares the first east link:
    // (0,0)→E, (1,0)→E (chip), (2,0)→E, (0,0)→N = 2 E-W + 1 N-S + 1 chip.
    assert_eq!((multi.stats.packets, multi.stats.loopback_packets), (3 * 4, 3 * 4));
    assert_eq!((multi.stats.hops_ew, multi.stats.hops_ns, multi.stats.hops_chip), (3 * 8, 3 * 4, 3 * 4));
    // Same deliveries, same function.
    assert_eq!(uni.stats.deliveries_delivered, 3 * 16 + 3 * 4);
    assert_eq!(multi.stats.deliveries_delivered, uni.stats.deliveries_delivered);
    assert_eq!(uni.outputs, multi.outputs);
    assert_eq!(uni.stats.sops_weight_layers_total, multi.stats.sops_weight_layers_total);
    // Routing energy follows the hops: 1 pJ E-W, 1.5 pJ N-S, 20 pJ chip.
    assert_eq!(multi.stats.energy_pj.routing, Some(3.0 * (8.0 + 6.0 + 80.0)));
    assert_eq!(uni.stats.energy_pj.routing, Some(3.0 * (12.0 + 6.0 + 80.0)));
}

#[test]
fn one_packet_buffers_back_pressure_but_complete() {
    for seed in 0..12u64 {
        let mut b = random_map(seed, "test_grid", 12);
        let deep = b.build();
        b.target.noc.buffer_depth_packets = 1;
        let shallow = b.build();
        let x = random_input(seed, 2 * 6 * b.pops[0].n as usize);
        let r1 = simulate(&deep, &x, 2, 6, &SimOptions::default()).unwrap();
        let r2 = simulate(&shallow, &x, 2, 6, &SimOptions::default()).unwrap();
        assert_eq!(r1.outputs, r2.outputs, "seed {seed}: buffers must not change the function");
        assert_eq!(r2.stats.deliveries_injected, r2.stats.deliveries_delivered);
        assert_eq!(r1.stats.packets, r2.stats.packets);
    }
}

/// A (20 neurons on c0) → C (10 on c3) and B (20 on c3) → D (10 on c0), all-to-all, on
/// `test_2x2` with one-packet buffers: both cores emit toward each other while the other
/// reads 10 synapses per packet. Neuron updates cost nothing here, so a unit's packets
/// (built right after each neuron's update) leave in one burst.
fn crossing_map() -> spikeforge_targets::CoreMap {
    let mut b = MapBuilder::new("test_2x2");
    b.target.noc.buffer_depth_packets = 1;
    b.target.timing.neuron_update_cycles = 0;
    let inp = b.input(40);
    let always = |n| Coeffs::uniform(n, 0.0, 1.0, -1.0);
    let a = b.pop("A", NeuronModel::IF, always(20), &[(0, 20)]);
    let bb = b.pop("B", NeuronModel::IF, always(20), &[(3, 20)]);
    let c = b.pop("C", NeuronModel::IF, Coeffs::uniform(10, 0.0, 1.0, 100.0), &[(3, 10)]);
    let d = b.pop("D", NeuronModel::IF, Coeffs::uniform(10, 0.0, 1.0, 100.0), &[(0, 10)]);
    b.proj(spikeforge_targets::coremap::ProjectionKind::Sparse, inp, a, (0..20).map(|i| (i, i, 1.0)).collect());
    b.proj(spikeforge_targets::coremap::ProjectionKind::Sparse, inp, bb, (0..20).map(|i| (20 + i, i, 1.0)).collect());
    b.dense(a, c, &vec![vec![0.5; 10]; 20]);
    b.dense(bb, d, &vec![vec![0.5; 10]; 20]);
    b.output = d;
    b.build()
}

#[test]
fn strict_cores_deadlock_and_the_cycle_is_reported() {
    let map = crossing_map();
    let x = vec![1.0; 40];
    let strict = SimOptions { consume_while_stalled: false, ..SimOptions::default() };
    match simulate(&map, &x, 1, 1, &strict) {
        Err(SimError::Deadlock { sample, step, cycle, undelivered, blocked }) => {
            assert_eq!((sample, step), (0, 0));
            assert!(cycle > 0 && undelivered > 0);
            assert!(blocked.contains("router"), "{blocked}");
            assert!(
                blocked.contains("core c0 waits to inject") && blocked.contains("core c3 waits to inject"),
                "{blocked}"
            );
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    // Cores that keep consuming while they wait to inject complete, with back-pressure.
    let r = simulate(&map, &x, 1, 1, &SimOptions::default()).unwrap();
    assert_eq!(r.stats.deliveries_injected, r.stats.deliveries_delivered);
    assert_eq!(r.stats.packets, 40);
    assert!(r.stats.core_stall_cycles > 0 && r.stats.link_stall_cycles > 0, "{:?}", r.stats);
    assert_eq!(r.stats.sops_weight_layers_total, 40 + 400);
}

#[test]
fn a_livelock_limit_stops_long_steps() {
    let map = crossing_map();
    let opts = SimOptions { max_cycles_per_step: 50, ..SimOptions::default() };
    match simulate(&map, &vec![1.0; 40], 1, 1, &opts) {
        Err(SimError::StepTooLong { cycles, .. }) => assert!(cycles > 50),
        other => panic!("expected StepTooLong, got {other:?}"),
    }
}

#[test]
fn an_idle_packet_takes_exactly_the_route_cycles_between_any_two_cores() {
    // test_grid: E-W links 2 cycles, N-S 3, chip links 20 (4 cycles per packet on an
    // 8-bit link, which does not add latency), router 1; a single packet meets no one.
    let target = spikeforge_targets::preset("test_grid").unwrap().unwrap();
    for a in 0..12u32 {
        for b in 0..12u32 {
            if a == b {
                continue;
            }
            let mut m = MapBuilder::new("test_grid");
            let inp = m.input(1);
            let src = m.pop("A", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, -1.0), &[(a, 1)]);
            let dst = m.pop("B", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, 5.0), &[(b, 1)]);
            m.dense(inp, src, &[vec![1.0]]);
            m.dense(src, dst, &[vec![1.0]]);
            let r = simulate(&m.build(), &[1.0], 1, 1, &SimOptions::default()).unwrap();
            let want = target.route_cycles(spikeforge_targets::CoreId(a), spikeforge_targets::CoreId(b));
            assert_eq!(r.stats.packets, 1);
            assert_eq!(r.stats.packet_latency_mean_cycles, want as f64, "c{a} → c{b}");
            let h = target.hops(spikeforge_targets::CoreId(a), spikeforge_targets::CoreId(b));
            assert_eq!(
                (r.stats.hops_ew, r.stats.hops_ns, r.stats.hops_chip),
                (h.ew as u64, h.ns as u64, h.chip as u64)
            );
        }
    }
}
