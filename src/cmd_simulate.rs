//! `spikeforge simulate OUT.map --input X.npy --output Y.npy`: run a core map on its chip,
//! cycle by cycle.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use spikeforge_compiler::arrays::write_npy;
use spikeforge_driver::inputs::parse_range;
use spikeforge_driver::options::LimitArgs;
use spikeforge_driver::simulate::{
    bottleneck_line, load_map, simulate_map, summary_line, Numeric, SimulateOptions, Timing,
};
use spikeforge_simulator::{write_atomically, write_perfetto, write_steps_csv, write_vcd};

#[derive(clap::Args)]
pub struct Args {
    /// A core map written by `spikeforge compile`.
    pub map: PathBuf,
    /// Input spikes `[N, T, *input_shape]` (.npy).
    #[arg(short, long)]
    pub input: PathBuf,
    /// Output spikes `[N, T, n_out]`, uint8 (float64 if the output is graded).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Spikes per spiking population `[N, T, n_layers]`, int64.
    #[arg(long)]
    pub layers: Option<PathBuf>,
    /// Statistics JSON: SOPs, packets, hops, link utilisation, cycles, latency, energy,
    /// memory per core.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// One CSV row per time step with the same quantities.
    #[arg(long)]
    pub steps_csv: Option<PathBuf>,
    /// Value change dump of spikes per neuron (small runs; refused above a size limit).
    #[arg(long)]
    pub vcd: Option<PathBuf>,
    /// Perfetto / Chrome trace JSON of packets on links.
    #[arg(long)]
    pub perfetto: Option<PathBuf>,
    /// The sample traced by --vcd and --perfetto.
    #[arg(long, default_value_t = 0)]
    pub trace_sample: usize,
    #[arg(long, value_enum, default_value = "exact")]
    pub numeric: Numeric,
    /// Use these samples of the input only, e.g. 0..16 (`A..` to the end; a range past
    /// the input's samples is an error).
    #[arg(long, value_parser = parse_range)]
    pub samples: Option<Range<usize>>,
    /// When a spike reaches the next layer: `same-step` (NIR semantics; equals `run` with
    /// `--numeric exact`), `pipelined` (the next step, one step of latency per layer, as
    /// Loihi runs) or `chip` (what the map's chip does: its target's `timing.mode`).
    #[arg(long, value_enum, default_value = "same-step")]
    pub timing: Timing,
    /// Worker threads (default: one per CPU). Results are byte-identical for any count.
    #[arg(long, value_parser = crate::parse_threads)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    spikeforge_driver::outputs::check_output_paths(
        &[("map", Some(&a.map)), ("--input", Some(&a.input))],
        &[
            ("--output", Some(&a.output)),
            ("--layers", a.layers.as_deref()),
            ("--stats", a.stats.as_deref()),
            ("--steps-csv", a.steps_csv.as_deref()),
            ("--vcd", a.vcd.as_deref()),
            ("--perfetto", a.perfetto.as_deref()),
        ],
    )?;
    let limits = a.limits.limits();
    let map = load_map(&a.map, &limits).map_err(|e| e.into_anyhow())?;
    let x = spikeforge_driver::inputs::read_samples(&a.input, &a.samples, &limits)?;
    let opts = SimulateOptions {
        numeric: a.numeric,
        timing: Some(a.timing),
        threads: a.threads,
        vcd: a.vcd.is_some(),
        perfetto: a.perfetto.is_some(),
        trace_sample: a.trace_sample,
    };
    let input_name = a.input.display().to_string();
    let what =
        format!("simulating {} samples × {} steps on `{}`", x.shape[0], x.shape.get(1).unwrap_or(&0), map.target.name);
    let r = crate::progress::during(what, || {
        simulate_map(&map, &x.data, &x.shape, &input_name, &opts, &limits, &AtomicBool::new(false))
    })
    .map_err(|e| e.into_anyhow())?;
    let [n, t, _] = r.output_shape;
    // Traces first: they are the outputs most likely to be refused (size limit).
    if let Some(p) = &a.vcd {
        write_vcd(p, &r)?;
    }
    if let Some(p) = &a.perfetto {
        write_perfetto(p, &r)?;
    }
    spikeforge_driver::inputs::write_outputs(&a.output, &r.output_shape, &r.outputs, &mut crate::log_stderr)?;
    if let Some(p) = &a.layers {
        let l: Vec<i64> = r.layer_spikes.iter().map(|&v| v as i64).collect();
        write_npy(p, &[n, t, r.layer_names.len()], &l)?;
    }
    if let Some(p) = &a.stats {
        let text = spikeforge_driver::outputs::json_with_fingerprint(&r.stats, &map.fingerprint())?;
        write_atomically(p, text.as_bytes())?;
    }
    if let Some(p) = &a.steps_csv {
        write_steps_csv(p, &r)?;
    }
    println!("{}", summary_line(&map, &r));
    if let Some(b) = bottleneck_line(&r).filter(|_| !crate::progress::quiet()) {
        println!("{b}");
    }
    Ok(())
}
