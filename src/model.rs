//! Loading models by file extension, with errors rendered for the terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::{nir, text};

use crate::Rendered;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Nir,
    Snn,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format> {
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("nir") | Some("h5") | Some("hdf5") => Ok(Format::Nir),
            Some("snn") => Ok(Format::Snn),
            _ => bail!("{}: unknown model format (expected a .nir or .snn file)", path.display()),
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            Format::Nir => "NIR, HDF5",
            Format::Snn => "spikeforge text format",
        }
    }
}

/// Reads and verifies a model.
pub fn load(path: &Path, limits: &Limits) -> Result<(Graph, Verified, Format)> {
    let format = Format::of(path)?;
    let graph = match format {
        Format::Nir => nir::read_nir(path, limits).map_err(anyhow::Error::new)?,
        Format::Snn => text::read_snn(path, limits)
            .map_err(|e| anyhow::Error::new(Rendered(e.render(std::io::stderr().is_terminal()))))?,
    };
    let verified = graph
        .verify(limits)
        .map_err(|errs| {
            let lines: Vec<String> = errs.iter().map(|e| format!("  {e}")).collect();
            anyhow::anyhow!("{}: invalid model:\n{}", path.display(), lines.join("\n"))
        })
        .with_context(|| format!("loading {}", path.display()))?;
    Ok((graph, verified, format))
}
