//! `spikeforge run MODEL --input X.npy --output Y.npy`: the reference executor.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use spikeforge_compiler::arrays::write_npy;
use spikeforge_driver::model::{self, Model};
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;
use spikeforge_driver::run::{run_model, run_warnings};

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Input spikes `[N, T, *input_shape]` (.npy; uint8, bool or float).
    #[arg(short, long)]
    pub input: PathBuf,
    /// Output spikes `[N, T, n_out]`, uint8 (float64 if the output node is not spiking).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Spike counts per spiking layer `[N, T, n_layers]`, int64, layers in evaluation order.
    #[arg(long)]
    pub layers: Option<PathBuf>,
    /// Statistics as JSON: spikes, synaptic operations (NeuroBench Effective_ACs), sparsity.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Worker threads over samples (0 = all cores; at most 4 × the cores). Results do not
    /// depend on it.
    #[arg(long, default_value_t = 0, value_parser = crate::parse_threads)]
    pub threads: usize,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(mut a: Args) -> Result<()> {
    a.passes.quiet = crate::progress::quiet();
    spikeforge_driver::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("input", Some(&a.input)), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output)), ("--layers", a.layers.as_deref()), ("--stats", a.stats.as_deref())],
    )?;
    let limits = a.limits.limits();
    let (graph, verified, _) = model::load(&a.model, &limits)?;
    let mut m = Model { graph, verified, name: a.model.display().to_string() };
    let dynamics = a.dynamics.resolve(&m.graph);
    for w in run_warnings(&m.graph, &dynamics) {
        eprintln!("warning: {w}");
    }
    if a.passes.passes.is_some() {
        if let Some(note) = a.passes.calibration_fallback_note(&a.input) {
            eprintln!("{note}");
        }
        let calib = a.passes.calibration(&m.graph, &m.verified, Some(&a.input), dynamics, &limits)?;
        a.passes.apply(&mut m.graph, &mut m.verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    }
    let read_input = || spikeforge_driver::inputs::read_samples(&a.input, &None, &limits);
    let input_name = a.input.display().to_string();
    let out = crate::progress::during(format!("running {}", m.name), || {
        run_model(&m, dynamics, &limits, read_input, &input_name, a.threads, &AtomicBool::new(false))
    })
    .map_err(|e| e.into_anyhow())?;
    let r = &out.result;
    let (n, t) = (r.n_samples, r.n_steps);
    spikeforge_driver::inputs::write_outputs(&a.output, &[n, t, r.output_len], &r.output, &mut crate::log_stderr)?;
    if let Some(p) = &a.layers {
        write_npy(p, &[n, t, r.spiking_layers.len()], &r.layer_spikes)?;
    }
    if let Some(p) = &a.stats {
        let text = serde_json::to_string_pretty(&out.stats)? + "\n";
        spikeforge_compiler::atomic::write_atomically(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!("{}", out.summary_line());
    Ok(())
}
