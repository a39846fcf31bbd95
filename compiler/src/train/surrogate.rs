//! Surrogate derivatives of the spike function `s = H(v − v_threshold)`.
//!
//! The forward pass keeps the exact Heaviside step; the backward pass replaces its
//! derivative by a smooth bump in `u = v − v_threshold`, as snnTorch's `surrogate` module
//! does (same names and defaults).

use std::f64::consts::PI;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Surrogate {
    /// `(α/2) / (1 + (π·α·u/2)²)`; α = 2 gives `1 / (1 + (π·u)²)` (snnTorch's default).
    Atan { alpha: f64 },
    /// `1 / (slope·|u| + 1)²` (SuperSpike; snnTorch's default slope 25).
    FastSigmoid { slope: f64 },
    /// `slope·σ(slope·u)·(1 − σ(slope·u))` (snnTorch's default slope 25).
    Sigmoid { slope: f64 },
    /// `max(0, 1 − |u|/width) / width`: a triangle of area 1.
    Triangle { width: f64 },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::Atan { alpha: 2.0 }
    }
}

impl Surrogate {
    /// The names accepted by `surrogate=` in `--passes` and `--surrogate`.
    pub const NAMES: &'static [&'static str] = &["atan", "fast-sigmoid", "sigmoid", "triangle"];

    /// The surrogate called `name` with its shape parameter (α, slope or width), or its
    /// default when `param` is None.
    pub fn from_name(name: &str, param: Option<f64>) -> Option<Surrogate> {
        Some(match name {
            "atan" => Surrogate::Atan { alpha: param.unwrap_or(2.0) },
            "fast-sigmoid" | "fast_sigmoid" => Surrogate::FastSigmoid { slope: param.unwrap_or(25.0) },
            "sigmoid" => Surrogate::Sigmoid { slope: param.unwrap_or(25.0) },
            "triangle" => Surrogate::Triangle { width: param.unwrap_or(1.0) },
            _ => return None,
        })
    }

    /// `ds/dv` at `u = v − v_threshold`.
    #[inline]
    pub fn derivative(self, u: f64) -> f64 {
        match self {
            Surrogate::Atan { alpha } => {
                let z = PI * alpha * 0.5 * u;
                alpha * 0.5 / (1.0 + z * z)
            }
            Surrogate::FastSigmoid { slope } => {
                let d = slope * u.abs() + 1.0;
                1.0 / (d * d)
            }
            Surrogate::Sigmoid { slope } => {
                let s = 1.0 / (1.0 + (-slope * u).exp());
                slope * s * (1.0 - s)
            }
            Surrogate::Triangle { width } => (1.0 - u.abs() / width).max(0.0) / width,
        }
    }
}

impl fmt::Display for Surrogate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Surrogate::Atan { alpha } => write!(f, "atan (alpha {alpha})"),
            Surrogate::FastSigmoid { slope } => write!(f, "fast-sigmoid (slope {slope})"),
            Surrogate::Sigmoid { slope } => write!(f, "sigmoid (slope {slope})"),
            Surrogate::Triangle { width } => write!(f, "triangle (width {width})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each surrogate is the derivative of a step-like function: check it against a
    /// central difference of its antiderivative where one is known in closed form.
    #[test]
    fn atan_is_the_derivative_of_its_antiderivative() {
        let s = Surrogate::Atan { alpha: 2.0 };
        let f = |u: f64| (PI * u).atan() / PI;
        for &u in &[-1.3, -0.2, 0.0, 0.05, 0.7] {
            let h = 1e-6;
            let fd = (f(u + h) - f(u - h)) / (2.0 * h);
            assert!((fd - s.derivative(u)).abs() < 1e-8, "u {u}: {fd} vs {}", s.derivative(u));
        }
    }

    #[test]
    fn sigmoid_and_fast_sigmoid_match_their_antiderivatives() {
        let k = 25.0;
        let sig = |u: f64| 1.0 / (1.0 + (-k * u).exp());
        let fs = |u: f64| u / (1.0 + k * u.abs());
        for &u in &[-0.3, -0.01, 0.02, 0.4] {
            let h = 1e-7;
            let d_sig = (sig(u + h) - sig(u - h)) / (2.0 * h);
            assert!((d_sig - Surrogate::Sigmoid { slope: k }.derivative(u)).abs() < 1e-5);
            let d_fs = (fs(u + h) - fs(u - h)) / (2.0 * h);
            assert!((d_fs - Surrogate::FastSigmoid { slope: k }.derivative(u)).abs() < 1e-5);
        }
    }
}
