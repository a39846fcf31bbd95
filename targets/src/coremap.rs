//! The core map: the compiled program a mapper emits and a simulator runs.
//!
//! A core map is self-contained: it embeds the target description and the discretisation,
//! so `simulate` needs nothing else. Its structure follows how neuromorphic cores work:
//!
//! * A **population** is a group of neurons of one model (an IR neuron node, or the input).
//!   It is split into **pieces**, contiguous neuron ranges each placed on one core.
//! * A **projection** carries one population's output to another's input. Its source side
//!   may first *pool* the source values into **events** (as Speck pools at the core output);
//!   without pooling, events are the source neurons themselves. Each event is routed to the
//!   cores that hold its targets (`fanout`), arriving on one **axon** per core.
//! * A **core program** holds its neurons' coefficients (already discretised: see
//!   [`NeuronParams`]) and its axon table ([`AxonTable`], runs of axons): for each incoming
//!   axon, the synapses (local target neuron, weight) it drives.
//!
//! Semantics of one time step (what the reference executor computes): populations are
//! updated in index order; a population's input current is its bias plus, for every
//! projection into it, `Σ event_value × weight` over the events its source produced this
//! step (or at the previous step, for a `recurrent` projection). Events with value 0 are not
//! sent. Invariants (checked by [`CoreMap::validate`], the gate for files read from disk):
//! every index is in range, CSR offsets are monotone, every non-input neuron is on exactly
//! one core, every synapse target is a neuron of the projection's target population.

use serde::{Deserialize, Serialize};

use crate::chip::TargetSpec;
use crate::conv_synapses::ConvSynapses;
use crate::mesh::CoreId;

pub use crate::axons::{Axon, AxonRun, AxonTable, SynapseTargets, SynapseWeights, TargetSlice};

/// Format versions: 1 the first; 2 populations carry their `NeuronRule`, convolutional
/// projections are symbolic ([`Projection::conv`]) and the file ends in a length + CRC-32
/// trailer; 3 axon tables are runs of consecutive events (a convolution's axons cost a run,
/// not a record each) and weights are `f32` where lossless (see [`crate::axons`]); 4 the
/// embedded target carries the timing mode and the per-event cost model (`Timing`,
/// `Energy`); 5 projections without weights or pooling (identity shortcuts) have their own
/// kind, [`ProjectionKind::Weightless`], which counts no SOPs; 6 synapse targets are 16-bit
/// where every local index fits ([`SynapseTargets`]). Older versions are refused with their number (recompile the model).
pub const CORE_MAP_VERSION: u32 = 6;
/// File signature: `SFCOREMAP` then the version as 4 little-endian bytes, then postcard.
pub const CORE_MAP_MAGIC: &[u8; 9] = b"SFCOREMAP";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeuronModel {
    /// External input: values come from the input array; no core holds them.
    Input,
    /// Output equals input current each step (a linear readout with no neuron after it).
    Identity,
    LIF,
    LI,
    IF,
    I,
    CubaLIF,
    CubaLI,
}

impl NeuronModel {
    /// Emits binary spikes (others emit graded values: membrane potential or input).
    pub fn is_spiking(self) -> bool {
        matches!(self, NeuronModel::LIF | NeuronModel::IF | NeuronModel::CubaLIF)
    }
    /// Floats of state per neuron.
    pub fn state_len(self) -> usize {
        match self {
            NeuronModel::Input | NeuronModel::Identity => 0,
            NeuronModel::CubaLIF | NeuronModel::CubaLI => 2,
            _ => 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetRule {
    ToVReset,
    Subtract,
    /// The whole update of the step after a spike is discarded: `v ← v_reset` (snnTorch's
    /// `reset_mechanism="zero"` for Synaptic, RLeaky and RSynaptic). Only with a delayed
    /// [`ResetTiming`]; immediate timing treats it as `ToVReset`.
    Discard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpikeTest {
    /// `v > v_threshold`
    Strict,
    /// `v ≥ v_threshold`
    NonStrict,
}

/// The discretisation the coefficients were computed with. `reset` and `spike_test` are the
/// run's flags; each population's [`NeuronRule`] is what its neurons actually do.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapDynamics {
    pub dt_s: f64,
    pub reset: ResetRule,
    pub spike_test: SpikeTest,
    /// The named semantics (`nir`, `snntorch`, …) the rules were resolved from.
    pub semantics: SemanticsName,
}

/// The frameworks whose simulators spikeforge reproduces; the compiler's
/// `exec::semantics` resolves each into per-neuron [`NeuronRule`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SemanticsName {
    #[default]
    Nir,
    SnnTorch,
    SpikingJelly,
    Sinabs,
    Norse,
    Rockpool,
    Lava,
}

impl SemanticsName {
    pub const ALL: [SemanticsName; 7] = [
        SemanticsName::Nir,
        SemanticsName::SnnTorch,
        SemanticsName::SpikingJelly,
        SemanticsName::Sinabs,
        SemanticsName::Norse,
        SemanticsName::Rockpool,
        SemanticsName::Lava,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SemanticsName::Nir => "nir",
            SemanticsName::SnnTorch => "snntorch",
            SemanticsName::SpikingJelly => "spikingjelly",
            SemanticsName::Sinabs => "sinabs",
            SemanticsName::Norse => "norse",
            SemanticsName::Rockpool => "rockpool",
            SemanticsName::Lava => "lava",
        }
    }
}

impl std::fmt::Display for SemanticsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SemanticsName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        SemanticsName::ALL.iter().copied().find(|x| x.name() == lower).ok_or_else(|| {
            let names: Vec<&str> = SemanticsName::ALL.iter().map(|x| x.name()).collect();
            format!("unknown semantics `{s}` (use one of {})", names.join(", "))
        })
    }
}

/// The arithmetic form of a leaky update (`decay` and `gain` as in [`NeuronParams`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UpdateForm {
    /// Forward Euler: `v ← v + decay·(v_leak − v) + gain·I`; Cuba*:
    /// `i ← i + syn_decay·(w_in·I − i)`.
    #[default]
    Euler,
    /// A decay factor: `v ← (1 − decay)·v + decay·v_leak + gain·I`; Cuba*:
    /// `i ← (1 − syn_decay)·i + (syn_decay·w_in)·I` (snnTorch, Sinabs: `β·v + I`).
    Multiply,
    /// Norse's Euler step: the input jumps the current first and the decay multiplies the
    /// whole bracket, with `r = gain/decay`: LIF `v + decay·((r·I + v_leak) − v)`; LI
    /// `v + decay·((v_leak − v) + r·I)`; Cuba* `i' = i + w_in·I`,
    /// `v + decay·((v_leak − v) + r·i')`, then `i ← i' − syn_decay·i'`.
    JumpThenEuler,
    /// Rockpool's update: the input jumps the current, then both decay by their factor:
    /// LIF `(1 − decay)·v + gain·I + decay·v_leak`; LI (ExpSynTorch)
    /// `(1 − decay)·(v + gain·I) + decay·v_leak`; Cuba* `i ← (1 − syn_decay)·(i + w_in·I)`,
    /// `(1 − decay)·v + gain·i + decay·v_leak`.
    JumpThenDecay,
    /// Lava's CUBA LIF behind its `Dense`, which delivers a step late: the voltage takes the
    /// current of the previous step, `(1 − decay)·v + gain·i + decay·v_leak`, and then
    /// `i ← (1 − syn_decay)·i + (syn_decay·w_in)·I`. LIF and LI (no current) as
    /// `JumpThenDecay`, without the lag.
    CurrentLagged,
}

/// When the reset of a spike at step t is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResetTiming {
    /// At step t, right after the spike test (NIR, SpikingJelly, Sinabs, Norse).
    #[default]
    Immediate,
    /// At step t+1, on the updated state, when the stored state is above threshold
    /// (snnTorch `reset_delay=True`): `r = v[t−1] > θ`, then `v[t] = update(v[t−1])` and
    /// Subtract: `v[t] −= r·θ`; ToVReset: `v[t−1] ← v_reset` before the update;
    /// Discard: `v[t] ← v_reset` after it.
    Delayed,
    /// snnTorch `reset_delay=False`: as `Delayed`, then `v[t] −= (s − r)·θ` (Subtract) or
    /// `v[t] −= (s − r)·v[t]` (ToVReset, Discard), `s` the spike at t.
    DelayedCorrected,
}

/// How a population's neurons update: a framework's rule for one neuron type, resolved by
/// the compiler (see its `exec::semantics` table) and evaluated the same way by the
/// reference executor and the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuronRule {
    pub form: UpdateForm,
    pub reset: ResetRule,
    pub timing: ResetTiming,
    pub spike_test: SpikeTest,
    /// Several spikes per step: `n = trunc(v/θ)` for `v > 0`, the output is `n` (a graded
    /// event) and the reset subtracts `n·θ` (Sinabs `MultiSpike`).
    pub multi_spike: bool,
}

impl Default for NeuronRule {
    fn default() -> Self {
        NeuronRule {
            form: UpdateForm::Euler,
            reset: ResetRule::ToVReset,
            timing: ResetTiming::Immediate,
            spike_test: SpikeTest::Strict,
            multi_spike: false,
        }
    }
}

/// A contiguous range of a population's neurons on one core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    pub core: CoreId,
    /// First neuron of the range (population index).
    pub first: u32,
    pub count: u32,
    /// Index of the first neuron among the core's local neurons.
    pub local_offset: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// The IR node it comes from.
    pub name: String,
    pub model: NeuronModel,
    /// The node's shape (C order); `n_neurons` is its product.
    pub shape: Vec<usize>,
    pub n_neurons: u32,
    /// Empty for the input population.
    pub pieces: Vec<Piece>,
    /// How its neurons update (unused by Input and Identity).
    pub rule: NeuronRule,
}

/// What a projection's synaptic events count as (NeuroBench: weight layers and pooling
/// are reported separately).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectionKind {
    Dense,
    Sparse,
    Conv,
    /// A pooling map (AvgPool2d / SumPool2d among its nodes) with no weight layer after it.
    Pooling,
    /// One-to-one, weight 1: a neuron's partial input sum passed to the next core of its
    /// chain (see `CoreSpec::partial_sums`). Traffic and synapse reads, but no SOPs.
    PartialSum,
    /// A fixed map with neither weights nor pooling: an identity edge (a residual shortcut
    /// straight into a spiking layer), a flatten or a scale. Traffic and synapse reads, but
    /// no SOPs: NeuroBench's Effective_ACs count weight and pooling layers only.
    Weightless,
}

/// Source-side pooling: source neuron `j` adds `factor[k] × value_j` to event `event[k]` for
/// `k in start[j]..start[j+1]`. Each entry is one pooling operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourcePool {
    pub start: Vec<u32>,
    pub event: Vec<u32>,
    pub factor: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// The IR nodes it was lowered from, e.g. `2+3` for AvgPool2d then Conv2d.
    pub name: String,
    pub kind: ProjectionKind,
    pub source: u32,
    pub target: u32,
    /// Events produced at step t are delivered at step t+1 (a recurrent edge).
    pub recurrent: bool,
    pub n_events: u32,
    pub pool: Option<SourcePool>,
    /// CSR over events: destinations `fanout[fanout_start[e]..fanout_start[e+1]]`.
    pub fanout_start: Vec<u32>,
    pub fanout: Vec<Destination>,
    /// A convolution kept symbolic: its axons carry no explicit synapses; an axon of event
    /// `e` on a core drives every nonzero kernel synapse from `e` into the target
    /// population's neurons on that core (see [`crate::conv_synapses`]).
    pub conv: Option<ConvSynapses>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub core: CoreId,
    /// Axon index in that core's axon table.
    pub axon: u32,
}

/// Per-local-neuron coefficients, structure of arrays. Already discretised:
/// `v ← v + decay·(v_leak − v) + gain·I` (LIF/LI/Cuba*, where `decay = dt/τ_mem` and
/// `gain = decay·r`), `v ← v + gain·I` (IF/I, `gain = dt·r`), Cuba*: first
/// `i_syn ← i_syn + syn_decay·(w_in·I − i_syn)` and I = the new `i_syn`. `I` = `bias` +
/// synaptic input. Vectors a model does not use are empty for that core only if no neuron
/// on the core uses them; otherwise they hold one value per local neuron (unused = 0).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct NeuronParams {
    pub decay: Vec<f64>,
    pub gain: Vec<f64>,
    pub v_leak: Vec<f64>,
    pub v_threshold: Vec<f64>,
    pub v_reset: Vec<f64>,
    pub bias: Vec<f64>,
    pub syn_decay: Vec<f64>,
    pub w_in: Vec<f64>,
}

/// Resources a core program uses, counted with the target's encoding formulas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CoreUsage {
    pub neurons: u32,
    pub synapse_bits: u64,
    pub neuron_state_bits: u64,
    pub in_axons: u32,
    pub out_axons: u32,
    pub routing_entries: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreProgram {
    pub core: CoreId,
    /// Population of each local neuron range, in local order: (population, first, count).
    pub groups: Vec<(u32, u32, u32)>,
    pub params: NeuronParams,
    pub axons: AxonTable,
    pub usage: CoreUsage,
}

impl CoreProgram {
    pub fn n_neurons(&self) -> u32 {
        self.groups.iter().map(|g| g.2).sum()
    }
    /// Explicit synapses (a symbolic convolution's are not among them).
    pub fn n_synapses(&self) -> usize {
        self.axons.syn_target.len()
    }

    /// The ranges `(first, count, local_offset)` of population `pop` on this core.
    pub fn ranges_of(&self, pop: u32) -> Vec<(u32, u32, u32)> {
        let mut off = 0;
        let mut out = Vec::new();
        for &(p, first, count) in &self.groups {
            if p == pop {
                out.push((first, count, off));
            }
            off += count;
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoreMap {
    pub version: u32,
    pub target: TargetSpec,
    /// The model file it was compiled from.
    pub model: String,
    pub dynamics: MapDynamics,
    /// In update order; `input` and `output` index into it.
    pub populations: Vec<Population>,
    pub projections: Vec<Projection>,
    /// Used cores only, ascending by `core`.
    pub cores: Vec<CoreProgram>,
    pub input: u32,
    pub output: u32,
}

impl CoreMap {
    /// Calls `f(axon, local target, weight)` for every synapse of core `ci` (index into
    /// `cores`), explicit or symbolic, axons ascending. The map must have validated.
    pub fn for_each_synapse(&self, ci: usize, mut f: impl FnMut(usize, u32, f64)) {
        let c = &self.cores[ci];
        let a = &c.axons;
        let mut runs: Vec<(u32, Vec<crate::conv_synapses::ChannelRun>)> = Vec::new();
        for (ax, axon) in a.iter() {
            let q = axon.projection;
            let pr = &self.projections[q as usize];
            match (&pr.conv, axon.synapses) {
                (Some(conv), None) => {
                    let k = match runs.iter().position(|r| r.0 == q) {
                        Some(k) => k,
                        None => {
                            runs.push((q, conv.channel_runs(&c.ranges_of(pr.target))));
                            runs.len() - 1
                        }
                    };
                    conv.for_event(axon.event, &runs[k].1, |t, w| f(ax as usize, t, w));
                }
                (_, syn) => {
                    for k in syn.unwrap_or(0..0) {
                        f(ax as usize, a.syn_target.get(k), a.syn_weight.get(k));
                    }
                }
            }
        }
    }

    /// Synapses per axon of core `ci`, explicit or symbolic.
    pub fn axon_synapse_counts(&self, ci: usize) -> Vec<u32> {
        let mut n = vec![0u32; self.cores[ci].axons.len()];
        self.for_each_synapse(ci, |a, _, _| n[a] += 1);
        n
    }

    /// Synapses of each projection over all cores, explicit or symbolic.
    pub fn synapses_per_projection(&self) -> Vec<u64> {
        let mut n = vec![0u64; self.projections.len()];
        for ci in 0..self.cores.len() {
            let axons = &self.cores[ci].axons;
            let mut last = (u32::MAX, 0u32);
            self.for_each_synapse(ci, |a, _, _| {
                let a = a as u32;
                if last.0 != a {
                    last = (a, axons.run_of(a).projection);
                }
                n[last.1 as usize] += 1
            });
        }
        n
    }
}
