//! Recording a golden bundle (`spikeforge trace record`): run a model (after optional
//! passes) on an input, optionally compile it onto a target and simulate it in exact and
//! hardware mode, and write bundle.ron, the model, input.npy, output.npy, layer_spikes.npy
//! and the expected stats into a new folder. Needs the engines and bundle modules;
//! establishes that the folder appears whole or not at all (written beside it, checked by
//! reading it back, then renamed into place) and that an existing bundle is replaced only
//! with `force`.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::write_npy;
use spikeforge_compiler::exec::semantics::reset_timing_name;
use spikeforge_compiler::limits::Limits;
use spikeforge_simulator::NumericMode;
use spikeforge_targets::atomic::write_atomically;

use crate::bundle::{self, BundleSpec, HardwareSpec, BUNDLE_FILE};
use crate::bundle_stats;
use crate::divergence;
use crate::engines::{self, Engine, EngineRun};
use crate::error::{check_cancel, DriverError};
use crate::inputs::{read_samples, write_outputs};
use crate::model::{self, Format};
use crate::options::{DynamicsArgs, TargetArgs};
use crate::pipeline::PassArgs;

/// What to record and where.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// Model file: .nir or .snn.
    pub model: PathBuf,
    /// Input spikes `[N, T, *input_shape]`.
    pub input: PathBuf,
    /// The bundle folder to create.
    pub output: PathBuf,
    /// Keep only these samples of the input.
    pub samples: Option<Range<usize>>,
    /// Also compile onto this target (file or preset) and simulate in exact mode.
    pub target: Option<String>,
    /// `--chips` / `--set` changes of the target; the bundle then stores it as `target.ron`.
    pub chips: TargetArgs,
    /// Seed of the optimizing placement.
    pub seed: u64,
    /// Also record the target's fixed-point spikes and check the simulator's hardware mode.
    pub hardware: bool,
    /// Relative tolerance of the recorded stats.
    pub rel_tol: f64,
    /// Replace an existing bundle folder.
    pub force: bool,
    pub passes: PassArgs,
    pub dynamics: DynamicsArgs,
    pub limits: Limits,
}

/// What was recorded.
#[derive(Clone, Debug)]
pub struct RecordSummary {
    pub folder: PathBuf,
    pub samples: usize,
    pub steps: usize,
    /// The engines run, e.g. `reference`, `simulator-exact (loihi)`.
    pub engines: Vec<String>,
    pub expected_stats: usize,
}

/// Removes a half-written folder unless disarmed.
struct TempDir(Option<PathBuf>);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

fn sibling(out: &Path, tag: &str) -> PathBuf {
    let name = out.file_name().map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Copies the bytes (not the permissions: golden sources are often read-only).
fn copy(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("{}: cannot read", from.display()))?;
    spikeforge_compiler::atomic::write_atomically(to, &bytes).with_context(|| format!("writing {}", to.display()))
}

/// Spikes as uint8 when every value is 0 or 1, else float64.
fn write_input(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    if data.iter().all(|&v| v == 0.0 || v == 1.0) {
        write_npy(path, shape, &data.iter().map(|&v| v as u8).collect::<Vec<u8>>())?;
    } else {
        write_npy(path, shape, data)?;
    }
    Ok(())
}

fn warn_if_differs(what: &str, want: (&[f64], &[i64]), got: &EngineRun, log: &mut dyn FnMut(&str)) {
    let n = divergence::mismatches(want.0, &got.output);
    let l = want.1.iter().zip(&got.layer_spikes).filter(|(a, b)| a != b).count();
    if n > 0 || l > 0 || want.1.len() != got.layer_spikes.len() {
        log(&format!(
            "warning: {what}: {n} output values and {l} layer counts differ; recorded the reference's spikes"
        ));
    }
}

/// Records a bundle (see the module docs). Warnings go to `log`; `cancel` is checked
/// between engines, and a cancelled call leaves no folder behind.
pub fn record(o: &RecordOptions, log: &mut dyn FnMut(&str), cancel: &AtomicBool) -> Result<RecordSummary, DriverError> {
    record_inner(o, log, cancel).map_err(DriverError::from)
}

fn record_inner(o: &RecordOptions, log: &mut dyn FnMut(&str), cancel: &AtomicBool) -> Result<RecordSummary> {
    crate::outputs::check_output_paths(
        &[("model", Some(&o.model)), ("--input", Some(&o.input)), ("--calib", o.passes.calib.as_deref())],
        &[("--output", Some(&o.output))],
    )?;
    let limits = &o.limits;
    if o.hardware && o.target.is_none() {
        bail!("--hardware needs --target (hardware mode is the target's fixed point)");
    }
    if !(o.rel_tol.is_finite() && o.rel_tol >= 0.0) {
        bail!("--rel-tol must be a finite number ≥ 0, got {}", o.rel_tol);
    }
    if o.target.is_none() && o.chips.changes_target() {
        bail!("--chips and --set change the target; give one with --target");
    }
    let out = &o.output;
    if out.exists() && !o.force {
        bail!("{}: already exists (use --force to replace it)", out.display());
    }
    // Folders left by killed runs (their process is gone) are removed first.
    let name = out.file_name().map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    for tag in ["tmp", "old"] {
        let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        spikeforge_targets::atomic::remove_stale_temporaries(dir, &format!(".{name}.{tag}-"), |p| {
            std::fs::remove_dir_all(p)
        });
    }
    let tmp = sibling(out, "tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut guard = TempDir(Some(tmp.clone()));
    let file = |f: &str| tmp.join(f);

    let (graph, _, _) = model::load(&o.model, limits)?;
    let dynamics = o.dynamics.resolve(&graph);
    let model_name = match Format::of(&o.model)? {
        Format::Nir => {
            copy(&o.model, &file("model.nir"))?;
            "model.nir"
        }
        Format::Snn => {
            spikeforge_compiler::text::write_snn(&graph, &file("model.snn")).context("writing model.snn")?;
            "model.snn"
        }
    };
    let x = read_samples(&o.input, &o.samples, limits)?;
    write_input(&file("input.npy"), &x.shape, &x.data)?;
    let mut spec = BundleSpec::new(model_name, "input.npy", "output.npy");
    spec.semantics = Some(dynamics.semantics.name().into());
    spec.dt_s = Some(dynamics.dt);
    spec.reset = Some(dynamics.reset.name().into());
    spec.spike_test = Some(dynamics.spike_test.name().into());
    spec.reset_timing = dynamics.reset_timing.map(|t| reset_timing_name(t).into());
    spec.passes = o.passes.passes.clone();
    spec.seed = o.seed;
    if let (Some(c), Some(_)) = (&o.passes.calib, &o.passes.passes) {
        let c = read_samples(c, &o.passes.calib_samples, limits)?;
        write_input(&file("calib.npy"), &c.shape, &c.data)?;
        spec.calib = Some("calib.npy".into());
    }
    let target = match &o.target {
        Some(t) => {
            let loaded = crate::target::load_with(t, &o.chips, limits)?;
            if o.chips.changes_target() {
                write_atomically(&file("target.ron"), spikeforge_targets::to_ron(loaded.spec()).as_bytes())
                    .with_context(|| format!("writing {}", file("target.ron").display()))?;
                spec.target = Some("target.ron".into());
            } else if Path::new(t).exists() {
                copy(Path::new(t), &file("target.ron"))?;
                spec.target = Some("target.ron".into());
            } else {
                spec.target = Some(t.clone());
            }
            Some(loaded)
        }
        None => None,
    };

    let calib = spec.calib.as_ref().map(|c| file(c));
    let p = engines::prepare(
        &file(model_name),
        &file("input.npy"),
        spec.passes.as_deref(),
        calib.as_deref(),
        dynamics,
        limits.clone(),
        log,
    )?;
    check_cancel(cancel)?;
    let r = engines::run_reference(&p)?;
    let shape = [p.n, p.t, r.output_len];
    write_outputs(&file("output.npy"), &shape, &r.output, log)?;
    write_npy(&file("layer_spikes.npy"), &[p.n, p.t, r.layer_names.len()], &r.layer_spikes)?;
    spec.layer_spikes = Some("layer_spikes.npy".into());
    spec.layers = r.layer_names.clone();
    spec.output_layer = Some(p.output_layer.clone());
    spec.stats = bundle_stats::recorded(Engine::Reference, &r.stats, o.rel_tol);
    let mut engines_run = vec![Engine::Reference.name().to_string()];
    if let Some(t) = &target {
        check_cancel(cancel)?;
        let s = engines::run_simulator(&p, t, o.seed, NumericMode::Exact)?;
        warn_if_differs("the simulator in exact mode", (&r.output, &r.layer_spikes), &s, log);
        spec.stats.extend(bundle_stats::recorded(Engine::SimExact, &s.stats, o.rel_tol));
        engines_run.push(format!("{} ({})", Engine::SimExact.name(), t.name()));
        if o.hardware {
            check_cancel(cancel)?;
            let (y, y_len, layers) = engines::run_fixed_reference(&p, t)?;
            write_outputs(&file("output_hardware.npy"), &[p.n, p.t, y_len], &y, log)?;
            write_npy(&file("layer_spikes_hardware.npy"), &[p.n, p.t, r.layer_names.len()], &layers)?;
            check_cancel(cancel)?;
            let h = engines::run_simulator(&p, t, o.seed, NumericMode::Hardware)?;
            warn_if_differs("the simulator in hardware mode vs the fixed-point reference", (&y, &layers), &h, log);
            spec.stats.extend(bundle_stats::recorded(Engine::SimHardware, &h.stats, o.rel_tol));
            spec.hardware = Some(HardwareSpec {
                output: "output_hardware.npy".into(),
                layer_spikes: Some("layer_spikes_hardware.npy".into()),
            });
            engines_run.push(Engine::SimHardware.name().into());
        }
    }
    spikeforge_compiler::atomic::write_atomically(&file(BUNDLE_FILE), bundle::to_ron(&spec)?.as_bytes())
        .context("writing bundle.ron")?;
    bundle::load("recorded", &tmp, limits, &Default::default()).context("the recorded bundle does not read back")?;
    check_cancel(cancel)?;

    if out.exists() {
        let old = sibling(out, "old");
        std::fs::rename(out, &old).with_context(|| format!("moving the old {} aside", out.display()))?;
        std::fs::rename(&tmp, out).with_context(|| format!("creating {}", out.display()))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, out).with_context(|| format!("creating {}", out.display()))?;
    }
    guard.0 = None;
    Ok(RecordSummary {
        folder: out.clone(),
        samples: p.n,
        steps: p.t,
        engines: engines_run,
        expected_stats: spec.stats.len(),
    })
}
