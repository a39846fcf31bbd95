//! Accuracy and cost of a model before and after a pass pipeline, and optionally in a
//! target's fixed-point numerics: what `spikeforge eval` prints and Python's `Model.eval`
//! returns. Needs a verified [`Model`], inputs and labels checked here against it;
//! establishes an [`Evaluation`] (figures, the printed lines, the `--json` object) and the
//! model after the passes.

use std::sync::atomic::AtomicBool;

use anyhow::Context;
use serde_json::{json, Value};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::exec::{Dynamics, Executor, RunResult};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::passes::{Calibration, TrainingData};
use spikeforge_targets::Target;

use crate::error::{check_cancel, DriverError};
use crate::inputs::{accuracy, labels_from, predictions};
use crate::model::Model;
use crate::pipeline::PassArgs;

/// Weights of a model: how many are stored, how many are nonzero, and the bits the nonzero
/// ones take (32 per weight of an unquantized layer, else its `bits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightCounts {
    pub stored: usize,
    pub nonzero: usize,
    pub nonzero_bits: u64,
}

impl WeightCounts {
    /// Counts `graph`'s weights; `bits` are the passes' `(layer, bits)` (the last one of a
    /// layer wins).
    pub fn of(graph: &Graph, bits: &[(String, u32)]) -> WeightCounts {
        let mut c = WeightCounts { stored: 0, nonzero: 0, nonzero_bits: 0 };
        for n in graph.node_ids() {
            if let Some(w) = graph.op(n).weight() {
                let b = bits.iter().rev().find(|(name, _)| name == graph.name(n)).map_or(32, |(_, b)| *b);
                c.stored += w.numel();
                c.nonzero += w.nnz();
                c.nonzero_bits += w.nnz() as u64 * u64::from(b);
            }
        }
        c
    }

    /// Connection sparsity against `original`: weights that are zero or were deleted (by
    /// `cleanup`) ÷ the original model's weights, so that shrinking a model does not hide
    /// its pruning.
    pub fn sparsity_against(&self, original: &WeightCounts) -> f64 {
        if original.stored == 0 {
            0.0
        } else {
            1.0 - self.nonzero as f64 / original.stored as f64
        }
    }
}

/// The model run in a target's fixed-point numerics (hardware mode, without timing).
#[derive(Clone, Debug, PartialEq)]
pub struct HardwareEval {
    pub target: String,
    pub accuracy: f64,
    /// Output values that differ from the f64 run after the passes, as a fraction.
    pub output_mismatch_vs_f64: f64,
    pub saturated_values: u64,
}

/// Figures of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub n_samples: usize,
    pub n_steps: usize,
    pub accuracy: f64,
    pub accuracy_before: f64,
    /// Output values that the passes changed, as a fraction.
    pub output_mismatch: f64,
    pub sops_per_sample: f64,
    pub sops_per_sample_before: f64,
    pub original: WeightCounts,
    pub after: WeightCounts,
    pub hardware: Option<HardwareEval>,
}

impl Evaluation {
    /// What `spikeforge eval` prints, a line each.
    pub fn lines(&self) -> Vec<String> {
        let (o, a) = (&self.original, &self.after);
        let mut lines = vec![
            format!("samples                        {} × {} steps", self.n_samples, self.n_steps),
            format!("accuracy                       {:.4} (before passes {:.4})", self.accuracy, self.accuracy_before),
            format!("output spike mismatch          {:.6}", self.output_mismatch),
            format!(
                "SOPs per sample                {:.1} (before {:.1})",
                self.sops_per_sample, self.sops_per_sample_before
            ),
            format!(
                "connection sparsity            {:.4} (before {:.4}; zero or deleted weights of the original {})",
                a.sparsity_against(o),
                o.sparsity_against(o),
                o.stored
            ),
            format!(
                "weight memory                  {} bits in {} nonzero weights (before {} bits in {})",
                a.nonzero_bits, a.nonzero, o.nonzero_bits, o.nonzero
            ),
        ];
        if let Some(h) = &self.hardware {
            lines.push(format!(
                "hardware numerics              {}: accuracy {:.4}, output mismatch vs f64 {:.6}, {} values clamped",
                h.target, h.accuracy, h.output_mismatch_vs_f64, h.saturated_values
            ));
        }
        lines
    }

    /// The `--json` object; `model` and `passes` say what was evaluated.
    pub fn json(&self, model: &str, passes: Option<&str>) -> Value {
        let (o, a) = (&self.original, &self.after);
        json!({
            "model": model,
            "passes": passes,
            "n_samples": self.n_samples,
            "n_steps": self.n_steps,
            "accuracy": self.accuracy,
            "accuracy_before": self.accuracy_before,
            "output_mismatch_fraction": self.output_mismatch,
            "sops_weight_layers_per_sample": self.sops_per_sample,
            "sops_weight_layers_per_sample_before": self.sops_per_sample_before,
            "connection_sparsity": a.sparsity_against(o),
            "connection_sparsity_before": o.sparsity_against(o),
            "weights_original": o.stored,
            "weights_stored": a.stored,
            "weights_nonzero": a.nonzero,
            "weight_bits_total": a.nonzero_bits,
            "weight_bits_total_before": o.nonzero_bits,
            "hardware": self.hardware.as_ref().map(|h| json!({
                "target": h.target,
                "accuracy": h.accuracy,
                "output_mismatch_fraction_vs_f64": h.output_mismatch_vs_f64,
                "saturated_values": h.saturated_values,
            })),
        })
    }
}

/// What an evaluation runs besides the model.
pub struct EvalRequest<'a> {
    /// Input spikes `[N, T, *input_shape]`; `input_name` names them in messages.
    pub x: NdArray<f64>,
    pub input_name: &'a str,
    /// Class labels `[N]`; `labels_name` names them in messages.
    pub labels: NdArray<f64>,
    pub labels_name: &'a str,
    /// The pipeline (`passes.passes` None: no passes, the figures after equal those before).
    pub passes: &'a PassArgs,
    /// Calibration for the passes; None with passes that calibrate: `x` calibrates.
    pub calib: Option<Calibration>,
    pub train: Option<TrainingData>,
    /// Also run in this target's numerics; `finetune` then trains on its weight grid.
    pub target: Option<&'a Target>,
    /// Worker threads over samples (0 = all cores); results do not depend on it.
    pub threads: usize,
}

/// Evaluates `model` before and after `request.passes`; returns the figures and the model
/// after the passes (None without passes: `model` itself). `log` receives what each pass did (`PASS: LINE`); `phase` is called
/// with what starts running (for a spinner) and with None when it ends; `cancel` stops
/// between phases.
pub fn evaluate(
    model: &Model,
    request: EvalRequest<'_>,
    dynamics: Dynamics,
    limits: &Limits,
    log: &mut dyn FnMut(&str),
    phase: &mut dyn FnMut(Option<String>),
    cancel: &AtomicBool,
) -> Result<(Evaluation, Option<Model>), DriverError> {
    let EvalRequest { x, input_name, labels, labels_name, passes, calib, train, target, threads } = request;
    let at_model = |e: anyhow::Error| DriverError::from(e).at(model.name.as_str());
    let at_input = |e: anyhow::Error| DriverError::from(e).at(input_name);
    let exec = Executor::new(&model.graph, &model.verified, dynamics, limits).map_err(|e| at_model(e.into()))?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| input_name.to_string()).map_err(at_input)?;
    exec.check_run_size(n, t, limits).map_err(|e| at_input(e.into()))?;
    let labels =
        labels_from(labels, labels_name, n, exec.output_len()).map_err(|e| DriverError::from(e).at(labels_name))?;
    let before = during(phase, format!("running {n} samples before the passes"), || exec.run(&x.data, n, t, threads));
    check_cancel(cancel)?;
    let accuracy_before = accuracy(&predictions(&before.output, n, t, before.output_len), &labels);
    let original = WeightCounts::of(&model.graph, &[]);

    let mut bits = Vec::new();
    let (after_model, after_run): (Option<Model>, Option<RunResult>) = if passes.passes.is_some() {
        let calib = match calib {
            Some(c) => Some(c),
            None if passes.calibrates() => Some(Calibration { data: x.data.clone(), n_samples: n, n_steps: t }),
            None => None,
        };
        let mut passes = passes.clone();
        passes.target_numerics = target.map(|t| t.spec().numerics.clone());
        let mut m = model.clone();
        let reports = passes
            .apply_with(&mut m.graph, &mut m.verified, calib.as_ref(), train.as_ref(), dynamics, limits, log)
            .map_err(DriverError::from)?;
        bits.extend(reports.into_iter().flat_map(|r| r.weight_bits));
        check_cancel(cancel)?;
        let exec = Executor::new(&m.graph, &m.verified, dynamics, limits).map_err(|e| at_model(e.into()))?;
        let run = during(phase, format!("running {n} samples after the passes"), || exec.run(&x.data, n, t, threads));
        (Some(m), Some(run))
    } else {
        (None, None)
    };
    let after = after_run.as_ref().unwrap_or(&before);
    let evaluated = after_model.as_ref().unwrap_or(model);
    check_cancel(cancel)?;
    let hardware = match target {
        Some(target) => {
            let net = spikeforge_compiler::mapper::lower::lower(&evaluated.graph, &evaluated.verified, &dynamics)
                .map_err(|e| at_model(e.into()))?;
            let r = during(phase, format!("running {n} samples in `{}` numerics", target.name()), || {
                spikeforge_compiler::exec::fixed::run_fixed(&net, &target.spec().numerics, &x.data, n, t)
            });
            Some(HardwareEval {
                target: target.name().to_string(),
                accuracy: accuracy(&predictions(&r.output, n, t, r.output_len), &labels),
                output_mismatch_vs_f64: mismatch(&r.output, &after.output),
                saturated_values: r.saturated,
            })
        }
        None => None,
    };
    let evaluation = Evaluation {
        n_samples: n,
        n_steps: t,
        accuracy: accuracy(&predictions(&after.output, n, t, after.output_len), &labels),
        accuracy_before,
        output_mismatch: mismatch(&before.output, &after.output),
        sops_per_sample: after.sops_weight_layers() as f64 / n as f64,
        sops_per_sample_before: before.sops_weight_layers() as f64 / n as f64,
        original,
        after: WeightCounts::of(&evaluated.graph, &bits),
        hardware,
    };
    Ok((evaluation, after_model))
}

/// The fraction of output values that differ.
fn mismatch(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).filter(|(p, q)| p != q).count() as f64 / a.len().max(1) as f64
}

fn during<T>(phase: &mut dyn FnMut(Option<String>), what: String, work: impl FnOnce() -> T) -> T {
    phase(Some(what));
    let out = work();
    phase(None);
    out
}
