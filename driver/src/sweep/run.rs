//! Running a sweep: every configuration of a grid (or of one `--shard`) compiled and
//! simulated in parallel, for the CLI's `spikeforge sweep` and Python's `sf.sweep`. Needs a
//! model after passes, a validated base target and the input samples in memory; establishes
//! the configuration budget, the rows in configuration order with the Pareto front marked,
//! and cancellation between configurations. Files (CSV, journal, plot) stay with the caller.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rayon::prelude::*;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::CompileOptions;
use spikeforge_simulator::SimOptions;
use spikeforge_targets::Target;

use super::eval::{evaluate, Job};
use super::grid::{Grid, Shard};
use super::table::{Row, Status, Table};
use crate::compile::Placement;
use crate::error::check_cancel;
use crate::simulate::Numeric;
use crate::DriverError;

/// Configurations a sweep runs without `force`: one compile and one simulation each, so
/// about an hour on two cores for small models.
pub const DEFAULT_MAX_CONFIGS: usize = 4096;

/// Everything a sweep needs, prepared once and shared read-only by the worker threads.
pub struct SweepPlan<'a> {
    pub graph: &'a Graph,
    pub verified: &'a Verified,
    pub dynamics: Dynamics,
    /// Spike counts of a calibration run (see `pipeline::prepare_mapping`).
    pub calibration: Option<Vec<u64>>,
    /// Names the model in the core maps and messages.
    pub model_name: String,
    /// The base target; the grid overrides its fields.
    pub target: &'a Target,
    /// Each configuration on the smallest grid of chips it fits (`--chips auto`).
    pub auto_chips: bool,
    pub grid: &'a Grid,
    /// `[N, T, n_in]` in C order.
    pub input: &'a [f64],
    pub n_samples: usize,
    pub n_steps: usize,
    pub numeric: Numeric,
    pub placement: Placement,
    pub seed: u64,
    /// Worker threads; `None`: rayon's default pool.
    pub jobs: Option<usize>,
    pub shard: Option<Shard>,
    pub max_configs: usize,
    pub force: bool,
    pub limits: &'a Limits,
}

/// The configurations of this run (those of the shard), refused above the budget.
pub fn planned_configs(plan: &SweepPlan<'_>) -> Result<Vec<usize>, DriverError> {
    let configs: Vec<usize> = (0..plan.grid.len()).filter(|&i| plan.shard.is_none_or(|s| s.contains(i))).collect();
    if configs.len() > plan.max_configs && !plan.force {
        return Err(DriverError::bad_input(format!(
            "the grid has {} configurations{}, above the budget of {} (each is a compile and a simulation): \
             narrow the grid, split it with --shard K/N, raise --max-configs, or pass --force",
            configs.len(),
            if plan.shard.is_some() { " in this shard" } else { "" },
            plan.max_configs
        )));
    }
    Ok(configs)
}

/// A table with the grid's keys and no rows yet.
pub fn empty_table(grid: &Grid, sweep_id: String) -> Table {
    Table { keys: grid.axes.iter().map(|ax| ax.key.clone()).collect(), configs: grid.len(), sweep_id, rows: vec![] }
}

/// What [`run_configs`] did: the new rows (configuration order) and how.
pub struct SweepRun {
    pub rows: Vec<Row>,
    pub threads: usize,
    pub seconds: f64,
}

/// Evaluates configurations `todo` in parallel. `on_row` sees each row as it finishes (from
/// worker threads: journal it, count progress); an error from it stops the sweep. Checks
/// `cancel` before each configuration. Rows depend only on their configuration, so the
/// result is the same for any thread count.
pub fn run_configs(
    plan: &SweepPlan<'_>,
    todo: &[usize],
    on_row: &(dyn Fn(&Row) -> Result<(), DriverError> + Sync),
    cancel: &AtomicBool,
) -> Result<SweepRun, DriverError> {
    let compile = CompileOptions {
        placement: plan.placement.method(plan.seed),
        calibration: plan.calibration.clone(),
        seed: plan.seed,
        model: plan.model_name.clone(),
    };
    let sim = SimOptions { mode: plan.numeric.mode(), ..SimOptions::default() };
    let job = Job {
        base: plan.target.spec(),
        target_file: plan.target.file(),
        graph: plan.graph,
        verified: plan.verified,
        dynamics: plan.dynamics,
        compile: &compile,
        sim: &sim,
        input: plan.input,
        n_samples: plan.n_samples,
        n_steps: plan.n_steps,
        auto_chips: plan.auto_chips,
        limits: plan.limits,
    };
    let start = Instant::now();
    let work = || -> Result<Vec<Row>, DriverError> {
        todo.par_iter()
            .map(|&i| {
                check_cancel(cancel)?;
                let assignment: Vec<(&str, &str)> =
                    plan.grid.axes.iter().map(|ax| ax.key.as_str()).zip(plan.grid.config(i)).collect();
                let row = evaluate(&job, i, &assignment)?;
                on_row(&row)?;
                Ok(row)
            })
            .collect()
    };
    let (mut rows, threads) = match plan.jobs {
        Some(0) => return Err(DriverError::bad_input("--jobs must be at least 1")),
        Some(j) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(j)
                .build()
                .map_err(|e| DriverError::bad_input(format!("starting worker threads: {e}")))?;
            (pool.install(work)?, j)
        }
        None => (work()?, rayon::current_num_threads()),
    };
    rows.sort_by_key(|r| r.config);
    Ok(SweepRun { rows, threads, seconds: start.elapsed().as_secs_f64() })
}

/// Rows per status, in the order the summary line names them: fit, do not fit, invalid
/// targets, failed in simulation.
pub fn status_counts(table: &Table) -> [usize; 4] {
    let count = |s: Status| table.rows.iter().filter(|r| r.status == s).count();
    [count(Status::Fits), count(Status::DoesNotFit), count(Status::InvalidTarget), count(Status::SimFailed)]
}
