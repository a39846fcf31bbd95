//! `finetune(epochs=5, lr=1e-3, batch=64, optimizer=adam|sgd, momentum=0.9,
//! loss=ce_count|mse_count|ce_membrane, surrogate=atan|fast-sigmoid|sigmoid|triangle,
//! surrogate_param=…, seed=0, threads=0, fake_quant=auto|off, qat=rescaw|uniform, bits=B)`:
//! surrogate-gradient training of every weight and bias on the training set
//! (`--train-input`, `--train-labels`).
//!
//! Grids trained on (straight-through fake quantization; the forward uses the projected
//! weights, the gradient updates float master weights):
//! - `fake_quant=auto` (default): a layer already on a grid keeps that grid, fixed;
//! - `qat=rescaw, bits=B`: every weight layer trains on ReScaW's grid with γ = mean |w| of
//!   each output channel, recomputed from the master weights at every step (QP-SNN's
//!   quantization-aware training); `qat=uniform, bits=B`: symmetric per-channel grid with
//!   step max |w| / (2^(B−1) − 1), recomputed likewise;
//! - with `--target` ([`PassContext::target`]), last: the target's weight grid — the
//!   mapper's scale for a population, max |w| / w_max with `w_max` from the target's
//!   `weight_bits`, over the layer — so the trained weights are the chip's stored integers
//!   times the scale and the chip computes with exactly the weights trained. Assumes one
//!   weight layer per population and one input gain `k` for all its neurons (the mapper's
//!   scale is max |k·w|); a population fed by several layers shares their largest scale.
//!
//! Needs: a verified graph with one Input and one Output, training data in
//! [`PassContext::train`]. Establishes: weights and biases trained by BPTT
//! ([`crate::train`]); masks hold — every weight that was exactly zero (pruned) and the
//! bias of every removed channel stay zero; a layer whose weights lie on a quantization
//! grid (tensor-wide or per output channel, [`crate::train::grid`]) is trained with
//! straight-through fake quantization and ends on the same grid; neuron parameters,
//! shapes and structure unchanged. Deterministic for a given seed and thread count.

use super::args::Args;
use super::quantizers::{Gamma, Grid};
use super::spec::{PassSpec, SpecError};
use super::{Pass, PassContext, PassError, PassReport};
use crate::ir::Graph;
use crate::train::grid::AffineGrid;
use crate::train::optim::OptimizerKind;
use crate::train::trainer::{freeze_zero_weights, train, Constraint, EpochReport, Progress, TrainConfig, TrainSet};
use crate::train::{check_labels, Loss, Net, Surrogate};

/// Training data for passes that train (`--train-input`, `--train-labels`).
#[derive(Clone, Debug)]
pub struct TrainingData {
    /// `[N, T, input_len]`.
    pub input: Vec<f64>,
    pub labels: Vec<usize>,
    pub n_steps: usize,
    /// Draw a progress bar on stderr (hidden when stderr is not a terminal).
    pub progress: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finetune {
    pub config: TrainConfig,
    /// Infer quantization grids and train on them (`fake_quant=auto`).
    pub fake_quant: bool,
    /// Threads (0 = all cores); batches split into this many chunks.
    pub threads: usize,
    /// Quantization-aware training on a grid recomputed every step (`qat=`, `bits=`).
    pub qat: Option<(Qat, u32)>,
}

/// A grid recomputed from the master weights of each output channel at every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qat {
    /// ReScaW with γ = mean |w| (QP-SNN).
    ReScaW,
    /// Symmetric uniform, step max |w| / (2^(bits−1) − 1).
    Uniform,
}

const ACCEPTED: &[&str] = &[
    "epochs",
    "lr",
    "batch",
    "optimizer",
    "momentum",
    "loss",
    "surrogate",
    "surrogate_param",
    "seed",
    "threads",
    "fake_quant",
    "qat",
    "bits",
];

impl Finetune {
    pub fn from_spec(spec: &PassSpec) -> Result<Finetune, SpecError> {
        let mut a = Args::new(spec);
        let epochs = a.integer("epochs", Some(5), 0, 100_000)? as usize;
        let lr = a.number("lr", Some(1e-3), 0.0, 1e3)?;
        let batch = a.integer("batch", Some(64), 1, 1 << 20)? as usize;
        let optimizer = a.choice("optimizer", OptimizerKind::NAMES, Some("adam"))?;
        let momentum = a.number("momentum", Some(0.9), 0.0, 1.0)?;
        let loss = a.choice("loss", Loss::NAMES, Some("ce_count"))?;
        let surrogate = a.choice("surrogate", Surrogate::NAMES, Some("atan"))?;
        let param = match a.numbers("surrogate_param")? {
            None => None,
            Some((v, span)) if v.len() == 1 && v[0] > 0.0 && v[0].is_finite() => {
                let _ = span;
                Some(v[0])
            }
            Some((_, span)) => return Err(SpecError::new("`surrogate_param` must be one positive number", span)),
        };
        let seed = a.integer("seed", Some(0), 0, i64::MAX)? as u64;
        let threads = a.integer("threads", Some(0), 0, 4096)? as usize;
        let fake_quant = a.choice("fake_quant", &["auto", "off"], Some("auto"))? == "auto";
        let qat = match a.choice("qat", &["off", "rescaw", "uniform"], Some("off"))? {
            "off" => None,
            kind => {
                let bits = a.integer("bits", None, 1, 16).map_err(|_| {
                    SpecError::new(format!("`qat={kind}` needs `bits=` between 1 and 16"), spec.span.clone())
                })? as u32;
                Some((if kind == "rescaw" { Qat::ReScaW } else { Qat::Uniform }, bits))
            }
        };
        if qat.is_none() {
            if let Some((k, v)) = spec.args.iter().find(|(k, _)| k.value == "bits") {
                let _ = k;
                return Err(SpecError::new(
                    "`bits` is the grid of `qat=rescaw|uniform`: give `qat=` too",
                    v.span.clone(),
                ));
            }
        }
        a.finish(ACCEPTED)?;
        Ok(Finetune {
            config: TrainConfig {
                epochs,
                lr,
                batch,
                optimizer: OptimizerKind::from_name(optimizer, momentum).expect("one of NAMES"),
                loss: Loss::from_name(loss).expect("one of NAMES"),
                surrogate: Surrogate::from_name(surrogate, param).expect("one of NAMES"),
                seed,
                workers: 1,
            },
            fake_quant,
            threads,
            qat,
        })
    }
}

/// The row (output channel) of each internal index of parameter `p`.
fn rows_of(p: &crate::train::Param, len: usize) -> (usize, Vec<u32>) {
    let rows = p.nir_shape.dims()[0].max(1);
    let per_row = (len / rows).max(1);
    let row_of = match &p.nir_index {
        Some(idx) => idx.iter().map(|&j| j / per_row as u32).collect(),
        None => (0..len).map(|j| (j / per_row) as u32).collect(),
    };
    (rows, row_of)
}

/// Projects `w` (internal layout, rows by `row_of`) onto a per-row grid computed from the
/// row's own values; zeros (masks) stay zero.
fn project_rows(qat: Qat, bits: u32, rows: usize, row_of: &[u32], w: &[f64], out: &mut [f64]) {
    let mut by_row: Vec<Vec<f64>> = vec![Vec::new(); rows];
    for (&x, &r) in w.iter().zip(row_of) {
        by_row[r as usize].push(x);
    }
    let grids: Vec<Grid> = by_row
        .iter()
        .map(|v| match qat {
            Qat::ReScaW => Grid::rescaw(v, bits, Gamma::Mean),
            Qat::Uniform => Grid::symmetric(v, bits),
        })
        .collect();
    for ((o, &x), &r) in out.iter_mut().zip(w).zip(row_of) {
        *o = grids[r as usize].quantize(x);
    }
}

/// The target's weight grid over a whole layer, in place: step max |w| / w_max.
fn project_target(numerics: &spikeforge_targets::Numerics, w: &mut [f64]) {
    let max = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = spikeforge_targets::fixed::weight_scale(max, numerics);
    for x in w.iter_mut() {
        if *x != 0.0 {
            *x = spikeforge_targets::numerics::dequantize(
                spikeforge_targets::numerics::quantize_weight(*x, scale, numerics).value,
                scale,
            );
        }
    }
}

/// Fake quantization of every weight layer: the grid it lies on (`fake_quant=auto`) or
/// the `qat` grid, then the target's grid (`target`).
fn quantization_constraints(
    net: &Net,
    constraints: &mut [Constraint],
    qat: Option<(Qat, u32)>,
    infer: bool,
    target: Option<&spikeforge_targets::Numerics>,
    report: &mut PassReport,
) {
    for (i, p) in net.params.iter().enumerate() {
        if p.is_bias {
            continue;
        }
        let (rows, row_of) = rows_of(p, net.values[i].len());
        let mut inferred: Option<Vec<Option<AffineGrid>>> = None;
        if let Some((kind, bits)) = qat {
            report.line(format!(
                "{}: quantization-aware training on a per-channel {} grid of {bits} bits{}",
                p.name,
                if kind == Qat::ReScaW { "ReScaW (γ = mean |w|)" } else { "uniform symmetric" },
                if target.is_some() { ", then the target's" } else { "" }
            ));
        } else if infer {
            let nir = p.to_nir(&net.values[i]);
            let per_row = nir.len() / rows;
            // Tensor-wide, else per row; rows whose grid cannot be seen (one level) stay
            // fixed when at least half of the rows show one.
            let grids: Vec<Option<AffineGrid>> = match AffineGrid::infer(&nir) {
                Some(g) => vec![Some(g); rows],
                None => nir.chunks(per_row.max(1)).map(AffineGrid::infer).collect(),
            };
            let found = grids.iter().filter(|g| g.is_some()).count();
            if found > 0 && 2 * found >= rows {
                let levels = grids.iter().flatten().map(|g| g.levels).fold(0.0, f64::max);
                let fixed = rows - found;
                report.line(format!(
                    "{}: on a grid of {} levels, trained with fake quantization{}",
                    p.name,
                    levels + 1.0,
                    if fixed > 0 { format!(" ({fixed} rows with one level kept as they are)") } else { String::new() }
                ));
                if fixed > 0 {
                    let frozen = constraints[i].frozen.get_or_insert_with(|| vec![false; nir.len()]);
                    for (f, &r) in frozen.iter_mut().zip(&row_of) {
                        *f |= grids[r as usize].is_none();
                    }
                }
                inferred = Some(grids);
            }
        }
        if qat.is_none() && inferred.is_none() && target.is_none() {
            continue;
        }
        if let Some(n) = target {
            report.line(format!("{}: trained on the target's {}-bit weight grid", p.name, n.weight_bits));
        }
        let target = target.cloned();
        constraints[i].projection = Some(Box::new(move |master: &[f64], out: &mut [f64]| {
            match (qat, &inferred) {
                (Some((kind, bits)), _) => project_rows(kind, bits, rows, &row_of, master, out),
                (None, Some(grids)) => {
                    for ((o, &m), &r) in out.iter_mut().zip(master).zip(&row_of) {
                        *o = grids[r as usize].map_or(m, |g| g.project(m));
                    }
                }
                (None, None) => out.copy_from_slice(master),
            }
            if let Some(n) = &target {
                project_target(n, out);
            }
        }));
    }
}

/// An indicatif bar on stderr: samples of the epoch, running loss and accuracy.
struct Bar {
    bar: indicatif::ProgressBar,
}

impl Bar {
    fn new(total: u64) -> Bar {
        let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("finetune epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({per_sec})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar { bar }
    }
}

impl Progress for Bar {
    fn batch(&mut self, epoch: usize, done: usize, _total: usize, loss: f64, accuracy: f64) {
        self.bar.set_prefix(epoch.to_string());
        self.bar.set_position(done as u64);
        self.bar.set_message(format!("loss {loss:.4} accuracy {accuracy:.4}"));
    }
    fn epoch(&mut self, r: &EpochReport) {
        self.bar
            .println(format!("finetune epoch {}: loss {:.4}, training accuracy {:.4}", r.epoch, r.loss, r.accuracy));
        self.bar.reset();
    }
}

impl Pass for Finetune {
    fn name(&self) -> &'static str {
        "finetune"
    }

    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
        let fail = |reason: String| PassError::Failed { pass: "finetune".into(), reason };
        let data = ctx.train.ok_or(PassError::NeedsTrainingData { pass: "finetune".into() })?;
        let verified =
            graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "finetune".into(), errors })?;
        let mut net = Net::new(graph, &verified, &ctx.dynamics, ctx.limits).map_err(|e| fail(e.to_string()))?;
        let n = data.labels.len();
        if data.input.len() != n * data.n_steps * net.input_len {
            return Err(fail(format!(
                "the training input has {} values; {n} samples × {} steps × {} inputs expected",
                data.input.len(),
                data.n_steps,
                net.input_len
            )));
        }
        check_labels(&data.labels, net.output_len).map_err(|e| fail(format!("training labels: {e}")))?;
        let mut report = PassReport::new("finetune");
        let mut constraints = freeze_zero_weights(&net);
        quantization_constraints(&net, &mut constraints, self.qat, self.fake_quant, ctx.target, &mut report);
        let workers = if self.threads == 0 { rayon::current_num_threads() } else { self.threads };
        // Each worker keeps a tape of T steps (weight-layer inputs, σ' and reset factors).
        let per_step = net.tape_len + net.output_len;
        ctx.limits
            .check_elements("the training tape of all workers", &[workers, data.n_steps, per_step])
            .map_err(|e| fail(e.to_string()))?;
        let config = TrainConfig { workers, ..self.config.clone() };
        let set = TrainSet { input: &data.input, labels: &data.labels, t_steps: data.n_steps };
        let run = |net: &mut Net| -> Vec<EpochReport> {
            if data.progress {
                let mut bar = Bar::new(n as u64);
                let r = train(net, &set, &config, &constraints, &mut bar);
                bar.bar.finish_and_clear();
                r
            } else {
                train(net, &set, &config, &constraints, &mut crate::train::trainer::Quiet)
            }
        };
        let epochs = match rayon::ThreadPoolBuilder::new().num_threads(workers).build() {
            Ok(pool) => pool.install(|| run(&mut net)),
            Err(_) => run(&mut net),
        };
        net.write_back(graph);
        report.line(format!(
            "{} epochs on {n} samples × {} steps, batch {}, {} lr {}, {} loss, {} surrogate, {workers} threads",
            config.epochs, data.n_steps, config.batch, config.optimizer, config.lr, config.loss, config.surrogate
        ));
        for e in &epochs {
            report.line(format!("epoch {}: loss {:.4}, training accuracy {:.4}", e.epoch, e.loss, e.accuracy));
        }
        Ok(report)
    }
}
