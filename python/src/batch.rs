//! Many runs at once: `sweep` (a grid of chip configurations, each compiled and simulated)
//! and `regress` (golden bundles on every engine they name). Needs the driver's sweep and
//! regress functions; establishes their rows as lists of dicts (the Python layer turns them
//! into DataFrames), run without the GIL and stopped by Ctrl-C between configurations or
//! bundles.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use spikeforge_compiler::exec::Executor;
use spikeforge_driver::options::{Chips, TargetArgs};
use spikeforge_driver::regress::{check_stat_paths, load_bundles, run_bundles, summary_line, table_text, Outcome};
use spikeforge_driver::sweep::grid::Grid;
use spikeforge_driver::sweep::run::{empty_table, planned_configs, run_configs, SweepPlan};
use spikeforge_driver::sweep::table::Row;
use spikeforge_driver::DriverError;
use spikeforge_targets::Target as DriverTarget;

use crate::convert::{bad, dynamics_args, input_array, limit_args, numeric_arg, placement_arg};
use crate::interruptible;
use crate::maps::Target;
use crate::model::Model;

/// Sweeps `grid` (`[(key, "[v1, v2]")]`, keys as in `spikeforge sweep --grid`) over the base
/// `target` with `model` simulated on `x`; returns `(keys, rows)`.
#[pyfunction]
#[pyo3(signature = (model, target, grid, x, numeric="exact", placement="optimized", seed=0, jobs=None, max_configs=None, force=false, semantics=None, max_memory=None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep<'py>(
    py: Python<'py>,
    model: &Model,
    target: &Target,
    grid: Vec<(String, String)>,
    x: &Bound<'py, PyAny>,
    numeric: &str,
    placement: &str,
    seed: u64,
    jobs: Option<usize>,
    max_configs: Option<usize>,
    force: bool,
    semantics: Option<&str>,
    max_memory: Option<u64>,
) -> PyResult<(Vec<String>, Bound<'py, PyList>)> {
    let limits = limit_args(max_memory).limits();
    let (numeric, placement) = (numeric_arg(numeric)?, placement_arg(placement)?);
    if grid.is_empty() {
        return Err(bad("grid: give at least one axis, e.g. {\"core.max_neurons\": [256, 512]}"));
    }
    let text = grid.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";");
    let input = input_array(x, "x")?;
    let m = model.inner.clone();
    let dynamics = dynamics_args(semantics, None, None, None, None)?.resolve(&m.graph);
    let choice = target.choice();
    let (keys, rows) = interruptible(py, move |cancel| {
        let grid = Grid::parse(&text).map_err(|e| DriverError::from(e).at("grid"))?;
        let t = DriverTarget::from_spec(choice.spec.clone(), &choice.file)
            .map_err(|e| DriverError::bad_input(e.to_string()).at(choice.file.clone()))?;
        grid.check(t.spec()).map_err(|e| DriverError::from(e).at("grid"))?;
        let calibration =
            spikeforge_driver::pipeline::prepare_mapping(&m.graph, &m.verified, &m.name, None, dynamics, &limits)?;
        let exec = Executor::new(&m.graph, &m.verified, dynamics, &limits).map_err(anyhow::Error::from)?;
        let (n_samples, n_steps) =
            exec.check_input(&input.shape).map_err(|e| DriverError::bad_input(format!("x: {e}")).at("x"))?;
        if n_samples == 0 || n_steps == 0 {
            return Err(DriverError::bad_input("x: input has no samples or no time steps").at("x"));
        }
        let plan = SweepPlan {
            graph: &m.graph,
            verified: &m.verified,
            dynamics,
            calibration,
            model_name: m.name.clone(),
            target: &t,
            auto_chips: choice.auto_chips,
            grid: &grid,
            input: &input.data,
            n_samples,
            n_steps,
            numeric,
            placement,
            seed,
            jobs,
            shard: None,
            max_configs: max_configs.unwrap_or(spikeforge_driver::sweep::run::DEFAULT_MAX_CONFIGS),
            force,
            limits: &limits,
        };
        let configs = planned_configs(&plan)?;
        let run = run_configs(&plan, &configs, &|_| Ok(()), cancel)?;
        let mut table = empty_table(&grid, String::new());
        table.rows = run.rows;
        table.mark_pareto();
        Ok((table.keys, table.rows))
    })?;
    let list = PyList::empty(py);
    for r in &rows {
        list.append(row_dict(py, &keys, r)?)?;
    }
    Ok((keys, list))
}

/// One configuration as the results CSV has it: the grid values under their keys, then the
/// status and figures (None where not measured).
fn row_dict<'py>(py: Python<'py>, keys: &[String], r: &Row) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("config", r.config)?;
    for (k, v) in keys.iter().zip(&r.params) {
        d.set_item(k, v)?;
    }
    d.set_item("status", r.status.name())?;
    d.set_item("reason", &r.reason)?;
    d.set_item("cores_available", r.cores_available)?;
    d.set_item("cores_used", r.cores_used)?;
    d.set_item("silicon_cost_bits", r.silicon_cost_bits)?;
    d.set_item("sops_weight_layers_per_sample", r.sops_weight_layers_per_sample)?;
    d.set_item("energy_pj_per_sample", r.energy_pj_per_sample)?;
    d.set_item("energy_unavailable", &r.energy_unavailable)?;
    d.set_item("latency_us_per_step", r.latency_us_per_step)?;
    d.set_item("cycles_per_step", r.cycles_per_step)?;
    d.set_item("max_link_utilisation", r.max_link_utilisation)?;
    d.set_item("pareto", r.pareto)?;
    Ok(d)
}

/// Runs the golden bundles under `dirs`; returns `(rows, table, summary)`: one dict per
/// bundle × engine, the table and the summary line `spikeforge regress` prints. With
/// `junit`, also writes JUnit XML there.
#[pyfunction]
#[pyo3(signature = (dirs, junit=None, context=3, chips=None, set=None, max_memory=None))]
pub fn regress<'py>(
    py: Python<'py>,
    dirs: Vec<PathBuf>,
    junit: Option<PathBuf>,
    context: usize,
    chips: Option<&str>,
    set: Option<Vec<(String, String)>>,
    max_memory: Option<u64>,
) -> PyResult<(Bound<'py, PyList>, String, String)> {
    let limits = limit_args(max_memory).limits();
    let args = TargetArgs {
        chips: chips.map(Chips::parse).transpose().map_err(|e| bad(format!("chips: {e}")))?,
        set: set.unwrap_or_default().into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
    };
    let (outcomes, n_bundles) = interruptible(py, move |cancel| {
        let bundles = load_bundles(&dirs, &limits, &args)?;
        let outcomes = run_bundles(&bundles, &limits, context, &mut |_| {}, cancel)?;
        check_stat_paths(&outcomes)?;
        if let Some(p) = &junit {
            let cases: Vec<_> = outcomes.iter().map(spikeforge_driver::regress::case).collect();
            spikeforge_driver::junit::write(p, "spikeforge regress", &cases)
                .map_err(|e| DriverError::from(e).at(p.display().to_string()))?;
        }
        Ok((outcomes, bundles.len()))
    })?;
    let list = PyList::empty(py);
    for o in &outcomes {
        list.append(outcome_dict(py, o)?)?;
    }
    Ok((list, table_text(&outcomes), summary_line(&outcomes, n_bundles)))
}

fn outcome_dict<'py>(py: Python<'py>, o: &Outcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("bundle", &o.bundle)?;
    d.set_item("engine", o.engine.name())?;
    d.set_item("passed", o.passed())?;
    d.set_item("samples", o.samples)?;
    d.set_item("mismatches", o.mismatch.map(|m| m.0))?;
    d.set_item("values", o.mismatch.map(|m| m.1))?;
    d.set_item("first_divergence", o.first.as_ref().map(|f| f.location()))?;
    d.set_item("stats_ok", o.stats.iter().filter(|s| s.ok).count())?;
    d.set_item("stats", o.stats.len())?;
    d.set_item("error", o.error.as_deref())?;
    d.set_item("message", if o.passed() { String::new() } else { o.message() })?;
    d.set_item("details", if o.passed() { String::new() } else { o.full_details() })?;
    d.set_item("seconds", o.seconds)?;
    Ok(d)
}
