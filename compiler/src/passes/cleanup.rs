//! `cleanup`: deletes neurons and channels left with no inputs and no outputs by pruning,
//! so that the graph really shrinks.
//!
//! Needs: a verified graph (typically after `prune`; structured methods leave whole channels
//! with zero rows, bias and outgoing weights, unstructured ones may leave single neurons).
//! Looks at each neuron node N with a source layer A and a complete fan-out (see
//! `fanout.rs`): A is the Affine/Linear (N `[C]`) or Conv1d/Conv2d with `groups = 1` (N
//! `[C, …]`) that is N's only input and has N as its only consumer; every path out of N runs
//! through pooling or Flatten nodes private to N into Affine/Linear layers (channel c =
//! columns `c·per..(c+1)·per`) or convolutions with `groups = 1` (input channel c). Channel c
//! is removed when A's row/filter c is all zero and bias_c is 0 (no input) and every use of
//! c has all-zero weights (no output). Removal deletes A's row/filter c and bias_c, channel
//! c of N's parameters (stored at N's full shape, so `[c, …]` of each), and the columns /
//! input-channel slice c of every use; pooling and Flatten have no channel parameters and
//! their shapes follow.
//! Left alone (never an error): grouped convolutions on either side, N feeding an Output or
//! anything else (Scale, Delay, another neuron, a node with several inputs), cycles through
//! A or the uses, partial flattens of the channel dimension.
//! Establishes: the graph still verifies and computes exactly the same outputs (a channel
//! whose outgoing weights are all zero contributes nothing, whatever it does); a node is
//! never emptied (if every channel qualifies, channel 0 stays).

use super::fanout::{self, Use};
use super::spec::{PassSpec, SpecError};
use super::{Pass, PassContext, PassError, PassReport};
use crate::ir::{Graph, NodeId, Op, Tensor};

#[derive(Clone, Debug, PartialEq)]
pub struct Cleanup;

impl Cleanup {
    pub fn from_spec(spec: &PassSpec) -> Result<Cleanup, SpecError> {
        super::args::Args::new(spec).finish(&[])?;
        Ok(Cleanup)
    }
}

/// Keeps the listed slices of the first dimension (rows, filters, neuron channels).
fn keep_rows(t: &Tensor, keep: &[usize]) -> Tensor {
    let dims = t.dims();
    let row = t.numel() / dims[0].max(1);
    let data: Vec<f64> = keep.iter().flat_map(|&r| t.data()[r * row..(r + 1) * row].iter().copied()).collect();
    let mut shape = dims.to_vec();
    shape[0] = keep.len();
    Tensor::new(shape, data).expect("length matches")
}

/// Keeps the listed blocks of `per` columns of a matrix.
fn keep_col_blocks(t: &Tensor, keep: &[usize], per: usize) -> Tensor {
    let (m, n) = (t.dims()[0], t.dims()[1]);
    let data: Vec<f64> = (0..m)
        .flat_map(|r| keep.iter().flat_map(move |&c| t.data()[r * n + c * per..r * n + (c + 1) * per].iter().copied()))
        .collect();
    Tensor::new(vec![m, keep.len() * per], data).expect("length matches")
}

/// Keeps the listed input channels of a `[C_out, C_in, k…]` kernel.
fn keep_in_channels(t: &Tensor, keep: &[usize]) -> Tensor {
    let dims = t.dims();
    let (o, c) = (dims[0], dims[1]);
    let k: usize = dims[2..].iter().product();
    let data: Vec<f64> = (0..o)
        .flat_map(|r| keep.iter().flat_map(move |&i| t.data()[(r * c + i) * k..(r * c + i + 1) * k].iter().copied()))
        .collect();
    let mut shape = dims.to_vec();
    shape[1] = keep.len();
    Tensor::new(shape, data).expect("length matches")
}

/// A neuron node cleanup may shrink: its source, its uses, its channel count.
struct Site {
    a: NodeId,
    n: NodeId,
    uses: Vec<Use>,
    channels: usize,
}

fn sites(graph: &Graph) -> Vec<Site> {
    graph
        .node_ids()
        .filter_map(|n| {
            let channels = fanout::channels(graph, n)?;
            let a = fanout::source(graph, n)?;
            let f = fanout::fanout(graph, n);
            if !f.complete || f.uses.is_empty() || f.uses.iter().any(|u| u.layer() == a) {
                return None;
            }
            let shape = graph.op(n).intrinsic_output_shape()?;
            if !graph.op(n).neuron_params().iter().all(|t| t.shape() == &shape) {
                return None;
            }
            Some(Site { a, n, uses: f.uses, channels })
        })
        .collect()
}

/// Whether channel `ch` of the site has no input (zero row/filter and bias).
fn no_input(graph: &Graph, s: &Site, ch: usize) -> bool {
    let op = graph.op(s.a);
    let w = op.weight().expect("a source is a weight layer");
    let d = w.numel() / s.channels;
    let bias = match op {
        Op::Affine { bias, .. } => Some(bias),
        Op::Conv1d(cv) | Op::Conv2d(cv) => Some(&cv.bias),
        _ => None,
    };
    w.data()[ch * d..(ch + 1) * d].iter().all(|v| *v == 0.0) && bias.is_none_or(|b| b.data()[ch] == 0.0)
}

fn shrink(graph: &mut Graph, s: &Site, keep: &[usize]) {
    match graph.op_mut(s.a) {
        Op::Affine { weight, bias } => {
            *weight = keep_rows(weight, keep);
            *bias = keep_rows(bias, keep);
        }
        Op::Linear { weight } => *weight = keep_rows(weight, keep),
        Op::Conv1d(cv) | Op::Conv2d(cv) => {
            cv.weight = keep_rows(&cv.weight, keep);
            cv.bias = keep_rows(&cv.bias, keep);
        }
        _ => unreachable!("a source is a weight layer"),
    }
    for t in graph.op_mut(s.n).neuron_params_mut() {
        *t = keep_rows(t, keep);
    }
    for u in &s.uses {
        let w = graph.op_mut(u.layer()).weight_mut().expect("a use is a weight layer");
        *w = match u {
            Use::Columns { per, .. } => keep_col_blocks(w, keep, *per),
            Use::InputChannel { .. } => keep_in_channels(w, keep),
        };
    }
}

impl Pass for Cleanup {
    fn name(&self) -> &'static str {
        "cleanup"
    }

    fn run(&self, graph: &mut Graph, _ctx: &PassContext) -> Result<PassReport, PassError> {
        let mut report = PassReport::new("cleanup");
        let (mut neurons_removed, mut channels_removed) = (0usize, 0usize);
        // Removing channel c of one site deletes only zero weights of its neighbours, so every
        // site's test can be made on the current graph, one site after another.
        for s in sites(graph) {
            let c = s.channels;
            let dead =
                |ch: usize| no_input(graph, &s, ch) && s.uses.iter().all(|u| fanout::use_is_zero(graph, u, ch, c));
            let mut keep: Vec<usize> = (0..c).filter(|&ch| !dead(ch)).collect();
            if keep.is_empty() {
                keep.push(0);
            }
            if keep.len() == c {
                continue;
            }
            let shape = graph.op(s.n).intrinsic_output_shape().expect("a site is a neuron node");
            let per_channel = shape.numel() / c;
            shrink(graph, &s, &keep);
            let removed = c - keep.len();
            neurons_removed += removed * per_channel;
            let name = graph.name(s.n);
            if shape.rank() == 1 {
                report.line(format!("`{name}`: removed {removed} of {c} neurons with no inputs and no outputs"));
            } else {
                channels_removed += removed;
                report.line(format!(
                    "`{name}`: removed {removed} of {c} channels ({} neurons) with no inputs and no outputs",
                    removed * per_channel
                ));
            }
        }
        report.line(format!("{neurons_removed} neurons removed ({channels_removed} whole channels of maps)"));
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slicing_helpers() {
        let t = Tensor::new(vec![2, 6], (0..12).map(f64::from).collect()).unwrap();
        let k = keep_col_blocks(&t, &[0, 2], 2);
        assert_eq!(k.dims(), &[2, 4]);
        assert_eq!(k.data(), &[0., 1., 4., 5., 6., 7., 10., 11.]);
        // [2 out, 3 in, 1×2 kernel]: keep input channels 1 and 2.
        let w = Tensor::new(vec![2, 3, 1, 2], (0..12).map(f64::from).collect()).unwrap();
        let k = keep_in_channels(&w, &[1, 2]);
        assert_eq!(k.dims(), &[2, 2, 1, 2]);
        assert_eq!(k.data(), &[2., 3., 4., 5., 8., 9., 10., 11.]);
        let r = keep_rows(&w, &[1]);
        assert_eq!(r.dims(), &[1, 3, 1, 2]);
        assert_eq!(r.data(), &[6., 7., 8., 9., 10., 11.]);
    }
}
