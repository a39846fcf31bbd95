//! The mapping report (`--report R.json`): cores used against the lower bound, per-resource
//! utilisation over cores, hop traffic of the chosen placement and of the sequential
//! baseline, routing load, per-layer pieces and timings.
//!
//! Needs: an emitted core map and the figures gathered by [`super::compile`]. Establishes:
//! utilisation = usage ÷ the capacity of the core's own type (resources a core type does not
//! limit are left out); `cores_ratio` = `cores_used / cores_lower_bound`; `chips_used` counts
//! chips holding a used core, `chips_lower_bound` is the cores bound in whole chips.

use std::collections::BTreeMap;

use serde::Serialize;
use spikeforge_targets::coremap::{CoreMap, CoreUsage, ProjectionKind};
use spikeforge_targets::{CoreSpec, Target};

use super::bound::Demand;

pub const REPORT_FORMAT: &str = "spikeforge-map-report";
pub const REPORT_VERSION: u32 = 1;

/// Min, mean and max over used cores of usage ÷ capacity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Utilisation {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    /// Cores whose type limits this resource.
    pub cores: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PieceReport {
    pub core: String,
    pub first: u32,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    pub name: String,
    pub model: String,
    pub neurons: u32,
    pub pieces: Vec<PieceReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectionReport {
    pub name: String,
    pub kind: String,
    pub source: String,
    pub target: String,
    pub recurrent: bool,
    pub events: u32,
    pub pooling_ops: u64,
    pub synapses: u64,
}

/// Seconds spent in each phase of [`super::compile`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PhaseSeconds {
    pub lower: f64,
    pub partition: f64,
    pub traffic: f64,
    pub place: f64,
    pub place_sequential: f64,
    pub route: f64,
    pub emit: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapReport {
    pub format: &'static str,
    pub version: u32,
    pub model: String,
    pub target: String,
    pub placement: String,
    /// `calibration` (spike counts of a reference run) or `fan-out` (1 spike per neuron).
    pub traffic_source: String,
    pub neurons: u64,
    pub synapses: u64,
    pub populations: usize,
    pub projections: usize,
    pub cores_used: usize,
    pub cores_available: u32,
    pub cores_lower_bound: u64,
    pub lower_bound_resource: String,
    pub cores_ratio: f64,
    /// The target's grid of chips `[x, y]`.
    pub chips: [u32; 2],
    /// Chips holding at least one used core.
    pub chips_used: u64,
    /// `⌈cores_lower_bound ÷ cores per chip⌉`: no mapping uses fewer chips.
    pub chips_lower_bound: u64,
    pub demand: Vec<Demand>,
    pub utilisation: BTreeMap<String, Utilisation>,
    /// Σ expected packets × XY hops of the chosen placement.
    pub hop_traffic: f64,
    /// The same for the sequential baseline placement.
    pub hop_traffic_sequential: f64,
    /// Σ expected packets × links used by the routes (shared multicast links once).
    pub routed_hop_traffic: f64,
    pub max_router_entries: u32,
    pub max_link_load: f64,
    pub partition_passes: usize,
    pub layers: Vec<LayerReport>,
    pub projection_details: Vec<ProjectionReport>,
    pub mapping_seconds: f64,
    pub phase_seconds: PhaseSeconds,
}

/// Chips holding at least one of the map's cores.
pub fn chips_used(map: &CoreMap, target: &Target) -> u64 {
    let chips: std::collections::BTreeSet<[u32; 2]> = map.cores.iter().map(|c| target.coord(c.core).chip).collect();
    chips.len() as u64
}

/// `(name, usage, capacity)` of each resource a core's type limits.
pub fn usage_rows(u: &CoreUsage, spec: &CoreSpec) -> Vec<(&'static str, u64, u64)> {
    let mut v = vec![
        ("neurons", u.neurons as u64, spec.max_neurons as u64),
        ("synapse_bits", u.synapse_bits, spec.synapse_memory_bits),
        ("neuron_state_bits", u.neuron_state_bits, spec.max_neurons as u64 * spec.neuron_state_bits as u64),
        ("in_axons", u.in_axons as u64, spec.in_axons as u64),
        ("out_axons", u.out_axons as u64, spec.out_axons as u64),
    ];
    if let Some(r) = spec.routing_entries {
        v.push(("routing_entries", u.routing_entries as u64, r as u64));
    }
    v
}

/// Utilisation per resource over the map's cores.
pub fn utilisation(map: &CoreMap, target: &Target) -> BTreeMap<String, Utilisation> {
    let mut acc: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    for c in &map.cores {
        for (name, used, cap) in usage_rows(&c.usage, target.core(c.core)) {
            acc.entry(name).or_default().push(used as f64 / cap.max(1) as f64);
        }
    }
    acc.into_iter()
        .map(|(k, v)| {
            let u = Utilisation {
                min: v.iter().copied().fold(f64::INFINITY, f64::min),
                mean: v.iter().sum::<f64>() / v.len() as f64,
                max: v.iter().copied().fold(0.0, f64::max),
                cores: v.len(),
            };
            (k.to_string(), u)
        })
        .collect()
}

pub fn kind_name(k: ProjectionKind) -> &'static str {
    match k {
        ProjectionKind::Dense => "dense",
        ProjectionKind::Sparse => "sparse",
        ProjectionKind::Conv => "conv",
        ProjectionKind::Pooling => "pooling",
        ProjectionKind::PartialSum => "partial sum",
        ProjectionKind::Weightless => "weightless",
    }
}

/// Per-layer pieces and per-projection sizes of a map; `synapses` per projection, as the
/// lowered network counted them (the map's own count,
/// [`CoreMap::synapses_per_projection`], walks every unrolled synapse).
pub fn layers_and_projections(map: &CoreMap, synapses: Vec<u64>) -> (Vec<LayerReport>, Vec<ProjectionReport>) {
    let layers = map
        .populations
        .iter()
        .map(|p| LayerReport {
            name: p.name.clone(),
            model: format!("{:?}", p.model),
            neurons: p.n_neurons,
            pieces: p
                .pieces
                .iter()
                .map(|x| PieceReport { core: x.core.to_string(), first: x.first, count: x.count })
                .collect(),
        })
        .collect();
    let projections = map
        .projections
        .iter()
        .zip(synapses)
        .map(|(p, s)| ProjectionReport {
            name: p.name.clone(),
            kind: kind_name(p.kind).into(),
            source: map.populations[p.source as usize].name.clone(),
            target: map.populations[p.target as usize].name.clone(),
            recurrent: p.recurrent,
            events: p.n_events,
            pooling_ops: p.pool.as_ref().map_or(0, |x| x.event.len() as u64),
            synapses: s,
        })
        .collect();
    (layers, projections)
}
