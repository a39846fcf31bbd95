//! Lowers a verified graph to differentiable steps over slots, and holds the parameters.
//!
//! Needs: a graph that passed [`Graph::verify`] with one Input and one Output. Establishes:
//! one slot per node (evaluation order = the gate's schedule), each step's sources tagged
//! forward (this step's value) or back edge (the previous step's value, the source's rest
//! output before step 0 — an Affine's bias, so its bias gradient also collects what flows
//! back to step −1); every weight and bias a [`Param`] in the kernels' layout with the map
//! to NIR's; per step whether any gradient reaches it and whether it must pass one on.

use super::delay::Delay;
use super::neurons::{Neuron, Threshold};
use super::synapse::{ConvGeom, DenseGeom, PoolGeom};
use super::TrainError;
use crate::exec::{Dynamics, NeuronCoefficients, SpikeTest};
use crate::ir::{Graph, NodeId, Op, Shape, Tensor, Verified};
use crate::limits::Limits;

/// A trainable tensor: a weight or bias of a weight layer.
#[derive(Clone, Debug)]
pub struct Param {
    pub node: NodeId,
    /// `<node>.weight` or `<node>.bias`.
    pub name: String,
    pub nir_shape: Shape,
    /// NIR flat index of each internal index; None = the same layout.
    pub nir_index: Option<Vec<u32>>,
    pub is_bias: bool,
}

impl Param {
    /// Internal layout → NIR layout.
    pub fn to_nir(&self, internal: &[f64]) -> Vec<f64> {
        match &self.nir_index {
            None => internal.to_vec(),
            Some(idx) => {
                let mut out = vec![0.0; internal.len()];
                for (i, &j) in idx.iter().enumerate() {
                    out[j as usize] = internal[i];
                }
                out
            }
        }
    }

    /// NIR layout → internal layout.
    pub fn from_nir(&self, nir: &[f64]) -> Vec<f64> {
        match &self.nir_index {
            None => nir.to_vec(),
            Some(idx) => idx.iter().map(|&j| nir[j as usize]).collect(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Kernel {
    Input,
    /// Flatten and Output.
    Copy,
    Dense {
        geom: DenseGeom,
        weight: usize,
        bias: Option<usize>,
    },
    Conv {
        geom: ConvGeom,
        weight: usize,
        bias: usize,
    },
    Pool(PoolGeom),
    Scale(Vec<f64>),
    Threshold(Threshold),
    Delay(Delay),
    Neuron(Neuron),
}

#[derive(Clone, Debug)]
pub struct Step {
    pub node: NodeId,
    /// (source slot, is a back edge).
    pub sources: Vec<(usize, bool)>,
    pub in_len: usize,
    pub out_len: usize,
    pub kernel: Kernel,
    /// (offset, length) in the per-sample state and in the per-time-step tape.
    pub state: (usize, usize),
    pub tape: (usize, usize),
    /// A gradient reaches this step's output (it or something upstream has parameters).
    pub active: bool,
    /// Its input gradient is needed upstream.
    pub pass_back: bool,
}

/// The training view of a graph: steps in evaluation order (step i writes slot i).
#[derive(Clone, Debug)]
pub struct Net {
    pub steps: Vec<Step>,
    pub params: Vec<Param>,
    /// Parameter values in the kernels' layout, indexed like `params`.
    pub values: Vec<Vec<f64>>,
    pub input_len: usize,
    pub output_slot: usize,
    pub output_len: usize,
    pub state_len: usize,
    /// Tape floats per time step.
    pub tape_len: usize,
    /// Largest input or scratch length of any step.
    pub scratch_len: usize,
}

impl Net {
    pub fn new(graph: &Graph, verified: &Verified, dynamics: &Dynamics, limits: &Limits) -> Result<Net, TrainError> {
        let (inputs, outputs) = (graph.input_nodes(), graph.output_nodes());
        if inputs.len() != 1 || outputs.len() != 1 {
            return Err(TrainError::Structure {
                reason: format!(
                    "training needs one Input and one Output node; the model has {} and {}",
                    inputs.len(),
                    outputs.len()
                ),
            });
        }
        let order = &verified.schedule.order;
        let mut slot_of = vec![usize::MAX; graph.id_bound()];
        for (i, &n) in order.iter().enumerate() {
            slot_of[n.index()] = i;
        }
        let (mut params, mut values) = (Vec::new(), Vec::new());
        let mut add = |node: NodeId, what: &str, t: &Tensor, idx: Option<Vec<u32>>| {
            let p = Param {
                node,
                name: format!("{}.{what}", graph.name(node)),
                nir_shape: t.shape().clone(),
                nir_index: idx,
                is_bias: what == "bias",
            };
            values.push(p.from_nir(t.data()));
            params.push(p);
            params.len() - 1
        };
        let mut steps = Vec::with_capacity(order.len());
        let (mut state_len, mut tape_len, mut scratch_len) = (0, 0, 0);
        for &node in order {
            let op = graph.op(node);
            let srcs = graph.inputs(node);
            let in_dims: Vec<usize> = srcs.first().map(|&s| verified.shape(s).dims().to_vec()).unwrap_or_default();
            let out_dims = verified.shape(node).dims().to_vec();
            let (in_len, out_len) = (in_dims.iter().product::<usize>(), out_dims.iter().product::<usize>());
            let (mut state, mut tape) = (0, 0);
            let kernel = match op {
                Op::Input { .. } => Kernel::Input,
                Op::Output { .. } | Op::Flatten { .. } => Kernel::Copy,
                Op::Affine { weight, .. } | Op::Linear { weight } => {
                    let geom = DenseGeom { n_out: weight.dims()[0], n_in: weight.dims()[1] };
                    let w = add(node, "weight", weight, Some(geom.nir_index()));
                    let b = match op {
                        Op::Affine { bias, .. } => Some(add(node, "bias", bias, None)),
                        _ => None,
                    };
                    tape = in_len;
                    Kernel::Dense { geom, weight: w, bias: b }
                }
                Op::Conv1d(c) | Op::Conv2d(c) => {
                    let geom = ConvGeom::new(c, &in_dims, &out_dims);
                    scratch_len = scratch_len.max(geom.scratch_len());
                    let w = add(node, "weight", &c.weight, Some(geom.nir_index()));
                    let b = add(node, "bias", &c.bias, None);
                    tape = in_len;
                    Kernel::Conv { geom, weight: w, bias: b }
                }
                Op::SumPool2d(p) => Kernel::Pool(PoolGeom::new(p, false, &in_dims, &out_dims)),
                Op::AvgPool2d(p) => Kernel::Pool(PoolGeom::new(p, true, &in_dims, &out_dims)),
                Op::Scale { scale } => Kernel::Scale(scale.data().to_vec()),
                Op::Threshold { threshold } => {
                    tape = out_len;
                    Kernel::Threshold(Threshold {
                        threshold: threshold.data().to_vec(),
                        strict: dynamics.spike_test == SpikeTest::Strict,
                    })
                }
                Op::Delay { delay } => {
                    let k = Delay::new(delay, dynamics);
                    state = k.state_len();
                    if k.max_steps() > limits.max_node_elements || state > limits.max_node_elements {
                        return Err(TrainError::Structure {
                            reason: format!(
                                "node `{}`: a delay of {} steps is above the limit of {}",
                                graph.name(node),
                                k.max_steps(),
                                limits.max_node_elements
                            ),
                        });
                    }
                    Kernel::Delay(k)
                }
                _ => match NeuronCoefficients::new(op, dynamics.dt) {
                    Some(c) => {
                        check_trainable_rule(graph, node, c.kind, dynamics)?;
                        let k = Neuron::new(c, dynamics.reset, dynamics.spike_test);
                        state = k.state_len();
                        tape = k.tape_len();
                        Kernel::Neuron(k)
                    }
                    None => {
                        return Err(TrainError::Unsupported { node: graph.name(node).into(), kind: op.kind().name() })
                    }
                },
            };
            scratch_len = scratch_len.max(in_len).max(out_len);
            steps.push(Step {
                node,
                sources: srcs.iter().map(|&s| (slot_of[s.index()], verified.schedule.is_back_edge(s, node))).collect(),
                in_len,
                out_len,
                kernel,
                state: (state_len, state),
                tape: (tape_len, tape),
                active: false,
                pass_back: false,
            });
            state_len += state;
            tape_len += tape;
        }
        mark_active(&mut steps);
        Ok(Net {
            input_len: steps[slot_of[inputs[0].index()]].out_len,
            output_slot: slot_of[outputs[0].index()],
            output_len: steps[slot_of[outputs[0].index()]].out_len,
            steps,
            params,
            values,
            state_len,
            tape_len,
            scratch_len,
        })
    }

    /// The parameter named `name` (`<node>.weight` / `<node>.bias`).
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Writes the parameter values back into the graph's weight layers.
    pub fn write_back(&self, graph: &mut Graph) {
        for (p, v) in self.params.iter().zip(&self.values) {
            let nir = p.to_nir(v);
            let op = graph.op_mut(p.node);
            let t = match (op, p.is_bias) {
                (Op::Affine { bias, .. }, true) => bias,
                (Op::Conv1d(c) | Op::Conv2d(c), true) => &mut c.bias,
                (op, _) => op.weight_mut().expect("weights belong to weight layers"),
            };
            t.data_mut().copy_from_slice(&nir);
        }
    }
}

/// A step is active when it has parameters or an active source (fixed point over back
/// edges); it passes gradients back when one of its sources is active.
fn mark_active(steps: &mut [Step]) {
    loop {
        let mut changed = false;
        for i in 0..steps.len() {
            let own = matches!(steps[i].kernel, Kernel::Dense { .. } | Kernel::Conv { .. });
            let upstream = steps[i].sources.iter().any(|&(s, _)| steps[s].active);
            if (own || upstream) && !steps[i].active {
                steps[i].active = true;
                changed = true;
            }
            if upstream && !steps[i].pass_back {
                steps[i].pass_back = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Training follows the reference executor's `nir` update (forward Euler, reset within the
/// step, one spike at most). Another framework's rule (snnTorch's delayed reset, Sinabs'
/// multi-spike or exponential decay) would give spikes that differ from `run`'s, so it is
/// refused rather than trained silently on a different model.
fn check_trainable_rule(
    graph: &Graph,
    node: crate::ir::NodeId,
    kind: crate::exec::NeuronKind,
    dynamics: &Dynamics,
) -> Result<(), TrainError> {
    use crate::exec::semantics::SemanticsRules;
    use spikeforge_targets::coremap::{ResetTiming, UpdateForm};
    let rule = dynamics.rule(kind, crate::exec::on_cycle(graph, node));
    let what = if rule.multi_spike {
        Some("several spikes per step")
    } else if rule.timing != ResetTiming::Immediate {
        Some("a reset delayed to the next step")
    } else if rule.form != UpdateForm::Euler || dynamics.semantics.exponential_decay() {
        Some("another update form than forward Euler")
    } else {
        None
    };
    match what {
        None => Ok(()),
        Some(what) => Err(TrainError::Structure {
            reason: format!(
                "node `{}`: under --semantics {} it follows {what}, which training does not implement yet; \
                 train with --semantics nir (the reference executor's rule)",
                graph.name(node),
                dynamics.semantics.name()
            ),
        }),
    }
}
