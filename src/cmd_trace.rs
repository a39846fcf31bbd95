//! `spikeforge trace record MODEL --input X -o DIR`: make a golden bundle from a run;
//! `spikeforge trace diff A.npy B.npy`: where two spike arrays diverge.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::{read_npy_f64, write_npy};
use spikeforge_compiler::exec::semantics::reset_timing_name;
use spikeforge_compiler::exec::Executor;
use spikeforge_compiler::limits::Limits;
use spikeforge_simulator::NumericMode;
use spikeforge_targets::atomic::write_atomically;

use spikeforge_driver::bundle::{self, BundleSpec, HardwareSpec, BUNDLE_FILE};
use spikeforge_driver::bundle_stats;
use spikeforge_driver::divergence::{self, Axis};
use spikeforge_driver::engines::{self, Engine, EngineRun};
use spikeforge_driver::error::Differs;
use spikeforge_driver::inputs::{parse_range, read_samples, write_outputs};
use spikeforge_driver::model::{self, Format};
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::pipeline::PassArgs;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Output arrays when the file name does not say `layer`, or by the model's sizes.
    Auto,
    /// `[samples, steps, neurons]` of the output layer.
    Output,
    /// `[samples, steps, layers]` spike counts per spiking layer.
    Layers,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// The expected array (.npy).
    pub a: PathBuf,
    /// The array compared with it (.npy).
    pub b: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    pub kind: Kind,
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

fn warn_if_differs(what: &str, want: (&[f64], &[i64]), got: &EngineRun) {
    let n = divergence::mismatches(want.0, &got.output);
    let l = want.1.iter().zip(&got.layer_spikes).filter(|(a, b)| a != b).count();
    if n > 0 || l > 0 || want.1.len() != got.layer_spikes.len() {
        eprintln!("warning: {what}: {n} output values and {l} layer counts differ; recorded the reference's spikes");
    }
}

fn record(a: RecordArgs) -> Result<()> {
    spikeforge_driver::outputs::check_output_paths(
        &[("model", Some(&a.model)), ("--input", Some(&a.input)), ("--calib", a.passes.calib.as_deref())],
        &[("--output", Some(&a.output))],
    )?;
    let limits = a.limits.limits();
    if a.hardware && a.target.is_none() {
        bail!("--hardware needs --target (hardware mode is the target's fixed point)");
    }
    if !(a.rel_tol.is_finite() && a.rel_tol >= 0.0) {
        bail!("--rel-tol must be a finite number ≥ 0, got {}", a.rel_tol);
    }
    let out = &a.output;
    if out.exists() && !a.force {
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

    let (graph, _, _) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    let model_name = match Format::of(&a.model)? {
        Format::Nir => {
            copy(&a.model, &file("model.nir"))?;
            "model.nir"
        }
        Format::Snn => {
            spikeforge_compiler::text::write_snn(&graph, &file("model.snn")).context("writing model.snn")?;
            "model.snn"
        }
    };
    let x = read_samples(&a.input, &a.samples, &limits)?;
    write_input(&file("input.npy"), &x.shape, &x.data)?;
    let mut spec = BundleSpec::new(model_name, "input.npy", "output.npy");
    spec.semantics = Some(dynamics.semantics.name().into());
    spec.dt_s = Some(dynamics.dt);
    spec.reset = Some(dynamics.reset.name().into());
    spec.spike_test = Some(dynamics.spike_test.name().into());
    spec.reset_timing = dynamics.reset_timing.map(|t| reset_timing_name(t).into());
    spec.passes = a.passes.passes.clone();
    spec.seed = a.seed;
    if let (Some(c), Some(_)) = (&a.passes.calib, &a.passes.passes) {
        let c = read_samples(c, &a.passes.calib_samples, &limits)?;
        write_input(&file("calib.npy"), &c.shape, &c.data)?;
        spec.calib = Some("calib.npy".into());
    }
    if a.target.is_none() && a.chips.changes_target() {
        bail!("--chips and --set change the target; give one with --target");
    }
    let target = match &a.target {
        Some(t) => {
            let loaded = spikeforge_driver::target::load_with(t, &a.chips, &limits)?;
            if a.chips.changes_target() {
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
        &mut crate::log_stderr,
    )?;
    let r = crate::progress::during("running the reference executor", || engines::run_reference(&p))?;
    let shape = [p.n, p.t, r.output_len];
    write_outputs(&file("output.npy"), &shape, &r.output, &mut crate::log_stderr)?;
    write_npy(&file("layer_spikes.npy"), &[p.n, p.t, r.layer_names.len()], &r.layer_spikes)?;
    spec.layer_spikes = Some("layer_spikes.npy".into());
    spec.layers = r.layer_names.clone();
    spec.output_layer = Some(p.output_layer.clone());
    spec.stats = bundle_stats::recorded(Engine::Reference, &r.stats, a.rel_tol);
    let mut engines_run = vec![Engine::Reference.name().to_string()];
    if let Some(t) = &target {
        let s = crate::progress::during(format!("compiling and simulating on `{}`", t.name()), || {
            engines::run_simulator(&p, t, a.seed, NumericMode::Exact)
        })?;
        warn_if_differs("the simulator in exact mode", (&r.output, &r.layer_spikes), &s);
        spec.stats.extend(bundle_stats::recorded(Engine::SimExact, &s.stats, a.rel_tol));
        engines_run.push(format!("{} ({})", Engine::SimExact.name(), t.name()));
        if a.hardware {
            let (y, y_len, layers) = engines::run_fixed_reference(&p, t)?;
            write_outputs(&file("output_hardware.npy"), &[p.n, p.t, y_len], &y, &mut crate::log_stderr)?;
            write_npy(&file("layer_spikes_hardware.npy"), &[p.n, p.t, r.layer_names.len()], &layers)?;
            let h = crate::progress::during(format!("simulating `{}` in hardware numerics", t.name()), || {
                engines::run_simulator(&p, t, a.seed, NumericMode::Hardware)
            })?;
            warn_if_differs("the simulator in hardware mode vs the fixed-point reference", (&y, &layers), &h);
            spec.stats.extend(bundle_stats::recorded(Engine::SimHardware, &h.stats, a.rel_tol));
            spec.hardware = Some(HardwareSpec {
                output: "output_hardware.npy".into(),
                layer_spikes: Some("layer_spikes_hardware.npy".into()),
            });
            engines_run.push(Engine::SimHardware.name().into());
        }
    }
    spikeforge_compiler::atomic::write_atomically(&file(BUNDLE_FILE), bundle::to_ron(&spec)?.as_bytes())
        .context("writing bundle.ron")?;
    bundle::load("recorded", &tmp, &limits, &Default::default()).context("the recorded bundle does not read back")?;

    if out.exists() {
        let old = sibling(out, "old");
        std::fs::rename(out, &old).with_context(|| format!("moving the old {} aside", out.display()))?;
        std::fs::rename(&tmp, out).with_context(|| format!("creating {}", out.display()))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, out).with_context(|| format!("creating {}", out.display()))?;
    }
    guard.0 = None;
    println!(
        "recorded {}: {} samples × {} steps, engines {}, {} expected stats",
        out.display(),
        p.n,
        p.t,
        engines_run.join(", "),
        spec.stats.len()
    );
    Ok(())
}

/// Layer names, the output layer, output size and layer count, from a model or a
/// `bundle.ron` beside `a`.
struct Names {
    layers: Vec<String>,
    output_layer: String,
    sizes: Option<(usize, usize)>,
}

fn names(model: Option<&Path>, beside: &Path, dynamics: DynamicsArgs, limits: &Limits) -> Result<Names> {
    if let Some(m) = model {
        let (graph, verified, _) = model::load(m, limits)?;
        let exec = Executor::new(&graph, &verified, dynamics.resolve(&graph), limits)?;
        let r = exec.run(&[], 0, 1, 1);
        let output_layer = graph
            .output_nodes()
            .first()
            .and_then(|&o| match graph.inputs(o).as_slice() {
                [one] => Some(graph.name(*one).to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "output".into());
        let sizes = Some((exec.output_len(), r.spiking_layers.len()));
        return Ok(Names { layers: r.spiking_layers, output_layer, sizes });
    }
    let ron = beside.parent().unwrap_or(Path::new(".")).join(BUNDLE_FILE);
    if ron.is_file() {
        let spec = bundle::read_spec(&ron)?;
        let output_layer = spec.output_layer.unwrap_or_else(|| "output".into());
        return Ok(Names { layers: spec.layers, output_layer, sizes: None });
    }
    Ok(Names { layers: Vec::new(), output_layer: "output".into(), sizes: None })
}

fn diff(a: DiffArgs) -> Result<()> {
    let limits = a.limits.limits();
    let x = read_npy_f64(&a.a, &limits)?;
    let y = read_npy_f64(&a.b, &limits)?;
    for (p, arr) in [(&a.a, &x), (&a.b, &y)] {
        if arr.shape.len() != 3 {
            bail!("{}: shape {:?}; expected [samples, steps, neurons or layers]", p.display(), arr.shape);
        }
    }
    if x.shape != y.shape {
        bail!("shapes differ: {} is {:?}, {} is {:?}", a.a.display(), x.shape, a.b.display(), y.shape);
    }
    let shape = [x.shape[0], x.shape[1], x.shape[2]];
    let names = names(a.model.as_deref(), &a.a, a.dynamics.clone(), &limits)?;
    let kind = match a.kind {
        Kind::Auto => match names.sizes {
            Some((out, layers)) if shape[2] == layers && shape[2] != out => Kind::Layers,
            Some((out, layers)) if shape[2] == out && shape[2] != layers => Kind::Output,
            _ => {
                let stem = a.a.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
                if stem.contains("layer") {
                    Kind::Layers
                } else {
                    Kind::Output
                }
            }
        },
        k => k,
    };
    let axis = match kind {
        Kind::Layers => {
            let known = names.layers.len() == shape[2];
            Axis::Layers { names: if known { names.layers } else { Vec::new() } }
        }
        _ => Axis::Neurons { layer: names.output_layer },
    };
    let what = match &axis {
        Axis::Layers { .. } => "spike counts per layer".to_string(),
        Axis::Neurons { layer } => format!("spikes of layer `{layer}` per neuron"),
    };
    println!("A: {} {:?}", a.a.display(), x.shape);
    println!("B: {} {:?}", a.b.display(), y.shape);
    println!("read as [samples, steps, K]: {what}");
    let n = divergence::mismatches(&x.data, &y.data);
    let total = x.data.len();
    let Some(d) = divergence::first(&x.data, &y.data, shape, &axis) else {
        println!("identical: {total} values");
        return Ok(());
    };
    println!("mismatch: {n} of {total} values ({:.6})", n as f64 / total.max(1) as f64);
    println!("first divergence: {}", d.describe(["A", "B"]));
    print!("{}", divergence::context(&x.data, &y.data, shape, &d, a.context, ["A", "B"]));
    Err(Differs(String::new()).into())
}
