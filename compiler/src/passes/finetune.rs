//! `finetune(epochs=5, lr=1e-3, batch=64, optimizer=adam|sgd, momentum=0.9,
//! loss=ce_count|mse_count|ce_membrane, surrogate=atan|fast-sigmoid|sigmoid|triangle,
//! surrogate_param=…, seed=0, threads=0, fake_quant=auto|off)`: surrogate-gradient
//! training of every weight and bias on the training set (`--train-input`,
//! `--train-labels`).
//!
//! Needs: a verified graph with one Input and one Output, training data in
//! [`PassContext::train`]. Establishes: weights and biases trained by BPTT
//! ([`crate::train`]); masks hold — every weight that was exactly zero (pruned) and the
//! bias of every removed channel stay zero; a layer whose weights lie on a quantization
//! grid (tensor-wide or per output channel, [`crate::train::grid`]) is trained with
//! straight-through fake quantization and ends on the same grid; neuron parameters,
//! shapes and structure unchanged. Deterministic for a given seed and thread count.

use super::args::Args;
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
        })
    }
}

/// Fake quantization for every weight that lies on a grid, tensor-wide or per row.
fn quantization_constraints(net: &Net, constraints: &mut [Constraint], report: &mut PassReport) {
    for (i, p) in net.params.iter().enumerate() {
        if p.is_bias {
            continue;
        }
        let nir = p.to_nir(&net.values[i]);
        let rows = p.nir_shape.dims()[0].max(1);
        let per_row = nir.len() / rows;
        // Tensor-wide, else per row; rows whose grid cannot be seen (one level) stay fixed
        // when at least half of the rows show one.
        let grids: Vec<Option<AffineGrid>> = match AffineGrid::infer(&nir) {
            Some(g) => vec![Some(g); rows],
            None => nir.chunks(per_row.max(1)).map(AffineGrid::infer).collect(),
        };
        let found = grids.iter().filter(|g| g.is_some()).count();
        if found == 0 || 2 * found < rows {
            continue;
        }
        let levels = grids.iter().flatten().map(|g| g.levels).fold(0.0, f64::max);
        let fixed = rows - found;
        report.line(format!(
            "{}: on a grid of {} levels, trained with fake quantization{}",
            p.name,
            levels + 1.0,
            if fixed > 0 { format!(" ({fixed} rows with one level kept as they are)") } else { String::new() }
        ));
        // Row of each internal index.
        let row_of: Vec<u32> = match &p.nir_index {
            Some(idx) => idx.iter().map(|&j| j / per_row as u32).collect(),
            None => (0..nir.len()).map(|j| (j / per_row) as u32).collect(),
        };
        if fixed > 0 {
            let frozen = constraints[i].frozen.get_or_insert_with(|| vec![false; nir.len()]);
            for (f, &r) in frozen.iter_mut().zip(&row_of) {
                *f |= grids[r as usize].is_none();
            }
        }
        constraints[i].projection = Some(Box::new(move |master: &[f64], out: &mut [f64]| {
            for ((o, &m), &r) in out.iter_mut().zip(master).zip(&row_of) {
                *o = grids[r as usize].map_or(m, |g| g.project(m));
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
        if self.fake_quant {
            quantization_constraints(&net, &mut constraints, &mut report);
        }
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
