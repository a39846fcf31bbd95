//! Latency versus injection rate under uniform random traffic (the classic NoC curve).
//!
//! Every core of the target holds `per_core` sources that all spike at every step, each
//! sending one packet to a uniformly random other core ([`crate::synthetic::uniform_traffic`]).
//! A core injects its packets back to back, one per `spike_out_cycles`, so the offered
//! injection rate is `λ = 1 / spike_out_cycles` packets per cycle per core; the sweep
//! varies `spike_out_cycles` with the rest of the target unchanged except synaptic costs
//! of 1 cycle and neuron updates that cost nothing (a neuron's packets follow its own
//! update, which would otherwise space them out), so the network, not the cores, limits
//! delivery.

use serde::Serialize;
use spikeforge_targets::TargetSpec;

use crate::{simulate, synthetic, SimError, SimOptions};

/// One point of the curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    pub spike_out_cycles: u32,
    /// Offered packets per cycle per core while a core is emitting.
    pub offered_rate: f64,
    /// Network packets / (cores × cycles from the first injection to the last ejection).
    pub accepted_rate: f64,
    pub packet_latency_mean_cycles: f64,
    pub cycles_per_step: f64,
    pub max_link_utilisation: f64,
    pub stall_cycles: u64,
}

/// Runs the sweep over `spike_out_cycles` values, `steps` steps each.
pub fn latency_sweep(
    target: &TargetSpec,
    n_cores: u32,
    per_core: u32,
    spike_out: &[u32],
    steps: usize,
) -> Result<Vec<SweepPoint>, SimError> {
    let mut out = Vec::new();
    for &so in spike_out {
        let mut t = target.clone();
        t.timing.spike_out_cycles = so;
        t.timing.synop_cycles = 1;
        (t.timing.neuron_update_cycles, t.timing.neuron_active_cycles, t.timing.spike_cycles) = (0, 0, 0);
        let map = synthetic::uniform_traffic(t, n_cores, per_core, 1);
        let n_in = map.populations[0].n_neurons as usize;
        let r = simulate(&map, &vec![1.0; steps * n_in], 1, steps, &SimOptions::default())?;
        let s = &r.stats;
        let window: u64 = r.steps.iter().map(|x| x.network_active_cycles).sum::<u64>().max(1);
        out.push(SweepPoint {
            spike_out_cycles: so,
            offered_rate: 1.0 / so.max(1) as f64,
            accepted_rate: s.packets as f64 / (map.cores.len() as f64 * window as f64),
            packet_latency_mean_cycles: s.packet_latency_mean_cycles,
            cycles_per_step: s.cycles_per_step_mean,
            max_link_utilisation: s.max_link_utilisation,
            stall_cycles: s.stall_cycles,
        });
    }
    Ok(out)
}
