//! Fixed-point neuron updates and weight quantization: the hardware numeric mode, as pure
//! functions shared by the chip simulator and the compiler's fixed-point executor.
//!
//! Built on [`crate::numerics`] (ranges, rounding, saturation, decays). For one target
//! population:
//!
//! * **Input gain folded into weights.** The exact update is
//!   `v ← v + decay·(v_leak − v) + gain·I` (Cuba*: `i ← i + syn_decay·(w_in·I − i)`, then
//!   `gain·i`). Writing `β = 1 − decay`, `v ← v_leak + β·(v − v_leak) + k·I` with the
//!   per-neuron input factor `k` of [`input_factor`] (`gain`, or for Cuba*
//!   `gain·syn_decay·w_in` applied to the scaled current `i' = gain·i`, which decays by
//!   `β_syn = 1 − syn_decay`). Every synapse stores `k·w` and the bias is `k·bias`.
//! * **Scale.** One LSB of a stored weight is worth `scale = max |k·w| / w_max` over every
//!   synapse into the population (`w_max = 2^(b−1) − 1` signed, `2^b − 1` unsigned)
//!   ([`weight_scale`]). The state has `threshold_shift` more fraction bits: one state unit
//!   is worth `scale / 2^threshold_shift` ([`state_scale`]), and bias, `v_leak`, `v_reset`
//!   and leak are in state units ([`quantize_state`](crate::numerics::quantize_state)); the
//!   threshold is a mantissa `<< threshold_shift`
//!   ([`quantize_threshold`](crate::numerics::quantize_threshold)), so its resolution is one
//!   weight LSB. Constants round to nearest and saturate to their ranges.
//! * **Decay.** `β` becomes the target's decay ([`decay_from_factor`]: a multiplier
//!   `m = round_half_even(β·2^s)`, or the nearest bit-shift). A chip with a linear leak
//!   has no multiplicative decay: `β` is taken as 1 and the state-independent part of the
//!   Euler step, `decay·v_leak`, becomes the constant leak ([`quantize_leak`]).
//! * **Input.** A delivered event of real value `x` on a synapse of stored weight `q` adds
//!   `q << threshold_shift` state units when `x = 1` (a spike), else
//!   `round(x·q·2^threshold_shift)` (the target's run-time rounding). The sum
//!   `bias + Σ contributions` is exact in 64 bits (saturating at ±2^63), then fitted to the
//!   state range once ([`fit_state`]: saturate or wrap).
//! * **Update** ([`step`]), every intermediate fitted to the state range:
//!   `LIF/LI: v ← fit(decay(fit(v − v_leak)) + v_leak + leak + I)`; `IF/I: v ← fit(v + I)`;
//!   `Cuba*: i ← fit(decay_syn(i) + I)`, then `v` as LIF with `i` for `I`; spike
//!   `v > θ` (strict) or `v ≥ θ`; reset `v ← v_reset` or `v ← fit(v − θ)`.

use crate::chip::{DecayFormat, Numerics};
use crate::coremap::{NeuronModel, NeuronRule, ResetRule, ResetTiming, SpikeTest};
use crate::numerics::{
    apply_decay, decay_from_factor, fit_state, quantize_leak, quantize_state, quantize_threshold, quantize_weight,
    round_real, state_scale, weight_range, Decay,
};

/// A neuron's coefficients in hardware units.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FixedNeuron {
    pub model: NeuronModel,
    pub decay: Decay,
    pub syn_decay: Decay,
    pub v_leak: i64,
    /// Constant added every step (linear-leak chips only; 0 otherwise).
    pub leak: i64,
    /// In state units (`mantissa << threshold_shift`).
    pub threshold: i64,
    pub v_reset: i64,
    pub bias: i64,
}

/// The real coefficients of one neuron, as a core map stores them.
#[derive(Copy, Clone, Debug, PartialEq, Default)]
pub struct RealNeuron {
    pub decay: f64,
    pub gain: f64,
    pub v_leak: f64,
    pub v_threshold: f64,
    pub v_reset: f64,
    pub bias: f64,
    pub syn_decay: f64,
    pub w_in: f64,
}

impl RealNeuron {
    /// Neuron `i`'s coefficients from a structure of arrays (a vector a model does not use
    /// may be empty: its value is 0).
    pub fn from_params(p: &crate::coremap::NeuronParams, i: usize) -> RealNeuron {
        let g = |v: &Vec<f64>| v.get(i).copied().unwrap_or(0.0);
        RealNeuron {
            decay: g(&p.decay),
            gain: g(&p.gain),
            v_leak: g(&p.v_leak),
            v_threshold: g(&p.v_threshold),
            v_reset: g(&p.v_reset),
            bias: g(&p.bias),
            syn_decay: g(&p.syn_decay),
            w_in: g(&p.w_in),
        }
    }
}

/// The factor `k` folded into every weight and the bias of a neuron (see module docs).
pub fn input_factor(model: NeuronModel, p: &RealNeuron) -> f64 {
    match model {
        NeuronModel::Input | NeuronModel::Identity => 1.0,
        NeuronModel::LIF | NeuronModel::LI | NeuronModel::IF | NeuronModel::I => p.gain,
        NeuronModel::CubaLIF | NeuronModel::CubaLI => p.gain * p.syn_decay * p.w_in,
    }
}

/// Real value of one weight LSB for a population whose largest `|k·w|` is `max_abs`;
/// 1.0 when there is no nonzero weight.
pub fn weight_scale(max_abs: f64, n: &Numerics) -> f64 {
    let w_max = weight_range(n).1.max(1) as f64;
    if max_abs.is_finite() && max_abs > 0.0 {
        max_abs / w_max
    } else {
        1.0
    }
}

/// Quantizes a neuron whose weights have LSB `weight_scale`; the second value counts
/// clamped coefficients.
pub fn quantize_neuron(model: NeuronModel, p: &RealNeuron, weight_scale: f64, n: &Numerics) -> (FixedNeuron, u32) {
    let scale = state_scale(weight_scale, n);
    let k = input_factor(model, p);
    let mut sat = 0;
    let mut q = |x: crate::numerics::Quantized| {
        sat += x.saturated as u32;
        x.value
    };
    let linear = matches!(n.decay, DecayFormat::Linear { .. });
    let leaky = matches!(model, NeuronModel::LIF | NeuronModel::LI | NeuronModel::CubaLIF | NeuronModel::CubaLI);
    let (decay, v_leak, leak) = if !leaky {
        (Decay::None, 0, 0)
    } else if linear {
        (Decay::None, 0, q(quantize_leak(p.decay * p.v_leak, scale, n)))
    } else {
        (decay_from_factor(1.0 - p.decay, n), q(quantize_state(p.v_leak, scale, n)), 0)
    };
    let syn_decay = match model {
        NeuronModel::CubaLIF | NeuronModel::CubaLI if !linear => decay_from_factor(1.0 - p.syn_decay, n),
        _ => Decay::None,
    };
    let (threshold, v_reset) = if model.is_spiking() {
        (q(quantize_threshold(p.v_threshold, scale, n)), q(quantize_state(p.v_reset, scale, n)))
    } else {
        (0, 0)
    };
    let bias = q(quantize_state(k * p.bias, scale, n));
    (FixedNeuron { model, decay, syn_decay, v_leak, leak, threshold, v_reset, bias }, sat)
}

/// The stored weight of a synapse of real weight `w` into a neuron of input factor `k`.
pub fn quantize_synapse(w: f64, k: f64, scale: f64, n: &Numerics) -> crate::numerics::Quantized {
    quantize_weight(k * w, scale, n)
}

/// The real value of a state (a graded output such as an LI's membrane) of a population
/// whose weights have LSB `weight_scale`.
pub fn dequantize_state(y: i64, weight_scale: f64, n: &Numerics) -> f64 {
    y as f64 * state_scale(weight_scale, n)
}

/// What an event of real value `x` adds through a stored weight `q`, in state units.
pub fn contribution(x: f64, q: i64, n: &Numerics) -> i64 {
    let shifted = q.saturating_mul(1i64 << n.threshold_shift.min(62));
    if x == 1.0 {
        return shifted;
    }
    let y = round_real(x * shifted as f64, n.rounding);
    if y.is_nan() {
        0
    } else {
        y.clamp(i64::MIN as f64, i64::MAX as f64) as i64
    }
}

/// One step of a neuron with NIR's rule (immediate reset, one spike per step); see
/// [`step_rule`].
pub fn step(
    p: &FixedNeuron,
    state: &mut (i64, i64),
    input: i64,
    spike_test: SpikeTest,
    reset: ResetRule,
    n: &Numerics,
) -> (i64, bool) {
    let rule = NeuronRule { reset, spike_test, ..NeuronRule::default() };
    let (y, s) = step_rule(p, state, input, &rule, n);
    (y, s)
}

/// One step of a neuron: `input` is `bias + Σ contributions` (unfitted); `state` is
/// `(v, i)`. Returns the output in state units (spiking models: the spike count, 0 or 1
/// unless `rule.multi_spike`) and whether it spiked. The rule's timing and reset are those
/// of [`NeuronRule`] in integers: a delayed reset tests the stored `v` against θ, subtracts
/// `θ` after the update, or replaces `v` by `v_reset` before (ToVReset) or after (Discard)
/// it; a multi-spike neuron emits `⌊v/θ⌋` for `v > 0` and subtracts that many `θ`.
pub fn step_rule(p: &FixedNeuron, state: &mut (i64, i64), input: i64, rule: &NeuronRule, n: &Numerics) -> (i64, bool) {
    let input = fit_state(input as i128, n);
    let above = |v: i64| match rule.spike_test {
        SpikeTest::Strict => v > p.threshold,
        SpikeTest::NonStrict => v >= p.threshold,
    };
    let delayed = rule.timing != ResetTiming::Immediate && p.model.is_spiking();
    let r = delayed && above(state.0);
    if r && rule.reset == ResetRule::ToVReset {
        state.0 = p.v_reset;
    }
    let leaky = |v: i64, x: i64| {
        let d = apply_decay(fit_state(v as i128 - p.v_leak as i128, n), p.decay, n);
        fit_state(d as i128 + p.v_leak as i128 + p.leak as i128 + x as i128, n)
    };
    let mut v = match p.model {
        NeuronModel::Input | NeuronModel::Identity => return (input, false),
        NeuronModel::LIF | NeuronModel::LI => leaky(state.0, input),
        NeuronModel::IF | NeuronModel::I => fit_state(state.0 as i128 + input as i128, n),
        NeuronModel::CubaLIF | NeuronModel::CubaLI => {
            state.1 = fit_state(apply_decay(state.1, p.syn_decay, n) as i128 + input as i128, n);
            leaky(state.0, state.1)
        }
    };
    if !p.model.is_spiking() {
        state.0 = v;
        return (v, false);
    }
    if r {
        v = match rule.reset {
            ResetRule::Subtract => fit_state(v as i128 - p.threshold as i128, n),
            ResetRule::Discard => p.v_reset,
            ResetRule::ToVReset => v,
        };
    }
    let count = if rule.multi_spike {
        if v > 0 && p.threshold > 0 {
            v / p.threshold
        } else {
            0
        }
    } else {
        above(v) as i64
    };
    let spiked = count > 0;
    state.0 = match rule.timing {
        ResetTiming::Delayed => v,
        ResetTiming::Immediate if !spiked => v,
        ResetTiming::Immediate => match rule.reset {
            ResetRule::Subtract => fit_state(v as i128 - count as i128 * p.threshold as i128, n),
            ResetRule::ToVReset | ResetRule::Discard => p.v_reset,
        },
        // v −= (s − r)·θ, or v −= (s − r)·v.
        ResetTiming::DelayedCorrected => {
            let d = spiked as i64 - r as i64;
            match rule.reset {
                ResetRule::Subtract => fit_state(v as i128 - d as i128 * p.threshold as i128, n),
                _ => fit_state(v as i128 - d as i128 * v as i128, n),
            }
        }
    };
    (count, spiked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chip::{Overflow, Rounding};

    fn loihi() -> Numerics {
        Numerics {
            weight_bits: 8,
            weight_signed: true,
            state_bits: 24,
            decay: DecayFormat::Multiplier { shift_bits: 12 },
            threshold_bits: 17,
            threshold_shift: 0,
            rounding: Rounding::NearestEven,
            overflow: Overflow::Saturate,
        }
    }

    #[test]
    fn scale_maps_the_largest_weight_to_the_top_code() {
        let n = loihi();
        let s = weight_scale(0.5, &n);
        assert_eq!(s, 0.5 / 127.0);
        assert_eq!(quantize_synapse(0.5, 1.0, s, &n).value, 127);
        assert_eq!(quantize_synapse(-0.5, 1.0, s, &n).value, -127);
        assert_eq!(quantize_synapse(0.25, 2.0, s, &n).value, 127);
        assert_eq!(weight_scale(0.0, &n), 1.0);
    }

    #[test]
    fn lif_decays_integrates_fires_and_resets() {
        let n = loihi();
        // decay 0.25 → β = 0.75 → m = 3072; threshold 100 units, v_reset 0.
        let real = RealNeuron { decay: 0.25, gain: 1.0, v_threshold: 100.0, ..Default::default() };
        let (p, sat) = quantize_neuron(NeuronModel::LIF, &real, 1.0, &n);
        assert_eq!(sat, 0);
        assert_eq!(p.decay, Decay::Multiplier { m: 3072, shift_bits: 12 });
        let mut st = (0, 0);
        // v = 0·0.75 + 80 = 80: no spike; v = 80·0.75 + 80 = 140 > 100: spike, reset to 0.
        assert_eq!(step(&p, &mut st, 80, SpikeTest::Strict, ResetRule::ToVReset, &n), (0, false));
        assert_eq!(st.0, 80);
        assert_eq!(step(&p, &mut st, 80, SpikeTest::Strict, ResetRule::ToVReset, &n), (1, true));
        assert_eq!(st.0, 0);
        // Subtract: 140 − 100 = 40 remains.
        let mut st = (80, 0);
        step(&p, &mut st, 80, SpikeTest::Strict, ResetRule::Subtract, &n);
        assert_eq!(st.0, 40);
    }

    #[test]
    fn cuba_filters_the_current_first() {
        let n = loihi();
        // syn_decay 0.5 → β_syn = 0.5; decay 0 → β = 1; k = gain·syn_decay·w_in = 0.5.
        let real = RealNeuron { gain: 1.0, syn_decay: 0.5, w_in: 1.0, ..Default::default() };
        assert_eq!(input_factor(NeuronModel::CubaLI, &real), 0.5);
        let (p, _) = quantize_neuron(NeuronModel::CubaLI, &real, 1.0, &n);
        let mut st = (0, 0);
        // i = 0 + 10 = 10, v = 10; i = 5 + 10 = 15, v = 25.
        assert_eq!(step(&p, &mut st, 10, SpikeTest::Strict, ResetRule::ToVReset, &n).0, 10);
        assert_eq!(step(&p, &mut st, 10, SpikeTest::Strict, ResetRule::ToVReset, &n).0, 25);
        assert_eq!(st, (25, 15));
    }

    #[test]
    fn state_saturates_and_contributions_round() {
        let n = loihi();
        let real = RealNeuron { gain: 1.0, ..Default::default() };
        let (p, _) = quantize_neuron(NeuronModel::I, &real, 1.0, &n);
        let mut st = ((1 << 23) - 10, 0);
        assert_eq!(step(&p, &mut st, 1000, SpikeTest::Strict, ResetRule::ToVReset, &n).0, (1 << 23) - 1);
        assert_eq!(contribution(1.0, -7, &n), -7);
        assert_eq!(contribution(0.5, 5, &n), 2); // 2.5 → 2 (ties to even)
        assert_eq!(contribution(0.25, 10, &n), 2);
    }

    #[test]
    fn linear_leak_chips_add_a_constant() {
        let mut n = loihi();
        n.decay = DecayFormat::Linear { leak_bits: 8 };
        let real = RealNeuron { decay: 0.5, gain: 1.0, v_leak: -4.0, v_threshold: 1e9, ..Default::default() };
        let (p, _) = quantize_neuron(NeuronModel::LIF, &real, 1.0, &n);
        assert_eq!((p.decay, p.leak), (Decay::None, -2));
        let mut st = (10, 0);
        step(&p, &mut st, 0, SpikeTest::Strict, ResetRule::ToVReset, &n);
        assert_eq!(st.0, 8);
    }
}
