//! `spikeforge simulate OUT.map --input X.npy --output Y.npy`: run a core map on its chip,
//! cycle by cycle.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::write_npy;
use spikeforge_simulator::{
    simulate, write_atomically, write_perfetto, write_steps_csv, write_vcd, NumericMode, SimOptions, StepRow,
};
use spikeforge_targets::CoreMap;

use crate::options::LimitArgs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Numeric {
    /// f64, identical to the reference executor (reproduces golden traces).
    Exact,
    /// The target's fixed-point weights, state, decay and threshold.
    Hardware,
}

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
    /// Worker threads (default: one per CPU). Results are byte-identical for any count.
    #[arg(long)]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    crate::outputs::check_output_paths(
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
    let meta = std::fs::metadata(&a.map).with_context(|| format!("{}: cannot read", a.map.display()))?;
    if meta.len() > a.limits.max_memory {
        bail!(
            "{}: {} bytes, above the memory limit of {} (raise it with --max-memory)",
            a.map.display(),
            meta.len(),
            a.limits.max_memory
        );
    }
    let bytes = std::fs::read(&a.map).with_context(|| format!("{}: cannot read", a.map.display()))?;
    let map = CoreMap::from_bytes(&bytes, &a.map.display().to_string())?;
    limits.check_core_map(&map, &a.map.display().to_string())?;
    let x = crate::inputs::read_samples(&a.input, &None, &limits)?;
    let in_shape = &map.populations[map.input as usize].shape;
    let n_in: usize = in_shape.iter().product();
    let ok = x.shape.len() >= 2 && (&x.shape[2..] == in_shape.as_slice() || x.shape[2..] == [n_in]);
    if !ok {
        bail!(
            "{}: input has shape {:?}; expected [N, T, {}] for this core map",
            a.input.display(),
            x.shape,
            in_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let (n, t) = (x.shape[0], x.shape[1]);
    if n == 0 || t == 0 {
        bail!("{}: input has no samples or no time steps", a.input.display());
    }
    // Outputs, per-layer spike counts and one statistics row per step, before allocating.
    let n_out = map.populations[map.output as usize].n_neurons as usize;
    let spiking = map.populations.iter().filter(|p| p.model.is_spiking()).count();
    let row_words = std::mem::size_of::<StepRow>().div_ceil(8);
    limits
        .check_elements("the simulation's outputs, spike counts and step rows", &[n, t, n_out + spiking + row_words])?;
    let mut opts = SimOptions {
        mode: match a.numeric {
            Numeric::Exact => NumericMode::Exact,
            Numeric::Hardware => NumericMode::Hardware,
        },
        threads: a.threads.unwrap_or(0),
        ..SimOptions::default()
    };
    if a.threads == Some(0) {
        bail!("--threads 0: give at least one thread (or leave the flag out for one per CPU)");
    }
    opts.trace.vcd = a.vcd.is_some();
    opts.trace.perfetto = a.perfetto.is_some();
    opts.trace.sample = a.trace_sample;
    if a.trace_sample >= n {
        bail!("--trace-sample {} is out of range: the input has {n} samples", a.trace_sample);
    }
    let r = simulate(&map, &x.data, n, t, &opts)?;
    // Traces first: they are the outputs most likely to be refused (size limit).
    if let Some(p) = &a.vcd {
        write_vcd(p, &r)?;
    }
    if let Some(p) = &a.perfetto {
        write_perfetto(p, &r)?;
    }
    crate::inputs::write_outputs(&a.output, &r.output_shape, &r.outputs)?;
    if let Some(p) = &a.layers {
        let l: Vec<i64> = r.layer_spikes.iter().map(|&v| v as i64).collect();
        write_npy(p, &[n, t, r.layer_names.len()], &l)?;
    }
    if let Some(p) = &a.stats {
        let text = crate::outputs::json_with_fingerprint(&r.stats, &map.fingerprint())?;
        write_atomically(p, text.as_bytes())?;
    }
    if let Some(p) = &a.steps_csv {
        write_steps_csv(p, &r)?;
    }
    let s = &r.stats;
    println!(
        "simulated {n} samples × {t} steps on `{}`: {} cycles, {:.2} µs/step, {:.1} SOPs/sample, {} packets, \
         energy per sample {}",
        map.target.name,
        s.cycles_total,
        s.latency_us_per_step_mean,
        s.sops_weight_layers_per_sample,
        s.packets,
        crate::report::energy_headline(s.energy_pj_per_sample, &s.energy_pj)
    );
    Ok(())
}
