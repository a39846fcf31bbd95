//! Compiling a model for a target: the mapping checks, the mapper (a fixed grid of chips or
//! `--chips auto`), the core map written atomically with its fingerprint and the mapping
//! report. Needs a verified [`Model`] and a target spec; establishes a [`Compiled`] result.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, compile_auto, CompileOptions, MapReport, PlacementMethod};
use spikeforge_compiler::passes::Calibration;
use spikeforge_targets::approx::decay_approximations;
use spikeforge_targets::{CoreMap, Target, TargetSpec};

use crate::error::{check_cancel, DriverError};
use crate::model::Model;
use crate::pipeline::prepare_mapping;

/// How pieces are placed on cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Placement {
    /// Minimise hop-weighted spike traffic.
    #[default]
    Optimized,
    /// Pieces in order onto cores in order (the baseline).
    Sequential,
}

impl Placement {
    /// The mapper's placement method (`seed` seeds the optimizing one).
    pub fn method(self, seed: u64) -> PlacementMethod {
        match self {
            Placement::Optimized => PlacementMethod::Optimized { seed },
            Placement::Sequential => PlacementMethod::Sequential,
        }
    }
}

/// A target to compile for: its spec with `--set` and `--chips CxR` applied, the file name
/// that names it in messages, and whether the grid of chips is picked (`--chips auto`).
pub struct TargetChoice {
    pub spec: TargetSpec,
    pub file: String,
    pub auto_chips: bool,
}

/// A compiled model.
pub struct Compiled {
    pub target: Target,
    pub map: CoreMap,
    pub report: MapReport,
    /// With `--chips auto`: the grid picked and the grids tried, as the CLI notes it.
    pub auto_note: Option<String>,
    /// Layers whose leak the chip's fixed point cannot follow
    /// ([`spikeforge_targets::approx::decay_approximations`]).
    pub warnings: Vec<String>,
}

/// Maps `model` onto `choice` (`calib`: spike counts of a reference run weight placement).
pub fn compile_model(
    model: &Model,
    choice: &TargetChoice,
    placement: Placement,
    seed: u64,
    calib: Option<&Calibration>,
    dynamics: Dynamics,
    limits: &Limits,
    cancel: &AtomicBool,
) -> Result<Compiled, DriverError> {
    let at_model = |e: anyhow::Error| DriverError::from(e).at(model.name.as_str());
    let calibration =
        prepare_mapping(&model.graph, &model.verified, &model.name, calib, dynamics, limits).map_err(at_model)?;
    check_cancel(cancel)?;
    let opts = CompileOptions { placement: placement.method(seed), calibration, seed, model: model.name.clone() };
    let spec = &choice.spec;
    let not_fit = || format!("{} does not map onto `{}`", model.name, spec.name);
    if choice.auto_chips {
        let (target, map, report, c) =
            compile_auto(&model.graph, &model.verified, spec, &choice.file, dynamics, &opts, limits)
                .with_context(not_fit)
                .map_err(at_model)?;
        let tried: Vec<String> = c.tried.iter().map(|g| format!("{}x{}", g[0], g[1])).collect();
        let note = format!(
            "--chips auto: {}x{} chips of `{}` ({} cores); chips lower bound {}; tried {}",
            c.grid[0],
            c.grid[1],
            spec.name,
            target.num_cores(),
            c.chips_lower_bound,
            tried.join(", ")
        );
        let warnings = decay_approximations(&map);
        Ok(Compiled { target, map, report, auto_note: Some(note), warnings })
    } else {
        let target = Target::from_spec(spec.clone(), &choice.file)
            .map_err(|e| DriverError::from(anyhow::Error::new(e)).at(choice.file.as_str()))?;
        let (map, report) =
            compile(&model.graph, &model.verified, &target, dynamics, &opts).with_context(not_fit).map_err(at_model)?;
        let warnings = decay_approximations(&map);
        Ok(Compiled { target, map, report, auto_note: None, warnings })
    }
}

/// Writes the core map atomically (a crash leaves the old file or the new, never half of
/// one) and returns its fingerprint.
pub fn save_map(map: &CoreMap, path: &Path) -> Result<String, DriverError> {
    let mut fingerprint = String::new();
    spikeforge_compiler::atomic::write_atomically_with(path, |w| {
        fingerprint = map.write_to(w)?;
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))
    .map_err(|e| DriverError::from(e).at(path.display().to_string()))?;
    Ok(fingerprint)
}

/// Writes the mapping report as JSON that records the fingerprint of the map it describes.
pub fn save_report(report: &MapReport, fingerprint: &str, path: &Path) -> Result<(), DriverError> {
    let at = |e: anyhow::Error| DriverError::from(e).at(path.display().to_string());
    let text = crate::outputs::json_with_fingerprint(report, fingerprint).map_err(at)?;
    spikeforge_compiler::atomic::write_atomically(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
        .map_err(at)
}

/// The one-line summary the CLI prints after compiling `model_name`.
pub fn summary_line(model_name: &str, c: &Compiled) -> String {
    let report = &c.report;
    format!(
        "compiled {} onto `{}`: {} of {} cores on {} of {} chips (lower bound {} cores, by {}; {} chips), {} \
         neurons, {} synapses; hop traffic {:.0} vs {:.0} sequential; {:.3} s",
        model_name,
        c.target.name(),
        report.cores_used,
        report.cores_available,
        report.chips_used,
        report.chips[0] * report.chips[1],
        report.cores_lower_bound,
        report.lower_bound_resource,
        report.chips_lower_bound,
        report.neurons,
        report.synapses,
        report.hop_traffic,
        report.hop_traffic_sequential,
        report.mapping_seconds
    )
}
