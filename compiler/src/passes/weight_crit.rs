//! Unstructured criticality pruning, `prune(method=criticality, granularity=weight,
//! sparsity=S, margin=M)`: per weight layer, prune the `k + m` weights of smallest |w|
//! (`k = round(S·N)`, `m = round(M·N)`), then regenerate (keep) the `m` most critical of
//! them, so that exactly `k` go.
//!
//! Needs: a verified graph and calibration input (`--calib`). Establishes: in every
//! selected layer at least `round(S·N)` weights are exactly 0 (exactly that many when the
//! layer had fewer zeros than that to begin with: weights already 0 are among the smallest
//! and are never "regenerated", since restoring them restores nothing); survivors,
//! biases and neuron parameters are untouched; the graph still verifies. With `margin=0`
//! the mask is magnitude pruning's (`prune(method=magnitude)`, per layer), ties included.
//! Per layer only (like the structured variant): criticality scores of different layers are
//! not put on one scale.
//!
//! **Criticality of a weight.** Chen et al., *Brain-Inspired Efficient Pruning: Exploiting
//! Criticality in Spiking Neural Networks* (arXiv 2311.16141, seed 003 — only its abstract is
//! in the seed file) score the criticality of a neuron by the surrogate gradient of its
//! membrane potential at the threshold, `g′(u[t] − θ)`, averaged over time (the structured
//! score in [`super::channel`]), and regenerate the pruned structures of highest
//! criticality. For single weights we **derive** the score from the same quantity: the
//! gradient of any loss with respect to `w_ij` flows through
//! `∂s_i[t]/∂u_i[t] · ∂u_i[t]/∂w_ij ≈ g′(u_i[t] − θ_i) · x_j[t]`, so
//!
//! `crit(w_ij) = E_x[(1/T) Σ_t g′(u_i[t] − θ_i) · |x_j[t]|]`
//!
//! — how much of the postsynaptic neuron's sensitivity the synapse can carry, independent of
//! the weight's own value (which the magnitude ranking already covers). For a convolution
//! `w[o, c, ky, kx]` the sum also runs over every output position where that tap reads an
//! input inside the map (the weight is shared by all of them): the conv weight gradient's
//! correlation of `g′` with `|x|`, computed once per step without unrolling synapses.
//! `u` is the pre-reset potential of [`super::channel::Watched`], recomputed from the
//! executor's recorded input and spikes (dense, unpruned net, one calibration run); `x` is
//! the layer's recorded input. A weight layer feeding a neuron through a delayed
//! (recurrent) edge pairs `g′` at step t with the input it consumed last, the one that
//! produced the delivered value. A layer that feeds no neuron directly takes `g′ = 1` (its
//! score is presynaptic activity). As in the structured score, a postsynaptic neuron
//! (conv: output channel) that emitted nothing over the calibration set gives its weights
//! criticality 0: `g′` peaks just below θ, and a neuron stuck there contributes nothing.
//!
//! Differences from the paper: the per-weight formula is ours (the seed text gives the idea,
//! not the equation); scores come once from the dense net and pruning is one-shot per layer
//! with a recovery fine-tune afterwards (`@criticality`), where the paper interleaves
//! prune–regenerate cycles with training; the surrogate is the atan derivative with α = 2
//! used by `finetune`.

use std::collections::HashMap;

use super::calib::Calibration;
use super::channel::{lowest, Watched};
use super::prune::{count, Prune};
use super::quantize::select_layers;
use super::{PassContext, PassError, PassReport};
use crate::exec::{Executor, NeuronCoefficients, Probe, ResetRule};
use crate::ir::{Graph, NodeId, Op, Verified};

/// Where a layer's weights meet its input.
#[derive(Clone, Debug)]
enum Geom {
    Dense {
        n_out: usize,
        n_in: usize,
    },
    /// Conv as 2-D (1-D has h = 1).
    Conv {
        c_out: usize,
        c_in: usize,
        groups: usize,
        hw: [usize; 2],
        out: [usize; 2],
        k: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        dil: [usize; 2],
    },
}

impl Geom {
    fn of(graph: &Graph, verified: &Verified, n: NodeId) -> Result<Geom, String> {
        let inp = verified.shape(graph.inputs(n)[0]).dims().to_vec();
        let out = verified.shape(n).dims().to_vec();
        match graph.op(n) {
            Op::Affine { weight, .. } | Op::Linear { weight } => {
                Ok(Geom::Dense { n_out: weight.dims()[0], n_in: weight.dims()[1] })
            }
            Op::Conv1d(c) | Op::Conv2d(c) => {
                let two = inp.len() == 3;
                let pair = |v: &[usize], one: usize| if two { [v[0], v[1]] } else { [one, v[0]] };
                Ok(Geom::Conv {
                    c_out: c.out_channels(),
                    c_in: c.in_channels(),
                    groups: c.groups,
                    hw: if two { [inp[1], inp[2]] } else { [1, inp[1]] },
                    out: if two { [out[1], out[2]] } else { [1, out[1]] },
                    k: pair(c.kernel(), 1),
                    stride: pair(&c.stride, 1),
                    pad: pair(&c.padding, 0),
                    dil: pair(&c.dilation, 1),
                })
            }
            op => Err(format!("node `{}` ({}) is not a weight layer", graph.name(n), op.kind())),
        }
    }

    /// `score += g′ ⊗ |x|` for one step, in the weight tensor's layout; `g = None`: g′ = 1.
    fn accumulate(&self, g: Option<&[f64]>, x: &[f64], score: &mut [f64]) {
        let gv = |i: usize| g.map_or(1.0, |g| g[i]);
        match *self {
            Geom::Dense { n_out, n_in } => {
                let nz: Vec<(usize, f64)> =
                    x.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(j, v)| (j, v.abs())).collect();
                for i in 0..n_out {
                    let gi = gv(i);
                    let row = &mut score[i * n_in..(i + 1) * n_in];
                    for &(j, a) in &nz {
                        row[j] += gi * a;
                    }
                }
            }
            Geom::Conv { c_out, c_in, groups, hw, out, k, stride, pad, dil } => {
                let (cpg, opg) = (c_in / groups, (c_out / groups).max(1));
                for o in 0..c_out {
                    let grp = (o / opg).min(groups - 1);
                    for cl in 0..cpg {
                        let c = grp * cpg + cl;
                        for ky in 0..k[0] {
                            for kx in 0..k[1] {
                                let mut acc = 0.0;
                                for oy in 0..out[0] {
                                    let iy = (oy * stride[0] + ky * dil[0]) as isize - pad[0] as isize;
                                    if iy < 0 || iy as usize >= hw[0] {
                                        continue;
                                    }
                                    for ox in 0..out[1] {
                                        let ix = (ox * stride[1] + kx * dil[1]) as isize - pad[1] as isize;
                                        if ix < 0 || ix as usize >= hw[1] {
                                            continue;
                                        }
                                        let xv = x[(c * hw[0] + iy as usize) * hw[1] + ix as usize];
                                        if xv != 0.0 {
                                            acc += gv((o * out[0] + oy) * out[1] + ox) * xv.abs();
                                        }
                                    }
                                }
                                score[((o * cpg + cl) * k[0] + ky) * k[1] + kx] += acc;
                            }
                        }
                    }
                }
            }
        }
    }
}

struct Layer {
    geom: Geom,
    score: Vec<f64>,
    /// `|x|` of the latest step and the sample it belongs to.
    last_x: Vec<f64>,
    last_sample: usize,
    /// The neuron node it feeds (None: g′ = 1, accumulated when the layer runs).
    neuron: Option<NodeId>,
}

struct WeightCritProbe {
    layers: HashMap<NodeId, Layer>,
    /// Neuron nodes, their mirror, and the layers feeding them (in layer order).
    neurons: HashMap<NodeId, (Watched, Vec<NodeId>)>,
    reset: ResetRule,
}

impl Probe for WeightCritProbe {
    fn wants(&self, node: NodeId) -> bool {
        self.layers.contains_key(&node) || self.neurons.contains_key(&node)
    }

    fn record(&mut self, sample: usize, _: usize, node: NodeId, input: &[f64], output: &[f64]) {
        if let Some(l) = self.layers.get_mut(&node) {
            l.last_x.copy_from_slice(input);
            l.last_sample = sample;
            if l.neuron.is_none() {
                l.geom.accumulate(None, &l.last_x, &mut l.score);
            }
            return;
        }
        let (watched, feeding) = self.neurons.get_mut(&node).expect("wants() said so");
        watched.step(sample, input, output, self.reset);
        for src in feeding.iter() {
            let l = self.layers.get_mut(src).expect("listed layer");
            if l.last_sample == sample {
                l.geom.accumulate(Some(&watched.grad), &l.last_x, &mut l.score);
            }
        }
    }
}

/// Per listed weight layer, the criticality of every weight (the weight tensor's layout)
/// from one calibration run of the graph as it is; see the module docs.
pub fn weight_criticality(
    graph: &Graph,
    verified: &Verified,
    layers: &[NodeId],
    calib: &Calibration,
    ctx: &PassContext,
) -> Result<HashMap<NodeId, Vec<f64>>, String> {
    let mut probe = WeightCritProbe { layers: HashMap::new(), neurons: HashMap::new(), reset: ctx.dynamics.reset };
    for &n in layers {
        let geom = Geom::of(graph, verified, n)?;
        let numel = graph.op(n).weight().expect("weight layer").numel();
        let in_len: usize = verified.shape(graph.inputs(n)[0]).dims().iter().product();
        let neuron = graph
            .outputs(n)
            .into_iter()
            .find_map(|o| NeuronCoefficients::new(graph.op(o), ctx.dynamics.dt).map(|c| (o, c)));
        let neuron_node = neuron.as_ref().map(|&(nn, _)| nn);
        if let Some((nn, coef)) = neuron {
            let dims = verified.shape(nn).dims().to_vec();
            let (channels, map) = match dims.len() {
                0 | 1 => (dims.iter().product(), (1, 1)),
                2 => (dims[0], (1, dims[1])),
                _ => (dims[0], (dims[1], dims[2..].iter().product())),
            };
            probe.neurons.entry(nn).or_insert_with(|| (Watched::new(coef, channels, map), Vec::new())).1.push(n);
        }
        let layer = Layer {
            geom,
            score: vec![0.0; numel],
            last_x: vec![0.0; in_len],
            last_sample: usize::MAX,
            neuron: neuron_node,
        };
        probe.layers.insert(n, layer);
    }
    let exec = Executor::new(graph, verified, ctx.dynamics, ctx.limits).map_err(|e| e.to_string())?;
    exec.run_probed(&calib.data, calib.n_samples, calib.n_steps, &mut probe);
    let norm = (calib.n_samples * calib.n_steps).max(1) as f64;
    let mut out = HashMap::new();
    for (n, mut l) in probe.layers {
        l.score.iter_mut().for_each(|v| *v /= norm);
        // A postsynaptic row (neuron / output channel) that never emitted: criticality 0.
        if let Some((w, _)) = l.neuron.and_then(|nn| probe.neurons.get(&nn)) {
            let rows = graph.op(n).weight().expect("weight layer").dims()[0];
            if rows == w.channels {
                let per = l.score.len() / rows.max(1);
                for (r, a) in w.activity.iter().enumerate() {
                    if *a == 0.0 {
                        l.score[r * per..(r + 1) * per].fill(0.0);
                    }
                }
            }
        }
        out.insert(n, l.score);
    }
    Ok(out)
}

/// The `k + m` smallest |w| (ties by index), minus the `m` most critical of them that are
/// not already 0 (ties by index): the indices pruned, ascending, and how many were
/// regenerated. `m` is capped so that no more than all weights are candidates.
pub fn weight_criticality_select(w: &[f64], crit: &[f64], k: usize, m: usize) -> (Vec<usize>, usize) {
    let k = k.min(w.len());
    let m = m.min(w.len() - k);
    let mag: Vec<f64> = w.iter().map(|v| v.abs()).collect();
    let mut cand = lowest(&mag, k + m);
    // Nonzero candidates by criticality descending (index ascending on ties), zeros last.
    cand.sort_by(|&a, &b| (w[a] == 0.0).cmp(&(w[b] == 0.0)).then(crit[b].total_cmp(&crit[a])).then(a.cmp(&b)));
    let regen = cand.iter().take(m).filter(|&&i| w[i] != 0.0).count();
    let mut gone = cand[regen..].to_vec();
    gone.sort_unstable();
    (gone, regen)
}

/// `prune(method=criticality, granularity=weight, …)`.
pub fn run_unstructured(p: &Prune, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
    let fail = |reason: String| PassError::Failed { pass: "prune".into(), reason };
    let layers = select_layers(graph, &p.layers, "prune")?;
    if p.sparsity.len() > 1 && p.sparsity.len() != layers.len() {
        return Err(fail(format!(
            "`sparsity` lists {} fractions for {} weight layers",
            p.sparsity.len(),
            layers.len()
        )));
    }
    let calib = ctx.calib.ok_or(PassError::NeedsCalibration { pass: "prune".into() })?;
    let verified = graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "prune".into(), errors })?;
    let crit = weight_criticality(graph, &verified, &layers, calib, ctx).map_err(fail)?;
    let mut report = PassReport::new("prune");
    let (mut total, mut zeros_all) = (0, 0);
    for (l, &n) in layers.iter().enumerate() {
        let s = if p.sparsity.len() == 1 { p.sparsity[0] } else { p.sparsity[l] };
        let name = graph.name(n).to_string();
        let shape = graph.op(n).weight().expect("weight layer").shape().clone();
        let sc = &crit[&n];
        if let Ok(t) = crate::ir::Tensor::new(shape, sc.clone()) {
            report.scores.push((name.clone(), t));
        }
        let w = graph.op_mut(n).weight_mut().expect("weight layer").data_mut();
        let numel = w.len();
        let before = w.iter().filter(|v| **v == 0.0).count();
        let (k, m) = (count(numel, s), count(numel, p.margin));
        let (gone, regen) = weight_criticality_select(w, sc, k, m);
        for &i in &gone {
            w[i] = 0.0;
        }
        let zeros = w.iter().filter(|v| **v == 0.0).count();
        let pct = |z: usize| 100.0 * z as f64 / numel.max(1) as f64;
        report.line(format!(
            "`{name}`: {:.1} % sparse ({zeros}/{numel} zero), was {:.1} %; {regen} of the {} smallest regenerated by criticality",
            pct(zeros),
            pct(before),
            (k + m).min(numel)
        ));
        total += numel;
        zeros_all += zeros;
    }
    report.line(format!(
        "Criticality per weight, per layer: {:.1} % of {total} weights zero",
        100.0 * zeros_all as f64 / total.max(1) as f64
    ));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::channel::surrogate_grad as g;
    use super::*;
    use crate::exec::Dynamics;
    use crate::limits::Limits;
    use crate::text::parse_snn;

    /// Affine 2 → 3, IF neurons (gain 1, θ = 1, reset to 0), one sample, T = 2,
    /// x = [1, 0] then [1, 1]:
    /// - neuron 0, row [0.6, 0.5]: u = 0.6, then 1.7 (spikes at t = 1);
    /// - neuron 1, row [1.5, −2.0]: u = 1.5 (spikes, reset to 0), then −0.5;
    /// - neuron 2, row [0.1, 0.1]: u = 0.1, 0.3, never spikes → its weights score 0.
    ///
    /// `crit(w_ij) = (1/T) Σ_t g′(u_i[t] − 1) · |x_j[t]|`.
    #[test]
    fn per_weight_criticality_by_hand() {
        let src = "snn 1\n\
            input = Input<shape=[2]>()\n\
            fc = Affine<weight=[[0.6, 0.5], [1.5, -2.0], [0.1, 0.1]], bias=[0.0, 0.0, 0.0]>(input)\n\
            n = IF<r=full([3], 10000.0), v_threshold=full([3], 1.0), v_reset=full([3], 0.0)>(fc)\n\
            output = Output<shape=[3]>(n)\n";
        let limits = Limits::default();
        let graph = parse_snn(src, "t.snn", std::path::Path::new("."), &limits).unwrap();
        let verified = graph.verify(&limits).unwrap();
        let fc = graph.find("fc").unwrap();
        let calib = Calibration { data: vec![1.0, 0.0, 1.0, 1.0], n_samples: 1, n_steps: 2 };
        let dynamics = Dynamics { reset: ResetRule::ToVReset, ..Dynamics::default() };
        let ctx = PassContext { limits: &limits, dynamics, calib: Some(&calib), train: None, target: None };
        let s = &weight_criticality(&graph, &verified, &[fc], &calib, &ctx).unwrap()[&fc];
        let want = [(g(-0.4) + g(0.7)) / 2.0, g(0.7) / 2.0, (g(0.5) + g(-1.5)) / 2.0, g(-1.5) / 2.0, 0.0, 0.0];
        assert_eq!(s.len(), 6);
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{s:?} vs {want:?}");
        }
    }

    /// Conv taps at the border: 3×3 input of ones, 3×3 kernel, padding 1, g′ = 1 — each
    /// tap's score is the number of output positions where it reads inside the map.
    #[test]
    fn conv_taps_sum_over_the_positions_they_reach() {
        let geom = Geom::Conv {
            c_out: 1,
            c_in: 1,
            groups: 1,
            hw: [3, 3],
            out: [3, 3],
            k: [3, 3],
            stride: [1, 1],
            pad: [1, 1],
            dil: [1, 1],
        };
        let mut score = vec![0.0; 9];
        geom.accumulate(Some(&[1.0; 9]), &[1.0; 9], &mut score);
        assert_eq!(score, vec![4.0, 6.0, 4.0, 6.0, 9.0, 6.0, 4.0, 6.0, 4.0]);
        // g′ only at the top-left output: tap (ky, kx) reads input (ky − 1, kx − 1) there.
        let mut score = vec![0.0; 9];
        let mut gv = [0.0; 9];
        gv[0] = 0.5;
        let x: Vec<f64> = (0..9).map(|i| i as f64).collect();
        geom.accumulate(Some(&gv), &x, &mut score);
        assert_eq!(score, vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 1.5, 2.0]);
    }

    #[test]
    fn selection_prunes_k_plus_m_and_regenerates_the_m_most_critical() {
        let w = [0.1, -0.2, 0.3, 0.0, 0.5, 0.2];
        let crit = [0.9, 0.5, 0.1, 1.0, 0.1, 0.5];
        // margin 0: magnitude's mask (the zero and 0.1)
        assert_eq!(weight_criticality_select(&w, &crit, 2, 0), (vec![0, 3], 0));
        // k + m = 4 smallest: 3 (0.0), 0 (0.1), 1 and 5 (0.2, ties by index). By criticality
        // 0 (0.9), then 1 and 5 tie at 0.5 → 1 first; 3 is already 0 and never regenerated.
        assert_eq!(weight_criticality_select(&w, &crit, 2, 2), (vec![3, 5], 2));
        // the margin is capped by the weights left
        assert_eq!(weight_criticality_select(&w, &crit, 5, 3), (vec![1, 2, 3, 4, 5], 1));
        // all candidates already zero: nothing to regenerate, more than k stay zero
        assert_eq!(weight_criticality_select(&[0.0, 0.0, 1.0], &[1.0, 1.0, 0.0], 1, 1), (vec![0, 1], 0));
    }
}
