//! `spikeforge grad MODEL --input X --labels Y -o G.npz`: the loss and its surrogate
//! gradient with respect to every weight and bias (BPTT, [`spikeforge_compiler::train`]).

use std::ops::Range;
use std::path::PathBuf;

use anyhow::Result;
use spikeforge_driver::grad::{grad_model, write_grad_npz, GradSettings, Labels};
use spikeforge_driver::inputs::{parse_range, read_labels, read_samples};
use spikeforge_driver::model;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;
use spikeforge_driver::DriverError;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Input spikes `[N, T, *input_shape]`.
    #[arg(short, long)]
    pub input: PathBuf,
    /// Class labels `[N]`; without it, sample i has label i mod (number of outputs).
    #[arg(short, long)]
    pub labels: Option<PathBuf>,
    /// The .npz to write: `loss` (a scalar) and `<node>.weight` / `<node>.bias`.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Use these samples of --input/--labels only, e.g. 0..16.
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// Surrogate derivative of the spike: atan, fast-sigmoid, sigmoid, triangle.
    #[arg(long, default_value = "atan")]
    pub surrogate: String,
    /// The surrogate's shape parameter (atan alpha 2, slope 25, triangle width 1).
    #[arg(long)]
    pub surrogate_param: Option<f64>,
    /// ce_count (cross-entropy of spike counts), mse_count, ce_membrane.
    #[arg(long, default_value = "ce_count")]
    pub loss: String,
    /// Worker threads (0 = all cores); the sum over samples is regrouped per worker.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    let limits = a.limits.limits();
    let (mut graph, mut verified, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    if a.passes.passes.is_some() {
        let calib = a.passes.calibration(&graph, &verified, Some(&a.input), dynamics, &limits)?;
        a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    }
    let x = read_samples(&a.input, &a.samples, &limits)?;
    let labels = match &a.labels {
        Some(p) => Labels::Given(Box::new(|n, classes| read_labels(p, &a.samples, n, classes, &limits))),
        None => Labels::Cyclic { first_sample: a.samples.as_ref().map_or(0, |r| r.start) },
    };
    let settings = GradSettings {
        surrogate: a.surrogate.clone(),
        surrogate_param: a.surrogate_param,
        loss: a.loss.clone(),
        threads: a.threads,
    };
    let model_name = a.model.display().to_string();
    let input_name = a.input.display().to_string();
    let r = grad_model(&model_name, &graph, &verified, dynamics, &x, &input_name, labels, &settings, &limits)
        .map_err(DriverError::into_anyhow)?;
    write_grad_npz(&a.output, &r).map_err(DriverError::into_anyhow)?;
    println!("samples    {} × {} steps", r.n_samples, r.n_steps);
    println!("loss       {:.12} ({}, surrogate {})", r.loss, r.loss_name, r.surrogate_name);
    for (name, g) in &r.grads {
        let max = g.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        println!("{name:<24} {:?} max |grad| {max:.6e}", g.dims());
    }
    println!("wrote {}", a.output.display());
    Ok(())
}
