//! Attribution: which core and which layer (population) did the work of a run.
//!
//! The functional pass and the timing engine each keep a [`Tally`] of run totals, indexed
//! by core (`map.cores` order) and by population (`map.populations` order); [`finish`]
//! merges them into the stats' [`CoreActivity`] and [`LayerActivity`] lists.
//!
//! **Per event, not split.** Every counted event belongs to exactly one layer, so a core
//! shared by two layers charges each layer for the events of that layer only:
//!
//! * a delivered event (synapse reads, SOPs, the received packet and its `message_in`
//!   cycles, the packet's hops) belongs to the projection's *destination* layer;
//! * source-side pooling (pooling entries, pooling SOPs) belongs to the pooled
//!   projection's destination layer too, but its cycles are part of the source unit's
//!   update (the source core computes it), so they count in the *source* layer's busy
//!   cycles;
//! * a neuron update, its active neurons and spikes, and the packets a unit builds and
//!   sends belong to the unit's layer.
//!
//! Host input packets are sent by no layer (their hops are 0; their reception is the
//! destination layer's). Busy cycles are the cycles the engine charges a core for each
//! piece of work (packet processing, packet building, neuron updates); with
//! `timing.split_receive` a core's two paths overlap, so its busy cycles may exceed the
//! critical path. A step's *critical-path core* is the core whose last work ends last (ties:
//! the lowest core index), the end of the step's critical path; a layer's
//! `critical_path_steps` counts the steps whose critical core holds one of its units.

use spikeforge_targets::coremap::CoreMap;

use crate::layout::{Layout, NONE};
use crate::stats::{step_energy, CoreActivity, LayerActivity, StepEvents};

/// Run totals per core and per population; the functional pass fills the event counts,
/// the engine the timing ones. Integers only, so the result is the same for any thread
/// count.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    pub core_reads: Vec<u64>,
    pub core_updates: Vec<u64>,
    pub core_spikes: Vec<u64>,
    /// Network and loopback packets injected by the core's units.
    pub core_packets: Vec<u64>,
    pub core_loopback: Vec<u64>,
    pub core_busy: Vec<u64>,
    pub core_critical: Vec<u64>,
    pub pop_sops_weight: Vec<u64>,
    pub pop_sops_pool: Vec<u64>,
    pub pop_reads_by_kind: Vec<[u64; 4]>,
    pub pop_pool_entries: Vec<u64>,
    pub pop_updates: Vec<u64>,
    pub pop_active: Vec<u64>,
    pub pop_spikes: Vec<u64>,
    pub pop_packets: Vec<u64>,
    pub pop_loopback: Vec<u64>,
    pub pop_received: Vec<u64>,
    pub pop_hops: Vec<[u64; 3]>,
    pub pop_busy: Vec<u64>,
}

impl Tally {
    pub fn new(n_cores: usize, n_pops: usize) -> Tally {
        let c = || vec![0u64; n_cores];
        let p = || vec![0u64; n_pops];
        Tally {
            core_reads: c(),
            core_updates: c(),
            core_spikes: c(),
            core_packets: c(),
            core_loopback: c(),
            core_busy: c(),
            core_critical: c(),
            pop_sops_weight: p(),
            pop_sops_pool: p(),
            pop_reads_by_kind: vec![[0; 4]; n_pops],
            pop_pool_entries: p(),
            pop_updates: p(),
            pop_active: p(),
            pop_spikes: p(),
            pop_packets: p(),
            pop_loopback: p(),
            pop_received: p(),
            pop_hops: vec![[0; 3]; n_pops],
            pop_busy: p(),
        }
    }

    /// Adds `o` (the other side's counts) into `self`.
    pub fn merge(&mut self, o: &Tally) {
        let add = |a: &mut Vec<u64>, b: &Vec<u64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.core_reads, &o.core_reads);
        add(&mut self.core_updates, &o.core_updates);
        add(&mut self.core_spikes, &o.core_spikes);
        add(&mut self.core_packets, &o.core_packets);
        add(&mut self.core_loopback, &o.core_loopback);
        add(&mut self.core_busy, &o.core_busy);
        add(&mut self.core_critical, &o.core_critical);
        add(&mut self.pop_sops_weight, &o.pop_sops_weight);
        add(&mut self.pop_sops_pool, &o.pop_sops_pool);
        add(&mut self.pop_pool_entries, &o.pop_pool_entries);
        add(&mut self.pop_updates, &o.pop_updates);
        add(&mut self.pop_active, &o.pop_active);
        add(&mut self.pop_spikes, &o.pop_spikes);
        add(&mut self.pop_packets, &o.pop_packets);
        add(&mut self.pop_loopback, &o.pop_loopback);
        add(&mut self.pop_received, &o.pop_received);
        add(&mut self.pop_busy, &o.pop_busy);
        for (a, b) in self.pop_reads_by_kind.iter_mut().zip(&o.pop_reads_by_kind) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        for (a, b) in self.pop_hops.iter_mut().zip(&o.pop_hops) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
    }
}

/// The critical-path core of a step from each core's last finish (cycle its last work
/// ended); `None` when no core did anything.
pub(crate) fn critical_core(finish: &[u64]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (c, &f) in finish.iter().enumerate() {
        if f > 0 && best.is_none_or(|b| f > finish[b]) {
            best = Some(c);
        }
    }
    best
}

/// Per population, the cores (`map.cores` indices, ascending) holding its units.
fn pop_cores(lay: &Layout) -> Vec<Vec<usize>> {
    lay.pop_units
        .iter()
        .map(|us| {
            let mut cs: Vec<usize> = us.iter().map(|&u| lay.units[u as usize].core as usize).collect();
            cs.sort_unstable();
            cs.dedup();
            cs
        })
        .collect()
}

/// The layers: every population but the input, in model (population) order.
fn layer_pops(map: &CoreMap) -> impl Iterator<Item = usize> + '_ {
    (0..map.populations.len()).filter(move |&p| p as u32 != map.input)
}

/// Critical steps per layer: steps whose critical core (`critical[k]`, a `map.cores` index
/// or NONE) holds one of the layer's units.
fn critical_by_pop(lay: &Layout, cores_of: &[Vec<usize>], critical: &[u32]) -> Vec<u64> {
    let n_cores = lay.map.cores.len();
    let mut per_core = vec![0u64; n_cores];
    for &c in critical {
        if c != NONE {
            per_core[c as usize] += 1;
        }
    }
    cores_of.iter().map(|cs| cs.iter().map(|&c| per_core[c]).sum()).collect()
}

/// The stats' per-core and per-layer lists from the merged tally and each step's critical
/// core (`map.cores` index, NONE for a step without core work).
pub(crate) fn finish(lay: &Layout, t: &Tally, critical: &[u32]) -> (Vec<CoreActivity>, Vec<LayerActivity>) {
    let map = lay.map;
    let cores_of = pop_cores(lay);
    let mut core_layers: Vec<Vec<String>> = vec![Vec::new(); map.cores.len()];
    for p in layer_pops(map) {
        for &c in &cores_of[p] {
            core_layers[c].push(map.populations[p].name.clone());
        }
    }
    let mut core_critical = vec![0u64; map.cores.len()];
    for &c in critical {
        if c != NONE {
            core_critical[c as usize] += 1;
        }
    }
    let cores = map
        .cores
        .iter()
        .enumerate()
        .map(|(c, core)| CoreActivity {
            core: core.core.to_string(),
            layers: std::mem::take(&mut core_layers[c]),
            busy_cycles: t.core_busy[c],
            critical_path_steps: core_critical[c],
            synapse_reads: t.core_reads[c],
            neuron_updates: t.core_updates[c],
            spikes: t.core_spikes[c],
            packets: t.core_packets[c],
            loopback_packets: t.core_loopback[c],
        })
        .collect();
    let crit = critical_by_pop(lay, &cores_of, critical);
    let layers = layer_pops(map)
        .map(|p| {
            let ev = StepEvents {
                synapse_reads_by_kind: t.pop_reads_by_kind[p],
                pool_entries: t.pop_pool_entries[p],
                neuron_updates: t.pop_updates[p],
                active_neurons: t.pop_active[p],
                spikes: t.pop_spikes[p],
                built: t.pop_packets[p] + t.pop_loopback[p],
                received: t.pop_received[p],
                hops: t.pop_hops[p],
                cycles: 0,
            };
            let mut energy_pj = step_energy(&lay.target, &ev);
            // Static energy belongs to the chip, not to a layer.
            energy_pj.static_ = None;
            LayerActivity {
                population: map.populations[p].name.clone(),
                cores: cores_of[p].iter().map(|&c| map.cores[c].core.to_string()).collect(),
                sops_weight_layers: t.pop_sops_weight[p],
                sops_pooling: t.pop_sops_pool[p],
                synapse_reads: ev.synapse_reads_by_kind.iter().sum(),
                neuron_updates: t.pop_updates[p],
                spikes: t.pop_spikes[p],
                packets: t.pop_packets[p],
                loopback_packets: t.pop_loopback[p],
                received_packets: t.pop_received[p],
                busy_cycles: t.pop_busy[p],
                energy_pj,
                critical_path_steps: crit[p],
            }
        })
        .collect();
    (cores, layers)
}

/// The bottleneck layer: most critical-path steps, ties broken by most busy cycles, then
/// model order; `None` without layers or when no step had a critical core.
pub fn bottleneck(layers: &[LayerActivity]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, l) in layers.iter().enumerate() {
        let key = (l.critical_path_steps, l.busy_cycles);
        if key.0 > 0 && best.is_none_or(|b| key > (layers[b].critical_path_steps, layers[b].busy_cycles)) {
            best = Some(i);
        }
    }
    best
}
