//! Targets, compiling to a `CoreMap`, core maps on disk, and simulating one. Needs the
//! driver's target, compile and simulate functions; establishes the Python `Target` and
//! `CoreMap` objects and the per-step table as columns.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use spikeforge_compiler::mapper::MapReport;
use spikeforge_driver::compile::{compile_model, save_map, save_report, summary_line, TargetChoice};
use spikeforge_driver::options::{Chips, TargetArgs};
use spikeforge_driver::simulate::{load_map as driver_load_map, simulate_map, SimulateOptions, Timing};
use spikeforge_driver::DriverError;
use spikeforge_simulator::StepRow;
use spikeforge_targets::Target as DriverTarget;

use crate::convert::{
    bad, dynamics_args, f64_array, i64_array, input_array, limit_args, numeric_arg, output_array, placement_arg, to_py,
};
use crate::model::Model;
use crate::{interruptible, to_py_err};

/// A chip description (a preset or a `.ron` file) with `set` and `chips` applied.
#[pyclass(module = "spikeforge", frozen)]
pub struct Target {
    choice: Arc<TargetChoice>,
}

/// A model mapped onto a target: cores, routes and parameters, ready to simulate.
#[pyclass(module = "spikeforge", frozen)]
pub struct CoreMap {
    map: Arc<spikeforge_targets::CoreMap>,
    report: Option<MapReport>,
    /// With `chips="auto"`: the grid picked and the grids tried.
    auto_note: Option<String>,
    summary: Option<String>,
}

/// A target by preset name or `.ron` path; `chips` "CxR" or "auto", `set` field overrides
/// (`{"core.synapse_memory_kib": 256}`), applied in order before `chips`.
#[pyfunction]
#[pyo3(signature = (name, chips=None, set=None, max_memory=None))]
pub fn target(
    name: &str,
    chips: Option<&str>,
    set: Option<Vec<(String, String)>>,
    max_memory: Option<u64>,
) -> PyResult<Target> {
    let limits = limit_args(max_memory).limits();
    let args = TargetArgs {
        chips: chips.map(Chips::parse).transpose().map_err(|e| bad(format!("chips: {e}")))?,
        set: set.unwrap_or_default().into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
    };
    let (spec, file) = spikeforge_driver::target::load_spec(name, &args, &limits)
        .map_err(|e| to_py_err(DriverError::from(e).at(name)))?;
    Ok(Target { choice: Arc::new(TargetChoice { spec, file, auto_chips: args.is_auto() }) })
}

impl CoreMap {
    /// The map as the driver takes it (shared, not copied).
    pub(crate) fn shared(&self) -> Arc<spikeforge_targets::CoreMap> {
        self.map.clone()
    }
}

impl Target {
    /// The target as the driver takes it (shared, not copied).
    pub(crate) fn choice(&self) -> Arc<TargetChoice> {
        self.choice.clone()
    }

    /// The target itself (its grid as given; `chips="auto"` only means something to
    /// `compile`).
    pub(crate) fn driver_target(&self) -> PyResult<DriverTarget> {
        DriverTarget::from_spec(self.choice.spec.clone(), &self.choice.file)
            .map_err(|e| to_py_err(DriverError::from(anyhow::Error::new(e)).at(self.choice.file.as_str())))
    }
}

#[pymethods]
impl Target {
    #[getter]
    fn name(&self) -> &str {
        &self.choice.spec.name
    }

    /// The grid of chips `[C, R]` (before `chips="auto"` picks one).
    #[getter]
    fn chips(&self) -> (u32, u32) {
        let [x, y] = self.choice.spec.grid.chips;
        (x, y)
    }

    /// Whether `compile` picks the grid of chips.
    #[getter]
    fn auto_chips(&self) -> bool {
        self.choice.auto_chips
    }

    /// The target with derived totals, as `spikeforge target show` prints it.
    fn show(&self) -> PyResult<String> {
        Ok(spikeforge_targets::show::render(&self.driver_target()?))
    }

    fn __repr__(&self) -> String {
        let [x, y] = self.choice.spec.grid.chips;
        let grid = if self.choice.auto_chips { "auto".to_string() } else { format!("{x}x{y}") };
        format!("<spikeforge.Target {} chips={grid}>", self.choice.spec.name)
    }
}

/// Maps `model` onto `target`. `calib` `[N, T, ...]` weights placement by spike counts of a
/// reference run; `placement` "optimized" or "sequential".
#[pyfunction]
#[pyo3(signature = (model, target, placement="optimized", seed=0, calib=None, semantics=None, dt=None, reset=None, spike_test=None, reset_timing=None, max_memory=None))]
#[allow(clippy::too_many_arguments)]
pub fn compile(
    py: Python<'_>,
    model: &Model,
    target: &Target,
    placement: &str,
    seed: u64,
    calib: Option<Bound<'_, PyAny>>,
    semantics: Option<&str>,
    dt: Option<f64>,
    reset: Option<&str>,
    spike_test: Option<&str>,
    reset_timing: Option<&str>,
    max_memory: Option<u64>,
) -> PyResult<CoreMap> {
    let limits = limit_args(max_memory).limits();
    let placement = placement_arg(placement)?;
    let m = model.inner.clone();
    let dynamics = dynamics_args(semantics, dt, reset, spike_test, reset_timing)?.resolve(&m.graph);
    let calib = calib.map(|c| input_array(&c, "calib")).transpose()?;
    let choice = target.choice.clone();
    let c = interruptible(py, move |cancel| {
        let calibration = match calib {
            Some(c) => Some(
                spikeforge_driver::pipeline::calibration_from_array(
                    &m.graph,
                    &m.verified,
                    c,
                    "calib",
                    dynamics,
                    &limits,
                )
                .map_err(|e| DriverError::from(e).at("calib"))?,
            ),
            None => None,
        };
        let c = compile_model(&m, &choice, placement, seed, calibration.as_ref(), dynamics, &limits, cancel)?;
        let summary = summary_line(&m.name, &c);
        Ok((c, summary))
    })?;
    let (c, summary) = c;
    Ok(CoreMap { map: Arc::new(c.map), report: Some(c.report), auto_note: c.auto_note, summary: Some(summary) })
}

/// Reads a core map written by `compile` / `CoreMap.save`.
#[pyfunction]
#[pyo3(signature = (path, max_memory=None))]
pub fn load_map(py: Python<'_>, path: PathBuf, max_memory: Option<u64>) -> PyResult<CoreMap> {
    let limits = limit_args(max_memory).limits();
    let map = py.detach(|| driver_load_map(&path, &limits)).map_err(to_py_err)?;
    Ok(CoreMap { map: Arc::new(map), report: None, auto_note: None, summary: None })
}

#[pymethods]
impl CoreMap {
    /// The mapping report (cores used and lower bound, utilisation, hop traffic, timings),
    /// as `compile --report` writes it; None for a map read from a file.
    #[getter]
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(r) = &self.report else { return Ok(None) };
        let d = to_py(py, r)?;
        if let Some(note) = &self.auto_note {
            d.set_item("auto_chips", note)?;
        }
        Ok(Some(d))
    }

    /// The one-line summary `spikeforge compile` prints (None for a map read from a file).
    #[getter]
    fn summary(&self) -> Option<&str> {
        self.summary.as_deref()
    }

    /// Layers whose leak the chip's fixed point cannot follow (what `spikeforge compile`
    /// prints as warnings): `--numeric hardware` spikes differ from the model's there.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        spikeforge_targets::approx::decay_approximations(&self.map)
    }

    /// The map's fingerprint (recorded in statistics and reports that describe it).
    #[getter]
    fn fingerprint(&self) -> String {
        self.map.fingerprint()
    }

    #[getter]
    fn target_name(&self) -> &str {
        &self.map.target.name
    }

    /// Number of cores used.
    #[getter]
    fn cores_used(&self) -> usize {
        self.map.cores.len()
    }

    /// Writes the map (atomically) and, with `report`, the mapping report JSON; returns the
    /// fingerprint.
    #[pyo3(signature = (path, report=None))]
    fn save(&self, py: Python<'_>, path: PathBuf, report: Option<PathBuf>) -> PyResult<String> {
        let fingerprint = py.detach(|| save_map(&self.map, &path)).map_err(to_py_err)?;
        if let Some(p) = report {
            let Some(r) = &self.report else {
                return Err(bad("report: this map was read from a file and has no mapping report"));
            };
            py.detach(|| save_report(r, &fingerprint, &p)).map_err(to_py_err)?;
        }
        Ok(fingerprint)
    }

    fn __repr__(&self) -> String {
        format!("<spikeforge.CoreMap {} on `{}`, {} cores>", self.map.model, self.map.target.name, self.map.cores.len())
    }
}

/// Simulates `core_map` on `x` `[N, T, *input_shape]`, cycle by cycle. Returns `(spikes,
/// stats, steps)`: spikes `[N, T, n_out]` (uint8, float64 if graded), stats as `simulate
/// --stats` writes them plus `layer_spikes [N, T, n_layers]` and `layer_names`, and the
/// per-step table as a dict of column name → NumPy array.
#[pyfunction]
#[pyo3(signature = (core_map, x, numeric="exact", threads=None, max_memory=None, timing=None))]
pub fn simulate<'py>(
    py: Python<'py>,
    core_map: &CoreMap,
    x: &Bound<'py, PyAny>,
    numeric: &str,
    threads: Option<usize>,
    max_memory: Option<u64>,
    timing: Option<&str>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let limits = limit_args(max_memory).limits();
    let timing = match timing {
        None => None,
        Some(t) => {
            Some(Timing::parse(t).ok_or_else(|| bad(format!("timing: `{t}` is not same-step, pipelined or chip")))?)
        }
    };
    let numeric = numeric_arg(numeric)?;
    let input = input_array(x, "x")?;
    let map = core_map.map.clone();
    let opts = SimulateOptions { numeric, threads, timing, ..SimulateOptions::default() };
    let r =
        interruptible(py, move |cancel| simulate_map(&map, &input.data, &input.shape, "x", &opts, &limits, cancel))?;
    let [n, t, _] = r.output_shape;
    let stats = to_py(py, &r.stats)?;
    stats.set_item("map_fingerprint", core_map.map.fingerprint())?;
    let layers: Vec<i64> = r.layer_spikes.iter().map(|&v| v as i64).collect();
    stats.set_item("layer_spikes", i64_array(py, layers, &[n, t, r.layer_names.len()])?)?;
    stats.set_item("layer_names", &r.layer_names)?;
    let steps = step_columns(py, &r.steps)?;
    let shape = r.output_shape;
    Ok((output_array(py, r.outputs, &shape)?, stats, steps))
}

/// The per-step rows as columns named as in `simulate --steps-csv`: int64 counts, float64
/// latency and energy (NaN where the target gives no figure), bool `energy_partial`, and
/// `critical_core` as a list of core names.
fn step_columns<'py>(py: Python<'py>, rows: &[StepRow]) -> PyResult<Bound<'py, PyDict>> {
    let n = rows.len();
    let d = PyDict::new(py);
    let ints: [(&str, fn(&StepRow) -> u64); 16] = [
        ("sample", |r| r.sample as u64),
        ("step", |r| r.step as u64),
        ("cycles", |r| r.cycles),
        ("critical_path_cycles", |r| r.critical_path_cycles),
        ("sops_weight_layers", |r| r.sops_weight_layers),
        ("sops_pooling", |r| r.sops_pooling),
        ("synapse_reads", |r| r.synapse_reads),
        ("neuron_updates", |r| r.neuron_updates),
        ("spikes", |r| r.spikes),
        ("packets", |r| r.packets),
        ("loopback_packets", |r| r.loopback_packets),
        ("host_packets", |r| r.host_packets),
        ("hops", |r| r.hops),
        ("network_active_cycles", |r| r.network_active_cycles),
        ("max_link_busy_cycles", |r| r.max_link_busy_cycles),
        ("stall_cycles", |r| r.stall_cycles),
    ];
    let floats: [(&str, fn(&StepRow) -> Option<f64>); 7] = [
        ("latency_us", |r| Some(r.latency_us)),
        ("energy_synapse_pj", |r| r.energy_pj.synapse),
        ("energy_neuron_pj", |r| r.energy_pj.neuron),
        ("energy_spike_out_pj", |r| r.energy_pj.spike_out),
        ("energy_routing_pj", |r| r.energy_pj.routing),
        ("energy_static_pj", |r| r.energy_pj.static_),
        ("energy_total_pj", |r| r.energy_pj.total),
    ];
    for (name, get) in ints {
        let col: Vec<i64> = rows.iter().map(|r| get(r) as i64).collect();
        d.set_item(name, i64_array(py, col, &[n])?)?;
    }
    for (name, get) in floats {
        let col: Vec<f64> = rows.iter().map(|r| get(r).unwrap_or(f64::NAN)).collect();
        d.set_item(name, f64_array(py, col, &[n])?)?;
    }
    let partial: Vec<bool> = rows.iter().map(|r| r.energy_pj.partial).collect();
    d.set_item("energy_partial", numpy::PyArray1::from_vec(py, partial))?;
    // The core ending each step's critical path ("" for a step without core work).
    let critical: Vec<&str> = rows.iter().map(|r| r.critical_core.as_str()).collect();
    d.set_item("critical_core", critical)?;
    Ok(d)
}
