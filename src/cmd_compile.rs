//! `spikeforge compile MODEL --target T -o OUT.map`: map a model onto a chip.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use spikeforge_compiler::mapper::render_summary;
use spikeforge_driver::compile::{compile_model, save_map, save_report, summary_line, Placement, TargetChoice};
use spikeforge_driver::model::{self, Model};
use spikeforge_driver::options::{DynamicsArgs, LimitArgs, TargetArgs};
use spikeforge_driver::pipeline::PassArgs;

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
    spikeforge_driver::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("--target", Some(a.target.as_ref())), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output)), ("--report", a.report.as_deref())],
    )?;
    let limits = a.limits.limits();
    a.passes.quiet = crate::progress::quiet();
    let (spec, file) = spikeforge_driver::target::load_spec(&a.target, &a.chips, &limits)?;
    let (graph, verified, _) = model::load(&a.model, &limits)?;
    let mut m = Model { graph, verified, name: a.model.display().to_string() };
    let dynamics = a.dynamics.resolve(&m.graph);
    for w in model::unstable_euler_warnings(&m.graph, dynamics.dt) {
        eprintln!("warning: {w}");
    }
    a.passes.target_numerics = Some(spec.numerics.clone());
    let calib = a.passes.calibration(&m.graph, &m.verified, None, dynamics, &limits)?;
    a.passes.apply(&mut m.graph, &mut m.verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    let choice = TargetChoice { spec, file, auto_chips: a.chips.is_auto() };
    let never = AtomicBool::new(false);
    let c = crate::progress::during(format!("compiling {} onto `{}`", m.name, choice.spec.name), || {
        compile_model(&m, &choice, a.placement, a.seed, calib.as_ref(), dynamics, &limits, &never)
    })
    .map_err(|e| e.into_anyhow())?;
    if let Some(note) = &c.auto_note {
        eprintln!("{note}");
    }
    for w in &c.warnings {
        eprintln!("warning: {w}");
    }
    let fingerprint = save_map(&c.map, &a.output).map_err(|e| e.into_anyhow())?;
    if let Some(p) = &a.report {
        save_report(&c.report, &fingerprint, p).map_err(|e| e.into_anyhow())?;
    }
    if a.verbose {
        print!("{}", render_summary(&c.map));
    }
    println!("{}", summary_line(&m.name, &c));
    Ok(())
}
