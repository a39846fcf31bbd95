//! Golden bundles: a folder holding a model, its input and the spikes expected from it,
//! optionally a target (compile + simulate), a pass pipeline and expected statistics with
//! tolerances, described by `bundle.ron`. A folder in `../shared/golden`'s layout
//! (`model.nir`, `input.npy`, `output.npy`, `layer_spikes.npy`, `meta.json`) is a bundle as
//! it is, with that README's semantics (dt 1e-4 s, reset to v_reset, strict spike test:
//! the defaults).
//!
//! Invariant: a [`Bundle`] that loaded names only files that exist, a valid discretisation,
//! known engines, finite non-negative tolerances and, if it has one, a target that loaded.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
use spikeforge_compiler::exec::semantics::parse_reset_timing;
use spikeforge_compiler::exec::{Dynamics, Semantics};
use spikeforge_compiler::limits::Limits;
use spikeforge_targets::Target;

use crate::bundle_stats::{self, ExpectedStat};
use crate::engines::Engine;

pub const BUNDLE_FILE: &str = "bundle.ron";
/// The files that make a folder a bundle without `bundle.ron` (the golden layout).
const GOLDEN_FILES: [&str; 3] = ["model.nir", "input.npy", "output.npy"];
/// How deep `discover` looks for bundles below a folder.
const MAX_DEPTH: usize = 6;

/// `bundle.ron`. Paths are relative to the bundle's folder.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BundleSpec {
    #[serde(default = "version_one")]
    pub version: u32,
    /// A `.nir` or `.snn` model.
    pub model: String,
    /// Input spikes `[N, T, *input_shape]`.
    pub input: String,
    /// Expected output `[N, T, n_out]` of the reference executor (and of the simulator in
    /// exact mode).
    pub output: String,
    /// Expected spikes per spiking layer `[N, T, n_layers]`.
    #[serde(default)]
    pub layer_spikes: Option<String>,
    /// Whose update rules (`nir`, `snntorch`, `sinabs`, …; default `nir`); it also gives
    /// the defaults of the three fields below.
    #[serde(default)]
    pub semantics: Option<String>,
    #[serde(default)]
    pub dt_s: Option<f64>,
    #[serde(default)]
    pub reset: Option<String>,
    #[serde(default)]
    pub spike_test: Option<String>,
    /// `immediate`, `delayed` or `delayed-corrected` (default: the semantics' rule).
    #[serde(default)]
    pub reset_timing: Option<String>,
    /// A pass pipeline applied to the model before every engine runs it.
    #[serde(default)]
    pub passes: Option<String>,
    /// Calibration input for the passes (default: `input`).
    #[serde(default)]
    pub calib: Option<String>,
    /// A target preset name or a `.ron` file: adds the simulator in exact mode.
    #[serde(default)]
    pub target: Option<String>,
    /// Seed of the optimizing placement (cycles, hops and energy depend on placement).
    #[serde(default)]
    pub seed: u64,
    /// Also run the simulator in hardware mode against these expected arrays.
    #[serde(default)]
    pub hardware: Option<HardwareSpec>,
    /// Names of the spiking layers (the last axis of `layer_spikes`), informational.
    #[serde(default)]
    pub layers: Vec<String>,
    /// The layer whose spikes are the output, informational.
    #[serde(default)]
    pub output_layer: Option<String>,
    #[serde(default)]
    pub stats: Vec<ExpectedStat>,
}

/// Expected hardware-mode (fixed-point) spikes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HardwareSpec {
    pub output: String,
    #[serde(default)]
    pub layer_spikes: Option<String>,
}

fn version_one() -> u32 {
    1
}

impl BundleSpec {
    /// A spec with defaults for everything but the three required files.
    pub fn new(model: &str, input: &str, output: &str) -> BundleSpec {
        BundleSpec {
            version: 1,
            model: model.into(),
            input: input.into(),
            output: output.into(),
            layer_spikes: None,
            semantics: None,
            dt_s: None,
            reset: None,
            spike_test: None,
            reset_timing: None,
            passes: None,
            calib: None,
            target: None,
            seed: 0,
            hardware: None,
            layers: Vec::new(),
            output_layer: None,
            stats: Vec::new(),
        }
    }
}

/// A loaded, checked bundle.
pub struct Bundle {
    /// The folder relative to the directory it was found under (or the folder's name).
    pub name: String,
    pub dir: PathBuf,
    pub spec: BundleSpec,
    pub dynamics: Dynamics,
    pub target: Option<Target>,
}

impl Bundle {
    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The engines this bundle runs, in order.
    pub fn engines(&self) -> Vec<Engine> {
        let mut e = vec![Engine::Reference];
        if self.target.is_some() {
            e.push(Engine::SimExact);
        }
        if self.spec.hardware.is_some() {
            e.push(Engine::SimHardware);
        }
        e
    }
}

fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

/// Is `dir` a bundle (a `bundle.ron`, or the golden layout)?
pub fn is_bundle(dir: &Path) -> bool {
    dir.join(BUNDLE_FILE).is_file() || GOLDEN_FILES.iter().all(|f| dir.join(f).is_file())
}

/// The bundles in `root`: `root` itself if it is one, else every bundle below it (sorted by
/// path; a bundle's own sub-folders are not searched).
pub fn discover(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    if is_bundle(root) {
        let name = root.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        return Ok(vec![(name.unwrap_or_else(|| root.display().to_string()), root.to_path_buf())]);
    }
    let mut found = Vec::new();
    walk(root, root, 0, &mut found)?;
    if found.is_empty() {
        bail!(
            "{}: no bundles found (a bundle is a folder with {BUNDLE_FILE}, or with {})",
            root.display(),
            GOLDEN_FILES.join(" + ")
        );
    }
    Ok(found)
}

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    let mut subdirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    subdirs.sort();
    for sub in subdirs {
        if is_bundle(&sub) {
            let rel = sub.strip_prefix(root).unwrap_or(&sub);
            let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            found.push((name, sub));
        } else if depth < MAX_DEPTH {
            walk(root, &sub, depth + 1, found)?;
        }
    }
    Ok(())
}

/// Reads `bundle.ron` (or infers the golden layout) and checks it.
pub fn load(name: &str, dir: &Path, limits: &Limits, chips: &crate::options::TargetArgs) -> Result<Bundle> {
    let ron_path = dir.join(BUNDLE_FILE);
    let spec = if ron_path.is_file() { read_spec(&ron_path)? } else { golden_spec(dir)? };
    check(name, dir, spec, limits, chips)
}

/// Parses a `bundle.ron` (errors carry `file:line:column`); nothing else is checked.
pub fn read_spec(path: &Path) -> Result<BundleSpec> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    ron_options()
        .from_str::<BundleSpec>(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.position.line, e.position.col, e.code))
}

/// The golden layout as a spec: expected stats from `meta.json` when present.
fn golden_spec(dir: &Path) -> Result<BundleSpec> {
    let mut spec = BundleSpec::new(GOLDEN_FILES[0], GOLDEN_FILES[1], GOLDEN_FILES[2]);
    if dir.join("layer_spikes.npy").is_file() {
        spec.layer_spikes = Some("layer_spikes.npy".into());
    }
    let meta = dir.join("meta.json");
    if meta.is_file() {
        let text = std::fs::read_to_string(&meta).with_context(|| format!("{}: cannot read", meta.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", meta.display()))?;
        spec.stats = bundle_stats::from_golden_meta(&v);
    }
    Ok(spec)
}

fn check(
    name: &str,
    dir: &Path,
    spec: BundleSpec,
    limits: &Limits,
    chips: &crate::options::TargetArgs,
) -> Result<Bundle> {
    let src = if dir.join(BUNDLE_FILE).is_file() {
        dir.join(BUNDLE_FILE).display().to_string()
    } else {
        format!("{} (golden layout)", dir.display())
    };
    if spec.version != 1 {
        bail!("{src}: version {} is not supported (this spikeforge reads version 1)", spec.version);
    }
    let mut files = vec![("model", &spec.model), ("input", &spec.input), ("output", &spec.output)];
    files.extend(spec.layer_spikes.as_ref().map(|p| ("layer_spikes", p)));
    files.extend(spec.calib.as_ref().map(|p| ("calib", p)));
    if let Some(h) = &spec.hardware {
        files.push(("hardware.output", &h.output));
        files.extend(h.layer_spikes.as_ref().map(|p| ("hardware.layer_spikes", p)));
    }
    for (field, rel) in files {
        inside_bundle(&src, dir, field, rel)?;
        if !dir.join(rel).is_file() {
            bail!("{src}: field `{field}`: {} does not exist", dir.join(rel).display());
        }
    }
    let semantics: Semantics = match &spec.semantics {
        Some(s) => s.parse().map_err(|e| anyhow::anyhow!("{src}: field `semantics`: {e}"))?,
        None => Semantics::Nir,
    };
    let base = Dynamics::of(semantics);
    let dt = spec.dt_s.unwrap_or(base.dt);
    if !(dt.is_finite() && dt > 0.0) {
        bail!("{src}: field `dt_s`: the time step must be a positive number of seconds, got {dt}");
    }
    let field = |name: &str, v: &Option<String>| v.as_ref().map(|s| (name.to_string(), s.clone()));
    let parse_err = |(name, e): (String, String)| anyhow::anyhow!("{src}: field `{name}`: {e}");
    let reset = match field("reset", &spec.reset) {
        Some((n, s)) => s.parse().map_err(|e| parse_err((n, e)))?,
        None => base.reset,
    };
    let spike_test = match field("spike_test", &spec.spike_test) {
        Some((n, s)) => s.parse().map_err(|e| parse_err((n, e)))?,
        None => base.spike_test,
    };
    let reset_timing = match field("reset_timing", &spec.reset_timing) {
        Some((n, s)) => Some(parse_reset_timing(&s).map_err(|e| parse_err((n, e)))?),
        None => None,
    };
    bundle_stats::check_spec(&spec.stats).map_err(|e| anyhow::anyhow!("{src}: {e}"))?;
    let target = match &spec.target {
        Some(t) => {
            if t.contains(['/', '\\']) || t.ends_with(".ron") {
                inside_bundle(&src, dir, "target", t)?;
            }
            let local = dir.join(t);
            let spec_str = if local.exists() { local.display().to_string() } else { t.clone() };
            Some(crate::target::load_with(&spec_str, chips, limits).with_context(|| format!("{src}: field `target`"))?)
        }
        None => None,
    };
    if spec.hardware.is_some() && target.is_none() {
        bail!("{src}: field `hardware` needs a `target` (hardware mode is the target's fixed point)");
    }
    let dynamics = Dynamics { dt, reset, spike_test, semantics, reset_timing };
    Ok(Bundle { name: name.to_string(), dir: dir.to_path_buf(), spec, dynamics, target })
}

/// A bundle names files inside its folder only: a relative path without `..` that, with
/// symbolic links resolved, stays in the folder. Nothing outside is read or quoted.
fn inside_bundle(src: &str, dir: &Path, field: &str, rel: &str) -> Result<()> {
    let path = Path::new(rel);
    let plain = path.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    let escapes = !plain
        || match (std::fs::canonicalize(dir), std::fs::canonicalize(dir.join(path))) {
            (Ok(d), Ok(f)) => !f.starts_with(d),
            _ => false, // a missing file is reported by the caller
        };
    if escapes {
        bail!(
            "{src}: field `{field}`: `{}` is outside the bundle folder; a bundle names its files by paths \
             relative to its folder, without `..`",
            spikeforge_compiler::limits::excerpt(rel)
        );
    }
    Ok(())
}

/// `bundle.ron`'s text for a spec.
pub fn to_ron(spec: &BundleSpec) -> Result<String> {
    let config = ron::ser::PrettyConfig::new().struct_names(false).indentor("    ".to_string());
    let body = ron_options().to_string_pretty(spec, config).context("serializing bundle.ron")?;
    Ok(format!(
        "// A spikeforge golden bundle (`spikeforge regress DIR` runs it). Paths are relative to this\n\
         // folder; stats pass when |got - value| <= abs_tol + rel_tol * |value|.\n{body}\n"
    ))
}
