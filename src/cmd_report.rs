//! `spikeforge report OUT.map [--stats S.json] [--input X.npy] -o report.html`: one
//! self-contained HTML page about a core map and a run of it (core utilisation heatmap,
//! link load, spike raster, latency per step, energy breakdown, and the numbers behind
//! each), plus SVG/PNG exports of the pictures with `--export-dir`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use spikeforge_simulator::{NumericMode, StepRow};
use spikeforge_targets::atomic::write_atomically;
use spikeforge_targets::CoreMap;

use spikeforge_driver::options::LimitArgs;
use spikeforge_driver::report::plots::Plot;
use spikeforge_driver::report::{html, load, render, sim, ChipView, Raster, ReportData};
use spikeforge_driver::simulate::Numeric;

#[derive(clap::Args)]
pub struct Args {
    /// A core map written by `spikeforge compile`.
    pub map: PathBuf,
    /// Statistics written by `spikeforge simulate MAP --stats S.json`. Without them the map
    /// is simulated on --input.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Input spikes `[N, T, *input_shape]`: simulated for the statistics (without --stats),
    /// or only the shown sample for the raster and latency views (with --stats; then the
    /// same input as that run).
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// The sample shown in the raster and latency views.
    #[arg(long, default_value_t = 0)]
    pub sample: usize,
    /// Per-step rows of the same run (`simulate --steps-csv`), for the latency view.
    #[arg(long, requires = "stats")]
    pub steps_csv: Option<PathBuf>,
    /// Output spikes of the same run (`simulate --output Y.npy`): a raster of the output
    /// population (--input draws every spiking population instead).
    #[arg(long, requires = "stats", conflicts_with = "input")]
    pub spikes: Option<PathBuf>,
    /// Numerics when simulating (with --stats, the run's own numerics are used).
    #[arg(long, value_enum)]
    pub numeric: Option<Numeric>,
    /// The HTML file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write heatmap, links, raster, latency and energy as .svg and .png here.
    #[arg(long)]
    pub export_dir: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
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

fn read_map(path: &Path, max_bytes: u64) -> Result<CoreMap> {
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
fn gather(a: &Args, map: CoreMap) -> Result<ReportData> {
    let limits = a.limits.limits();
    let map_file = a.map.display().to_string();
    let mut sources = vec![("core map fingerprint".to_string(), map.fingerprint())];
    let (stats, steps, means, raster): (_, _, _, Option<Raster>) = match &a.stats {
        Some(stats_path) => {
            let stats_file = stats_path.display().to_string();
            let (stats, fingerprint) = load::read_stats(stats_path, a.limits.max_memory)?;
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
                let rows = load::read_steps_csv(csv, &stats, &stats_file, a.limits.max_memory)?;
                (steps, means) = split_rows(&rows, a.sample, stats.n_samples, stats.n_steps);
                sources.push(("per-step rows".to_string(), csv.display().to_string()));
            }
            if let Some(input) = &a.input {
                let x = sim::read_input(input, &map, &limits)?;
                let file = input.display().to_string();
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
                raster = Some(load::raster_from_output(spikes, &map, &stats, a.sample, &limits)?);
            }
            (stats, steps, means, raster)
        }
        None => {
            let Some(input) = &a.input else {
                bail!("give the run's statistics (--stats S.json from `spikeforge simulate`) or an input to simulate (--input X.npy)");
            };
            let mode = mode_of(a.numeric.unwrap_or(Numeric::Exact));
            let x = sim::read_input(input, &map, &limits)?;
            let file = input.display().to_string();
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

pub fn run(a: Args) -> Result<()> {
    spikeforge_driver::outputs::check_output_paths(
        &[
            ("map", Some(&a.map)),
            ("--stats", a.stats.as_deref()),
            ("--input", a.input.as_deref()),
            ("--steps-csv", a.steps_csv.as_deref()),
            ("--spikes", a.spikes.as_deref()),
        ],
        &[("--output", Some(&a.output))],
    )?;
    let map = read_map(&a.map, a.limits.max_memory)?;
    let d = gather(&a, map)?;
    // Everything is rendered before anything is written.
    let mut svgs = Vec::new();
    let mut exports: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for plot in Plot::ALL {
        if !plot.available(&d) {
            svgs.push((plot, None));
            continue;
        }
        let svg = render::svg(plot, &d)?;
        if let Some(dir) = &a.export_dir {
            exports.push((dir.join(format!("{}.svg", plot.name())), svg.clone().into_bytes()));
            exports.push((dir.join(format!("{}.png", plot.name())), render::png(plot, &d)?));
        }
        svgs.push((plot, Some(svg)));
    }
    let page = html::page(&d, &svgs);
    if let Some(dir) = &a.export_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the export directory", dir.display()))?;
        for (path, bytes) in &exports {
            write_atomically(path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
        }
        for (plot, svg) in &svgs {
            if svg.is_none() {
                eprintln!(
                    "note: {} not exported: {}",
                    plot.name(),
                    spikeforge_driver::report::missing_note(plot.name())
                );
            }
        }
    }
    write_atomically(&a.output, page.as_bytes()).with_context(|| format!("{}: cannot write", a.output.display()))?;
    let shown = svgs.iter().filter(|s| s.1.is_some()).count();
    println!(
        "wrote {} ({} bytes, {shown} of {} pictures){}",
        a.output.display(),
        page.len(),
        svgs.len(),
        a.export_dir.as_ref().map_or(String::new(), |d| format!("; {} exports in {}", exports.len(), d.display()))
    );
    Ok(())
}
