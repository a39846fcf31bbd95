//! Error-compensating quantization (GPTQ order, with SBC's spike-trace Hessian).
//!
//! Per row `w` of a layer (an output neuron or channel; `d` = fan-in) and the layer's
//! damped Hessian `H` (see [`super::calib`]): with `U` the upper Cholesky factor of `H⁻¹`
//! (`H⁻¹ = Uᵀ U`), columns are quantized in order and each one's rounding error is
//! spread over the columns not yet quantized:
//!
//! ```text
//! for q in 0..d:  err = (w_q − quant(w_q)) / U_qq;   w_{q+1..} −= err · U_{q, q+1..};   w_q = quant(w_q)
//! ```
//!
//! This is the OBS update `δ = −(w_q − quant(w_q)) / [H⁻¹]_qq · H⁻¹[:, q]` applied
//! sequentially with `H⁻¹` restricted to the remaining columns each time (Frantar et al.,
//! GPTQ; the Cholesky rows hold those restricted inverses). Pruned weights (masked) are
//! quantized to exactly 0, and their removal is compensated the same way.

use crate::linalg::{cholesky, damp, inverse_from_cholesky};

use super::quantizers::Grid;

/// `U` (row-major upper triangular) with `H⁻¹ = Uᵀ U`, after damping `H` by 1 % of its
/// mean diagonal. `None` if `H` is not positive definite even after damping.
pub fn inverse_hessian_factor(h: &[f64], d: usize, damping: f64) -> Option<Vec<f64>> {
    let mut h = h.to_vec();
    damp(&mut h, d, damping);
    let l = cholesky(&h, d)?;
    let inv = inverse_from_cholesky(&l, d);
    let li = cholesky(&inv, d)?;
    let mut u = vec![0.0; d * d];
    for i in 0..d {
        for j in i..d {
            u[i * d + j] = li[j * d + i];
        }
    }
    Some(u)
}

/// Quantizes one row in place. `masked[i]` forces column i to 0.
pub fn quantize_row(w: &mut [f64], u: &[f64], grid: &Grid, masked: &[bool]) {
    let d = w.len();
    for q in 0..d {
        let target = if masked[q] { 0.0 } else { grid.quantize(w[q]) };
        let err = (w[q] - target) / u[q * d + q];
        let row = &u[q * d + q + 1..(q + 1) * d];
        for (wj, uj) in w[q + 1..].iter_mut().zip(row) {
            *wj -= err * uj;
        }
        w[q] = target;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With a diagonal Hessian there is nothing to compensate: GPTQ is round-to-nearest.
    #[test]
    fn diagonal_hessian_is_round_to_nearest() {
        let h = [2.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 5.0];
        let u = inverse_hessian_factor(&h, 3, 0.0).unwrap();
        let g = Grid::Uniform { scale: 0.5, zero_point: 0, qmin: -7, qmax: 7 };
        let mut w = [0.7, -0.2, 1.1];
        quantize_row(&mut w, &u, &g, &[false; 3]);
        assert_eq!(w, [0.5, -0.0, 1.0]);
    }

    /// Two perfectly correlated inputs: the error of the first is moved onto the second,
    /// exactly the closed-form OBS update δ₂ = −err · H⁻¹₁₂ / H⁻¹₁₁.
    #[test]
    fn correlated_inputs_get_the_obs_compensation() {
        // H = [[2, 1], [1, 2]] → H⁻¹ = [[2, −1], [−1, 2]] / 3
        let h = [2.0, 1.0, 1.0, 2.0];
        let u = inverse_hessian_factor(&h, 2, 0.0).unwrap();
        let g = Grid::Uniform { scale: 1.0, zero_point: 0, qmin: -7, qmax: 7 };
        let mut w = [0.4, 0.0];
        let masked = [false, true];
        // w₁ → 0 (round), error 0.4; δ₂ = −0.4 · (−1/3) / (2/3) = 0.2 … then w₂ is masked → 0.
        let mut w2 = w;
        quantize_row(&mut w2, &u, &g, &[false, false]);
        // unmasked: w₂ = 0.2 rounds to 0 as well
        assert_eq!(w2, [0.0, 0.0]);
        let g_fine = Grid::Uniform { scale: 0.1, zero_point: 0, qmin: -70, qmax: 70 };
        w = [0.43, 0.0];
        quantize_row(&mut w, &u, &g_fine, &[false, false]);
        // 0.43 → 0.4, err 0.03, δ₂ = 0.015 → rounds to 0.0
        assert!((w[0] - 0.4).abs() < 1e-15 && w[1] == 0.0, "{w:?}");
        let mut w3 = [1.3, 0.0];
        quantize_row(&mut w3, &u, &g, &masked);
        // 1.3 → 1, err 0.3, δ₂ = 0.15 but column 2 is masked → 0
        assert_eq!(w3, [1.0, 0.0]);
    }

    /// The compensated row reconstructs the layer output better than round-to-nearest
    /// under the Hessian's metric: (w−ŵ)ᵀ H (w−ŵ) is smaller.
    #[test]
    fn compensation_lowers_the_reconstruction_error() {
        let d = 4;
        // A correlated, positive-definite H.
        let x = [
            [1.0, 0.9, 0.0, 0.2],
            [0.8, 1.0, 0.1, 0.0],
            [0.0, 0.1, 1.0, 0.9],
            [0.3, 0.0, 0.9, 1.0],
            [1.0, 1.0, 1.0, 1.0],
        ];
        let mut h = vec![0.0; d * d];
        for v in &x {
            for i in 0..d {
                for j in 0..d {
                    h[i * d + j] += 2.0 * v[i] * v[j] / x.len() as f64;
                }
            }
        }
        let w = [0.33, -0.27, 0.61, 0.12];
        let g = Grid::Uniform { scale: 0.25, zero_point: 0, qmin: -3, qmax: 3 };
        let rtn: Vec<f64> = w.iter().map(|&v| g.quantize(v)).collect();
        let u = inverse_hessian_factor(&h, d, 0.0).unwrap();
        let mut gq = w;
        quantize_row(&mut gq, &u, &g, &[false; 4]);
        let loss = |q: &[f64]| {
            let e: Vec<f64> = w.iter().zip(q).map(|(a, b)| a - b).collect();
            (0..d).map(|i| (0..d).map(|j| e[i] * h[i * d + j] * e[j]).sum::<f64>()).sum::<f64>()
        };
        assert!(loss(&gq) < loss(&rtn), "gptq {} vs rtn {}", loss(&gq), loss(&rtn));
        assert!(gq.iter().all(|v| (v / 0.25).fract() == 0.0), "on the grid: {gq:?}");
    }
}
