//! The mapper: from a verified IR to a core map under the target's hard limits.
//!
//! Pipeline ([`compile`]): [`lower`] the IR to populations and projections, [`split`] the
//! fan-in of neurons larger than a core into chains of partial sums, [`partition`]
//! populations into core loads (counting memory with the target's exact encoding), check
//! the core counts, estimate [`traffic`] (from a calibration run or fan-out), [`place`] the
//! loads on the mesh minimising hop-weighted traffic (and, for comparison, place them
//! sequentially), [`route`] the flows (XY, multicast trees where the target has them,
//! router tables within limits), [`emit`] the core map, and [`report`] on it. The human
//! summary is [`render_summary`].
//!
//! A placement unit ("piece" in [`place`]) is a core load: contiguous neuron ranges of one
//! or more populations that share a core (one segment per population: a range, or one range
//! per channel of a spatial tile; see [`fill`]).

pub mod accounting;
pub mod bound;
pub mod chips;
pub mod counting;
pub mod emit;
pub mod error;
pub mod fill;
pub mod lower;
pub mod partition;
pub mod place;
pub mod render;
pub mod report;
pub mod route;
pub mod sparse;
pub mod split;
pub mod tiling;
pub mod traffic;

use std::time::Instant;

use spikeforge_targets::coremap::CoreMap;
use spikeforge_targets::Target;

pub use chips::{compile_auto, near_square, AutoChipsError, ChipsChoice};
pub use error::{CoreShortfall, MapError, Resource};
pub use place::PlacementMethod;
pub use render::render_summary;
pub use report::MapReport;
pub use traffic::calibration_from_run;

use crate::exec::Dynamics;
use crate::ir::{Graph, Verified};

/// How to compile.
#[derive(Clone, Debug, PartialEq)]
pub struct CompileOptions {
    /// `Sequential` is the baseline; for `Optimized`, the seed is [`CompileOptions::seed`].
    pub placement: PlacementMethod,
    /// Events per IR node (indexed by `NodeId::index`) from an executor run, see
    /// [`calibration_from_run`]; without it every neuron counts as one spike.
    pub calibration: Option<Vec<u64>>,
    /// Seed of the optimizing placement.
    pub seed: u64,
    /// The model file name recorded in the map.
    pub model: String,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            placement: PlacementMethod::Optimized { seed: 0 },
            calibration: None,
            seed: 0,
            model: String::new(),
        }
    }
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Compiles a verified graph to a core map for `target`, with a report.
pub fn compile(
    graph: &Graph,
    verified: &Verified,
    target: &Target,
    dynamics: Dynamics,
    opts: &CompileOptions,
) -> Result<(CoreMap, MapReport), MapError> {
    let start = Instant::now();
    check_calibration(graph, opts)?;
    let mut phases = report::PhaseSeconds::default();
    let t = Instant::now();
    let net = split::split_fan_in(lower::lower(graph, verified, &dynamics)?, target)?;
    phases.lower = secs(t);

    let t = Instant::now();
    let part = partition::partition(&net, target)?;
    chips::check_core_counts(&net, &part, target)?;
    phases.partition = secs(t);
    finish(net, &part, target, &dynamics, opts, phases, start)
}

fn check_calibration(graph: &Graph, opts: &CompileOptions) -> Result<(), MapError> {
    match &opts.calibration {
        Some(c) if c.len() != graph.id_bound() => {
            Err(MapError::Calibration { got: c.len(), expected: graph.id_bound() })
        }
        _ => Ok(()),
    }
}

/// The stages after a partition that fits `target`'s cores: traffic, placement, routes,
/// the core map and the report.
fn finish(
    mut net: lower::Network,
    part: &partition::Partition,
    target: &Target,
    dynamics: &Dynamics,
    opts: &CompileOptions,
    mut phases: report::PhaseSeconds,
    start: Instant,
) -> Result<(CoreMap, MapReport), MapError> {
    let t = Instant::now();
    let tr = traffic::traffic(&net, part, opts.calibration.as_deref());
    let problem = place::PlacementProblem {
        target,
        piece_core_type: part.bins.iter().map(|b| b.core_type).collect(),
        traffic: tr.pairs,
    };
    phases.traffic = secs(t);

    let method = match opts.placement {
        PlacementMethod::Optimized { .. } => PlacementMethod::Optimized { seed: opts.seed },
        m => m,
    };
    let t = Instant::now();
    let placement = place::place(&problem, method)?;
    phases.place = secs(t);
    let t = Instant::now();
    let sequential = match method {
        PlacementMethod::Sequential => placement.clone(),
        _ => place::place(&problem, PlacementMethod::Sequential)?,
    };
    phases.place_sequential = secs(t);
    let hop_traffic = place::hop_traffic(&problem, &placement);
    let hop_traffic_sequential = place::hop_traffic(&problem, &sequential);

    let t = Instant::now();
    let routes = route::route(target, &placement, &tr.flows)?;
    phases.route = secs(t);

    let demands = bound::demands(&net, target);
    let (neurons, synapses) = (net.n_neurons(), net.n_synapses());
    let synapses_per_projection: Vec<u64> = net.projections.iter().map(|p| p.n_synapses).collect();
    let t = Instant::now();
    let map = emit::emit(&mut net, part, &placement, target, dynamics, &opts.model);
    phases.emit = secs(t);

    let (cores_lower_bound, lower_bound_resource) = bound::lower_bound(&demands, neurons > 0);
    let (layers, projection_details) = report::layers_and_projections(&map, synapses_per_projection);
    let report = MapReport {
        format: report::REPORT_FORMAT,
        version: report::REPORT_VERSION,
        model: opts.model.clone(),
        target: target.name().to_string(),
        placement: match method {
            PlacementMethod::Sequential => "sequential".into(),
            PlacementMethod::Optimized { seed } => format!("optimized (seed {seed})"),
        },
        traffic_source: if opts.calibration.is_some() { "calibration" } else { "fan-out" }.into(),
        neurons,
        synapses,
        populations: net.populations.len(),
        projections: net.projections.len(),
        cores_used: map.cores.len(),
        cores_available: target.num_cores(),
        cores_lower_bound,
        lower_bound_resource,
        cores_ratio: if cores_lower_bound == 0 { 0.0 } else { map.cores.len() as f64 / cores_lower_bound as f64 },
        chips: target.spec().grid.chips,
        chips_used: report::chips_used(&map, target),
        chips_lower_bound: bound::chips_lower_bound(cores_lower_bound, target),
        demand: demands,
        utilisation: report::utilisation(&map, target),
        hop_traffic,
        hop_traffic_sequential,
        routed_hop_traffic: routes.hop_traffic,
        max_router_entries: routes.router_entries.values().copied().max().unwrap_or(0),
        max_link_load: routes.link_load.values().copied().fold(0.0, f64::max),
        partition_passes: part.passes,
        layers,
        projection_details,
        mapping_seconds: secs(start),
        phase_seconds: phases,
    };
    Ok((map, report))
}
