//! Named semantics: how each framework simulates the neurons it exports to NIR.
//!
//! NIR stores neither a time step nor an update order, and every framework discretises its
//! own export differently. `--semantics NAME` (or `semantics=NAME` in a `.snn` header or a
//! golden bundle) picks one framework's rules; explicit `--dt`, `--reset`, `--spike-test`
//! and `--reset-timing` still override them. Each rule below was read from the framework's
//! source (versions in `compiler/tests/fixtures/frameworks/VERSIONS.md`); `v` is the
//! membrane, `i` the synaptic current, `I` the summed input, `θ` the threshold, and the
//! coefficients come from the NIR parameters with `a = dt/τ` (`dt/τ_mem`), `a_s = dt/τ_syn`
//! unless a row says otherwise ([`SemanticsRules::step_ratio`]).
//!
//! | semantics | dt | neuron (NIR node) | update | spike | reset | timing |
//! |---|---|---|---|---|---|---|
//! | `nir` (default) | 1e-4 | LIF, IF, CubaLIF… | Euler `v + a·(v_leak − v) + a·r·I` | `v > θ` | `v ← v_reset` | immediate |
//! | `snntorch` | 1e-4 | Leaky (LIF), Leaky(β=1) (IF) | `β·v + a·r·I`, `β = 1 − a` | `v > θ` | subtract `θ` (default) | delayed |
//! | | | Leaky `reset_mechanism="zero"` | same | `v > θ` | `v ← 0` (equals delayed zeroing of `β·v`) | immediate |
//! | | | RLeaky (LIF on a cycle), Synaptic / RSynaptic (CubaLIF), `"zero"` | `i ← α·i + a_s·w_in·I`, `α = 1 − a_s` | `v > θ` | the whole next update discarded: `v ← 0` | delayed |
//! | | | any, `reset_delay=False` (`--reset-timing delayed-corrected`) | same | `v > θ` | then `v −= (s − r)·θ` (or `·v`) | delayed-corrected |
//! | `spikingjelly` | 1e-4 | IFNode (IF, `r = 1/dt`), LIFNode (LIF, `τ = τ_steps·dt`) | Euler (its export makes it `v + (I − v)/τ_steps`) | `v ≥ θ` | hard: `v ← v_reset` (soft: `--reset subtract`) | immediate |
//! | `sinabs` | 1 | IAF (IF, `r = 1`), LIF (`r = 1`) | IF: `v + I`; LIF: `α·v + (1 − α)·r·I`, `α = exp(−dt/τ)` | `n = ⌊v/θ⌋` spikes for `v > 0` (MultiSpike) | `v −= n·θ` | immediate |
//! | `norse` | 1e-3 | LIFBox (LIF), LIFCell (CubaLIF), LIBox (LI), IAF (IF) | `a = dt·(dt/τ)` (= `dt·τ⁻¹`); LIF `v + a·((I + v_leak) − v)`; Cuba `i' = i + I`, `v + a·((v_leak − v) + i')`, `i ← i' − a_s·i'`; IAF `v + r·I` | `v > θ` | `v ← v_reset` | immediate |
//! | `rockpool` | 1e-3 | LIFTorch (CubaLIF), LIFNeuronTorch (LIF), ExpSynTorch (LI) | `α = exp(−dt/τ)`: Cuba `i ← β·(i + I)`, `v ← α·v + i`; LIF `α·v + I`; LI `α·(v + I)` (gain 1, `r` unread) | `n = ⌊v/θ⌋` for `v ≥ θ` (multi-spike) | `v −= n·θ` | immediate |
//! | `lava` | 1 | LIF process (CUBA: CubaLIF; `du = 1`: CubaLIF with `τ_syn = dt`) behind `Dense` | `v ← (1 − dv)·v + u + bias` with the *previous* step's `u`, then `u ← (1 − du)·u + I` (Dense delivers a step late) | `v > θ` | `v ← 0` | immediate |
//!
//! * **Timing.** *Immediate*: the spike test and reset happen in the same step. *Delayed*
//!   (snnTorch's default `reset_delay=True`): the stored `v` keeps its unreset value; the
//!   next step first tests it (`r = v[t−1] > θ`), updates, then subtracts `r·θ` (or
//!   discards the update). *Delayed-corrected* (`reset_delay=False`) adds snnTorch's
//!   correction `v −= (s − r)·θ` after the spike test.
//! * **Leaky vs RLeaky.** NIR cannot tell them apart except by the recurrent edge: a LIF
//!   node on a cycle is taken as RLeaky, a CubaLIF as Synaptic/RSynaptic (they share the rule).
//! * **β = 1.** snnTorch exports `Leaky(beta=1)` as `τ = r = ∞`; the NIR import turns an
//!   infinite-τ LIF into IF (`v ← v + I` with `r·dt/τ → 1`).
//! * **Multi-spike** (Sinabs, Rockpool): the output is the spike count, a graded event that the next
//!   layer multiplies by its weights; the simulator delivers it as one event of that value.
//! * **Norse** (1.1, `norse/torch/functional/{lif,lif_box,iaf,leaky_integrator_box}.py`)
//!   adds the input to the current *before* the voltage step and multiplies the whole
//!   bracket by `dt·τ⁻¹` ([`UpdateForm::JumpThenEuler`]). Its exporter writes
//!   `τ = dt/τ⁻¹` (that is `dt·τ`, not `τ`) and its importer reads `τ⁻¹ = 1/τ`, so Norse
//!   cannot re-import its own export; `--semantics norse` reproduces its simulator on its
//!   export: the per-step decay is `dt·(dt/τ)` with Norse's `dt` (`--dt`, default 1e-3).
//!   IAF ignores `dt` (`v + I`). The exporter drops `v_reset` (NIR's default 0 is used).
//! * **Rockpool** (3.1, `rockpool/nn/modules/torch/{lif_torch,lif_neuron_torch}.py`):
//!   the input jumps the current, then both decay ([`UpdateForm::JumpThenDecay`]); spikes
//!   are `StepPWL` counts. Its exporter writes `r = τ·exp(−dt/τ)/dt`, which its simulator
//!   never reads, drops the bias (`v_leak = 0`) and `max_spikes_per_dt` (not clamped
//!   here), and keeps the batch dim in Input/Output shapes (the NIR import drops it); its
//!   importer takes `dt = min(τ_mem/(1 + r))`, not the exporter's `dt`.
//! * **Lava** (lava-nc 0.10, float `PyLifModelFloat`, `PyDenseModelFloat`; not installable
//!   on Python 3.11, so its fixtures come from a NumPy mirror of that source): `Dense`
//!   sends the sum of the previous step's spikes, which is the same as the voltage using
//!   the current stored before this step's input ([`UpdateForm::CurrentLagged`]). In NIR
//!   terms at `dt = 1`: `τ_syn = w_in = 1/du`, `τ_mem = r = 1/dv`, `v_leak = bias/dv` (so
//!   the jumps `du·w_in` and `dv·r` are 1). A NIR LIF (no current) runs without that lag.
//! * The README's compatibility table says which rows the conformance suite checks spike
//!   for spike.

use spikeforge_targets::coremap::{self as m, NeuronRule, ResetTiming, UpdateForm};

use super::dynamics::{ResetRule, SpikeTest};
use super::neuron::NeuronKind;

/// A framework whose simulation of its own NIR export spikeforge reproduces (the core
/// map's name for it; its rules are [`SemanticsRules`]).
pub use spikeforge_targets::coremap::SemanticsName as Semantics;

/// What a semantics means: its defaults and its rule per neuron type (the table above).
pub trait SemanticsRules: Copy {
    /// The time step the framework's exporter assumes, in seconds.
    fn default_dt(self) -> f64;
    /// The framework's default reset mechanism.
    fn default_reset(self) -> ResetRule;
    fn default_spike_test(self) -> SpikeTest;
    /// Whether LIF's decay is the exact exponential `exp(−dt/τ)` rather than `dt/τ`.
    fn exponential_decay(self) -> bool;
    /// The per-step decay of a time constant `tau_s` (NIR's value) at step `dt_s`: `dt/τ`;
    /// Sinabs `1 − exp(−dt/τ)`; Norse `dt·(dt/τ)`, because its exporter writes
    /// `τ = dt/τ⁻¹` for the inverse time constant `τ⁻¹` it steps with (`dt·τ⁻¹`).
    fn step_ratio(self, dt_s: f64, tau_s: f64) -> f64;
    /// The input gain of IF and I from NIR's `r`: `dt·r`; Norse steps its IAF as
    /// `v + I` whatever `dt`, and exports `r = 1`, so its gain is `r`.
    fn integrator_gain(self, dt_s: f64, r: f64) -> f64;
    /// The input gain of a leaky neuron (LIF, LI, Cuba*) from its per-step decay and
    /// NIR's `r`: `decay·r`; Rockpool adds its current unscaled (its exporter writes
    /// `r = τ·exp(−dt/τ)/dt`, which its simulator never reads), so its gain is 1.
    fn leaky_gain(self, decay: f64, r: f64) -> f64;
    /// The rule a neuron of `kind` follows; `recurrent` says whether the node is on a
    /// cycle (RLeaky rather than Leaky). `reset`, `spike_test` and `timing` are the run's
    /// choices (the semantics' defaults unless overridden).
    fn rule(
        self,
        kind: NeuronKind,
        recurrent: bool,
        reset: ResetRule,
        spike_test: SpikeTest,
        timing: Option<ResetTiming>,
    ) -> NeuronRule;
}

impl SemanticsRules for Semantics {
    fn default_dt(self) -> f64 {
        match self {
            Semantics::Nir | Semantics::SnnTorch | Semantics::SpikingJelly => 1e-4,
            Semantics::Norse | Semantics::Rockpool => 1e-3,
            Semantics::Sinabs | Semantics::Lava => 1.0,
        }
    }

    fn default_reset(self) -> ResetRule {
        match self {
            Semantics::SnnTorch | Semantics::Sinabs | Semantics::Rockpool => ResetRule::Subtract,
            Semantics::Nir | Semantics::SpikingJelly | Semantics::Norse | Semantics::Lava => ResetRule::ToVReset,
        }
    }

    fn default_spike_test(self) -> SpikeTest {
        match self {
            Semantics::SpikingJelly | Semantics::Sinabs | Semantics::Rockpool => SpikeTest::NonStrict,
            _ => SpikeTest::Strict,
        }
    }

    fn exponential_decay(self) -> bool {
        matches!(self, Semantics::Sinabs | Semantics::Rockpool)
    }

    fn step_ratio(self, dt_s: f64, tau_s: f64) -> f64 {
        match self {
            Semantics::Sinabs | Semantics::Rockpool => 1.0 - (-dt_s / tau_s).exp(),
            Semantics::Norse => dt_s * (dt_s / tau_s),
            _ => dt_s / tau_s,
        }
    }

    fn integrator_gain(self, dt_s: f64, r: f64) -> f64 {
        match self {
            Semantics::Norse => r,
            _ => dt_s * r,
        }
    }

    fn leaky_gain(self, decay: f64, r: f64) -> f64 {
        match self {
            Semantics::Rockpool => 1.0,
            _ => decay * r,
        }
    }

    fn rule(
        self,
        kind: NeuronKind,
        recurrent: bool,
        reset: ResetRule,
        spike_test: SpikeTest,
        timing: Option<ResetTiming>,
    ) -> NeuronRule {
        let map_reset = match reset {
            ResetRule::ToVReset => m::ResetRule::ToVReset,
            ResetRule::Subtract => m::ResetRule::Subtract,
        };
        let spike_test = match spike_test {
            SpikeTest::Strict => m::SpikeTest::Strict,
            SpikeTest::NonStrict => m::SpikeTest::NonStrict,
        };
        let base = NeuronRule { reset: map_reset, spike_test, ..NeuronRule::default() };
        let rule = match self {
            Semantics::SnnTorch => {
                // Leaky's zero reset keeps the input: `β·(1 − r)·v + I`, which is an
                // immediate reset to 0. RLeaky, Synaptic and RSynaptic subtract the whole
                // update instead.
                let leaky = matches!(kind, NeuronKind::LIF | NeuronKind::IF) && !recurrent;
                let (reset, timing) = match (reset, leaky) {
                    (ResetRule::Subtract, _) => (m::ResetRule::Subtract, ResetTiming::Delayed),
                    (ResetRule::ToVReset, true) => (m::ResetRule::ToVReset, ResetTiming::Immediate),
                    (ResetRule::ToVReset, false) => (m::ResetRule::Discard, ResetTiming::Delayed),
                };
                NeuronRule { form: UpdateForm::Multiply, reset, timing, ..base }
            }
            Semantics::Sinabs => {
                let form = if kind == NeuronKind::LIF { UpdateForm::Multiply } else { UpdateForm::Euler };
                NeuronRule { form, multi_spike: true, ..base }
            }
            Semantics::Norse => NeuronRule { form: UpdateForm::JumpThenEuler, ..base },
            Semantics::Rockpool => NeuronRule { form: UpdateForm::JumpThenDecay, multi_spike: true, ..base },
            Semantics::Lava => NeuronRule { form: UpdateForm::CurrentLagged, ..base },
            _ => base,
        };
        match timing {
            Some(t) => {
                // Discard exists only as a delayed reset; an immediate one is ToVReset.
                let reset = if t == ResetTiming::Immediate && rule.reset == m::ResetRule::Discard {
                    m::ResetRule::ToVReset
                } else {
                    rule.reset
                };
                NeuronRule { timing: t, reset, ..rule }
            }
            None => rule,
        }
    }
}

/// Parses `--reset-timing`.
pub fn parse_reset_timing(s: &str) -> Result<ResetTiming, String> {
    match s {
        "immediate" => Ok(ResetTiming::Immediate),
        "delayed" => Ok(ResetTiming::Delayed),
        "delayed-corrected" => Ok(ResetTiming::DelayedCorrected),
        _ => Err(format!("unknown reset timing `{s}` (use immediate, delayed or delayed-corrected)")),
    }
}

pub fn reset_timing_name(t: ResetTiming) -> &'static str {
    match t {
        ResetTiming::Immediate => "immediate",
        ResetTiming::Delayed => "delayed",
        ResetTiming::DelayedCorrected => "delayed-corrected",
    }
}
