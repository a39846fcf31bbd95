//! One configuration: overrides → validated target → compile → simulate → a row.
//!
//! Everything that does not depend on the configuration (the model after passes, the
//! calibration, the input) is prepared once and shared read-only by all threads.
//! **Invariant:** a row depends only on the configuration (no timings, no thread state).

use anyhow::{bail, Result};
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, compile_auto, AutoChipsError, CompileOptions, MapError};
use spikeforge_simulator::{simulate, SimOptions};
use spikeforge_targets::{overrides, Target, TargetError, TargetSpec};

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

/// Runs configuration `config` with `assignment` (`(key, value)` per grid axis). Errors are
/// rows, except a model the mapper can never take (an unsupported node, several inputs):
/// that is the same for every configuration, so the sweep stops with it.
pub fn evaluate(job: &Job<'_>, config: usize, assignment: &[(&str, &str)]) -> Result<Row> {
    let params: Vec<String> = assignment.iter().map(|(_, v)| v.to_string()).collect();
    let mut spec = job.base.clone();
    for (key, value) in assignment {
        if let Err(e) = overrides::apply(&mut spec, key, value) {
            return Ok(empty(config, params, Status::InvalidTarget, e.to_string()));
        }
    }
    let target = match Target::from_spec(spec.clone(), job.target_file) {
        Ok(t) => t,
        Err(e) => return Ok(empty(config, params, Status::InvalidTarget, target_reason(e))),
    };
    let mut row = empty(config, params, Status::Fits, String::new());
    row.cores_available = Some(target.num_cores() as u64);
    row.silicon_cost_bits = Some(silicon_cost_bits(&target));
    let mapped = if job.auto_chips {
        match compile_auto(job.graph, job.verified, &spec, job.target_file, job.dynamics, job.compile, job.limits) {
            Ok((t, map, report, _)) => Ok((t, map, report)),
            Err(AutoChipsError::Map(e)) => Err(e),
            Err(AutoChipsError::Target { source, .. }) => {
                row.status = Status::InvalidTarget;
                row.reason = target_reason(source);
                return Ok(row);
            }
            Err(e @ AutoChipsError::Limit { .. }) => {
                row.status = Status::DoesNotFit;
                row.reason = e.to_string();
                return Ok(row);
            }
        }
    } else {
        let mapped = compile(job.graph, job.verified, &target, job.dynamics, job.compile);
        mapped.map(|(m, r)| (target, m, r))
    };
    let (map, report) = match mapped {
        Ok((on, map, report)) => {
            row.cores_available = Some(on.num_cores() as u64);
            row.silicon_cost_bits = Some(silicon_cost_bits(&on));
            (map, report)
        }
        Err(
            e @ (MapError::InputCount { .. }
            | MapError::OutputCount { .. }
            | MapError::Unsupported { .. }
            | MapError::Calibration { .. }),
        ) => bail!("the model cannot be mapped onto any configuration: {e}"),
        Err(e) => {
            row.status = Status::DoesNotFit;
            row.reason = e.to_string();
            return Ok(row);
        }
    };
    row.cores_used = Some(report.cores_used as u64);
    let r = match simulate(&map, job.input, job.n_samples, job.n_steps, job.sim) {
        Ok(r) => r,
        Err(e) => {
            row.status = Status::SimFailed;
            row.reason = e.to_string();
            return Ok(row);
        }
    };
    let s = &r.stats;
    row.sops_weight_layers_per_sample = Some(s.sops_weight_layers_per_sample);
    row.energy_pj_per_sample = s.energy_pj_per_sample;
    row.energy_unavailable = s.energy_pj.unavailable.join(";");
    row.latency_us_per_step = Some(s.latency_us_per_step_mean);
    row.cycles_per_step = Some(s.cycles_per_step_mean);
    row.max_link_utilisation = Some(s.max_link_utilisation);
    Ok(row)
}
