//! `spikeforge eval MODEL --input X --labels L [--passes P] [--calib C]`: accuracy and cost
//! before and after a pass pipeline.

use std::ops::Range;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;
use spikeforge_compiler::exec::{Executor, RunResult};
use spikeforge_compiler::ir::Graph;

use crate::inputs::{accuracy, parse_range, predictions, read_labels, read_samples};
use crate::model;
use crate::options::{DynamicsArgs, LimitArgs};
use crate::pipeline::PassArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Input spikes `[N, T, *input_shape]`.
    #[arg(short, long)]
    pub input: PathBuf,
    /// Class labels `[N]` (integers); prediction = argmax of output spike counts.
    #[arg(short, long)]
    pub labels: PathBuf,
    /// The pass pipeline to evaluate; calibration defaults to --input.
    #[command(flatten)]
    pub passes: PassArgs,
    /// Evaluate on these samples of --input/--labels only, e.g. 120..360.
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// Also run the model in this target's fixed-point numerics (the chip's hardware mode,
    /// without timing) and report its accuracy and its output mismatch against f64.
    #[arg(long)]
    pub target: Option<String>,
    /// `--chips CxR` and `--set FIELD=VALUE` change the target (only its numerics matter here).
    #[command(flatten)]
    pub chips: crate::options::TargetArgs,
    /// Write the figures as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Zero weights ÷ all weights, and Σ weights × bits (32 for unquantized layers).
fn weight_figures(graph: &Graph, bits: &[(String, u32)]) -> (f64, u64) {
    let (mut zeros, mut total, mut weight_bits) = (0usize, 0usize, 0u64);
    for n in graph.node_ids() {
        if let Some(w) = graph.op(n).weight() {
            zeros += w.numel() - w.nnz();
            total += w.numel();
            let b = bits.iter().rev().find(|(name, _)| name == graph.name(n)).map_or(32, |(_, b)| *b);
            weight_bits += w.numel() as u64 * b as u64;
        }
    }
    (if total == 0 { 0.0 } else { zeros as f64 / total as f64 }, weight_bits)
}

pub fn run(a: Args) -> Result<()> {
    let limits = a.limits.limits();
    let dynamics = a.dynamics.dynamics();
    let (mut graph, verified, _) = model::load(&a.model, &limits)?;
    let exec = Executor::new(&graph, &verified, dynamics, &limits)?;
    let x = read_samples(&a.input, &a.samples, &limits)?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| a.input.display().to_string())?;
    exec.check_run_size(n, t, &limits)?;
    let labels = read_labels(&a.labels, &a.samples, n, exec.output_len(), &limits)?;
    let before = exec.run(&x.data, n, t, a.threads);
    let acc_before = accuracy(&predictions(&before.output, n, t, before.output_len), &labels);
    let (sparsity_before, bits_before) = weight_figures(&graph, &[]);

    let mut bits = Vec::new();
    let after: RunResult = if a.passes.passes.is_some() {
        let mut verified = verified;
        let calib = a.passes.calibration(&graph, &verified, Some(&a.input), dynamics, &limits)?;
        for r in a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits)? {
            bits.extend(r.weight_bits);
        }
        Executor::new(&graph, &verified, dynamics, &limits)?.run(&x.data, n, t, a.threads)
    } else {
        before.clone()
    };
    let acc = accuracy(&predictions(&after.output, n, t, after.output_len), &labels);
    let mismatch = before.output.iter().zip(&after.output).filter(|(p, q)| p != q).count() as f64
        / before.output.len().max(1) as f64;
    let (sparsity, weight_bits) = weight_figures(&graph, &bits);
    let sops = after.sops_weight_layers() as f64 / n as f64;
    let mut hw_line = String::new();
    if a.target.is_none() && a.chips.changes_target() {
        anyhow::bail!("--chips and --set change the target; give one with --target");
    }
    let hardware = match &a.target {
        Some(spec) => {
            let target = crate::cmd_target::load_with(spec, &a.chips, &limits)?;
            let verified = graph.verify(&limits).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let net = spikeforge_compiler::mapper::lower::lower(&graph, &verified, dynamics.dt)?;
            let r =
                spikeforge_compiler::exec::fixed::run_fixed(&net, &target.spec().numerics, &dynamics, &x.data, n, t);
            let acc_hw = accuracy(&predictions(&r.output, n, t, r.output_len), &labels);
            let mism = r.output.iter().zip(&after.output).filter(|(p, q)| p != q).count() as f64
                / r.output.len().max(1) as f64;
            hw_line = format!(
                "hardware numerics              {}: accuracy {:.4}, output mismatch vs f64 {:.6}, {} values clamped",
                target.name(),
                acc_hw,
                mism,
                r.saturated
            );
            Some(
                json!({"target": target.name(), "accuracy": acc_hw, "output_mismatch_fraction_vs_f64": mism, "saturated_values": r.saturated}),
            )
        }
        None => None,
    };
    println!("samples                        {n} × {t} steps");
    println!("accuracy                       {:.4} (before passes {:.4})", acc, acc_before);
    println!("output spike mismatch          {:.6}", mismatch);
    println!(
        "SOPs per sample                {:.1} (before {:.1})",
        sops,
        before.sops_weight_layers() as f64 / n as f64
    );
    println!("connection sparsity            {:.4} (before {:.4})", sparsity, sparsity_before);
    println!("weight memory                  {} bits (before {})", weight_bits, bits_before);
    if !hw_line.is_empty() {
        println!("{hw_line}");
    }
    if let Some(p) = &a.json {
        let j = json!({
            "model": a.model.display().to_string(),
            "passes": a.passes.passes,
            "n_samples": n,
            "n_steps": t,
            "accuracy": acc,
            "accuracy_before": acc_before,
            "output_mismatch_fraction": mismatch,
            "sops_weight_layers_per_sample": sops,
            "sops_weight_layers_per_sample_before": before.sops_weight_layers() as f64 / n as f64,
            "connection_sparsity": sparsity,
            "weight_bits_total": weight_bits,
            "weight_bits_total_before": bits_before,
            "hardware": hardware,
        });
        spikeforge_compiler::atomic::write_atomically(p, (serde_json::to_string_pretty(&j)? + "\n").as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
