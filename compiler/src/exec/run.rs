//! The time loop: one sample at a time, every step of the plan per time step.

use super::plan::{Kernel, Plan};

/// Per-thread buffers, allocated once and reused across samples.
pub struct Workspace {
    slots: Vec<Vec<f64>>,
    state: Vec<f64>,
    scratch: Vec<f64>,
    insum: Vec<f64>,
    /// Spikes each step emitted at the current time step.
    last_spikes: Vec<u64>,
}

impl Workspace {
    pub fn new(plan: &Plan) -> Self {
        Workspace {
            slots: plan.slot_len.iter().map(|&n| vec![0.0; n]).collect(),
            state: vec![0.0; plan.state_len],
            scratch: vec![0.0; plan.scratch_len],
            insum: vec![0.0; plan.scratch_len],
            last_spikes: vec![0; plan.steps.len()],
        }
    }
}

/// Counters of one or more samples, indexed by plan step.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub sops: Vec<u64>,
    pub spikes: Vec<u64>,
}

impl Counters {
    pub fn new(n_steps: usize) -> Self {
        Counters { sops: vec![0; n_steps], spikes: vec![0; n_steps] }
    }
    pub fn merge(mut self, other: Counters) -> Counters {
        for (a, b) in self.sops.iter_mut().zip(other.sops) {
            *a += b;
        }
        for (a, b) in self.spikes.iter_mut().zip(other.spikes) {
            *a += b;
        }
        self
    }
}

/// Observes node values during a run (calibration statistics). `wants` is asked once per
/// plan step before the run; `record` then sees that node's summed input and output at
/// every time step.
pub trait Probe {
    fn wants(&self, node: crate::ir::NodeId) -> bool;
    fn record(&mut self, sample: usize, step: usize, node: crate::ir::NodeId, input: &[f64], output: &[f64]);
}

/// No observation: the normal run.
pub struct NoProbe;

impl Probe for NoProbe {
    fn wants(&self, _: crate::ir::NodeId) -> bool {
        false
    }
    fn record(&mut self, _: usize, _: usize, _: crate::ir::NodeId, _: &[f64], _: &[f64]) {}
}

/// Runs one sample. `x` is `[T, input_len]`; writes `[T, output_len]` to `y` and
/// `[T, n_spiking]` spike counts to `layer_spikes`.
#[allow(clippy::too_many_arguments)]
pub fn run_sample<P: Probe>(
    plan: &Plan,
    ws: &mut Workspace,
    x: &[f64],
    n_steps: usize,
    y: &mut [f64],
    layer_spikes: &mut [i64],
    counters: &mut Counters,
    probe: (&mut P, &[bool], usize),
) {
    let (probe, watched, sample) = probe;
    let Workspace { slots, state, scratch, insum, last_spikes } = ws;
    for s in slots.iter_mut() {
        s.fill(0.0);
    }
    for (slot, v) in &plan.rest_values {
        slots[*slot].copy_from_slice(v);
    }
    state.fill(0.0);
    let n_layers = plan.spiking_steps.len();
    for t in 0..n_steps {
        for (si, step) in plan.steps.iter().enumerate() {
            let mut out = std::mem::take(&mut slots[step.out]);
            let input: &[f64] = if let Kernel::Input = step.kernel {
                out.copy_from_slice(&x[t * plan.input_len..(t + 1) * plan.input_len]);
                slots[step.out] = out;
                continue;
            } else if step.needs_sum {
                let buf = &mut insum[..step.in_len];
                buf.fill(0.0);
                for &src in &step.sources {
                    let v: &[f64] = if src == step.out { &out } else { &slots[src] };
                    for (b, x) in buf.iter_mut().zip(v) {
                        *b += *x;
                    }
                }
                buf
            } else {
                &slots[step.sources[0]]
            };
            let st = &mut state[step.state.0..step.state.0 + step.state.1];
            match &step.kernel {
                Kernel::Input => unreachable!("handled above"),
                Kernel::Copy => out.copy_from_slice(input),
                Kernel::Dense(k) => counters.sops[si] += k.run(input, &mut out),
                Kernel::Conv(k) => counters.sops[si] += k.run(input, &mut out, &mut scratch[..k.scratch_len()]),
                Kernel::Pool(k) => counters.sops[si] += k.run(input, &mut out),
                Kernel::Scale(s) => {
                    for ((o, x), s) in out.iter_mut().zip(input).zip(s) {
                        *o = s * x;
                    }
                }
                Kernel::Threshold(k) => last_spikes[si] = k.run(input, &mut out),
                Kernel::Delay(k) => k.run(t, input, &mut out, st),
                Kernel::Neuron(k) => last_spikes[si] = k.run(input, &mut out, st),
            }
            if watched[si] {
                probe.record(sample, t, step.node, input, &out);
            }
            slots[step.out] = out;
        }
        y[t * plan.output_len..(t + 1) * plan.output_len].copy_from_slice(&slots[plan.output_slot]);
        for (l, &si) in plan.spiking_steps.iter().enumerate() {
            counters.spikes[si] += last_spikes[si];
            layer_spikes[t * n_layers + l] = last_spikes[si] as i64;
        }
    }
}
