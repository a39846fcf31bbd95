//! `spikeforge trace record MODEL --input X -o DIR`: make a golden bundle from a run;
//! `spikeforge trace diff A.npy B.npy`: where two spike arrays diverge.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use spikeforge_driver::error::Differs;
use spikeforge_driver::inputs::parse_range;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;
use spikeforge_driver::record::{self, RecordOptions};
use spikeforge_driver::spike_diff::{self, ArrayKind, DiffOptions};
use spikeforge_driver::DriverError;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Run a model and store it as a golden bundle: bundle.ron, the model, input.npy,
    /// output.npy, layer_spikes.npy and expected stats (for `spikeforge regress`).
    Record(RecordArgs),
    /// Compare two spike arrays [samples, steps, neurons] or layer_spikes [samples, steps,
    /// layers]: mismatch fraction, first divergence and the spikes around it. Exit 1 when
    /// they differ.
    Diff(DiffArgs),
}

#[derive(clap::Args)]
pub struct RecordArgs {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Input spikes `[N, T, *input_shape]`.
    #[arg(short, long)]
    pub input: PathBuf,
    /// The bundle folder to create.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Keep only these samples of the input, e.g. 0..32.
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// Also compile onto this target (file or preset) and simulate in exact mode.
    #[arg(long)]
    pub target: Option<String>,
    /// `--chips CxR` and `--set FIELD=VALUE` change the target; the bundle then stores the
    /// changed target as `target.ron`.
    #[command(flatten)]
    pub chips: spikeforge_driver::options::TargetArgs,
    /// Seed of the optimizing placement.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also record the target's fixed-point spikes and check the simulator's hardware mode.
    #[arg(long)]
    pub hardware: bool,
    /// Relative tolerance of the recorded stats.
    #[arg(long, default_value_t = 1e-6)]
    pub rel_tol: f64,
    /// Replace an existing bundle folder.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The expected array (.npy).
    pub a: PathBuf,
    /// The array compared with it (.npy).
    pub b: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    pub kind: ArrayKind,
    /// The model, for layer names and sizes (else a bundle.ron beside A, if any).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Steps shown before and after the divergence.
    #[arg(long, default_value_t = 3)]
    pub context: usize,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(c: Command) -> Result<()> {
    match c {
        Command::Record(a) => record(a),
        Command::Diff(a) => diff(a),
    }
}

fn record(a: RecordArgs) -> Result<()> {
    let o = RecordOptions {
        model: a.model,
        input: a.input,
        output: a.output,
        samples: a.samples,
        target: a.target,
        chips: a.chips,
        seed: a.seed,
        hardware: a.hardware,
        rel_tol: a.rel_tol,
        force: a.force,
        passes: a.passes,
        dynamics: a.dynamics,
        limits: a.limits.limits(),
    };
    let s = crate::progress::during("recording the bundle (reference run, then any simulations)", || {
        record::record(&o, &mut crate::log_stderr, &AtomicBool::new(false))
    })
    .map_err(DriverError::into_anyhow)?;
    println!(
        "recorded {}: {} samples × {} steps, engines {}, {} expected stats",
        s.folder.display(),
        s.samples,
        s.steps,
        s.engines.join(", "),
        s.expected_stats
    );
    Ok(())
}

fn diff(a: DiffArgs) -> Result<()> {
    let o = DiffOptions {
        a: a.a,
        b: a.b,
        kind: a.kind,
        model: a.model,
        context_steps: a.context,
        dynamics: a.dynamics,
        limits: a.limits.limits(),
    };
    let r = spike_diff::diff(&o).map_err(DriverError::into_anyhow)?;
    println!("A: {} {:?}", o.a.display(), r.a_shape);
    println!("B: {} {:?}", o.b.display(), r.b_shape);
    println!("read as [samples, steps, K]: {}", r.what);
    let Some(first) = r.first else {
        println!("identical: {} values", r.values);
        return Ok(());
    };
    println!("mismatch: {} of {} values ({:.6})", r.mismatches, r.values, r.mismatches as f64 / r.values.max(1) as f64);
    println!("first divergence: {}", first.description);
    print!("{}", first.context);
    Err(Differs(String::new()).into())
}
