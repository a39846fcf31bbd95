//! `spikeforge eval MODEL --input X --labels L [--passes P] [--calib C]`: accuracy and cost
//! before and after a pass pipeline.

use std::ops::Range;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;
use spikeforge_compiler::exec::{Executor, RunResult};
use spikeforge_compiler::ir::Graph;

use spikeforge_driver::inputs::{accuracy, parse_range, predictions, read_labels, read_samples};
use spikeforge_driver::model;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;

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
    pub chips: spikeforge_driver::options::TargetArgs,
    /// Write the figures as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads over samples (0 = all cores; at most 4 × the cores).
    #[arg(long, default_value_t = 0, value_parser = crate::parse_threads)]
    pub threads: usize,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Weights of a model: how many are stored, how many are nonzero, and the bits the nonzero
/// ones take (32 per weight of an unquantized layer, else its `bits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightCounts {
    pub stored: usize,
    pub nonzero: usize,
    pub nonzero_bits: u64,
}

impl WeightCounts {
    pub fn of(graph: &Graph, bits: &[(String, u32)]) -> WeightCounts {
        let mut c = WeightCounts { stored: 0, nonzero: 0, nonzero_bits: 0 };
        for n in graph.node_ids() {
            if let Some(w) = graph.op(n).weight() {
                let b = bits.iter().rev().find(|(name, _)| name == graph.name(n)).map_or(32, |(_, b)| *b);
                c.stored += w.numel();
                c.nonzero += w.nnz();
                c.nonzero_bits += w.nnz() as u64 * u64::from(b);
            }
        }
        c
    }

    /// Connection sparsity against `original`: weights that are zero or were deleted (by
    /// `cleanup`) ÷ the original model's weights, so that shrinking a model does not hide
    /// its pruning.
    pub fn sparsity_against(&self, original: &WeightCounts) -> f64 {
        if original.stored == 0 {
            0.0
        } else {
            1.0 - self.nonzero as f64 / original.stored as f64
        }
    }
}

pub fn run(mut a: Args) -> Result<()> {
    spikeforge_driver::outputs::check_output_paths(
        &[
            ("model", Some(&a.model)),
            ("--input", Some(&a.input)),
            ("--labels", Some(&a.labels)),
            ("--calib", a.passes.calib.as_deref()),
        ],
        &[("--json", a.json.as_deref())],
    )?;
    let limits = a.limits.limits();
    a.passes.quiet = crate::progress::quiet();
    let (mut graph, verified, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    for w in model::unstable_euler_warnings(&graph, dynamics.dt) {
        eprintln!("warning: {w}");
    }
    let exec = Executor::new(&graph, &verified, dynamics, &limits)?;
    let x = read_samples(&a.input, &a.samples, &limits)?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| a.input.display().to_string())?;
    exec.check_run_size(n, t, &limits)?;
    let labels = read_labels(&a.labels, &a.samples, n, exec.output_len(), &limits)?;
    let before = crate::progress::during(format!("running {n} samples before the passes"), || {
        exec.run(&x.data, n, t, a.threads)
    });
    let acc_before = accuracy(&predictions(&before.output, n, t, before.output_len), &labels);
    let original = WeightCounts::of(&graph, &[]);

    let mut bits = Vec::new();
    let after: RunResult = if a.passes.passes.is_some() {
        let mut verified = verified;
        if let Some(note) = a.passes.calibration_fallback_note(&a.input) {
            eprintln!("{note}");
        }
        let calib = a.passes.calibration(&graph, &verified, Some(&a.input), dynamics, &limits)?;
        if let Some(spec) = &a.target {
            a.passes.target_numerics =
                Some(spikeforge_driver::target::load_with(spec, &a.chips, &limits)?.spec().numerics.clone());
        }
        for r in a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)? {
            bits.extend(r.weight_bits);
        }
        let exec = Executor::new(&graph, &verified, dynamics, &limits)?;
        crate::progress::during(format!("running {n} samples after the passes"), || exec.run(&x.data, n, t, a.threads))
    } else {
        before.clone()
    };
    let acc = accuracy(&predictions(&after.output, n, t, after.output_len), &labels);
    let mismatch = before.output.iter().zip(&after.output).filter(|(p, q)| p != q).count() as f64
        / before.output.len().max(1) as f64;
    let after_counts = WeightCounts::of(&graph, &bits);
    let (sparsity, sparsity_before) = (after_counts.sparsity_against(&original), original.sparsity_against(&original));
    let (weight_bits, bits_before) = (after_counts.nonzero_bits, original.nonzero_bits);
    let sops = after.sops_weight_layers() as f64 / n as f64;
    let mut hw_line = String::new();
    if a.target.is_none() && a.chips.changes_target() {
        anyhow::bail!("--chips and --set change the target; give one with --target");
    }
    let hardware = match &a.target {
        Some(spec) => {
            let target = spikeforge_driver::target::load_with(spec, &a.chips, &limits)?;
            let verified = graph.verify(&limits).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let net = spikeforge_compiler::mapper::lower::lower(&graph, &verified, &dynamics)?;
            let r = crate::progress::during(format!("running {n} samples in `{}` numerics", target.name()), || {
                spikeforge_compiler::exec::fixed::run_fixed(&net, &target.spec().numerics, &x.data, n, t)
            });
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
    println!(
        "connection sparsity            {:.4} (before {:.4}; zero or deleted weights of the original {})",
        sparsity, sparsity_before, original.stored
    );
    println!(
        "weight memory                  {} bits in {} nonzero weights (before {} bits in {})",
        weight_bits, after_counts.nonzero, bits_before, original.nonzero
    );
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
            "connection_sparsity_before": sparsity_before,
            "weights_original": original.stored,
            "weights_stored": after_counts.stored,
            "weights_nonzero": after_counts.nonzero,
            "weight_bits_total": weight_bits,
            "weight_bits_total_before": bits_before,
            "hardware": hardware,
        });
        spikeforge_compiler::atomic::write_atomically(p, (serde_json::to_string_pretty(&j)? + "\n").as_bytes())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
