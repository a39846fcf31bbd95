//! What a simulation run is asked to do: numeric mode, core model, traces, limits.

use serde::{Deserialize, Serialize};
use spikeforge_targets::TimingMode;

/// How neuron state and synaptic input are computed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NumericMode {
    /// f64, the same expressions in the same order as the reference executor: bit for bit
    /// the core map's semantics (see [`crate::exact`]).
    Exact,
    /// The target's fixed-point weights, state, decay and threshold
    /// (`spikeforge_targets::fixed`; see [`crate::hardware`]).
    Hardware,
}

/// What is recorded for the trace writers ([`crate::write_vcd`], [`crate::write_perfetto`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceOptions {
    /// Record spikes per neuron for a VCD file.
    pub vcd: bool,
    /// Record packets on links and core activity for a Perfetto / Chrome trace.
    pub perfetto: bool,
    /// The sample whose activity is recorded.
    pub sample: usize,
    /// Size limit of each trace file in bytes. Recording stops once the estimated size
    /// passes it, and the writer then refuses with [`crate::SimError::TraceTooLarge`].
    pub max_bytes: u64,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions { vcd: false, perfetto: false, sample: 0, max_bytes: 64 << 20 }
    }
}

/// Options of [`crate::simulate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimOptions {
    pub mode: NumericMode,
    /// While a core waits for room to inject a packet it keeps consuming incoming packets
    /// (separate input and output paths, the usual guarantee against message-dependent
    /// deadlock). `false` models a strictly sequential core that finishes a unit's update and
    /// packets before reading input and blocks on injection, which can deadlock with small
    /// buffers; the run then reports the cyclic wait.
    pub consume_while_stalled: bool,
    pub trace: TraceOptions,
    /// A time step that has not finished after this many cycles is reported as a livelock
    /// instead of running on.
    pub max_cycles_per_step: u64,
    /// Unused by the (deterministic) model; recorded in the stats for provenance.
    pub seed: u64,
    /// Worker threads delivering synaptic events (0 = one per CPU). Results are
    /// byte-identical for any count: each core's neurons are summed by one thread in the
    /// same order.
    #[serde(default)]
    pub threads: usize,
    /// When a spike reaches the next layer (same step or next step); `None` = what the
    /// target's `timing.mode` says its hardware does. Default: same step, so that exact
    /// mode equals the reference executor whatever the chip.
    #[serde(default = "same_step")]
    pub timing: Option<TimingMode>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            mode: NumericMode::Exact,
            consume_while_stalled: true,
            trace: TraceOptions::default(),
            max_cycles_per_step: 1 << 40,
            seed: 0,
            threads: 0,
            timing: same_step(),
        }
    }
}

fn same_step() -> Option<TimingMode> {
    Some(TimingMode::SameStep)
}
