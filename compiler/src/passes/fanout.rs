//! Where a neuron node's channels come from and where they go, for the passes that act on
//! whole channels: structured pruning zeroes them (`channel.rs`), `cleanup` deletes them.
//!
//! A neuron node N has shape `[C]` (dense: a channel is one neuron) or `[C, …]` (maps:
//! channel c is the `H×W` or `L` positions of `c`). Its **source** is the one weight layer A
//! that feeds it: Affine/Linear for `[C]`, Conv1d/Conv2d with `groups = 1` for `[C, …]`, A's
//! only consumer being N and N's only input A; output channel c of A is row/filter c.
//!
//! Its **uses** are found by walking forward through nodes private to N (each has exactly
//! one input, the previous node): pooling (channel c stays channel c), `Flatten` with
//! `start_dim ≥ 1` (channels stay the first dimension) and a full `Flatten` of maps into a
//! vector (channel c becomes `per` consecutive elements). A walk ends at a weight layer
//! whose only input is the walked node: a dense layer reads channel c as the columns
//! `c·per..(c+1)·per` ([`Use::Columns`], `per = 1` straight from a dense N), a convolution
//! with `groups = 1` as its input channel c ([`Use::InputChannel`]). Anything else on the
//! way (an Output, another neuron, Scale, Delay, a shared input, a grouped convolution, a
//! partial flatten of the channel dimension, a cycle) makes the fan-out *incomplete*: its
//! uses are still listed, but nobody may conclude that channel c has no other consumer.

use crate::ir::{Graph, NodeId, Op, Shape};

/// One weight layer reading N's channels.
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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fanout {
    pub uses: Vec<Use>,
    /// Pooling and Flatten nodes walked through.
    pub via: Vec<NodeId>,
    /// Every path out of N ends in one of `uses`.
    pub complete: bool,
}

/// N's channel count, if N is a neuron node of shape `[C]` or `[C, …]` (C ≥ 1).
pub fn channels(graph: &Graph, n: NodeId) -> Option<usize> {
    let op = graph.op(n);
    if !op.kind().is_neuron() {
        return None;
    }
    let shape = op.intrinsic_output_shape()?;
    shape.dims().first().copied().filter(|&c| c > 0)
}

/// The weight layer that is N's whole input, when its output channels are N's channels.
pub fn source(graph: &Graph, n: NodeId) -> Option<NodeId> {
    let c = channels(graph, n)?;
    let rank = graph.op(n).intrinsic_output_shape()?.rank();
    let [a] = graph.inputs(n)[..] else { return None };
    if graph.outputs(a) != vec![n] || graph.inputs(a).contains(&n) {
        return None;
    }
    let ok = match graph.op(a) {
        Op::Affine { weight, .. } | Op::Linear { weight } => rank == 1 && weight.dims()[0] == c,
        Op::Conv1d(cv) | Op::Conv2d(cv) => {
            rank == cv.weight.dims().len() - 1 && cv.groups == 1 && cv.out_channels() == c
        }
        _ => false,
    };
    ok.then_some(a)
}

/// Where N's channels go (see the module documentation).
pub fn fanout(graph: &Graph, n: NodeId) -> Fanout {
    let mut out = Fanout { complete: true, ..Fanout::default() };
    let (Some(c), Some(shape)) = (channels(graph, n), graph.op(n).intrinsic_output_shape()) else {
        out.complete = false;
        return out;
    };
    // (node, its output shape, elements per channel if flattened to a vector, else None)
    let flat = |s: &Shape| (s.rank() == 1).then(|| s.numel() / c);
    let mut stack = vec![(n, shape.clone(), flat(&shape))];
    let mut seen = vec![n];
    while let Some((x, shape, per)) = stack.pop() {
        for b in graph.outputs(x) {
            if seen.contains(&b) || graph.inputs(b) != vec![x] {
                out.complete = false;
                continue;
            }
            seen.push(b);
            let op = graph.op(b);
            match (op, per) {
                (Op::Affine { weight, .. } | Op::Linear { weight }, Some(per)) if weight.dims()[1] == c * per => {
                    out.uses.push(Use::Columns { layer: b, per });
                }
                (Op::Conv1d(cv) | Op::Conv2d(cv), None)
                    if cv.groups == 1 && cv.in_channels() == c && shape.rank() == cv.weight.dims().len() - 1 =>
                {
                    out.uses.push(Use::InputChannel { layer: b });
                }
                (Op::SumPool2d(_) | Op::AvgPool2d(_) | Op::Flatten { .. }, _) => {
                    let Ok(next) = op.output_shape(&shape) else {
                        out.complete = false;
                        continue;
                    };
                    let keeps_channels = next.dims().first() == Some(&c) && next.rank() > 1;
                    let next_per = match (per, next.rank()) {
                        (Some(p), 1) => Some(p),                      // a vector stays a vector
                        (None, 1) if shape.rank() > 1 => flat(&next), // maps flattened whole
                        _ => None,
                    };
                    if next_per.is_none() && !keeps_channels {
                        out.complete = false;
                        continue;
                    }
                    out.via.push(b);
                    stack.push((b, next, next_per));
                }
                _ => out.complete = false,
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
    let Some(w) = graph.op_mut(u.layer()).weight_mut() else { return };
    let rows = w.dims()[0];
    match u {
        Use::Columns { per, .. } => {
            let cols = w.dims()[1];
            for r in 0..rows {
                w.data_mut()[r * cols + ch * per..r * cols + (ch + 1) * per].fill(0.0);
            }
        }
        Use::InputChannel { .. } => {
            let k: usize = w.dims()[2..].iter().product();
            for o in 0..rows {
                w.data_mut()[(o * c + ch) * k..(o * c + ch + 1) * k].fill(0.0);
            }
        }
    }
}
