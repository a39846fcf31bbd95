//! The training loop: seeded shuffling into minibatches, batch gradients ([`super::bptt`]),
//! an optimizer step on master weights, and per-parameter constraints.
//!
//! Constraints: *frozen* elements (pruned weights, removed channels: exact zeros before
//! training) get no gradient and stay exactly zero; a *projection* (fake quantization on a
//! layer's grid) maps master weights to the weights the forward uses, and the gradient
//! with respect to those is applied to the master weights unchanged (straight-through
//! estimator). The result depends only on the data, the configuration (seed included) and
//! the worker count.

use super::bptt::{batch_gradient, Batch};
use super::loss::Loss;
use super::net::Net;
use super::optim::{Optimizer, OptimizerKind};
use super::surrogate::Surrogate;
use crate::synth::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
    pub optimizer: OptimizerKind,
    pub loss: Loss,
    pub surrogate: Surrogate,
    pub seed: u64,
    /// Contiguous chunks of each batch run in parallel (1 = one thread).
    pub workers: usize,
}

/// Training data: `[N, T, input_len]` and one class index per sample.
#[derive(Clone, Copy, Debug)]
pub struct TrainSet<'a> {
    pub input: &'a [f64],
    pub labels: &'a [usize],
    pub t_steps: usize,
}

/// Maps master weights to the weights the forward pass uses (fake quantization).
pub type Projection = Box<dyn Fn(&[f64], &mut [f64]) + Send + Sync>;

/// What training must preserve in one parameter (kernel layout).
#[derive(Default)]
pub struct Constraint {
    /// Elements that keep their value exactly (pruned zeros, levels that cannot move).
    pub frozen: Option<Vec<bool>>,
    pub projection: Option<Projection>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    pub epoch: usize,
    /// Mean training loss over the epoch's samples (as the weights were when each batch ran).
    pub loss: f64,
    /// Fraction of the epoch's samples predicted correctly.
    pub accuracy: f64,
}

/// Progress callbacks: after each batch (samples done in the epoch, running mean loss and
/// accuracy) and after each epoch.
pub trait Progress {
    fn batch(&mut self, _epoch: usize, _done: usize, _total: usize, _loss: f64, _accuracy: f64) {}
    fn epoch(&mut self, _report: &EpochReport) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

/// Trains `net` in place; returns one report per epoch.
pub fn train(
    net: &mut Net,
    set: &TrainSet,
    cfg: &TrainConfig,
    constraints: &[Constraint],
    progress: &mut dyn Progress,
) -> Vec<EpochReport> {
    let n = set.labels.len();
    let mut master = net.values.clone();
    let initial = master.clone();
    let mut optimizer = Optimizer::new(cfg.optimizer, cfg.lr, &master);
    let mut rng = Rng::new(cfg.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut reports = Vec::with_capacity(cfg.epochs);
    project(net, &master, constraints);
    for epoch in 1..=cfg.epochs {
        // Fisher–Yates with the seeded generator.
        for i in (1..n).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let (mut loss_sum, mut correct, mut done) = (0.0, 0usize, 0usize);
        for samples in order.chunks(cfg.batch.max(1)) {
            let batch = Batch { input: set.input, labels: set.labels, t_steps: set.t_steps, samples };
            let mut r = batch_gradient(net, cfg.surrogate, cfg.loss, &batch, cfg.workers);
            // The batch gradient is of the batch mean; weight it by its size in the epoch mean.
            loss_sum += r.loss * samples.len() as f64;
            correct += r.correct;
            done += samples.len();
            for (g, c) in r.grads.iter_mut().zip(constraints) {
                if let Some(f) = &c.frozen {
                    g.iter_mut().zip(f).filter(|(_, f)| **f).for_each(|(g, _)| *g = 0.0);
                }
            }
            optimizer.step(&mut master, &r.grads);
            for ((w, w0), c) in master.iter_mut().zip(&initial).zip(constraints) {
                if let Some(f) = &c.frozen {
                    w.iter_mut().zip(w0).zip(f).filter(|(_, f)| **f).for_each(|((w, w0), _)| *w = *w0);
                }
            }
            project(net, &master, constraints);
            progress.batch(epoch, done, n, loss_sum / done as f64, correct as f64 / done as f64);
        }
        let report =
            EpochReport { epoch, loss: loss_sum / n.max(1) as f64, accuracy: correct as f64 / n.max(1) as f64 };
        progress.epoch(&report);
        reports.push(report);
    }
    reports
}

/// The forward weights from the master weights.
fn project(net: &mut Net, master: &[Vec<f64>], constraints: &[Constraint]) {
    for (i, (v, m)) in net.values.iter_mut().zip(master).enumerate() {
        match constraints.get(i).and_then(|c| c.projection.as_ref()) {
            Some(p) => p(m, v),
            None => v.copy_from_slice(m),
        }
    }
}

/// Constraints that freeze the masks of pruning: every weight that is exactly zero, and
/// the bias of an output channel whose weights and bias are all zero (a removed channel).
pub fn freeze_zero_weights(net: &Net) -> Vec<Constraint> {
    net.params
        .iter()
        .zip(&net.values)
        .map(|(p, v)| {
            let frozen = if !p.is_bias {
                v.contains(&0.0).then(|| v.iter().map(|&w| w == 0.0).collect())
            } else {
                let weight = net.params.iter().position(|w| w.node == p.node && !w.is_bias);
                weight.and_then(|wi| {
                    let w = net.params[wi].to_nir(&net.values[wi]);
                    let per_row = w.len() / v.len().max(1);
                    let dead: Vec<bool> = v
                        .iter()
                        .enumerate()
                        .map(|(i, &b)| b == 0.0 && w[i * per_row..(i + 1) * per_row].iter().all(|&x| x == 0.0))
                        .collect();
                    dead.contains(&true).then_some(dead)
                })
            };
            Constraint { frozen, projection: None }
        })
        .collect()
}
