//! `spikeforge target show FILE|PRESET`: a chip description with derived totals.

use std::path::Path;

use anyhow::{bail, Result};
use spikeforge_compiler::limits::Limits;
use spikeforge_targets::{parse_spec, preset_text, Target, TargetError, PRESETS};

use crate::options::LimitArgs;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a target (a .ron file or a preset name) with derived totals: cores, neurons,
    /// synapse memory, mesh, timing and the energy table; with --ron, the target as a
    /// complete, commented RON file to start a new target from.
    Show {
        /// A target file (`targets/loihi.ron`) or a built-in preset name (`loihi`).
        target: String,
        /// Print the target as RON with every field and a comment on each (unit, meaning,
        /// default); it loads back as the same target.
        #[arg(long)]
        ron: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

/// Loads a target from a path, or from a preset name when no such file exists; its cores
/// and neurons per core are checked against `limits` before the cores are numbered.
pub fn load(spec: &str, limits: &Limits) -> Result<Target> {
    let path = Path::new(spec);
    let (text, file) = if path.exists() || spec.ends_with(".ron") {
        let file = path.display().to_string();
        let len = std::fs::metadata(path).map_err(|source| TargetError::Io { file: file.clone(), source })?.len();
        if len > limits.max_memory_bytes() {
            bail!(
                "{file}: {len} bytes, above the memory limit of {} (raise it with --max-memory)",
                limits.max_memory_bytes()
            );
        }
        (std::fs::read_to_string(path).map_err(|source| TargetError::Io { file: file.clone(), source })?, file)
    } else {
        match preset_text(spec) {
            Some(t) => (t.to_string(), format!("{spec}.ron")),
            None => bail!("`{spec}` is neither a target file nor a preset (presets: {})", PRESETS.join(", ")),
        }
    };
    let parsed = parse_spec(&text, &file)?;
    limits.check_target(&parsed, &file)?;
    Ok(Target::from_spec(parsed, &file)?)
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::Show { target, ron, limits } => {
            let t = load(&target, &limits.limits())?;
            if ron {
                print!("{}", spikeforge_targets::show::render_ron(t.spec()));
            } else {
                print!("{}", spikeforge_targets::show::render(&t));
            }
            Ok(())
        }
    }
}
