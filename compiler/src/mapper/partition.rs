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
//! Fill order: neurons ascending, except a convolution's output on cores that store neurons
//! exactly, which is filled by tiles ([`super::tiling`]): channels in blocks, rows in bands,
//! a band column by column with every channel of the block at each position. A bin then
//! holds a `band × width` tile of positions across the block's output channels (one range
//! per channel and row), whose in-axons (the input patch) are shared by all its channels
//! and whose sources reach few bins. Without weight sharing the block is every channel;
//! with it, blocks and bands are probed on an empty core and the tiling that takes the
//! most neurons wins (kernels are stored once per channel held).
//! All pieces of one population on a bin count as one segment: one axon per event, one
//! row over all its targets there.
//!
//! Algorithm ([`super::fill`]): populations are filled in reverse evaluation order, in fill
//! order, into the current bin until some limit would break, then a new bin opens (a bin may
//! hold the end of one population and the start of the next, so small layers share cores).
//! On single-type targets, populations bound by a resource other than neurons may instead
//! lead each bin up to a quota, topped up by neuron-bound ones, or every population may be
//! spread evenly over the bins, when that needs fewer bins (a mix, [`super::fill`]; the
//! [`MAX_MIXES`] best are tried in turn, and the plain fill is the fallback when each
//! breaks an out-side limit). Accounting
//! is incremental (per neuron, the synapses into it), so a pass is linear in synapses.
//! Filling targets before sources makes the destinations of forward projections exact when
//! a source is filled; for recurrent projections the previous pass's destinations are used
//! and passes repeat (at most [`MAX_PASSES`]) until the exact check holds. On targets with
//! several core types, each new bin takes the type (among those with cores left) that holds
//! the most of the current population's remaining neurons, preferring smaller cores on ties.
//! That choice is greedy: it can run out of one type where a search over assignments would
//! not (the count check then names the short type).

use spikeforge_targets::coremap::CoreUsage;
use spikeforge_targets::Target;

pub use super::accounting::capacity;
use super::accounting::{position_ranges, Filler, Open};
use super::counting::EventSlots;
use super::error::{MapError, Resource};
use super::fill::{rank_mixes, Mix};
use super::lower::{for_events, Network};

/// Per population, its pieces `(bin, first, count)`.
pub(super) type Pieces = Vec<Vec<(u32, u32, u32)>>;

/// Passes of the fill before out-side limits must hold.
pub const MAX_PASSES: usize = 4;

/// Mixes tried in full before the plain fill (each may break an out-side limit).
const MAX_MIXES: usize = 3;

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

/// Destination bins of each event of a projection, stored per *slot* (CSR, bins
/// ascending): per event, or for a convolution counted per position once per input
/// position, shared by the input channels of its group (a 512-channel layer's destinations
/// then take 1/512 of the per-event size).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dests {
    pub start: Vec<u32>,
    pub bins: Vec<u32>,
    /// How events map to slots; None when every event is its own slot.
    pub slots: Option<EventSlots>,
}

impl Dests {
    #[inline]
    pub fn of(&self, e: u32) -> &[u32] {
        let s = match self.slots {
            None => e as usize,
            Some(m) => match m.slot(e) {
                Some(s) => s as usize,
                None => return &[],
            },
        };
        &self.bins[self.start[s] as usize..self.start[s + 1] as usize]
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

impl<'a> Filler<'a> {
    /// How many neurons of `pop` from `j` an empty bin of type `ty` takes, and, when none,
    /// the limit the first one breaks.
    pub(super) fn probe(&mut self, pop: usize, j: usize, ty: usize) -> (usize, Option<(Resource, u64)>) {
        let mut o = self.open(ty, u32::MAX);
        Self::start_segment(&mut o, pop, j);
        let n = self.net.populations[pop].n;
        let mut k = 0;
        let mut first_err = None;
        while j + k < n {
            let nj = self.neuron(pop, j + k);
            match self.try_add(&mut o, nj) {
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

    /// The error for the neuron at fill position `j` of `pop`, which fits on no core type.
    pub(super) fn not_fit(&mut self, pop: usize, j: usize, fails: &[(usize, (Resource, u64))]) -> MapError {
        let j = self.neuron(pop, j);
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
    pub(super) fn choose_type(
        &mut self,
        pop: usize,
        j: usize,
        used: &[usize],
        avail: &[u32],
    ) -> Result<usize, MapError> {
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

    /// Destinations of every event of `q` given the pieces of its target: found per slot
    /// (see [`super::counting`]), then given to each event of the slot.
    pub(super) fn dests_of(&self, q: usize, pieces: &[(u32, u32, u32)]) -> Dests {
        let counting = self.counting[q];
        let n_slots = counting.n_slots();
        let mut last = vec![u32::MAX; n_slots];
        let mut start = vec![0u32; n_slots + 1];
        for &(b, first, count) in pieces {
            for t in first as usize..(first + count) as usize {
                counting.for_slots(t, |s| {
                    if last[s as usize] != b {
                        last[s as usize] = b;
                        start[s as usize + 1] += 1;
                    }
                });
            }
        }
        for i in 0..n_slots {
            start[i + 1] += start[i];
        }
        let mut fill: Vec<u32> = start[..n_slots].to_vec();
        let mut bins = vec![0u32; start[n_slots] as usize];
        last.fill(u32::MAX);
        for &(b, first, count) in pieces {
            for t in first as usize..(first + count) as usize {
                counting.for_slots(t, |s| {
                    if last[s as usize] != b {
                        last[s as usize] = b;
                        bins[fill[s as usize] as usize] = b;
                        fill[s as usize] += 1;
                    }
                });
            }
        }
        Dests { start, bins, slots: counting.event_slots() }
    }

    /// Records the current segment of `o` (fill positions) as pieces: its neurons as
    /// ascending contiguous ranges. A population's pieces stay grouped by bin, bins ascending.
    pub(super) fn push_pieces(&self, pieces: &mut Vec<(u32, u32, u32)>, p: usize, o: &Open) {
        for (first, count) in position_ranges(self.order[p].as_deref(), o.seg_first, o.seg_count) {
            pieces.push((o.index, first, count));
        }
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
    use rayon::prelude::*;
    let mut f = Filler::new(net, target);
    let mixes = rank_mixes(&mut f);
    let plain = mixes.last().expect("the plain fill ends the ranking");
    // The best mixes may break an out-side limit: try a few, then the plain fill; the first
    // that holds wins. Tried in parallel batches (each on its own copy of the filler),
    // results taken in order: the same partition for any thread count.
    let candidates: Vec<&Mix> =
        mixes.iter().take(MAX_MIXES).filter(|m| !m.is_plain()).chain(std::iter::once(plain)).collect();
    let mut last = None;
    for batch in candidates.chunks(rayon::current_num_threads().max(1)) {
        let results: Vec<Result<Partition, MapError>> =
            batch.par_iter().map(|mix| partition_with(&mut f.clone(), mix)).collect();
        for r in results {
            match r {
                Ok(p) => return Ok(p),
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.expect("the plain fill is always tried"))
}

/// Fills in the order of `mix` until the out-side limits hold with the final destinations.
fn partition_with(f: &mut Filler<'_>, mix: &Mix) -> Result<Partition, MapError> {
    let net = f.net;
    let mut passes = 0;
    loop {
        passes += 1;
        let (bins, pieces) = f.pass(mix)?;
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
                let mut pieces = pieces;
                for p in &mut pieces {
                    p.sort_unstable_by_key(|&(_, first, _)| first);
                }
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
