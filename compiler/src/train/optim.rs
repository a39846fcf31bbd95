//! Optimizers: SGD (with momentum) and Adam (PyTorch's update rules), element-wise over
//! the parameters in the kernels' layout.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// `m ← μ·m + g;  w ← w − lr·m` (PyTorch's SGD, dampening 0).
    Sgd { momentum: f64 },
    /// PyTorch's Adam: bias-corrected first and second moments.
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

impl OptimizerKind {
    pub const NAMES: &'static [&'static str] = &["adam", "sgd"];

    pub fn from_name(name: &str, momentum: f64) -> Option<OptimizerKind> {
        match name {
            "adam" => Some(OptimizerKind::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
            "sgd" => Some(OptimizerKind::Sgd { momentum }),
            _ => None,
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptimizerKind::Sgd { momentum } => write!(f, "sgd (momentum {momentum})"),
            OptimizerKind::Adam { .. } => f.write_str("adam"),
        }
    }
}

pub struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    steps: i32,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, lr: f64, shapes: &[Vec<f64>]) -> Optimizer {
        let zeros = || shapes.iter().map(|p| vec![0.0; p.len()]).collect::<Vec<_>>();
        let v = if matches!(kind, OptimizerKind::Adam { .. }) { zeros() } else { Vec::new() };
        Optimizer { kind, lr, steps: 0, m: zeros(), v }
    }

    /// One update of `params` by `grads` (same layout).
    pub fn step(&mut self, params: &mut [Vec<f64>], grads: &[Vec<f64>]) {
        self.steps += 1;
        let lr = self.lr;
        match self.kind {
            OptimizerKind::Sgd { momentum } => {
                for ((w, g), m) in params.iter_mut().zip(grads).zip(&mut self.m) {
                    for ((w, &g), m) in w.iter_mut().zip(g).zip(m.iter_mut()) {
                        *m = if momentum == 0.0 { g } else { momentum * *m + g };
                        *w -= lr * *m;
                    }
                }
            }
            OptimizerKind::Adam { beta1, beta2, eps } => {
                let c1 = 1.0 - beta1.powi(self.steps);
                let c2 = 1.0 - beta2.powi(self.steps);
                for (((w, g), m), v) in params.iter_mut().zip(grads).zip(&mut self.m).zip(&mut self.v) {
                    for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                        *m = beta1 * *m + (1.0 - beta1) * g;
                        *v = beta2 * *v + (1.0 - beta2) * g * g;
                        *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both optimizers minimise a convex quadratic.
    #[test]
    fn optimizers_descend_a_quadratic() {
        for kind in [OptimizerKind::from_name("adam", 0.0).unwrap(), OptimizerKind::from_name("sgd", 0.9).unwrap()] {
            let mut w = vec![vec![3.0, -2.0]];
            let mut opt = Optimizer::new(kind, 0.05, &w);
            for _ in 0..2000 {
                let g = vec![w[0].iter().map(|x| 2.0 * x).collect::<Vec<_>>()];
                opt.step(&mut w, &g);
            }
            assert!(w[0].iter().all(|x| x.abs() < 1e-3), "{kind}: {:?}", w[0]);
        }
    }
}
