//! `spikeforge sweep --model M --target T --grid G --input X -o results.csv`: compile and
//! simulate a model on every chip configuration of a grid, in parallel; one CSV row per
//! configuration, the Pareto front over energy, latency and silicon cost marked and plotted.
//! `spikeforge sweep merge A.csv B.csv … -o all.csv` joins `--shard` slices.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::exec::Executor;
use spikeforge_targets::atomic::write_atomically;

use spikeforge_driver::compile::Placement;
use spikeforge_driver::inputs::{parse_range, read_samples};
use spikeforge_driver::model;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs, TargetArgs};
use spikeforge_driver::pipeline::{prepare_mapping, PassArgs};
use spikeforge_driver::simulate::Numeric;
use spikeforge_driver::sweep::grid::{Grid, Shard};
use spikeforge_driver::sweep::journal::{journal_path, read_finished, Journal};
use spikeforge_driver::sweep::run::{empty_table, planned_configs, run_configs, status_counts, SweepPlan, SweepRun};
use spikeforge_driver::sweep::table::{merge, Row, Status, Table};
use spikeforge_driver::sweep::{plot, Fingerprint};
use spikeforge_driver::DriverError;

use spikeforge_driver::sweep::run::DEFAULT_MAX_CONFIGS;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Model file: .nir or .snn.
    #[arg(long, required = true)]
    pub model: Option<PathBuf>,
    /// Base target: a .ron file or a preset name; the grid overrides its fields.
    #[arg(short, long, required = true)]
    pub target: Option<String>,
    /// `--chips CxR` sets the base grid; `--chips auto` maps every configuration onto its
    /// smallest fitting grid (its cores and silicon cost are that grid's).
    #[command(flatten)]
    pub chips: TargetArgs,
    /// Axes `KEY=[V1, V2, …]` separated by `;` (or repeat --grid). Keys are field paths of
    /// the target: `core.max_neurons`, `core.synapse_memory_bits`, `noc.link_bits_per_cycle`,
    /// `noc.mesh` (values like 4x4), `timing.synop_cycles`, `energy.synop_pj`, …; one core
    /// type: `core_types[NAME].FIELD`. Aliases: `core.synapse_memory_kib`,
    /// `noc.link_bandwidth` (= link_bits_per_cycle), `weight_bits` (numerics and every core's
    /// encoding). The first axis varies slowest.
    #[arg(long, required = true)]
    pub grid: Vec<String>,
    /// Input spikes `[N, T, *input_shape]` (.npy) simulated on every configuration.
    #[arg(short, long, required = true)]
    pub input: Option<PathBuf>,
    /// Use these samples of the input only, e.g. 0..16.
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// Results CSV: one row per configuration.
    #[arg(short, long, required = true)]
    pub output: Option<PathBuf>,
    /// SVG of energy vs latency and vs silicon cost, Pareto front highlighted.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Run only slice K of N (1-based; configuration i belongs to slice i mod N + 1), e.g.
    /// from a Slurm array (`--shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT`).
    /// Join the slices with `spikeforge sweep merge`.
    #[arg(long, value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Worker threads (default: all cores, or RAYON_NUM_THREADS; at most 4 × the cores).
    #[arg(long, value_parser = crate::parse_threads)]
    pub jobs: Option<usize>,
    /// Continue an interrupted sweep: keep the rows its journal (`OUTPUT.partial`, written
    /// as rows finish) or its results hold, and evaluate only the other configurations.
    #[arg(long)]
    pub resume: bool,
    /// Refuse to start a sweep of more configurations than this (after `--shard`) unless
    /// `--force` is given.
    #[arg(long, default_value_t = DEFAULT_MAX_CONFIGS)]
    pub max_configs: usize,
    /// Run a sweep larger than `--max-configs`.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value = "exact")]
    pub numeric: Numeric,
    #[arg(long, value_enum, default_value = "optimized")]
    pub placement: Placement,
    /// Seed of the optimizing placement.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Join the CSVs of `--shard` slices: checks they come from the same sweep and that every
    /// configuration is there exactly once, recomputes the Pareto front.
    Merge {
        /// Slice CSVs written by `spikeforge sweep --shard K/N`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The joined CSV.
        #[arg(short, long)]
        output: PathBuf,
        /// SVG of the joined results.
        #[arg(long)]
        plot: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

pub fn run(mut a: Args) -> Result<()> {
    if let Some(Command::Merge { files, output, plot, limits }) = a.command {
        return run_merge(&files, &output, plot.as_deref(), &limits);
    }
    let need = |name: &str| anyhow::anyhow!("--{name} is required");
    let model_path = a.model.clone().ok_or_else(|| need("model"))?;
    let input_path = a.input.clone().ok_or_else(|| need("input"))?;
    let output = a.output.clone().ok_or_else(|| need("output"))?;
    spikeforge_driver::outputs::check_output_paths(
        &[("--model", Some(&model_path)), ("--input", Some(&input_path)), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&output)), ("--plot", a.plot.as_deref())],
    )?;
    let limits = a.limits.limits();
    a.passes.quiet = crate::progress::quiet();
    let (base, file) =
        spikeforge_driver::target::load_spec(a.target.as_deref().ok_or_else(|| need("target"))?, &a.chips, &limits)?;
    let target = spikeforge_targets::Target::from_spec(base, &file)?;

    let grid = Grid::parse(&a.grid.join(";"))?;
    grid.check(target.spec())?;

    let (mut graph, mut verified, _) = model::load(&model_path, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    let calib = a.passes.calibration(&graph, &verified, None, dynamics, &limits)?;
    a.passes.target_numerics = Some(target.spec().numerics.clone());
    a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    let calibration =
        prepare_mapping(&graph, &verified, &model_path.display().to_string(), calib.as_ref(), dynamics, &limits)?;
    let exec = Executor::new(&graph, &verified, dynamics, &limits)?;
    let x = read_samples(&input_path, &a.samples, &limits)?;
    let (n_samples, n_steps) = exec.check_input(&x.shape).with_context(|| input_path.display().to_string())?;
    if n_samples == 0 || n_steps == 0 {
        bail!("{}: input has no samples or no time steps", input_path.display());
    }

    let sweep_id = fingerprint(&a, &grid, &target, &x.data)?;
    let plan = SweepPlan {
        graph: &graph,
        verified: &verified,
        dynamics,
        calibration,
        model_name: model_path.display().to_string(),
        target: &target,
        auto_chips: a.chips.is_auto(),
        grid: &grid,
        input: &x.data,
        n_samples,
        n_steps,
        numeric: a.numeric,
        placement: a.placement,
        seed: a.seed,
        jobs: a.jobs,
        shard: a.shard,
        max_configs: a.max_configs,
        force: a.force,
        limits: &limits,
    };
    let configs = planned_configs(&plan).map_err(DriverError::into_anyhow)?;
    let mut table = empty_table(&grid, sweep_id);
    let journal_file = journal_path(&output);
    let done = finished_rows(&a, &table, &journal_file, &output, &configs)?;
    let journal = Journal::create(&journal_file, &table, &done)?;
    let todo: Vec<usize> = {
        let mut have = vec![false; grid.len()];
        for r in &done {
            have[r.config] = true;
        }
        configs.iter().copied().filter(|&i| !have[i]).collect()
    };

    let bar = crate::progress::bar(configs.len() as u64, "configurations");
    bar.set_position(done.len() as u64);
    let on_row = |row: &Row| -> Result<(), DriverError> {
        journal.append(row)?;
        bar.inc(1);
        Ok(())
    };
    let never = AtomicBool::new(false);
    let SweepRun { rows, threads, seconds } =
        run_configs(&plan, &todo, &on_row, &never).map_err(DriverError::into_anyhow)?;
    bar.finish_and_clear();

    let resumed = done.len();
    table.rows = done.into_iter().chain(rows).collect();
    table.rows.sort_by_key(|r| r.config);
    table.mark_pareto();
    let title = format!("{} on {}", model_path.display(), target.name());
    write_results(&table, &output, a.plot.as_deref(), &title, &grid.to_string())?;
    journal.finish()?;
    let [fits, does_not_fit, invalid, sim_failed] = status_counts(&table);
    let shard = a.shard.map_or(String::new(), |s| format!(" (shard {}/{} of {})", s.k, s.n, grid.len()));
    let resumed =
        if resumed > 0 { format!(" ({resumed} carried over from the interrupted run)") } else { String::new() };
    println!(
        "swept {} configurations{shard}{resumed} of {} samples × {} steps on `{}` in {seconds:.2} s with {threads} thread(s): \
         {} fit, {} do not fit, {} invalid targets, {} failed in simulation; {} on the Pareto front; wrote {}",
        table.rows.len(),
        n_samples,
        n_steps,
        target.name(),
        fits,
        does_not_fit,
        invalid,
        sim_failed,
        table.rows.iter().filter(|r| r.pareto).count(),
        output.display()
    );
    Ok(())
}

/// Rows an interrupted run of this sweep finished (`--resume`): from its journal, else from
/// its results. Without `--resume` a journal left by an unfinished run is not overwritten.
fn finished_rows(a: &Args, table: &Table, journal: &Path, output: &Path, configs: &[usize]) -> Result<Vec<Row>> {
    let max = a.limits.max_memory;
    if !a.resume {
        if journal.exists() {
            bail!(
                "{} holds the rows of an unfinished sweep: pass --resume to continue it, or remove the file",
                journal.display()
            );
        }
        return Ok(Vec::new());
    }
    let (rows, from) = match read_finished(journal, table, max)? {
        Some(rows) => (rows, journal),
        None => match read_finished(output, table, max)? {
            Some(rows) => (rows, output),
            None => {
                eprintln!(
                    "note: --resume: neither {} nor {} exists; starting afresh",
                    journal.display(),
                    output.display()
                );
                return Ok(Vec::new());
            }
        },
    };
    let mut mine = vec![false; table.configs];
    for &i in configs {
        mine[i] = true;
    }
    let mut seen = vec![false; table.configs];
    let mut kept = Vec::with_capacity(rows.len());
    for mut r in rows {
        if !mine.get(r.config).copied().unwrap_or(false) {
            bail!(
                "{}: configuration {} is not among this run's (another --shard?); remove the file or drop --resume",
                from.display(),
                r.config
            );
        }
        if !std::mem::replace(&mut seen[r.config], true) {
            r.pareto = false;
            kept.push(r);
        }
    }
    Ok(kept)
}

/// What the rows depend on: the grid, the base target, the model and calibration files,
/// the input samples and every option that changes compile or simulate.
fn fingerprint(a: &Args, grid: &Grid, target: &spikeforge_targets::Target, input: &[f64]) -> Result<String> {
    let mut f = Fingerprint::new();
    f.field("version", b"spikeforge-sweep-1");
    f.field("grid", grid.to_string().as_bytes());
    f.field("target", spikeforge_targets::to_ron(target.spec()).as_bytes());
    if let Some(m) = &a.model {
        f.file("model", m)?;
    }
    let bits: Vec<u8> = input.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect();
    f.field("input", &bits);
    f.field("passes", a.passes.passes.as_deref().unwrap_or("").as_bytes());
    if let Some(c) = &a.passes.calib {
        f.file("calib", c)?;
    }
    let options = format!(
        "{:?} {:?} {:?} {:?} {}{}",
        a.passes.calib_samples,
        a.dynamics,
        a.numeric,
        a.placement,
        a.seed,
        if a.chips.is_auto() { " chips=auto" } else { "" }
    );
    f.field("options", options.as_bytes());
    Ok(f.hex())
}

/// Renders everything first, then writes: a failure leaves no partial output.
fn write_results(table: &Table, output: &Path, plot_path: Option<&Path>, title: &str, sub: &str) -> Result<()> {
    let csv = table.to_csv()?;
    let svg = plot_path.map(|_| plot::render(table, title, sub)).transpose()?;
    write_atomically(output, &csv).with_context(|| format!("writing {}", output.display()))?;
    if let (Some(p), Some(svg)) = (plot_path, svg) {
        write_atomically(p, svg.as_bytes()).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn run_merge(files: &[PathBuf], output: &Path, plot_path: Option<&Path>, limits: &LimitArgs) -> Result<()> {
    let inputs: Vec<(&str, Option<&Path>)> = files.iter().map(|f| ("slice", Some(f.as_path()))).collect();
    spikeforge_driver::outputs::check_output_paths(&inputs, &[("--output", Some(output)), ("--plot", plot_path)])?;
    let mut parts = Vec::new();
    for f in files {
        let meta = std::fs::metadata(f).with_context(|| format!("{}: cannot read", f.display()))?;
        if meta.len() > limits.max_memory {
            bail!(
                "{}: {} bytes, above the memory limit of {} (raise it with --max-memory)",
                f.display(),
                meta.len(),
                limits.max_memory
            );
        }
        let bytes = std::fs::read(f).with_context(|| format!("{}: cannot read", f.display()))?;
        parts.push((f.display().to_string(), Table::from_csv(&bytes, f)?));
    }
    let table = merge(parts)?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let title = format!("sweep {} (merged)", table.sweep_id);
    write_results(
        &table,
        output,
        plot_path,
        &title,
        &format!("grid keys: {}; from {}", table.keys.join(", "), names.join(", ")),
    )?;
    println!(
        "merged {} files: {} configurations, {} fit, {} on the Pareto front; wrote {}",
        files.len(),
        table.rows.len(),
        table.rows.iter().filter(|r| r.status == Status::Fits).count(),
        table.rows.iter().filter(|r| r.pareto).count(),
        output.display()
    );
    Ok(())
}
