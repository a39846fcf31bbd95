//! Lowers a verified graph to a list of kernels in evaluation order, with buffer slots.
//!
//! Needs: a graph that passed [`Graph::verify`]. Establishes: every step reads slots that
//! hold the current step's value of its forward inputs, or the previous step's value for
//! back edges (a back edge's source runs after its consumer, so its slot still holds
//! step t−1; before step 0 it holds the source's rest output, e.g. an Affine's bias).

use std::collections::HashSet;

use super::dynamics::Dynamics;
use super::neuron::{DelayKernel, NeuronKernel, ThresholdKernel};
use super::synapse::{ConvKernel, Dense, PoolKernel};
use super::ExecError;
use crate::ir::{Graph, NodeId, Op, OpKind, Verified};
use crate::limits::Limits;

/// Whether `node` lies on a cycle of the graph (a recurrent layer: snnTorch's RLeaky
/// rather than Leaky, see [`super::semantics`]).
pub fn on_cycle(graph: &Graph, node: NodeId) -> bool {
    let mut seen = HashSet::new();
    let mut stack = graph.outputs(node);
    while let Some(n) = stack.pop() {
        if n == node {
            return true;
        }
        if seen.insert(n) {
            stack.extend(graph.outputs(n));
        }
    }
    false
}

#[derive(Clone, Debug)]
pub enum Kernel {
    Input,
    /// Flatten and Output when they cannot share their input's slot.
    Copy,
    Dense(Dense),
    Conv(ConvKernel),
    Pool(PoolKernel),
    Scale(Vec<f64>),
    Threshold(ThresholdKernel),
    Delay(DelayKernel),
    Neuron(NeuronKernel),
}

#[derive(Clone, Debug)]
pub struct Step {
    pub node: NodeId,
    pub kind: OpKind,
    /// Slots summed to form the input (empty for Input).
    pub sources: Vec<usize>,
    /// Sum the sources into the scratch buffer first (several sources or a self-loop).
    pub needs_sum: bool,
    pub in_len: usize,
    pub out: usize,
    pub kernel: Kernel,
    /// Offset and length of this step's state in the per-sample state vector.
    pub state: (usize, usize),
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub slot_len: Vec<usize>,
    /// Slots whose value before step 0 is not zero, with that value.
    pub rest_values: Vec<(usize, Vec<f64>)>,
    pub state_len: usize,
    pub scratch_len: usize,
    pub input_len: usize,
    pub output_slot: usize,
    pub output_len: usize,
    /// Step indices of spiking layers, in evaluation order.
    pub spiking_steps: Vec<usize>,
}

impl Plan {
    pub fn build(graph: &Graph, verified: &Verified, dynamics: &Dynamics, limits: &Limits) -> Result<Plan, ExecError> {
        let inputs = graph.input_nodes();
        let outputs = graph.output_nodes();
        if inputs.len() != 1 {
            return Err(ExecError::InputCount { names: inputs.iter().map(|&n| graph.name(n).to_string()).collect() });
        }
        if outputs.len() != 1 {
            return Err(ExecError::OutputCount { names: outputs.iter().map(|&n| graph.name(n).to_string()).collect() });
        }
        let schedule = &verified.schedule;
        let back_sources: HashSet<NodeId> = schedule.back_edges.iter().map(|&(from, _)| from).collect();
        let mut slot_of = vec![usize::MAX; graph.id_bound()];
        let mut slot_len = Vec::new();
        let mut steps = Vec::with_capacity(schedule.order.len());
        let mut rest_values = Vec::new();
        let mut state_len = 0usize;
        let mut scratch_len = 0usize;
        for &node in &schedule.order {
            let op = graph.op(node);
            let out_shape = verified.shape(node);
            let srcs = graph.inputs(node);
            let in_shape = srcs.first().map(|&s| verified.shape(s).clone());
            let in_len = in_shape.as_ref().map_or(0, |s| s.numel());
            let single_forward = srcs.len() == 1 && !schedule.is_back_edge(srcs[0], node);
            // Flatten and Output share their input's slot when nothing reads them as a
            // previous-step value.
            let alias =
                matches!(op, Op::Flatten { .. } | Op::Output { .. }) && single_forward && !back_sources.contains(&node);
            let out_slot = if alias {
                slot_of[srcs[0].index()]
            } else {
                slot_len.push(out_shape.numel());
                slot_len.len() - 1
            };
            slot_of[node.index()] = out_slot;
            if alias {
                continue;
            }
            let in_dims = in_shape.as_ref().map(|s| s.dims().to_vec()).unwrap_or_default();
            let mut state = 0usize;
            let kernel = match op {
                Op::Input { .. } => Kernel::Input,
                Op::Output { .. } | Op::Flatten { .. } => Kernel::Copy,
                Op::Affine { weight, bias } => {
                    let d = Dense::new(weight, Some(bias));
                    rest_values.push((out_slot, d.rest_output()));
                    Kernel::Dense(d)
                }
                Op::Linear { weight } => Kernel::Dense(Dense::new(weight, None)),
                Op::Conv1d(c) | Op::Conv2d(c) => {
                    let k = ConvKernel::new(c, &in_dims, out_shape.dims());
                    scratch_len = scratch_len.max(k.scratch_len());
                    rest_values.push((out_slot, k.rest_output()));
                    Kernel::Conv(k)
                }
                Op::SumPool2d(p) => Kernel::Pool(PoolKernel::new(p, false, &in_dims, out_shape.dims())),
                Op::AvgPool2d(p) => Kernel::Pool(PoolKernel::new(p, true, &in_dims, out_shape.dims())),
                Op::Scale { scale } => Kernel::Scale(scale.data().to_vec()),
                Op::Threshold { threshold } => Kernel::Threshold(ThresholdKernel::new(threshold, dynamics)),
                Op::Delay { delay } => {
                    let k = DelayKernel::new(delay, dynamics);
                    let n = k.state_len();
                    if k.max_steps() > limits.max_node_elements || n > limits.max_node_elements {
                        return Err(ExecError::DelayTooLong {
                            node: graph.name(node).into(),
                            steps: k.max_steps(),
                            buffered: n,
                            limit: limits.max_node_elements,
                        });
                    }
                    state = n;
                    Kernel::Delay(k)
                }
                _ => {
                    let k = NeuronKernel::new(op, dynamics, on_cycle(graph, node)).expect("remaining ops are neurons");
                    state = k.state_len();
                    Kernel::Neuron(k)
                }
            };
            let needs_sum = srcs.len() > 1 || srcs.contains(&node);
            if needs_sum || !single_forward {
                scratch_len = scratch_len.max(in_len);
            }
            steps.push(Step {
                node,
                kind: op.kind(),
                sources: Vec::new(),
                needs_sum,
                in_len,
                out: out_slot,
                kernel,
                state: (state_len, state),
            });
            state_len += state;
        }
        // All slots are known now, including those of back-edge sources.
        for step in steps.iter_mut() {
            step.sources = graph.inputs(step.node).iter().map(|s| slot_of[s.index()]).collect();
        }
        let spiking_steps = steps.iter().enumerate().filter(|(_, s)| s.kind.is_spiking()).map(|(i, _)| i).collect();
        Ok(Plan {
            input_len: verified.shape(inputs[0]).numel(),
            output_slot: slot_of[outputs[0].index()],
            output_len: verified.shape(outputs[0]).numel(),
            steps,
            slot_len,
            rest_values,
            state_len,
            scratch_len,
            spiking_steps,
        })
    }
}
