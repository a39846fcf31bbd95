//! A two-core map whose cycles, hops and energy are worked out by hand.
//!
//! Target `test_2x2`: 2 × 2 mesh, one core per tile (c0 at tile (0,0), c3 at (1,1)),
//! router 1 cycle, east-west link 1, north-south link 2, 16-bit packets on 16-bit links
//! (1 cycle per packet), unicast; synop 1 cycle, neuron update 2, spike out 1, barrier
//! 10; 100 MHz. Energy: synop 1 pJ, neuron 2, spike out 3, hop E-W 0.5, N-S 0.75,
//! static 0.1 mW on one chip.
//!
//! Network: input (2) → A (IF, 2 neurons on c0, w = 1 one-to-one, θ = 0.5)
//!          → B (IF, 1 neuron on c3, w = 0.6 from each A, θ = 1).

mod common;

use common::{Coeffs, MapBuilder};
use spikeforge_simulator::{simulate, SimOptions};
use spikeforge_targets::coremap::NeuronModel;

fn map() -> spikeforge_targets::CoreMap {
    let mut b = MapBuilder::new("test_2x2");
    let inp = b.input(2);
    let a = b.pop("A", NeuronModel::IF, Coeffs::uniform(2, 0.0, 1.0, 0.5), &[(0, 2)]);
    let bb = b.pop("B", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, 1.0), &[(3, 1)]);
    b.dense(inp, a, &[vec![1.0, 0.0], vec![0.0, 1.0]]);
    b.dense(a, bb, &[vec![0.6], vec![0.6]]);
    b.build()
}

#[test]
fn cycles_hops_and_energy_match_the_hand_calculation() {
    let r = simulate(&map(), &[1.0, 1.0, 1.0, 0.0], 1, 2, &SimOptions::default()).unwrap();
    // Step 0, input [1, 1]. Host packets for c0 enter router (0,0)'s host port at 0:
    //   in0: routed at 1, ejected at 1; c0 reads 1 synapse 1..2.
    //   in1: routed at 1, waits for the ejection port (busy 1..2), ejected at 2; c0 2..3.
    //   A ready at 3; a neuron's packet is built right after its update (2 cycles).
    //   A0 update 3..5 (spikes: v = 1 > 0.5); packet A0 built 5..6, injected at 6,
    //   routed at 7, east link 7 → router (1,0) at 8, routed 9, north link 9 → (1,1) at
    //   11, routed 12, ejected 12 (= 6 + route 6).
    //   A1 update 6..8 (spikes); packet A1 built 8..9, injected 9, routed 10, east 10 →
    //   11, routed 12, north 12 → 14, routed 15, ejected 15.
    //   c3 reads A0 12..13, A1 15..16; B ready at 16: update 16..18; spikes (1.2 > 1).
    //   Critical path 18, + barrier 10 = 28 cycles.
    // Step 1, input [1, 0]: in0 ejected at 1, read 1..2; A0 update 2..4 (spikes), built
    //   4..5, injected 5, ejected at c3 at 11; A1 update 5..7 (no spike); c3 reads 11..12;
    //   B update 12..14 (0.6 < 1, no spike). Critical path 14, 24 cycles.
    let s = &r.steps;
    assert_eq!((s[0].critical_path_cycles, s[0].cycles), (18, 28));
    assert_eq!((s[1].critical_path_cycles, s[1].cycles), (14, 24));
    assert_eq!(r.stats.cycles_total, 52);
    assert_eq!(r.stats.cycles_per_step_max, 28);
    assert_eq!(r.stats.cycles_per_step_mean, 26.0);
    assert_eq!(r.stats.latency_us_per_step_max, 0.28);
    // Packets: 3 network (2 + 1), each over 1 east-west and 1 north-south link.
    assert_eq!((r.stats.packets, r.stats.host_packets, r.stats.loopback_packets), (3, 3, 0));
    assert_eq!((r.stats.hops, r.stats.hops_ew, r.stats.hops_ns, r.stats.hops_chip), (6, 3, 3, 0));
    assert_eq!((r.stats.deliveries_injected, r.stats.deliveries_delivered), (6, 6));
    // SOPs: step 0 = 2 input events × 1 + 2 A events × 1; step 1 = 1 + 1.
    assert_eq!(r.stats.sops_weight_layers_total, 6);
    assert_eq!(r.stats.sops_pooling_total, 0);
    assert_eq!(r.stats.neuron_updates, 6);
    assert_eq!(r.layer_spikes, vec![2, 1, 1, 0]);
    assert_eq!(r.outputs, vec![1.0, 0.0]);
    // Energy, step 0: synapse 4 × 1 = 4; neuron 3 × 2 = 6; spike out 2 × 3 = 6;
    //   routing 2 × 0.5 + 2 × 0.75 = 2.5; static 0.1 mW × 28 cycles / 100 MHz
    //   = 0.1 mW × 0.28 µs = 28 pJ. Total 46.5.
    let e0 = &s[0].energy_pj;
    assert_eq!((e0.synapse, e0.neuron, e0.spike_out, e0.routing), (Some(4.0), Some(6.0), Some(6.0), Some(2.5)));
    assert!((e0.static_.unwrap() - 28.0).abs() < 1e-9);
    assert!((e0.total.unwrap() - 46.5).abs() < 1e-9);
    // Step 1: 2 + 6 + 3 + 1.25 + 24 = 36.25.
    assert!((s[1].energy_pj.total.unwrap() - 36.25).abs() < 1e-9);
    assert!((r.stats.energy_pj.total.unwrap() - 82.75).abs() < 1e-9);
    assert!((r.stats.energy_pj_per_sample.unwrap() - 82.75).abs() < 1e-9);
    // Links: (0,0)→east and (1,0)→north carry 3 packets, 1 busy cycle each.
    assert_eq!(r.stats.links.len(), 2);
    assert!(r.stats.links.iter().all(|l| l.packets == 3 && l.busy_cycles == 3));
    assert!((r.stats.max_link_utilisation - 3.0 / 52.0).abs() < 1e-12);
    assert_eq!(r.stats.stall_cycles, 0);
    // Memory report comes from the usage and the target (16 neurons, 2048 synapse bits).
    assert_eq!(r.stats.memory.len(), 2);
    assert_eq!((r.stats.memory[0].neurons, r.stats.memory[0].max_neurons), (2, 16));
    assert_eq!(r.stats.memory[1].synapse_bits_capacity, 2048);
    // Attribution. Busy cycles: c0 = step 0 (reads 2 + update 4 + builds 2) + step 1
    // (read 1 + update 4 + build 1) = 14, all A's; c3 = (reads 2 + update 2) + (read 1 +
    // update 2) = 7, all B's. Both steps end on c3, so B is the bottleneck.
    assert_eq!((s[0].critical_core.as_str(), s[1].critical_core.as_str()), ("c3", "c3"));
    let (c0, c3) = (&r.stats.cores[0], &r.stats.cores[1]);
    assert_eq!(
        (c0.core.as_str(), c0.layers.clone(), c0.busy_cycles, c0.critical_path_steps),
        ("c0", vec!["A".to_string()], 14, 0)
    );
    assert_eq!(
        (c3.core.as_str(), c3.layers.clone(), c3.busy_cycles, c3.critical_path_steps),
        ("c3", vec!["B".to_string()], 7, 2)
    );
    assert_eq!((c0.synapse_reads, c0.neuron_updates, c0.spikes, c0.packets), (3, 4, 3, 3));
    assert_eq!((c3.synapse_reads, c3.neuron_updates, c3.spikes, c3.packets), (3, 2, 1, 0));
    let (a, b) = (&r.stats.layers[0], &r.stats.layers[1]);
    assert_eq!(
        (a.population.as_str(), a.cores.clone(), a.busy_cycles, a.critical_path_steps),
        ("A", vec!["c0".to_string()], 14, 0)
    );
    assert_eq!(
        (b.population.as_str(), b.cores.clone(), b.busy_cycles, b.critical_path_steps),
        ("B", vec!["c3".to_string()], 7, 2)
    );
    assert_eq!((a.sops_weight_layers, a.spikes, a.packets, a.received_packets), (3, 3, 3, 3));
    assert_eq!((b.sops_weight_layers, b.spikes, b.packets, b.received_packets), (3, 1, 0, 3));
    // Energy: A = synapse 3 + neuron 4 × 2 + spike out 3 × 3 = 20; B = synapse 3 + neuron
    // 2 × 2 + routing 3 × (0.5 + 0.75) = 10.75; 20 + 10.75 = 82.75 − static 52.
    assert_eq!((a.energy_pj.total, b.energy_pj.total), (Some(20.0), Some(10.75)));
    assert_eq!(a.energy_pj.static_, None);
    assert_eq!(spikeforge_simulator::bottleneck(&r.stats.layers), Some(1));
}

#[test]
fn idle_route_latency_equals_the_targets_route_cycles() {
    let m = map();
    let t = spikeforge_targets::Target::from_spec(m.target.clone(), "t").unwrap();
    // Step 1 above: A0 injected at 7, ejected at 13.
    assert_eq!(t.route_cycles(spikeforge_targets::CoreId(0), spikeforge_targets::CoreId(3)), 6);
}
