//! Structured (channel / neuron) pruning for `prune(method=svs|sca|criticality, …)`.
//!
//! Candidates: the channel groups of `fanout.rs` that their source layers can silence (not
//! observed: no Output or Input reads them, so output neurons — the classes — are never
//! pruned) and that a neuron node carries. A channel is output row / filter c of every
//! source and neuron channel c of every neuron node in the group (a dense layer: one
//! neuron; conv: its `H×W` positions); in a residual net channels tied by an addition are
//! one group spanning both branches, scored as the sum of their scores in each neuron node.
//! In each group `round(s·C)` channels go (at least one stays). Removing a channel zeroes
//! its row / filter and bias in every source and its weights in every use (columns of a
//! dense consumer, also behind a Flatten; input slice of a conv consumer, also behind
//! pooling), so that `cleanup` can delete it. Neuron parameters are untouched.
//!
//! Scores come from one calibration run of the unpruned graph ([`ChannelProbe`]); the
//! pre-reset membrane potential `u[t]` is recomputed in the probe from N's summed input with
//! [`NeuronCoefficients`] and the spikes the executor emitted (the executor is unchanged):
//! - `svs` (QP-SNN): per sample, the numerical rank (singular values > 1e-6, one-sided
//!   Jacobi SVD) of the channel's time-averaged spike map (`H×W` for conv, `1×1` for dense:
//!   rank 1 if it spiked at all), averaged over the batch. Ties are broken by the summed
//!   spike count, then by channel index.
//! - `sca` (Li et al. 2024, *spiking channel activity*): the channel's spiking activity, its
//!   mean firing rate over batch, time and positions (spikes per neuron per step). An
//!   earlier reading scored mean `|U_pre-reset|`, which ranks a channel held far below rest
//!   by a negative bias, and never spiking, as the most important; the paper scores what
//!   the channel emits. Non-spiking neurons (LI, I, CubaLI) emit their potential: `|v|`.
//! - `criticality`: `c = E_x[max over positions (1/T) Σ_t g′(u[t] − θ)]`,
//!   `g′(x) = (α/2) / (1 + (π α x / 2)²)`, α = 2. Selection: prune `k + m` channels of lowest
//!   L1 filter magnitude, `m = round(margin·C)` (the extra **margin**, default
//!   `margin=0.1`, capped so that at least one channel stays), then regenerate the `m` most
//!   critical of them (scores from the dense network), so exactly `k` go.
//!   Non-spiking neurons (LI, I, CubaLI) use their potential; θ = their threshold, else 0.
//!   A channel that emitted nothing over the whole calibration set scores 0 and counts as
//!   magnitude 0 in the selection (so it goes first and is never regenerated): g′ is
//!   largest just below θ, so the paper's score alone would rank a channel sitting just
//!   under threshold — silent, contributing nothing downstream — among the most critical.
//!
//! Under every score a channel that never spikes ranks least important (svs: rank 0; sca:
//! rate 0; criticality: 0 by the rule above), below any channel that spiked at all.

use std::collections::HashMap;

use super::calib::Calibration;
use super::fanout::{groups, source_channel, zero_source_channel, zero_use, Group};
use super::PassContext;
use crate::exec::{Executor, NeuronCoefficients, NeuronKind, Probe, ResetRule};
use crate::ir::{Graph, NodeId, Verified};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    Svs,
    Sca,
    Criticality,
}

pub const ALPHA: f64 = 2.0;

/// Surrogate derivative `g′(x) = (α/2)/(1 + (π α x / 2)²)`.
pub fn surrogate_grad(x: f64) -> f64 {
    let z = std::f64::consts::PI * ALPHA * x / 2.0;
    (ALPHA / 2.0) / (1.0 + z * z)
}

/// Singular values of a row-major `m × n` matrix (one-sided Jacobi on its columns).
pub fn singular_values(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    // Work on the orientation with fewer columns.
    let (rows, cols, mut c): (usize, usize, Vec<Vec<f64>>) = if n <= m {
        (m, n, (0..n).map(|j| (0..m).map(|i| a[i * n + j]).collect()).collect())
    } else {
        (n, m, (0..m).map(|i| a[i * n..(i + 1) * n].to_vec()).collect())
    };
    let _ = rows;
    for _sweep in 0..60 {
        let mut rotated = false;
        for p in 0..cols {
            for q in p + 1..cols {
                let alpha: f64 = c[p].iter().map(|v| v * v).sum();
                let beta: f64 = c[q].iter().map(|v| v * v).sum();
                let gamma: f64 = c[p].iter().zip(&c[q]).map(|(x, y)| x * y).sum();
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let cs = 1.0 / (1.0 + t * t).sqrt();
                let sn = cs * t;
                let (lo, hi) = c.split_at_mut(q);
                for (x, y) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
                    let (u, v) = (*x, *y);
                    *x = cs * u - sn * v;
                    *y = sn * u + cs * v;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let mut s: Vec<f64> = c.iter().map(|col| col.iter().map(|v| v * v).sum::<f64>().sqrt()).collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

/// Count of singular values above `tol`.
pub fn numerical_rank(a: &[f64], m: usize, n: usize, tol: f64) -> usize {
    singular_values(a, m, n).iter().filter(|&&s| s > tol).count()
}

/// One watched neuron node: its geometry, a mirror of its state, and the accumulators.
pub struct Watched {
    pub coef: NeuronCoefficients,
    pub channels: usize,
    /// Map geometry per channel: `(h, w)`; dense = (1, 1).
    pub map: (usize, usize),
    v: Vec<f64>,
    syn: Vec<f64>,
    /// Per position, this sample: spike counts (non-spiking neurons: steps with `u ≠ 0`),
    /// Σ_t g′(u − θ).
    spikes: Vec<f64>,
    crit: Vec<f64>,
    /// g′(u − θ) of every position at the latest step (per-weight criticality reads it).
    pub grad: Vec<f64>,
    steps: usize,
    last_sample: usize,
    /// Per channel totals: rank sum, Σ|output| (spikes, or a non-spiking neuron's
    /// potential), Σ max-criticality, spike count.
    pub rank: Vec<f64>,
    pub activity: Vec<f64>,
    pub crit_max: Vec<f64>,
    pub spike_total: Vec<f64>,
    pub samples: usize,
    pub steps_total: usize,
}

impl Watched {
    pub fn new(coef: NeuronCoefficients, channels: usize, map: (usize, usize)) -> Self {
        let n = channels * map.0 * map.1;
        Watched {
            coef,
            channels,
            map,
            v: vec![0.0; n],
            syn: vec![0.0; n],
            spikes: vec![0.0; n],
            crit: vec![0.0; n],
            grad: vec![0.0; n],
            steps: 0,
            last_sample: usize::MAX,
            rank: vec![0.0; channels],
            activity: vec![0.0; channels],
            crit_max: vec![0.0; channels],
            spike_total: vec![0.0; channels],
            samples: 0,
            steps_total: 0,
        }
    }

    fn finish_sample(&mut self) {
        if self.last_sample == usize::MAX || self.steps == 0 {
            return;
        }
        let per = self.map.0 * self.map.1;
        let t = self.steps as f64;
        for c in 0..self.channels {
            let sp = &self.spikes[c * per..(c + 1) * per];
            let avg: Vec<f64> = sp.iter().map(|s| s / t).collect();
            self.rank[c] += numerical_rank(&avg, self.map.0, self.map.1, 1e-6) as f64;
            self.spike_total[c] += sp.iter().sum::<f64>();
            let m = self.crit[c * per..(c + 1) * per].iter().map(|g| g / t).fold(f64::NEG_INFINITY, f64::max);
            self.crit_max[c] += m;
        }
        self.samples += 1;
    }

    /// One step: `input` is the summed input, `output` what the node emitted.
    pub fn step(&mut self, sample: usize, input: &[f64], output: &[f64], reset: ResetRule) {
        if sample != self.last_sample {
            self.finish_sample();
            self.last_sample = sample;
            self.steps = 0;
            self.v.fill(0.0);
            self.syn.fill(0.0);
            self.spikes.fill(0.0);
            self.crit.fill(0.0);
        }
        self.steps += 1;
        self.steps_total += 1;
        let per = self.map.0 * self.map.1;
        let k = &self.coef;
        let at = |v: &[f64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
        let spiking = matches!(k.kind, NeuronKind::LIF | NeuronKind::IF | NeuronKind::CubaLIF);
        for i in 0..self.v.len() {
            let u = match k.kind {
                NeuronKind::LIF | NeuronKind::LI => {
                    self.v[i] + at(&k.decay, i) * (at(&k.v_leak, i) - self.v[i]) + at(&k.gain, i) * input[i]
                }
                NeuronKind::IF | NeuronKind::I => self.v[i] + at(&k.gain, i) * input[i],
                NeuronKind::CubaLIF | NeuronKind::CubaLI => {
                    let c = &mut self.syn[i];
                    *c += at(&k.syn_decay, i) * (at(&k.w_in, i) * input[i] - *c);
                    self.v[i] + at(&k.decay, i) * (at(&k.v_leak, i) - self.v[i]) + at(&k.gain, i) * *c
                }
            };
            let theta = if k.v_threshold.is_empty() { 0.0 } else { at(&k.v_threshold, i) };
            let fired = spiking && output[i] != 0.0;
            self.v[i] = if fired {
                match reset {
                    ResetRule::Subtract => u - theta,
                    ResetRule::ToVReset => at(&k.v_reset, i),
                }
            } else {
                u
            };
            let c = i / per;
            self.activity[c] += output[i].abs();
            if spiking {
                self.spikes[i] += output[i];
            } else if u != 0.0 {
                self.spikes[i] += 1.0;
            }
            self.grad[i] = surrogate_grad(u - theta);
            self.crit[i] += self.grad[i];
        }
    }

    /// Per-channel score (higher = keep).
    pub fn scores(&mut self, score: Score) -> Vec<f64> {
        self.finish_sample();
        self.last_sample = usize::MAX;
        let n = self.samples.max(1) as f64;
        let per_step = (self.steps_total * self.map.0 * self.map.1).max(1) as f64;
        match score {
            Score::Svs => self.rank.iter().map(|r| r / n).collect(),
            Score::Sca => self.activity.iter().map(|a| a / per_step).collect(),
            Score::Criticality => {
                self.crit_max.iter().zip(&self.activity).map(|(c, a)| if *a == 0.0 { 0.0 } else { c / n }).collect()
            }
        }
    }
}

pub struct ChannelProbe {
    pub nodes: HashMap<NodeId, Watched>,
    pub reset: ResetRule,
}

impl Probe for ChannelProbe {
    fn wants(&self, node: NodeId) -> bool {
        self.nodes.contains_key(&node)
    }
    fn record(&mut self, sample: usize, _: usize, node: NodeId, input: &[f64], output: &[f64]) {
        let reset = self.reset;
        self.nodes.get_mut(&node).expect("wants() said so").step(sample, input, output, reset);
    }
}

/// Channel groups structured pruning may act on: the sources can silence them (not
/// observed) and a neuron node carries them.
pub fn candidates(graph: &Graph, verified: &Verified) -> Vec<Group> {
    groups(graph, verified).into_iter().filter(|g| !g.observed && !g.neurons.is_empty()).collect()
}

/// Per group, one score per channel from one calibration run: the sum of the scores the
/// channel has in each of the group's neuron nodes (a residual group spans both branches).
pub fn channel_scores(
    graph: &Graph,
    verified: &Verified,
    groups: &[Group],
    calib: &Calibration,
    ctx: &PassContext,
    score: Score,
) -> Result<Vec<Vec<f64>>, String> {
    let mut probe = ChannelProbe { nodes: HashMap::new(), reset: ctx.dynamics.reset };
    for g in groups {
        let c = g.channels;
        for &n in &g.neurons {
            let dims = verified.shape(n).dims().to_vec();
            let coef = NeuronCoefficients::new(graph.op(n), ctx.dynamics.dt)
                .ok_or_else(|| format!("`{}` is not a neuron", graph.name(n)))?;
            let map = match dims.len() {
                1 => (1, dims[0] / c),
                2 => (1, dims[1]),
                3 => (dims[1], dims[2]),
                _ => return Err(format!("`{}`: shape {dims:?} is not [C], [C, L] or [C, H, W]", graph.name(n))),
            };
            probe.nodes.entry(n).or_insert_with(|| Watched::new(coef, c, map));
        }
    }
    let exec = Executor::new(graph, verified, ctx.dynamics, ctx.limits).map_err(|e| e.to_string())?;
    exec.run_probed(&calib.data, calib.n_samples, calib.n_steps, &mut probe);
    let mut per_node: HashMap<NodeId, Vec<f64>> = HashMap::new();
    for (n, mut w) in probe.nodes {
        let mut s = w.scores(score);
        if score == Score::Svs {
            // tie-break by activity, scaled below one rank step
            let max = w.spike_total.iter().cloned().fold(0.0, f64::max);
            if max > 0.0 {
                for (v, t) in s.iter_mut().zip(&w.spike_total) {
                    *v += 1e-3 * t / max;
                }
            }
        }
        per_node.insert(n, s);
    }
    Ok(groups
        .iter()
        .map(|g| {
            let mut total = vec![0.0; g.channels];
            for n in &g.neurons {
                for (t, v) in total.iter_mut().zip(&per_node[n]) {
                    *t += v;
                }
            }
            total
        })
        .collect())
}

/// L1 magnitude of each channel's incoming weights, over every source of the group.
pub fn channel_magnitudes(graph: &Graph, group: &Group) -> Vec<f64> {
    (0..group.channels)
        .map(|ch| {
            group
                .sources
                .iter()
                .map(|&s| source_channel(graph.op(s), ch, group.channels).0.iter().map(|v| v.abs()).sum::<f64>())
                .sum()
        })
        .collect()
}

/// Indices of the `k` lowest scores (ties by index).
pub fn lowest(scores: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    idx.truncate(k);
    idx.sort_unstable();
    idx
}

/// Criticality selection: the `k + m` lowest by magnitude, minus the `m` most critical of them.
/// A channel with criticality 0 (silent over the calibration set, see the module docs)
/// counts as magnitude 0.
pub fn criticality_select(magnitude: &[f64], crit: &[f64], k: usize, m: usize) -> Vec<usize> {
    let c = magnitude.len();
    let m = m.min(c.saturating_sub(1).saturating_sub(k));
    let magnitude: Vec<f64> = magnitude.iter().zip(crit).map(|(g, c)| if *c == 0.0 { 0.0 } else { *g }).collect();
    let mut cand = lowest(&magnitude, k + m);
    cand.sort_by(|&a, &b| crit[b].total_cmp(&crit[a]).then(a.cmp(&b)));
    let mut out: Vec<usize> = cand[m..].to_vec();
    out.sort_unstable();
    out
}

/// Zeroes channel `ch` of a group: row/filter and bias in every source, its weights in
/// every use, so that `cleanup` can delete it.
pub fn remove_channel(graph: &mut Graph, group: &Group, ch: usize) {
    for &s in &group.sources {
        zero_source_channel(graph.op_mut(s), ch, group.channels);
    }
    for u in &group.uses {
        zero_use(graph, u, ch, group.channels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_by_hand() {
        assert_eq!(numerical_rank(&[1.0, 2.0, 2.0, 4.0], 2, 2, 1e-6), 1);
        assert_eq!(numerical_rank(&[1.0, 0.0, 0.0, 1.0], 2, 2, 1e-6), 2);
        assert_eq!(numerical_rank(&[0.0; 6], 2, 3, 1e-6), 0);
        assert_eq!(numerical_rank(&[0.5], 1, 1, 1e-6), 1);
        // 3×3 with rows r1, r2, r1 + r2: rank 2; singular values of diag(3, 2) are 3, 2.
        assert_eq!(numerical_rank(&[1.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0, 1.0], 3, 3, 1e-6), 2);
        let s = singular_values(&[3.0, 0.0, 0.0, -2.0], 2, 2);
        assert!((s[0] - 3.0).abs() < 1e-12 && (s[1] - 2.0).abs() < 1e-12, "{s:?}");
        // 2×3 [[1,1,0],[0,0,0]]: one singular value √2.
        let s = singular_values(&[1.0, 1.0, 0.0, 0.0, 0.0, 0.0], 2, 3);
        assert!((s[0] - 2f64.sqrt()).abs() < 1e-12 && s[1].abs() < 1e-12, "{s:?}");
    }

    fn if_neurons(n: usize, thr: f64) -> NeuronCoefficients {
        NeuronCoefficients {
            kind: NeuronKind::IF,
            decay: vec![],
            gain: vec![1.0; n],
            v_leak: vec![],
            v_threshold: vec![thr; n],
            v_reset: vec![0.0; n],
            syn_decay: vec![],
            w_in: vec![],
        }
    }

    /// Two IF neurons (gain 1, θ = 1, subtract reset), one sample, T = 2.
    /// Neuron 0: inputs 0.6, 0.6 → u = 0.6, 1.2 (spikes at t=1): rate 1/2.
    /// Neuron 1: inputs −0.5, 0 → u = −0.5, −0.5; never spikes: rate 0, criticality 0.
    #[test]
    fn sca_svs_criticality_by_hand_dense() {
        let mut w = Watched::new(if_neurons(2, 1.0), 2, (1, 1));
        w.step(0, &[0.6, -0.5], &[0.0, 0.0], ResetRule::Subtract);
        w.step(0, &[0.6, 0.0], &[1.0, 0.0], ResetRule::Subtract);
        assert_eq!(w.scores(Score::Sca), vec![0.5, 0.0]);
        assert_eq!(w.scores(Score::Svs), vec![1.0, 0.0]);
        let c = w.scores(Score::Criticality);
        let want0 = (surrogate_grad(0.6 - 1.0) + surrogate_grad(1.2 - 1.0)) / 2.0;
        assert!((c[0] - want0).abs() < 1e-12 && c[1] == 0.0, "{c:?}");
        assert!((surrogate_grad(0.0) - 1.0).abs() < 1e-15);
        // g'(0.5) = 1 / (1 + (π/2)²)
        let g = 1.0 / (1.0 + (std::f64::consts::PI / 2.0).powi(2));
        assert!((surrogate_grad(0.5) - g).abs() < 1e-15);
    }

    /// Three LIF-like IF channels over two samples of 20 steps: channel 0 held far below rest
    /// by a negative input (the hyperpolarised silent channel: large |u|), channel 1 firing
    /// now and then, channel 2 creeping up to just below threshold and never crossing it
    /// (large g′). Both silent channels rank below the firing one under every score, and
    /// criticality's selection prunes them first even when their filters are the largest.
    #[test]
    fn a_channel_that_never_spikes_ranks_least_important() {
        let mut w = Watched::new(if_neurons(3, 1.0), 3, (1, 1));
        for sample in 0..2 {
            let mut u1 = 0.0;
            for t in 0..20 {
                u1 += 0.3;
                let fired = u1 > 1.0;
                if fired {
                    u1 -= 1.0;
                }
                // channel 2: input 0.99 then 0 forever: u = 0.99 < θ for good.
                let x2 = if t == 0 { 0.99 } else { 0.0 };
                w.step(sample, &[-4.0, 0.3, x2], &[0.0, if fired { 1.0 } else { 0.0 }, 0.0], ResetRule::Subtract);
            }
        }
        for score in [Score::Svs, Score::Sca, Score::Criticality] {
            let s = w.scores(score);
            assert!(s[0] < s[1] && s[2] < s[1], "{score:?}: {s:?}");
            assert_eq!(lowest(&s, 2), vec![0, 2], "{score:?}: {s:?}");
        }
        // criticality's selection: silent channels go first whatever their filter magnitude.
        let crit = w.scores(Score::Criticality);
        assert_eq!(criticality_select(&[5.0, 0.1, 4.0], &crit, 1, 0), vec![0]);
        assert_eq!(criticality_select(&[5.0, 0.1, 4.0], &crit, 2, 0), vec![0, 2]);
        // with a margin the firing channel is a candidate too, and it is the one regenerated
        assert_eq!(criticality_select(&[5.0, 0.1, 4.0], &crit, 2, 1), vec![0, 2]);
    }

    /// One conv channel with a 2×2 map, two samples: rank averaged; criticality the max over
    /// positions, averaged over samples.
    #[test]
    fn svs_and_criticality_by_hand_conv() {
        let mut w = Watched::new(if_neurons(4, 1.0), 1, (2, 2));
        // sample 0, T = 1: spikes at (0,0) and (1,1): map diag → rank 2.
        w.step(0, &[1.0, 0.0, 0.0, 1.0], &[1.0, 0.0, 0.0, 1.0], ResetRule::Subtract);
        // sample 1: spikes at (0,0), (0,1): rank 1.
        w.step(1, &[1.0, 1.0, 0.5, 0.0], &[1.0, 1.0, 0.0, 0.0], ResetRule::Subtract);
        assert_eq!(w.scores(Score::Svs), vec![1.5]);
        // criticality: both samples have a position at u = θ → g'(0) = 1 is the max.
        assert_eq!(w.scores(Score::Criticality), vec![1.0]);
        // SCA: 4 spikes over 2 steps × 4 positions.
        assert_eq!(w.scores(Score::Sca), vec![0.5]);
    }

    #[test]
    fn criticality_regenerates_the_most_critical() {
        // magnitudes: channel 0..5; k = 2, m = 1 → candidates 0, 1, 2; most critical (2) is kept.
        let mag = [0.1, 0.2, 0.3, 0.4, 0.5];
        let crit = [0.5, 0.4, 0.9, 0.1, 0.1];
        assert_eq!(criticality_select(&mag, &crit, 2, 1), vec![0, 1]);
        let crit = [0.9, 0.4, 0.1, 0.2, 0.2];
        assert_eq!(criticality_select(&mag, &crit, 2, 1), vec![1, 2]);
        // a silent channel (criticality 0) counts as magnitude 0
        let crit = [0.9, 0.4, 0.1, 0.2, 0.0];
        assert_eq!(criticality_select(&mag, &crit, 2, 1), vec![1, 4]);
        assert_eq!(lowest(&[3.0, 1.0, 2.0], 2), vec![1, 2]);
    }
}
