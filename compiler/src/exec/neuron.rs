//! Neuron dynamics and the other element-wise kernels (Scale, Threshold, Delay), with the
//! discretisation documented in [`super::dynamics`].

use spikeforge_targets::coremap::{NeuronModel, NeuronRule, ResetTiming, UpdateForm};
use spikeforge_targets::fixed::RealNeuron;
use spikeforge_targets::real::step_real;

use super::dynamics::{Dynamics, ResetRule, SpikeTest};
use super::semantics::{Semantics, SemanticsRules};
use crate::ir::Op;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NeuronKind {
    LIF,
    LI,
    IF,
    I,
    CubaLIF,
    CubaLI,
}

/// Per-neuron coefficients of the discretised update (see [`super::dynamics`]); vectors a
/// kind does not use are empty. The mapper lowers neurons to cores with these, so chip and
/// reference share one discretisation.
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronCoefficients {
    pub kind: NeuronKind,
    /// `dt/tau` (or `dt/tau_mem`); unused for IF and I.
    pub decay: Vec<f64>,
    /// Input gain: `(dt/tau)·r` for LIF/LI/Cuba*, `dt·r` for IF/I.
    pub gain: Vec<f64>,
    pub v_leak: Vec<f64>,
    pub v_threshold: Vec<f64>,
    pub v_reset: Vec<f64>,
    /// `dt/tau_syn` (Cuba*).
    pub syn_decay: Vec<f64>,
    pub w_in: Vec<f64>,
}

/// The neuron update of one node, coefficients precomputed once.
#[derive(Clone, Debug)]
pub struct NeuronKernel {
    pub kind: NeuronKind,
    pub n: usize,
    decay: Vec<f64>,
    gain: Vec<f64>,
    v_leak: Vec<f64>,
    v_threshold: Vec<f64>,
    v_reset: Vec<f64>,
    syn_decay: Vec<f64>,
    w_in: Vec<f64>,
    reset: ResetRule,
    strict: bool,
    rule: NeuronRule,
}

impl NeuronKind {
    /// The core map's name for it.
    pub fn model(self) -> NeuronModel {
        match self {
            NeuronKind::LIF => NeuronModel::LIF,
            NeuronKind::LI => NeuronModel::LI,
            NeuronKind::IF => NeuronModel::IF,
            NeuronKind::I => NeuronModel::I,
            NeuronKind::CubaLIF => NeuronModel::CubaLIF,
            NeuronKind::CubaLI => NeuronModel::CubaLI,
        }
    }

    /// The kind of a neuron op.
    pub fn of(op: &Op) -> Option<NeuronKind> {
        Some(match op {
            Op::LIF { .. } => NeuronKind::LIF,
            Op::LI { .. } => NeuronKind::LI,
            Op::IF { .. } => NeuronKind::IF,
            Op::I { .. } => NeuronKind::I,
            Op::CubaLIF { .. } => NeuronKind::CubaLIF,
            Op::CubaLI { .. } => NeuronKind::CubaLI,
            _ => return None,
        })
    }
}

impl NeuronCoefficients {
    /// `op` is a neuron op (verified); returns None otherwise. Decays are `dt/τ`.
    pub fn new(op: &Op, dt: f64) -> Option<NeuronCoefficients> {
        Self::with_semantics(op, dt, Semantics::Nir)
    }

    /// Coefficients for a dynamics: its semantics turns a time constant into a per-step
    /// decay ([`SemanticsRules::step_ratio`]; Sinabs' `1 − exp(−dt/τ)` makes `1 − decay`
    /// its `α`) and `r` into the gain of IF and I.
    pub fn for_dynamics(op: &Op, d: &Dynamics) -> Option<NeuronCoefficients> {
        Self::with_semantics(op, d.dt, d.semantics)
    }

    fn with_semantics(op: &Op, dt: f64, semantics: Semantics) -> Option<NeuronCoefficients> {
        let v = |t: &crate::ir::Tensor| t.data().to_vec();
        let ratio =
            |tau: &crate::ir::Tensor| tau.data().iter().map(|&t| semantics.step_ratio(dt, t)).collect::<Vec<f64>>();
        let gain_of = |a: &[f64], r: &crate::ir::Tensor| {
            a.iter().zip(r.data()).map(|(&decay, &r)| semantics.leaky_gain(decay, r)).collect::<Vec<f64>>()
        };
        let e = Vec::new;
        let (kind, decay, gain, v_leak, v_threshold, v_reset, syn_decay, w_in) = match op {
            Op::LIF { tau, r, v_leak, v_threshold, v_reset } => {
                let a = ratio(tau);
                let g = gain_of(&a, r);
                (NeuronKind::LIF, a, g, v(v_leak), v(v_threshold), v(v_reset), e(), e())
            }
            Op::LI { tau, r, v_leak } => {
                let a = ratio(tau);
                let g = gain_of(&a, r);
                (NeuronKind::LI, a, g, v(v_leak), e(), e(), e(), e())
            }
            Op::IF { r, v_threshold, v_reset } => {
                let g = r.data().iter().map(|&r| semantics.integrator_gain(dt, r)).collect();
                (NeuronKind::IF, e(), g, e(), v(v_threshold), v(v_reset), e(), e())
            }
            Op::I { r } => {
                let g = r.data().iter().map(|&r| semantics.integrator_gain(dt, r)).collect();
                (NeuronKind::I, e(), g, e(), e(), e(), e(), e())
            }
            Op::CubaLIF { tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in } => {
                let a = ratio(tau_mem);
                let g = gain_of(&a, r);
                (NeuronKind::CubaLIF, a, g, v(v_leak), v(v_threshold), v(v_reset), ratio(tau_syn), v(w_in))
            }
            Op::CubaLI { tau_syn, tau_mem, r, v_leak, w_in } => {
                let a = ratio(tau_mem);
                let g = gain_of(&a, r);
                (NeuronKind::CubaLI, a, g, v(v_leak), e(), e(), ratio(tau_syn), v(w_in))
            }
            _ => return None,
        };
        Some(NeuronCoefficients { kind, decay, gain, v_leak, v_threshold, v_reset, syn_decay, w_in })
    }
}

impl NeuronKernel {
    /// `op` is a neuron op (verified); returns None otherwise. `recurrent`: the node is on
    /// a cycle (see [`super::semantics`]).
    pub fn new(op: &Op, d: &Dynamics, recurrent: bool) -> Option<NeuronKernel> {
        let c = NeuronCoefficients::for_dynamics(op, d)?;
        let rule = d.rule(c.kind, recurrent);
        Some(NeuronKernel {
            kind: c.kind,
            n: c.gain.len(),
            decay: c.decay,
            gain: c.gain,
            v_leak: c.v_leak,
            v_threshold: c.v_threshold,
            v_reset: c.v_reset,
            syn_decay: c.syn_decay,
            w_in: c.w_in,
            reset: d.reset,
            strict: d.spike_test == SpikeTest::Strict,
            rule,
        })
    }

    /// Whether the rule is NIR's (Euler, immediate reset, one spike), which has a fast path.
    fn is_nir_rule(&self) -> bool {
        let r = &self.rule;
        r.form == UpdateForm::Euler && r.timing == ResetTiming::Immediate && !r.multi_spike
    }

    /// Any rule, one neuron at a time, through the update shared with the simulator.
    fn run_rule(&self, input: &[f64], out: &mut [f64], state: &mut [f64]) -> u64 {
        let n = self.n;
        let model = self.kind.model();
        let at = |v: &Vec<f64>, i: usize| v.get(i).copied().unwrap_or(0.0);
        let mut spikes = 0;
        let (vs, rest) = state.split_at_mut(n);
        for i in 0..n {
            let p = RealNeuron {
                decay: at(&self.decay, i),
                gain: self.gain[i],
                v_leak: at(&self.v_leak, i),
                v_threshold: at(&self.v_threshold, i),
                v_reset: at(&self.v_reset, i),
                bias: 0.0,
                syn_decay: at(&self.syn_decay, i),
                w_in: at(&self.w_in, i),
            };
            let mut st = (vs[i], rest.get(i).copied().unwrap_or(0.0));
            let (y, s) = step_real(model, &self.rule, &p, &mut st, input[i]);
            vs[i] = st.0;
            if let Some(c) = rest.get_mut(i) {
                *c = st.1;
            }
            out[i] = y;
            spikes += s;
        }
        spikes
    }

    /// State floats per neuron: v, plus the synaptic current for Cuba*.
    pub fn state_len(&self) -> usize {
        match self.kind {
            NeuronKind::CubaLIF | NeuronKind::CubaLI => 2 * self.n,
            _ => self.n,
        }
    }

    /// One step: `input` is the summed incoming current; writes spikes (spiking kinds) or
    /// the membrane potential (LI, I, CubaLI) to `out`. Returns the number of spikes.
    #[inline]
    pub fn run(&self, input: &[f64], out: &mut [f64], state: &mut [f64]) -> u64 {
        if !self.is_nir_rule() {
            return self.run_rule(input, out, state);
        }
        match (self.strict, self.reset) {
            (true, ResetRule::ToVReset) => self.run_with::<true, false>(input, out, state),
            (true, ResetRule::Subtract) => self.run_with::<true, true>(input, out, state),
            (false, ResetRule::ToVReset) => self.run_with::<false, false>(input, out, state),
            (false, ResetRule::Subtract) => self.run_with::<false, true>(input, out, state),
        }
    }

    /// Spike test and reset as selects rather than branches: spikes are data-dependent and
    /// would mispredict.
    #[inline(always)]
    fn fire<const STRICT: bool, const SUBTRACT: bool>(v: f64, thr: f64, v_reset: f64) -> (f64, f64) {
        let s = if STRICT { v > thr } else { v >= thr };
        let after = if SUBTRACT { v - thr } else { v_reset };
        (if s { after } else { v }, s as u8 as f64)
    }

    fn run_with<const STRICT: bool, const SUBTRACT: bool>(
        &self,
        input: &[f64],
        out: &mut [f64],
        state: &mut [f64],
    ) -> u64 {
        let n = self.n;
        let input = &input[..n];
        let out = &mut out[..n];
        let mut spikes = 0.0f64;
        match self.kind {
            NeuronKind::LIF => {
                let (v, a, vl, g) = (&mut state[..n], &self.decay[..n], &self.v_leak[..n], &self.gain[..n]);
                let (th, vr) = (&self.v_threshold[..n], &self.v_reset[..n]);
                for i in 0..n {
                    let x = v[i] + a[i] * (vl[i] - v[i]) + g[i] * input[i];
                    let (nv, s) = Self::fire::<STRICT, SUBTRACT>(x, th[i], vr[i]);
                    v[i] = nv;
                    out[i] = s;
                    spikes += s;
                }
            }
            NeuronKind::LI => {
                let (v, a, vl, g) = (&mut state[..n], &self.decay[..n], &self.v_leak[..n], &self.gain[..n]);
                for i in 0..n {
                    v[i] = v[i] + a[i] * (vl[i] - v[i]) + g[i] * input[i];
                    out[i] = v[i];
                }
            }
            NeuronKind::IF => {
                let (v, g) = (&mut state[..n], &self.gain[..n]);
                let (th, vr) = (&self.v_threshold[..n], &self.v_reset[..n]);
                for i in 0..n {
                    let (nv, s) = Self::fire::<STRICT, SUBTRACT>(v[i] + g[i] * input[i], th[i], vr[i]);
                    v[i] = nv;
                    out[i] = s;
                    spikes += s;
                }
            }
            NeuronKind::I => {
                let (v, g) = (&mut state[..n], &self.gain[..n]);
                for i in 0..n {
                    v[i] += g[i] * input[i];
                    out[i] = v[i];
                }
            }
            NeuronKind::CubaLIF | NeuronKind::CubaLI => {
                let (vs, syn) = state.split_at_mut(n);
                for i in 0..n {
                    let c = &mut syn[i];
                    *c = *c + self.syn_decay[i] * (self.w_in[i] * input[i] - *c);
                    let x = vs[i] + self.decay[i] * (self.v_leak[i] - vs[i]) + self.gain[i] * *c;
                    if self.kind == NeuronKind::CubaLIF {
                        let (nv, s) = Self::fire::<STRICT, SUBTRACT>(x, self.v_threshold[i], self.v_reset[i]);
                        vs[i] = nv;
                        out[i] = s;
                        spikes += s;
                    } else {
                        vs[i] = x;
                        out[i] = x;
                    }
                }
            }
        }
        spikes as u64
    }
}

/// `y = x > threshold` (or ≥, per the spike test), element-wise.
#[derive(Clone, Debug)]
pub struct ThresholdKernel {
    threshold: Vec<f64>,
    strict: bool,
}

impl ThresholdKernel {
    pub fn new(threshold: &crate::ir::Tensor, d: &Dynamics) -> Self {
        ThresholdKernel { threshold: threshold.data().to_vec(), strict: d.spike_test == SpikeTest::Strict }
    }
    #[inline]
    pub fn run(&self, input: &[f64], out: &mut [f64]) -> u64 {
        let mut spikes = 0;
        for ((o, &x), &t) in out.iter_mut().zip(input).zip(&self.threshold) {
            let s = if self.strict { x > t } else { x >= t };
            *o = s as u8 as f64;
            spikes += s as u64;
        }
        spikes
    }
}

/// `y[t] = x[t − d]` per element, `d = round(delay / dt)` steps.
#[derive(Clone, Debug)]
pub struct DelayKernel {
    steps: Vec<usize>,
    /// Ring length: max delay + 1.
    ring: usize,
}

impl DelayKernel {
    pub fn new(delay: &crate::ir::Tensor, d: &Dynamics) -> Self {
        let steps: Vec<usize> = delay.data().iter().map(|&s| (s / d.dt).round() as usize).collect();
        let ring = steps.iter().copied().max().unwrap_or(0) + 1;
        DelayKernel { steps, ring }
    }
    pub fn max_steps(&self) -> usize {
        self.ring - 1
    }
    pub fn state_len(&self) -> usize {
        self.ring * self.steps.len()
    }
    #[inline]
    pub fn run(&self, t: usize, input: &[f64], out: &mut [f64], state: &mut [f64]) {
        let n = self.steps.len();
        let slot = t % self.ring;
        state[slot * n..(slot + 1) * n].copy_from_slice(input);
        for (i, o) in out.iter_mut().enumerate() {
            let d = self.steps[i];
            *o = if t >= d { state[((t - d) % self.ring) * n + i] } else { 0.0 };
        }
    }
}
