//! Per-core accounting: what adding one neuron to a core load ("bin") costs, counted
//! incrementally with the target's formulas, and the first limit it breaks.
//!
//! Needs: the lowered network and, for the out side, the destination bins known so far of
//! each projection. Establishes: after [`Filler::add`] of neuron `j`, the open bin's
//! figures are exactly those of its segments with `j` (see [`super::partition`] for what is
//! counted); [`Filler::undo`] restores the state before it. The cost of adding a neuron is
//! its incoming synapses plus its outgoing events times their destinations, so a fill is
//! linear in synapses. Row footprints are tabulated per index width from
//! `memory::row_bits` (identical values, checked by a test).

use std::sync::Arc;

use spikeforge_targets::memory::{self, conv_kernel_bits_shared};
use spikeforge_targets::{Cast, CoreSpec, NeuronLayout, RowFormat, Target};

use super::counting::Counting;
use super::error::Resource;
use super::lower::{for_events, Network};
use super::partition::{Dests, Segment};

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
pub(super) struct RowCost {
    pub(super) spec: CoreSpec,
    pub(super) targets: u64,
    pub(super) group: u64,
    pub(super) full: u64,
    pub(super) rest: Vec<u64>,
    /// `bits(s)` for `s < table.len()` (rows of up to [`ROW_TABLE_LEN`] − 1 synapses), so
    /// the per-synapse update of a fill is a lookup, not a division; shared by clones.
    pub(super) table: Arc<[u64]>,
}

/// Row sizes tabulated per [`RowCost`] (covers every core's neuron count in the presets).
const ROW_TABLE_LEN: u64 = 1 << 14;

impl RowCost {
    pub(super) fn new(spec: &CoreSpec, targets: u64) -> RowCost {
        let rb = |s: u64| memory::row_bits(spec, s, targets).unwrap_or(u64::MAX);
        let mut cost = match spec.encoding.group_max_synapses {
            Some(g) if g as u64 <= 1 << 16 => {
                let g = g as u64;
                let (full, rest) = (rb(g), (0..g).map(rb).collect());
                RowCost { spec: spec.clone(), targets, group: g, full, rest, table: Arc::from([]) }
            }
            _ => RowCost { spec: spec.clone(), targets, group: 0, full: 0, rest: Vec::new(), table: Arc::from([]) },
        };
        let len = targets.saturating_add(1).min(ROW_TABLE_LEN) as u32;
        cost.table = (0..len).map(|s| cost.computed_bits(s)).collect();
        cost
    }

    /// The bits of a row of `s` synapses.
    #[inline]
    pub(super) fn bits(&self, s: u32) -> u64 {
        match self.table.get(s as usize) {
            Some(&b) => b,
            None => self.computed_bits(s),
        }
    }

    fn computed_bits(&self, s: u32) -> u64 {
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
#[derive(Clone)]
pub(super) struct TypeCosts {
    pub(super) by_index: Vec<Option<RowCost>>,
}

impl TypeCosts {
    pub(super) fn new(spec: &CoreSpec) -> TypeCosts {
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

/// Per projection: the synapse counts per slot (see [`Counting`]) in the current piece of
/// its target.
#[derive(Clone, Debug, Default)]
pub(super) struct Acc {
    pub(super) cnt: Vec<u32>,
    /// Slots with a nonzero count.
    pub(super) touched: Vec<u32>,
    pub(super) bits: u64,
    /// Events with synapses in the piece: Σ over touched slots of the events each stands for.
    pub(super) axons: u64,
}

/// The bin being filled.
#[derive(Clone, Debug)]
pub(super) struct Open {
    /// Stamp, unique among bins and probes.
    pub(super) id: u32,
    /// Index in `bins` (for probes, unused).
    pub(super) index: u32,
    pub(super) ty: usize,
    pub(super) entries: u64,
    pub(super) closed_bits: u64,
    pub(super) seg_bits: u64,
    pub(super) in_axons: u64,
    pub(super) out_axons: u64,
    pub(super) routing: u64,
    pub(super) dest_cores: u64,
    pub(super) segments: Vec<Segment>,
    pub(super) seg_pop: usize,
    pub(super) seg_first: usize,
    pub(super) seg_count: usize,
    /// Distinct channels of the segment's population in the segment.
    pub(super) seg_channels: u64,
}

/// Undo record of one neuron's addition.
#[derive(Clone, Default)]
pub(super) struct Undo {
    pub(super) scalars: [u64; 7],
    /// Per incoming projection: `(bits, touched slots, axons)` before the addition.
    pub(super) accs: Vec<(u64, usize, u64)>,
    pub(super) sent: Vec<(usize, u32, u32)>,
    pub(super) dstamp: Vec<(bool, u32, u32)>,
}

/// The per-core accounting state of a fill. A clone evaluates another fill independently:
/// a pass's result does not depend on the passes made before it (stamps only need to be
/// fresh), which is what lets [`super::fill::rank_mixes`] try mixes in parallel.
#[derive(Clone)]
pub(super) struct Filler<'a> {
    pub(super) net: &'a Network,
    pub(super) target: &'a Target,
    pub(super) types: &'a [CoreSpec],
    pub(super) costs: Vec<TypeCosts>,
    /// Per projection, how its synapses are counted.
    pub(super) counting: Vec<Counting<'a>>,
    pub(super) incoming: Vec<Vec<usize>>,
    pub(super) outgoing: Vec<Vec<usize>>,
    pub(super) acc: Vec<Acc>,
    pub(super) sent: Vec<Vec<u32>>,
    pub(super) cur: Vec<Option<Dests>>,
    pub(super) prev: Vec<Option<Dests>>,
    pub(super) dstamp_cur: Vec<u32>,
    pub(super) dstamp_prev: Vec<u32>,
    pub(super) next_id: u32,
    pub(super) undo: Undo,
    pub(super) events: Vec<u32>,
    pub(super) multicast: bool,
    /// Per population, its fill order (position → neuron) when it is tiled spatially
    /// (see [`super::tiling`]); `None` fills neurons ascending.
    pub(super) order: Vec<Option<Vec<u32>>>,
    /// Per population, the cumulative weight of its first `i + 1` fill positions, a
    /// neuron's weight being its incoming synapses plus one: what a
    /// [`super::fill::Cap::Share`] lane spreads evenly over bins.
    pub(super) weight_prefix: Vec<Vec<u64>>,
    /// Channels of the current segment's population already in the segment (marks, and
    /// the list that clears them).
    pub(super) chan_mark: Vec<bool>,
    pub(super) chan_list: Vec<u32>,
}

/// The neurons at fill positions `first..first + count` as ascending contiguous ranges
/// `(first, count)`.
pub(super) fn position_ranges(order: Option<&[u32]>, first: usize, count: usize) -> Vec<(u32, u32)> {
    match order {
        None => vec![(first as u32, count as u32)],
        Some(ord) => {
            let mut ns: Vec<u32> = ord[first..first + count].to_vec();
            ns.sort_unstable();
            let mut out: Vec<(u32, u32)> = Vec::new();
            for n in ns {
                match out.last_mut() {
                    Some((f, c)) if *f + *c == n => *c += 1,
                    _ => out.push((n, 1)),
                }
            }
            out
        }
    }
}

impl<'a> Filler<'a> {
    pub(super) fn new(net: &'a Network, target: &'a Target) -> Filler<'a> {
        let types = &target.spec().core_types;
        let counting: Vec<Counting<'a>> =
            net.projections.iter().map(|p| Counting::of(&p.synapses, p.n_events)).collect();
        let mut f = Filler {
            net,
            target,
            types,
            costs: types.iter().map(TypeCosts::new).collect(),
            counting: counting.clone(),
            incoming: net.incoming(),
            outgoing: net.outgoing(),
            acc: counting.iter().map(|c| Acc { cnt: vec![0; c.n_slots()], ..Acc::default() }).collect(),
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
            order: vec![None; net.populations.len()],
            weight_prefix: Vec::new(),
            chan_mark: vec![false; net.populations.iter().map(|p| p.grid[0]).max().unwrap_or(0).max(1)],
            chan_list: Vec::new(),
        };
        f.choose_tilings();
        f.weight_prefix = (0..net.populations.len()).map(|p| f.weight_prefix_of(p)).collect();
        f
    }

    fn weight_prefix_of(&self, p: usize) -> Vec<u64> {
        if p == self.net.input {
            return Vec::new();
        }
        let mut acc = 0u64;
        (0..self.net.populations[p].n)
            .map(|k| {
                let j = self.neuron(p, k);
                let mut w = 1u64;
                for &q in &self.incoming[p] {
                    w += self.counting[q].fan_in(j);
                }
                acc += w;
                acc
            })
            .collect()
    }

    pub(super) fn open(&mut self, ty: usize, index: u32) -> Open {
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
        }
    }

    pub(super) fn start_segment(o: &mut Open, pop: usize, first: usize) {
        o.seg_pop = pop;
        o.seg_first = first;
        o.seg_count = 0;
        o.seg_channels = 0;
        o.seg_bits = 0;
    }

    /// Ends the current segment: records it and clears the per-event counts.
    pub(super) fn end_segment(&mut self, o: &mut Open) {
        if o.seg_pop == usize::MAX {
            return;
        }
        if o.seg_count > 0 {
            let pop = o.seg_pop as u32;
            for (first, count) in position_ranges(self.order[o.seg_pop].as_deref(), o.seg_first, o.seg_count) {
                o.segments.push(Segment { pop, first, count });
            }
        }
        o.closed_bits += o.seg_bits;
        o.seg_bits = 0;
        for &c in &self.chan_list {
            self.chan_mark[c as usize] = false;
        }
        self.chan_list.clear();
        for &q in &self.incoming[o.seg_pop] {
            let a = &mut self.acc[q];
            for &e in &a.touched {
                a.cnt[e as usize] = 0;
            }
            a.touched.clear();
            a.bits = 0;
            a.axons = 0;
        }
        o.seg_pop = usize::MAX;
    }

    /// The neuron at fill position `k` of population `p`.
    #[inline]
    pub(super) fn neuron(&self, p: usize, k: usize) -> usize {
        self.order[p].as_ref().map_or(k, |o| o[k] as usize)
    }

    /// Adds neuron `j` of the current segment's population; returns its fan-out.
    pub(super) fn add(&mut self, o: &mut Open, j: usize) -> u64 {
        let p = o.seg_pop;
        let pop = &self.net.populations[p];
        let spec = &self.types[o.ty];
        let hw = pop.grid[1] * pop.grid[2];
        let channel = j / hw.max(1);
        let new_channel = !self.chan_mark[channel];
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
            let counting = self.counting[q];
            let per = counting.per_slot_of_neuron(j);
            let a = &mut self.acc[q];
            u.accs.push((a.bits, a.touched.len(), a.axons));
            let (before_bits, before_axons) = (a.bits, a.axons);
            let (cnt, touched, axons) = (&mut a.cnt, &mut a.touched, &mut a.axons);
            let mut count_only = || {
                counting.for_slots(j, |s| {
                    let c = &mut cnt[s as usize];
                    if *c == 0 {
                        touched.push(s);
                        *axons += per;
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
                    a.bits = a.axons.saturating_mul(row);
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
                                    .map(|&s| counting.per_slot(s).saturating_mul(rc.bits(a.cnt[s as usize])))
                                    .fold(0u64, u64::saturating_add);
                            }
                            let mut bits = a.bits;
                            let (cnt, touched, axons) = (&mut a.cnt, &mut a.touched, &mut a.axons);
                            counting.for_slots(j, |s| {
                                let c = &mut cnt[s as usize];
                                if *c == 0 {
                                    touched.push(s);
                                    *axons += per;
                                }
                                bits = bits.saturating_sub(per.saturating_mul(rc.bits(*c)));
                                *c += 1;
                                bits = bits.saturating_add(per.saturating_mul(rc.bits(*c)));
                            });
                            a.bits = bits;
                        }
                    }
                }
            }
            o.in_axons += a.axons - before_axons;
            o.seg_bits = o.seg_bits.saturating_sub(before_bits).saturating_add(a.bits);
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
            self.chan_mark[channel] = true;
            self.chan_list.push(channel as u32);
        }
        fan
    }

    /// Reverts the last [`Filler::add`] of neuron `j`.
    pub(super) fn undo(&mut self, o: &mut Open, j: usize) {
        let u = &mut self.undo;
        [o.entries, o.seg_bits, o.in_axons, o.out_axons, o.routing, o.dest_cores] =
            [u.scalars[0], u.scalars[1], u.scalars[2], u.scalars[3], u.scalars[4], u.scalars[5]];
        o.seg_count -= 1;
        if u.scalars[6] == 1 {
            o.seg_channels -= 1;
            let c = self.chan_list.pop().expect("the channel the addition marked");
            self.chan_mark[c as usize] = false;
        }
        for (&q, &(bits, len, axons)) in self.incoming[o.seg_pop].iter().zip(&u.accs) {
            let a = &mut self.acc[q];
            let cnt = &mut a.cnt;
            self.counting[q].for_slots(j, |s| cnt[s as usize] -= 1);
            a.touched.truncate(len);
            a.bits = bits;
            a.axons = axons;
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
    pub(super) fn violation(&self, o: &Open, fan: u64) -> Option<(Resource, u64)> {
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
    pub(super) fn try_add(&mut self, o: &mut Open, j: usize) -> Result<(), (Resource, u64)> {
        let fan = self.add(o, j);
        match self.violation(o, fan) {
            None => Ok(()),
            Some(v) => {
                self.undo(o, j);
                Err(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_targets::memory;
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
