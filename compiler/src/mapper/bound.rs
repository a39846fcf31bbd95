//! The lower bound on cores: for each resource, the network's total demand ÷ one core's
//! capacity, on the most favourable core type; the bound is the largest of these.
//!
//! Needs: a lowered network and a target. Establishes: demands no partition can undercut,
//! so `cores_used ≥ cores_lower_bound` always holds:
//!
//! * neurons: every population as one block (a piece's padded feature maps only add);
//! * in-axons: the distinct events reaching each population (each reaches ≥ 1 core);
//! * out-axons: the events with synapses sent by populations on cores (≥ 1 destination);
//! * synapse memory: per row of `s` synapses, at least `⌈s/g⌉` group headers plus `s` slots
//!   of the narrowest index the encoding offers, rounded up to whole words once for the row
//!   (a row split over pieces has at least as many groups, slots, index bits and padding);
//!   a weight-shared kernel stored once for all its output channels (padding channels only
//!   adds). This is below the exact footprint of [`spikeforge_targets::memory`] by the
//!   index widths and per-group padding the pieces end up with.

use serde::Serialize;
use spikeforge_targets::memory;
use spikeforge_targets::{CoreSpec, IndexBits, Padding, RowFormat, Target};

use super::error::Resource;
use super::lower::Network;
use super::partition::capacity;
use super::sparse::ConvGeom;

/// Fewest bits a row of `s` synapses takes however it is split (see the module docs).
fn row_lower_bits(spec: &CoreSpec, s: u64) -> u64 {
    let enc = &spec.encoding;
    let index = match enc.format {
        RowFormat::Dense => 0,
        RowFormat::Sparse { index_bits: IndexBits::Fixed(n) } => n,
        RowFormat::Sparse { index_bits: IndexBits::Fit { min, .. } } => min,
    };
    let slot = (enc.weight_bits + enc.extra_bits_per_synapse + index) as u64;
    let groups = enc.group_max_synapses.map_or(1, |g| s.div_ceil(g as u64));
    let raw = groups.saturating_mul(enc.group_header_bits as u64).saturating_add(s.saturating_mul(slot));
    match enc.padding {
        Padding::Words => raw.div_ceil(spec.synapse_word_bits as u64).saturating_mul(spec.synapse_word_bits as u64),
        Padding::None | Padding::PowerOfTwo => raw,
    }
}

/// Fewest bits of a weight-shared kernel split over pieces by output channel: the shared
/// footprint with the output channels counted exactly.
fn shared_kernel_lower_bits(spec: &CoreSpec, g: &ConvGeom) -> u64 {
    let k = (g.kernel[0] * g.kernel[1]) as u64;
    let k = match spec.encoding.padding {
        Padding::PowerOfTwo => memory::next_pow2(k).unwrap_or(u64::MAX),
        Padding::None | Padding::Words => k,
    };
    let bits = (g.cin_per_group() as u64)
        .saturating_mul(k)
        .saturating_mul(g.c_out as u64)
        .saturating_mul(spec.encoding.weight_bits as u64);
    match spec.encoding.padding {
        Padding::Words => bits.div_ceil(spec.synapse_word_bits as u64).saturating_mul(spec.synapse_word_bits as u64),
        Padding::None | Padding::PowerOfTwo => bits,
    }
}

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
                    .map(|(q, p)| match (spec.weight_sharing, p.synapses.conv()) {
                        (true, Some(g)) => shared_kernel_lower_bits(spec, g),
                        _ => per_event[q]
                            .iter()
                            .filter(|&&s| s > 0)
                            .map(|&s| row_lower_bits(spec, s as u64))
                            .fold(0u64, u64::saturating_add),
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
