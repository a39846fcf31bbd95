//! `cleanup`: removes neurons left with no inputs and no outputs by pruning.
//!
//! Needs: a verified graph (typically after `prune`). Looks at each neuron node N fed by
//! exactly one dense weight layer A (Affine/Linear, whose only consumer is N) and feeding
//! only dense weight layers B (whose only input is N), with a 1-D shape and no cycle
//! through A or B. Neuron i of N is removed when row i of A is all zero (and A's bias_i is
//! 0: no input at all) and column i of every B is all zero (no output). Removal deletes
//! row i of A (and bias_i), element i of N's per-neuron parameters, and column i of every B.
//! Establishes: the graph still verifies and computes exactly the same outputs (a neuron
//! whose outgoing weights are all zero contributes nothing); layers are never emptied;
//! other node kinds (conv, pooling, outputs) are left alone.

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

fn dense(op: &Op) -> Option<&Tensor> {
    match op {
        Op::Affine { weight, .. } | Op::Linear { weight } => Some(weight),
        _ => None,
    }
}

fn keep_rows(t: &Tensor, keep: &[usize]) -> Tensor {
    let dims = t.dims();
    let row = t.numel() / dims[0].max(1);
    let data: Vec<f64> = keep.iter().flat_map(|&r| t.data()[r * row..(r + 1) * row].iter().copied()).collect();
    let mut shape = dims.to_vec();
    shape[0] = keep.len();
    Tensor::new(shape, data).expect("length matches")
}

fn keep_cols(t: &Tensor, keep: &[usize]) -> Tensor {
    let (m, n) = (t.dims()[0], t.dims()[1]);
    let data: Vec<f64> = (0..m).flat_map(|r| keep.iter().map(move |&c| t.data()[r * n + c])).collect();
    Tensor::new(vec![m, keep.len()], data).expect("length matches")
}

/// The (A, N, Bs) triples cleanup may shrink, with N's neuron count.
fn candidates(graph: &Graph) -> Vec<(NodeId, NodeId, Vec<NodeId>, usize)> {
    let mut out = Vec::new();
    for n in graph.node_ids() {
        if !graph.op(n).kind().is_neuron() {
            continue;
        }
        let ins = graph.inputs(n);
        let [a] = ins[..] else { continue };
        let Some(wa) = dense(graph.op(a)) else { continue };
        if graph.outputs(a) != vec![n] || wa.dims().len() != 2 || graph.inputs(a).contains(&n) {
            continue;
        }
        let size = wa.dims()[0];
        let bs = graph.outputs(n);
        let ok = !bs.is_empty()
            && bs.iter().all(|&b| {
                b != a
                    && graph.inputs(b) == vec![n]
                    && dense(graph.op(b)).is_some_and(|w| w.dims().len() == 2 && w.dims()[1] == size)
            });
        let params_ok = graph.op(n).neuron_params().iter().all(|t| t.numel() == 1 || t.dims() == [size]);
        if ok && params_ok {
            out.push((a, n, bs, size));
        }
    }
    out
}

impl Pass for Cleanup {
    fn name(&self) -> &'static str {
        "cleanup"
    }

    fn run(&self, graph: &mut Graph, _ctx: &PassContext) -> Result<PassReport, PassError> {
        let mut report = PassReport::new("cleanup");
        let mut removed_total = 0;
        for (a, n, bs, size) in candidates(graph) {
            let wa = dense(graph.op(a)).expect("dense");
            let d = wa.dims()[1];
            let bias = match graph.op(a) {
                Op::Affine { bias, .. } => Some(bias.data().to_vec()),
                _ => None,
            };
            let dead = |i: usize| {
                wa.data()[i * d..(i + 1) * d].iter().all(|v| *v == 0.0)
                    && match &bias {
                        None => true,
                        Some(b) if b.len() == size => b[i] == 0.0,
                        Some(b) => b.iter().all(|v| *v == 0.0),
                    }
                    && bs.iter().all(|&b| {
                        let w = dense(graph.op(b)).expect("dense");
                        (0..w.dims()[0]).all(|r| w.data()[r * size + i] == 0.0)
                    })
            };
            let keep: Vec<usize> = (0..size).filter(|&i| !dead(i)).collect();
            if keep.len() == size || keep.is_empty() {
                continue;
            }
            match graph.op_mut(a) {
                Op::Affine { weight, bias } => {
                    *weight = keep_rows(weight, &keep);
                    if bias.numel() == size {
                        *bias = keep_rows(bias, &keep);
                    }
                }
                Op::Linear { weight } => *weight = keep_rows(weight, &keep),
                _ => unreachable!("dense"),
            }
            for t in graph.op_mut(n).neuron_params_mut() {
                if t.numel() == size {
                    *t = keep_rows(t, &keep);
                }
            }
            for &b in &bs {
                match graph.op_mut(b) {
                    Op::Affine { weight, .. } | Op::Linear { weight } => *weight = keep_cols(weight, &keep),
                    _ => unreachable!("dense"),
                }
            }
            let removed = size - keep.len();
            removed_total += removed;
            report.line(format!(
                "`{}`: removed {removed} of {size} neurons with no inputs and no outputs",
                graph.name(n)
            ));
        }
        report.line(format!("{removed_total} neurons removed"));
        Ok(report)
    }
}
