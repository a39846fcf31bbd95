//! `spikeforge check MODEL`: validate and summarise.

use std::path::PathBuf;

use anyhow::Result;
use spikeforge_driver::check::render_check;
use spikeforge_driver::model::{self, Model};
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir (NIR, HDF5) or .snn (text format).
    pub model: PathBuf,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    let limits = a.limits.limits();
    let (graph, verified, format) = model::load(&a.model, &limits)?;
    let mut m = Model { graph, verified, name: a.model.display().to_string() };
    let dynamics = a.dynamics.resolve(&m.graph);
    let calib = a.passes.calibration(&m.graph, &m.verified, None, dynamics, &limits)?;
    a.passes.apply(&mut m.graph, &mut m.verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    let text = render_check(&m, Some(format), &dynamics);
    // Header first, then the warnings (stderr), then the table, as before.
    let (head, table) = text.split_at(text.match_indices('\n').nth(1).map_or(text.len(), |(i, _)| i + 1));
    print!("{head}");
    for w in spikeforge_compiler::exec::advice::warnings(&m.graph, &dynamics) {
        eprintln!("warning: {w}");
    }
    print!("{table}");
    Ok(())
}
