//! `spikeforge compile MODEL --target T -o OUT.map`: map a model onto a chip.

use std::path::PathBuf;

use anyhow::{Context, Result};
use spikeforge_compiler::mapper::{compile, render_summary, CompileOptions, PlacementMethod};

use crate::options::{DynamicsArgs, LimitArgs};
use crate::pipeline::{prepare_mapping, PassArgs};
use crate::{cmd_target, model};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Placement {
    /// Minimise hop-weighted spike traffic.
    Optimized,
    /// Pieces in order onto cores in order (the baseline).
    Sequential,
}

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Target chip: a .ron file or a preset name (see `spikeforge target show`).
    #[arg(short, long)]
    pub target: String,
    /// Output core map.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub passes: PassArgs,
    #[arg(long, value_enum, default_value = "optimized")]
    pub placement: Placement,
    /// Seed of the optimizing placement.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Mapping report as JSON: cores used and lower bound, utilisation, hop traffic vs the
    /// sequential baseline, mapping time.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the per-core summary.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    crate::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("--target", Some(a.target.as_ref())), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output)), ("--report", a.report.as_deref())],
    )?;
    let limits = a.limits.limits();
    let target = cmd_target::load(&a.target, &limits)?;
    let (mut graph, mut verified, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    model::warn_unstable_euler(&graph, dynamics.dt);
    let calib = a.passes.calibration(&graph, &verified, None, dynamics, &limits)?;
    a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits)?;
    let model_name = a.model.display().to_string();
    let calibration = prepare_mapping(&graph, &verified, &model_name, calib.as_ref(), dynamics, &limits)?;
    let opts = CompileOptions {
        placement: match a.placement {
            Placement::Optimized => PlacementMethod::Optimized { seed: a.seed },
            Placement::Sequential => PlacementMethod::Sequential,
        },
        calibration,
        seed: a.seed,
        model: a.model.display().to_string(),
    };
    let (map, report) = compile(&graph, &verified, &target, dynamics, &opts)
        .with_context(|| format!("{} does not map onto `{}`", a.model.display(), target.name()))?;
    spikeforge_compiler::atomic::write_atomically(&a.output, &map.to_bytes())
        .with_context(|| format!("writing {}", a.output.display()))?;
    if let Some(p) = &a.report {
        let text = crate::outputs::json_with_fingerprint(&report, &map.fingerprint())?;
        spikeforge_compiler::atomic::write_atomically(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if a.verbose {
        print!("{}", render_summary(&map));
    }
    println!(
        "compiled {} onto `{}`: {} of {} cores (lower bound {}, by {}), {} neurons, {} synapses; \
         hop traffic {:.0} vs {:.0} sequential; {:.3} s",
        a.model.display(),
        target.name(),
        report.cores_used,
        report.cores_available,
        report.cores_lower_bound,
        report.lower_bound_resource,
        report.neurons,
        report.synapses,
        report.hop_traffic,
        report.hop_traffic_sequential,
        report.mapping_seconds
    );
    Ok(())
}
