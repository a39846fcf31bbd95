//! Lowering: verified IR → [`Network`] of populations and projections.
//!
//! Needs: a graph that passed `Graph::verify` (shapes, schedule, back edges). Establishes:
//!
//! * **Populations**, in the executor's evaluation order: the Input node, every neuron node
//!   (I, IF, LI, LIF, CubaLI, CubaLIF), every Threshold node (as a LIF with decay 1, gain 1,
//!   `v_leak` 0, `v_reset` 0, so `v = I` each step and it spikes when `I` passes the
//!   threshold), and an `Identity` population for the value reaching the Output when that
//!   is not a population's own output (a linear readout). Coefficients come from
//!   [`NeuronCoefficients::for_dynamics`] and the update rule from [`Dynamics::rule`], the
//!   executor's discretisation and semantics (a Threshold keeps NIR's immediate rule).
//! * **Projections**: every path from a population backwards through linear ops (Affine,
//!   Linear, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale) to a source population.
//!   Pooling, scaling and flattening right after the source become the projection's
//!   source-side pool (events are pooled values), provided a weight layer follows; the
//!   rest is one synaptic matrix (a single convolution stays implicit, anything else is
//!   multiplied out, exact zeros dropped). A path without a weight layer is one `Pooling`
//!   matrix from the source neurons. With this factoring, synaptic events equal NeuroBench's
//!   SOP counts: pooling ops on spikes, weight ops on nonzero pooled values.
//! * **Biases** propagate through the linear ops to one bias per target neuron (each
//!   linear node's constant is counted once, however many paths cross it).
//! * A path that crosses a back edge is `recurrent` (delivered one step later); crossing two
//!   would need a two-step delay and is refused, as is a Delay node.

use spikeforge_targets::coremap::{NeuronModel, NeuronParams, NeuronRule, ProjectionKind, SourcePool};

use super::error::MapError;
use super::sparse::{op_bias, op_csr, ConvGeom, Csr};
use crate::exec::{on_cycle, Dynamics, NeuronCoefficients, NeuronKind};
use crate::ir::{Graph, NodeId, Op, OpKind, Shape, Verified};

/// Most paths into one population (parallel linear branches multiply paths).
pub const MAX_PATHS_PER_POPULATION: usize = 4096;

#[derive(Clone, Debug)]
pub struct Population {
    /// The IR node's name (for an Identity population, the node feeding the Output).
    pub name: String,
    pub node: NodeId,
    pub model: NeuronModel,
    pub shape: Vec<usize>,
    pub n: usize,
    /// `[features, height, width]` as the neuron layout sees the shape: `[C, H, W]` as is,
    /// `[C, L]` as `[C, 1, L]`, a flat layer of `n` as `[n, 1, 1]`.
    pub grid: [usize; 3],
    /// Discretised coefficients, one value per neuron (vectors the model does not use are
    /// empty); `bias` is empty when every bias is 0.
    pub params: NeuronParams,
    /// How its neurons update (the semantics resolved for this node).
    pub rule: NeuronRule,
}

/// Synapses of a projection, by target neuron.
#[derive(Clone, Debug)]
pub enum Synapses {
    /// Rows are target neurons, columns events.
    Rows(Csr),
    /// A convolution from events (its input) to target neurons (its output), unrolled on demand.
    Conv(ConvGeom),
}

impl Synapses {
    /// Calls `f(event, weight)` for every synapse into target neuron `t`, events ascending.
    #[inline]
    pub fn for_target(&self, t: usize, mut f: impl FnMut(u32, f64)) {
        match self {
            Synapses::Rows(m) => {
                let (cs, vs) = m.row(t);
                for (&c, &v) in cs.iter().zip(vs) {
                    f(c, v);
                }
            }
            Synapses::Conv(g) => g.for_target(t, f),
        }
    }

    /// The convolution, when its kernel could be stored once.
    pub fn conv(&self) -> Option<&ConvGeom> {
        match self {
            Synapses::Conv(g) => Some(g),
            Synapses::Rows(_) => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Projection {
    /// IR node names of the path joined by `+` (`2+3` for AvgPool2d then Conv2d), or
    /// `source->target` for a direct edge.
    pub name: String,
    pub nodes: Vec<NodeId>,
    pub kind: ProjectionKind,
    pub source: usize,
    pub target: usize,
    pub recurrent: bool,
    pub n_events: usize,
    pub pool: Option<SourcePool>,
    pub synapses: Synapses,
    /// Nonzero synapses (unrolled).
    pub n_synapses: u64,
}

#[derive(Clone, Debug)]
pub struct Network {
    pub populations: Vec<Population>,
    pub projections: Vec<Projection>,
    pub input: usize,
    pub output: usize,
}

impl Network {
    /// Projections into each population, by projection index.
    pub fn incoming(&self) -> Vec<Vec<usize>> {
        let mut v = vec![Vec::new(); self.populations.len()];
        for (i, p) in self.projections.iter().enumerate() {
            v[p.target].push(i);
        }
        v
    }

    /// Projections out of each population, by projection index.
    pub fn outgoing(&self) -> Vec<Vec<usize>> {
        let mut v = vec![Vec::new(); self.populations.len()];
        for (i, p) in self.projections.iter().enumerate() {
            v[p.source].push(i);
        }
        v
    }

    pub fn n_synapses(&self) -> u64 {
        self.projections.iter().map(|p| p.n_synapses).sum()
    }

    /// Neurons on cores (every population but the input).
    pub fn n_neurons(&self) -> u64 {
        self.populations.iter().enumerate().filter(|(i, _)| *i != self.input).map(|(_, p)| p.n as u64).sum()
    }
}

/// Calls `f(event)` for each event of source neuron `j` of `p`: its pooled events, or the
/// neuron itself without pooling.
#[inline]
pub fn for_events(p: &Projection, j: usize, mut f: impl FnMut(u32)) {
    match &p.pool {
        Some(pool) => {
            for &e in &pool.event[pool.start[j] as usize..pool.start[j + 1] as usize] {
                f(e)
            }
        }
        None => f(j as u32),
    }
}

fn is_linear(k: OpKind) -> bool {
    matches!(
        k,
        OpKind::Affine
            | OpKind::Linear
            | OpKind::Conv1d
            | OpKind::Conv2d
            | OpKind::SumPool2d
            | OpKind::AvgPool2d
            | OpKind::Flatten
            | OpKind::Scale
    )
}

fn grid_of(shape: &[usize]) -> [usize; 3] {
    match shape.len() {
        0 => [1, 1, 1],
        1 => [shape[0], 1, 1],
        2 => [shape[0], 1, shape[1]],
        r => [shape[0], shape[1..r - 1].iter().product(), shape[r - 1]],
    }
}

fn params_of(op: &Op, d: &Dynamics) -> (NeuronModel, NeuronParams) {
    match op {
        Op::Input { .. } => (NeuronModel::Input, NeuronParams::default()),
        Op::Threshold { threshold } => {
            let n = threshold.numel();
            let p = NeuronParams {
                decay: vec![1.0; n],
                gain: vec![1.0; n],
                v_leak: vec![0.0; n],
                v_threshold: threshold.data().to_vec(),
                v_reset: vec![0.0; n],
                ..NeuronParams::default()
            };
            (NeuronModel::LIF, p)
        }
        _ => match NeuronCoefficients::for_dynamics(op, d) {
            Some(c) => {
                let model = c.kind.model();
                let p = NeuronParams {
                    decay: c.decay,
                    gain: c.gain,
                    v_leak: c.v_leak,
                    v_threshold: c.v_threshold,
                    v_reset: c.v_reset,
                    bias: Vec::new(),
                    syn_decay: c.syn_decay,
                    w_in: c.w_in,
                };
                (model, p)
            }
            None => (NeuronModel::Identity, NeuronParams::default()),
        },
    }
}

struct Lowering<'a> {
    graph: &'a Graph,
    verified: &'a Verified,
    pop_of: Vec<Option<usize>>,
    /// Constant part of each linear node's output (None = zero), in evaluation order.
    konst: Vec<Option<Vec<f64>>>,
}

impl Lowering<'_> {
    fn shape(&self, n: NodeId) -> &Shape {
        self.verified.shape(n)
    }

    fn back(&self, from: NodeId, to: NodeId) -> bool {
        self.verified.schedule.is_back_edge(from, to)
    }

    /// The value an edge `u → v` carries before the first step: the rest output of a back
    /// edge's source (an Affine's or conv's bias), else what `u` computes.
    fn edge_constant(&self, u: NodeId, v: NodeId) -> Option<Vec<f64>> {
        if self.pop_of[u.index()].is_some() {
            return None;
        }
        if self.back(u, v) {
            op_bias(self.graph.op(u), self.shape(u))
        } else {
            self.konst[u.index()].clone()
        }
    }

    fn sum_inputs(&self, node: NodeId, len: usize) -> Option<Vec<f64>> {
        let mut acc: Option<Vec<f64>> = None;
        for u in self.graph.inputs(node) {
            if let Some(c) = self.edge_constant(u, node) {
                let a = acc.get_or_insert_with(|| vec![0.0; len]);
                for (x, y) in a.iter_mut().zip(&c) {
                    *x += y;
                }
            }
        }
        acc
    }

    /// Constants of linear nodes in evaluation order, then the check that every back edge
    /// from a linear node carries the same constant at step 0 as later.
    fn constants(&mut self) -> Result<(), MapError> {
        for &n in &self.verified.schedule.order {
            let op = self.graph.op(n);
            if !is_linear(op.kind()) {
                continue;
            }
            let ins = self.graph.inputs(n);
            let in_shape = self.shape(ins[0]).clone();
            let out_shape = self.shape(n).clone();
            let input = self.sum_inputs(n, in_shape.numel());
            let mut out = match (input, op) {
                (None, _) => None,
                (Some(x), Op::Flatten { .. }) => Some(x),
                (Some(x), op) => op_csr(op, &in_shape, &out_shape).map(|m| m.apply(&x)),
            };
            if let Some(b) = op_bias(op, &out_shape) {
                let o = out.get_or_insert_with(|| vec![0.0; b.len()]);
                for (x, y) in o.iter_mut().zip(&b) {
                    *x += y;
                }
            }
            self.konst[n.index()] = out.filter(|v| v.iter().any(|&x| x != 0.0));
        }
        for &(u, v) in &self.verified.schedule.back_edges {
            if self.pop_of[u.index()].is_none() && self.konst[u.index()] != op_bias(self.graph.op(u), self.shape(u)) {
                return Err(MapError::Structure {
                    message: format!(
                        "the recurrent edge `{}` → `{}` carries a constant that differs between the first step and \
                         later ones (biases before `{}`); the core map cannot express it: move the bias after the \
                         recurrent edge",
                        self.graph.name(u),
                        self.graph.name(v),
                        self.graph.name(u)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Every path `source population → linear ops → (target)`, ops in forward order, for
    /// the edges into `into`.
    fn paths(&self, into: NodeId, target_name: &str) -> Result<Vec<(usize, Vec<NodeId>, bool)>, MapError> {
        let mut out = Vec::new();
        // (edge source, edge target, ops from the target side, back edges crossed)
        let mut stack: Vec<(NodeId, NodeId, Vec<NodeId>, u32)> =
            self.graph.inputs(into).into_iter().rev().map(|u| (u, into, Vec::new(), 0)).collect();
        while let Some((u, v, ops, backs)) = stack.pop() {
            let backs = backs + self.back(u, v) as u32;
            if backs > 1 {
                return Err(MapError::Structure {
                    message: format!(
                        "a path into `{target_name}` through `{}` crosses two recurrent edges; that needs a delay of \
                         two steps, which the core map cannot express",
                        self.graph.name(u)
                    ),
                });
            }
            if let Some(p) = self.pop_of[u.index()] {
                let mut fwd = ops;
                fwd.reverse();
                out.push((p, fwd, backs == 1));
                if out.len() > MAX_PATHS_PER_POPULATION {
                    return Err(MapError::Structure {
                        message: format!(
                            "more than {MAX_PATHS_PER_POPULATION} paths of linear ops lead into `{target_name}`; \
                             merge parallel linear branches"
                        ),
                    });
                }
                continue;
            }
            if ops.contains(&u) {
                return Err(MapError::Structure {
                    message: format!(
                        "node `{}` is on a cycle of linear ops with no neuron; a neuron must close every cycle",
                        self.graph.name(u)
                    ),
                });
            }
            let mut ops = ops;
            ops.push(u);
            for w in self.graph.inputs(u).into_iter().rev() {
                stack.push((w, u, ops.clone(), backs));
            }
        }
        Ok(out)
    }

    /// The product of the maps of `ops` (Flatten skipped), or None when none is left.
    fn product(&self, ops: &[NodeId]) -> Option<Csr> {
        let mut m: Option<Csr> = None;
        for &n in ops {
            let op = self.graph.op(n);
            let in_shape = self.shape(self.graph.inputs(n)[0]);
            if let Some(a) = op_csr(op, in_shape, self.shape(n)) {
                m = Some(match m {
                    None => a,
                    Some(prev) => a.mul(&prev),
                });
            }
        }
        m
    }

    #[allow(clippy::too_many_arguments)]
    fn projection(
        &self,
        source: usize,
        src_node: NodeId,
        target: usize,
        tgt_name: &str,
        n_target: usize,
        ops: Vec<NodeId>,
        recurrent: bool,
    ) -> Projection {
        let n_src = self.shape(src_node).numel();
        let name = if ops.is_empty() {
            format!("{}->{tgt_name}", self.graph.name(src_node))
        } else {
            ops.iter().map(|&n| self.graph.name(n)).collect::<Vec<_>>().join("+")
        };
        let first_weight = ops.iter().position(|&n| self.graph.op(n).kind().is_weight_layer());
        let (pool, n_events, synapses, kind) = match first_weight {
            Some(f) => {
                let leading = self.product(&ops[..f]);
                let n_events = leading.as_ref().map_or(n_src, |m| m.n_rows);
                let pool = leading.map(|m| {
                    let by_source = m.transpose();
                    SourcePool {
                        start: by_source.start.iter().map(|&s| s as u32).collect(),
                        event: by_source.col,
                        factor: by_source.val,
                    }
                });
                let rest: Vec<NodeId> =
                    ops[f..].iter().copied().filter(|&n| self.graph.op(n).kind() != OpKind::Flatten).collect();
                let (synapses, kind) = match (rest.as_slice(), self.graph.op(rest[0])) {
                    ([n], Op::Conv1d(c) | Op::Conv2d(c)) => {
                        let g = ConvGeom::new(c, self.shape(self.graph.inputs(*n)[0]), self.shape(*n));
                        (Synapses::Conv(g), ProjectionKind::Conv)
                    }
                    _ => {
                        let m = self.product(&rest).expect("a weight layer has a matrix");
                        let full = m.nnz() as u64 == n_events as u64 * n_target as u64;
                        (Synapses::Rows(m), if full { ProjectionKind::Dense } else { ProjectionKind::Sparse })
                    }
                };
                (pool, n_events, synapses, kind)
            }
            None => {
                let m = self.product(&ops).unwrap_or_else(|| Csr::identity(n_src));
                let pooling = ops.iter().any(|&n| self.graph.op(n).kind().is_pooling());
                let kind = if pooling { ProjectionKind::Pooling } else { ProjectionKind::Weightless };
                (None, n_src, Synapses::Rows(m), kind)
            }
        };
        let n_synapses = super::counting::synapse_count(&synapses, n_events);
        Projection { name, nodes: ops, kind, source, target, recurrent, n_events, pool, synapses, n_synapses }
    }
}

/// Lowers a verified graph with the coefficients and rules of `dynamics`.
pub fn lower(graph: &Graph, verified: &Verified, dynamics: &Dynamics) -> Result<Network, MapError> {
    let inputs = graph.input_nodes();
    if inputs.len() != 1 {
        return Err(MapError::InputCount { names: inputs.iter().map(|&n| graph.name(n).to_string()).collect() });
    }
    let outputs = graph.output_nodes();
    if outputs.len() != 1 {
        return Err(MapError::OutputCount { names: outputs.iter().map(|&n| graph.name(n).to_string()).collect() });
    }
    let order = &verified.schedule.order;
    if let Some(&d) = order.iter().find(|&&n| graph.op(n).kind() == OpKind::Delay) {
        return Err(MapError::Unsupported {
            node: graph.name(d).into(),
            kind: "Delay".into(),
            hint: "the core map has no synaptic delays: remove the Delay node or fold it into the model".into(),
        });
    }
    let (input_node, output_node) = (inputs[0], outputs[0]);
    let mut pop_of = vec![None; graph.id_bound()];
    let mut populations: Vec<Population> = Vec::new();
    let mut output = None;
    let mut identity_name = String::new();
    for &n in order {
        let op = graph.op(n);
        let kind = op.kind();
        let is_pop = kind == OpKind::Input || kind == OpKind::Threshold || kind.is_neuron();
        if n == output_node {
            // The Output is a population's own value when only Flattens lead to it.
            let ins = graph.inputs(n);
            let mut x = ins[0];
            while ins.len() == 1 && graph.op(x).kind() == OpKind::Flatten && graph.inputs(x).len() == 1 {
                let prev = graph.inputs(x)[0];
                if verified.schedule.is_back_edge(prev, x) {
                    break;
                }
                x = prev;
            }
            if ins.len() == 1 && !verified.schedule.is_back_edge(x, n) {
                if let Some(p) = pop_of[x.index()] {
                    output = Some(p);
                    continue;
                }
            }
            identity_name = if ins.len() == 1 { graph.name(ins[0]).to_string() } else { graph.name(n).to_string() };
        } else if !is_pop {
            continue;
        }
        let shape = if n == output_node && graph.inputs(n).len() == 1 {
            verified.shape(graph.inputs(n)[0]).dims().to_vec()
        } else {
            verified.shape(n).dims().to_vec()
        };
        let (model, params) =
            if n == output_node { (NeuronModel::Identity, NeuronParams::default()) } else { params_of(op, dynamics) };
        let rule = match NeuronKind::of(op) {
            Some(kind) if n != output_node => dynamics.rule(kind, on_cycle(graph, n)),
            _ => NeuronRule { spike_test: dynamics.to_map().spike_test, ..NeuronRule::default() },
        };
        let name = if n == output_node { identity_name.clone() } else { graph.name(n).to_string() };
        pop_of[n.index()] = Some(populations.len());
        if n == output_node {
            output = Some(populations.len());
        }
        let n_neurons = shape.iter().product();
        populations.push(Population { name, node: n, model, grid: grid_of(&shape), shape, n: n_neurons, params, rule });
    }
    let input = pop_of[input_node.index()].expect("the input node is a population");
    let output = output.expect("the output node was visited");
    let mut lw = Lowering { graph, verified, pop_of, konst: vec![None; graph.id_bound()] };
    lw.constants()?;
    let mut projections = Vec::new();
    for t in 0..populations.len() {
        if t == input {
            continue;
        }
        let node = populations[t].node;
        let bias = lw.sum_inputs(node, populations[t].n);
        populations[t].params.bias = bias.filter(|b| b.iter().any(|&x| x != 0.0)).unwrap_or_default();
        let name = populations[t].name.clone();
        for (src, ops, recurrent) in lw.paths(node, &name)? {
            let src_node = populations[src].node;
            projections.push(lw.projection(src, src_node, t, &name, populations[t].n, ops, recurrent));
        }
    }
    Ok(Network { populations, projections, input, output })
}

/// Synapses the mapper would hold unrolled: every weight layer's, except a convolution that
/// feeds neurons directly (through Flatten at most), which stays a kernel and geometry
/// (see [`Synapses::Conv`]). The gate checks this against the memory budget before
/// lowering (`Limits::check_synapses`).
pub fn synapses_held_unrolled(graph: &Graph, verified: &Verified) -> u64 {
    let feeds_neurons_only = |n: NodeId| {
        graph.outputs(n).into_iter().all(|c| match graph.op(c).kind() {
            OpKind::Flatten => graph.outputs(c).into_iter().all(|d| graph.op(d).kind().is_neuron()),
            k => k.is_neuron(),
        })
    };
    crate::summary::Summary::new(graph, verified)
        .nodes
        .iter()
        .filter(|s| !(matches!(s.kind, OpKind::Conv1d | OpKind::Conv2d) && feeds_neurons_only(s.node)))
        .map(|s| s.synapses)
        .sum()
}
