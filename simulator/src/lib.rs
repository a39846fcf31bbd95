//! spikeforge's cycle-level, event-driven chip simulator.
//!
//! [`simulate`] runs a core map (see `spikeforge_targets::coremap`) on the target it was
//! compiled for and reports what the chip would compute and what it would cost:
//!
//! * **Function** ([`func`], [`exact`], [`hardware`]): every time step, populations update
//!   in order. In same-step timing (NIR's semantics) a projection's events reach its target
//!   in the same step (recurrent projections: the next step); [`NumericMode::Exact`] is then
//!   bit-identical to the reference executor. In pipelined timing (Loihi, SANA-FE) every
//!   projection's events reach the target in the next step, so a feed-forward layer `k`
//!   spikes as the reference's layer `k` did `k` steps earlier (chosen by
//!   [`SimOptions::timing`] or the target's `timing.mode`). [`NumericMode::Hardware`] uses
//!   the target's fixed-point arithmetic.
//! * **Timing** ([`engine`], [`processor`]): each step is an event-driven simulation of cores
//!   (synaptic ops, neuron updates, packet injection), routers and links (XY routing,
//!   per-router and per-link latency, link bandwidth, finite buffers with back-pressure,
//!   multicast, chip-to-chip links), in waves: a unit updates only once its inputs of the
//!   step have arrived (in pipelined timing every unit is ready at once, and a step is the
//!   busiest core's work and the network's). A step ends with barrier synchronisation; its
//!   latency is its critical path plus the barrier (`barrier_cycles`, or
//!   `barrier_cycles_by_tiles` for the tiles the map uses). Samples run back to back from a reset state.
//! * **Cost** ([`stats`]): SOPs (NeuroBench Effective_ACs), neuron updates, spikes,
//!   packets, hops, link utilisation, stalls, cycles, latency, energy by component,
//!   memory per core. [`writers`] emit the stats JSON, a per-step CSV, a VCD of spikes and
//!   a Perfetto trace of packets on links.
//!
//! **Threads.** The timing of step `k` runs alongside the functional pass of step `k+1`
//! (a two-stage pipeline; timing needs only step `k`'s events), and a layer's deliveries
//! are spread over its cores. Each stage is sequential in itself, so results are
//! byte-identical for any thread count.
//!
//! Spike conservation is checked every step (every destination of every injected packet
//! is delivered and processed); a step that cannot progress is reported as a deadlock with
//! its cycle and the blocked routers and cores, never a hang.

pub mod attribution;
mod conv_event;
pub mod engine;
mod error;
pub mod exact;
pub mod func;
pub mod hardware;
pub mod layout;
mod options;
mod packets;
pub mod processor;
mod router;
pub mod stats;
pub mod sweep;
pub mod synthetic;
mod trace;
pub mod writers;

pub use attribution::bottleneck;
pub use error::SimError;
pub use options::{NumericMode, SimOptions, TraceOptions};
pub use spikeforge_targets::TimingMode;
pub use stats::{CoreActivity, CoreMemory, EnergyPj, LayerActivity, LayerSpikes, LinkLoad, SimStats, StepRow};
pub use trace::{TraceData, TracedSpikes};
pub use writers::{
    perfetto_json, steps_csv, vcd_text, write_atomically, write_perfetto, write_stats_json, write_steps_csv, write_vcd,
};

use serde::Serialize;
use spikeforge_targets::coremap::CoreMap;

use crate::engine::Engine;
use crate::func::{Arith, Functional};
use crate::layout::Layout;
use crate::trace::{Recorder, VcdData};

/// What a run produced.
#[derive(Clone, Debug, Serialize)]
pub struct SimResult {
    /// Output population values, `[N, T, n_out]` in C order (spikes as 0/1; membrane
    /// potential or current for graded models).
    pub outputs: Vec<f64>,
    pub output_shape: [usize; 3],
    /// Spikes per spiking population, `[N, T, n_spiking_populations]` in C order.
    pub layer_spikes: Vec<u64>,
    /// Names of the spiking populations (the last axis of `layer_spikes`).
    pub layer_names: Vec<String>,
    pub stats: SimStats,
    /// One row per (sample, step).
    pub steps: Vec<StepRow>,
    #[serde(skip)]
    pub trace: TraceData,
}

/// Runs `n_samples` samples of `n_steps` steps; `input` is `[N, T, n_input_neurons]` in C
/// order. The map is validated first (hand-built maps are welcome).
pub fn simulate(
    map: &CoreMap,
    input: &[f64],
    n_samples: usize,
    n_steps: usize,
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    let timing = opts.timing.unwrap_or(map.target.timing.mode);
    let lay = Layout::new(map, timing)?;
    let n_in = map.populations[map.input as usize].n_neurons as usize;
    let expected = n_samples.checked_mul(n_steps).and_then(|x| x.checked_mul(n_in));
    if expected != Some(input.len()) {
        return Err(SimError::InputShape {
            got: input.len(),
            expected: expected.unwrap_or(usize::MAX),
            samples: n_samples,
            steps: n_steps,
            neurons: n_in,
        });
    }
    if let Some((index, &value)) = input.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SimError::InputNotFinite { index, value });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| SimError::InvalidMap(format!("cannot start {} worker threads: {e}", opts.threads)))?;
    pool.install(|| match opts.mode {
        NumericMode::Exact => run(&lay, exact::Exact::new(&lay), 0, input, n_samples, n_steps, opts),
        NumericMode::Hardware => {
            let hw = hardware::Hardware::new(&lay)?;
            let saturated = hw.saturated;
            run(&lay, hw, saturated, input, n_samples, n_steps, opts)
        }
    })
}

fn run<A: Arith>(
    lay: &Layout,
    arith: A,
    saturated: u64,
    input: &[f64],
    n_samples: usize,
    n_steps: usize,
    opts: &SimOptions,
) -> Result<SimResult, SimError> {
    let map = lay.map;
    let spec = lay.target.spec();
    let n_in = map.populations[map.input as usize].n_neurons as usize;
    let n_out = map.populations[map.output as usize].n_neurons as usize;
    let n_layers = lay.spiking.len();
    let mut func = Functional::new(lay, arith);
    let mut eng = Engine::new(lay, opts);
    let barrier = spec.timing.barrier_for_tiles(lay.tiles_used) as u64;
    let mut outputs = Vec::with_capacity(n_samples * n_steps * n_out);
    let mut layer_spikes = Vec::with_capacity(n_samples * n_steps * n_layers);
    let mut layer_totals = vec![0u64; n_layers];
    let mut rows = Vec::with_capacity(n_samples * n_steps);
    let mut critical_cores = Vec::with_capacity(n_samples * n_steps);
    let tr = &opts.trace;
    let mut perfetto = tr.perfetto.then(|| Recorder { limit: tr.max_bytes, ..Default::default() });
    let mut vcd = tr.vcd.then(|| {
        let mut first = 0;
        let populations = lay
            .spiking
            .iter()
            .map(|&p| {
                let pop = &map.populations[p as usize];
                first += pop.n_neurons;
                (pop.name.clone(), first - pop.n_neurons, pop.n_neurons)
            })
            .collect();
        VcdData { populations, limit: tr.max_bytes, ..Default::default() }
    });
    let mut base = 0u64;
    // Pipeline: the timing engine runs step k while the functional pass computes step k+1
    // (it needs only step k's events, loaded before). Each side is sequential in itself,
    // so results do not depend on the thread count; with one thread `join` runs both in turn.
    let n_total = n_samples * n_steps;
    let input_of = |k: usize| &input[k * n_in..(k + 1) * n_in];
    let functional_step = |func: &mut Functional<A>, k: usize| {
        if k % n_steps == 0 {
            func.reset();
        }
        func.step(lay, input_of(k));
    };
    if n_total > 0 {
        functional_step(&mut func, 0);
    }
    let mut traced_values: Vec<Vec<f64>> = Vec::new();
    for k in 0..n_total {
        let (s, t) = (k / n_steps, k % n_steps);
        let traced = s == tr.sample;
        {
            eng.load_step(
                lay,
                &func.cur,
                &func.unit_pool_ops,
                &func.unit_active,
                &func.unit_spikes,
                &func.flags,
                &func.pool_ops,
            );
            if traced {
                if let Some(mut r) = perfetto.take() {
                    r.base = base;
                    eng.rec = Some(r);
                }
            }
            outputs.extend_from_slice(func.output(lay));
            layer_spikes.extend_from_slice(&func.counts.spikes);
            for (a, b) in layer_totals.iter_mut().zip(&func.counts.spikes) {
                *a += b;
            }
            if traced && vcd.is_some() {
                traced_values.clone_from(&func.values);
            }
            let c = func.counts.clone();
            func.end_step(lay);
            let (critical, ()) = rayon::join(
                || eng.run_step(lay, s, t),
                || {
                    if k + 1 < n_total {
                        functional_step(&mut func, k + 1)
                    }
                },
            );
            if let Some(r) = eng.rec.take() {
                perfetto = Some(r);
            }
            let critical = critical?;
            let cycles = critical + barrier;
            let critical_core = attribution::critical_core(&eng.core_finish);
            critical_cores.push(critical_core.map_or(layout::NONE, |c| c as u32));
            if let (true, Some(v)) = (traced, vcd.as_mut()) {
                for (l, &p) in lay.spiking.iter().enumerate() {
                    let first = v.populations[l].1;
                    for (i, &val) in traced_values[p as usize].iter().enumerate() {
                        if val != 0.0 {
                            let u = lay.unit_of_neuron[p as usize][i] as usize;
                            let rise = eng.neuron_updated(u, lay.pos_of_neuron[p as usize][i]);
                            v.spike(base + rise, base + cycles, first + i as u32);
                        }
                    }
                }
            }
            let st = &eng.st;
            let c = &c;
            let built = st.packets + st.loopback_packets;
            rows.push(StepRow {
                sample: s,
                step: t,
                cycles,
                critical_path_cycles: critical,
                critical_core: critical_core.map(|c| map.cores[c].core.to_string()).unwrap_or_default(),
                latency_us: cycles as f64 / spec.timing.clock_mhz,
                sops_weight_layers: c.sops_weight,
                sops_pooling: c.sops_pool,
                synapse_reads: c.synapse_reads,
                neuron_updates: c.neuron_updates,
                spikes: c.spikes.iter().sum(),
                packets: st.packets,
                loopback_packets: st.loopback_packets,
                host_packets: st.host_packets,
                hops: st.hops.iter().sum(),
                network_active_cycles: st.first_inject.map_or(0, |f| st.last_eject.saturating_sub(f)),
                max_link_busy_cycles: st.max_link_busy,
                stall_cycles: st.core_stall_cycles + st.link_stall_cycles,
                energy_pj: stats::step_energy(
                    &lay.target,
                    &stats::StepEvents {
                        synapse_reads_by_kind: c.synapse_reads_by_kind,
                        pool_entries: c.pool_entries,
                        neuron_updates: c.neuron_updates,
                        active_neurons: c.active_neurons,
                        spikes: c.spikes_total,
                        built,
                        received: st.received,
                        hops: st.hops,
                        cycles,
                    },
                ),
            });
            eng.totals.add(st);
            base += cycles;
        }
    }
    let mut stats = stats::summarise(map, &lay.target, &rows, &layer_totals, &lay.spiking, n_samples, n_steps);
    stats.mode = format!("{:?}", opts.mode).to_lowercase();
    let pipelined = opts.timing.unwrap_or(map.target.timing.mode) == TimingMode::Pipelined;
    stats.timing = if pipelined { "pipelined" } else { "same-step" }.to_string();
    stats.seed = opts.seed;
    stats.saturated_values = saturated;
    let mut tally = func.tally;
    tally.merge(&eng.tally);
    (stats.cores, stats.layers) = attribution::finish(lay, &tally, &critical_cores);
    let t = &eng.totals;
    stats.hops_ew = t.hops[0];
    stats.hops_ns = t.hops[1];
    stats.hops_chip = t.hops[2];
    stats.core_stall_cycles = t.core_stall_cycles;
    stats.link_stall_cycles = t.link_stall_cycles;
    stats.deliveries_injected = t.destinations;
    stats.deliveries_delivered = t.delivered;
    stats.packet_latency_mean_cycles = if t.ejected == 0 { 0.0 } else { t.latency_sum as f64 / t.ejected as f64 };
    let w = lay.grid[0];
    let dirs = ["east", "west", "north", "south"];
    let total = stats.cycles_total.max(1) as f64;
    for (k, (&p, &b)) in eng.link_packets.iter().zip(&eng.link_busy).enumerate() {
        if p == 0 {
            continue;
        }
        let r = k as u32 / 4;
        let name = format!("({},{})→{}", r % w, r / w, dirs[k % 4]);
        stats.links.push(LinkLoad { link: name, packets: p, busy_cycles: b, utilisation: b as f64 / total });
    }
    if let Some(l) = stats.links.iter().max_by(|a, b| a.busy_cycles.cmp(&b.busy_cycles).then(b.link.cmp(&a.link))) {
        stats.max_link_utilisation = l.utilisation;
        stats.busiest_link = Some(l.link.clone());
    }
    let map_fingerprint = if perfetto.is_some() || vcd.is_some() { map.fingerprint() } else { String::new() };
    let trace = TraceData {
        map_fingerprint,
        perfetto,
        vcd,
        grid_width: w,
        core_names: map.cores.iter().map(|c| c.core.to_string()).collect(),
        clock_mhz: spec.timing.clock_mhz,
        model: map.model.clone(),
    };
    Ok(SimResult {
        outputs,
        output_shape: [n_samples, n_steps, n_out],
        layer_spikes,
        layer_names: lay.spiking.iter().map(|&p| map.populations[p as usize].name.clone()).collect(),
        stats,
        steps: rows,
        trace,
    })
}
