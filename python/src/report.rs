//! `report`: the HTML page of `spikeforge report` for a core map in memory and either an
//! input array to simulate or a run's statistics file. Needs the driver's `report::build`;
//! establishes that the page is rendered without the GIL and written only when complete.

use std::path::PathBuf;

use pyo3::prelude::*;
use spikeforge_driver::report::build::{build, ReportInput, ReportRequest};
use spikeforge_driver::DriverError;
use spikeforge_targets::atomic::write_atomically;

use crate::convert::{bad, input_array, limit_args, numeric_arg};
use crate::interruptible;
use crate::maps::CoreMap;

/// Renders the report of `core_map`; `x` is simulated unless `stats` (a `simulate --stats`
/// JSON) is given. Writes `out` and the pictures into `export_dir` when given; returns the
/// page.
#[pyfunction]
#[pyo3(signature = (core_map, x=None, stats=None, out=None, sample=0, numeric=None, steps_csv=None, spikes=None, export_dir=None, max_memory=None))]
#[allow(clippy::too_many_arguments)]
pub fn report(
    py: Python<'_>,
    core_map: &CoreMap,
    x: Option<Bound<'_, PyAny>>,
    stats: Option<PathBuf>,
    out: Option<PathBuf>,
    sample: usize,
    numeric: Option<&str>,
    steps_csv: Option<PathBuf>,
    spikes: Option<PathBuf>,
    export_dir: Option<PathBuf>,
    max_memory: Option<u64>,
) -> PyResult<String> {
    let limits = limit_args(max_memory).limits();
    let numeric = numeric.map(numeric_arg).transpose()?;
    if x.is_none() && stats.is_none() {
        return Err(bad("give the run's statistics (stats=\"S.json\" from simulate) or an input to simulate (x=...)"));
    }
    let input = x.map(|x| input_array(&x, "x")).transpose()?;
    let map = core_map.shared();
    let req = ReportRequest {
        map_file: format!("core map {}", map.fingerprint()),
        stats,
        input: input.map(|x| ReportInput::Array(x, "x".into())),
        sample,
        steps_csv,
        spikes,
        numeric,
        export: export_dir.is_some(),
    };
    interruptible(py, move |cancel| {
        let r = build(&req, (*map).clone(), &limits, cancel)?;
        let cannot = |p: &std::path::Path, e: std::io::Error| {
            DriverError::bad_input(format!("{}: cannot write: {e}", p.display())).at(p.display().to_string())
        };
        if let Some(dir) = &export_dir {
            std::fs::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
            for (name, bytes) in &r.exports {
                let p = dir.join(name);
                write_atomically(&p, bytes).map_err(|e| cannot(&p, e))?;
            }
        }
        if let Some(p) = &out {
            write_atomically(p, r.page.as_bytes()).map_err(|e| cannot(p, e))?;
        }
        Ok(r.page)
    })
}
