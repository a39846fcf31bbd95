//! Running a model on input spikes with the f64 reference executor: the checks, the run and
//! its statistics (the JSON `spikeforge run --stats` writes). Needs a verified [`Model`];
//! establishes a result that front ends write, print or hand to NumPy.

use std::sync::atomic::AtomicBool;

use anyhow::Context;
use serde_json::{json, Value};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::exec::{Dynamics, Executor, RunResult};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;

use crate::error::{check_cancel, DriverError};
use crate::model::{unstable_euler_warnings, Model};

/// A finished run: the executor's result and its statistics.
pub struct RunOutput {
    pub result: RunResult,
    /// The `--stats` JSON: spikes, SOPs (NeuroBench Effective_ACs), sparsity per layer.
    pub stats: Value,
}

impl RunOutput {
    /// Output spikes counted over all samples and steps.
    pub fn output_spikes(&self) -> usize {
        self.result.output.iter().filter(|&&v| v != 0.0).count()
    }

    /// The one-line summary the CLI prints.
    pub fn summary_line(&self) -> String {
        let r = &self.result;
        let n = r.n_samples;
        format!(
            "ran {n} samples × {} steps in {:.4} s: {} output spikes, {:.1} SOPs/sample ({:.3e} SOP/s incl. pooling)",
            r.n_steps,
            r.execute_seconds,
            self.output_spikes(),
            r.sops_weight_layers() as f64 / n as f64,
            (r.sops_weight_layers() + r.sops_pooling()) as f64 / r.execute_seconds.max(1e-12)
        )
    }
}

/// Warnings (without the `warning: ` prefix) about running `graph` with `dynamics`: neurons
/// that can never spike, and unstable forward Euler steps.
pub fn run_warnings(graph: &Graph, dynamics: &Dynamics) -> Vec<String> {
    let mut w = spikeforge_compiler::exec::advice::silence_warnings(graph, dynamics);
    w.extend(unstable_euler_warnings(graph, dynamics.dt));
    w
}

/// Runs `model` on the input that `read_input` gives (read only after the model's executor
/// is built, so a bad model is reported before a bad input); `input_name` names the input in
/// messages. `threads` 0 means all cores; results do not depend on it.
pub fn run_model(
    model: &Model,
    dynamics: Dynamics,
    limits: &Limits,
    read_input: impl FnOnce() -> anyhow::Result<NdArray<f64>>,
    input_name: &str,
    threads: usize,
    cancel: &AtomicBool,
) -> Result<RunOutput, DriverError> {
    let exec = Executor::new(&model.graph, &model.verified, dynamics, limits)
        .with_context(|| model.name.clone())
        .map_err(|e| DriverError::from(e).at(model.name.as_str()))?;
    let at_input = |e: anyhow::Error| DriverError::from(e).at(input_name);
    let x = read_input().map_err(at_input)?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| input_name.to_string()).map_err(at_input)?;
    if n == 0 || t == 0 {
        let msg = format!("{input_name}: input has no samples or no time steps (shape {:?})", x.shape);
        return Err(DriverError::bad_input(msg).at(input_name));
    }
    exec.check_run_size(n, t, limits).map_err(|e| at_input(e.into()))?;
    check_cancel(cancel)?;
    let result = exec.run(&x.data, n, t, threads);
    check_cancel(cancel)?;
    let stats = run_stats(&model.name, &result, dynamics);
    Ok(RunOutput { result, stats })
}

/// The statistics JSON of a run.
pub fn run_stats(model_name: &str, r: &RunResult, dynamics: Dynamics) -> Value {
    let n = r.n_samples;
    let per_sample = |v: u64| v as f64 / n as f64;
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
    json!({
        "model": model_name,
        "n_samples": n,
        "n_steps": r.n_steps,
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
    })
}
