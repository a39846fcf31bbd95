//! Running golden bundles (`spikeforge regress`, `sf.regress`): every bundle on every engine
//! it names (reference executor; compile + simulator in exact mode with a target; hardware
//! mode if asked), compared with its recorded outputs and stats. Needs the bundle, engines,
//! divergence and junit modules; establishes one [`Outcome`] per bundle × engine, the table
//! the CLI prints and the JUnit cases. Nothing here prints.
//!
//! Bundles that cannot be read (bundle.ron, missing files, unknown target) are bad input:
//! [`load_bundles`] fails before anything runs. Whatever goes wrong while an engine runs is
//! that run's error, and the other runs go on.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{bail, Result};
use spikeforge_compiler::arrays::{read_npy_f64, NdArray};
use spikeforge_compiler::limits::Limits;
use spikeforge_simulator::NumericMode;

use crate::bundle::{self, Bundle};
use crate::bundle_stats::{self, StatOutcome};
use crate::divergence::{self, Axis, Divergence};
use crate::engines::{self, Engine, EngineRun, Prepared};
use crate::error::{chain_message, check_cancel};
use crate::junit::{Case, Verdict};
use crate::options::TargetArgs;
use crate::DriverError;

/// Every bundle under `dirs` (bundle folders, or folders with bundles in sub-folders), read
/// and checked, `chips` applied to the targets of those that name one.
pub fn load_bundles(dirs: &[PathBuf], limits: &Limits, chips: &TargetArgs) -> Result<Vec<Bundle>, DriverError> {
    let mut bundles = Vec::new();
    for dir in dirs {
        for (name, path) in bundle::discover(dir)? {
            bundles.push(bundle::load(&name, &path, limits, chips)?);
        }
    }
    Ok(bundles)
}

/// Runs every bundle on its engines; `context` steps are shown around a divergence. Pass
/// warnings go to `log`; `cancel` is checked between bundles.
pub fn run_bundles(
    bundles: &[Bundle],
    limits: &Limits,
    context: usize,
    log: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Result<Vec<Outcome>, DriverError> {
    let mut outcomes = Vec::new();
    for b in bundles {
        check_cancel(cancel)?;
        run_bundle(b, limits, context, log, &mut outcomes);
    }
    Ok(outcomes)
}

/// A stat path no engine reports is a mistake in the bundle (bad input), not a divergence.
pub fn check_stat_paths(outcomes: &[Outcome]) -> Result<(), DriverError> {
    match outcomes.iter().find_map(|o| o.stats.iter().find(|s| s.unknown_path).map(|s| (o, s))) {
        Some((o, s)) => Err(DriverError::bad_input(format!(
            "bundle `{}`: {} (check the stat's dotted path in bundle.ron)",
            o.bundle, s.message
        ))),
        None => Ok(()),
    }
}

/// The last line of the report: runs, bundles, passed, failed.
pub fn summary_line(outcomes: &[Outcome], bundles: usize) -> String {
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} of {}: {} passed, {} failed",
        plural(outcomes.len(), "run"),
        plural(bundles, "bundle"),
        outcomes.len() - failed,
        failed
    )
}

/// One bundle on one engine.
pub struct Outcome {
    pub bundle: String,
    pub engine: Engine,
    pub samples: Option<usize>,
    /// Output values that differ, of all.
    pub mismatch: Option<(usize, usize)>,
    pub first: Option<Divergence>,
    /// The divergence's context table, shape problems.
    pub details: String,
    pub stats: Vec<StatOutcome>,
    pub error: Option<String>,
    pub seconds: f64,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.first.is_none() && self.details.is_empty() && self.stats.iter().all(|s| s.ok)
    }

    /// One line for JUnit's `message` and the FAIL line.
    pub fn message(&self) -> String {
        if let Some(e) = &self.error {
            return e.lines().next().unwrap_or_default().to_string();
        }
        let mut parts = Vec::new();
        if let Some(d) = &self.first {
            parts.push(format!("first divergence at {d}"));
        } else if !self.details.is_empty() {
            parts.push(self.details.lines().next().unwrap_or_default().to_string());
        }
        parts.extend(self.stats.iter().filter(|s| !s.ok).map(|s| s.message.clone()));
        parts.join("; ")
    }

    /// The divergence with its context table, shape problems, every stat out of tolerance.
    pub fn full_details(&self) -> String {
        if let Some(e) = &self.error {
            return format!("{e}\n");
        }
        let mut s = String::new();
        if let Some(d) = &self.first {
            s.push_str(&format!("first divergence at {d}\n"));
        }
        s.push_str(&self.details);
        for st in self.stats.iter().filter(|s| !s.ok) {
            s.push_str(&format!("{}\n", st.message));
        }
        s
    }
}

/// The JUnit test case of one run.
pub fn case(o: &Outcome) -> Case {
    let verdict = match (&o.error, o.passed()) {
        (Some(_), _) => Verdict::Error { message: o.message(), details: o.full_details() },
        (None, true) => Verdict::Passed,
        (None, false) => Verdict::Failed { message: o.message(), details: o.full_details() },
    };
    Case { classname: o.bundle.clone(), name: o.engine.name().into(), seconds: o.seconds, verdict }
}

fn run_bundle(b: &Bundle, limits: &Limits, context: usize, log: &mut dyn FnMut(&str), out: &mut Vec<Outcome>) {
    let started = Instant::now();
    let calib = b.spec.calib.as_ref().map(|c| b.file(c));
    let prepared = engines::prepare(
        &b.file(&b.spec.model),
        &b.file(&b.spec.input),
        b.spec.passes.as_deref(),
        calib.as_deref(),
        b.dynamics,
        limits.clone(),
        &mut *log,
    );
    let prep_seconds = started.elapsed().as_secs_f64();
    for engine in b.engines() {
        let mut o = Outcome {
            bundle: b.name.clone(),
            engine,
            samples: None,
            mismatch: None,
            first: None,
            details: String::new(),
            stats: Vec::new(),
            error: None,
            seconds: 0.0,
        };
        let started = Instant::now();
        match &prepared {
            Ok(p) => {
                o.samples = Some(p.n);
                if let Err(e) = run_engine(b, p, engine, limits, context, &mut o) {
                    o.error = Some(format!("error: {}", chain_message(&e)));
                }
            }
            Err(e) => o.error = Some(format!("error: {}", chain_message(e))),
        }
        o.seconds = started.elapsed().as_secs_f64() + if engine == Engine::Reference { prep_seconds } else { 0.0 };
        out.push(o);
    }
}

fn expected(path: &Path, limits: &Limits) -> Result<NdArray<f64>> {
    Ok(read_npy_f64(path, limits)?)
}

fn run_engine(
    b: &Bundle,
    p: &Prepared,
    engine: Engine,
    limits: &Limits,
    context: usize,
    o: &mut Outcome,
) -> Result<()> {
    let (r, out_rel, layers_rel): (EngineRun, &str, Option<&String>) = match engine {
        Engine::Reference => (engines::run_reference(p)?, &b.spec.output, b.spec.layer_spikes.as_ref()),
        Engine::SimExact | Engine::SimHardware => {
            let Some(target) = &b.target else { bail!("no target") };
            let (mode, out_rel, layers_rel) = match (&b.spec.hardware, engine) {
                (Some(h), Engine::SimHardware) => (NumericMode::Hardware, &h.output, h.layer_spikes.as_ref()),
                _ => (NumericMode::Exact, &b.spec.output, b.spec.layer_spikes.as_ref()),
            };
            (engines::run_simulator(p, target, b.spec.seed, mode)?, out_rel.as_str(), layers_rel)
        }
    };
    let want = expected(&b.file(out_rel), limits)?;
    let got_shape = vec![p.n, p.t, r.output_len];
    if want.shape != got_shape {
        o.details =
            format!("{out_rel} has shape {:?}; the {} run produced {:?}\n", want.shape, engine.name(), got_shape);
        return Ok(());
    }
    let out_shape = [p.n, p.t, r.output_len];
    o.mismatch = Some((divergence::mismatches(&want.data, &r.output), want.data.len()));
    let out_axis = Axis::Neurons { layer: p.output_layer.clone() };
    let first_out = divergence::first(&want.data, &r.output, out_shape, &out_axis);
    let mut first_layers = None;
    let mut layers_data = None;
    if let Some(rel) = layers_rel {
        let wl = expected(&b.file(rel), limits)?;
        let l_shape = vec![p.n, p.t, r.layer_names.len()];
        if wl.shape != l_shape {
            o.details = format!(
                "{rel} has shape {:?}; the {} run produced {:?} (layers {})\n",
                wl.shape,
                engine.name(),
                l_shape,
                r.layer_names.join(", ")
            );
            return Ok(());
        }
        let got: Vec<f64> = r.layer_spikes.iter().map(|&v| v as f64).collect();
        let axis = Axis::Layers { names: r.layer_names.clone() };
        first_layers = divergence::first(&wl.data, &got, [p.n, p.t, r.layer_names.len()], &axis);
        layers_data = Some((wl.data, got));
    }
    o.first = divergence::earliest(first_out, first_layers, &p.output_layer);
    if let Some(d) = &o.first {
        let labels = ["expected", "got"];
        o.details = match (d.neuron, &layers_data) {
            (None, Some((w, g))) => divergence::context(w, g, [p.n, p.t, r.layer_names.len()], d, context, labels),
            _ => divergence::context(&want.data, &r.output, out_shape, d, context, labels),
        };
    }
    o.stats = bundle_stats::evaluate(&b.spec.stats, engine, &r.stats);
    Ok(())
}

/// The table of runs, one line each (no trailing newline after the last).
pub fn table_text(outcomes: &[Outcome]) -> String {
    let header = ["bundle", "engine", "samples", "mismatch", "first divergence", "stats", "time"];
    let rows: Vec<[String; 7]> = outcomes
        .iter()
        .map(|o| {
            let mismatch = match o.mismatch {
                Some((0, _)) => "0".to_string(),
                Some((n, total)) => format!("{:.6} ({n})", n as f64 / total.max(1) as f64),
                None => "-".into(),
            };
            let first = match (&o.first, &o.error) {
                (_, Some(_)) => "error".to_string(),
                (Some(d), None) => d.location(),
                (None, None) if !o.details.is_empty() => "shape mismatch".into(),
                (None, None) => "-".into(),
            };
            let ok = o.stats.iter().filter(|s| s.ok).count();
            let stats = if o.stats.is_empty() { "-".into() } else { format!("{ok}/{} ok", o.stats.len()) };
            [
                o.bundle.clone(),
                o.engine.name().into(),
                o.samples.map_or("-".into(), |n| n.to_string()),
                mismatch,
                first,
                stats,
                format!("{:.2} s", o.seconds),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    lines.join("\n")
}
