//! Fixed-point hardware arithmetic, defined once for the compiler and the simulator.
//!
//! Conventions (all driven by a target's [`Numerics`]):
//!
//! * **Weights** are integers of `weight_bits` bits, two's complement when
//!   `weight_signed` (range `[−2^(b−1), 2^(b−1)−1]`), else `[0, 2^b−1]`. A real weight `w`
//!   with scale `s` (the real value of one LSB) quantizes to `round(w / s)`, saturated to
//!   that range.
//! * **State** (membrane potential, synaptic current) is a signed `state_bits` integer with
//!   `threshold_shift` more fraction bits than the weights: a weight `q` enters the state
//!   as `q << threshold_shift` (Loihi: `w·2^(6+wgtExp)` against `vth·2^6`, nengo-loihi), so
//!   the threshold mantissa has the weights' resolution and the state finer; overflow
//!   saturates or wraps (`numerics.overflow`).
//! * **Rounding.** Constants the compiler writes (weights, thresholds, biases, reset and
//!   leak values) round to nearest, ties to even, as the vendors' discretisers do
//!   (nengo-loihi and sinabs use `round`): that is a compile-time choice, and truncating
//!   thresholds would bias every neuron toward firing. `numerics.rounding` is the
//!   hardware's run-time rounding: multiplier decays and graded inputs.
//! * **Decay** by `β`: with [`DecayFormat::Multiplier`] `{ shift_bits: s }` the hardware
//!   stores `m = round(β·2^s) ∈ [0, 2^s]` and computes `v·m / 2^s` rounded by
//!   `numerics.rounding` (Loihi: `s = 12`, toward zero, as nengo-loihi's `decay_int`:
//!   `sign(v)·((|v|·m) >> 12)`); with [`DecayFormat::BitShift`] it stores a `dash` and
//!   computes `v − (v >> dash)` with an arithmetic (flooring) shift, so `β = 1 − 2^−dash`
//!   (Xylo); with [`DecayFormat::Linear`] there is no decay and a signed `leak_bits`
//!   constant is added each step ([`quantize_leak`]; TrueNorth, Speck).
//! * **Threshold** is an unsigned mantissa of `threshold_bits` bits; in state units it is
//!   `mantissa << threshold_shift` (Loihi: 17-bit mantissa, shift 6). Reset values are in
//!   state units and saturate like the state.
//!
//! All functions are pure. The arithmetic uses `i128` internally, so no intermediate
//! product overflows for the widths validation allows (weights ≤ 32 bits, state ≤ 62).

use crate::chip::{DecayFormat, Numerics, Overflow, Rounding};

/// A quantized value and whether it had to be clamped to fit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Quantized {
    /// The integer the hardware stores.
    pub value: i64,
    /// True when the exact rounded value was outside the representable range.
    pub saturated: bool,
}

/// A decay as the hardware stores it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decay {
    /// `v ← round(v·m / 2^shift_bits)`.
    Multiplier { m: u32, shift_bits: u32 },
    /// `v ← v − (v >> dash)`.
    BitShift { dash: u32 },
    /// No decay (`β = 1`); the only decay a [`DecayFormat::Linear`] chip has.
    None,
}

impl Decay {
    /// The real factor `β` this decay applies.
    pub fn factor(&self) -> f64 {
        match *self {
            Decay::Multiplier { m, shift_bits } => m as f64 / (1u64 << shift_bits) as f64,
            Decay::BitShift { dash } => 1.0 - 1.0 / 2f64.powi(dash as i32),
            Decay::None => 1.0,
        }
    }
}

/// Range `[min, max]` of a `bits`-wide integer.
pub fn int_range(bits: u32, signed: bool) -> (i64, i64) {
    debug_assert!((1..=63).contains(&bits));
    if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

/// Range of a weight.
pub fn weight_range(n: &Numerics) -> (i64, i64) {
    int_range(n.weight_bits, n.weight_signed)
}

/// Range of the state registers.
pub fn state_range(n: &Numerics) -> (i64, i64) {
    int_range(n.state_bits, true)
}

/// Clamp `x` to a `bits`-wide integer.
pub fn saturate(x: i128, bits: u32, signed: bool) -> i64 {
    let (lo, hi) = int_range(bits, signed);
    x.clamp(lo as i128, hi as i128) as i64
}

/// Two's-complement wrap of `x` to `bits` bits (unsigned: modulo `2^bits`).
pub fn wrap(x: i128, bits: u32, signed: bool) -> i64 {
    let modulus = 1i128 << bits;
    let r = x.rem_euclid(modulus);
    if signed && r >= modulus / 2 {
        (r - modulus) as i64
    } else {
        r as i64
    }
}

/// Bring an intermediate result back into the state range per `numerics.overflow`.
pub fn fit_state(x: i128, n: &Numerics) -> i64 {
    match n.overflow {
        Overflow::Saturate => saturate(x, n.state_bits, true),
        Overflow::Wrap => wrap(x, n.state_bits, true),
    }
}

/// Round a real to an integer-valued real.
pub fn round_real(x: f64, r: Rounding) -> f64 {
    match r {
        Rounding::NearestEven => x.round_ties_even(),
        Rounding::TowardZero => x.trunc(),
        Rounding::Floor => x.floor(),
    }
}

/// `x / 2^shift`, rounded.
pub fn shift_round(x: i128, shift: u32, r: Rounding) -> i128 {
    if shift == 0 {
        return x;
    }
    let floor = x >> shift;
    match r {
        Rounding::Floor => floor,
        Rounding::TowardZero => {
            if x < 0 {
                -((-x) >> shift)
            } else {
                floor
            }
        }
        Rounding::NearestEven => {
            let rem = x - (floor << shift);
            let half = 1i128 << (shift - 1);
            if rem > half || (rem == half && floor & 1 == 1) {
                floor + 1
            } else {
                floor
            }
        }
    }
}

fn quantize(x: f64, bits: u32, signed: bool, r: Rounding) -> Quantized {
    let (lo, hi) = int_range(bits, signed);
    let q = round_real(x, r);
    if q.is_nan() {
        return Quantized { value: 0, saturated: true };
    }
    if q < lo as f64 {
        Quantized { value: lo, saturated: true }
    } else if q > hi as f64 {
        Quantized { value: hi, saturated: true }
    } else {
        Quantized { value: q as i64, saturated: false }
    }
}

/// How the compiler rounds the constants it writes (see the module docs).
const COMPILE_ROUNDING: Rounding = Rounding::NearestEven;

/// Quantize a real weight with `scale` = real value of one LSB (`scale > 0`).
pub fn quantize_weight(w: f64, scale: f64, n: &Numerics) -> Quantized {
    quantize(w / scale, n.weight_bits, n.weight_signed, COMPILE_ROUNDING)
}

/// The real value of a stored weight.
pub fn dequantize(q: i64, scale: f64) -> f64 {
    q as f64 * scale
}

/// Real value of one state unit when one weight LSB is worth `weight_scale`: the state has
/// `threshold_shift` more fraction bits than the weights.
pub fn state_scale(weight_scale: f64, n: &Numerics) -> f64 {
    weight_scale / (1u64 << n.threshold_shift) as f64
}

/// Quantize a real state value (reset potential, leak, bias) into state units (`scale` =
/// real value of one state unit, see [`state_scale`]).
pub fn quantize_state(x: f64, scale: f64, n: &Numerics) -> Quantized {
    quantize(x / scale, n.state_bits, true, COMPILE_ROUNDING)
}

/// Quantize a real threshold (`scale` = real value of one state unit): the mantissa is
/// `round(θ / scale / 2^threshold_shift)`,
/// saturated to `threshold_bits` unsigned bits; returns the threshold **in state units**
/// (`mantissa << threshold_shift`).
pub fn quantize_threshold(theta: f64, scale: f64, n: &Numerics) -> Quantized {
    let unit = scale * (1u64 << n.threshold_shift) as f64;
    let m = quantize(theta / unit, n.threshold_bits, false, COMPILE_ROUNDING);
    Quantized { value: m.value << n.threshold_shift, saturated: m.saturated }
}

/// The hardware decay closest to factor `beta` (clamped to `[0, 1]`).
pub fn decay_from_factor(beta: f64, n: &Numerics) -> Decay {
    let beta = if beta.is_nan() { 0.0 } else { beta.clamp(0.0, 1.0) };
    match n.decay {
        DecayFormat::Multiplier { shift_bits } => {
            let one = (1u64 << shift_bits) as f64;
            let m = round_real(beta * one, Rounding::NearestEven).clamp(0.0, one);
            Decay::Multiplier { m: m as u32, shift_bits }
        }
        DecayFormat::BitShift { max_dash } => {
            // β = 1 − 2^−dash; pick the dash whose factor is nearest to β.
            let best = (0..=max_dash)
                .min_by(|&a, &b| {
                    let da = (Decay::BitShift { dash: a }.factor() - beta).abs();
                    let db = (Decay::BitShift { dash: b }.factor() - beta).abs();
                    da.total_cmp(&db)
                })
                .unwrap_or(0);
            Decay::BitShift { dash: best }
        }
        DecayFormat::Linear { .. } => Decay::None,
    }
}

/// Quantize a linear leak (added to the state every step) on a [`DecayFormat::Linear`]
/// chip: `round(leak / scale)` saturated to `leak_bits` signed bits. On other chips the
/// leak is a state value (see [`quantize_state`]).
pub fn quantize_leak(leak: f64, scale: f64, n: &Numerics) -> Quantized {
    match n.decay {
        DecayFormat::Linear { leak_bits } => quantize(leak / scale, leak_bits, true, COMPILE_ROUNDING),
        _ => quantize_state(leak, scale, n),
    }
}

/// Apply a decay to a state value and fit the result to the state range.
pub fn apply_decay(v: i64, d: Decay, n: &Numerics) -> i64 {
    let v = v as i128;
    let out = match d {
        Decay::Multiplier { m, shift_bits } => shift_round(v * m as i128, shift_bits, n.rounding),
        Decay::BitShift { dash } => v - (v >> dash.min(126)),
        Decay::None => v,
    };
    fit_state(out, n)
}

/// Add a synaptic input (or several, already summed) to a state value.
pub fn accumulate(v: i64, input: i64, n: &Numerics) -> i64 {
    fit_state(v as i128 + input as i128, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loihi() -> Numerics {
        Numerics {
            weight_bits: 8,
            weight_signed: true,
            state_bits: 24,
            decay: DecayFormat::Multiplier { shift_bits: 12 },
            threshold_bits: 17,
            threshold_shift: 6,
            rounding: Rounding::TowardZero,
            overflow: Overflow::Saturate,
        }
    }

    fn xylo() -> Numerics {
        Numerics {
            weight_bits: 8,
            weight_signed: true,
            state_bits: 16,
            decay: DecayFormat::BitShift { max_dash: 15 },
            threshold_bits: 15,
            threshold_shift: 0,
            rounding: Rounding::NearestEven,
            overflow: Overflow::Saturate,
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(int_range(8, true), (-128, 127));
        assert_eq!(int_range(8, false), (0, 255));
        assert_eq!(int_range(1, false), (0, 1));
        assert_eq!(state_range(&loihi()), (-(1 << 23), (1 << 23) - 1));
    }

    #[test]
    fn saturate_and_wrap() {
        assert_eq!(saturate(300, 8, true), 127);
        assert_eq!(saturate(-300, 8, true), -128);
        assert_eq!(saturate(-5, 8, false), 0);
        assert_eq!(wrap(128, 8, true), -128);
        assert_eq!(wrap(-129, 8, true), 127);
        assert_eq!(wrap(256 + 7, 8, false), 7);
        assert_eq!(wrap(-1, 8, false), 255);
    }

    #[test]
    fn shift_rounding_modes() {
        // 5/2 = 2.5, −5/2 = −2.5, 7/4 = 1.75, −7/4 = −1.75, 6/4 = 1.5
        assert_eq!(shift_round(5, 1, Rounding::NearestEven), 2);
        assert_eq!(shift_round(7, 1, Rounding::NearestEven), 4); // 3.5 → 4
        assert_eq!(shift_round(-5, 1, Rounding::NearestEven), -2);
        assert_eq!(shift_round(-7, 1, Rounding::NearestEven), -4);
        assert_eq!(shift_round(7, 2, Rounding::NearestEven), 2);
        assert_eq!(shift_round(6, 2, Rounding::NearestEven), 2); // 1.5 → 2
        assert_eq!(shift_round(-7, 2, Rounding::TowardZero), -1);
        assert_eq!(shift_round(-7, 2, Rounding::Floor), -2);
        assert_eq!(shift_round(7, 2, Rounding::TowardZero), 1);
        assert_eq!(shift_round(9, 0, Rounding::Floor), 9);
    }

    #[test]
    fn weight_quantization_rounds_and_saturates() {
        let mut n = loihi();
        n.rounding = Rounding::NearestEven;
        // scale 0.25 (exact in binary): 0.625 → 2.5 → 2 (ties to even); 0.875 → 3.5 → 4
        assert_eq!(quantize_weight(0.625, 0.25, &n), Quantized { value: 2, saturated: false });
        assert_eq!(quantize_weight(0.875, 0.25, &n).value, 4);
        assert_eq!(quantize_weight(-0.625, 0.25, &n).value, -2);
        assert_eq!(quantize_weight(0.7, 0.25, &n).value, 3);
        assert_eq!(quantize_weight(40.0, 0.25, &n), Quantized { value: 127, saturated: true });
        assert_eq!(quantize_weight(-40.0, 0.25, &n), Quantized { value: -128, saturated: true });
        assert_eq!(quantize_weight(-32.0, 0.25, &n), Quantized { value: -128, saturated: false });
        assert!(quantize_weight(f64::NAN, 0.25, &n).saturated);
        // The chip's run-time rounding does not apply to constants the compiler writes:
        // −12.9 rounds to −13 even on a truncating chip.
        n.rounding = Rounding::TowardZero;
        assert_eq!(quantize_weight(-0.129, 0.01, &n).value, -13);
        assert!((dequantize(-12, 0.01) + 0.12).abs() < 1e-12);
    }

    #[test]
    fn unsigned_one_bit_weights() {
        let mut n = loihi();
        n.weight_bits = 1;
        n.weight_signed = false;
        n.rounding = Rounding::NearestEven;
        assert_eq!(quantize_weight(0.9, 1.0, &n).value, 1);
        assert_eq!(quantize_weight(-0.9, 1.0, &n), Quantized { value: 0, saturated: true });
    }

    #[test]
    fn loihi_multiplier_decay() {
        let n = loihi();
        // δ = 410 → m = 4096 − 410 = 3686; 1000·3686/4096 = 899.90… → 899 (toward zero)
        let d = Decay::Multiplier { m: 3686, shift_bits: 12 };
        assert_eq!(apply_decay(1000, d, &n), 899);
        assert_eq!(apply_decay(-1000, d, &n), -899);
        assert_eq!(decay_from_factor(0.9, &n), Decay::Multiplier { m: 3686, shift_bits: 12 });
        assert_eq!(decay_from_factor(1.5, &n), Decay::Multiplier { m: 4096, shift_bits: 12 });
        assert_eq!(decay_from_factor(-1.0, &n), Decay::Multiplier { m: 0, shift_bits: 12 });
        assert!((d.factor() - 3686.0 / 4096.0).abs() < 1e-15);
    }

    #[test]
    fn xylo_bitshift_decay() {
        let n = xylo();
        // dash 4: v − (v >> 4): 1000 − 62 = 938; −1000 − (−63) = −937 (floor shift)
        let d = Decay::BitShift { dash: 4 };
        assert_eq!(apply_decay(1000, d, &n), 938);
        assert_eq!(apply_decay(-1000, d, &n), -937);
        assert_eq!(d.factor(), 0.9375);
        assert_eq!(decay_from_factor(0.94, &n), Decay::BitShift { dash: 4 });
        assert_eq!(decay_from_factor(0.5, &n), Decay::BitShift { dash: 1 });
        assert_eq!(decay_from_factor(0.0, &n), Decay::BitShift { dash: 0 });
    }

    #[test]
    fn linear_leak_has_no_decay() {
        let mut n = loihi();
        n.decay = DecayFormat::Linear { leak_bits: 9 };
        n.rounding = Rounding::NearestEven;
        assert_eq!(decay_from_factor(0.5, &n), Decay::None);
        assert_eq!(apply_decay(-77, Decay::None, &n), -77);
        assert_eq!(quantize_leak(-3.0, 0.5, &n), Quantized { value: -6, saturated: false });
        assert_eq!(quantize_leak(1000.0, 1.0, &n), Quantized { value: 255, saturated: true });
        // Without a linear leak format the leak is a state value (24 bits here).
        assert_eq!(quantize_leak(1000.0, 1.0, &loihi()).value, 1000);
    }

    #[test]
    fn threshold_in_state_units() {
        let n = loihi();
        // θ = 1.0 with scale 1/1024 → 1024 state units → mantissa 16 (1024 >> 6)
        assert_eq!(quantize_threshold(1.0, 1.0 / 1024.0, &n), Quantized { value: 1024, saturated: false });
        // 1000 units → 15.6 mantissa → 16 (to nearest, although Loihi's run-time rounding
        // truncates: a truncated threshold would make every neuron fire early) → 1024 units
        assert_eq!(quantize_threshold(1000.0, 1.0, &n).value, 1024);
        assert_eq!(quantize_threshold(1000.0 - 40.0, 1.0, &n).value, 960);
        let huge = quantize_threshold(1e12, 1.0, &n);
        assert_eq!(huge, Quantized { value: ((1 << 17) - 1) << 6, saturated: true });
    }

    #[test]
    fn accumulate_saturates_or_wraps() {
        let mut n = xylo();
        assert_eq!(accumulate(32_000, 1_000, &n), 32_767);
        assert_eq!(accumulate(-32_000, -1_000, &n), -32_768);
        n.overflow = Overflow::Wrap;
        assert_eq!(accumulate(32_767, 1, &n), -32_768);
        assert_eq!(quantize_state(-40_000.0, 1.0, &xylo()), Quantized { value: -32_768, saturated: true });
    }
}
