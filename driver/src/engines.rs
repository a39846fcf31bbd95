//! The engines a bundle runs on: the reference executor, and compile + the chip simulator
//! in exact or hardware mode. Each returns its output, spikes per layer and a stats JSON
//! whose keys follow `run --stats` / `simulate --stats`, plus `spikes` (layer → total
//! spikes) and `total_output_spikes` for every engine.
//!
//! Invariant: every engine sees the same model (passes applied once) and the same input.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::exec::{fixed::run_fixed, Dynamics, Executor};
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions, PlacementMethod};
use spikeforge_simulator::{simulate, NumericMode, SimOptions};
use spikeforge_targets::{CoreMap, Target};

use crate::inputs::read_samples;
use crate::model;
use crate::pipeline::{prepare_mapping, PassArgs};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The f64 reference executor.
    Reference,
    /// Compile to the bundle's target, simulate in exact (f64) mode.
    SimExact,
    /// Compile to the bundle's target, simulate in the target's fixed point.
    SimHardware,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Reference => "reference",
            Engine::SimExact => "sim-exact",
            Engine::SimHardware => "sim-hardware",
        }
    }
    pub fn parse(s: &str) -> Result<Engine, String> {
        [Engine::Reference, Engine::SimExact, Engine::SimHardware]
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown engine `{s}` (use reference, sim-exact or sim-hardware)"))
    }
}

/// A model ready to run: passes applied, input read and checked against it.
pub struct Prepared {
    pub graph: Graph,
    pub verified: Verified,
    pub dynamics: Dynamics,
    pub limits: Limits,
    pub input: NdArray<f64>,
    pub n: usize,
    pub t: usize,
    /// The layer that drives the Output node (its spikes are the output array).
    pub output_layer: String,
    /// The model file, recorded in core maps.
    pub model_name: String,
}

/// What one engine produced.
pub struct EngineRun {
    /// `[N, T, output_len]`.
    pub output: Vec<f64>,
    pub output_len: usize,
    /// `[N, T, layer_names.len()]`.
    pub layer_spikes: Vec<i64>,
    pub layer_names: Vec<String>,
    pub stats: Value,
}

/// Loads the model, applies `passes` (calibrated on `calib`, else the input) and reads the
/// input.
pub fn prepare(
    model_path: &Path,
    input_path: &Path,
    passes: Option<&str>,
    calib: Option<&Path>,
    dynamics: Dynamics,
    limits: Limits,
    log: &mut dyn FnMut(&str),
) -> Result<Prepared> {
    let (mut graph, mut verified, _) = model::load(model_path, &limits)?;
    if let Some(p) = passes {
        let args = PassArgs {
            passes: Some(p.to_string()),
            calib: calib.map(Path::to_path_buf),
            calib_samples: None,
            ..Default::default()
        };
        let c = args.calibration(&graph, &verified, Some(input_path), dynamics, &limits)?;
        args.apply(&mut graph, &mut verified, c.as_ref(), dynamics, &limits, log)?;
    }
    let exec =
        Executor::new(&graph, &verified, dynamics, &limits).with_context(|| format!("{}", model_path.display()))?;
    let input = read_samples(input_path, &None, &limits)?;
    let (n, t) = exec.check_input(&input.shape).with_context(|| format!("{}", input_path.display()))?;
    if n == 0 || t == 0 {
        bail!("{}: input has no samples or no time steps (shape {:?})", input_path.display(), input.shape);
    }
    let output_layer = match graph.output_nodes().first() {
        Some(&out) => match graph.inputs(out).as_slice() {
            [one] => graph.name(*one).to_string(),
            _ => graph.name(out).to_string(),
        },
        None => "output".to_string(),
    };
    let model_name = model_path.display().to_string();
    Ok(Prepared { graph, verified, dynamics, limits, input, n, t, output_layer, model_name })
}

fn spikes_map(names: &[String], per_layer: &[u64]) -> Value {
    Value::Object(names.iter().zip(per_layer).map(|(n, &s)| (n.clone(), json!(s))).collect::<Map<_, _>>())
}

fn totals(layer_spikes: &[i64], n_layers: usize) -> Vec<u64> {
    let mut t = vec![0u64; n_layers];
    for (i, &v) in layer_spikes.iter().enumerate() {
        t[i % n_layers.max(1)] += v.max(0) as u64;
    }
    t
}

pub fn run_reference(p: &Prepared) -> Result<EngineRun> {
    let exec = Executor::new(&p.graph, &p.verified, p.dynamics, &p.limits)?;
    let r = exec.run(&p.input.data, p.n, p.t, 0);
    let per_sample = |v: u64| v as f64 / p.n as f64;
    let per_layer = totals(&r.layer_spikes, r.spiking_layers.len());
    let stats = json!({
        "n_samples": p.n,
        "n_steps": p.t,
        "spiking_layers": r.spiking_layers,
        "spikes_per_layer": per_layer,
        "spikes": spikes_map(&r.spiking_layers, &per_layer),
        "total_output_spikes": r.output.iter().filter(|&&v| v != 0.0).count(),
        "sops_weight_layers_per_sample": per_sample(r.sops_weight_layers()),
        "sops_pooling_per_sample": per_sample(r.sops_pooling()),
        "neuron_updates": r.neuron_updates(),
        "activation_sparsity": r.activation_sparsity(),
    });
    Ok(EngineRun {
        output: r.output,
        output_len: r.output_len,
        layer_spikes: r.layer_spikes,
        layer_names: r.spiking_layers,
        stats,
    })
}

/// Compiles onto `target` (optimized placement with `seed`, no calibration), writes and
/// re-reads the core map's bytes as `compile` + `simulate` would, and simulates.
pub fn run_simulator(p: &Prepared, target: &Target, seed: u64, mode: NumericMode) -> Result<EngineRun> {
    let opts = CompileOptions {
        placement: PlacementMethod::Optimized { seed },
        calibration: None,
        seed,
        model: p.model_name.clone(),
    };
    prepare_mapping(&p.graph, &p.verified, &p.model_name, None, p.dynamics, &p.limits)?;
    let (map, _) = compile(&p.graph, &p.verified, target, p.dynamics, &opts)
        .with_context(|| format!("{} does not map onto `{}`", p.model_name, target.name()))?;
    let map = CoreMap::from_bytes(&map.to_bytes(), "compiled map")?;
    let r = simulate(&map, &p.input.data, p.n, p.t, &SimOptions { mode, ..SimOptions::default() })?;
    let layer_spikes: Vec<i64> = r.layer_spikes.iter().map(|&v| v as i64).collect();
    let per_layer = totals(&layer_spikes, r.layer_names.len());
    let mut stats = serde_json::to_value(&r.stats)?;
    if let Value::Object(m) = &mut stats {
        m.insert("spikes_per_layer".into(), json!(per_layer));
        m.insert("spikes".into(), spikes_map(&r.layer_names, &per_layer));
        m.insert("total_output_spikes".into(), json!(r.outputs.iter().filter(|&&v| v != 0.0).count()));
    }
    Ok(EngineRun { output: r.outputs, output_len: r.output_shape[2], layer_spikes, layer_names: r.layer_names, stats })
}

/// The fixed-point reference (no timing): what hardware mode must reproduce.
pub fn run_fixed_reference(p: &Prepared, target: &Target) -> Result<(Vec<f64>, usize, Vec<i64>)> {
    let net = spikeforge_compiler::mapper::lower::lower(&p.graph, &p.verified, &p.dynamics)?;
    let r = run_fixed(&net, &target.spec().numerics, &p.input.data, p.n, p.t);
    Ok((r.output, r.output_len, r.layer_spikes))
}
