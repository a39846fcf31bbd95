//! What each weight costs in synaptic operations, and the presynaptic activity behind it,
//! from one calibration run: the statistics `prune(allocate=sops)` and SLAMP rank by.
//!
//! Needs: a verified graph and calibration input. Establishes, per listed weight layer:
//! - the input totals ([`InputTotals`]): per input element, `Σ |x|` and the count of steps
//!   with `x ≠ 0`, over every calibration sample and step;
//! - the SOP cost of every weight ([`sop_costs`]), in NeuroBench's Effective_ACs convention
//!   (an input that is nonzero counts once per nonzero weight it reaches, borders exact):
//!   for a dense weight `w_ij` the count of steps input j was nonzero; for a convolution
//!   weight `w[o, c, ky, kx]` the count, over every output position whose receptive field
//!   puts that tap inside the input, of steps the input under the tap was nonzero
//!   (presynaptic activity × reuse). Averaged per sample. The layer's SOPs per sample on the
//!   calibration input are then exactly `Σ cost` over its nonzero weights, so a budget of
//!   SOPs is a sum of weight costs.

use std::collections::HashMap;

use super::calib::Calibration;
use super::PassContext;
use crate::exec::{Executor, Probe};
use crate::ir::{Graph, NodeId, Op, Verified};

/// Per input element of a weight layer, over the calibration set.
#[derive(Clone, Debug, PartialEq)]
pub struct InputTotals {
    /// `Σ |x|` (spike counts for spiking inputs).
    pub abs_sum: Vec<f64>,
    /// Steps with `x ≠ 0`.
    pub nonzero: Vec<f64>,
    pub n_samples: usize,
}

struct TotalsProbe {
    totals: HashMap<NodeId, InputTotals>,
}

impl Probe for TotalsProbe {
    fn wants(&self, node: NodeId) -> bool {
        self.totals.contains_key(&node)
    }
    fn record(&mut self, _: usize, _: usize, node: NodeId, input: &[f64], _: &[f64]) {
        let t = self.totals.get_mut(&node).expect("wants() said so");
        for ((a, z), x) in t.abs_sum.iter_mut().zip(t.nonzero.iter_mut()).zip(input) {
            *a += x.abs();
            *z += f64::from(u8::from(*x != 0.0));
        }
    }
}

/// One calibration run recording every listed layer's input.
pub fn input_totals(
    graph: &Graph,
    verified: &Verified,
    layers: &[NodeId],
    calib: &Calibration,
    ctx: &PassContext,
) -> Result<HashMap<NodeId, InputTotals>, String> {
    let mut probe = TotalsProbe { totals: HashMap::new() };
    for &n in layers {
        let len: usize = verified.shape(graph.inputs(n)[0]).dims().iter().product();
        probe
            .totals
            .insert(n, InputTotals { abs_sum: vec![0.0; len], nonzero: vec![0.0; len], n_samples: calib.n_samples });
    }
    let exec = Executor::new(graph, verified, ctx.dynamics, ctx.limits).map_err(|e| e.to_string())?;
    exec.run_probed(&calib.data, calib.n_samples, calib.n_steps, &mut probe);
    Ok(probe.totals)
}

/// SOPs per calibration sample of every weight of layer `n` (the weight tensor's layout),
/// from its input totals. `out_dims` is the layer's output shape.
pub fn sop_costs(op: &Op, input_dims: &[usize], out_dims: &[usize], totals: &InputTotals) -> Vec<f64> {
    let per_sample = 1.0 / totals.n_samples.max(1) as f64;
    match op {
        Op::Affine { weight, .. } | Op::Linear { weight } => {
            let (rows, cols) = (weight.dims()[0], weight.dims()[1]);
            (0..rows).flat_map(|_| (0..cols).map(|j| totals.nonzero[j] * per_sample)).collect()
        }
        Op::Conv1d(c) | Op::Conv2d(c) => {
            let two = input_dims.len() == 3;
            let (h, w, ho, wo) = if two {
                (input_dims[1], input_dims[2], out_dims[1], out_dims[2])
            } else {
                (1, input_dims[1], 1, out_dims[1])
            };
            let pair = |v: &[usize], one: usize| if two { [v[0], v[1]] } else { [one, v[0]] };
            let kern = c.kernel();
            let k = if two { [kern[0], kern[1]] } else { [1, kern[0]] };
            let (stride, pad, dil) = (pair(&c.stride, 1), pair(&c.padding, 0), pair(&c.dilation, 1));
            let c_in = c.in_channels();
            // cost of tap (channel, ky, kx), shared by every filter reading that channel
            let mut tap = vec![0.0; c_in * k[0] * k[1]];
            for ch in 0..c_in {
                for ky in 0..k[0] {
                    for kx in 0..k[1] {
                        let mut s = 0.0;
                        for oy in 0..ho {
                            let iy = (oy * stride[0] + ky * dil[0]) as isize - pad[0] as isize;
                            if iy < 0 || iy as usize >= h {
                                continue;
                            }
                            for ox in 0..wo {
                                let ix = (ox * stride[1] + kx * dil[1]) as isize - pad[1] as isize;
                                if ix >= 0 && (ix as usize) < w {
                                    s += totals.nonzero[(ch * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                        tap[(ch * k[0] + ky) * k[1] + kx] = s * per_sample;
                    }
                }
            }
            let (c_out, cpg) = (c.out_channels(), c_in / c.groups.max(1));
            let opg = (c_out / c.groups.max(1)).max(1);
            let kk = k[0] * k[1];
            (0..c_out)
                .flat_map(|o| {
                    let first = (o / opg) * cpg;
                    tap[first * kk..(first + cpg) * kk].to_vec()
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// [`sop_costs`] of every listed layer from one calibration run.
pub fn layer_sop_costs(
    graph: &Graph,
    verified: &Verified,
    layers: &[NodeId],
    calib: &Calibration,
    ctx: &PassContext,
) -> Result<HashMap<NodeId, Vec<f64>>, String> {
    let totals = input_totals(graph, verified, layers, calib, ctx)?;
    Ok(layers
        .iter()
        .map(|&n| {
            let input = verified.shape(graph.inputs(n)[0]).dims().to_vec();
            (n, sop_costs(graph.op(n), &input, verified.shape(n).dims(), &totals[&n]))
        })
        .collect())
}

/// Greedy selection under a budget of SOPs: weights in ascending order of
/// `score / cost` (the method's importance per synaptic operation saved; ties by layer, then
/// index) until the removed cost reaches `fraction` of the total cost of the nonzero weights.
/// Weights already 0 are always selected (they cost nothing); weights of cost 0 (inputs
/// silent over the calibration set) never are, as removing them saves nothing measurable.
/// Returns the selected indices per layer and (removed, total) SOPs per sample.
pub fn select_by_sops(
    weights: &[Vec<f64>],
    scores: &[Vec<f64>],
    costs: &[Vec<f64>],
    fraction: f64,
) -> (Vec<Vec<usize>>, f64, f64) {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); weights.len()];
    let mut ranked: Vec<(f64, usize, usize)> = Vec::new();
    let mut total = 0.0;
    for (l, w) in weights.iter().enumerate() {
        for (i, &v) in w.iter().enumerate() {
            if v == 0.0 {
                out[l].push(i);
            } else if costs[l][i] > 0.0 {
                total += costs[l][i];
                ranked.push((scores[l][i] / costs[l][i], l, i));
            }
        }
    }
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let budget = fraction * total;
    let mut removed = 0.0;
    for (_, l, i) in ranked {
        if removed >= budget {
            break;
        }
        removed += costs[l][i];
        out[l].push(i);
    }
    for v in &mut out {
        v.sort_unstable();
    }
    (out, removed, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Conv, Tensor};

    /// A 1-channel 3×3 input with ones everywhere, a 3×3 kernel, padding 1: the centre tap is
    /// used at all 9 positions, an edge tap at 6, a corner tap at 4.
    #[test]
    fn conv_costs_count_border_taps_exactly() {
        let conv = Conv {
            weight: Tensor::new(vec![2, 1, 3, 3], vec![1.0; 18]).unwrap(),
            bias: Tensor::new(vec![2], vec![0.0; 2]).unwrap(),
            stride: vec![1, 1],
            padding: vec![1, 1],
            dilation: vec![1, 1],
            groups: 1,
        };
        let totals = InputTotals { abs_sum: vec![2.0; 9], nonzero: vec![2.0; 9], n_samples: 2 };
        let c = sop_costs(&Op::Conv2d(conv), &[1, 3, 3], &[2, 3, 3], &totals);
        assert_eq!(&c[..9], &[4.0, 6.0, 4.0, 6.0, 9.0, 6.0, 4.0, 6.0, 4.0]);
        assert_eq!(&c[9..], &c[..9]);
    }

    #[test]
    fn the_budget_is_in_sops() {
        // Layer 0: two weights of cost 10; layer 1: four of cost 1. Scores all 1:
        // score/cost puts layer 0 first; 50 % of 24 SOPs = 12 → both of layer 0 (20).
        let w = vec![vec![1.0, 1.0], vec![1.0, 1.0, 1.0, 0.0]];
        let s = vec![vec![1.0, 1.0], vec![1.0, 1.0, 1.0, 1.0]];
        let c = vec![vec![10.0, 10.0], vec![1.0, 1.0, 1.0, 1.0]];
        let (sel, removed, total) = select_by_sops(&w, &s, &c, 0.5);
        assert_eq!(sel, vec![vec![0, 1], vec![3]]);
        assert_eq!((removed, total), (20.0, 23.0));
        let (sel, removed, _) = select_by_sops(&w, &s, &c, 0.0);
        assert_eq!((sel, removed), (vec![vec![], vec![3]], 0.0));
    }
}
