//! `spikeforge prune MODEL --passes "prune(…)" -o OUT [--export-masks M]`: prune (and
//! otherwise transform) a model, write it back as NIR or `.snn` for fine-tuning in a
//! training framework, and export masks and scores keyed by node name.

use std::path::PathBuf;

use anyhow::{bail, Result};
use spikeforge_compiler::passes::mask::{export_masks, MaskFormat};

use spikeforge_driver::eval::WeightCounts;
use spikeforge_driver::model::{self, Format, Model};
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// The pruned model (.nir or .snn).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Masks (1 where a weight survives, `<node>.weight`) and the scores the passes ranked
    /// by (`<node>.score`), as safetensors or, for a path ending in `.npz`, numpy's npz;
    /// `mask(path=…)` applies such a file.
    #[arg(long)]
    pub export_masks: Option<PathBuf>,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(mut a: Args) -> Result<()> {
    a.passes.quiet = crate::progress::quiet();
    spikeforge_driver::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("--calib", a.passes.calib.as_deref())],
        &[("--output", a.output.as_deref()), ("--export-masks", a.export_masks.as_deref())],
    )?;
    if a.passes.passes.is_none() {
        bail!("prune needs --passes, e.g. --passes \"prune(method=sbc, sparsity=0.8)\" with --calib X.npy");
    }
    if a.output.is_none() && a.export_masks.is_none() {
        bail!("nothing to write: give -o OUT.nir|OUT.snn and/or --export-masks M.safetensors|M.npz");
    }
    if let Some(path) = &a.export_masks {
        MaskFormat::of(path).map_err(anyhow::Error::msg)?;
    }
    if let Some(path) = a.output.as_deref() {
        Format::of(path)?;
    }
    let limits = a.limits.limits();
    let (mut graph, mut verified, _) = model::load(&a.model, &limits)?;
    let original = WeightCounts::of(&graph, &[]);
    let dynamics = a.dynamics.resolve(&graph);
    let calib = a.passes.calibration(&graph, &verified, None, dynamics, &limits)?;
    let reports =
        a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
    let bits: Vec<(String, u32)> = reports.iter().flat_map(|r| r.weight_bits.iter().cloned()).collect();
    let after = WeightCounts::of(&graph, &bits);
    let model = Model { graph, verified, name: a.model.display().to_string() };
    println!(
        "weights: {} nonzero of {} stored, {} in the original model: connection sparsity {:.4}; {} bits in nonzero weights (before {})",
        after.nonzero,
        after.stored,
        original.stored,
        after.sparsity_against(&original),
        after.nonzero_bits,
        original.nonzero_bits
    );
    if let Some(path) = &a.output {
        let format = model.save(path).map_err(|e| e.into_anyhow())?;
        println!("wrote {} ({})", path.display(), format.describe());
    }
    if let Some(path) = &a.export_masks {
        let scores: Vec<_> = reports.into_iter().flat_map(|r| r.scores).collect();
        export_masks(&model.graph, &scores, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        println!("wrote masks and {} score tensors to {}", scores.len(), path.display());
    }
    Ok(())
}
