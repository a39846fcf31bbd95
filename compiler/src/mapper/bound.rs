//! The lower bound on cores: for each resource, the network's total demand ÷ one core's
//! capacity, on the most favourable core type; the bound is the largest of these.
//!
//! Needs: a lowered network and a target. Establishes: demands counted with the target's
//! formulas as nengo-loihi's block-splitting estimate does — every population as one
//! block (its rows addressing `min(n, max_neurons)` targets, a weight-shared kernel stored
//! once), in-axons as the distinct events reaching each population, out-axons as the
//! events with at least one synapse sent by a population on cores. Splitting only adds
//! (rows and events are replicated across pieces), so no partition uses fewer cores by
//! that resource alone, up to the index width of rows whose pieces are smaller than a core.

use serde::Serialize;
use spikeforge_targets::memory;
use spikeforge_targets::{RowFormat, Target};

use super::error::Resource;
use super::lower::Network;
use super::partition::capacity;

/// One resource's demand and the cores it needs on its best core type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Demand {
    pub resource: String,
    pub demand: u64,
    pub capacity_per_core: u64,
    pub core_type: String,
    pub cores: u64,
}

/// Demands per resource (neurons, synapse memory, in-axons, out-axons).
pub fn demands(net: &Network, target: &Target) -> Vec<Demand> {
    let types = &target.spec().core_types;
    // Synapses per event of every projection.
    let per_event: Vec<Vec<u32>> = net
        .projections
        .iter()
        .map(|p| {
            let mut c = vec![0u32; p.n_events];
            for t in 0..net.populations[p.target].n {
                p.synapses.for_target(t, |e, _| c[e as usize] += 1);
            }
            c
        })
        .collect();
    let used_events = |q: usize| per_event[q].iter().filter(|&&c| c > 0).count() as u64;
    let in_axons: u64 = (0..net.projections.len()).map(used_events).sum();
    let out_axons: u64 =
        (0..net.projections.len()).filter(|&q| net.projections[q].source != net.input).map(used_events).sum();
    let mut out = Vec::new();
    for r in [Resource::Neurons, Resource::SynapseMemory, Resource::InAxons, Resource::OutAxons] {
        let mut best: Option<Demand> = None;
        for spec in types {
            let demand = match r {
                Resource::Neurons => net
                    .populations
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != net.input)
                    .map(|(_, p)| {
                        memory::neuron_entries(spec, p.grid[0] as u64, [p.grid[1] as u64, p.grid[2] as u64])
                            .unwrap_or(u64::MAX)
                    })
                    .fold(0u64, u64::saturating_add),
                Resource::SynapseMemory => net
                    .projections
                    .iter()
                    .enumerate()
                    .map(|(q, p)| {
                        let targets = (net.populations[p.target].n as u64).min(spec.max_neurons as u64).max(1);
                        match (spec.weight_sharing, p.synapses.conv()) {
                            (true, Some(g)) => memory::conv_kernel_bits_shared(spec, &g.memory_shape(g.c_out as u64))
                                .unwrap_or(u64::MAX),
                            _ => per_event[q]
                                .iter()
                                .filter(|&&s| s > 0)
                                .map(|&s| {
                                    let s = if spec.encoding.format == RowFormat::Dense { 1 } else { s as u64 };
                                    memory::row_bits(spec, s, targets).unwrap_or(u64::MAX)
                                })
                                .fold(0u64, u64::saturating_add),
                        }
                    })
                    .fold(0u64, u64::saturating_add),
                Resource::InAxons => in_axons,
                _ => out_axons,
            };
            let cap = capacity(spec, r);
            let cores = demand.div_ceil(cap.max(1));
            if best.as_ref().is_none_or(|b| cores < b.cores) {
                best = Some(Demand {
                    resource: r.name().to_string(),
                    demand,
                    capacity_per_core: cap,
                    core_type: spec.name.clone(),
                    cores,
                });
            }
        }
        out.extend(best);
    }
    out
}

/// The bound and the resource that sets it (at least one core when any neuron is on cores).
pub fn lower_bound(demands: &[Demand], any_neurons: bool) -> (u64, String) {
    let best = demands.iter().max_by_key(|d| d.cores);
    let cores = best.map_or(0, |d| d.cores).max(any_neurons as u64);
    (cores, best.map_or_else(String::new, |d| d.resource.clone()))
}
