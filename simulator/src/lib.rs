//! spikeforge's cycle-level, event-driven chip simulator.
//!
//! [`simulate`] runs a core map (see `spikeforge_targets::coremap`) on the target it was
//! compiled for and reports what the chip would compute and what it would cost:
//!
//! * **Function** ([`func`], [`exact`], [`hardware`]): every time step, populations update
//!   in order. In same-step timing (NIR's semantics) a projection's events reach its target
//!   in the same step (recurrent projections: the next step); [`NumericMode::Exact`] is then
//!   bit-identical to the reference executor. In pipelined timing (Loihi, SANA-FE) every
//!   projection's events reach the target in the next step, so a feed-forward layer `k`
//!   spikes as the reference's layer `k` did `k` steps earlier (chosen by
//!   [`SimOptions::timing`] or the target's `timing.mode`). [`NumericMode::Hardware`] uses
//!   the target's fixed-point arithmetic.
//! * **Timing** ([`engine`], [`processor`]): each step is an event-driven simulation of cores
//!   (synaptic ops, neuron updates, packet injection), routers and links (XY routing,
//!   per-router and per-link latency, link bandwidth, finite buffers with back-pressure,
//!   multicast, chip-to-chip links), in waves: a unit updates only once its inputs of the
//!   step have arrived (in pipelined timing every unit is ready at once, and a step is the
//!   busiest core's work and the network's). A step ends with barrier synchronisation; its
//!   latency is its critical path plus the barrier (`barrier_cycles`, or
//!   `barrier_cycles_by_tiles` for the tiles the map uses). Samples run back to back from a reset state.
//! * **Cost** ([`stats`]): SOPs (NeuroBench Effective_ACs), neuron updates, spikes,
//!   packets, hops, link utilisation, stalls, cycles, latency, energy by component,
//!   memory per core. [`writers`] emit the stats JSON, a per-step CSV, a VCD of spikes and
//!   a Perfetto trace of packets on links.
//!
//! **Threads** (`pipeline`). Steps are timed in rounds: the engines of a round time
//! their steps in parallel (each step starts from empty queues after its barrier, so its
//! timing depends on its own events only) while the functional pass computes the next
//! round's steps in order, spreading a layer's deliveries over its cores. Results are
//! byte-identical for any thread count.
//!
//! Spike conservation is checked every step (every destination of every injected packet
//! is delivered and processed); a step that cannot progress is reported as a deadlock with
//! its cycle and the blocked routers and cores, never a hang.

pub mod attribution;
mod conv_event;
pub mod engine;
mod error;
pub mod exact;
pub mod func;
pub mod hardware;
pub mod layout;
mod options;
mod packets;
mod pipeline;
pub mod processor;
mod queue;
mod router;
pub mod stats;
pub mod sweep;
pub mod synthetic;
mod trace;
pub mod writers;

pub use attribution::bottleneck;
pub use error::SimError;
pub use options::{NumericMode, SimOptions, TraceOptions};
pub use spikeforge_targets::TimingMode;
pub use stats::{CoreActivity, CoreMemory, EnergyPj, LayerActivity, LayerSpikes, LinkLoad, SimStats, StepRow};
pub use trace::{TraceData, TracedSpikes};
pub use writers::{
    perfetto_json, steps_csv, vcd_text, write_atomically, write_perfetto, write_stats_json, write_steps_csv, write_vcd,
};

use serde::Serialize;
use spikeforge_targets::coremap::CoreMap;

use crate::layout::Layout;

/// What a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct SimResult {
    /// Output population values, `[N, T, n_out]` in C order (spikes as 0/1; membrane
    /// potential or current for graded models).
    pub outputs: Vec<f64>,
    pub output_shape: [usize; 3],
    /// Spikes per spiking population, `[N, T, n_spiking_populations]` in C order.
    pub layer_spikes: Vec<u64>,
    /// Names of the spiking populations (the last axis of `layer_spikes`).
    pub layer_names: Vec<String>,
    pub stats: SimStats,
    /// One row per (sample, step).
    pub steps: Vec<StepRow>,
    #[serde(skip)]
    pub trace: TraceData,
}

/// Runs `n_samples` samples of `n_steps` steps; `input` is `[N, T, n_input_neurons]` in C
/// order. The map is validated first (hand-built maps are welcome).
pub fn simulate(
    map: &CoreMap,
    input: &[f64],
    n_samples: usize,
    n_steps: usize,
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| SimError::InvalidMap(format!("cannot start {} worker threads: {e}", opts.threads)))?;
    pool.install(|| simulate_in_pool(map, input, n_samples, n_steps, opts))
}

/// [`simulate`] on the current thread pool (set-up included: it builds per-core tables in
/// parallel).
fn simulate_in_pool(
    map: &CoreMap,
    input: &[f64],
    n_samples: usize,
    n_steps: usize,
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    let timing = opts.timing.unwrap_or(map.target.timing.mode);
    let lay = Layout::new(map, timing)?;
    let n_in = map.populations[map.input as usize].n_neurons as usize;
    let expected = n_samples.checked_mul(n_steps).and_then(|x| x.checked_mul(n_in));
    if expected != Some(input.len()) {
        return Err(SimError::InputShape {
            got: input.len(),
            expected: expected.unwrap_or(usize::MAX),
            samples: n_samples,
            steps: n_steps,
            neurons: n_in,
        });
    }
    if let Some((index, &value)) = input.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SimError::InputNotFinite { index, value });
    }
    match opts.mode {
        NumericMode::Exact => pipeline::run(&lay, exact::Exact::new(&lay), 0, input, n_samples, n_steps, opts),
        NumericMode::Hardware => {
            let hw = hardware::Hardware::new(&lay)?;
            let saturated = hw.saturated;
            pipeline::run(&lay, hw, saturated, input, n_samples, n_steps, opts)
        }
    }
}
