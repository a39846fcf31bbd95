//! The functional pass: what every neuron computes in one time step, in the reference
//! order, independent of timing.
//!
//! Per step, populations are visited in index order. For a placed population `p`: every
//! unit's accumulators start at the neurons' bias; then for each projection into `p` in
//! projection order, its events (this step's, or the previous step's for a recurrent
//! projection) in increasing event index are delivered through the fan-out table to the
//! axons and their synapses, in table order; then the units update. Then every projection
//! out of `p` forms its events: the nonzero source values (unpooled), or the pooled sums
//! `Σ factor × value` over nonzero sources in increasing source order, keeping the nonzero
//! sums. This is the order the reference executor adds in, so exact mode is bit-identical.
//!
//! Counters follow NeuroBench's Effective_ACs: a delivered event counts once per nonzero
//! weight it reaches (weight-layer SOPs, or pooling SOPs for `Pooling` projections), and a
//! nonzero source value counts once per pooling entry it feeds (pooling SOPs).

use spikeforge_targets::coremap::ProjectionKind;

use crate::layout::Layout;

/// The arithmetic of one numeric mode.
pub(crate) trait Arith: Send {
    /// Zero all state (a new sample).
    fn reset(&mut self);
    /// Set unit `u`'s accumulators to its neurons' bias.
    fn begin(&mut self, lay: &Layout, u: usize);
    /// Deliver, for every core `c` in `cores` (ascending indices into `map.cores`), the
    /// events `batches[c]` = `(axon, value)` in order. Cores are independent (each sums
    /// only its own neurons), so they may be processed in parallel; within a core the
    /// order is kept, so results do not depend on the thread count.
    fn deliver(&mut self, lay: &Layout, cores: &[u32], batches: &[Vec<(u32, f64)>]);
    /// Update unit `u`, writing its neurons' output values into the population's `out`
    /// and their [`neuron_flags`] into `flags` (indexed as `out`).
    /// Returns the number of spikes and of active neurons (input, a nonzero state or bias
    /// this step, or a spike: the neurons SANA-FE's Loihi model charges an update for).
    fn update(&mut self, lay: &Layout, u: usize, out: &mut [f64], flags: &mut [u32]) -> (u64, u64);
}

/// One neuron's step for the timing engine: bit 0 set when it was active (charged
/// `neuron_active_cycles`), the higher bits its spike count (charged `spike_cycles` each).
#[inline]
pub(crate) fn neuron_flags(active: bool, spikes: u64) -> u32 {
    (spikes.min(u32::MAX as u64 >> 1) as u32) << 1 | active as u32
}

/// Counters of one step.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepCounts {
    pub sops_weight: u64,
    pub sops_pool: u64,
    /// Stored synapses read (zero weights included): the work the cores do.
    pub synapse_reads: u64,
    /// Source-side pooling entries computed (fed by a nonzero source value).
    pub pool_entries: u64,
    pub neuron_updates: u64,
    /// Neurons with input, a nonzero state or bias, or a spike this step.
    pub active_neurons: u64,
    /// Spikes of all populations this step.
    pub spikes_total: u64,
    /// Synapse reads by projection kind: dense, sparse, convolution, other (pooling,
    /// partial sums).
    pub synapse_reads_by_kind: [u64; 4],
    /// Per spiking population (layout order).
    pub spikes: Vec<u64>,
}

pub(crate) struct Functional<A: Arith> {
    pub arith: A,
    /// Output value of every neuron of every population at the current step.
    pub values: Vec<Vec<f64>>,
    /// Events produced at the current step, per projection: (event, value).
    pub cur: Vec<Vec<(u32, f64)>>,
    /// Events of recurrent projections produced at the previous step.
    prev: Vec<Vec<(u32, f64)>>,
    pool_buf: Vec<Vec<f64>>,
    /// Per core, the deliveries of the population being computed: (axon, value).
    batches: Vec<Vec<(u32, f64)>>,
    /// The population whose deliveries `batches[c]` collects.
    batch_pop: Vec<u32>,
    /// Cores holding each population's units, ascending.
    pop_cores: Vec<Vec<u32>>,
    /// Pooling operations per unit this step (charged to the unit's update).
    pub unit_pool_ops: Vec<u64>,
    /// Active neurons and spikes per unit this step (charged to the unit's update).
    pub unit_active: Vec<u64>,
    pub unit_spikes: Vec<u64>,
    /// Per population and neuron this step: its [`neuron_flags`], and the
    /// pooling operations its value fed (empty for populations without pooled
    /// projections). The timing engine charges each neuron's update where it happens in
    /// its unit's update order.
    pub flags: Vec<Vec<u32>>,
    pub pool_ops: Vec<Vec<u32>>,
    pub counts: StepCounts,
    /// Run totals per core and population (see [`crate::attribution`]).
    pub tally: crate::attribution::Tally,
}

impl<A: Arith> Functional<A> {
    pub fn new(lay: &Layout, arith: A) -> Self {
        let m = lay.map;
        Functional {
            arith,
            values: m.populations.iter().map(|p| vec![0.0; p.n_neurons as usize]).collect(),
            cur: vec![Vec::new(); m.projections.len()],
            prev: vec![Vec::new(); m.projections.len()],
            pool_buf: m
                .projections
                .iter()
                .map(|pr| if pr.pool.is_some() { vec![0.0; pr.n_events as usize] } else { Vec::new() })
                .collect(),
            unit_pool_ops: vec![0; lay.units.len()],
            unit_active: vec![0; lay.units.len()],
            unit_spikes: vec![0; lay.units.len()],
            flags: lay.pos_of_neuron.iter().map(|p| vec![0; p.len()]).collect(),
            pool_ops: (0..m.populations.len())
                .map(|p| {
                    let pooled = lay.proj_from[p].iter().any(|&j| m.projections[j as usize].pool.is_some());
                    vec![0; if pooled { lay.pos_of_neuron[p].len() } else { 0 }]
                })
                .collect(),
            batches: vec![Vec::new(); m.cores.len()],
            batch_pop: vec![u32::MAX; m.cores.len()],
            pop_cores: lay
                .pop_units
                .iter()
                .map(|us| {
                    let mut cs: Vec<u32> = us.iter().map(|&u| lay.units[u as usize].core).collect();
                    cs.sort_unstable();
                    cs.dedup();
                    cs
                })
                .collect(),
            counts: StepCounts { spikes: vec![0; lay.spiking.len()], ..Default::default() },
            tally: crate::attribution::Tally::new(m.cores.len(), m.populations.len()),
        }
    }

    /// A new sample: all state, values and pending recurrent events cleared.
    pub fn reset(&mut self) {
        self.arith.reset();
        for v in &mut self.values {
            v.fill(0.0);
        }
        for e in self.cur.iter_mut().chain(self.prev.iter_mut()) {
            e.clear();
        }
    }

    /// One time step; `x` holds the input population's values.
    pub fn step(&mut self, lay: &Layout, x: &[f64]) {
        let m = lay.map;
        self.counts.sops_weight = 0;
        self.counts.sops_pool = 0;
        self.counts.synapse_reads = 0;
        self.counts.pool_entries = 0;
        self.counts.neuron_updates = 0;
        self.counts.active_neurons = 0;
        self.counts.spikes_total = 0;
        self.counts.synapse_reads_by_kind = [0; 4];
        self.counts.spikes.fill(0);
        self.unit_pool_ops.fill(0);
        let mut layer = 0;
        for p in 0..m.populations.len() {
            let pop = &m.populations[p];
            if p as u32 == m.input {
                self.values[p].copy_from_slice(x);
            } else {
                for &u in &lay.pop_units[p] {
                    self.arith.begin(lay, u as usize);
                }
                for &c in &self.pop_cores[p] {
                    self.batches[c as usize].clear();
                    self.batch_pop[c as usize] = p as u32;
                }
                for &j in &lay.proj_into[p] {
                    let pr = &m.projections[j as usize];
                    let events = if lay.delayed[j as usize] { &self.prev[j as usize] } else { &self.cur[j as usize] };
                    for &(e, v) in events {
                        let e = e as usize;
                        for d in &pr.fanout[pr.fanout_start[e] as usize..pr.fanout_start[e + 1] as usize] {
                            // An axon on a core without the target's neurons drives nothing.
                            let c = lay.core_idx(d.core);
                            if self.batch_pop[c] == p as u32 {
                                self.batches[c].push((d.axon, v));
                            }
                        }
                    }
                    // Delayed events were counted when sent (see `count_sent`).
                    if !lay.delayed[j as usize] {
                        self.count_sent(lay, j as usize);
                    }
                }
                self.arith.deliver(lay, &self.pop_cores[p], &self.batches);
                let mut spikes = 0;
                for &u in &lay.pop_units[p] {
                    let (s, active) = self.arith.update(lay, u as usize, &mut self.values[p], &mut self.flags[p]);
                    spikes += s;
                    (self.unit_spikes[u as usize], self.unit_active[u as usize]) = (s, active);
                    self.counts.active_neurons += active;
                    let (core, n) = (lay.units[u as usize].core as usize, lay.units[u as usize].neurons as u64);
                    self.counts.neuron_updates += n;
                    self.tally.core_updates[core] += n;
                    self.tally.pop_updates[p] += n;
                    self.tally.pop_active[p] += active;
                    if pop.model.is_spiking() {
                        self.tally.core_spikes[core] += s;
                    }
                }
                if pop.model.is_spiking() {
                    self.counts.spikes[layer] = spikes;
                    self.counts.spikes_total += spikes;
                    self.tally.pop_spikes[p] += spikes;
                }
            }
            if pop.model.is_spiking() {
                layer += 1;
            }
            self.pool_ops[p].fill(0);
            for &j in &lay.proj_from[p] {
                self.form_events(lay, j as usize);
                if lay.delayed[j as usize] {
                    self.count_sent(lay, j as usize);
                }
            }
        }
    }

    /// Counts the synaptic operations of projection `j`'s current events. The timing model
    /// processes a packet's synapses when it arrives, in the step it was sent — for a
    /// recurrent projection that is one step before its effect on the target, and the
    /// packets of a sample's last step are still sent and processed — so recurrent events
    /// are counted when sent, forward ones when delivered (the same step).
    fn count_sent(&mut self, lay: &Layout, j: usize) {
        let m = lay.map;
        let pr = &m.projections[j];
        let (mut sops, mut reads) = (0u64, 0u64);
        for &(e, _) in &self.cur[j] {
            let e = e as usize;
            for d in &pr.fanout[pr.fanout_start[e] as usize..pr.fanout_start[e + 1] as usize] {
                let (c, a) = (lay.core_idx(d.core), d.axon as usize);
                sops += lay.axon_nnz[c][a] as u64;
                reads += lay.axon_len[c][a] as u64;
                self.tally.core_reads[c] += lay.axon_len[c][a] as u64;
            }
        }
        let to = pr.target as usize;
        self.counts.synapse_reads += reads;
        self.counts.synapse_reads_by_kind[kind_index(pr.kind)] += reads;
        self.tally.pop_reads_by_kind[to][kind_index(pr.kind)] += reads;
        match pr.kind {
            ProjectionKind::Pooling => {
                self.counts.sops_pool += sops;
                self.tally.pop_sops_pool[to] += sops;
            }
            ProjectionKind::PartialSum | ProjectionKind::Weightless => {}
            _ => {
                self.counts.sops_weight += sops;
                self.tally.pop_sops_weight[to] += sops;
            }
        }
    }

    fn form_events(&mut self, lay: &Layout, j: usize) {
        let pr = &lay.map.projections[j];
        let vals = &self.values[pr.source as usize];
        let out = &mut self.cur[j];
        out.clear();
        match &pr.pool {
            None => out.extend(vals.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, &v)| (i as u32, v))),
            Some(pool) => {
                let buf = &mut self.pool_buf[j];
                let of = &lay.unit_of_neuron[pr.source as usize];
                let ops = &mut self.pool_ops[pr.source as usize];
                for (i, &v) in vals.iter().enumerate() {
                    if v == 0.0 {
                        continue;
                    }
                    let (s, e) = (pool.start[i] as usize, pool.start[i + 1] as usize);
                    for k in s..e {
                        buf[pool.event[k] as usize] += pool.factor[k] * v;
                    }
                    self.counts.sops_pool += (e - s) as u64;
                    self.counts.pool_entries += (e - s) as u64;
                    self.tally.pop_sops_pool[pr.target as usize] += (e - s) as u64;
                    self.tally.pop_pool_entries[pr.target as usize] += (e - s) as u64;
                    if let Some(&u) = of.get(i) {
                        self.unit_pool_ops[u as usize] += (e - s) as u64;
                        ops[i] += (e - s) as u32;
                    }
                }
                for (e, b) in buf.iter_mut().enumerate() {
                    if *b != 0.0 {
                        out.push((e as u32, *b));
                    }
                    *b = 0.0;
                }
            }
        }
    }

    /// After timing has consumed this step's events: delayed events become "previous".
    pub fn end_step(&mut self, lay: &Layout) {
        for (j, &delayed) in lay.delayed.iter().enumerate() {
            if delayed {
                std::mem::swap(&mut self.cur[j], &mut self.prev[j]);
            }
        }
    }

    /// The output population's values.
    pub fn output(&self, lay: &Layout) -> &[f64] {
        &self.values[lay.map.output as usize]
    }
}

/// Index of a projection kind in per-kind tables: dense, sparse, convolution, other.
pub(crate) fn kind_index(kind: ProjectionKind) -> usize {
    match kind {
        ProjectionKind::Dense => 0,
        ProjectionKind::Sparse => 1,
        ProjectionKind::Conv => 2,
        ProjectionKind::Pooling | ProjectionKind::PartialSum | ProjectionKind::Weightless => 3,
    }
}

/// Fewest deliveries worth handing to worker threads.
const PARALLEL_MIN_DELIVERIES: usize = 256;

/// Calls `f(core, that core's accumulators)` for every core in `cores` (ascending), in
/// parallel when there is enough work; `acc` is indexed by flat neuron.
pub(crate) fn for_cores<T: Send>(
    lay: &Layout,
    acc: &mut [T],
    cores: &[u32],
    batches: &[Vec<(u32, f64)>],
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    use rayon::prelude::*;
    let work: usize = cores.iter().map(|&c| batches[c as usize].len()).sum();
    if work == 0 {
        return;
    }
    if cores.len() < 2 || work < PARALLEL_MIN_DELIVERIES || rayon::current_num_threads() < 2 {
        for &c in cores {
            let (s, e) = lay.core_span(c as usize);
            f(c as usize, &mut acc[s..e]);
        }
        return;
    }
    let mut parts: Vec<(usize, &mut [T])> = Vec::with_capacity(cores.len());
    let mut rest = acc;
    let mut at = 0usize;
    for &c in cores {
        let (s, e) = lay.core_span(c as usize);
        let tail = std::mem::take(&mut rest);
        let (_, tail) = tail.split_at_mut(s - at);
        let (mine, tail) = tail.split_at_mut(e - s);
        parts.push((c as usize, mine));
        rest = tail;
        at = e;
    }
    parts.into_par_iter().with_max_len(1).for_each(|(c, a)| f(c, a));
}
