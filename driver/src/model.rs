//! Loading models by file extension, with errors rendered for the terminal.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::{nir, text};

use crate::error::{DriverError, Rendered};

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

/// Warnings (without the `warning: ` prefix) about neuron nodes whose smallest time
/// constant is below `dt / 2`: forward Euler at that step is unstable there (the state's
/// error grows by |1 − dt/τ| > 1 per step), so results would be meaningless. The run goes
/// on; a smaller `--dt` fixes it.
pub fn unstable_euler_warnings(graph: &Graph, dt: f64) -> Vec<String> {
    use spikeforge_compiler::ir::Op;
    let mut warnings = Vec::new();
    for id in graph.node_ids() {
        let taus = match graph.op(id) {
            Op::LI { tau, .. } | Op::LIF { tau, .. } => vec![("tau", tau)],
            Op::CubaLI { tau_syn, tau_mem, .. } | Op::CubaLIF { tau_syn, tau_mem, .. } => {
                vec![("tau_syn", tau_syn), ("tau_mem", tau_mem)]
            }
            _ => continue,
        };
        for (param, tau) in taus {
            let Some(min) = tau.data().iter().copied().reduce(f64::min) else { continue };
            if dt / min > 2.0 {
                warnings.push(format!(
                    "node `{}`: {param} = {min:e} s gives dt/{param} = {:.3} > 2 at dt = {dt:e} s; \
                     forward Euler is unstable there (use --dt {:e} or smaller)",
                    graph.name(id),
                    dt / min,
                    min
                ));
            }
        }
    }
    warnings
}

/// Reads and verifies a model; `.snn` diagnostics in colour when stderr is a terminal.
pub fn load(path: &Path, limits: &Limits) -> Result<(Graph, Verified, Format)> {
    load_coloured(path, limits, std::io::stderr().is_terminal())
}

/// Reads and verifies a model; `.snn` diagnostics in colour when `colour` is set.
pub fn load_coloured(path: &Path, limits: &Limits, colour: bool) -> Result<(Graph, Verified, Format)> {
    let format = Format::of(path)?;
    let graph = match format {
        Format::Nir => nir::read_nir(path, limits).map_err(anyhow::Error::new)?,
        Format::Snn => text::read_snn(path, limits).map_err(|e| anyhow::Error::new(Rendered(e.render(colour))))?,
    };
    let verified = verify_named(&graph, &path.display().to_string(), limits)?;
    Ok((graph, verified, format))
}

/// Verifies a model read from `source` (a path, or a name for one held in memory), with the
/// message `SOURCE: invalid model:` and one line per problem.
pub fn verify_named(graph: &Graph, source: &str, limits: &Limits) -> Result<Verified> {
    graph
        .verify(limits)
        .map_err(|errs| {
            let lines: Vec<String> = errs.iter().map(|e| format!("  {e}")).collect();
            anyhow::anyhow!("{source}: invalid model:\n{}", lines.join("\n"))
        })
        .with_context(|| format!("loading {source}"))
}

/// A verified model held in memory, with the name its messages use (its path, or the name a
/// front end gave a model built in memory).
#[derive(Clone)]
pub struct Model {
    pub graph: Graph,
    pub verified: Verified,
    pub name: String,
}

impl Model {
    /// Reads and verifies a `.nir` or `.snn` file; diagnostics without colour.
    pub fn load(path: &Path, limits: &Limits) -> Result<(Model, Format), DriverError> {
        let (graph, verified, format) =
            load_coloured(path, limits, false).map_err(|e| DriverError::from(e).at(path.display().to_string()))?;
        Ok((Model { graph, verified, name: path.display().to_string() }, format))
    }

    /// Reads and verifies a NIR (HDF5) image held in memory; `name` stands for the file in
    /// messages.
    pub fn from_nir_bytes(bytes: Vec<u8>, name: &str, limits: &Limits) -> Result<Model, DriverError> {
        let graph =
            nir::read_nir_bytes(bytes, name, limits).map_err(|e| DriverError::from(anyhow::Error::new(e)).at(name))?;
        let verified = verify_named(&graph, name, limits).map_err(|e| DriverError::from(e).at(name))?;
        Ok(Model { graph, verified, name: name.to_string() })
    }

    /// Writes the model as NIR or `.snn`, by `path`'s extension; returns the format.
    pub fn save(&self, path: &Path) -> Result<Format, DriverError> {
        let at = |e: anyhow::Error| DriverError::from(e).at(path.display().to_string());
        let format = Format::of(path).map_err(at)?;
        match format {
            Format::Nir => nir::write_nir(&self.graph, path).map_err(anyhow::Error::new),
            Format::Snn => text::write_snn(&self.graph, path).map_err(anyhow::Error::new),
        }
        .with_context(|| format!("writing {}", path.display()))
        .map_err(at)?;
        Ok(format)
    }

    /// The model as a NIR (HDF5) image.
    pub fn to_nir_bytes(&self) -> Result<Vec<u8>, DriverError> {
        nir::to_bytes(&self.graph).map_err(|e| DriverError::from(anyhow::Error::new(e)).at(self.name.as_str()))
    }
}
