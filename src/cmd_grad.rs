//! `spikeforge grad MODEL --input X --labels Y -o G.npz`: the loss and its surrogate
//! gradient with respect to every weight and bias (BPTT, [`spikeforge_compiler::train`]).

use std::ops::Range;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::exec::Executor;
use spikeforge_compiler::ir::Tensor;
use spikeforge_compiler::npz::write_npz;
use spikeforge_compiler::train::{gradients, Loss, Net, Surrogate};

use spikeforge_driver::inputs::{parse_range, read_labels, read_samples};
use spikeforge_driver::model;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;

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
    let Some(surrogate) = Surrogate::from_name(&a.surrogate, a.surrogate_param) else {
        bail!("--surrogate {}: use one of {}", a.surrogate, Surrogate::NAMES.join(", "));
    };
    let Some(loss) = Loss::from_name(&a.loss) else {
        bail!("--loss {}: use one of {}", a.loss, Loss::NAMES.join(", "));
    };
    if a.surrogate_param.is_some_and(|p| !(p > 0.0 && p.is_finite())) {
        bail!("--surrogate-param must be a positive number");
    }
    let (mut graph, mut verified, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    if a.passes.passes.is_some() {
        let calib = a.passes.calibration(&graph, &verified, Some(&a.input), dynamics, &limits)?;
        a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    }
    let exec = Executor::new(&graph, &verified, dynamics, &limits).with_context(|| a.model.display().to_string())?;
    let x = read_samples(&a.input, &a.samples, &limits)?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| a.input.display().to_string())?;
    if n == 0 || t == 0 {
        bail!("{}: input has no samples or no time steps (shape {:?})", a.input.display(), x.shape);
    }
    let labels = match &a.labels {
        Some(p) => read_labels(p, &a.samples, n, exec.output_len(), &limits)?,
        None => {
            let first = a.samples.as_ref().map_or(0, |r| r.start);
            (first..first + n).map(|i| i % exec.output_len()).collect()
        }
    };
    let net = Net::new(&graph, &verified, &dynamics, &limits).with_context(|| a.model.display().to_string())?;
    let threads = if a.threads == 0 { rayon::current_num_threads() } else { a.threads };
    limits.check_elements("the gradient tape of all workers", &[threads, t, net.tape_len + net.output_len])?;
    let (loss_value, grads) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")?
        .install(|| gradients(&net, surrogate, loss, &x.data, &labels, t, threads))?;
    let loss_tensor = Tensor::scalar(loss_value);
    let mut entries: Vec<(String, &Tensor)> = vec![("loss".into(), &loss_tensor)];
    entries.extend(grads.iter().map(|(k, v)| (k.clone(), v)));
    write_npz(&a.output, &entries)?;
    println!("samples    {n} × {t} steps");
    println!("loss       {loss_value:.12} ({loss}, surrogate {surrogate})");
    for (name, g) in &grads {
        let max = g.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        println!("{name:<24} {:?} max |grad| {max:.6e}", g.dims());
    }
    println!("wrote {}", a.output.display());
    Ok(())
}
