//! The step pipeline of a run. The functional pass computes steps in order, keeping what
//! each step's timing needs; the steps of one round are timed in parallel, each on an
//! engine of its own, while the functional pass computes the next round's steps.
//!
//! Needs: a validated [`Layout`] and input. Establishes: results byte-identical for any
//! thread count and round width. A step's timing is a function of its load alone (every
//! step starts from empty queues after the barrier: [`Engine::load_step`] resets what a
//! step leaves behind), rows and traces are assembled in step order after each round, and
//! every run total is a sum or a maximum of integers. One thread runs rounds of one step
//! (the timing of step `k`, then the functional pass of step `k+1`).

use rayon::prelude::*;

use crate::engine::{Engine, StepTiming};
use crate::func::{Arith, Functional, StepCounts};
use crate::layout::{self, Layout};
use crate::options::SimOptions;
use crate::trace::{Recorder, TraceData, VcdData};
use crate::{attribution, stats, LinkLoad, SimError, SimResult, StepRow, TimingMode};

/// Most steps timed in parallel in one round (each needs an engine holding its step's
/// packets while it runs).
const MAX_ROUND_STEPS: usize = 4;

/// What the timing of one step needs from its functional pass, kept while the functional
/// pass runs ahead: events per projection, per-unit and per-neuron charges (see
/// [`Engine::load_step`]), the step's counters, and for the traced sample's VCD every
/// population's values.
#[derive(Default)]
struct StepInput {
    /// The step loaded (sample × steps + step); `None` past the end of the run.
    k: Option<usize>,
    events: Vec<Vec<(u32, f64)>>,
    unit_pool_ops: Vec<u64>,
    unit_active: Vec<u64>,
    unit_spikes: Vec<u64>,
    flags: Vec<Vec<u32>>,
    pool_ops: Vec<Vec<u32>>,
    counts: StepCounts,
    traced_values: Vec<Vec<f64>>,
    /// The critical path of the timed step, or why it could not be timed.
    critical: Option<Result<u64, SimError>>,
}

/// What the functional pass accumulates over the run, in step order.
struct FunctionalOut {
    outputs: Vec<f64>,
    layer_spikes: Vec<u64>,
    layer_totals: Vec<u64>,
}

struct Ctx<'a> {
    lay: &'a Layout<'a>,
    input: &'a [f64],
    n_in: usize,
    n_steps: usize,
    n_total: usize,
    traced_sample: usize,
    vcd: bool,
}

impl Ctx<'_> {
    /// Computes steps `next..` into `round` (as many as it holds); returns the next step.
    fn fill<A: Arith>(
        &self,
        round: &mut [StepInput],
        func: &mut Functional<A>,
        out: &mut FunctionalOut,
        mut next: usize,
    ) -> usize {
        let lay = self.lay;
        for si in round {
            si.critical = None;
            if next >= self.n_total {
                si.k = None;
                continue;
            }
            let k = next;
            next += 1;
            if k % self.n_steps == 0 {
                func.reset();
            }
            func.step(lay, &self.input[k * self.n_in..(k + 1) * self.n_in]);
            si.events.clone_from(&func.cur);
            si.unit_pool_ops.clone_from(&func.unit_pool_ops);
            si.unit_active.clone_from(&func.unit_active);
            si.unit_spikes.clone_from(&func.unit_spikes);
            si.flags.clone_from(&func.flags);
            si.pool_ops.clone_from(&func.pool_ops);
            si.counts.clone_from(&func.counts);
            out.outputs.extend_from_slice(func.output(lay));
            out.layer_spikes.extend_from_slice(&func.counts.spikes);
            for (a, b) in out.layer_totals.iter_mut().zip(&func.counts.spikes) {
                *a += b;
            }
            if self.vcd && k / self.n_steps == self.traced_sample {
                si.traced_values.clone_from(&func.values);
            }
            func.end_step(lay);
            si.k = Some(k);
        }
        next
    }

    fn time_one(&self, eng: &mut Engine, si: &StepInput, k: usize) -> Result<u64, SimError> {
        let lay = self.lay;
        eng.load_step(lay, &si.events, &si.unit_pool_ops, &si.unit_active, &si.unit_spikes, &si.flags, &si.pool_ops);
        eng.run_step(lay, k / self.n_steps, k % self.n_steps)
    }

    /// Times the steps of `round`, step `i` on `engines[i]`: in parallel, or in order
    /// when one of them belongs to the sample a Perfetto trace records (its events need
    /// the cycle the step starts at, `base` plus the cycles of the steps before it).
    fn time(
        &self,
        engines: &mut [Engine],
        round: &mut [StepInput],
        perfetto: &mut Option<Recorder>,
        base: u64,
        barrier: u64,
    ) {
        let traced = |k: usize| k / self.n_steps == self.traced_sample;
        if perfetto.is_some() && round.iter().any(|s| s.k.is_some_and(traced)) {
            let mut at = base;
            for (eng, si) in engines.iter_mut().zip(round.iter_mut()) {
                let Some(k) = si.k else { continue };
                if traced(k) {
                    if let Some(mut r) = perfetto.take() {
                        r.base = at;
                        eng.rec = Some(r);
                    }
                }
                let critical = self.time_one(eng, si, k);
                if let Some(r) = eng.rec.take() {
                    *perfetto = Some(r);
                }
                let failed = critical.is_err();
                at += critical.as_ref().map_or(0, |c| c + barrier);
                si.critical = Some(critical);
                if failed {
                    return;
                }
            }
            return;
        }
        engines.par_iter_mut().zip(round.par_iter_mut()).with_max_len(1).for_each(|(eng, si)| {
            if let Some(k) = si.k {
                si.critical = Some(self.time_one(eng, si, k));
            }
        });
    }
}

/// Runs every sample and step of `input` through the functional pass and the timing
/// engines and assembles the result.
pub(crate) fn run<A: Arith>(
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
    let n_total = n_samples * n_steps;
    let tr = &opts.trace;
    let ctx = Ctx { lay, input, n_in, n_steps, n_total, traced_sample: tr.sample, vcd: tr.vcd };
    let mut func = Functional::new(lay, arith);
    let threads = rayon::current_num_threads();
    // One step per thread and one more: the functional pass is sequential, so the thread
    // running it also takes a step's timing when it is done (measured best on 2 threads).
    let width = if threads < 2 { 1 } else { (threads + 1).min(MAX_ROUND_STEPS) }.min(n_total.max(1));
    let mut engines: Vec<Engine> = (0..width).map(|_| Engine::new(lay, opts)).collect();
    let new_round = || -> Vec<StepInput> { (0..width).map(|_| StepInput::default()).collect() };
    let (mut timing, mut filling) = (new_round(), new_round());
    let barrier = spec.timing.barrier_for_tiles(lay.tiles_used) as u64;
    let mut out = FunctionalOut {
        outputs: Vec::with_capacity(n_total * n_out),
        layer_spikes: Vec::with_capacity(n_total * n_layers),
        layer_totals: vec![0u64; n_layers],
    };
    let mut rows = Vec::with_capacity(n_total);
    let mut critical_cores = Vec::with_capacity(n_total);
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
    let mut totals = StepTiming::default();
    let mut base = 0u64;
    // The first round times one step (the pipeline fills while it runs).
    let mut next = ctx.fill(&mut timing[..1], &mut func, &mut out, 0);
    while timing[0].k.is_some() {
        ((), next) = rayon::join(
            || ctx.time(&mut engines, &mut timing, &mut perfetto, base, barrier),
            || ctx.fill(&mut filling, &mut func, &mut out, next),
        );
        for (eng, si) in engines.iter().zip(&mut timing) {
            let (Some(k), Some(critical)) = (si.k, si.critical.take()) else { continue };
            let (s, t) = (k / n_steps, k % n_steps);
            let critical = critical?;
            let cycles = critical + barrier;
            let critical_core = attribution::critical_core(&eng.core_finish);
            critical_cores.push(critical_core.map_or(layout::NONE, |c| c as u32));
            if let (true, Some(v)) = (s == tr.sample, vcd.as_mut()) {
                for (l, &p) in lay.spiking.iter().enumerate() {
                    let first = v.populations[l].1;
                    for (i, &val) in si.traced_values[p as usize].iter().enumerate() {
                        if val != 0.0 {
                            let u = lay.unit_of_neuron[p as usize][i] as usize;
                            let rise = eng.neuron_updated(u, lay.pos_of_neuron[p as usize][i]);
                            v.spike(base + rise, base + cycles, first + i as u32);
                        }
                    }
                }
            }
            rows.push(step_row(lay, &si.counts, &eng.st, s, t, critical, cycles, critical_core));
            totals.add(&eng.st);
            base += cycles;
        }
        std::mem::swap(&mut timing, &mut filling);
    }
    let mut stats = stats::summarise(map, &lay.target, &rows, &out.layer_totals, &lay.spiking, n_samples, n_steps);
    stats.mode = format!("{:?}", opts.mode).to_lowercase();
    let pipelined = opts.timing.unwrap_or(map.target.timing.mode) == TimingMode::Pipelined;
    stats.timing = if pipelined { "pipelined" } else { "same-step" }.to_string();
    stats.seed = opts.seed;
    stats.saturated_values = saturated;
    let mut tally = func.tally;
    let n_links = lay.n_routers() * 4;
    let (mut link_packets, mut link_busy) = (vec![0u64; n_links], vec![0u64; n_links]);
    for eng in &engines {
        tally.merge(&eng.tally);
        for (a, b) in link_packets.iter_mut().zip(&eng.link_packets) {
            *a += b;
        }
        for (a, b) in link_busy.iter_mut().zip(&eng.link_busy) {
            *a += b;
        }
    }
    (stats.cores, stats.layers) = attribution::finish(lay, &tally, &critical_cores);
    stats.hops_ew = totals.hops[0];
    stats.hops_ns = totals.hops[1];
    stats.hops_chip = totals.hops[2];
    stats.core_stall_cycles = totals.core_stall_cycles;
    stats.link_stall_cycles = totals.link_stall_cycles;
    stats.deliveries_injected = totals.destinations;
    stats.deliveries_delivered = totals.delivered;
    stats.packet_latency_mean_cycles =
        if totals.ejected == 0 { 0.0 } else { totals.latency_sum as f64 / totals.ejected as f64 };
    let w = lay.grid[0];
    let dirs = ["east", "west", "north", "south"];
    let total = stats.cycles_total.max(1) as f64;
    for (k, (&p, &b)) in link_packets.iter().zip(&link_busy).enumerate() {
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
        outputs: out.outputs,
        output_shape: [n_samples, n_steps, n_out],
        layer_spikes: out.layer_spikes,
        layer_names: lay.spiking.iter().map(|&p| map.populations[p as usize].name.clone()).collect(),
        stats,
        steps: rows,
        trace,
    })
}

/// The per-step row of a timed step.
#[allow(clippy::too_many_arguments)]
fn step_row(
    lay: &Layout,
    c: &StepCounts,
    st: &StepTiming,
    sample: usize,
    step: usize,
    critical: u64,
    cycles: u64,
    critical_core: Option<usize>,
) -> StepRow {
    let map = lay.map;
    let spec = lay.target.spec();
    StepRow {
        sample,
        step,
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
                built: st.packets + st.loopback_packets,
                received: st.received,
                hops: st.hops,
                cycles,
            },
        ),
    }
}
