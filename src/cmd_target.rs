//! `spikeforge target show FILE|PRESET`: a chip description with derived totals.

use std::path::Path;

use anyhow::{bail, Result};
use spikeforge_targets::{load_target, preset, Target, PRESETS};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a target (a .ron file or a preset name) with derived totals: cores, neurons,
    /// synapse memory, mesh, timing and the energy table.
    Show {
        /// A target file (`targets/loihi.ron`) or a built-in preset name (`loihi`).
        target: String,
    },
}

/// Loads a target from a path, or from a preset name when no such file exists.
pub fn load(spec: &str) -> Result<Target> {
    let path = Path::new(spec);
    if path.exists() || spec.ends_with(".ron") {
        return Ok(load_target(path)?);
    }
    match preset(spec) {
        Some(t) => Ok(t?),
        None => bail!("`{spec}` is neither a target file nor a preset (presets: {})", PRESETS.join(", ")),
    }
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::Show { target } => {
            let t = load(&target)?;
            print!("{}", spikeforge_targets::show::render(&t));
            Ok(())
        }
    }
}
