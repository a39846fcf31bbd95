//! The `spikeforge._spikeforge` extension module: thin pyo3 wrappers over
//! `spikeforge-driver`. Needs the driver's plain option structs and `DriverError`;
//! establishes the exception classes, NumPy conversion and the GIL-free, Ctrl-C-interruptible
//! way every long call runs ([`interruptible`]). The Python layer (`spikeforge/__init__.py`)
//! adds the keyword defaults, `from_nir`/`to_nir` and the per-step table.

mod batch;
mod compare;
mod convert;
mod maps;
mod model;
mod report;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use spikeforge_driver::{DriverError, ErrorKind};

create_exception!(_spikeforge, Error, PyException, "Any spikeforge error: `.message`, `.location`, `.kind`.");
create_exception!(_spikeforge, BadInputError, Error, "Bad input or usage (the CLI's exit code 2).");
create_exception!(_spikeforge, DiffersError, Error, "A comparison found spikes that differ (exit code 1).");
create_exception!(_spikeforge, CancelledError, Error, "The call was interrupted.");

/// A `DriverError` as the Python exception of its kind, with `message`, `location` and
/// `kind` attributes.
pub(crate) fn to_py_err(e: DriverError) -> PyErr {
    let (err, kind) = match e.kind {
        ErrorKind::BadInput => (BadInputError::new_err(e.message.clone()), "bad_input"),
        ErrorKind::Differs => (DiffersError::new_err(e.message.clone()), "differs"),
        ErrorKind::Cancelled => (CancelledError::new_err(e.message.clone()), "cancelled"),
    };
    Python::attach(|py| {
        let v = err.value(py);
        let _ = v.setattr("message", e.message.as_str());
        let _ = v.setattr("location", e.location.as_deref());
        let _ = v.setattr("kind", kind);
    });
    err
}

/// Runs `work` on its own thread without the GIL while this thread waits for it and checks
/// for signals: Ctrl-C sets the cancellation flag that `work` checks between phases and
/// raises `KeyboardInterrupt` at once (the phase in flight finishes in the background and
/// its result is dropped).
pub(crate) fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce(&AtomicBool) -> Result<T, DriverError> + Send + 'static,
) -> PyResult<T> {
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let flag = cancel.clone();
    std::thread::Builder::new()
        .name("spikeforge-call".into())
        .spawn(move || {
            let _ = tx.send(work(&flag));
        })
        .map_err(|e| PyErr::new::<Error, _>(format!("cannot start a worker thread: {e}")))?;
    let mut rx = rx;
    loop {
        let (received, back) = py.detach(move || (rx.recv_timeout(Duration::from_millis(50)), rx));
        rx = back;
        match received {
            Ok(result) => return result.map_err(to_py_err),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = py.check_signals() {
                    cancel.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyErr::new::<Error, _>("the worker thread stopped without a result (a panic)"))
            }
        }
    }
}

#[pymodule]
fn _spikeforge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("BadInputError", py.get_type::<BadInputError>())?;
    m.add("DiffersError", py.get_type::<DiffersError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    m.add_class::<model::Model>()?;
    m.add_class::<maps::Target>()?;
    m.add_class::<maps::CoreMap>()?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_function(wrap_pyfunction!(model::from_nir_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(maps::target, m)?)?;
    m.add_function(wrap_pyfunction!(maps::compile, m)?)?;
    m.add_function(wrap_pyfunction!(maps::load_map, m)?)?;
    m.add_function(wrap_pyfunction!(maps::simulate, m)?)?;
    m.add_function(wrap_pyfunction!(batch::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(batch::regress, m)?)?;
    m.add_function(wrap_pyfunction!(compare::compare, m)?)?;
    m.add_function(wrap_pyfunction!(report::report, m)?)?;
    Ok(())
}
