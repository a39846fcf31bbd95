//! Small dense symmetric-matrix routines for the OBS/GPTQ passes (row-major `n × n`).
//! Cholesky based, O(n³/3); matrices here are a layer's fan-in wide (≤ a few thousand).

/// Lower-triangular `L` with `A = L Lᵀ`; `None` if `A` is not positive definite.
pub fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= l[j * n + k] * l[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            let (ri, rj) = (&l[i * n..i * n + j], &l[j * n..j * n + j]);
            for k in 0..j {
                s -= ri[k] * rj[k];
            }
            l[i * n + j] = s / d;
        }
    }
    Some(l)
}

/// `A⁻¹` from the Cholesky factor `L` of `A`.
pub fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    // L⁻¹ by forward substitution, then A⁻¹ = L⁻ᵀ L⁻¹.
    let mut li = vec![0.0; n * n];
    for c in 0..n {
        li[c * n + c] = 1.0 / l[c * n + c];
        for i in c + 1..n {
            let mut s = 0.0;
            for k in c..i {
                s -= l[i * n + k] * li[k * n + c];
            }
            li[i * n + c] = s / l[i * n + i];
        }
    }
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = 0.0;
            for k in i..n {
                s += li[k * n + i] * li[k * n + j];
            }
            inv[i * n + j] = s;
            inv[j * n + i] = s;
        }
    }
    inv
}

/// Adds `fraction · mean(diag A)` to the diagonal (OBS damping); a zero diagonal entry (an
/// input that never fired) becomes 1 first so the matrix stays invertible.
pub fn damp(a: &mut [f64], n: usize, fraction: f64) {
    for i in 0..n {
        if a[i * n + i] == 0.0 {
            a[i * n + i] = 1.0;
        }
    }
    let mean = (0..n).map(|i| a[i * n + i]).sum::<f64>() / n.max(1) as f64;
    for i in 0..n {
        a[i * n + i] += fraction * mean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_of_a_known_matrix() {
        // A = [[4, 2], [2, 3]] → A⁻¹ = [[3, −2], [−2, 4]] / 8
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2).unwrap();
        assert_eq!(l, vec![2.0, 0.0, 1.0, 2f64.sqrt()]);
        let inv = inverse_from_cholesky(&l, 2);
        let want = [3.0 / 8.0, -0.25, -0.25, 0.5];
        for (x, y) in inv.iter().zip(want) {
            assert!((x - y).abs() < 1e-15);
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn damping_fixes_dead_inputs() {
        let mut a = vec![0.0, 0.0, 0.0, 2.0];
        damp(&mut a, 2, 0.01);
        assert_eq!(a, vec![1.015, 0.0, 0.0, 2.015]);
    }
}
