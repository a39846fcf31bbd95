//! One configuration: overrides → validated target → compile → simulate → a row.
//!
//! Everything that does not depend on the configuration (the model after passes, the
//! calibration, the input) is prepared once and shared read-only by all threads.
//! **Invariant:** a row depends only on the configuration (no timings, no thread state).

use anyhow::{bail, Result};
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, compile_auto, AutoChipsError, CompileOptions, MapError, MapReport};
use spikeforge_simulator::{simulate, SimOptions, SimResult};
use spikeforge_targets::{overrides, CoreMap, Target, TargetError, TargetSpec};

use super::table::{Row, Status};

/// What every configuration shares.
pub struct Job<'a> {
    pub base: &'a TargetSpec,
    /// Names the target in validation messages.
    pub target_file: &'a str,
    pub graph: &'a Graph,
    pub verified: &'a Verified,
    pub dynamics: Dynamics,
    pub compile: &'a CompileOptions,
    pub sim: &'a SimOptions,
    /// `[N, T, n_in]` in C order.
    pub input: &'a [f64],
    pub n_samples: usize,
    pub n_steps: usize,
    /// `--chips auto`: each configuration on the smallest grid it fits.
    pub auto_chips: bool,
    pub limits: &'a Limits,
}

/// Silicon cost: Σ over the target's cores of synapse memory bits plus neuron state memory
/// (`max_neurons × neuron_state_bits`). Routing tables are not counted (targets give their
/// entries, not their widths).
pub fn silicon_cost_bits(t: &Target) -> u64 {
    t.total_synapse_memory_bits().saturating_add(t.total_neuron_memory_bits())
}

fn empty(config: usize, params: Vec<String>, status: Status, reason: String) -> Row {
    Row {
        config,
        params,
        status,
        reason,
        cores_available: None,
        cores_used: None,
        silicon_cost_bits: None,
        sops_weight_layers_per_sample: None,
        energy_pj_per_sample: None,
        energy_unavailable: String::new(),
        latency_us_per_step: None,
        cycles_per_step: None,
        max_link_utilisation: None,
        pareto: false,
    }
}

/// A target that breaks its rules, as a row's reason.
fn target_reason(e: TargetError) -> String {
    match e {
        TargetError::Invalid { problems, .. } => problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "),
        e => e.to_string(),
    }
}

/// What mapping and simulating one target gave: the status and reason, the target it was
/// tried on (with `--chips auto`, the grid it mapped onto), and, as far as it got, the core
/// map with its mapping report and the simulation.
pub struct Attempt {
    pub status: Status,
    /// Why it does not fit (the mapper's or the validator's message); empty when it fits.
    pub reason: String,
    pub target: Option<Target>,
    pub mapped: Option<(CoreMap, MapReport)>,
    pub result: Option<SimResult>,
}

impl Attempt {
    fn failed(status: Status, reason: String, target: Option<Target>) -> Attempt {
        Attempt { status, reason, target, mapped: None, result: None }
    }
}

/// Validates `spec`, compiles the model onto it (onto its smallest grid with
/// `job.auto_chips`) and simulates the input. A target that breaks its rules, a model that
/// does not fit and a failed simulation are attempts with that status; a model the mapper
/// can never take (an unsupported node, several inputs) is an error, since no target would
/// take it either.
pub fn map_and_simulate(job: &Job<'_>, spec: TargetSpec) -> Result<Attempt> {
    let target = match Target::from_spec(spec.clone(), job.target_file) {
        Ok(t) => t,
        Err(e) => return Ok(Attempt::failed(Status::InvalidTarget, target_reason(e), None)),
    };
    let mapped = if job.auto_chips {
        match compile_auto(job.graph, job.verified, &spec, job.target_file, job.dynamics, job.compile, job.limits) {
            Ok((t, map, report, _)) => Ok((t, map, report)),
            Err(AutoChipsError::Map(e)) => Err(e),
            Err(AutoChipsError::Target { source, .. }) => {
                return Ok(Attempt::failed(Status::InvalidTarget, target_reason(source), Some(target)));
            }
            Err(e @ AutoChipsError::Limit { .. }) => {
                return Ok(Attempt::failed(Status::DoesNotFit, e.to_string(), Some(target)));
            }
        }
    } else {
        let mapped = compile(job.graph, job.verified, &target, job.dynamics, job.compile);
        mapped.map(|(m, r)| (target.clone(), m, r))
    };
    let (on, map, report) = match mapped {
        Ok(m) => m,
        Err(
            e @ (MapError::InputCount { .. }
            | MapError::OutputCount { .. }
            | MapError::Unsupported { .. }
            | MapError::Calibration { .. }),
        ) => bail!("the model cannot be mapped onto any configuration: {e}"),
        Err(e) => return Ok(Attempt::failed(Status::DoesNotFit, e.to_string(), Some(target))),
    };
    let (status, reason, result) = match simulate(&map, job.input, job.n_samples, job.n_steps, job.sim) {
        Ok(r) => (Status::Fits, String::new(), Some(r)),
        Err(e) => (Status::SimFailed, e.to_string(), None),
    };
    Ok(Attempt { status, reason, target: Some(on), mapped: Some((map, report)), result })
}

/// Runs configuration `config` with `assignment` (`(key, value)` per grid axis). Errors are
/// rows, except a model the mapper can never take: that is the same for every
/// configuration, so the sweep stops with it.
pub fn evaluate(job: &Job<'_>, config: usize, assignment: &[(&str, &str)]) -> Result<Row> {
    let params: Vec<String> = assignment.iter().map(|(_, v)| v.to_string()).collect();
    let mut spec = job.base.clone();
    for (key, value) in assignment {
        if let Err(e) = overrides::apply(&mut spec, key, value) {
            return Ok(empty(config, params, Status::InvalidTarget, e.to_string()));
        }
    }
    let a = map_and_simulate(job, spec)?;
    let mut row = empty(config, params, a.status, a.reason);
    if let Some(on) = &a.target {
        row.cores_available = Some(on.num_cores() as u64);
        row.silicon_cost_bits = Some(silicon_cost_bits(on));
    }
    if let Some((_, report)) = &a.mapped {
        row.cores_used = Some(report.cores_used as u64);
    }
    if let Some(r) = &a.result {
        let s = &r.stats;
        row.sops_weight_layers_per_sample = Some(s.sops_weight_layers_per_sample);
        row.energy_pj_per_sample = s.energy_pj_per_sample;
        row.energy_unavailable = s.energy_pj.unavailable.join(";");
        row.latency_us_per_step = Some(s.latency_us_per_step_mean);
        row.cycles_per_step = Some(s.cycles_per_step_mean);
        row.max_link_utilisation = Some(s.max_link_utilisation);
    }
    Ok(row)
}
