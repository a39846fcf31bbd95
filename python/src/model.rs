//! `Model`: a verified model in memory, loaded from a file or a NIR image, with `check`,
//! `run` and `passes`. Needs the driver's model, run and pipeline functions; establishes the
//! Python-side model object (shared with worker threads through an `Arc`).

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::passes::Calibration;
use spikeforge_compiler::summary::Summary;
use spikeforge_driver::check::render_check;
use spikeforge_driver::eval::{evaluate, EvalRequest};
use spikeforge_driver::grad::{grad_model, GradSettings, Labels};
use spikeforge_driver::inputs::labels_from;
use spikeforge_driver::model::{Format, Model as DriverModel};
use spikeforge_driver::pipeline::PassArgs;
use spikeforge_driver::run::{run_model, run_warnings};
use spikeforge_driver::DriverError;

use crate::convert::{dynamics_args, f64_array, i64_array, input_array, json_to_py, limit_args, output_array};
use crate::{interruptible, to_py_err};

/// A verified spiking neural network (NIR or spikeforge text format).
#[pyclass(module = "spikeforge", frozen)]
pub struct Model {
    pub(crate) inner: Arc<DriverModel>,
    pub(crate) format: Option<Format>,
}

/// Reads and verifies a `.nir` or `.snn` model file.
#[pyfunction]
#[pyo3(signature = (path, max_memory=None))]
pub fn load(py: Python<'_>, path: PathBuf, max_memory: Option<u64>) -> PyResult<Model> {
    let limits = limit_args(max_memory).limits();
    let (m, format) = py.detach(|| DriverModel::load(&path, &limits)).map_err(to_py_err)?;
    Ok(Model { inner: Arc::new(m), format: Some(format) })
}

/// Reads and verifies a NIR (HDF5) image held in memory; `name` stands for the file in
/// messages.
#[pyfunction]
#[pyo3(signature = (data, name, max_memory=None))]
pub fn from_nir_bytes(py: Python<'_>, data: Vec<u8>, name: String, max_memory: Option<u64>) -> PyResult<Model> {
    let limits = limit_args(max_memory).limits();
    let m = py.detach(|| DriverModel::from_nir_bytes(data, &name, &limits)).map_err(to_py_err)?;
    Ok(Model { inner: Arc::new(m), format: Some(Format::Nir) })
}

#[pymethods]
impl Model {
    /// The name messages use: the file's path, or the name given to an in-memory model.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn __repr__(&self) -> String {
        format!("<spikeforge.Model {} ({} nodes)>", self.inner.name, self.inner.graph.node_ids().count())
    }

    /// The model as a `nir.NIRGraph` (needs the `nir` package), read from the NIR image
    /// spikeforge writes, in memory.
    fn to_nir<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes = self.to_nir_bytes(py)?;
        let buf = py.import("io")?.call_method1("BytesIO", (bytes,))?;
        py.import("nir")?.call_method1("read", (buf,))
    }

    /// Writes the model as NIR (`.nir`) or spikeforge text (`.snn`), by the extension, as
    /// `spikeforge prune -o` does; returns the format written.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<&'static str> {
        let model = self.inner.clone();
        let format = py.detach(move || model.save(&path)).map_err(to_py_err)?;
        Ok(format.describe())
    }

    /// The model as a NIR (HDF5) image, bytes.
    fn to_nir_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.inner.to_nir_bytes().map_err(to_py_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Summary dict: nodes (name, op, shape, neurons, synapses, parameters, inputs), totals,
    /// the dynamics used, warnings, and `text` as `spikeforge check` prints it.
    #[pyo3(signature = (semantics=None, dt=None, reset=None, spike_test=None, reset_timing=None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        semantics: Option<&str>,
        dt: Option<f64>,
        reset: Option<&str>,
        spike_test: Option<&str>,
        reset_timing: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let m = &self.inner;
        let dynamics = dynamics_args(semantics, dt, reset, spike_test, reset_timing)?.resolve(&m.graph);
        let s = Summary::new(&m.graph, &m.verified);
        let d = PyDict::new(py);
        d.set_item("model", &m.name)?;
        d.set_item("format", self.format.map(|f| f.describe()))?;
        d.set_item("dynamics", dynamics.to_string())?;
        let nodes = PyList::empty(py);
        for n in &s.nodes {
            let nd = PyDict::new(py);
            nd.set_item("name", &n.name)?;
            nd.set_item("op", n.kind.name())?;
            nd.set_item("shape", n.shape.to_string())?;
            nd.set_item("neurons", n.neurons)?;
            nd.set_item("synapses", n.synapses)?;
            nd.set_item("parameters", n.parameters)?;
            nd.set_item("inputs", &n.inputs)?;
            nodes.append(nd)?;
        }
        d.set_item("nodes", nodes)?;
        d.set_item("edges", s.n_edges)?;
        d.set_item("recurrent_edges", s.n_recurrent_edges)?;
        d.set_item("neurons", s.neurons())?;
        d.set_item("spiking_neurons", s.spiking_neurons())?;
        d.set_item("synapses", s.synapses())?;
        d.set_item("weights_stored", s.weights_stored())?;
        d.set_item("parameters", s.parameters())?;
        d.set_item("warnings", spikeforge_compiler::exec::advice::warnings(&m.graph, &dynamics))?;
        d.set_item("text", render_check(m, self.format, &dynamics))?;
        Ok(d)
    }

    /// Runs the model on `x` `[N, T, *input_shape]` (float64) with the reference executor.
    /// Returns `(spikes [N, T, n_out], stats)`: uint8 spikes (float64 for a graded output);
    /// stats as `spikeforge run --stats` writes them, plus `layer_spikes [N, T, n_layers]`
    /// and `warnings`.
    #[pyo3(signature = (x, semantics=None, dt=None, reset=None, spike_test=None, reset_timing=None, threads=0, max_memory=None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        semantics: Option<&str>,
        dt: Option<f64>,
        reset: Option<&str>,
        spike_test: Option<&str>,
        reset_timing: Option<&str>,
        threads: usize,
        max_memory: Option<u64>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let limits = limit_args(max_memory).limits();
        let dynamics = dynamics_args(semantics, dt, reset, spike_test, reset_timing)?.resolve(&self.inner.graph);
        let input = input_array(x, "x")?;
        let model = self.inner.clone();
        let warnings = run_warnings(&model.graph, &dynamics);
        let out =
            interruptible(py, move |cancel| run_model(&model, dynamics, &limits, || Ok(input), "x", threads, cancel))?;
        let r = out.result;
        let (n, t) = (r.n_samples, r.n_steps);
        let stats = json_to_py(py, &out.stats)?;
        stats.set_item("layer_spikes", i64_array(py, r.layer_spikes, &[n, t, r.spiking_layers.len()])?)?;
        stats.set_item("warnings", warnings)?;
        Ok((output_array(py, r.output, &[n, t, r.output_len])?, stats))
    }

    /// Runs a pass pipeline (e.g. `"prune(method=magnitude, sparsity=0.5); quantize(bits=8)"`
    /// or `"@int8"`) on a copy of the model. `calib`: calibration input `[N, T, ...]`;
    /// `train`: `(x, labels)` for passes that train. Returns `(model, report)`: one dict per
    /// pass (`pass`, `lines`, `weight_bits`, `scores` as NumPy arrays) and `masks` (1 where a
    /// weight is kept) per weight layer.
    #[pyo3(signature = (pipeline, calib=None, train=None, semantics=None, dt=None, reset=None, spike_test=None, reset_timing=None, max_memory=None))]
    #[allow(clippy::too_many_arguments)]
    fn passes<'py>(
        &self,
        py: Python<'py>,
        pipeline: String,
        calib: Option<Bound<'py, PyAny>>,
        train: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        semantics: Option<&str>,
        dt: Option<f64>,
        reset: Option<&str>,
        spike_test: Option<&str>,
        reset_timing: Option<&str>,
        max_memory: Option<u64>,
    ) -> PyResult<(Model, Bound<'py, PyDict>)> {
        let limits = limit_args(max_memory).limits();
        let dynamics = dynamics_args(semantics, dt, reset, spike_test, reset_timing)?.resolve(&self.inner.graph);
        let data = PassData::from_py(calib, train)?;
        let mut model = (*self.inner).clone();
        let (model, reports, log) = interruptible(py, move |cancel| {
            let (calibration, training) = data.checked(&model, dynamics, &limits)?;
            spikeforge_driver::error::check_cancel(cancel)?;
            let args = PassArgs { passes: Some(pipeline), ..Default::default() };
            let mut log = Vec::new();
            let reports = args
                .apply_with(
                    &mut model.graph,
                    &mut model.verified,
                    calibration.as_ref(),
                    training.as_ref(),
                    dynamics,
                    &limits,
                    &mut |l| log.push(l.to_string()),
                )
                .map_err(DriverError::from)?;
            Ok((model, reports, log))
        })?;
        let report = PyDict::new(py);
        let passes = PyList::empty(py);
        for r in &reports {
            let d = PyDict::new(py);
            d.set_item("pass", &r.pass)?;
            d.set_item("lines", &r.lines)?;
            d.set_item("weight_bits", &r.weight_bits)?;
            let scores = PyDict::new(py);
            for (name, t) in &r.scores {
                scores.set_item(name, f64_array(py, t.data().to_vec(), t.dims())?)?;
            }
            d.set_item("scores", scores)?;
            passes.append(d)?;
        }
        report.set_item("passes", passes)?;
        report.set_item("log", log)?;
        let masks = PyDict::new(py);
        for id in model.graph.node_ids() {
            if let Some(w) = model.graph.op(id).weight() {
                let m: Vec<f64> = w.data().iter().map(|&v| if v != 0.0 { 1.0 } else { 0.0 }).collect();
                masks.set_item(model.graph.name(id), f64_array(py, m, w.dims())?)?;
            }
        }
        report.set_item("masks", masks)?;
        Ok((Model { inner: Arc::new(model), format: self.format }, report))
    }

    /// Accuracy and cost before and after a pass pipeline, as `spikeforge eval`. `x`: input
    /// `[N, T, *input_shape]`; `labels`: class indices `[N]` (prediction: argmax of output
    /// spike counts). `passes` runs on a copy (`calib` defaults to `x` for passes that
    /// calibrate; `train` is `(x, labels)` for passes that train); with `target`, the model
    /// after the passes also runs in the chip's fixed-point numerics (`finetune` then trains
    /// on its weight grid). Returns a dict with the figures `spikeforge eval --json` writes,
    /// `text` (the printed lines), `log` (what each pass did) and `model_after`.
    #[pyo3(signature = (x, labels, passes=None, calib=None, train=None, target=None, threads=0, semantics=None, dt=None, reset=None, spike_test=None, reset_timing=None, max_memory=None))]
    #[allow(clippy::too_many_arguments)]
    fn eval<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        labels: &Bound<'py, PyAny>,
        passes: Option<String>,
        calib: Option<Bound<'py, PyAny>>,
        train: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        target: Option<PyRef<'py, crate::maps::Target>>,
        threads: usize,
        semantics: Option<&str>,
        dt: Option<f64>,
        reset: Option<&str>,
        spike_test: Option<&str>,
        reset_timing: Option<&str>,
        max_memory: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let limits = limit_args(max_memory).limits();
        let dynamics = dynamics_args(semantics, dt, reset, spike_test, reset_timing)?.resolve(&self.inner.graph);
        let input = input_array(x, "x")?;
        let labels = input_array(labels, "labels")?;
        let data = PassData::from_py(calib, train)?;
        let target = target.map(|t| t.driver_target()).transpose()?;
        let model = self.inner.clone();
        let passes_text = passes.clone();
        let (evaluation, after, log) = interruptible(py, move |cancel| {
            let (calibration, training) = data.checked(&model, dynamics, &limits)?;
            let args = PassArgs { passes, quiet: true, ..Default::default() };
            let request = EvalRequest {
                x: input,
                input_name: "x",
                labels,
                labels_name: "labels",
                passes: &args,
                calib: calibration,
                train: training,
                target: target.as_ref(),
                threads,
            };
            let mut log = Vec::new();
            let (e, after) =
                evaluate(&model, request, dynamics, &limits, &mut |l| log.push(l.to_string()), &mut |_| {}, cancel)?;
            Ok((e, after, log))
        })?;
        let d = json_to_py(py, &evaluation.json(&self.inner.name, passes_text.as_deref()))?;
        d.set_item("text", evaluation.lines().join("\n"))?;
        d.set_item("log", log)?;
        let inner = after.map_or_else(|| self.inner.clone(), Arc::new);
        d.set_item("model_after", Model { inner, format: self.format })?;
        Ok(d)
    }

    /// The loss of a batch and its surrogate gradient with respect to every weight and
    /// bias (backpropagation through time, float64), as `spikeforge grad`. `x`: input
    /// `[N, T, *input_shape]`; `labels`: class indices `[N]` (default: sample i has label
    /// i mod the number of outputs). Returns `(loss, {"<node>.weight": array, ...})`.
    #[pyo3(signature = (x, labels=None, loss="ce_count", surrogate="atan", surrogate_param=None, threads=1, semantics=None, dt=None, reset=None, spike_test=None, reset_timing=None, max_memory=None))]
    #[allow(clippy::too_many_arguments)]
    fn grad<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        labels: Option<Bound<'py, PyAny>>,
        loss: &str,
        surrogate: &str,
        surrogate_param: Option<f64>,
        threads: usize,
        semantics: Option<&str>,
        dt: Option<f64>,
        reset: Option<&str>,
        spike_test: Option<&str>,
        reset_timing: Option<&str>,
        max_memory: Option<u64>,
    ) -> PyResult<(f64, Bound<'py, PyDict>)> {
        let limits = limit_args(max_memory).limits();
        let dynamics = dynamics_args(semantics, dt, reset, spike_test, reset_timing)?.resolve(&self.inner.graph);
        let input = input_array(x, "x")?;
        let labels = labels.map(|y| input_array(&y, "labels")).transpose()?;
        let settings =
            GradSettings { surrogate: surrogate.to_string(), surrogate_param, loss: loss.to_string(), threads };
        let model = self.inner.clone();
        let r = interruptible(py, move |_cancel| {
            let labels = match labels {
                Some(y) => Labels::Given(Box::new(move |n, classes| labels_from(y, "labels", n, classes))),
                None => Labels::Cyclic { first_sample: 0 },
            };
            grad_model(&model.name, &model.graph, &model.verified, dynamics, &input, "x", labels, &settings, &limits)
        })?;
        let grads = PyDict::new(py);
        for (name, g) in r.grads {
            let dims = g.dims().to_vec();
            grads.set_item(name, f64_array(py, g.data().to_vec(), &dims)?)?;
        }
        Ok((r.loss, grads))
    }
}

/// The arrays `calib` and `train` of `passes` and `eval`, read from Python (with the GIL).
struct PassData {
    calib: Option<NdArray<f64>>,
    train: Option<(NdArray<f64>, NdArray<f64>)>,
}

impl PassData {
    fn from_py(
        calib: Option<Bound<'_, PyAny>>,
        train: Option<(Bound<'_, PyAny>, Bound<'_, PyAny>)>,
    ) -> PyResult<PassData> {
        let calib = calib.map(|c| input_array(&c, "calib")).transpose()?;
        let train = match train {
            Some((x, y)) => Some((input_array(&x, "train[0]")?, input_array(&y, "train[1]")?)),
            None => None,
        };
        Ok(PassData { calib, train })
    }

    /// Both checked against `m` (as `--calib`, `--train-input` and `--train-labels`).
    fn checked(
        self,
        m: &DriverModel,
        dynamics: spikeforge_compiler::exec::Dynamics,
        limits: &spikeforge_compiler::limits::Limits,
    ) -> Result<(Option<Calibration>, Option<spikeforge_compiler::passes::TrainingData>), DriverError> {
        let calib = self.calib.map(|c| calibration_of(m, c, dynamics, limits)).transpose()?;
        let train = self.train.map(|(x, y)| training_of(m, x, y, dynamics, limits)).transpose()?;
        Ok((calib, train))
    }
}

/// A calibration input checked against the model (as `--calib`).
fn calibration_of(
    m: &DriverModel,
    c: NdArray<f64>,
    dynamics: spikeforge_compiler::exec::Dynamics,
    limits: &spikeforge_compiler::limits::Limits,
) -> Result<Calibration, DriverError> {
    spikeforge_driver::pipeline::calibration_from_array(&m.graph, &m.verified, c, "calib", dynamics, limits)
        .map_err(|e| DriverError::from(e).at("calib"))
}

/// Training data checked against the model (as `--train-input`, `--train-labels`).
fn training_of(
    m: &DriverModel,
    x: NdArray<f64>,
    y: NdArray<f64>,
    dynamics: spikeforge_compiler::exec::Dynamics,
    limits: &spikeforge_compiler::limits::Limits,
) -> Result<spikeforge_compiler::passes::TrainingData, DriverError> {
    spikeforge_driver::pipeline::training_from_arrays(&m.graph, &m.verified, x, y, "train", dynamics, limits)
        .map_err(|e| DriverError::from(e).at("train"))
}
