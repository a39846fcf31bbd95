//! `spikeforge target show FILE|PRESET`: a chip description with derived totals.

use std::path::Path;

use anyhow::{bail, Result};
use spikeforge_compiler::limits::Limits;
use spikeforge_targets::{parse_spec, preset_spec, Target, TargetError, TargetSpec, PRESETS};

use crate::options::{LimitArgs, TargetArgs};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print a target (a .ron file or a preset name) with derived totals: cores, neurons,
    /// synapse memory, mesh, timing and the energy table; with --ron, the target as a
    /// complete, commented RON file to start a new target from.
    Show {
        /// A target file (`targets/loihi.ron`) or a built-in preset name (`loihi`); without
        /// it, the presets are listed.
        target: Option<String>,
        #[command(flatten)]
        chips: TargetArgs,
        /// Print the target as RON with every field and a comment on each (unit, meaning,
        /// default); it loads back as the same target.
        #[arg(long)]
        ron: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

/// Loads a target from a path, or from a preset name when no such file exists, with
/// `--set` and `--chips CxR` applied (`--chips auto` is refused: it needs a model, see
/// [`load_spec`]); its cores and neurons per core are checked against `limits` before the
/// cores are numbered.
pub fn load_with(spec: &str, args: &TargetArgs, limits: &Limits) -> Result<Target> {
    args.refuse_auto("loading a target alone")?;
    let (parsed, file) = load_spec(spec, args, limits)?;
    Ok(Target::from_spec(parsed, &file)?)
}

/// The target's spec with `--set` and `--chips CxR` applied, and the file name that
/// names it in messages; checked against `limits`, not yet validated.
pub fn load_spec(spec: &str, args: &TargetArgs, limits: &Limits) -> Result<(TargetSpec, String)> {
    let path = Path::new(spec);
    let (parsed, file) = if path.exists() || spec.ends_with(".ron") {
        let file = path.display().to_string();
        let len = std::fs::metadata(path).map_err(|source| TargetError::Io { file: file.clone(), source })?.len();
        if len > limits.max_memory_bytes() {
            bail!(
                "{file}: {len} bytes, above the memory limit of {} (raise it with --max-memory)",
                limits.max_memory_bytes()
            );
        }
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::Io { file: file.clone(), source })?;
        (parse_spec(&text, &file)?, file)
    } else {
        match preset_spec(spec) {
            Some(parsed) => (parsed?, format!("{spec}.ron")),
            None => bail!("`{spec}` is neither a target file nor a preset (presets: {})", PRESETS.join(", ")),
        }
    };
    let mut parsed = parsed;
    args.apply(&mut parsed, &file)?;
    limits.check_target(&parsed, &file)?;
    Ok((parsed, file))
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::Show { target: Some(target), chips, ron, limits } => {
            let t = load_with(&target, &chips, &limits.limits())?;
            if ron {
                print!("{}", spikeforge_targets::show::render_ron(t.spec()));
            } else {
                print!("{}", spikeforge_targets::show::render(&t));
            }
            Ok(())
        }
        Command::Show { target: None, .. } => {
            println!("presets (spikeforge target show NAME):");
            for name in PRESETS {
                let t = spikeforge_targets::preset(name).expect("listed")?;
                let [x, y] = t.spec().grid.chips;
                println!("{name:<20} {x}x{y} chips, {:>6} cores  {}", t.num_cores(), t.spec().description);
            }
            Ok(())
        }
    }
}
