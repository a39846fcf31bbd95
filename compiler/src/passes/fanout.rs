//! Channel groups: which tensors share a channel index, where the channels come from and
//! where they go — for the passes that act on whole channels: structured pruning zeroes
//! them (`channel.rs`), `cleanup` deletes them.
//!
//! Needs: a verified graph (shapes). A neuron node of shape `[C]` (dense: a channel is one
//! neuron) or `[C, …]` (maps: channel c is the `H×W` or `L` positions of c) carries C
//! channels; so does the output of the weight layer feeding it, and every pooling or
//! Flatten after it. A node with several incoming edges sums them, so an addition ties
//! channel c of each addend: in a residual block `l3 = LIF(c3(…) + l1)` channel c of `l1`,
//! of `c3` and of `l3` are one channel. A **group** is such a set of tensors, found with a
//! union–find over node outputs: a neuron, pooling or Flatten node joins its (summed)
//! inputs; every node joins its several inputs to each other.
//!
//! Of a group:
//! - **sources**: Affine/Linear/Conv layers with `groups = 1` whose output is in the group;
//!   channel c is their row/filter c and bias c. They must agree on C.
//! - **neurons**: neuron nodes in the group, parameters stored at full shape (channel c is
//!   block c of each parameter).
//! - **uses**: weight layers reading the group: a dense layer reads channel c as the columns
//!   `c·per..(c+1)·per` of a vector `[C·per]` (a dense neuron, or maps flattened C-order)
//!   ([`Use::Columns`]), a convolution with `groups = 1` as input channel c
//!   ([`Use::InputChannel`]). A recurrent layer may be a source and a use of one group.
//!
//! A tensor's layout follows from its shape: `[C, …]` of rank ≥ 2 is maps, `[C·per]` a
//! vector. A group is **observed** when its channels are not the sources' to silence or
//! are the user's: an Input or Output node is in it or reads it, another node (Scale, Delay,
//! a grouped convolution) adds into it, or a tensor in it does not put the channel first.
//! It is **complete** when, besides, everything reading it is one of the above (no Scale,
//! Delay or grouped convolution reading it, no parameters stored broadcast): only then may
//! `cleanup` delete channels. Structured pruning acts on groups that are not observed.

use crate::ir::{Graph, NodeId, Op, Verified};

/// One weight layer reading a group's channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Use {
    /// An Affine/Linear layer: channel c is columns `c·per..(c+1)·per`.
    Columns { layer: NodeId, per: usize },
    /// A convolution with `groups = 1`: channel c is input channel c (`weight[:, c, …]`).
    InputChannel { layer: NodeId },
}

impl Use {
    pub fn layer(&self) -> NodeId {
        match self {
            Use::Columns { layer, .. } | Use::InputChannel { layer } => *layer,
        }
    }
}

/// Tensors sharing one channel index (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub channels: usize,
    /// Weight layers whose output channel c is the group's channel c, in graph order.
    pub sources: Vec<NodeId>,
    /// Neuron nodes carrying the channels, in graph order.
    pub neurons: Vec<NodeId>,
    pub uses: Vec<Use>,
    /// The channels are seen by an Input or Output node.
    pub observed: bool,
    /// Everything touching the channels is understood: they may be deleted.
    pub complete: bool,
}

/// Union–find over node indices.
struct Sets(Vec<usize>);

impl Sets {
    fn find(&mut self, mut a: usize) -> usize {
        while self.0[a] != a {
            self.0[a] = self.0[self.0[a]];
            a = self.0[a];
        }
        a
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

fn is_source(op: &Op) -> bool {
    match op {
        Op::Affine { .. } | Op::Linear { .. } => true,
        Op::Conv1d(c) | Op::Conv2d(c) => c.groups == 1,
        _ => false,
    }
}

/// Nodes whose output carries their input's channels.
fn passes_channels(op: &Op) -> bool {
    op.kind().is_neuron() || matches!(op, Op::SumPool2d(_) | Op::AvgPool2d(_) | Op::Flatten { .. })
}

/// Every group with at least one source, in the order of its first source.
pub fn groups(graph: &Graph, verified: &Verified) -> Vec<Group> {
    let mut sets = Sets((0..graph.id_bound()).collect());
    for y in graph.node_ids() {
        let ins = graph.inputs(y);
        for w in ins.windows(2) {
            sets.union(w[0].index(), w[1].index());
        }
        if let (Some(&x), true) = (ins.first(), passes_channels(graph.op(y))) {
            sets.union(x.index(), y.index());
        }
    }
    let mut by_root: Vec<Option<usize>> = vec![None; graph.id_bound()];
    let mut out: Vec<Group> = Vec::new();
    let mut roots = Vec::new();
    for y in graph.node_ids() {
        if !is_source(graph.op(y)) {
            continue;
        }
        let r = sets.find(y.index());
        let g = *by_root[r].get_or_insert_with(|| {
            out.push(Group { complete: true, ..Group::default() });
            roots.push(r);
            out.len() - 1
        });
        out[g].sources.push(y);
    }
    for (g, group) in out.iter_mut().enumerate() {
        let first = group.sources[0];
        group.channels = graph.op(first).weight().map_or(0, |w| w.dims()[0]);
        let c = group.channels;
        let root = roots[g];
        if c == 0 || group.sources.iter().any(|&s| graph.op(s).weight().map(|w| w.dims()[0]) != Some(c)) {
            group.complete = false;
            group.observed = true;
            continue;
        }
        for y in graph.node_ids() {
            let in_group = sets.find(y.index()) == root;
            let reads = graph.inputs(y).first().is_some_and(|x| sets.find(x.index()) == root);
            if !in_group && !reads {
                continue;
            }
            let op = graph.op(y);
            if matches!(op, Op::Input { .. } | Op::Output { .. }) {
                group.observed = true;
                group.complete = false;
                continue;
            }
            if in_group {
                // Every tensor of the group must put the channel first.
                let dims = verified.shape(y).dims();
                let channel_first = match dims.len() {
                    0 => false,
                    1 => dims[0] % c == 0,
                    _ => dims[0] == c,
                };
                if !channel_first {
                    group.observed = true;
                    group.complete = false;
                }
                if op.kind().is_neuron() {
                    group.neurons.push(y);
                    let full = op.intrinsic_output_shape();
                    if full.is_none() || !op.neuron_params().iter().all(|t| Some(t.shape()) == full.as_ref()) {
                        group.complete = false;
                    }
                } else if !is_source(op) && !passes_channels(op) {
                    // Something else adds into the channels: the sources cannot silence them.
                    group.observed = true;
                    group.complete = false;
                }
            }
            if reads {
                let input = verified.shape(graph.inputs(y)[0]).dims();
                match op {
                    Op::Affine { weight, .. } | Op::Linear { weight }
                        if input.len() == 1 && weight.dims()[1] == input[0] && input[0] % c == 0 =>
                    {
                        group.uses.push(Use::Columns { layer: y, per: input[0] / c })
                    }
                    Op::Conv1d(cv) | Op::Conv2d(cv) if cv.groups == 1 && input.len() > 1 && input[0] == c => {
                        group.uses.push(Use::InputChannel { layer: y })
                    }
                    _ if in_group && passes_channels(op) => {}
                    _ => group.complete = false,
                }
            }
        }
    }
    out
}

/// Whether every weight of channel `ch` in `u` is exactly zero.
pub fn use_is_zero(graph: &Graph, u: &Use, ch: usize, c: usize) -> bool {
    match (u, graph.op(u.layer()).weight()) {
        (Use::Columns { per, .. }, Some(w)) => {
            let cols = w.dims()[1];
            (0..w.dims()[0]).all(|r| w.data()[r * cols + ch * per..r * cols + (ch + 1) * per].iter().all(|v| *v == 0.0))
        }
        (Use::InputChannel { .. }, Some(w)) => {
            let k: usize = w.dims()[2..].iter().product();
            (0..w.dims()[0]).all(|o| w.data()[(o * c + ch) * k..(o * c + ch + 1) * k].iter().all(|v| *v == 0.0))
        }
        (_, None) => false,
    }
}

/// Zeroes every weight of channel `ch` in `u`.
pub fn zero_use(graph: &mut Graph, u: &Use, ch: usize, c: usize) {
    use_slices_mut(graph, u, ch, c, |s| s.fill(0.0));
}

/// Calls `f` on each contiguous run of the weights of channel `ch` in `u`, in memory order.
pub fn use_slices_mut(graph: &mut Graph, u: &Use, ch: usize, c: usize, mut f: impl FnMut(&mut [f64])) {
    let Some(w) = graph.op_mut(u.layer()).weight_mut() else { return };
    for r in use_ranges(w.dims(), u, ch, c) {
        f(&mut w.data_mut()[r]);
    }
}

/// The index runs of channel `ch` of `u` in a weight tensor of shape `dims` (the layer's
/// weight, or its gradient).
pub fn use_ranges(dims: &[usize], u: &Use, ch: usize, c: usize) -> Vec<std::ops::Range<usize>> {
    let rows = dims[0];
    match u {
        Use::Columns { per, .. } => {
            let cols = dims[1];
            (0..rows).map(|r| r * cols + ch * per..r * cols + (ch + 1) * per).collect()
        }
        Use::InputChannel { .. } => {
            let k: usize = dims[2..].iter().product();
            (0..rows).map(|o| (o * c + ch) * k..(o * c + ch + 1) * k).collect()
        }
    }
}

/// Output channel `ch` of a source layer: its row/filter, and its bias (if any).
pub fn source_channel(op: &Op, ch: usize, c: usize) -> (&[f64], Option<f64>) {
    let w = op.weight().expect("a source is a weight layer");
    let d = w.numel() / c;
    let bias = match op {
        Op::Affine { bias, .. } => Some(bias.data()[ch]),
        Op::Conv1d(cv) | Op::Conv2d(cv) => Some(cv.bias.data()[ch]),
        _ => None,
    };
    (&w.data()[ch * d..(ch + 1) * d], bias)
}

/// Zeroes output channel `ch` of a source layer (row/filter and bias).
pub fn zero_source_channel(op: &mut Op, ch: usize, c: usize) {
    let (w, bias) = match op {
        Op::Affine { weight, bias } => (weight, Some(bias)),
        Op::Linear { weight } => (weight, None),
        Op::Conv1d(cv) | Op::Conv2d(cv) => (&mut cv.weight, Some(&mut cv.bias)),
        _ => return,
    };
    let d = w.numel() / c;
    w.data_mut()[ch * d..(ch + 1) * d].fill(0.0);
    if let Some(b) = bias.filter(|b| b.numel() == c) {
        b.data_mut()[ch] = 0.0;
    }
}
