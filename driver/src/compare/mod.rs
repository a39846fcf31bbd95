//! `spikeforge compare` and `sf.compare`: one model on several chips side by side.
//!
//! Needs a model after passes and its input in memory, and targets (presets or `.ron` files,
//! each optionally `@CxR` / `@auto` for its grid of chips) or core maps read from files.
//! Establishes one [`Entry`] per target in the order given: whether it fits (or why not),
//! cores and chips, latency per step and per inference, throughput, energy per inference
//! (unknown and partial energy stay so, never 0), the energy-delay product and utilisation
//! per resource; the core maps and statistics come along for the caller to write.
//! [`table`] prints and serialises the entries, [`html`] draws the page.
//!
//! **Definitions.** An inference is one input sample of `n_steps` time steps; samples run
//! one after another, so `latency_us_per_inference = n_steps × latency_us_per_step` (the
//! mean over all samples and steps, at the target's clock) and `inferences_per_s =
//! 1e6 / latency_us_per_inference`. `edp_uj_ms` = energy per inference (µJ) × latency per
//! inference (ms); a lower bound when the energy is.

pub mod html;
pub mod table;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use serde::Serialize;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::report::{chips_used, utilisation};
use spikeforge_compiler::mapper::CompileOptions;
use spikeforge_simulator::{SimOptions, SimStats};
use spikeforge_targets::{CoreMap, Target, TargetSpec};

use crate::compile::Placement;
use crate::error::check_cancel;
use crate::options::{Chips, TargetArgs};
use crate::simulate::{load_map, simulate_map, Numeric, SimulateOptions};
use crate::sweep::eval::{map_and_simulate, Job};
use crate::sweep::table::Status;
use crate::DriverError;

/// One thing to compare: a target to compile for, or a core map compiled before.
pub enum Candidate {
    Target {
        /// As given (`loihi@2x2`).
        label: String,
        spec: TargetSpec,
        /// Names the target in messages.
        file: String,
        auto_chips: bool,
    },
    Map {
        label: String,
        map: Box<CoreMap>,
    },
}

impl Candidate {
    pub fn label(&self) -> &str {
        match self {
            Candidate::Target { label, .. } | Candidate::Map { label, .. } => label,
        }
    }
}

/// Splits a `--targets` / `--maps` list at commas (blanks dropped).
pub fn split_list(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// A target named `NAME[@CxR|@auto]` (a preset or a `.ron` path) with `args` (`--set`, and
/// `--chips` unless the name carries its own grid) applied.
pub fn target_candidate(item: &str, args: &TargetArgs, limits: &Limits) -> Result<Candidate, DriverError> {
    let at = |e: anyhow::Error| DriverError::from(e).at(item);
    let (name, chips) = match item.rsplit_once('@') {
        Some((name, grid)) if !Path::new(item).exists() => {
            let chips =
                Chips::parse(grid).map_err(|e| DriverError::bad_input(format!("--targets `{item}`: {e}")).at(item))?;
            (name, Some(chips))
        }
        _ => (item, args.chips),
    };
    let args = TargetArgs { chips, set: args.set.clone() };
    let (spec, file) = crate::target::load_spec(name, &args, limits).map_err(at)?;
    Ok(Candidate::Target { label: item.to_string(), spec, file, auto_chips: args.is_auto() })
}

/// A core map read from `path`, within the memory budget.
pub fn map_candidate(path: &Path, limits: &Limits) -> Result<Candidate, DriverError> {
    let map = load_map(path, limits)?;
    Ok(Candidate::Map { label: path.display().to_string(), map: Box::new(map) })
}

/// Use of one resource over the used cores: usage ÷ the capacity of the core's type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceUse {
    pub resource: String,
    pub mean: f64,
    pub max: f64,
}

/// One column of the comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    /// As given on the command line (`loihi@2x2`, `a.map`).
    pub label: String,
    /// The target's name.
    pub target: String,
    /// `fits`, `does_not_fit`, `invalid_target` or `sim_failed` (as in sweeps).
    pub status: String,
    /// Why it does not fit; empty when it fits.
    pub reason: String,
    /// The grid of chips it was mapped onto (with `@auto`: the grid picked).
    pub chips: Option<[u32; 2]>,
    pub chips_used: Option<u64>,
    pub cores_used: Option<u64>,
    pub cores_available: Option<u64>,
    pub latency_us_per_step: Option<f64>,
    pub latency_us_per_inference: Option<f64>,
    pub inferences_per_s: Option<f64>,
    /// The known part of the energy: exact unless `energy_partial`; `None` = unknown.
    pub energy_pj_per_inference: Option<f64>,
    pub energy_partial: bool,
    /// Energy components that happened but have no figure in the target.
    pub energy_unavailable: Vec<String>,
    pub edp_uj_ms: Option<f64>,
    pub sops_per_inference: Option<f64>,
    pub max_link_utilisation: Option<f64>,
    pub utilisation: Vec<ResourceUse>,
}

impl Entry {
    fn failed(label: &str, target: &str, status: Status, reason: String) -> Entry {
        Entry {
            label: label.to_string(),
            target: target.to_string(),
            status: status.name().to_string(),
            reason,
            chips: None,
            chips_used: None,
            cores_used: None,
            cores_available: None,
            latency_us_per_step: None,
            latency_us_per_inference: None,
            inferences_per_s: None,
            energy_pj_per_inference: None,
            energy_partial: false,
            energy_unavailable: vec![],
            edp_uj_ms: None,
            sops_per_inference: None,
            max_link_utilisation: None,
            utilisation: vec![],
        }
    }

    /// The entry of a map on `target` (cores, chips, utilisation) and, if it ran, its
    /// simulation's figures.
    fn of_map(label: &str, target: &Target, map: &CoreMap, stats: Option<&SimStats>) -> Entry {
        let mut e = Entry::failed(label, target.name(), Status::Fits, String::new());
        e.chips = Some(target.spec().grid.chips);
        e.chips_used = Some(chips_used(map, target));
        e.cores_used = Some(map.cores.len() as u64);
        e.cores_available = Some(target.num_cores() as u64);
        e.utilisation = utilisation(map, target)
            .into_iter()
            .map(|(resource, u)| ResourceUse { resource, mean: u.mean, max: u.max })
            .collect();
        if let Some(s) = stats {
            let per_inference_us = s.latency_us_per_step_mean * s.n_steps as f64;
            e.latency_us_per_step = Some(s.latency_us_per_step_mean);
            e.latency_us_per_inference = Some(per_inference_us);
            e.inferences_per_s = (per_inference_us > 0.0).then(|| 1e6 / per_inference_us);
            e.energy_pj_per_inference = s.energy_pj_per_sample;
            e.energy_partial = s.energy_pj.partial;
            e.energy_unavailable = s.energy_pj.unavailable.clone();
            // pJ × µs = 1e-6 µJ × 1e-3 ms.
            e.edp_uj_ms = s.energy_pj_per_sample.map(|pj| pj * per_inference_us * 1e-9);
            e.sops_per_inference = Some(s.sops_weight_layers_per_sample + s.sops_pooling_per_sample);
            e.max_link_utilisation = Some(s.max_link_utilisation);
        }
        e
    }
}

/// What every candidate shares: the model after passes and the input.
pub struct ComparePlan<'a> {
    /// The model after passes; `None` when only core maps are compared.
    pub model: Option<(&'a Graph, &'a Verified)>,
    pub dynamics: Dynamics,
    /// Spike counts of a calibration run (see `pipeline::prepare_mapping`).
    pub calibration: Option<Vec<u64>>,
    /// Names the model in core maps and messages.
    pub model_name: String,
    /// `[N, T, *input_shape]` in C order.
    pub input: &'a [f64],
    pub input_shape: &'a [usize],
    /// Names the input in messages.
    pub input_name: String,
    pub numeric: Numeric,
    pub placement: Placement,
    pub seed: u64,
    /// Simulator threads; `None` = one per CPU (results are the same for any count).
    pub threads: Option<usize>,
    pub limits: &'a Limits,
}

/// Where a candidate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Compiling and simulating (or simulating a map read from a file).
    Running,
    Done,
}

/// The comparison: one entry per candidate, with its core map and statistics when it got
/// that far.
pub struct Comparison {
    pub model: String,
    pub n_samples: usize,
    pub n_steps: usize,
    pub numeric: String,
    pub entries: Vec<Entry>,
    pub maps: Vec<Option<CoreMap>>,
    pub stats: Vec<Option<SimStats>>,
}

/// Runs every candidate in order (each simulation uses `plan.threads`). `on_progress` sees
/// each candidate start and finish; `cancel` is checked between candidates.
pub fn run(
    plan: &ComparePlan<'_>,
    candidates: Vec<Candidate>,
    on_progress: &mut dyn FnMut(usize, &str, Phase),
    cancel: &AtomicBool,
) -> Result<Comparison, DriverError> {
    if candidates.is_empty() {
        return Err(DriverError::bad_input("nothing to compare: give --targets and/or --maps"));
    }
    let shape = plan.input_shape;
    if shape.len() < 2 || shape[0] == 0 || shape[1] == 0 {
        return Err(DriverError::bad_input(format!("{}: input has no samples or no time steps", plan.input_name))
            .at(plan.input_name.as_str()));
    }
    let (n_samples, n_steps) = (shape[0], shape[1]);
    if plan.threads == Some(0) {
        return Err(DriverError::bad_input("--threads 0: give at least one thread (or leave the flag out)"));
    }
    let sim = SimOptions { mode: plan.numeric.mode(), threads: plan.threads.unwrap_or(0), ..SimOptions::default() };
    let compile = CompileOptions {
        placement: plan.placement.method(plan.seed),
        calibration: plan.calibration.clone(),
        seed: plan.seed,
        model: plan.model_name.clone(),
    };
    let mut out = Comparison {
        model: plan.model_name.clone(),
        n_samples,
        n_steps,
        numeric: format!("{:?}", plan.numeric).to_lowercase(),
        entries: vec![],
        maps: vec![],
        stats: vec![],
    };
    for (i, c) in candidates.into_iter().enumerate() {
        check_cancel(cancel)?;
        on_progress(i, c.label(), Phase::Running);
        let (entry, map, stats) = match c {
            Candidate::Target { label, spec, file, auto_chips } => {
                let Some((graph, verified)) = plan.model else {
                    return Err(DriverError::bad_input(format!("{label}: compiling for a target needs a model")));
                };
                let job = Job {
                    base: &spec,
                    target_file: &file,
                    graph,
                    verified,
                    dynamics: plan.dynamics,
                    compile: &compile,
                    sim: &sim,
                    input: plan.input,
                    n_samples,
                    n_steps,
                    auto_chips,
                    limits: plan.limits,
                };
                let name = spec.name.clone();
                let a = map_and_simulate(&job, spec.clone()).map_err(DriverError::from)?;
                let stats = a.result.map(|r| r.stats);
                match (a.target, a.mapped) {
                    (Some(t), Some((map, _))) => {
                        let mut e = Entry::of_map(&label, &t, &map, stats.as_ref());
                        e.status = a.status.name().to_string();
                        e.reason = a.reason;
                        (e, Some(map), stats)
                    }
                    (t, _) => {
                        let mut e = Entry::failed(&label, &name, a.status, a.reason);
                        e.chips = t.as_ref().map(|t| t.spec().grid.chips);
                        e.cores_available = t.as_ref().map(|t| t.num_cores() as u64);
                        (e, None, None)
                    }
                }
            }
            Candidate::Map { label, map } => {
                let target = Target::from_spec(map.target.clone(), &label)
                    .map_err(|e| DriverError::from(anyhow::Error::new(e)).at(label.as_str()))?;
                let opts = SimulateOptions { numeric: plan.numeric, threads: plan.threads, ..Default::default() };
                let r = simulate_map(&map, plan.input, shape, &plan.input_name, &opts, plan.limits, cancel)?;
                let e = Entry::of_map(&label, &target, &map, Some(&r.stats));
                (e, Some(*map), Some(r.stats))
            }
        };
        on_progress(i, &entry.label, Phase::Done);
        out.entries.push(entry);
        out.maps.push(map);
        out.stats.push(stats);
    }
    Ok(out)
}

/// A file-name-safe form of a label (`loihi@2x2` → `loihi_2x2`, `maps/a.map` → `a`).
pub fn file_stem(label: &str) -> String {
    let last = label.rsplit(['/', '\\']).next().unwrap_or(label);
    let last = last.strip_suffix(".map").or_else(|| last.strip_suffix(".ron")).unwrap_or(last);
    let s: String = last.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if s.is_empty() {
        "target".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_at_commas() {
        assert_eq!(split_list(" loihi, speck@auto ,,x.ron"), vec!["loihi", "speck@auto", "x.ron"]);
    }

    #[test]
    fn file_stems_are_safe_and_distinct() {
        assert_eq!(file_stem("loihi@2x2"), "loihi_2x2");
        assert_eq!(file_stem("loihi"), "loihi");
        assert_eq!(file_stem("maps/a.map"), "a");
        assert_eq!(file_stem("chips/my chip.ron"), "my_chip");
    }

    #[test]
    fn a_grid_suffix_sets_the_chips_of_that_target_only() {
        let limits = Limits::from_max_memory(1 << 30);
        let args = TargetArgs { chips: Some(Chips::Grid([3, 1])), set: vec![] };
        let Candidate::Target { spec, auto_chips, .. } = target_candidate("loihi@2x2", &args, &limits).unwrap() else {
            panic!("a target")
        };
        assert_eq!(spec.grid.chips, [2, 2]);
        assert!(!auto_chips);
        let Candidate::Target { spec, .. } = target_candidate("loihi", &args, &limits).unwrap() else { panic!() };
        assert_eq!(spec.grid.chips, [3, 1]);
        let Candidate::Target { auto_chips, .. } = target_candidate("speck@auto", &args, &limits).unwrap() else {
            panic!()
        };
        assert!(auto_chips);
        let e = target_candidate("loihi@2y2", &args, &limits).err().unwrap();
        assert!(e.message.contains("loihi@2y2"), "{}", e.message);
    }
}
