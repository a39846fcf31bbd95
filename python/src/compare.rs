//! `compare`: one model on several targets (or core maps) side by side, as
//! `spikeforge compare` does. Needs the driver's compare module; establishes the entries as
//! dicts (the Python layer makes a DataFrame), the table text, and with `out` the same
//! files the CLI writes, run without the GIL and stopped by Ctrl-C between targets.

use std::path::PathBuf;

use pyo3::prelude::*;
use spikeforge_driver::compare::table::{text, write_dir};
use spikeforge_driver::compare::{map_candidate, run, target_candidate, ComparePlan};
use spikeforge_driver::options::{Chips, TargetArgs};
use spikeforge_driver::DriverError;

use crate::convert::{bad, dynamics_args, input_array, limit_args, numeric_arg, placement_arg, to_py};
use crate::interruptible;
use crate::model::Model;

/// Compiles `model` for every target of `targets` (`"loihi"`, `"loihi@2x2"`, `"x.ron@auto"`)
/// and reads every core map of `maps`, simulates `x` on each; returns `(entries, table)`.
/// With `out` (an existing folder) also writes compare.csv/json/html and the maps.
#[pyfunction]
#[pyo3(signature = (model, targets, x, maps=None, chips=None, set=None, out=None, numeric="exact", placement="optimized", seed=0, threads=None, semantics=None, max_memory=None))]
#[allow(clippy::too_many_arguments)]
pub fn compare<'py>(
    py: Python<'py>,
    model: Option<&Model>,
    targets: Vec<String>,
    x: &Bound<'py, PyAny>,
    maps: Option<Vec<PathBuf>>,
    chips: Option<&str>,
    set: Option<Vec<(String, String)>>,
    out: Option<PathBuf>,
    numeric: &str,
    placement: &str,
    seed: u64,
    threads: Option<usize>,
    semantics: Option<&str>,
    max_memory: Option<u64>,
) -> PyResult<(Bound<'py, PyAny>, String)> {
    let limits = limit_args(max_memory).limits();
    let (numeric, placement) = (numeric_arg(numeric)?, placement_arg(placement)?);
    let args = TargetArgs {
        chips: chips.map(Chips::parse).transpose().map_err(|e| bad(format!("chips: {e}")))?,
        set: set.unwrap_or_default().into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
    };
    if !targets.is_empty() && model.is_none() {
        return Err(bad("targets: compiling for a target needs a model (only maps= can go without one)"));
    }
    let input = input_array(x, "x")?;
    let m = model.map(|m| m.inner.clone());
    let dynamics = dynamics_args(semantics, None, None, None, None)?;
    let maps = maps.unwrap_or_default();
    let (entries, table) = interruptible(py, move |cancel| {
        let mut candidates = vec![];
        for t in &targets {
            candidates.push(target_candidate(t, &args, &limits)?);
        }
        for p in &maps {
            candidates.push(map_candidate(p, &limits)?);
        }
        let dynamics = m.as_ref().map_or(dynamics.with_default(None), |m| dynamics.resolve(&m.graph));
        let calibration = match &m {
            Some(m) => {
                spikeforge_driver::pipeline::prepare_mapping(&m.graph, &m.verified, &m.name, None, dynamics, &limits)?
            }
            None => None,
        };
        let plan = ComparePlan {
            model: m.as_ref().map(|m| (&m.graph, &m.verified)),
            dynamics,
            calibration,
            model_name: m.as_ref().map_or("core maps".into(), |m| m.name.clone()),
            input: &input.data,
            input_shape: &input.shape,
            input_name: "x".into(),
            numeric,
            placement,
            seed,
            threads,
            limits: &limits,
        };
        let c = run(&plan, candidates, &mut |_, _, _| {}, cancel)?;
        if let Some(dir) = &out {
            write_dir(&c, dir).map_err(|e| DriverError::from(e).at(dir.display().to_string()))?;
        }
        let table = text(&c);
        Ok((c.entries, table))
    })?;
    Ok((to_py(py, &entries)?, table))
}
