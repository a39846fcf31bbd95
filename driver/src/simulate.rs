//! Simulating a core map on its chip, cycle by cycle: reading a map within the memory
//! budget, the input and size checks, and the run. Needs a core map (from `compile` or a
//! file); establishes the simulator's result for front ends to write, print or convert.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context};
use spikeforge_compiler::limits::Limits;
use spikeforge_simulator::{simulate, NumericMode, SimOptions, SimResult, StepRow, TimingMode};
use spikeforge_targets::CoreMap;

use crate::error::{check_cancel, DriverError};

/// Number format of the simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Numeric {
    /// f64, identical to the reference executor (reproduces golden traces).
    #[default]
    Exact,
    /// The target's fixed-point weights, state, decay and threshold.
    Hardware,
}

impl Numeric {
    /// The simulator's numeric mode.
    pub fn mode(self) -> NumericMode {
        match self {
            Numeric::Exact => NumericMode::Exact,
            Numeric::Hardware => NumericMode::Hardware,
        }
    }
}

/// When a spike reaches the next layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Timing {
    /// In the step it was emitted (NIR semantics; `--numeric exact` equals `run`).
    SameStep,
    /// In the next step: layers run as a pipeline, one step of latency each (Loihi).
    Pipelined,
    /// What the chip does: its target's `timing.mode` (Loihi, Loihi 2: pipelined).
    Chip,
}

impl Timing {
    /// `same-step` or `pipelined`, as the CLI and Python spell it.
    pub fn parse(text: &str) -> Option<Timing> {
        match text {
            "same-step" => Some(Timing::SameStep),
            "pipelined" => Some(Timing::Pipelined),
            "chip" => Some(Timing::Chip),
            _ => None,
        }
    }
}

/// What a simulation records besides spikes and statistics.
#[derive(Clone, Debug, Default)]
pub struct SimulateOptions {
    pub numeric: Numeric,
    /// When spikes reach the next layer; `None` = same step.
    pub timing: Option<Timing>,
    /// Worker threads; `None` is one per CPU (results are identical for any count).
    pub threads: Option<usize>,
    /// Record a value change dump of spikes per neuron.
    pub vcd: bool,
    /// Record a Perfetto trace of packets on links.
    pub perfetto: bool,
    /// The sample the traces follow.
    pub trace_sample: usize,
}

/// Reads a core map written by `compile`, refused above the memory budget (`max_memory`
/// bytes) before it is read; `file` names it in messages.
pub fn load_map(path: &Path, limits: &Limits) -> Result<CoreMap, DriverError> {
    let name = path.display().to_string();
    let read = || -> anyhow::Result<CoreMap> {
        let meta = std::fs::metadata(path).with_context(|| format!("{name}: cannot read"))?;
        if meta.len() > limits.max_memory_bytes() {
            bail!(
                "{name}: {} bytes, above the memory limit of {} (raise it with --max-memory)",
                meta.len(),
                limits.max_memory_bytes()
            );
        }
        let bytes = std::fs::read(path).with_context(|| format!("{name}: cannot read"))?;
        let map = CoreMap::from_bytes(&bytes, &name)?;
        limits.check_core_map(&map, &name)?;
        Ok(map)
    };
    read().map_err(|e| DriverError::from(e).at(name.as_str()))
}

/// Simulates `map` on `input` (`[N, T, *input_shape]` or `[N, T, n_in]`, `input_name` names
/// it in messages).
pub fn simulate_map(
    map: &CoreMap,
    input: &[f64],
    shape: &[usize],
    input_name: &str,
    opts: &SimulateOptions,
    limits: &Limits,
    cancel: &AtomicBool,
) -> Result<SimResult, DriverError> {
    let checked = || -> anyhow::Result<SimOptions> {
        let in_shape = &map.populations[map.input as usize].shape;
        let n_in: usize = in_shape.iter().product();
        let ok = shape.len() >= 2 && (&shape[2..] == in_shape.as_slice() || shape[2..] == [n_in]);
        if !ok {
            bail!(
                "{input_name}: input has shape {shape:?}; expected [N, T, {}] for this core map",
                in_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        let (n, t) = (shape[0], shape[1]);
        if n == 0 || t == 0 {
            bail!("{input_name}: input has no samples or no time steps");
        }
        // Outputs, per-layer spike counts and one statistics row per step, before allocating.
        let n_out = map.populations[map.output as usize].n_neurons as usize;
        let spiking = map.populations.iter().filter(|p| p.model.is_spiking()).count();
        let row_words = std::mem::size_of::<StepRow>().div_ceil(8);
        limits.check_elements(
            "the simulation's outputs, spike counts and step rows",
            &[n, t, n_out + spiking + row_words],
        )?;
        let mut sim = SimOptions {
            mode: opts.numeric.mode(),
            threads: opts.threads.unwrap_or(0),
            timing: match opts.timing.unwrap_or(Timing::SameStep) {
                Timing::SameStep => Some(TimingMode::SameStep),
                Timing::Pipelined => Some(TimingMode::Pipelined),
                Timing::Chip => None,
            },
            ..SimOptions::default()
        };
        if opts.threads == Some(0) {
            bail!("--threads 0: give at least one thread (or leave the flag out for one per CPU)");
        }
        sim.trace.vcd = opts.vcd;
        sim.trace.perfetto = opts.perfetto;
        sim.trace.sample = opts.trace_sample;
        if opts.trace_sample >= n {
            bail!("--trace-sample {} is out of range: the input has {n} samples", opts.trace_sample);
        }
        Ok(sim)
    };
    let sim = checked().map_err(|e| DriverError::from(e).at(input_name))?;
    check_cancel(cancel)?;
    let r = simulate(map, input, shape[0], shape[1], &sim).map_err(|e| DriverError::from(anyhow::Error::new(e)))?;
    check_cancel(cancel)?;
    Ok(r)
}

/// ``"bottleneck layer `fc2`: critical path in 85.0% of steps (17 of 20), 1234 busy cycles"``;
/// `None` when no step had core work.
pub fn bottleneck_line(r: &SimResult) -> Option<String> {
    crate::report::html::bottleneck_summary(&r.stats).map(|(layer, why)| format!("bottleneck layer `{layer}`: {why}"))
}

/// The one-line summary the CLI prints after a simulation.
pub fn summary_line(map: &CoreMap, r: &SimResult) -> String {
    let s = &r.stats;
    let [n, t, _] = r.output_shape;
    format!(
        "simulated {n} samples × {t} steps on `{}` ({} timing): {} cycles, {:.2} µs/step, {:.1} SOPs/sample, \
         {} packets, energy per sample {}",
        map.target.name,
        s.timing,
        s.cycles_total,
        s.latency_us_per_step_mean,
        s.sops_weight_layers_per_sample,
        s.packets,
        crate::report::energy_headline(s.energy_pj_per_sample, &s.energy_pj)
    )
}
