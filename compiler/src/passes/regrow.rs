//! `regrow(fraction=0.25, samples=256, seed=0)`: gives back a fraction of the channels a
//! structured prune removed, choosing them by the loss gradient — SCA's regeneration step.
//!
//! Needs: a verified graph, training data ([`PassContext::train`]). Works on the channel
//! groups of [`super::fanout`] that structured pruning acts on (not observed, with
//! sources); a channel is *removed* when its row/filter and bias are zero in every source.
//! Establishes: in each group `round(fraction·removed)` removed channels hold fresh weights
//! again (the others stay exactly zero); the graph still verifies; nothing else changes.
//!
//! SCA (Li et al. 2024) regrows the pruned channels whose BatchNorm scale γ has the largest
//! gradient. NIR has no BatchNorm, and a removed channel has no weights whose gradient
//! could say anything (its input and output weights are zero, so every gradient through
//! it is zero), so here every removed channel first gets fresh weights — seeded uniform
//! values with the root-mean-square of the live weights of the same layer, in its
//! row/filter and in its outgoing columns / input-channel slices; bias 0 — and the
//! gradient of the loss with respect to them on the first `samples` training samples
//! (ce on spike counts, atan surrogate, as `finetune`'s defaults) scores it:
//! `‖∂L/∂w‖²` summed over those weights. The highest scores keep their weights (ties:
//! lower channel index); the rest are zeroed again. The following `prune` then competes
//! regrown and surviving channels by spiking activity.

use super::args::Args;
use super::fanout::{groups, source_channel, use_ranges, use_slices_mut, zero_source_channel, zero_use, Group};
use super::spec::{PassSpec, SpecError};
use super::{Pass, PassContext, PassError, PassReport};
use crate::ir::{Graph, NodeId};
use crate::synth::Rng;
use crate::train::{gradients, Loss, Net, Surrogate};

#[derive(Clone, Debug, PartialEq)]
pub struct Regrow {
    pub fraction: f64,
    pub samples: usize,
    pub seed: u64,
}

const ACCEPTED: &[&str] = &["fraction", "samples", "seed"];

impl Regrow {
    pub fn from_spec(spec: &PassSpec) -> Result<Regrow, SpecError> {
        let mut a = Args::new(spec);
        let fraction = a.number("fraction", Some(0.25), 0.0, 1.0)?;
        let samples = a.integer("samples", Some(256), 1, 1 << 30)? as usize;
        let seed = a.integer("seed", Some(0), 0, i64::MAX)? as u64;
        a.finish(ACCEPTED)?;
        Ok(Regrow { fraction, samples, seed })
    }
}

/// Root-mean-square of the nonzero values (1 when there are none).
fn rms_nonzero(v: &[f64]) -> f64 {
    let (sum, n) = v.iter().filter(|x| **x != 0.0).fold((0.0, 0usize), |(s, n), x| (s + x * x, n + 1));
    if n == 0 {
        1.0
    } else {
        (sum / n as f64).sqrt()
    }
}

/// Uniform in `[−√3, √3]·σ`: variance σ².
fn fresh(rng: &mut Rng, sigma: f64) -> f64 {
    (2.0 * rng.uniform() - 1.0) * 3f64.sqrt() * sigma
}

fn weight_of(graph: &Graph, node: NodeId) -> &[f64] {
    graph.op(node).weight().map_or(&[], |w| w.data())
}

/// Removed channels of a group: zero in every source (row/filter and bias).
fn removed(graph: &Graph, g: &Group) -> Vec<usize> {
    (0..g.channels)
        .filter(|&ch| {
            g.sources.iter().all(|&s| {
                let (row, bias) = source_channel(graph.op(s), ch, g.channels);
                row.iter().all(|x| *x == 0.0) && bias.is_none_or(|b| b == 0.0)
            })
        })
        .collect()
}

impl Pass for Regrow {
    fn name(&self) -> &'static str {
        "regrow"
    }

    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
        let fail = |reason: String| PassError::Failed { pass: "regrow".into(), reason };
        let data = ctx.train.ok_or(PassError::NeedsTrainingData { pass: "regrow".into() })?;
        let verified =
            graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "regrow".into(), errors })?;
        let mut report = PassReport::new("regrow");
        let candidates: Vec<(Group, Vec<usize>)> = groups(graph, &verified)
            .into_iter()
            .filter(|g| !g.observed && !g.sources.is_empty())
            .map(|g| {
                let r = removed(graph, &g);
                (g, r)
            })
            .filter(|(_, r)| !r.is_empty())
            .collect();
        if candidates.is_empty() {
            report.line("no removed channels to regrow".into());
            return Ok(report);
        }
        // Fresh weights for every removed channel, scaled like the live ones.
        let mut rng = Rng::new(self.seed);
        for (g, chans) in &candidates {
            for &s in &g.sources {
                let sigma = rms_nonzero(weight_of(graph, s));
                let c = g.channels;
                if let Some(w) = graph.op_mut(s).weight_mut() {
                    let d = w.numel() / c;
                    for &ch in chans {
                        w.data_mut()[ch * d..(ch + 1) * d].iter_mut().for_each(|x| *x = fresh(&mut rng, sigma));
                    }
                }
            }
            for u in &g.uses {
                let sigma = rms_nonzero(weight_of(graph, u.layer()));
                for &ch in chans {
                    use_slices_mut(graph, u, ch, g.channels, |s| {
                        s.iter_mut().for_each(|x| *x = fresh(&mut rng, sigma))
                    });
                }
            }
        }
        // Gradient on the first samples.
        let verified =
            graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "regrow".into(), errors })?;
        let net = Net::new(graph, &verified, &ctx.dynamics, ctx.limits).map_err(|e| fail(e.to_string()))?;
        let n = data.labels.len().min(self.samples);
        let per_sample = data.n_steps * net.input_len;
        if data.input.len() < n * per_sample {
            return Err(fail(format!(
                "the training input has {} values; {n} samples × {} steps × {} inputs expected",
                data.input.len(),
                data.n_steps,
                net.input_len
            )));
        }
        let workers = rayon::current_num_threads();
        let (_, grads) = gradients(
            &net,
            Surrogate::from_name("atan", None).expect("a surrogate name"),
            Loss::from_name("ce_count").expect("a loss name"),
            &data.input[..n * per_sample],
            &data.labels[..n],
            data.n_steps,
            workers,
        )
        .map_err(|e| fail(e.to_string()))?;
        let grad_of = |node: NodeId| {
            let name = format!("{}.weight", graph.name(node));
            grads.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
        };
        let mut zero: Vec<(usize, usize)> = Vec::new();
        for (gi, (g, chans)) in candidates.iter().enumerate() {
            let score = |ch: usize| -> f64 {
                let mut s = 0.0;
                for &src in &g.sources {
                    if let Some(t) = grad_of(src) {
                        let d = t.numel() / g.channels;
                        s += t.data()[ch * d..(ch + 1) * d].iter().map(|x| x * x).sum::<f64>();
                    }
                }
                for u in &g.uses {
                    if let Some(t) = grad_of(u.layer()) {
                        for r in use_ranges(t.dims(), u, ch, g.channels) {
                            s += t.data()[r].iter().map(|x| x * x).sum::<f64>();
                        }
                    }
                }
                s
            };
            let mut ranked: Vec<(f64, usize)> = chans.iter().map(|&ch| (score(ch), ch)).collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let keep = ((self.fraction * chans.len() as f64).round() as usize).min(chans.len());
            let names: Vec<&str> = g.sources.iter().map(|&s| graph.name(s)).collect();
            report.line(format!(
                "{}: regrew {keep} of {} removed channels (of {}) by gradient magnitude",
                names.join("+"),
                chans.len(),
                g.channels
            ));
            zero.extend(ranked[keep..].iter().map(|&(_, ch)| (gi, ch)));
        }
        for (gi, ch) in zero {
            let g = &candidates[gi].0;
            for &s in &g.sources {
                zero_source_channel(graph.op_mut(s), ch, g.channels);
            }
            for u in &g.uses {
                zero_use(graph, u, ch, g.channels);
            }
        }
        Ok(report)
    }
}
