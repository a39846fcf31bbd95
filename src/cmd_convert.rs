//! `spikeforge convert IN -o OUT`: between NIR and the text format.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use spikeforge_compiler::{nir, text};

use spikeforge_driver::model::{self, Format};
use spikeforge_driver::options::LimitArgs;
use spikeforge_driver::pipeline::PassArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Input model (.nir or .snn).
    pub input: PathBuf,
    /// Output model; the format follows the extension (.nir or .snn). A .snn output keeps
    /// large tensors in a `<name>.safetensors` sidecar beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub passes: PassArgs,
    /// The discretisation passes calibrate with.
    #[command(flatten)]
    pub dynamics: spikeforge_driver::options::DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The `.safetensors` sidecar a `.snn` output refers to (written with it), if any.
fn sidecar_written(output: &Path, format: Format) -> Option<PathBuf> {
    if format != Format::Snn {
        return None;
    }
    let name = format!("{}.safetensors", output.file_stem()?.to_string_lossy());
    let text = std::fs::read_to_string(output).ok()?;
    text.contains(&format!("file(\"{name}\"")).then(|| output.with_file_name(name))
}

pub fn run(a: Args) -> Result<()> {
    spikeforge_driver::outputs::check_output_paths(
        &[("input", Some(&a.input)), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output))],
    )?;
    let out_format = Format::of(&a.output)?;
    let limits = a.limits.limits();
    let (mut graph, mut verified, _) = model::load(&a.input, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    let calib = a.passes.calibration(&graph, &verified, None, dynamics, &limits)?;
    a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    // A `.snn` file keeps the semantics given here (NIR has no field for it).
    graph.semantics = a.dynamics.semantics.or(graph.semantics);
    match out_format {
        Format::Nir => nir::write_nir(&graph, &a.output).map_err(anyhow::Error::new),
        Format::Snn => text::write_snn(&graph, &a.output).map_err(anyhow::Error::new),
    }
    .with_context(|| format!("writing {}", a.output.display()))?;
    println!("wrote {} ({})", a.output.display(), out_format.describe());
    if let Some(sidecar) = sidecar_written(&a.output, out_format) {
        println!("wrote {} (the tensors too large to write inline; keep it beside the .snn)", sidecar.display());
    }
    Ok(())
}
