//! `spikeforge run MODEL --input X.npy --output Y.npy`: the reference executor.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::json;
use spikeforge_compiler::arrays::write_npy;
use spikeforge_compiler::exec::Executor;

use crate::model;
use crate::options::{DynamicsArgs, LimitArgs};
use crate::pipeline::PassArgs;

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

pub fn run(a: Args) -> Result<()> {
    crate::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("input", Some(&a.input)), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output)), ("--layers", a.layers.as_deref()), ("--stats", a.stats.as_deref())],
    )?;
    let limits = a.limits.limits();
    let (mut graph, mut verified, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    for w in spikeforge_compiler::exec::advice::silence_warnings(&graph, &dynamics) {
        eprintln!("warning: {w}");
    }
    model::warn_unstable_euler(&graph, dynamics.dt);
    if a.passes.passes.is_some() {
        let calib = a.passes.calibration(&graph, &verified, Some(&a.input), dynamics, &limits)?;
        a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits)?;
    }
    let exec = Executor::new(&graph, &verified, dynamics, &limits).with_context(|| format!("{}", a.model.display()))?;
    let x = crate::inputs::read_samples(&a.input, &None, &limits)?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| format!("{}", a.input.display()))?;
    if n == 0 || t == 0 {
        bail!("{}: input has no samples or no time steps (shape {:?})", a.input.display(), x.shape);
    }
    exec.check_run_size(n, t, &limits)?;
    let r = exec.run(&x.data, n, t, a.threads);
    let out_shape = [n, t, r.output_len];
    crate::inputs::write_outputs(&a.output, &out_shape, &r.output)?;
    if let Some(p) = &a.layers {
        write_npy(p, &[n, t, r.spiking_layers.len()], &r.layer_spikes)?;
    }
    let per_sample = |v: u64| v as f64 / n as f64;
    if let Some(p) = &a.stats {
        let layers: Vec<_> = r
            .nodes
            .iter()
            .map(|s| {
                json!({"node": s.name, "op": s.kind.name(), "outputs": s.n_outputs,
                       "spikes": s.spikes, "sops_per_sample": per_sample(s.sops)})
            })
            .collect();
        let spikes: Vec<u64> =
            r.spiking_layers.iter().map(|l| r.nodes.iter().find(|s| &s.name == l).map_or(0, |s| s.spikes)).collect();
        let stats = json!({
            "model": a.model.display().to_string(),
            "n_samples": n,
            "n_steps": t,
            "dt": dynamics.dt,
            "reset": dynamics.reset.name(),
            "spike_test": dynamics.spike_test.name(),
            "spiking_layers": r.spiking_layers,
            "spikes_per_layer": spikes,
            "total_output_spikes": r.output.iter().filter(|&&v| v != 0.0).count(),
            "sops_weight_layers_per_sample": per_sample(r.sops_weight_layers()),
            "sops_pooling_per_sample": per_sample(r.sops_pooling()),
            "sops_convention": "NeuroBench Effective_ACs: each nonzero input counts once per nonzero weight it reaches, borders exact",
            "neuron_updates": r.neuron_updates(),
            "activation_sparsity": r.activation_sparsity(),
            "layers": layers,
            "execute_seconds": r.execute_seconds,
        });
        let text = serde_json::to_string_pretty(&stats)? + "\n";
        spikeforge_compiler::atomic::write_atomically(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!(
        "ran {n} samples × {t} steps in {:.4} s: {} output spikes, {:.1} SOPs/sample ({:.3e} SOP/s incl. pooling)",
        r.execute_seconds,
        r.output.iter().filter(|&&v| v != 0.0).count(),
        per_sample(r.sops_weight_layers()),
        (r.sops_weight_layers() + r.sops_pooling()) as f64 / r.execute_seconds.max(1e-12)
    );
    Ok(())
}
