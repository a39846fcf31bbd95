//! `spikeforge compile MODEL --target T -o OUT.map`: map a model onto a chip.

use std::path::PathBuf;

use anyhow::{Context, Result};
use spikeforge_compiler::mapper::{compile, compile_auto, render_summary, CompileOptions, PlacementMethod};

use crate::options::{DynamicsArgs, LimitArgs, TargetArgs};
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
    #[command(flatten)]
    pub chips: TargetArgs,
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

pub fn run(mut a: Args) -> Result<()> {
    crate::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("--target", Some(a.target.as_ref())), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output)), ("--report", a.report.as_deref())],
    )?;
    let limits = a.limits.limits();
    let (spec, file) = cmd_target::load_spec(&a.target, &a.chips, &limits)?;
    let (mut graph, mut verified, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    model::warn_unstable_euler(&graph, dynamics.dt);
    let calib = a.passes.calibration(&graph, &verified, None, dynamics, &limits)?;
    a.passes.target_numerics = Some(spec.numerics.clone());
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
    let not_fit = || format!("{} does not map onto `{}`", a.model.display(), spec.name);
    let (target, map, report) = if a.chips.is_auto() {
        let (target, map, report, choice) =
            compile_auto(&graph, &verified, &spec, &file, dynamics, &opts, &limits).with_context(not_fit)?;
        let tried: Vec<String> = choice.tried.iter().map(|g| format!("{}x{}", g[0], g[1])).collect();
        eprintln!(
            "--chips auto: {}x{} chips of `{}` ({} cores); chips lower bound {}; tried {}",
            choice.grid[0],
            choice.grid[1],
            spec.name,
            target.num_cores(),
            choice.chips_lower_bound,
            tried.join(", ")
        );
        (target, map, report)
    } else {
        let target = spikeforge_targets::Target::from_spec(spec.clone(), &file)?;
        let (map, report) = compile(&graph, &verified, &target, dynamics, &opts).with_context(not_fit)?;
        (target, map, report)
    };
    let mut fingerprint = String::new();
    spikeforge_compiler::atomic::write_atomically_with(&a.output, |w| {
        fingerprint = map.write_to(w)?;
        Ok(())
    })
    .with_context(|| format!("writing {}", a.output.display()))?;
    if let Some(p) = &a.report {
        let text = crate::outputs::json_with_fingerprint(&report, &fingerprint)?;
        spikeforge_compiler::atomic::write_atomically(p, text.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if a.verbose {
        print!("{}", render_summary(&map));
    }
    println!(
        "compiled {} onto `{}`: {} of {} cores on {} of {} chips (lower bound {} cores, by {}; {} chips), {} \
         neurons, {} synapses; hop traffic {:.0} vs {:.0} sequential; {:.3} s",
        a.model.display(),
        target.name(),
        report.cores_used,
        report.cores_available,
        report.chips_used,
        report.chips[0] * report.chips[1],
        report.cores_lower_bound,
        report.lower_bound_resource,
        report.chips_lower_bound,
        report.neurons,
        report.synapses,
        report.hop_traffic,
        report.hop_traffic_sequential,
        report.mapping_seconds
    );
    Ok(())
}
