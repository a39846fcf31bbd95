//! `spikeforge eval MODEL --input X --labels L [--passes P] [--calib C]`: accuracy and cost
//! before and after a pass pipeline.

use std::ops::Range;
use std::path::PathBuf;

use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use spikeforge_driver::eval::{evaluate, EvalRequest};
use spikeforge_driver::inputs::{parse_range, read_samples};
use spikeforge_driver::model::{self, Model};
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Input spikes `[N, T, *input_shape]`.
    #[arg(short, long)]
    pub input: PathBuf,
    /// Class labels `[N]` (integers); prediction = argmax of output spike counts.
    #[arg(short, long)]
    pub labels: PathBuf,
    /// The pass pipeline to evaluate; calibration defaults to --input.
    #[command(flatten)]
    pub passes: PassArgs,
    /// Evaluate on these samples of --input/--labels only, e.g. 120..360.
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// Also run the model in this target's fixed-point numerics (the chip's hardware mode,
    /// without timing) and report its accuracy and its output mismatch against f64.
    #[arg(long)]
    pub target: Option<String>,
    /// `--chips CxR` and `--set FIELD=VALUE` change the target (only its numerics matter here).
    #[command(flatten)]
    pub chips: spikeforge_driver::options::TargetArgs,
    /// Write the figures as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads over samples (0 = all cores; at most 4 × the cores).
    #[arg(long, default_value_t = 0, value_parser = crate::parse_threads)]
    pub threads: usize,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(mut a: Args) -> Result<()> {
    spikeforge_driver::outputs::check_output_paths(
        &[
            ("model", Some(&a.model)),
            ("--input", Some(&a.input)),
            ("--labels", Some(&a.labels)),
            ("--calib", a.passes.calib.as_deref()),
        ],
        &[("--json", a.json.as_deref())],
    )?;
    if a.target.is_none() && a.chips.changes_target() {
        anyhow::bail!("--chips and --set change the target; give one with --target");
    }
    let limits = a.limits.limits();
    a.passes.quiet = crate::progress::quiet();
    let (graph, verified, _) = model::load(&a.model, &limits)?;
    let model = Model { graph, verified, name: a.model.display().to_string() };
    let dynamics = a.dynamics.resolve(&model.graph);
    for w in model::unstable_euler_warnings(&model.graph, dynamics.dt) {
        eprintln!("warning: {w}");
    }
    let x = read_samples(&a.input, &a.samples, &limits)?;
    let labels = read_samples(&a.labels, &a.samples, &limits)?;
    let target =
        a.target.as_deref().map(|spec| spikeforge_driver::target::load_with(spec, &a.chips, &limits)).transpose()?;
    let (calib, train) = if a.passes.passes.is_some() {
        if let Some(note) = a.passes.calibration_fallback_note(&a.input) {
            eprintln!("{note}");
        }
        let calib = if a.passes.calibrates() {
            a.passes.calibration(&model.graph, &model.verified, Some(&a.input), dynamics, &limits)?
        } else {
            None
        };
        (calib, a.passes.training_data(&model.graph, &model.verified, dynamics, &limits)?)
    } else {
        (None, None)
    };
    let input_name = a.input.display().to_string();
    let labels_name = a.labels.display().to_string();
    let request = EvalRequest {
        x,
        input_name: &input_name,
        labels,
        labels_name: &labels_name,
        passes: &a.passes,
        calib,
        train,
        target: target.as_ref(),
        threads: a.threads,
    };
    let mut spinner: Option<indicatif::ProgressBar> = None;
    let mut phase = |what: Option<String>| match what {
        Some(msg) => spinner = Some(crate::progress::spinner(msg)),
        None => {
            if let Some(s) = spinner.take() {
                s.finish_and_clear()
            }
        }
    };
    let (evaluation, _) =
        evaluate(&model, request, dynamics, &limits, &mut crate::log_stderr, &mut phase, &AtomicBool::new(false))
            .map_err(|e| e.into_anyhow())?;
    for line in evaluation.lines() {
        println!("{line}");
    }
    if let Some(p) = &a.json {
        let j = evaluation.json(&a.model.display().to_string(), a.passes.passes.as_deref());
        spikeforge_compiler::atomic::write_atomically(p, (serde_json::to_string_pretty(&j)? + "\n").as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
