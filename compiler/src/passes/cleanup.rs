//! `cleanup`: deletes neurons and channels left with no inputs and no outputs by pruning,
//! so that the graph really shrinks.
//!
//! Needs: a verified graph (typically after `prune`; structured methods leave whole channels
//! with zero rows, bias and outgoing weights, unstructured ones may leave single neurons).
//! Works on the complete, unobserved channel groups of `fanout.rs`: every tensor sharing a
//! channel index — a weight layer's output, the neuron nodes, pooling and Flatten after it,
//! and, in residual nets, everything tied to it by an addition (a node with several inputs
//! sums them), across both branches. Channel c of a group is removed when it has no input
//! (row/filter c and bias c of every source are zero) and no output (every use of c has
//! all-zero weights). Removal deletes row/filter c and bias c of every source, channel c of
//! every neuron node's parameters (stored at full shape, so block c of each), and the
//! columns / input-channel slice c of every use; pooling and Flatten have no channel
//! parameters and their shapes follow.
//! Left alone (never an error): groups read by an Output or fed by an Input, groups touched
//! by grouped convolutions, Scale, Delay or partial flattens of the channel dimension,
//! neuron parameters stored broadcast.
//! Establishes: the graph still verifies and computes exactly the same outputs (a channel
//! whose outgoing weights are all zero contributes nothing, whatever it does, and an
//! addition only meets it in nodes of its own group); a node is never emptied (if every
//! channel qualifies, channel 0 stays).

use super::fanout::{self, Group, Use};
use super::spec::{PassSpec, SpecError};
use super::{Pass, PassContext, PassError, PassReport};
use crate::ir::{Graph, Op, Tensor};

#[derive(Clone, Debug, PartialEq)]
pub struct Cleanup;

impl Cleanup {
    pub fn from_spec(spec: &PassSpec) -> Result<Cleanup, SpecError> {
        super::args::Args::new(spec).finish(&[])?;
        Ok(Cleanup)
    }
}

/// Keeps the listed channels of a tensor holding `c` equal blocks, channel-major: rows or
/// filters `[C, …]`, or a vector `[C·per]` (the first dimension shrinks in proportion).
fn keep_channels(t: &Tensor, keep: &[usize], c: usize) -> Tensor {
    let dims = t.dims();
    let block = t.numel() / c.max(1);
    let data: Vec<f64> = keep.iter().flat_map(|&r| t.data()[r * block..(r + 1) * block].iter().copied()).collect();
    let mut shape = dims.to_vec();
    shape[0] = dims[0] / c.max(1) * keep.len();
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

/// Whether channel `ch` of the group has no input (zero row/filter and bias in every source).
fn no_input(graph: &Graph, g: &Group, ch: usize) -> bool {
    g.sources.iter().all(|&s| {
        let (row, bias) = fanout::source_channel(graph.op(s), ch, g.channels);
        row.iter().all(|v| *v == 0.0) && bias.is_none_or(|b| b == 0.0)
    })
}

/// The record of structured pruning that later passes read: per unobserved channel group,
/// the channels with no input in any source and no output in any use (what `prune` with
/// svs/sca/criticality leaves, and what `cleanup` deletes when the group is complete). A
/// training pass that keeps these rows, biases and uses at exactly 0 keeps them pruned.
pub fn removed_channels(graph: &Graph, verified: &crate::ir::Verified) -> Vec<(Group, Vec<usize>)> {
    fanout::groups(graph, verified)
        .into_iter()
        .filter(|g| !g.observed && !g.uses.is_empty())
        .map(|g| {
            let c = g.channels;
            let dead: Vec<usize> = (0..c)
                .filter(|&ch| no_input(graph, &g, ch) && g.uses.iter().all(|u| fanout::use_is_zero(graph, u, ch, c)))
                .collect();
            (g, dead)
        })
        .filter(|(_, dead)| !dead.is_empty())
        .collect()
}

fn shrink(graph: &mut Graph, g: &Group, keep: &[usize]) {
    let c = g.channels;
    for &s in &g.sources {
        match graph.op_mut(s) {
            Op::Affine { weight, bias } => {
                *weight = keep_channels(weight, keep, c);
                *bias = keep_channels(bias, keep, c);
            }
            Op::Linear { weight } => *weight = keep_channels(weight, keep, c),
            Op::Conv1d(cv) | Op::Conv2d(cv) => {
                cv.weight = keep_channels(&cv.weight, keep, c);
                cv.bias = keep_channels(&cv.bias, keep, c);
            }
            _ => unreachable!("a source is a weight layer"),
        }
    }
    for &n in &g.neurons {
        for t in graph.op_mut(n).neuron_params_mut() {
            *t = keep_channels(t, keep, c);
        }
    }
    for u in &g.uses {
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

    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
        let verified =
            graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "cleanup".into(), errors })?;
        let mut report = PassReport::new("cleanup");
        let (mut neurons_removed, mut channels_removed) = (0usize, 0usize);
        // Removing channel c of one group deletes only zero weights of its neighbours and
        // leaves their channel counts alone, so every group's test, made on the graph before
        // any removal, still holds when its turn comes.
        for (g, dead) in removed_channels(graph, &verified) {
            if !g.complete {
                continue;
            }
            let c = g.channels;
            let mut keep: Vec<usize> = (0..c).filter(|ch| !dead.contains(ch)).collect();
            if keep.is_empty() {
                keep.push(0);
            }
            if keep.len() == c {
                continue;
            }
            let removed = c - keep.len();
            let name =
                g.neurons.iter().chain(&g.sources).map(|&n| graph.name(n).to_string()).next().unwrap_or_default();
            let maps = g.neurons.iter().any(|&n| verified.shape(n).rank() > 1);
            let per_channel: usize = g.neurons.iter().map(|&n| verified.shape(n).numel() / c).sum();
            shrink(graph, &g, &keep);
            neurons_removed += removed * per_channel;
            let tied = if g.sources.len() > 1 {
                let names: Vec<&str> = g.sources.iter().map(|&n| graph.name(n)).collect();
                format!(" (sources `{}` tied by additions)", names.join("`, `"))
            } else {
                String::new()
            };
            if maps {
                channels_removed += removed;
                report.line(format!(
                    "`{name}`{tied}: removed {removed} of {c} channels ({} neurons) with no inputs and no outputs",
                    removed * per_channel
                ));
            } else {
                report.line(format!("`{name}`{tied}: removed {removed} of {c} neurons with no inputs and no outputs"));
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
        let r = keep_channels(&w, &[1], 2);
        assert_eq!(r.dims(), &[1, 3, 1, 2]);
        assert_eq!(r.data(), &[6., 7., 8., 9., 10., 11.]);
        // A vector of 3 channels × 2: keep channel 2.
        let v = Tensor::new(vec![6], (0..6).map(f64::from).collect()).unwrap();
        let k = keep_channels(&v, &[2], 3);
        assert_eq!((k.dims(), k.data()), (&[2][..], &[4., 5.][..]));
    }
}
