//! Losses on the Output node's values over time, per sample, with their gradient.
//!
//! `ce_count` (the reference gradients' loss): cross-entropy of the spike counts summed
//! over T; `mse_count`: snnTorch's `mse_count_loss`, the mean over classes of
//! `(count − target)²` with targets `correct_rate·T` for the label and `incorrect_rate·T`
//! otherwise; `ce_membrane`: snnTorch's `ce_mem_loss`, cross-entropy of the output values
//! (an LI readout's membrane) at every step, summed over T. The batch loss is the mean
//! over samples. Prediction: argmax of the output summed over T (first maximum wins).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    CeCount,
    MseCount { correct_rate: f64, incorrect_rate: f64 },
    CeMembrane,
}

impl Default for Loss {
    fn default() -> Self {
        Loss::CeCount
    }
}

impl Loss {
    pub const NAMES: &'static [&'static str] = &["ce_count", "mse_count", "ce_membrane"];

    pub fn from_name(name: &str) -> Option<Loss> {
        match name {
            "ce_count" => Some(Loss::CeCount),
            "mse_count" => Some(Loss::MseCount { correct_rate: 1.0, incorrect_rate: 0.0 }),
            "ce_membrane" => Some(Loss::CeMembrane),
            _ => None,
        }
    }

    /// Loss of one sample (`y` is `[T, n_out]`) times `scale`; writes `scale·∂loss/∂y` to
    /// `gy`. Returns (scaled loss, prediction == label).
    pub fn sample(self, y: &[f64], n_out: usize, label: usize, scale: f64, gy: &mut [f64]) -> (f64, bool) {
        let t_steps = y.len() / n_out.max(1);
        let mut sum = vec![0.0; n_out];
        for row in y.chunks_exact(n_out) {
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += v);
        }
        let correct = argmax(&sum) == label;
        let loss = match self {
            Loss::CeCount => {
                let mut d = vec![0.0; n_out];
                let l = cross_entropy(&sum, label, &mut d);
                for row in gy.chunks_exact_mut(n_out) {
                    row.iter_mut().zip(&d).for_each(|(g, d)| *g = scale * d);
                }
                l
            }
            Loss::MseCount { correct_rate, incorrect_rate } => {
                let t = t_steps as f64;
                let mut l = 0.0;
                let mut d = vec![0.0; n_out];
                for k in 0..n_out {
                    let target = if k == label { correct_rate * t } else { incorrect_rate * t };
                    let e = sum[k] - target;
                    l += e * e / n_out as f64;
                    d[k] = 2.0 * e / n_out as f64;
                }
                for row in gy.chunks_exact_mut(n_out) {
                    row.iter_mut().zip(&d).for_each(|(g, d)| *g = scale * d);
                }
                l
            }
            Loss::CeMembrane => {
                let mut l = 0.0;
                for (row, g) in y.chunks_exact(n_out).zip(gy.chunks_exact_mut(n_out)) {
                    l += cross_entropy(row, label, g);
                    g.iter_mut().for_each(|v| *v *= scale);
                }
                l
            }
        };
        (loss * scale, correct)
    }
}

/// `−log softmax(z)[label]`; writes `softmax(z) − onehot(label)` to `d`.
fn cross_entropy(z: &[f64], label: usize, d: &mut [f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for (di, &zi) in d.iter_mut().zip(z) {
        *di = (zi - m).exp();
        total += *di;
    }
    for di in d.iter_mut() {
        *di /= total;
    }
    d[label] -= 1.0;
    m + total.ln() - z[label]
}

/// Index of the first maximum (numpy's argmax).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::CeCount => f.write_str("ce_count"),
            Loss::MseCount { .. } => f.write_str("mse_count"),
            Loss::CeMembrane => f.write_str("ce_membrane"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each loss's gradient against central differences of the loss itself.
    #[test]
    fn gradients_match_finite_differences() {
        let y: Vec<f64> = (0..12).map(|i| ((i * 7 % 5) as f64) * 0.3 - 0.4).collect();
        let n_out = 4;
        for loss in [Loss::CeCount, Loss::from_name("mse_count").unwrap(), Loss::CeMembrane] {
            let mut gy = vec![0.0; y.len()];
            loss.sample(&y, n_out, 2, 0.5, &mut gy);
            for i in 0..y.len() {
                let h = 1e-6;
                let (mut a, mut b) = (y.clone(), y.clone());
                a[i] += h;
                b[i] -= h;
                let mut scratch = vec![0.0; y.len()];
                let fd = (loss.sample(&a, n_out, 2, 0.5, &mut scratch).0
                    - loss.sample(&b, n_out, 2, 0.5, &mut scratch).0)
                    / (2.0 * h);
                assert!((fd - gy[i]).abs() < 1e-7, "{loss} element {i}: {fd} vs {}", gy[i]);
            }
        }
    }
}
