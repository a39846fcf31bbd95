//! Uniform random traffic saturates the mesh: past the saturation rate, accepted
//! throughput stops following the offered rate and latency climbs.

use spikeforge_simulator::sweep::latency_sweep;

#[test]
fn latency_rises_and_throughput_saturates() {
    let target = spikeforge_targets::preset("loihi").unwrap().unwrap();
    // The network's saturation, not the cores': receiving a message costs nothing here
    // (Loihi's 16 ns per message would cap each core at 1/16 packet per cycle first) and a
    // core does one thing at a time: the neuron and barrier costs this test was set for.
    let mut spec = target.spec().clone();
    let t = &mut spec.timing;
    (t.message_in_cycles, t.split_receive, t.synop_cycles_by_kind) = (0, false, None);
    (t.neuron_update_cycles, t.neuron_active_cycles, t.spike_cycles) = (4, 0, 0);
    (t.barrier_cycles, t.barrier_cycles_by_tiles) = (299, Vec::new());
    let p = latency_sweep(&spec, 128, 32, &[32, 16, 4, 1], 1).unwrap();
    let (low, high) = (&p[0], &p[3]);
    // At 1/32 packet per cycle per core the network keeps up (accepted ≈ offered, latency
    // near the zero-load latency of an average XY route, under 40 cycles on Loihi).
    assert!(low.accepted_rate > 0.75 * low.offered_rate, "{low:?}");
    assert!(low.packet_latency_mean_cycles < 40.0, "{low:?}");
    assert_eq!(low.stall_cycles, 0);
    // At one packet per cycle it does not: throughput is capped well below the offer,
    // cores stall on back-pressure and latency is far above zero-load.
    assert!(high.accepted_rate < 0.2 * high.offered_rate, "{high:?}");
    assert!(high.packet_latency_mean_cycles > 2.0 * low.packet_latency_mean_cycles, "{high:?}");
    assert!(high.stall_cycles > 0);
    // Accepted throughput never decreases as the offer grows, and latency never falls.
    for w in p.windows(2) {
        assert!(w[1].accepted_rate >= 0.95 * w[0].accepted_rate, "{p:?}");
        assert!(w[1].packet_latency_mean_cycles >= w[0].packet_latency_mean_cycles, "{p:?}");
    }
}
