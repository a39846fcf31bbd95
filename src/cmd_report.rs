//! `spikeforge report OUT.map [--stats S.json] [--input X.npy] -o report.html`: one
//! self-contained HTML page about a core map and a run of it (core utilisation heatmap,
//! link load, spike raster, latency per step, energy breakdown, and the numbers behind
//! each), plus SVG/PNG exports of the pictures with `--export-dir`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use spikeforge_targets::atomic::write_atomically;

use spikeforge_driver::options::LimitArgs;
use spikeforge_driver::report::build::{build, read_map, ReportInput, ReportRequest};
use spikeforge_driver::simulate::Numeric;
use spikeforge_driver::DriverError;

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
    let req = ReportRequest {
        map_file: a.map.display().to_string(),
        stats: a.stats.clone(),
        input: a.input.clone().map(ReportInput::File),
        sample: a.sample,
        steps_csv: a.steps_csv.clone(),
        spikes: a.spikes.clone(),
        numeric: a.numeric,
        export: a.export_dir.is_some(),
    };
    // Everything is rendered before anything is written.
    let never = AtomicBool::new(false);
    let what = if a.stats.is_none() { "simulating and drawing the report" } else { "drawing the report" };
    let r = crate::progress::during(what, || build(&req, map, &a.limits.limits(), &never))
        .map_err(DriverError::into_anyhow)?;
    if let Some(dir) = &a.export_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the export directory", dir.display()))?;
        for (name, bytes) in &r.exports {
            let path = dir.join(name);
            write_atomically(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
        }
        for (plot, shown) in &r.shown {
            if !shown {
                eprintln!(
                    "note: {} not exported: {}",
                    plot.name(),
                    spikeforge_driver::report::missing_note(plot.name())
                );
            }
        }
    }
    write_atomically(&a.output, r.page.as_bytes()).with_context(|| format!("{}: cannot write", a.output.display()))?;
    let shown = r.shown.iter().filter(|s| s.1).count();
    println!(
        "wrote {} ({} bytes, {shown} of {} pictures){}",
        a.output.display(),
        r.page.len(),
        r.shown.len(),
        a.export_dir.as_ref().map_or(String::new(), |d| format!("; {} exports in {}", r.exports.len(), d.display()))
    );
    Ok(())
}
