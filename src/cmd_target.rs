//! `spikeforge target show FILE|PRESET`: a chip description with derived totals.

use anyhow::Result;
use spikeforge_driver::target::load_with;
use spikeforge_targets::PRESETS;

use spikeforge_driver::options::{LimitArgs, TargetArgs};

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
