//! The `spikeforge` command line. Exit codes: 0 success, 2 bad input or a model that does
//! not fit (the message names the file, node and limit), 1 internal failure or, for
//! `trace diff` and `regress`, spikes that differ. Argument parsing and printing only: the
//! work is done by `spikeforge-driver`.

mod cmd_check;
mod cmd_compare;
mod cmd_compile;
mod cmd_convert;
mod cmd_eval;
mod cmd_generate;
mod cmd_grad;
mod cmd_prune;
mod cmd_regress;
mod cmd_report;
mod cmd_run;
mod cmd_simulate;
mod cmd_sweep;
mod cmd_target;
mod cmd_trace;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use spikeforge_driver::error::{chain_message, Differs, Rendered};

/// spikeforge: compile trained spiking neural networks to neuromorphic chips and simulate
/// them cycle by cycle.
#[derive(Parser)]
#[command(name = "spikeforge", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// No progress bars (they are drawn on stderr only when it is a terminal).
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a model (.nir or .snn) and print a summary: nodes, shapes, neurons,
    /// synapses, parameters, and the time step and reset rule used to run it.
    Check(cmd_check::Args),
    /// Run a model on input spikes with the f64 reference executor.
    Run(cmd_run::Args),
    /// Convert a model between NIR (.nir) and the text format (.snn).
    Convert(cmd_convert::Args),
    /// Accuracy, spike mismatch, SOPs, sparsity and weight memory before and after a pass
    /// pipeline (quantization, pruning).
    Eval(cmd_eval::Args),
    /// Loss and surrogate gradient (BPTT) of every weight and bias on labelled inputs,
    /// written as .npz (`<node>.weight`, `<node>.bias`, NIR shapes).
    Grad(cmd_grad::Args),
    /// Map a model onto a chip: partition under every memory limit, place on the mesh,
    /// route, and write the core map.
    Compile(cmd_compile::Args),
    /// Run a core map on its chip with the cycle-level, event-driven simulator.
    Simulate(cmd_simulate::Args),
    /// Prune a model with a pass pipeline, write it back (NIR or .snn) and export masks
    /// and scores for fine-tuning in the training framework.
    Prune(cmd_prune::Args),
    /// Golden traces: record a bundle from a run, or diff two spike arrays.
    #[command(subcommand)]
    Trace(cmd_trace::Command),
    /// Run golden bundles on the reference executor and, where they name a target, the
    /// simulator; print a table, write JUnit XML, exit 1 on any divergence.
    Regress(cmd_regress::Args),
    /// One self-contained HTML page about a core map and a run of it: utilisation heatmap,
    /// link load, spike raster, latency per step, energy breakdown, with their numbers.
    Report(cmd_report::Args),
    /// Design-space sweep: compile and simulate the model on every chip configuration of a
    /// grid (in parallel), one CSV row each, Pareto front over energy, latency and silicon
    /// cost; `sweep merge` joins `--shard` slices.
    Sweep(cmd_sweep::Args),
    /// One model on several chips side by side (or core maps with --maps): fit, cores and
    /// chips, latency, throughput, energy per inference, energy-delay product, utilisation;
    /// a table on stdout, CSV, JSON and an HTML page in --out.
    Compare(cmd_compare::Args),
    /// Write a generated VGG-11/16, ResNet-19 or SEW-ResNet (seeded weights, thresholds
    /// calibrated to a firing rate) and optionally matching input spikes.
    Generate(cmd_generate::Args),
    /// Chip descriptions (targets).
    #[command(subcommand)]
    Target(cmd_target::Command),
}

/// Most worker threads per available core: more only adds memory and scheduling cost.
const MAX_THREADS_PER_CORE: usize = 4;

/// `--threads N`: 0 means all cores; above [`MAX_THREADS_PER_CORE`] × the available cores
/// it is capped, with a note (results never depend on the thread count).
pub fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s.trim().parse().map_err(|_| format!("`{s}` is not a thread count"))?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let cap = cores.saturating_mul(MAX_THREADS_PER_CORE);
    if n > cap {
        eprintln!("note: --threads {n} capped at {cap} ({MAX_THREADS_PER_CORE} × {cores} available cores)");
        return Ok(cap);
    }
    Ok(n)
}

/// Prints a line of what a pass did on stderr (the CLI's pass log).
pub fn log_stderr(line: &str) {
    eprintln!("{line}");
}

/// `text` safe for a terminal: control characters (other than newline and tab) and Unicode
/// bidirectional controls, which a file may put into node names to garble or disguise the
/// message, are shown as escapes.
fn terminal_safe(text: &str) -> String {
    let bidi =
        |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    text.chars()
        .flat_map(|c| {
            let escape = (c.is_control() && c != '\n' && c != '\t') || bidi(c);
            let shown: Vec<char> = if escape { c.escape_unicode().collect() } else { vec![c] };
            shown
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Check(a) => cmd_check::run(a),
        Command::Run(a) => cmd_run::run(a),
        Command::Convert(a) => cmd_convert::run(a),
        Command::Target(c) => cmd_target::run(c),
        Command::Eval(a) => cmd_eval::run(a),
        Command::Grad(a) => cmd_grad::run(a),
        Command::Simulate(a) => cmd_simulate::run(a),
        Command::Compile(a) => cmd_compile::run(a),
        Command::Prune(a) => cmd_prune::run(a),
        Command::Trace(c) => cmd_trace::run(c),
        Command::Regress(a) => cmd_regress::run(a),
        Command::Report(a) => cmd_report::run(a),
        Command::Sweep(a) => cmd_sweep::run(a),
        Command::Compare(a) => cmd_compare::run_cmd(a),
        Command::Generate(a) => cmd_generate::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(d) = e.downcast_ref::<Differs>() {
                if !d.0.is_empty() {
                    eprintln!("{}", d.0);
                }
                return ExitCode::from(1);
            }
            match e.downcast_ref::<Rendered>() {
                Some(r) => eprint!("{}", r.0),
                None => eprintln!("error: {}", terminal_safe(&chain_message(&e))),
            }
            ExitCode::from(2)
        }
    }
}
