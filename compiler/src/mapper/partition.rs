//! Partitioning: populations → contiguous pieces packed into core loads ("bins"), each of
//! one core type, under every per-core limit at once.
//!
//! Needs: a lowered [`Network`] and a validated target. Establishes: every non-input neuron
//! is in exactly one piece; every bin is within all limits of its core type, counted with
//! the target's formulas ([`spikeforge_targets::memory`]):
//!
//! * **neurons**: neuron-memory entries; with `NeuronLayout::PowerOfTwo` every feature map a
//!   piece touches takes `2^⌈log2 H⌉·2^⌈log2 W⌉` entries (sinabs);
//! * **synapse memory**: per incoming axon (a projection's event with synapses on the core),
//!   one row whose targets lie in the piece of the projection's target population
//!   (`row_bits(core, synapses, piece length)`); a convolution on a weight-sharing core
//!   stores its kernel once for the output channels the piece touches instead;
//! * **in-axons**: distinct (projection, event) pairs reaching the bin;
//! * **out-axons**: Σ over (projection, event) pairs the bin sends of the destination bins
//!   of that event; an event pooled from several source neurons is sent by every bin that
//!   holds one of them; **destination cores**: distinct destination bins; **fan-out per
//!   neuron**: destination axons of one neuron; **routing entries**: one per sent event with
//!   multicast, one per out-axon with unicast.
//!
//! Algorithm: populations are filled in reverse evaluation order, neurons ascending, into
//! the current bin until some limit would break, then a new bin opens (a bin may hold the
//! end of one population and the start of the next, so small layers share cores). Accounting
//! is incremental (per neuron, the synapses into it), so a pass is linear in synapses.
//! Filling targets before sources makes the destinations of forward projections exact when
//! a source is filled; for recurrent projections the previous pass's destinations are used
//! and passes repeat (at most [`MAX_PASSES`]) until the exact check holds. On targets with
//! several core types, each new bin takes the type (among those with cores left) that holds
//! the most of the current population's remaining neurons, preferring smaller cores on ties.
//! That choice is greedy: it can run out of one type where a search over assignments would
//! not (the count check then names the short type).

use spikeforge_targets::coremap::CoreUsage;
use spikeforge_targets::memory::{self, conv_kernel_bits_shared};
use spikeforge_targets::{Cast, CoreSpec, NeuronLayout, RowFormat, Target};

use super::error::{MapError, Resource};
use super::lower::{for_events, Network};

/// Per population, its pieces `(bin, first, count)`.
type Pieces = Vec<Vec<(u32, u32, u32)>>;

/// Passes of the fill before out-side limits must hold.
pub const MAX_PASSES: usize = 4;

/// A contiguous range of one population's neurons inside a bin.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub pop: u32,
    pub first: u32,
    pub count: u32,
}

/// The load of one core.
#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    pub core_type: usize,
    /// Local neuron order: segments in fill order.
    pub segments: Vec<Segment>,
    pub usage: CoreUsage,
    pub dest_cores: u32,
}

/// Destination bins of each event of a projection (CSR, bins ascending).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dests {
    pub start: Vec<u32>,
    pub bins: Vec<u32>,
}

impl Dests {
    #[inline]
    pub fn of(&self, e: u32) -> &[u32] {
        &self.bins[self.start[e as usize] as usize..self.start[e as usize + 1] as usize]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    pub bins: Vec<Bin>,
    /// Per population: `(bin, first, count)` in neuron order (empty for the input).
    pub pieces: Vec<Vec<(u32, u32, u32)>>,
    /// Per projection: the bins each event reaches.
    pub dests: Vec<Dests>,
    /// Fill passes used.
    pub passes: usize,
}

/// Capacity of `r` on a core type (`u64::MAX` when unlimited).
pub fn capacity(spec: &CoreSpec, r: Resource) -> u64 {
    let opt = |v: Option<u32>| v.map_or(u64::MAX, |v| v as u64);
    match r {
        Resource::Neurons => spec.max_neurons as u64,
        Resource::SynapseMemory => spec.synapse_memory_bits,
        Resource::InAxons => spec.in_axons as u64,
        Resource::OutAxons => spec.out_axons as u64,
        Resource::DestinationCores => opt(spec.max_destination_cores),
        Resource::FanoutPerNeuron => opt(spec.max_fanout_per_neuron),
        Resource::RoutingEntries => opt(spec.routing_entries),
    }
}

/// Row footprints for one core type and index width, tabulated per group remainder so a
/// row of `s` synapses costs `(s / g)·full + rest[s % g]` (exactly `memory::row_bits`).
#[derive(Clone, Debug)]
struct RowCost {
    spec: CoreSpec,
    targets: u64,
    group: u64,
    full: u64,
    rest: Vec<u64>,
}

impl RowCost {
    fn new(spec: &CoreSpec, targets: u64) -> RowCost {
        let rb = |s: u64| memory::row_bits(spec, s, targets).unwrap_or(u64::MAX);
        match spec.encoding.group_max_synapses {
            Some(g) if g as u64 <= 1 << 16 => {
                let g = g as u64;
                RowCost { spec: spec.clone(), targets, group: g, full: rb(g), rest: (0..g).map(rb).collect() }
            }
            _ => RowCost { spec: spec.clone(), targets, group: 0, full: 0, rest: Vec::new() },
        }
    }

    #[inline]
    fn bits(&self, s: u32) -> u64 {
        let s = s as u64;
        match s.checked_div(self.group) {
            Some(full_groups) => {
                full_groups.saturating_mul(self.full).saturating_add(self.rest[(s % self.group) as usize])
            }
            None => memory::row_bits(&self.spec, s, self.targets).unwrap_or(u64::MAX),
        }
    }
}

/// Per core type: a row-cost table per sparse index width.
struct TypeCosts {
    by_index: Vec<Option<RowCost>>,
}

impl TypeCosts {
    fn new(spec: &CoreSpec) -> TypeCosts {
        let mut by_index = vec![None; 65];
        if let RowFormat::Sparse { .. } = spec.encoding.format {
            for ib in 0..=64u32 {
                // A number of targets whose index width is `ib`, if any.
                let t = if ib == 0 {
                    1
                } else if ib < 64 {
                    1u64 << ib
                } else {
                    u64::MAX
                };
                if memory::index_bits(&spec.encoding, t) == Ok(ib) {
                    by_index[ib as usize] = Some(RowCost::new(spec, t));
                } else if ib == 0 {
                    if let Ok(b) = memory::index_bits(&spec.encoding, 1) {
                        by_index[b as usize] = Some(RowCost::new(spec, 1));
                    }
                }
            }
        }
        TypeCosts { by_index }
    }
}

/// Per projection: the synapse counts per event in the current piece of its target.
#[derive(Clone, Debug, Default)]
struct Acc {
    cnt: Vec<u32>,
    touched: Vec<u32>,
    bits: u64,
}

/// The bin being filled.
#[derive(Clone, Debug)]
struct Open {
    /// Stamp, unique among bins and probes.
    id: u32,
    /// Index in `bins` (for probes, unused).
    index: u32,
    ty: usize,
    entries: u64,
    closed_bits: u64,
    seg_bits: u64,
    in_axons: u64,
    out_axons: u64,
    routing: u64,
    dest_cores: u64,
    segments: Vec<Segment>,
    seg_pop: usize,
    seg_first: usize,
    seg_count: usize,
    seg_channels: u64,
    last_channel: usize,
}

/// Undo record of one neuron's addition.
#[derive(Default)]
struct Undo {
    scalars: [u64; 7],
    accs: Vec<(u64, usize)>,
    sent: Vec<(usize, u32, u32)>,
    dstamp: Vec<(bool, u32, u32)>,
}

struct Filler<'a> {
    net: &'a Network,
    target: &'a Target,
    types: &'a [CoreSpec],
    costs: Vec<TypeCosts>,
    incoming: Vec<Vec<usize>>,
    outgoing: Vec<Vec<usize>>,
    acc: Vec<Acc>,
    sent: Vec<Vec<u32>>,
    cur: Vec<Option<Dests>>,
    prev: Vec<Option<Dests>>,
    dstamp_cur: Vec<u32>,
    dstamp_prev: Vec<u32>,
    next_id: u32,
    undo: Undo,
    events: Vec<u32>,
    multicast: bool,
}

impl<'a> Filler<'a> {
    fn new(net: &'a Network, target: &'a Target) -> Filler<'a> {
        let types = &target.spec().core_types;
        Filler {
            net,
            target,
            types,
            costs: types.iter().map(TypeCosts::new).collect(),
            incoming: net.incoming(),
            outgoing: net.outgoing(),
            acc: net.projections.iter().map(|p| Acc { cnt: vec![0; p.n_events], ..Acc::default() }).collect(),
            sent: net
                .projections
                .iter()
                .map(|p| if p.source == net.input { Vec::new() } else { vec![u32::MAX; p.n_events] })
                .collect(),
            cur: vec![None; net.projections.len()],
            prev: vec![None; net.projections.len()],
            dstamp_cur: Vec::new(),
            dstamp_prev: Vec::new(),
            next_id: 0,
            undo: Undo::default(),
            events: Vec::new(),
            multicast: target.spec().noc.cast == Cast::Multicast,
        }
    }

    fn open(&mut self, ty: usize, index: u32) -> Open {
        self.next_id += 1;
        Open {
            id: self.next_id,
            index,
            ty,
            entries: 0,
            closed_bits: 0,
            seg_bits: 0,
            in_axons: 0,
            out_axons: 0,
            routing: 0,
            dest_cores: 0,
            segments: Vec::new(),
            seg_pop: usize::MAX,
            seg_first: 0,
            seg_count: 0,
            seg_channels: 0,
            last_channel: usize::MAX,
        }
    }

    fn start_segment(o: &mut Open, pop: usize, first: usize) {
        o.seg_pop = pop;
        o.seg_first = first;
        o.seg_count = 0;
        o.seg_channels = 0;
        o.last_channel = usize::MAX;
        o.seg_bits = 0;
    }

    /// Ends the current segment: records it and clears the per-event counts.
    fn end_segment(&mut self, o: &mut Open) {
        if o.seg_pop == usize::MAX {
            return;
        }
        if o.seg_count > 0 {
            o.segments.push(Segment { pop: o.seg_pop as u32, first: o.seg_first as u32, count: o.seg_count as u32 });
        }
        o.closed_bits += o.seg_bits;
        o.seg_bits = 0;
        for &q in &self.incoming[o.seg_pop] {
            let a = &mut self.acc[q];
            for &e in &a.touched {
                a.cnt[e as usize] = 0;
            }
            a.touched.clear();
            a.bits = 0;
        }
        o.seg_pop = usize::MAX;
    }

    /// Adds neuron `j` of the current segment's population; returns its fan-out.
    fn add(&mut self, o: &mut Open, j: usize) -> u64 {
        let p = o.seg_pop;
        let pop = &self.net.populations[p];
        let spec = &self.types[o.ty];
        let hw = pop.grid[1] * pop.grid[2];
        let channel = j / hw.max(1);
        let new_channel = o.seg_count == 0 || channel != o.last_channel;
        let u = &mut self.undo;
        u.scalars = [o.entries, o.seg_bits, o.in_axons, o.out_axons, o.routing, o.dest_cores, 0];
        u.accs.clear();
        u.sent.clear();
        u.dstamp.clear();
        o.entries += match spec.neuron_layout {
            NeuronLayout::Exact => 1,
            NeuronLayout::PowerOfTwo if new_channel => {
                memory::neuron_entries(spec, 1, [pop.grid[1] as u64, pop.grid[2] as u64]).unwrap_or(u64::MAX)
            }
            NeuronLayout::PowerOfTwo => 0,
        };
        let count = (o.seg_count + 1) as u64;
        for &q in &self.incoming[p] {
            let proj = &self.net.projections[q];
            let a = &mut self.acc[q];
            u.accs.push((a.bits, a.touched.len()));
            let before = a.bits;
            let (cnt, touched) = (&mut a.cnt, &mut a.touched);
            let mut count_only = || {
                proj.synapses.for_target(j, |e, _| {
                    let c = &mut cnt[e as usize];
                    if *c == 0 {
                        touched.push(e);
                    }
                    *c += 1;
                })
            };
            match (spec.weight_sharing, proj.synapses.conv(), &spec.encoding.format) {
                (true, Some(g), _) => {
                    // The kernel of every output channel the piece touches, once the
                    // projection has any synapse here.
                    count_only();
                    let channels = o.seg_channels + new_channel as u64;
                    a.bits = if a.touched.is_empty() {
                        0
                    } else {
                        conv_kernel_bits_shared(spec, &g.memory_shape(channels)).unwrap_or(u64::MAX)
                    };
                }
                (_, _, RowFormat::Dense) => {
                    count_only();
                    let row = memory::row_bits(spec, 1, count).unwrap_or(u64::MAX);
                    a.bits = (a.touched.len() as u64).saturating_mul(row);
                }
                (_, _, RowFormat::Sparse { .. }) => {
                    let costs = &self.costs[o.ty].by_index;
                    let ib = memory::index_bits(&spec.encoding, count).ok().and_then(|b| costs[b as usize].as_ref());
                    match ib {
                        None => {
                            // The piece outgrew the widest index: charge it as out of memory.
                            count_only();
                            a.bits = u64::MAX;
                        }
                        Some(rc) => {
                            let old_ib = memory::index_bits(&spec.encoding, count - 1).ok();
                            if count == 1 || old_ib != memory::index_bits(&spec.encoding, count).ok() {
                                a.bits = a
                                    .touched
                                    .iter()
                                    .map(|&e| rc.bits(a.cnt[e as usize]))
                                    .fold(0u64, u64::saturating_add);
                            }
                            let mut bits = a.bits;
                            let (cnt, touched) = (&mut a.cnt, &mut a.touched);
                            proj.synapses.for_target(j, |e, _| {
                                let c = &mut cnt[e as usize];
                                if *c == 0 {
                                    touched.push(e);
                                }
                                bits = bits.saturating_sub(rc.bits(*c));
                                *c += 1;
                                bits = bits.saturating_add(rc.bits(*c));
                            });
                            a.bits = bits;
                        }
                    }
                }
            }
            o.in_axons += (a.touched.len() - u.accs.last().expect("pushed above").1) as u64;
            o.seg_bits = o.seg_bits.saturating_sub(before).saturating_add(a.bits);
        }
        // Out side: events this neuron sends, with the destinations known so far.
        let mut fan = 0u64;
        for &q in &self.outgoing[p] {
            let proj = &self.net.projections[q];
            let (dests, prev) = match (&self.cur[q], &self.prev[q]) {
                (Some(d), _) => (d, false),
                (None, Some(d)) => (d, true),
                (None, None) => continue,
            };
            self.events.clear();
            let ev = &mut self.events;
            for_events(proj, j, |e| ev.push(e));
            for &e in &self.events {
                let d = dests.of(e);
                if d.is_empty() {
                    continue;
                }
                fan += d.len() as u64;
                let s = &mut self.sent[q][e as usize];
                if *s == o.id {
                    continue;
                }
                u.sent.push((q, e, *s));
                *s = o.id;
                o.out_axons += d.len() as u64;
                o.routing += if self.multicast { 1 } else { d.len() as u64 };
                let stamps = if prev { &mut self.dstamp_prev } else { &mut self.dstamp_cur };
                for &b in d {
                    if stamps.len() <= b as usize {
                        stamps.resize(b as usize + 1, u32::MAX);
                    }
                    if stamps[b as usize] != o.id {
                        u.dstamp.push((prev, b, stamps[b as usize]));
                        stamps[b as usize] = o.id;
                        o.dest_cores += 1;
                    }
                }
            }
        }
        u.scalars[6] = new_channel as u64;
        o.seg_count += 1;
        if new_channel {
            o.seg_channels += 1;
            o.last_channel = channel;
        }
        fan
    }

    /// Reverts the last [`Filler::add`] of neuron `j`.
    fn undo(&mut self, o: &mut Open, j: usize) {
        let u = &mut self.undo;
        [o.entries, o.seg_bits, o.in_axons, o.out_axons, o.routing, o.dest_cores] =
            [u.scalars[0], u.scalars[1], u.scalars[2], u.scalars[3], u.scalars[4], u.scalars[5]];
        o.seg_count -= 1;
        if u.scalars[6] == 1 {
            o.seg_channels -= 1;
            o.last_channel = if o.seg_count == 0 {
                usize::MAX
            } else {
                (j - 1) / (self.net.populations[o.seg_pop].grid[1] * self.net.populations[o.seg_pop].grid[2]).max(1)
            };
        }
        for (&q, &(bits, len)) in self.incoming[o.seg_pop].iter().zip(&u.accs) {
            let a = &mut self.acc[q];
            let cnt = &mut a.cnt;
            self.net.projections[q].synapses.for_target(j, |e, _| cnt[e as usize] -= 1);
            a.touched.truncate(len);
            a.bits = bits;
        }
        for &(q, e, old) in u.sent.iter().rev() {
            self.sent[q][e as usize] = old;
        }
        for &(prev, b, old) in u.dstamp.iter().rev() {
            let stamps = if prev { &mut self.dstamp_prev } else { &mut self.dstamp_cur };
            stamps[b as usize] = old;
        }
    }

    /// The first limit the bin breaks, with the amount needed.
    fn violation(&self, o: &Open, fan: u64) -> Option<(Resource, u64)> {
        let spec = &self.types[o.ty];
        let used = [
            (Resource::Neurons, o.entries),
            (Resource::SynapseMemory, o.closed_bits.saturating_add(o.seg_bits)),
            (Resource::InAxons, o.in_axons),
            (Resource::OutAxons, o.out_axons),
            (Resource::DestinationCores, o.dest_cores),
            (Resource::FanoutPerNeuron, fan),
            (Resource::RoutingEntries, o.routing),
        ];
        used.into_iter().find(|&(r, v)| v > capacity(spec, r))
    }

    /// Adds `j` if every limit still holds.
    fn try_add(&mut self, o: &mut Open, j: usize) -> Result<(), (Resource, u64)> {
        let fan = self.add(o, j);
        match self.violation(o, fan) {
            None => Ok(()),
            Some(v) => {
                self.undo(o, j);
                Err(v)
            }
        }
    }

    /// How many neurons of `pop` from `j` an empty bin of type `ty` takes, and, when none,
    /// the limit the first one breaks.
    fn probe(&mut self, pop: usize, j: usize, ty: usize) -> (usize, Option<(Resource, u64)>) {
        let mut o = self.open(ty, u32::MAX);
        Self::start_segment(&mut o, pop, j);
        let n = self.net.populations[pop].n;
        let mut k = 0;
        let mut first_err = None;
        while j + k < n {
            match self.try_add(&mut o, j + k) {
                Ok(()) => k += 1,
                Err(v) => {
                    if k == 0 {
                        first_err = Some(v);
                    }
                    break;
                }
            }
        }
        o.segments.clear();
        self.end_segment(&mut o);
        (k, first_err)
    }

    /// The error for neuron `j` of `pop`, which fits on no core type.
    fn not_fit(&mut self, pop: usize, j: usize, fails: &[(usize, (Resource, u64))]) -> MapError {
        // The failure furthest down the list of limits: the most capable core's.
        let &(_, (resource, _)) = fails.iter().max_by_key(|(_, (r, _))| *r).expect("at least one core type");
        let (best_ty, offers) = (0..self.types.len())
            .map(|t| (t, capacity(&self.types[t], resource)))
            .max_by_key(|&(t, c)| (c, std::cmp::Reverse(t)))
            .expect("at least one core type");
        // What the neuron needs on that core type, all limits ignored.
        let mut o = self.open(best_ty, u32::MAX);
        Self::start_segment(&mut o, pop, j);
        let fan = self.add(&mut o, j);
        let need = match resource {
            Resource::Neurons => o.entries,
            Resource::SynapseMemory => o.seg_bits,
            Resource::InAxons => o.in_axons,
            Resource::OutAxons => o.out_axons,
            Resource::DestinationCores => o.dest_cores,
            Resource::FanoutPerNeuron => fan,
            Resource::RoutingEntries => o.routing,
        };
        self.undo(&mut o, j);
        self.end_segment(&mut o);
        MapError::DoesNotFit {
            layer: self.net.populations[pop].name.clone(),
            resource,
            need,
            offers,
            core_type: self.types[best_ty].name.clone(),
        }
    }

    /// Chooses the core type of a new bin for neuron `j` of `pop`.
    fn choose_type(&mut self, pop: usize, j: usize, used: &[usize], avail: &[u32]) -> Result<usize, MapError> {
        let n_types = self.types.len();
        if n_types == 1 {
            // No choice to make; an empty bin that cannot take `j` is reported by the caller.
            return Ok(0);
        }
        let left: Vec<usize> = (0..n_types).filter(|&t| (used[t] as u64) < avail[t] as u64).collect();
        let candidates: Vec<usize> = if left.is_empty() { (0..n_types).collect() } else { left };
        let mut best: Option<(usize, usize)> = None;
        let mut fails = Vec::new();
        for &t in &candidates {
            let (k, err) = self.probe(pop, j, t);
            if k == 0 {
                fails.push((t, err.expect("a probe that takes nothing reports why")));
                continue;
            }
            let size = |t: usize| (self.types[t].synapse_memory_bits, self.types[t].max_neurons, t);
            let better = match best {
                None => true,
                Some((bt, bk)) => k > bk || (k == bk && size(t) < size(bt)),
            };
            if better {
                best = Some((t, k));
            }
        }
        if let Some((t, _)) = best {
            return Ok(t);
        }
        // Nothing among the types with cores left: any type at all (the count check reports it).
        for t in 0..n_types {
            if !candidates.contains(&t) {
                let (k, err) = self.probe(pop, j, t);
                if k > 0 {
                    return Ok(t);
                }
                fails.push((t, err.expect("a probe that takes nothing reports why")));
            }
        }
        Err(self.not_fit(pop, j, &fails))
    }

    /// Destinations of every event of `q` given the pieces of its target.
    fn dests_of(&self, q: usize, pieces: &[(u32, u32, u32)]) -> Dests {
        let proj = &self.net.projections[q];
        let n_ev = proj.n_events;
        let mut last = vec![u32::MAX; n_ev];
        let mut start = vec![0u32; n_ev + 1];
        for &(b, first, count) in pieces {
            for t in first as usize..(first + count) as usize {
                proj.synapses.for_target(t, |e, _| {
                    if last[e as usize] != b {
                        last[e as usize] = b;
                        start[e as usize + 1] += 1;
                    }
                });
            }
        }
        for i in 0..n_ev {
            start[i + 1] += start[i];
        }
        let mut fill: Vec<u32> = start[..n_ev].to_vec();
        let mut bins = vec![0u32; start[n_ev] as usize];
        last.fill(u32::MAX);
        for &(b, first, count) in pieces {
            for t in first as usize..(first + count) as usize {
                proj.synapses.for_target(t, |e, _| {
                    if last[e as usize] != b {
                        last[e as usize] = b;
                        bins[fill[e as usize] as usize] = b;
                        fill[e as usize] += 1;
                    }
                });
            }
        }
        Dests { start, bins }
    }

    /// One fill of every population; bins with their in-side usage.
    fn pass(&mut self) -> Result<(Vec<Open>, Pieces), MapError> {
        let net = self.net;
        let avail = self.target.cores_per_type();
        let mut used = vec![0usize; self.types.len()];
        let mut bins: Vec<Open> = Vec::new();
        let mut pieces: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); net.populations.len()];
        let mut open: Option<Open> = None;
        self.cur.iter_mut().for_each(|d| *d = None);
        for p in (0..net.populations.len()).rev() {
            if p == net.input {
                continue;
            }
            let n = net.populations[p].n;
            if let Some(o) = open.as_mut() {
                Self::start_segment(o, p, 0);
            }
            let mut j = 0;
            while j < n {
                let mut o = match open.take() {
                    Some(o) => o,
                    None => {
                        let ty = self.choose_type(p, j, &used, &avail)?;
                        used[ty] += 1;
                        let mut o = self.open(ty, bins.len() as u32);
                        Self::start_segment(&mut o, p, j);
                        o
                    }
                };
                match self.try_add(&mut o, j) {
                    Ok(()) => {
                        j += 1;
                        open = Some(o);
                    }
                    Err(v) if o.segments.is_empty() && o.seg_count == 0 => {
                        let ty = o.ty;
                        self.end_segment(&mut o);
                        return Err(self.not_fit(p, j, &[(ty, v)]));
                    }
                    Err(_) => {
                        if o.seg_count > 0 {
                            pieces[p].push((o.index, o.seg_first as u32, o.seg_count as u32));
                        }
                        self.end_segment(&mut o);
                        bins.push(o);
                    }
                }
            }
            if let Some(o) = open.as_mut() {
                if o.seg_count > 0 {
                    pieces[p].push((o.index, o.seg_first as u32, o.seg_count as u32));
                }
                self.end_segment(o);
            }
            for &q in &self.incoming[p].clone() {
                self.cur[q] = Some(self.dests_of(q, &pieces[p]));
            }
        }
        if let Some(o) = open.take() {
            bins.push(o);
        }
        Ok((bins, pieces))
    }

    /// Exact out-side usage of every bin with the final destinations: (out-axons, routing
    /// entries, destination cores, largest neuron fan-out).
    fn out_side(&mut self, bins: &[Open]) -> Vec<[u64; 4]> {
        let mut res = Vec::with_capacity(bins.len());
        let mut dstamp = vec![u32::MAX; bins.len()];
        let multicast = self.multicast;
        for o in bins {
            self.next_id += 1;
            let id = self.next_id;
            let mut u = [0u64; 4];
            for s in &o.segments {
                for j in s.first as usize..(s.first + s.count) as usize {
                    let mut fan = 0u64;
                    for &q in &self.outgoing[s.pop as usize] {
                        let proj = &self.net.projections[q];
                        let d = self.cur[q].as_ref().expect("every projection's destinations are known after a pass");
                        let sent = &mut self.sent[q];
                        for_events(proj, j, |e| {
                            let ds = d.of(e);
                            fan += ds.len() as u64;
                            if ds.is_empty() || sent[e as usize] == id {
                                return;
                            }
                            sent[e as usize] = id;
                            u[0] += ds.len() as u64;
                            u[1] += if multicast { 1 } else { ds.len() as u64 };
                            for &b in ds {
                                if dstamp[b as usize] != id {
                                    dstamp[b as usize] = id;
                                    u[2] += 1;
                                }
                            }
                        });
                    }
                    u[3] = u[3].max(fan);
                }
            }
            res.push(u);
        }
        res
    }
}

/// Partitions the network's populations into bins.
pub fn partition(net: &Network, target: &Target) -> Result<Partition, MapError> {
    let mut f = Filler::new(net, target);
    let mut passes = 0;
    loop {
        passes += 1;
        let (bins, pieces) = f.pass()?;
        let out = f.out_side(&bins);
        let broken = bins.iter().zip(&out).find_map(|(o, u)| {
            let spec = &f.types[o.ty];
            [
                (Resource::OutAxons, u[0]),
                (Resource::RoutingEntries, u[1]),
                (Resource::DestinationCores, u[2]),
                (Resource::FanoutPerNeuron, u[3]),
            ]
            .into_iter()
            .find(|&(r, v)| v > capacity(spec, r))
            .map(|(r, v)| (o, r, v))
        });
        match broken {
            None => {
                let dests = f.cur.iter_mut().map(|d| d.take().unwrap_or_default()).collect();
                let bins = bins
                    .into_iter()
                    .zip(out)
                    .map(|(o, u)| {
                        let spec = &f.types[o.ty];
                        Bin {
                            core_type: o.ty,
                            usage: CoreUsage {
                                neurons: o.entries as u32,
                                synapse_bits: o.closed_bits,
                                neuron_state_bits: o.entries * spec.neuron_state_bits as u64,
                                in_axons: o.in_axons as u32,
                                out_axons: u[0] as u32,
                                routing_entries: u[1] as u32,
                            },
                            dest_cores: u[2] as u32,
                            segments: o.segments,
                        }
                    })
                    .collect();
                return Ok(Partition { bins, pieces, dests, passes });
            }
            Some((o, r, v)) if passes >= MAX_PASSES => {
                let layer = o.segments.first().map_or("?", |s| net.populations[s.pop as usize].name.as_str());
                return Err(MapError::Structure {
                    message: format!(
                        "could not partition `{layer}` within the {r} limit after {passes} passes: a core needs {v}, \
                         its type `{}` offers {}; {}",
                        f.types[o.ty].name,
                        capacity(&f.types[o.ty], r),
                        r.hint()
                    ),
                });
            }
            Some(_) => {
                f.prev = f.cur.clone();
                f.dstamp_prev = vec![u32::MAX; bins.len()];
                f.dstamp_cur.clear();
            }
        }
    }
}

/// Checks the per-type core counts; the error lists the layers by cores used.
pub fn check_counts(net: &Network, part: &Partition, target: &Target) -> Result<(), MapError> {
    let avail = target.cores_per_type();
    let types = &target.spec().core_types;
    let mut used = vec![0usize; types.len()];
    for b in &part.bins {
        used[b.core_type] += 1;
    }
    let over: Vec<usize> = (0..types.len()).filter(|&t| used[t] > avail[t] as usize).collect();
    if over.is_empty() {
        return Ok(());
    }
    let mut layers: Vec<(usize, &str)> = part
        .pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, p)| (p.len(), net.populations[i].name.as_str()))
        .collect();
    layers.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let listed: Vec<String> = layers.iter().take(5).map(|(n, l)| format!("`{l}` on {n}")).collect();
    let more = if layers.len() > 5 { ", …" } else { "" };
    let layers = format!("layers by cores: {}{more}", listed.join(", "));
    let (needed, available, core_type, detail) = if types.len() > 1 {
        // The most short type leads; the others and the total follow.
        let &t = over.iter().max_by_key(|&&t| used[t] - avail[t] as usize).expect("some type is short");
        let others: Vec<String> = over
            .iter()
            .filter(|&&o| o != t)
            .map(|&o| format!("{} of type `{}` (has {})", used[o], types[o].name, avail[o]))
            .collect();
        let others = if others.is_empty() { String::new() } else { format!("; also {}", others.join(", ")) };
        let detail = format!(" ({} cores in all; {layers}{others})", part.bins.len());
        (used[t], avail[t] as usize, Some(types[t].name.clone()), detail)
    } else {
        (part.bins.len(), target.num_cores() as usize, None, format!(" ({layers})"))
    };
    Err(MapError::NotEnoughCores {
        needed,
        available,
        core_type,
        target: target.name().to_string(),
        detail,
        hint: "use a target with more cores or chips, or prune the model".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_targets::{IndexBits, Padding, SynapseEncoding};

    #[test]
    fn tabulated_rows_equal_the_memory_formula() {
        let loihi = spikeforge_targets::preset("loihi").unwrap().unwrap().spec().core_types[0].clone();
        let mut packed = loihi.clone();
        packed.encoding = SynapseEncoding {
            format: RowFormat::Sparse { index_bits: IndexBits::Fixed(7) },
            weight_bits: 3,
            extra_bits_per_synapse: 1,
            group_max_synapses: Some(5),
            group_header_bits: 3,
            padding: Padding::PowerOfTwo,
        };
        for (spec, largest) in [(loihi, 1024), (packed, 128)] {
            for targets in [1u64, 7, 64, 100, largest] {
                let rc = RowCost::new(&spec, targets);
                for s in 0..400u32 {
                    assert_eq!(rc.bits(s), memory::row_bits(&spec, s as u64, targets).unwrap(), "{s} of {targets}");
                }
            }
        }
    }
}
