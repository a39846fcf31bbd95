//! `spikeforge compare MODEL --targets loihi,loihi2,speck --input X.npy --out DIR`: the model
//! compiled and simulated on each target (or core maps read with `--maps`), one table on
//! stdout and CSV, JSON, HTML, core maps and statistics in DIR.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::exec::Executor;
use spikeforge_driver::compare::table::{text, write_dir};
use spikeforge_driver::compare::{map_candidate, run, split_list, target_candidate, ComparePlan, Phase};
use spikeforge_driver::compile::Placement;
use spikeforge_driver::inputs::{parse_range, read_samples};
use spikeforge_driver::model;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs, TargetArgs};
use spikeforge_driver::pipeline::{prepare_mapping, PassArgs};
use spikeforge_driver::simulate::Numeric;
use spikeforge_driver::DriverError;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir or .snn (not needed with --maps alone).
    pub model: Option<PathBuf>,
    /// Targets, comma-separated: presets or .ron files, each optionally with its grid of
    /// chips, `NAME@CxR` or `NAME@auto` (`loihi@2x1,loihi@2x2` asks "2 or 4 chips?").
    #[arg(long, value_name = "T1,T2,…")]
    pub targets: Option<String>,
    /// Core maps written by `spikeforge compile`, comma-separated, compared as they are.
    #[arg(long, value_name = "A.map,B.map")]
    pub maps: Option<String>,
    /// `--chips CxR|auto` applies to every target without its own `@CxR`; `--set` to all.
    #[command(flatten)]
    pub chips: TargetArgs,
    /// Input spikes `[N, T, *input_shape]` (.npy) simulated on every target.
    #[arg(short, long)]
    pub input: PathBuf,
    /// Use these samples of the input only, e.g. 0..16.
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// Folder (must exist) for compare.csv, compare.json, compare.html and each target's
    /// core map and statistics (`NAME.map`, `NAME.stats.json`, for `spikeforge report`).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "exact")]
    pub numeric: Numeric,
    #[arg(long, value_enum, default_value = "optimized")]
    pub placement: Placement,
    /// Seed of the optimizing placement.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Simulator threads (default: one per CPU). Results are the same for any count.
    #[arg(long, value_parser = crate::parse_threads)]
    pub threads: Option<usize>,
    /// Passes run once before every target (target-independent: `finetune` does not train
    /// on a target's weight grid here).
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run_cmd(a: Args) -> Result<()> {
    let limits = a.limits.limits();
    let targets = a.targets.as_deref().map(split_list).unwrap_or_default();
    let maps = a.maps.as_deref().map(split_list).unwrap_or_default();
    if targets.is_empty() && maps.is_empty() {
        bail!("nothing to compare: give --targets loihi,loihi2,… and/or --maps a.map,b.map");
    }
    if !targets.is_empty() && a.model.is_none() {
        bail!("--targets needs the MODEL to compile (only --maps can go without it)");
    }
    let map_paths: Vec<PathBuf> = maps.iter().map(PathBuf::from).collect();
    let mut ins = vec![("--input", Some(a.input.as_path())), ("--calib", a.passes.calib.as_deref())];
    ins.push(("model", a.model.as_deref()));
    for p in &map_paths {
        ins.push(("--maps", Some(p.as_path())));
    }
    let outs = [a.out.join("compare.csv"), a.out.join("compare.json"), a.out.join("compare.html")];
    spikeforge_driver::outputs::check_output_paths(
        &ins,
        &outs.iter().map(|p| ("--out", Some(p.as_path()))).collect::<Vec<_>>(),
    )?;
    if !a.out.is_dir() {
        bail!("--out {}: not a folder (create it first: outputs never create folders)", a.out.display());
    }
    let mut candidates = vec![];
    for t in &targets {
        candidates.push(target_candidate(t, &a.chips, &limits).map_err(DriverError::into_anyhow)?);
    }
    for p in &map_paths {
        candidates.push(map_candidate(p, &limits).map_err(DriverError::into_anyhow)?);
    }
    let x = read_samples(&a.input, &a.samples, &limits)?;
    let input_name = a.input.display().to_string();

    let mut prepared = None;
    let (mut dynamics, mut calibration, mut model_name) =
        (a.dynamics.with_default(None), None, "core maps".to_string());
    if let Some(path) = &a.model {
        let (mut graph, mut verified, _) = model::load(path, &limits)?;
        dynamics = a.dynamics.resolve(&graph);
        for w in model::unstable_euler_warnings(&graph, dynamics.dt) {
            eprintln!("warning: {w}");
        }
        let mut passes = a.passes.clone();
        passes.quiet = crate::progress::quiet();
        let calib = passes.calibration(&graph, &verified, None, dynamics, &limits)?;
        passes.target_numerics = None;
        passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits, &mut crate::log_stderr)?;
        model_name = path.display().to_string();
        calibration = prepare_mapping(&graph, &verified, &model_name, calib.as_ref(), dynamics, &limits)?;
        if !targets.is_empty() {
            let exec = Executor::new(&graph, &verified, dynamics, &limits)?;
            exec.check_input(&x.shape).with_context(|| input_name.clone())?;
        }
        prepared = Some((graph, verified));
    }
    let plan = ComparePlan {
        model: prepared.as_ref().map(|(g, v)| (g, v)),
        dynamics,
        calibration,
        model_name,
        input: &x.data,
        input_shape: &x.shape,
        input_name,
        numeric: a.numeric,
        placement: a.placement,
        seed: a.seed,
        threads: a.threads,
        limits: &limits,
    };
    let labels: Vec<String> = candidates.iter().map(|c| c.label().to_string()).collect();
    let bar = crate::progress::bar(labels.len() as u64, "targets");
    let mut on_progress = |i: usize, label: &str, phase: Phase| match phase {
        Phase::Running => bar.set_message(format!("compiling and simulating on {label}")),
        Phase::Done => bar.set_position(i as u64 + 1),
    };
    let c = run(&plan, candidates, &mut on_progress, &AtomicBool::new(false)).map_err(DriverError::into_anyhow)?;
    bar.finish_and_clear();
    let written = write_dir(&c, &a.out)?;
    print!("{}", text(&c));
    println!(
        "compared {} on {} targets with {} samples × {} steps; wrote {}, {}, {} and {} core maps",
        c.model,
        c.entries.len(),
        c.n_samples,
        c.n_steps,
        written.csv.display(),
        written.json.display(),
        written.html.display(),
        written.maps.len()
    );
    Ok(())
}
