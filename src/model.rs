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

/// Warns on stderr about neuron nodes whose smallest time constant is below `dt / 2`:
/// forward Euler at that step is unstable there (the state's error grows by |1 − dt/τ| > 1
/// per step), so results would be meaningless. The run goes on; a smaller `--dt` fixes it.
pub fn warn_unstable_euler(graph: &Graph, dt: f64) {
    use spikeforge_compiler::ir::Op;
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
                eprintln!(
                    "warning: node `{}`: {param} = {min:e} s gives dt/{param} = {:.3} > 2 at dt = {dt:e} s; \
                     forward Euler is unstable there (use --dt {:e} or smaller)",
                    graph.name(id),
                    dt / min,
                    min
                );
            }
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
