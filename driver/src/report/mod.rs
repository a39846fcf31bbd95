//! `spikeforge report`: one self-contained HTML page (inline SVG and CSS, no script, no
//! external resource) about a core map and a run of it, plus SVG/PNG exports of each plot.
//!
//! * [`chip`] — the chip's geometry from the core map: every core's usage against its
//!   capacities, and link loads placed on the mesh.
//! * [`load`] — reading the stats JSON, per-step CSV and spikes `.npy` written by
//!   `spikeforge simulate`, each checked against the core map it claims to describe.
//! * [`sim`] — running the simulator when no stats are given (or for the raster and
//!   per-step rows of one sample when they are).
//! * [`plots`] — the five pictures (heatmap, links, raster, latency, energy), drawn with
//!   plotters on any backend; [`render`] turns them into SVG text or PNG bytes.
//! * [`html`] and [`tables`] — the page and the numbers behind every picture.
//! * [`build`] — the whole report gathered and rendered in memory, for the CLI and Python.
//!
//! **Invariant:** every number a picture shows is in the table under it, and both come from
//! the same [`ReportData`]; the page references nothing outside itself.

pub mod build;
pub mod chip;
pub mod html;
pub mod load;
pub mod plots;
pub mod png_text;
pub mod render;
pub mod sim;
pub mod tables;

use spikeforge_simulator::{SimStats, StepRow};

pub use chip::ChipView;
pub use plots::energy_headline;

/// Spikes of one sample, per neuron: the raster.
#[derive(Clone, Debug, Default)]
pub struct Raster {
    /// Populations in update order: (name, neurons). Neurons are numbered from 0 within
    /// each population; the raster stacks them in this order.
    pub populations: Vec<(String, u32)>,
    /// (step, population index, neuron).
    pub spikes: Vec<(u32, u32, u32)>,
    pub n_steps: usize,
    /// Where the spikes come from (shown on the page).
    pub source: String,
}

/// Everything the page and the exports show.
#[derive(Clone, Debug)]
pub struct ReportData {
    pub map_file: String,
    pub chip: ChipView,
    pub stats: SimStats,
    /// Index of the shown sample in the run (for the raster and the per-step rows).
    pub sample: usize,
    /// Rows of the shown sample, in step order; empty when no per-step data was given.
    pub steps: Vec<StepRow>,
    /// Mean latency per step over all samples of the run (µs), when rows of the whole run
    /// are known and it has more than one sample.
    pub step_mean_latency_us: Option<Vec<f64>>,
    pub raster: Option<Raster>,
    /// Where each kind of data came from, for the page's header.
    pub sources: Vec<(String, String)>,
}

/// Why a view has no picture (shown in its place, naming the flag that provides it).
pub fn missing_note(view: &str) -> &'static str {
    match view {
        "raster" => "No spikes were given: pass --input X.npy (simulates the sample) or --spikes Y.npy.",
        "latency" => "No per-step rows were given: pass --input X.npy (simulates the sample) or --steps-csv F.csv.",
        _ => "No data was given for this view.",
    }
}
