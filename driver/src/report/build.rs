//! Building `spikeforge report` (and `sf.report`) in memory: the report's data gathered from
//! a core map, a run's files and, where needed, a simulation; then every picture rendered
//! and the page assembled. Needs the report's load, sim, plots, render and html modules;
//! establishes that everything is rendered before the caller writes anything.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::limits::Limits;
use spikeforge_simulator::{NumericMode, StepRow};
use spikeforge_targets::CoreMap;

use super::plots::Plot;
use super::{html, load, render, sim, ChipView, Raster, ReportData};
use crate::error::check_cancel;
use crate::simulate::Numeric;
use crate::DriverError;

/// The input a report simulates: a `.npy` file or an array in memory with its name.
pub enum ReportInput {
    File(PathBuf),
    Array(NdArray<f64>, String),
}

impl ReportInput {
    fn read(&self, map: &CoreMap, limits: &Limits) -> Result<(NdArray<f64>, String)> {
        match self {
            ReportInput::File(p) => Ok((sim::read_input(p, map, limits)?, p.display().to_string())),
            ReportInput::Array(x, name) => Ok((sim::check_input(x.clone(), map, name)?, name.clone())),
        }
    }
}

/// What a report shows, as `spikeforge report`'s flags say it.
pub struct ReportRequest {
    /// Names the core map on the page.
    pub map_file: String,
    /// Statistics written by `spikeforge simulate --stats`; without them `input` is simulated.
    pub stats: Option<PathBuf>,
    pub input: Option<ReportInput>,
    /// The sample shown in the raster and latency views.
    pub sample: usize,
    pub steps_csv: Option<PathBuf>,
    pub spikes: Option<PathBuf>,
    pub numeric: Option<Numeric>,
    /// Also render every picture as SVG and PNG files.
    pub export: bool,
}

/// The rendered report: the page, which pictures it shows, and the export files (file
/// name → bytes) when asked.
pub struct Rendered {
    pub page: String,
    pub shown: Vec<(Plot, bool)>,
    pub exports: Vec<(String, Vec<u8>)>,
}

/// Gathers the data and renders the page (and exports); `cancel` is checked between the
/// simulation and the pictures.
pub fn build(req: &ReportRequest, map: CoreMap, limits: &Limits, cancel: &AtomicBool) -> Result<Rendered, DriverError> {
    let d = gather_data(req, map, limits)?;
    check_cancel(cancel)?;
    let mut svgs = Vec::new();
    let mut exports = Vec::new();
    for plot in Plot::ALL {
        if !plot.available(&d) {
            svgs.push((plot, None));
            continue;
        }
        let svg = render::svg(plot, &d)?;
        if req.export {
            exports.push((format!("{}.svg", plot.name()), svg.clone().into_bytes()));
            exports.push((format!("{}.png", plot.name()), render::png(plot, &d)?));
        }
        svgs.push((plot, Some(svg)));
    }
    let page = html::page(&d, &svgs);
    Ok(Rendered { page, shown: svgs.iter().map(|(p, s)| (*p, s.is_some())).collect(), exports })
}

fn mode_of(n: Numeric) -> NumericMode {
    match n {
        Numeric::Exact => NumericMode::Exact,
        Numeric::Hardware => NumericMode::Hardware,
    }
}

/// The rows of `sample` and, for runs of several samples, the mean latency per step.
fn split_rows(rows: &[StepRow], sample: usize, n_samples: usize, n_steps: usize) -> (Vec<StepRow>, Option<Vec<f64>>) {
    let mine: Vec<StepRow> = rows.iter().filter(|r| r.sample == sample).cloned().collect();
    let means = (n_samples > 1).then(|| {
        let mut sum = vec![0.0; n_steps];
        for r in rows {
            if let Some(s) = sum.get_mut(r.step) {
                *s += r.latency_us;
            }
        }
        sum.iter().map(|s| s / n_samples as f64).collect()
    });
    (mine, means)
}

/// Reads a core map file, refused above `max_bytes`.
pub fn read_map(path: &Path, max_bytes: u64) -> Result<CoreMap> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}: cannot read the core map", path.display()))?;
    if meta.len() > max_bytes {
        bail!(
            "{}: {} bytes, above the memory limit of {max_bytes} (raise it with --max-memory)",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read the core map", path.display()))?;
    Ok(CoreMap::from_bytes(&bytes, &path.display().to_string())?)
}

/// Gathers the report's data from the files and, where needed, a simulation.
fn gather_data(a: &ReportRequest, map: CoreMap, limits: &Limits) -> Result<ReportData> {
    let map_file = a.map_file.clone();
    let mut sources = vec![("core map fingerprint".to_string(), map.fingerprint())];
    let (stats, steps, means, raster): (_, _, _, Option<Raster>) = match &a.stats {
        Some(stats_path) => {
            let stats_file = stats_path.display().to_string();
            let (stats, fingerprint) = load::read_stats(stats_path, limits.max_memory_bytes())?;
            load::check_stats_match(&stats, fingerprint.as_deref(), &map, &stats_file, &map_file)?;
            let mode = match stats.mode.as_str() {
                "hardware" => NumericMode::Hardware,
                _ => NumericMode::Exact,
            };
            if let Some(n) = a.numeric.filter(|&n| mode_of(n) != mode) {
                bail!("--numeric {n:?} differs from the {} numerics of the run in {stats_file}", stats.mode);
            }
            if a.sample >= stats.n_samples {
                bail!("--sample {} is out of range: {stats_file} describes {} samples", a.sample, stats.n_samples);
            }
            sources.push(("statistics".to_string(), stats_file.clone()));
            let (mut steps, mut means, mut raster) = (Vec::new(), None, None);
            if let Some(csv) = &a.steps_csv {
                let rows = load::read_steps_csv(csv, &stats, &stats_file, limits.max_memory_bytes())?;
                (steps, means) = split_rows(&rows, a.sample, stats.n_samples, stats.n_steps);
                sources.push(("per-step rows".to_string(), csv.display().to_string()));
            }
            if let Some(input) = &a.input {
                let (x, file) = input.read(&map, limits)?;
                if x.shape[0] != stats.n_samples || x.shape[1] != stats.n_steps {
                    bail!(
                        "{file}: {} samples × {} steps, but {stats_file} describes a run of {} × {} \
                         (pass the input of that run)",
                        x.shape[0],
                        x.shape[1],
                        stats.n_samples,
                        stats.n_steps
                    );
                }
                let one = sim::run(&map, &x, a.sample, 1, a.sample, mode, &file)?;
                if steps.is_empty() {
                    steps = one.rows.into_iter().map(|r| StepRow { sample: a.sample, ..r }).collect();
                    sources.push(("per-step rows".to_string(), format!("sample {} of {file}, simulated", a.sample)));
                }
                raster = Some(one.raster);
            }
            if let Some(spikes) = &a.spikes {
                raster = Some(load::raster_from_output(spikes, &map, &stats, a.sample, limits)?);
            }
            (stats, steps, means, raster)
        }
        None => {
            let Some(input) = &a.input else {
                bail!("give the run's statistics (--stats S.json from `spikeforge simulate`) or an input to simulate (--input X.npy)");
            };
            let mode = mode_of(a.numeric.unwrap_or(Numeric::Exact));
            let (x, file) = input.read(&map, limits)?;
            let n = x.shape[0];
            let run = sim::run(&map, &x, 0, n, a.sample, mode, &file)?;
            let (steps, means) = split_rows(&run.rows, a.sample, n, x.shape[1]);
            sources.push(("statistics".to_string(), format!("{n} samples of {file}, simulated ({})", run.stats.mode)));
            (run.stats, steps, means, Some(run.raster))
        }
    };
    if let Some(r) = &raster {
        sources.push(("spikes".to_string(), r.source.clone()));
    }
    let chip = ChipView::new(
        &map,
        &stats.links,
        &a.stats.as_ref().map_or("the simulation".into(), |p| p.display().to_string()),
    )?;
    Ok(ReportData { map_file, chip, stats, sample: a.sample, steps, step_mean_latency_us: means, raster, sources })
}
