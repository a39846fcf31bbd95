//! Weight quantizers: pure functions on slices, each a grid of levels and a rounding rule.
//!
//! Exact zeros are treated as pruned (a mask) and stay zero under every quantizer: this
//! matters for ReScaW, whose levels contain no zero. Rounding is half-to-even (PyTorch's
//! `torch.round`). Each returns values on its grid as f64 (fake quantization); the integer
//! codes are `value / scale (+ zero point)`.

/// How ReScaW's scale γ is taken from the weights.
///
/// QP-SNN sets γ = mean |W| for quantization-aware training, where the weights adapt to the
/// clipping; applied post-training it clips every weight above the mean (about 45 % of a
/// trained layer) to ±γ. The post-training choices are a high percentile or the γ of least
/// squared error ([`Gamma::Mse`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gamma {
    /// mean |W| (QP-SNN's choice, for quantization-aware training).
    Mean,
    /// max |W|.
    Max,
    /// The p-th percentile of |W| (p in 0..=100).
    Percentile(f64),
    /// The γ minimising `Σ (w − Q_γ(w))²` over the nonzero weights ([`mse_gamma`]).
    Mse,
}

/// A fixed grid of levels, chosen from the weights before quantizing them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Grid {
    /// `scale · clamp(round(x/scale) + zero, qmin, qmax) − zero·scale`.
    Uniform { scale: f64, zero_point: i64, qmin: i64, qmax: i64 },
    /// One bit: `±scale` by sign.
    Binary { scale: f64 },
    /// QP-SNN's ReScaW: `γ·((2/s)·round((s/2)·(clamp(x/γ, −1, 1) + 1)) − 1)`, `s = 2^b − 1`.
    ReScaW { gamma: f64, steps: f64 },
}

impl Grid {
    /// Symmetric uniform grid for `bits` (1 bit: ±mean|w|). Levels `−(2^(b−1)−1)..=2^(b−1)−1`,
    /// scale `max|w| / (2^(b−1)−1)`.
    pub fn symmetric(w: &[f64], bits: u32) -> Grid {
        if bits == 1 {
            return Grid::Binary { scale: mean_abs_nonzero(w) };
        }
        let qmax = (1i64 << (bits - 1)) - 1;
        let m = max_abs(w);
        let scale = if m > 0.0 { m / qmax as f64 } else { 1.0 };
        Grid::Uniform { scale, zero_point: 0, qmin: -qmax, qmax }
    }

    /// Asymmetric (affine) grid: levels `0..=2^b−1` over `[min(w,0), max(w,0)]`, so that
    /// zero is exactly representable.
    pub fn asymmetric(w: &[f64], bits: u32) -> Grid {
        let qmax = (1i64 << bits) - 1;
        let lo = w.iter().copied().fold(0.0f64, f64::min);
        let hi = w.iter().copied().fold(0.0f64, f64::max);
        let scale = if hi > lo { (hi - lo) / qmax as f64 } else { 1.0 };
        let zero_point = (-lo / scale).round_ties_even().clamp(0.0, qmax as f64) as i64;
        Grid::Uniform { scale, zero_point, qmin: 0, qmax }
    }

    pub fn rescaw(w: &[f64], bits: u32, gamma: Gamma) -> Grid {
        let g = match gamma {
            Gamma::Mean => mean_abs_nonzero(w),
            Gamma::Max => max_abs(w),
            Gamma::Percentile(p) => percentile_abs(w, p),
            Gamma::Mse => mse_gamma(w, bits),
        };
        Grid::ReScaW { gamma: if g > 0.0 { g } else { 1.0 }, steps: ((1u64 << bits) - 1) as f64 }
    }

    /// The level nearest to `x` (zero stays zero: a pruned weight).
    #[inline]
    pub fn quantize(&self, x: f64) -> f64 {
        if x == 0.0 {
            return 0.0;
        }
        match *self {
            Grid::Uniform { scale, zero_point, qmin, qmax } => {
                let q = ((x / scale).round_ties_even() + zero_point as f64).clamp(qmin as f64, qmax as f64);
                (q - zero_point as f64) * scale
            }
            Grid::Binary { scale } => scale * x.signum(),
            Grid::ReScaW { gamma, steps } => {
                let c = (x / gamma).clamp(-1.0, 1.0);
                gamma * ((2.0 / steps) * ((steps / 2.0) * (c + 1.0)).round_ties_even() - 1.0)
            }
        }
    }

    /// The step between levels (for reports).
    pub fn step(&self) -> f64 {
        match *self {
            Grid::Uniform { scale, .. } => scale,
            Grid::Binary { scale } => 2.0 * scale,
            Grid::ReScaW { gamma, steps } => 2.0 * gamma / steps,
        }
    }

    pub fn zero_point(&self) -> i64 {
        match *self {
            Grid::Uniform { zero_point, .. } => zero_point,
            _ => 0,
        }
    }
}

pub fn max_abs(w: &[f64]) -> f64 {
    w.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Mean |w| over nonzero weights (pruned weights do not shrink the scale).
pub fn mean_abs_nonzero(w: &[f64]) -> f64 {
    let (s, n) = w.iter().filter(|x| **x != 0.0).fold((0.0, 0usize), |(s, n), x| (s + x.abs(), n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

/// ReScaW's γ of least squared error on the nonzero weights: a grid search over
/// `γ = max|w|·k/128`, `k = 1..=128`, then over 32 points between the best one's neighbours
/// (the error is not convex in γ: levels jump past weights). The first minimum wins, so the
/// result is deterministic. 0 when every weight is 0.
pub fn mse_gamma(w: &[f64], bits: u32) -> f64 {
    let nz: Vec<f64> = w.iter().copied().filter(|x| *x != 0.0).collect();
    let m = max_abs(&nz);
    if m == 0.0 {
        return 0.0;
    }
    let steps = ((1u64 << bits) - 1) as f64;
    let err = |gamma: f64| {
        let g = Grid::ReScaW { gamma, steps };
        nz.iter().map(|&x| (x - g.quantize(x)).powi(2)).sum::<f64>()
    };
    let best = |cands: &mut dyn Iterator<Item = f64>| {
        cands.fold((f64::NAN, f64::INFINITY), |(bg, be), g| {
            let e = err(g);
            if e < be {
                (g, e)
            } else {
                (bg, be)
            }
        })
    };
    const COARSE: usize = 128;
    let (g0, _) = best(&mut (1..=COARSE).map(|k| m * k as f64 / COARSE as f64));
    let h = m / COARSE as f64;
    let (lo, hi) = ((g0 - h).max(h / 32.0), g0 + h);
    let (g1, _) = best(&mut std::iter::once(g0).chain((0..=32).map(|k| lo + (hi - lo) * k as f64 / 32.0)));
    g1
}

/// The p-th percentile (linear interpolation, numpy's default) of nonzero |w|.
pub fn percentile_abs(w: &[f64], p: f64) -> f64 {
    let mut a: Vec<f64> = w.iter().filter(|x| **x != 0.0).map(|x| x.abs()).collect();
    if a.is_empty() {
        return 0.0;
    }
    a.sort_by(f64::total_cmp);
    let pos = (p.clamp(0.0, 100.0) / 100.0) * (a.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < a.len() {
        a[i] + frac * (a[i + 1] - a[i])
    } else {
        a[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_4_bit_levels_and_scale() {
        // max|w| = 1.4, qmax = 7 → scale 0.2
        let w = [1.4, -0.31, 0.05, 0.0, -1.4, 0.7];
        let g = Grid::symmetric(&w, 4);
        assert_eq!(g, Grid::Uniform { scale: 1.4 / 7.0, zero_point: 0, qmin: -7, qmax: 7 });
        let q: Vec<f64> = w.iter().map(|&x| g.quantize(x)).collect();
        let s = 1.4 / 7.0;
        // -0.31/0.2 = -1.55 → -2; 0.05/0.2 = 0.25 → 0; 0.7/0.2 = 3.5 → 4 (half to even)
        assert_eq!(q, vec![7.0 * s, -2.0 * s, 0.0, 0.0, -7.0 * s, 4.0 * s]);
    }

    #[test]
    fn asymmetric_keeps_zero_exact() {
        // range [-0.5, 1.0], 2 bits: 3 steps of 0.5, zero point 1
        let w = [1.0, -0.5, 0.2, 0.3];
        let g = Grid::asymmetric(&w, 2);
        assert_eq!(g, Grid::Uniform { scale: 0.5, zero_point: 1, qmin: 0, qmax: 3 });
        let q: Vec<f64> = w.iter().map(|&x| g.quantize(x)).collect();
        // 0.2/0.5 = 0.4 → 0; 0.3/0.5 = 0.6 → 1
        assert_eq!(q, vec![1.0, -0.5, 0.0, 0.5]);
    }

    #[test]
    fn rescaw_levels_have_no_zero_and_masks_survive() {
        // γ = mean|w| over nonzeros = (0.2 + 0.6 + 1.0 + 0.2)/4 = 0.5; 2 bits → s = 3,
        // levels γ·{−1, −1/3, 1/3, 1}
        let w = [0.2, -0.6, 1.0, 0.0, -0.2];
        let g = Grid::rescaw(&w, 2, Gamma::Mean);
        assert_eq!(g, Grid::ReScaW { gamma: 0.5, steps: 3.0 });
        let q: Vec<f64> = w.iter().map(|&x| g.quantize(x)).collect();
        // 0.2/0.5 = 0.4 → 1.5·1.4 = 2.1 → 2 → (2/3)·2 − 1 = 1/3
        // −0.6/0.5 = −1.2 → clamp −1 → 0 → −1; 1.0 → 1; −0.2 → 1.5·0.6 = 0.9 → 1 → −1/3
        let e = [0.5 / 3.0, -0.5, 0.5, 0.0, -0.5 / 3.0];
        for (a, b) in q.iter().zip(e) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
    }

    /// The MSE γ is never worse than mean or max on its own objective, and on a layer with
    /// a long tail it sits far above the mean: mean clips every weight above it.
    #[test]
    fn mse_gamma_beats_mean_and_max_on_squared_error() {
        // 1000 weights: |w| uniform-ish on (0, 1], plus a tail up to 3.
        let w: Vec<f64> =
            (1..=1000).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 } * (i as f64 / 1000.0).powi(3) * 3.0).collect();
        for bits in [2, 3, 4] {
            let err = |g: Gamma| {
                let grid = Grid::rescaw(&w, bits, g);
                w.iter().map(|&x| (x - grid.quantize(x)).powi(2)).sum::<f64>()
            };
            let (e_mse, e_mean, e_max, e_p99) =
                (err(Gamma::Mse), err(Gamma::Mean), err(Gamma::Max), err(Gamma::Percentile(99.0)));
            assert!(e_mse <= e_mean && e_mse <= e_max && e_mse <= e_p99, "{bits}: {e_mse} {e_mean} {e_max} {e_p99}");
            let Grid::ReScaW { gamma, .. } = Grid::rescaw(&w, bits, Gamma::Mse) else { unreachable!() };
            assert!(gamma > mean_abs_nonzero(&w), "{bits}: γ {gamma}");
        }
        // Deterministic; all-zero input is harmless.
        assert_eq!(mse_gamma(&w, 3), mse_gamma(&w, 3));
        assert_eq!(mse_gamma(&[0.0, 0.0], 2), 0.0);
        assert_eq!(Grid::rescaw(&[0.0], 2, Gamma::Mse), Grid::ReScaW { gamma: 1.0, steps: 3.0 });
    }

    #[test]
    fn one_bit_is_sign_times_mean_and_percentiles_interpolate() {
        let w = [0.5, -1.5, 0.0, 1.0];
        let g = Grid::symmetric(&w, 1);
        assert_eq!(g, Grid::Binary { scale: 1.0 });
        assert_eq!(w.map(|x| g.quantize(x)), [1.0, -1.0, 0.0, 1.0]);
        assert_eq!(percentile_abs(&[1.0, 2.0, 3.0, 4.0, 0.0], 50.0), 2.5);
        assert_eq!(percentile_abs(&[1.0, 2.0, 3.0], 100.0), 3.0);
    }
}
