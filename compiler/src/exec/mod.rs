//! The reference executor: runs the IR in f64, one sample at a time, with exactly the
//! semantics documented in [`dynamics`]. It is the semantic oracle the chip simulator and
//! the golden traces are checked against, and it produces the calibration statistics that
//! passes need.
//!
//! Entry point: [`Executor::new`] (lowers a verified graph to kernels, see [`plan`]) then
//! [`Executor::run`]. Weight layers are event-driven: their cost grows with the nonzero
//! inputs they receive. Samples are independent, so they run in parallel when asked; the
//! result does not depend on the thread count.

pub mod advice;
pub mod dynamics;
pub mod fixed;
mod neuron;
mod plan;
mod run;
pub mod semantics;
mod synapse;

pub use neuron::{NeuronCoefficients, NeuronKind};
pub use plan::on_cycle;
pub use semantics::{Semantics, SemanticsRules};
pub use synapse::synapse_count;

use std::time::Instant;

use rayon::prelude::*;

pub use dynamics::{Dynamics, ResetRule, SpikeTest, DEFAULT_DT};

use crate::ir::{Graph, OpKind, Shape, Verified};
use crate::limits::{LimitError, Limits};
use plan::Plan;
use run::{run_sample, Counters, Workspace};
pub use run::{NoProbe, Probe};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExecError {
    #[error("the model has {} Input nodes ({}); running it needs exactly one", names.len(), names.join(", "))]
    InputCount { names: Vec<String> },
    #[error("the model has {} Output nodes ({}); running it needs exactly one", names.len(), names.join(", "))]
    OutputCount { names: Vec<String> },
    /// A delay longer than the limit, or whose buffer (steps × neurons values) is.
    #[error("node `{node}`: {}", delay_message(*steps, *buffered, *limit))]
    DelayTooLong { node: String, steps: usize, buffered: usize, limit: usize },
    #[error("input has shape {got}; expected [N, T, {}] (samples, time steps, then the Input node's shape {expected})", expected.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))]
    InputShape { got: Shape, expected: Shape },
}

fn delay_message(steps: usize, buffered: usize, limit: usize) -> String {
    if steps > limit {
        format!("a delay of {steps} steps is above the limit of {limit} steps (raise it with --max-memory)")
    } else {
        format!(
            "a delay of {steps} steps buffers {buffered} values (steps × neurons), above the limit of {limit} values (raise it with --max-memory)"
        )
    }
}

/// Per-node results for weight layers, pooling layers and spiking layers.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeStats {
    pub name: String,
    pub kind: OpKind,
    /// Elements of the node's output (neurons, for neuron nodes).
    pub n_outputs: usize,
    /// Synaptic operations over all samples and steps (weight and pooling layers).
    pub sops: u64,
    /// Spikes over all samples and steps (spiking layers).
    pub spikes: u64,
}

#[derive(Clone, Debug)]
pub struct RunResult {
    pub n_samples: usize,
    pub n_steps: usize,
    pub output_len: usize,
    /// `[N, T, output_len]`.
    pub output: Vec<f64>,
    /// Names of the spiking layers, in evaluation order (the columns of `layer_spikes`).
    pub spiking_layers: Vec<String>,
    /// `[N, T, n_spiking_layers]` spikes per layer per step.
    pub layer_spikes: Vec<i64>,
    pub nodes: Vec<NodeStats>,
    /// Wall time of the time loop only.
    pub execute_seconds: f64,
}

impl RunResult {
    fn total(&self, f: impl Fn(OpKind) -> bool) -> u64 {
        self.nodes.iter().filter(|n| f(n.kind)).map(|n| n.sops).sum()
    }
    /// NeuroBench Effective_ACs over all samples: weight layers.
    pub fn sops_weight_layers(&self) -> u64 {
        self.total(OpKind::is_weight_layer)
    }
    pub fn sops_pooling(&self) -> u64 {
        self.total(OpKind::is_pooling)
    }
    /// Fraction of zero outputs among spiking neurons over all samples and steps.
    pub fn activation_sparsity(&self) -> f64 {
        let spiking = self.nodes.iter().filter(|n| n.kind.is_spiking());
        let (spikes, slots) = spiking.fold((0u64, 0u64), |(s, n), x| (s + x.spikes, n + x.n_outputs as u64));
        let total = slots * (self.n_samples * self.n_steps) as u64;
        if total == 0 {
            return 1.0;
        }
        1.0 - spikes as f64 / total as f64
    }
    /// Neuron state updates over all samples and steps.
    pub fn neuron_updates(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.kind.is_neuron())
            .map(|n| n.n_outputs as u64 * (self.n_samples * self.n_steps) as u64)
            .sum()
    }
}

pub struct Executor {
    plan: Plan,
    input_shape: Shape,
    node_names: Vec<String>,
    neuron_nodes_extra: Vec<NodeStats>,
}

impl Executor {
    pub fn new(graph: &Graph, verified: &Verified, dynamics: Dynamics, limits: &Limits) -> Result<Self, ExecError> {
        let plan = Plan::build(graph, verified, &dynamics, limits)?;
        let input_shape = verified.shape(graph.input_nodes()[0]).clone();
        let node_names = plan.steps.iter().map(|s| graph.name(s.node).to_string()).collect();
        // Neuron nodes that do not spike (LI, I, CubaLI) still count neuron updates.
        let neuron_nodes_extra = plan
            .steps
            .iter()
            .filter(|s| s.kind.is_neuron() && !s.kind.is_spiking())
            .map(|s| NodeStats {
                name: graph.name(s.node).into(),
                kind: s.kind,
                n_outputs: verified.shape(s.node).numel(),
                sops: 0,
                spikes: 0,
            })
            .collect();
        Ok(Executor { plan, input_shape, node_names, neuron_nodes_extra })
    }

    /// Checks that a run of `n_samples × n_steps` fits `limits` before [`Executor::run`]
    /// allocates its outputs (`[N, T, outputs]` f64 and `[N, T, spiking layers]` i64).
    pub fn check_run_size(&self, n_samples: usize, n_steps: usize, limits: &Limits) -> Result<(), LimitError> {
        let per_step = self.plan.output_len + self.plan.spiking_steps.len();
        limits.check_elements("the run's outputs and per-layer spike counts", &[n_samples, n_steps, per_step]).map(drop)
    }

    pub fn input_shape(&self) -> &Shape {
        &self.input_shape
    }
    pub fn output_len(&self) -> usize {
        self.plan.output_len
    }

    /// Runs on one thread, showing `probe` the input and output of the nodes it wants at
    /// every step (for calibration statistics). Returns the output spikes `[N, T, out]`.
    pub fn run_probed<P: Probe>(&self, input: &[f64], n_samples: usize, n_steps: usize, probe: &mut P) -> Vec<f64> {
        let plan = &self.plan;
        let (in_len, out_len, n_layers) = (plan.input_len, plan.output_len, plan.spiking_steps.len());
        assert_eq!(input.len(), n_samples * n_steps * in_len, "input length checked by check_input");
        let watched: Vec<bool> = plan.steps.iter().map(|s| probe.wants(s.node)).collect();
        let mut ws = Workspace::new(plan);
        let mut output = vec![0.0; n_samples * n_steps * out_len];
        let mut layers = vec![0i64; n_steps * n_layers];
        for n in 0..n_samples {
            let mut c = Counters::new(plan.steps.len());
            let x = &input[n * n_steps * in_len..(n + 1) * n_steps * in_len];
            let y = &mut output[n * n_steps * out_len..(n + 1) * n_steps * out_len];
            run_sample(plan, &mut ws, x, n_steps, y, &mut layers, &mut c, (&mut *probe, &watched, n));
        }
        output
    }

    /// Checks an input array's shape `[N, T, *input_shape]` (or `[N, T, numel]`) and
    /// returns `(N, T)`.
    pub fn check_input(&self, shape: &[usize]) -> Result<(usize, usize), ExecError> {
        let err = || ExecError::InputShape { got: Shape(shape.to_vec()), expected: self.input_shape.clone() };
        if shape.len() < 2 {
            return Err(err());
        }
        let rest = &shape[2..];
        let flat_ok = rest.len() == 1 && rest[0] == self.plan.input_len;
        if rest == self.input_shape.dims() || flat_ok {
            Ok((shape[0], shape[1]))
        } else {
            Err(err())
        }
    }

    /// Runs `n_samples × n_steps` of input (`[N, T, input_len]`, C order). `threads` = 1
    /// runs on the calling thread; 0 uses all cores.
    pub fn run(&self, input: &[f64], n_samples: usize, n_steps: usize, threads: usize) -> RunResult {
        let plan = &self.plan;
        let (in_len, out_len, n_layers) = (plan.input_len, plan.output_len, plan.spiking_steps.len());
        assert_eq!(input.len(), n_samples * n_steps * in_len, "input length checked by check_input");
        let mut output = vec![0.0; n_samples * n_steps * out_len];
        let mut layer_spikes = vec![0i64; n_samples * n_steps * n_layers];
        let started = Instant::now();
        let unwatched = vec![false; plan.steps.len()];
        let one = |ws: &mut Workspace, n: usize, y: &mut [f64], l: &mut [i64]| {
            let mut c = Counters::new(plan.steps.len());
            let x = &input[n * n_steps * in_len..(n + 1) * n_steps * in_len];
            run_sample(plan, ws, x, n_steps, y, l, &mut c, (&mut NoProbe, &unwatched, n));
            c
        };
        let y_chunk = (n_steps * out_len).max(1);
        let l_chunk = (n_steps * n_layers).max(1);
        let counters = if threads == 1 || n_samples <= 1 {
            let mut ws = Workspace::new(plan);
            let mut total = Counters::new(plan.steps.len());
            for n in 0..n_samples {
                let y = &mut output[n * n_steps * out_len..(n + 1) * n_steps * out_len];
                let l = &mut layer_spikes[n * n_steps * n_layers..(n + 1) * n_steps * n_layers];
                total = total.merge(one(&mut ws, n, y, l));
            }
            total
        } else {
            let mut work = || {
                output
                    .par_chunks_mut(y_chunk)
                    .zip(layer_spikes.par_chunks_mut(l_chunk))
                    .enumerate()
                    .map_init(|| Workspace::new(plan), |ws, (n, (y, l))| one(ws, n, y, l))
                    .reduce(|| Counters::new(plan.steps.len()), Counters::merge)
            };
            match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                Ok(pool) if threads > 0 => pool.install(work),
                _ => work(),
            }
        };
        let execute_seconds = started.elapsed().as_secs_f64();
        let mut nodes: Vec<NodeStats> = plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind.is_weight_layer() || s.kind.is_pooling() || s.kind.is_spiking())
            .map(|(i, s)| NodeStats {
                name: self.node_names[i].clone(),
                kind: s.kind,
                n_outputs: plan.slot_len[s.out],
                sops: counters.sops[i],
                spikes: counters.spikes[i],
            })
            .collect();
        nodes.extend(self.neuron_nodes_extra.iter().cloned());
        RunResult {
            n_samples,
            n_steps,
            output_len: out_len,
            output,
            spiking_layers: plan.spiking_steps.iter().map(|&i| self.node_names[i].clone()).collect(),
            layer_spikes,
            nodes,
            execute_seconds,
        }
    }
}
