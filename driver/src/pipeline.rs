//! `--passes`, `--calib`, `--calib-samples`, `--train-input`, `--train-labels`: the pass
//! pipeline every command that takes a model runs before its own work.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::calibration_from_run;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport, TrainingData};

use spikeforge_compiler::arrays::NdArray;

use crate::error::Rendered;
#[cfg(feature = "clap")]
use crate::inputs::parse_range;
use crate::inputs::{labels_from, read_labels, read_samples};

#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct PassArgs {
    /// Pass pipeline run on the model first, e.g. "quantize(bits=4, scheme=gptq,
    /// granularity=channel)" or a named pipeline such as @int8.
    #[cfg_attr(feature = "clap", arg(long))]
    pub passes: Option<String>,
    /// Calibration input `[N, T, *input_shape]` for passes that need activity statistics
    /// (and, for `compile`, spike counts that weight placement).
    #[cfg_attr(feature = "clap", arg(long))]
    pub calib: Option<PathBuf>,
    /// Use these samples of the calibration input only, e.g. 0..120.
    #[cfg_attr(feature = "clap", arg(long, value_parser = parse_range))]
    pub calib_samples: Option<Range<usize>>,
    /// Training input `[N, T, *input_shape]` for passes that train (`finetune`).
    #[cfg_attr(feature = "clap", arg(long, requires = "train_labels"))]
    pub train_input: Option<PathBuf>,
    /// Class labels `[N]` of --train-input.
    #[cfg_attr(feature = "clap", arg(long, requires = "train_input"))]
    pub train_labels: Option<PathBuf>,
    /// The numerics of `--target` on commands that take one: `finetune` trains on its
    /// weight grid.
    #[cfg_attr(feature = "clap", arg(skip))]
    pub target_numerics: Option<spikeforge_targets::Numerics>,
    /// No training progress bar (the CLI's `--quiet`).
    #[cfg_attr(feature = "clap", arg(skip))]
    pub quiet: bool,
}

impl PassArgs {
    /// Whether some pass of the pipeline needs activity statistics (a calibration input).
    pub fn calibrates(&self) -> bool {
        let Some(p) = &self.passes else { return false };
        spikeforge_compiler::passes::build_pipeline(p).is_ok_and(|ps| ps.iter().any(|p| p.needs_calibration()))
    }

    /// The note a command prints when passes that calibrate fall back to its `--input`.
    pub fn calibration_fallback_note(&self, input: &Path) -> Option<String> {
        (self.calib.is_none() && self.calibrates()).then(|| {
            format!(
                "note: the passes calibrate on --input {}{} (give --calib X.npy to calibrate on other samples)",
                input.display(),
                self.calib_samples.as_ref().map_or(String::new(), |r| match r.end {
                    usize::MAX => format!(", samples {}..", r.start),
                    end => format!(", samples {}..{end}", r.start),
                })
            )
        })
    }
    /// Reads the calibration input (`--calib`, else `fallback`), checked against the model.
    pub fn calibration(
        &self,
        graph: &Graph,
        verified: &Verified,
        fallback: Option<&Path>,
        dynamics: Dynamics,
        limits: &Limits,
    ) -> Result<Option<Calibration>> {
        let Some(path) = self.calib.as_deref().or(fallback) else { return Ok(None) };
        let exec = Executor::new(graph, verified, dynamics, limits)?;
        let c = read_samples(path, &self.calib_samples, limits)?;
        calibration_checked(&exec, c, &path.display().to_string(), limits).map(Some)
    }

    /// Reads `--train-input` and `--train-labels`, checked against the model.
    pub fn training_data(
        &self,
        graph: &Graph,
        verified: &Verified,
        dynamics: Dynamics,
        limits: &Limits,
    ) -> Result<Option<TrainingData>> {
        let (Some(xp), Some(yp)) = (&self.train_input, &self.train_labels) else { return Ok(None) };
        let exec = Executor::new(graph, verified, dynamics, limits)?;
        let x = read_samples(xp, &None, limits)?;
        let (n, t) = exec.check_input(&x.shape).with_context(|| xp.display().to_string())?;
        let labels = read_labels(yp, &None, n, exec.output_len(), limits)?;
        Ok(Some(TrainingData { input: x.data, labels, n_steps: t, progress: !self.quiet }))
    }

    /// Runs the pipeline (if any) on `graph` and re-verifies it; hands each line of what a
    /// pass did, as `PASS: LINE`, to `log` (the CLI prints them on stderr).
    pub fn apply(
        &self,
        graph: &mut Graph,
        verified: &mut Verified,
        calib: Option<&Calibration>,
        dynamics: Dynamics,
        limits: &Limits,
        log: &mut dyn FnMut(&str),
    ) -> Result<Vec<PassReport>> {
        if self.passes.is_none() {
            return Ok(Vec::new());
        }
        let train = self.training_data(graph, verified, dynamics, limits)?;
        self.apply_with(graph, verified, calib, train.as_ref(), dynamics, limits, log)
    }

    /// [`PassArgs::apply`] with the training data given (not read from the flags' files).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_with(
        &self,
        graph: &mut Graph,
        verified: &mut Verified,
        calib: Option<&Calibration>,
        train: Option<&TrainingData>,
        dynamics: Dynamics,
        limits: &Limits,
        log: &mut dyn FnMut(&str),
    ) -> Result<Vec<PassReport>> {
        let Some(src) = &self.passes else { return Ok(Vec::new()) };
        let passes = build_pipeline(src).map_err(|e| anyhow::Error::new(Rendered(e.render(src))))?;
        let ctx = PassContext { limits, dynamics, calib, train, target: self.target_numerics.as_ref() };
        let reports = run_pipeline(graph, &passes, &ctx)?;
        for r in &reports {
            for line in &r.lines {
                log(&format!("{}: {line}", r.pass));
            }
        }
        *verified = graph.verify(limits).map_err(|e| anyhow::anyhow!("after --passes: {e:?}"))?;
        Ok(reports)
    }
}

/// A calibration input held in memory (`name` names it in messages), checked against the
/// model.
pub fn calibration_from_array(
    graph: &Graph,
    verified: &Verified,
    c: NdArray<f64>,
    name: &str,
    dynamics: Dynamics,
    limits: &Limits,
) -> Result<Calibration> {
    let exec = Executor::new(graph, verified, dynamics, limits)?;
    calibration_checked(&exec, c, name, limits)
}

fn calibration_checked(exec: &Executor, c: NdArray<f64>, name: &str, limits: &Limits) -> Result<Calibration> {
    let (n, t) = exec.check_input(&c.shape).with_context(|| name.to_string())?;
    exec.check_run_size(n, t, limits).with_context(|| name.to_string())?;
    Ok(Calibration { data: c.data, n_samples: n, n_steps: t })
}

/// Training inputs and labels held in memory (`name` names them in messages), checked
/// against the model; no progress lines.
pub fn training_from_arrays(
    graph: &Graph,
    verified: &Verified,
    x: NdArray<f64>,
    y: NdArray<f64>,
    name: &str,
    dynamics: Dynamics,
    limits: &Limits,
) -> Result<TrainingData> {
    let exec = Executor::new(graph, verified, dynamics, limits)?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| format!("{name} input"))?;
    let labels = labels_from(y, &format!("{name} labels"), n, exec.output_len())?;
    Ok(TrainingData { input: x.data, labels, n_steps: t, progress: false })
}

/// Everything the mapper needs checked first, for every command that compiles: the model's
/// unrolled synapses within the budget (refused before the mapper allocates them), and,
/// with a calibration input, the spike counts of a reference run that weight placement.
pub fn prepare_mapping(
    graph: &Graph,
    verified: &Verified,
    model_name: &str,
    calib: Option<&Calibration>,
    dynamics: Dynamics,
    limits: &Limits,
) -> Result<Option<Vec<u64>>> {
    let synapses = spikeforge_compiler::mapper::lower::synapses_held_unrolled(graph, verified);
    limits.check_synapses(&format!("{model_name}: the model's unrolled synapses outside convolutions"), synapses)?;
    let Some(c) = calib else { return Ok(None) };
    let exec = Executor::new(graph, verified, dynamics, limits)?;
    exec.check_run_size(c.n_samples, c.n_steps, limits)?;
    Ok(Some(calibration_from_run(graph, &exec.run(&c.data, c.n_samples, c.n_steps, 0))))
}
