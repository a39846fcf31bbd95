//! `Delay`: `y[t] = x[t − d]` per element, `d = round(delay/dt)` steps, as the reference
//! executor; backward `∂x[t] = ∂y[t + d]`, kept in a ring of future gradients.

use crate::exec::Dynamics;
use crate::ir::Tensor;

#[derive(Clone, Debug)]
pub struct Delay {
    steps: Vec<usize>,
    /// Ring length: largest delay + 1.
    ring: usize,
}

impl Delay {
    pub fn new(delay: &Tensor, d: &Dynamics) -> Delay {
        let steps: Vec<usize> = delay.data().iter().map(|&s| (s / d.dt).round() as usize).collect();
        let ring = steps.iter().copied().max().unwrap_or(0).saturating_add(1);
        Delay { steps, ring }
    }

    pub fn max_steps(&self) -> usize {
        self.ring - 1
    }

    /// State floats: the ring of past inputs (forward) or of future gradients (backward).
    pub fn state_len(&self) -> usize {
        self.ring.saturating_mul(self.steps.len())
    }

    pub fn forward(&self, t: usize, input: &[f64], out: &mut [f64], ring: &mut [f64]) {
        let n = self.steps.len();
        let slot = t % self.ring;
        ring[slot * n..(slot + 1) * n].copy_from_slice(input);
        for (i, o) in out.iter_mut().enumerate() {
            let d = self.steps[i];
            *o = if t >= d { ring[((t - d) % self.ring) * n + i] } else { 0.0 };
        }
    }

    /// Called for t = T−1 down to 0 with the same `ring` (zeroed before t = T−1).
    pub fn backward(&self, t: usize, gout: &[f64], ring: &mut [f64], gin: &mut [f64]) {
        let n = self.steps.len();
        for (i, &g) in gout.iter().enumerate() {
            let d = self.steps[i];
            if t >= d {
                ring[((t - d) % self.ring) * n + i] += g;
            }
        }
        let slot = t % self.ring;
        gin.copy_from_slice(&ring[slot * n..(slot + 1) * n]);
        ring[slot * n..(slot + 1) * n].fill(0.0);
    }
}
