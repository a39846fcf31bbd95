//! Recognises the quantization grid a weight tensor already lies on, for straight-through
//! fake quantization during training.
//!
//! The graph stores quantized weights as f64 values on their grid (the `quantize` pass is
//! fake quantization) without the grid itself, so it is recovered from the values: the
//! nonzero values of a tensor — or, failing that, of each output channel — must be
//! `offset + k·step` for integers `k ≤ MAX_LEVELS` (uniform symmetric or asymmetric grids,
//! and ReScaW's, whose levels contain no zero). Exact zeros are masks and are not levels.
//! Float weights fail the test: their differences have no common step within 2^16 levels.

/// Levels of the finest grid `quantize` makes (16 bits).
pub const MAX_LEVELS: f64 = 65536.0;

/// `offset + k·step`, `k` in `0..=levels`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AffineGrid {
    pub offset: f64,
    pub step: f64,
    pub levels: f64,
}

impl AffineGrid {
    /// The grid the nonzero values lie on: three or more distinct values on a common step,
    /// or two distinct values shared by at least four weights.
    pub fn infer(values: &[f64]) -> Option<AffineGrid> {
        let mut v: Vec<f64> = values.iter().copied().filter(|&x| x != 0.0).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        // Two levels (1- and 2-bit grids) count only when repeated: four nonzero weights.
        let nonzero = values.iter().filter(|&&x| x != 0.0).count();
        if v.len() < 2 || (v.len() == 2 && nonzero < 4) {
            return None;
        }
        let (lo, hi) = (v[0], v[v.len() - 1]);
        let tol = 1e-9 * lo.abs().max(hi.abs());
        let mut step = v[1] - lo;
        for &x in &v[2..] {
            step = approx_gcd(step, x - lo, tol);
            if step <= tol || (hi - lo) / step > MAX_LEVELS {
                return None;
            }
        }
        let levels = ((hi - lo) / step).round();
        let on_grid = v.iter().all(|&x| {
            let k = (x - lo) / step;
            (k - k.round()).abs() < 1e-6
        });
        on_grid.then_some(AffineGrid { offset: lo, step: (hi - lo) / levels.max(1.0), levels })
    }

    /// Nearest level (ties to even, as `torch.round`), clamped to the grid; zero stays zero.
    #[inline]
    pub fn project(&self, w: f64) -> f64 {
        if w == 0.0 {
            return 0.0;
        }
        let k = ((w - self.offset) / self.step).round_ties_even().clamp(0.0, self.levels);
        self.offset + k * self.step
    }
}

/// Euclid's algorithm on floats, remainders below `tol` counting as zero.
fn approx_gcd(mut a: f64, mut b: f64, tol: f64) -> f64 {
    while b > tol {
        let r = a % b;
        a = b;
        b = if r > b - tol { 0.0 } else { r };
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_uniform_and_offset_grids_and_refuses_floats() {
        let s = 0.0371;
        let w: Vec<f64> = [-7, -3, 0, 1, 2, 5, 7, -7, 0].iter().map(|&k| k as f64 * s).collect();
        let g = AffineGrid::infer(&w).expect("a 4-bit symmetric grid");
        assert!((g.step - s).abs() < 1e-12 && g.levels == 14.0, "{g:?}");
        assert_eq!(g.project(0.0), 0.0);
        assert!((g.project(2.4 * s) - 2.0 * s).abs() < 1e-12);
        assert!((g.project(100.0) - 7.0 * s).abs() < 1e-12, "clamped to the top level");
        // ReScaW-like: γ((2/s)k − 1), no zero level.
        let gamma = 0.5;
        let r: Vec<f64> = [0, 1, 3, 5, 7].iter().map(|&k| gamma * (2.0 / 7.0 * k as f64 - 1.0)).collect();
        assert!(AffineGrid::infer(&r).is_some());
        let floats: Vec<f64> = (0..50).map(|i| ((i as f64 * 1.618).sin() * 0.3) as f32 as f64).collect();
        assert_eq!(AffineGrid::infer(&floats), None);
        // 2-bit symmetric: ±s and masks.
        let two = [s, -s, 0.0, s, s, -s];
        let g = AffineGrid::infer(&two).expect("two repeated levels");
        assert_eq!((g.project(0.3 * s), g.project(-5.0)), (s, -s));
        assert_eq!(AffineGrid::infer(&[0.25, -0.5]), None, "two weights are no evidence of a grid");
    }
}
