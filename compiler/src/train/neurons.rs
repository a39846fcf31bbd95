//! Neuron updates with what their backward pass needs saved, and that backward pass.
//!
//! Forward is the reference executor's discretisation ([`crate::exec::dynamics`]) in the
//! same expression order. Per spiking neuron and step the tape keeps the surrogate
//! derivative `σ'(x − v_threshold)` of the pre-reset potential `x` and `∂v_new/∂x`, the
//! reset's local derivative with the spike detached: `1 − s` for reset-to-`v_reset`
//! (`v ← x − s·(x − v_reset)`), `1` for subtract (`v ← x − s·v_threshold`). Another reset
//! or spike rule is one arm of [`fire`]. Backward, per step in reverse, with `∂v` carried
//! from the future in the state gradient:
//!
//! ```text
//! LIF/IF    ∂x = ∂s·σ' + ∂v·keep;   ∂v_prev = ∂x·(1 − a);   ∂I = ∂x·gain     (IF: a = 0)
//! LI/I      ∂x = ∂out + ∂v;          ∂v_prev = ∂x·(1 − a);   ∂I = ∂x·gain
//! Cuba*     as above with ∂c = ∂x·gain + ∂c_future;  ∂c_prev = ∂c·(1 − a_syn);  ∂I = ∂c·a_syn·w_in
//! ```

use super::surrogate::Surrogate;
use crate::exec::{NeuronCoefficients, NeuronKind, ResetRule, SpikeTest};

#[derive(Clone, Debug)]
pub struct Neuron {
    pub c: NeuronCoefficients,
    pub n: usize,
    pub reset: ResetRule,
    pub strict: bool,
}

/// The spike test and reset at pre-reset potential `x`: (new v, spike, ∂v_new/∂x).
#[inline(always)]
fn fire(x: f64, thr: f64, v_reset: f64, strict: bool, reset: ResetRule) -> (f64, f64, f64) {
    let s = if strict { x > thr } else { x >= thr };
    match reset {
        ResetRule::ToVReset => (if s { v_reset } else { x }, s as u8 as f64, if s { 0.0 } else { 1.0 }),
        ResetRule::Subtract => (if s { x - thr } else { x }, s as u8 as f64, 1.0),
    }
}

impl Neuron {
    pub fn new(c: NeuronCoefficients, reset: ResetRule, spike_test: SpikeTest) -> Neuron {
        Neuron { n: c.gain.len(), c, reset, strict: spike_test == SpikeTest::Strict }
    }

    pub fn spiking(&self) -> bool {
        matches!(self.c.kind, NeuronKind::LIF | NeuronKind::IF | NeuronKind::CubaLIF)
    }

    fn cuba(&self) -> bool {
        matches!(self.c.kind, NeuronKind::CubaLIF | NeuronKind::CubaLI)
    }

    /// State floats: v (and the synaptic current for Cuba*).
    pub fn state_len(&self) -> usize {
        if self.cuba() {
            2 * self.n
        } else {
            self.n
        }
    }

    /// Tape floats per step: σ' and keep for spiking kinds.
    pub fn tape_len(&self) -> usize {
        if self.spiking() {
            2 * self.n
        } else {
            0
        }
    }

    /// One step forward; `tape` gets `[σ'…, keep…]` for spiking kinds.
    pub fn forward(&self, sg: Surrogate, input: &[f64], out: &mut [f64], state: &mut [f64], tape: &mut [f64]) {
        let n = self.n;
        let c = &self.c;
        let (v, syn) = state.split_at_mut(n);
        for i in 0..n {
            let drive = if self.cuba() {
                syn[i] = syn[i] + c.syn_decay[i] * (c.w_in[i] * input[i] - syn[i]);
                syn[i]
            } else {
                input[i]
            };
            let x = match c.kind {
                NeuronKind::IF | NeuronKind::I => v[i] + c.gain[i] * drive,
                _ => v[i] + c.decay[i] * (c.v_leak[i] - v[i]) + c.gain[i] * drive,
            };
            if self.spiking() {
                let (nv, s, keep) = fire(x, c.v_threshold[i], c.v_reset[i], self.strict, self.reset);
                v[i] = nv;
                out[i] = s;
                tape[i] = sg.derivative(x - c.v_threshold[i]);
                tape[n + i] = keep;
            } else {
                v[i] = x;
                out[i] = x;
            }
        }
    }

    /// One step backward: `gout` is ∂L/∂out at this step, `gstate` holds ∂L/∂state of this
    /// step on entry and of the previous step on return; writes ∂L/∂input to `gin`.
    pub fn backward(&self, gout: &[f64], tape: &[f64], gstate: &mut [f64], gin: &mut [f64]) {
        let n = self.n;
        let c = &self.c;
        let (gv, gsyn) = gstate.split_at_mut(n);
        let leaky = !matches!(c.kind, NeuronKind::IF | NeuronKind::I);
        for i in 0..n {
            let gx = if self.spiking() { gout[i] * tape[i] + gv[i] * tape[n + i] } else { gout[i] + gv[i] };
            gv[i] = if leaky { gx * (1.0 - c.decay[i]) } else { gx };
            if self.cuba() {
                let gc = gx * c.gain[i] + gsyn[i];
                gsyn[i] = gc * (1.0 - c.syn_decay[i]);
                gin[i] = gc * c.syn_decay[i] * c.w_in[i];
            } else {
                gin[i] = gx * c.gain[i];
            }
        }
    }
}

/// `y = H(x − threshold)` element-wise, with the surrogate derivative on the tape.
#[derive(Clone, Debug)]
pub struct Threshold {
    pub threshold: Vec<f64>,
    pub strict: bool,
}

impl Threshold {
    pub fn forward(&self, sg: Surrogate, input: &[f64], out: &mut [f64], tape: &mut [f64]) {
        for (i, (&x, &t)) in input.iter().zip(&self.threshold).enumerate() {
            out[i] = (if self.strict { x > t } else { x >= t }) as u8 as f64;
            tape[i] = sg.derivative(x - t);
        }
    }

    pub fn backward(gout: &[f64], tape: &[f64], gin: &mut [f64]) {
        for ((g, &d), &s) in gin.iter_mut().zip(gout).zip(tape) {
            *g = d * s;
        }
    }
}
