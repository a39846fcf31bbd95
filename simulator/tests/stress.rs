//! The network under saturating traffic: every neuron fires at every step, on small meshes
//! with one-packet buffers. A run either completes with every packet delivered exactly
//! once, or (for strictly sequential cores, which can wait on each other) reports a
//! deadlock; it never hangs. A watchdog thread turns a hang into a failure.

use std::sync::mpsc;
use std::time::Duration;

use spikeforge_simulator::synthetic::{layered, uniform_traffic};
use spikeforge_simulator::{simulate, SimError, SimOptions, SimResult};
use spikeforge_targets::coremap::CoreMap;
use spikeforge_targets::{Cast, IndexBits, RowFormat, TargetSpec};

/// test_2x2 (or a 1×4 line) with one-packet buffers.
fn small_mesh(mesh: [u32; 2], cast: Cast) -> TargetSpec {
    let mut spec = spikeforge_targets::preset("test_2x2").unwrap().unwrap().spec().clone();
    spec.noc.mesh = mesh;
    spec.noc.buffer_depth_packets = 1;
    spec.noc.cast = cast;
    // Room for the saturating layers below.
    spec.core_types[0].max_neurons = 64;
    spec.core_types[0].encoding.format = RowFormat::Sparse { index_bits: IndexBits::Fixed(6) };
    spec
}

/// Every neuron's bias far above its threshold: all fire at every step, whatever arrives.
fn saturate(mut map: CoreMap) -> CoreMap {
    for c in &mut map.cores {
        c.params.bias.iter_mut().for_each(|b| *b = 1e3);
    }
    map
}

/// Deliveries one step must make when every source fires: the fan-out of every event.
fn deliveries_per_step(map: &CoreMap) -> u64 {
    map.projections.iter().map(|p| p.fanout.len() as u64).sum()
}

/// Runs with a watchdog: a simulation still running after `limit` is a hang.
fn run_guarded(map: &CoreMap, n: usize, t: usize, opts: SimOptions) -> Result<SimResult, SimError> {
    let (tx, rx) = mpsc::channel();
    let (map, x) = (map.clone(), vec![1.0; n * t * map.populations[map.input as usize].n_neurons as usize]);
    std::thread::spawn(move || {
        let _ = tx.send(simulate(&map, &x, n, t, &opts));
    });
    rx.recv_timeout(Duration::from_secs(300)).expect("the simulation hung (no result after 300 s)")
}

fn check_completed(map: &CoreMap, r: &SimResult, n: usize, t: usize) {
    let s = &r.stats;
    assert_eq!(s.deliveries_injected, s.deliveries_delivered, "packet conservation");
    assert_eq!(s.deliveries_injected, deliveries_per_step(map) * (n * t) as u64, "every spike reaches every target");
    // All neurons of every spiking population fired at every step.
    let per_step: u64 = map.populations.iter().filter(|p| p.model.is_spiking()).map(|p| p.n_neurons as u64).sum();
    assert_eq!(r.layer_spikes.iter().sum::<u64>(), per_step * (n * t) as u64, "saturation");
}

#[test]
fn saturating_layers_complete_or_report_a_deadlock() {
    let (n, t) = (2, 3);
    let mut completed = 0;
    let mut deadlocked = 0;
    for cast in [Cast::Unicast, Cast::Multicast] {
        for mesh in [[2, 2], [4, 1]] {
            // 24 inputs → 48 → 32 → 16, spread over all four cores, dense fan-in.
            let map = saturate(layered(small_mesh(mesh, cast), 24, &[(48, 2), (32, 1), (16, 1)], 24, 1.0, 7));
            let r = run_guarded(&map, n, t, SimOptions::default())
                .unwrap_or_else(|e| panic!("{cast:?} {mesh:?}: cores that consume while stalled must finish: {e}"));
            check_completed(&map, &r, n, t);
            assert!(r.stats.link_stall_cycles + r.stats.core_stall_cycles > 0, "one-packet buffers never filled");
            completed += 1;
            let strict = SimOptions { consume_while_stalled: false, ..SimOptions::default() };
            match run_guarded(&map, n, t, strict) {
                Ok(r) => {
                    check_completed(&map, &r, n, t);
                    completed += 1;
                }
                Err(SimError::Deadlock { undelivered, blocked, .. }) => {
                    assert!(undelivered > 0 && !blocked.is_empty());
                    deadlocked += 1;
                }
                Err(e) => panic!("{cast:?} {mesh:?}: neither completed nor deadlocked: {e}"),
            }
        }
    }
    eprintln!("{completed} runs completed, {deadlocked} deadlocked");
    assert!(completed >= 4, "{completed} runs completed, {deadlocked} deadlocked");
}

#[test]
fn saturating_uniform_traffic_conserves_packets() {
    for cast in [Cast::Unicast, Cast::Multicast] {
        let map = saturate(uniform_traffic(small_mesh([2, 2], cast), 4, 16, 3));
        let r = run_guarded(&map, 1, 4, SimOptions::default()).expect("completes");
        check_completed(&map, &r, 1, 4);
        assert!(r.stats.packets >= 4 * 64, "{} packets", r.stats.packets);
    }
}

#[test]
fn a_step_cycle_limit_bounds_a_saturated_run() {
    let map = saturate(layered(small_mesh([2, 2], Cast::Unicast), 24, &[(48, 2), (32, 1), (16, 1)], 24, 1.0, 7));
    let opts = SimOptions { max_cycles_per_step: 20, ..SimOptions::default() };
    match run_guarded(&map, 1, 2, opts) {
        Err(SimError::StepTooLong { cycles, .. }) => assert!(cycles > 20),
        other => panic!("expected StepTooLong, got {:?}", other.map(|r| r.stats.cycles_total)),
    }
}
