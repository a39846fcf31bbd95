//! Values between Python and the driver: NumPy arrays in (checked as the CLI checks `.npy`
//! inputs) and out (moved into NumPy, no copy), JSON statistics as dicts, and the dynamics
//! keywords. Needs the driver's option structs; establishes the one place errors of these
//! conversions become `BadInputError`.

use std::path::Path;

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use spikeforge_compiler::arrays::{check_finite_input, NdArray};
use spikeforge_driver::compile::Placement;
use spikeforge_driver::options::{DynamicsArgs, LimitArgs};
use spikeforge_driver::simulate::Numeric;
use spikeforge_driver::DriverError;

use crate::to_py_err;

/// A `BadInputError` with `message`.
pub(crate) fn bad(message: impl Into<String>) -> PyErr {
    to_py_err(DriverError::bad_input(message))
}

/// An array-like from Python (any dtype NumPy converts to float64: bool, uint8, float) as
/// the driver's input, non-finite values refused naming `[sample, step, index]` as for a
/// `.npy` file called `name`. One copy (the worker thread owns its input).
pub(crate) fn input_array(x: &Bound<'_, PyAny>, name: &str) -> PyResult<NdArray<f64>> {
    let a = match widened::<f64>(x).or_else(|| widened::<u8>(x)).or_else(|| widened::<bool>(x)) {
        Some(a) => a,
        None => {
            // Any other dtype or array-like: NumPy converts it to float64 first.
            let py = x.py();
            let kwargs = PyDict::new(py);
            kwargs.set_item("dtype", "float64")?;
            let converted = py.import("numpy")?.call_method("ascontiguousarray", (x,), Some(&kwargs)).map_err(|e| {
                to_py_err(DriverError::bad_input(format!("{name}: not an array of numbers: {e}")).at(name))
            })?;
            widened::<f64>(&converted)
                .ok_or_else(|| to_py_err(DriverError::bad_input(format!("{name}: not an array of numbers")).at(name)))?
        }
    };
    check_finite_input(&a, Path::new(name))
        .map_err(|e| to_py_err(DriverError::from(anyhow::Error::new(e)).at(name)))?;
    Ok(a)
}

/// A NumPy array of element type `T` as float64 values in C order, converted in one pass
/// (uint8 and bool spikes need no float64 copy in NumPy first); None for another dtype.
fn widened<T: numpy::Element + Copy + Into<f64>>(x: &Bound<'_, PyAny>) -> Option<NdArray<f64>> {
    let arr = x.cast::<PyArrayDyn<T>>().ok()?;
    let ro = arr.readonly();
    let view = ro.as_array();
    let shape = view.shape().to_vec();
    let data: Vec<f64> = match view.as_slice() {
        Some(s) => s.iter().map(|&v| v.into()).collect(),
        None => view.iter().map(|&v| v.into()).collect(),
    };
    Some(NdArray { shape, data })
}

/// Output values `[N, T, n]` moved into NumPy: uint8 when all are spikes (as the CLI writes
/// them), else float64.
pub(crate) fn output_array<'py>(py: Python<'py>, values: Vec<f64>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    if spikeforge_driver::inputs::all_spikes(&values) {
        let y: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        let a = ArrayD::from_shape_vec(IxDyn(shape), y).map_err(|e| bad(e.to_string()))?;
        Ok(a.into_pyarray(py).into_any())
    } else {
        let a = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| bad(e.to_string()))?;
        Ok(a.into_pyarray(py).into_any())
    }
}

/// An int64 array of `shape` moved into NumPy.
pub(crate) fn i64_array<'py>(py: Python<'py>, values: Vec<i64>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| bad(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// A float64 array of `shape` moved into NumPy.
pub(crate) fn f64_array<'py>(py: Python<'py>, values: Vec<f64>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| bad(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

/// JSON as Python values: objects as dicts (key order kept), arrays as lists.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            let items = a.iter().map(|x| json_to_py(py, x)).collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Any serialisable statistics as a Python dict.
pub(crate) fn to_py<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(value).map_err(|e| bad(e.to_string()))?;
    json_to_py(py, &v)
}

/// The dynamics keywords (`semantics`, `dt`, `reset`, `spike_test`, `reset_timing`) as the
/// CLI's flags, parsed with the CLI's parsers and messages.
pub(crate) fn dynamics_args(
    semantics: Option<&str>,
    dt: Option<f64>,
    reset: Option<&str>,
    spike_test: Option<&str>,
    reset_timing: Option<&str>,
) -> PyResult<DynamicsArgs> {
    if let Some(v) = dt {
        if !(v.is_finite() && v > 0.0) {
            return Err(bad(format!("dt: the time step must be a positive number of seconds, got {v}")));
        }
    }
    let text = |e: &dyn std::fmt::Display| e.to_string();
    Ok(DynamicsArgs {
        semantics: keyword("semantics", semantics, |s| s.parse().map_err(|e| text(&e)))?,
        dt,
        reset: keyword("reset", reset, |s| s.parse().map_err(|e| text(&e)))?,
        spike_test: keyword("spike_test", spike_test, |s| s.parse().map_err(|e| text(&e)))?,
        reset_timing: keyword("reset_timing", reset_timing, spikeforge_compiler::exec::semantics::parse_reset_timing)?,
    })
}

/// An optional keyword parsed with the CLI flag's parser; its message names the keyword.
fn keyword<T>(what: &str, value: Option<&str>, parse: impl Fn(&str) -> Result<T, String>) -> PyResult<Option<T>> {
    value.map(|s| parse(s).map_err(|e| bad(format!("{what}: {e}")))).transpose()
}

/// The memory budget keyword (bytes; None for the CLI's default).
pub(crate) fn limit_args(max_memory: Option<u64>) -> LimitArgs {
    max_memory.map_or_else(LimitArgs::default, |max_memory| LimitArgs { max_memory })
}

/// The `numeric` keyword: `"exact"` or `"hardware"`.
pub(crate) fn numeric_arg(numeric: &str) -> PyResult<Numeric> {
    match numeric {
        "exact" => Ok(Numeric::Exact),
        "hardware" => Ok(Numeric::Hardware),
        other => Err(bad(format!("numeric: `{other}` is not exact or hardware"))),
    }
}

/// The `placement` keyword: `"optimized"` or `"sequential"`.
pub(crate) fn placement_arg(placement: &str) -> PyResult<Placement> {
    match placement {
        "optimized" => Ok(Placement::Optimized),
        "sequential" => Ok(Placement::Sequential),
        other => Err(bad(format!("placement: `{other}` is not optimized or sequential"))),
    }
}
