//! The fill: one pass that packs every population's neurons into bins ("next fit"), in
//! the order and with the per-core caps of a [`Mix`].
//!
//! Needs: a [`Filler`] (per-core accounting) and, for the out side, destinations of earlier
//! passes where a projection's target is not filled yet. Establishes: every non-input neuron
//! is in exactly one piece, each bin holds at most one segment per population, and every bin
//! is within all in-side limits of its type (out-side limits are checked by the caller with
//! the final destinations).
//!
//! A mix is a list of *lanes*, one per population, each with a [`Cap`]: the most neurons
//! of that population one bin takes, either a count or a *share* that keeps the lane in
//! pace with a number of bins. A bin visits the unfinished lanes in order, taking from
//! each up to its cap or until a limit breaks, and closes when every lane has been visited.
//! With no caps this is the plain fill — one population after another, the next one starting
//! in the bin where the last one ended, a bin closing at the first limit it breaks.
//!
//! Why caps: layers are bound by different resources. A convolution with many input
//! channels fills a core's synapse memory long before its neuron memory, while a first
//! layer with few input channels fills the neurons and leaves synapse memory idle; filled
//! one after another, each leaves the other resource unused. Capping the synapse-bound
//! layers and letting the neuron-bound ones top bins up fills both. Caps also bound a
//! segment's length, which sets the index width of every synapse row into it (a row indexes
//! its targets within the segment), so a cap of `2^k` neurons can store the same synapses
//! in fewer bits. Shares spread every layer evenly over the bins, weighted by synapses, so
//! every core gets the same mix of resource demands and segments stay short (on a deep
//! conv net, 147 Loihi cores where the plain fill needs 153 and the bound is 135).
//! [`rank_mixes`] classifies populations by probing an empty core, tries count caps
//! (fractions of a core's neurons and powers of two) and shares, and ranks the mixes that
//! need fewer bins than the plain fill.

use super::accounting::{Filler, Open};
use super::error::{MapError, Resource};
use super::partition::Pieces;

/// How much of a lane one bin takes (at most; limits may stop it earlier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cap {
    /// Up to this many neurons per bin (`u64::MAX`: no cap).
    Count(u64),
    /// Keeps pace with `k` bins: after bin `b` the lane has filled `(b+1)/k` of its weight
    /// (synapses in, plus one per neuron; see [`Filler::weight_prefix`]), so every bin gets
    /// about the same load and a bin cut short by a limit is caught up by the next ones.
    Share(u64),
}

const UNCAPPED: Cap = Cap::Count(u64::MAX);

impl Cap {
    /// Neurons bin `bin` may take from lane `p`, already filled up to position `next`.
    fn room(self, f: &Filler<'_>, p: usize, bin: usize, next: usize) -> u64 {
        match self {
            Cap::Count(c) => c,
            Cap::Share(k) => {
                // The fill position where the lane's cumulative weight reaches its share.
                let w = &f.weight_prefix[p];
                let total = w.last().copied().unwrap_or(0);
                let goal = ((bin as u128 + 1) * total as u128).div_ceil(k.max(1) as u128).min(total as u128) as u64;
                // Positions `0..end` reach the goal: the first whose cumulative weight does, included.
                let end = if goal == 0 { 0 } else { (w.partition_point(|&c| c < goal) + 1).min(w.len()) };
                (end as u64).saturating_sub(next as u64)
            }
        }
    }
}

/// The order in which populations are filled, with per-bin caps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mix {
    /// `(population, cap)`, in visiting order.
    pub lanes: Vec<(usize, Cap)>,
}

impl Mix {
    /// One population after another, targets before sources (reverse evaluation order).
    pub(super) fn plain(f: &Filler<'_>) -> Mix {
        let lanes = (0..f.net.populations.len()).rev().filter(|&p| p != f.net.input).map(|p| (p, UNCAPPED)).collect();
        Mix { lanes }
    }

    pub(super) fn is_plain(&self) -> bool {
        self.lanes.iter().all(|&(_, cap)| cap == UNCAPPED)
    }
}

/// Caps tried first, in tenths of a core's neuron capacity (powers of two are tried too);
/// the best fraction is then refined in fortieths around it.
const CAP_TENTHS: [u64; 8] = [2, 3, 4, 5, 6, 7, 8, 9];

/// Share mixes tried after the last one that saved a bin.
const SHARE_MISSES: usize = 4;

/// Mixes worth a full partition, fewest bins first, ending with the plain fill (see the
/// module docs): a mix's in-side fill is cheap to count, but its out-side limits need the
/// final destinations, so the caller tries these in order. Only single-type targets are
/// mixed.
pub(super) fn rank_mixes(f: &mut Filler<'_>) -> Vec<Mix> {
    let plain = Mix::plain(f);
    if f.types.len() != 1 {
        return vec![plain];
    }
    let max_neurons = f.types[0].max_neurons as u64;
    // Lanes that get capped: populations more than one core holds whose first core is full
    // on something other than neurons. The others (neuron-bound ones top bins up) follow.
    let (mut capped, mut free) = (Vec::new(), Vec::new());
    // The longest segment a capped lane gets on an empty core, and whether some lane is
    // neuron-bound (something to top bins up with).
    let (mut longest, mut neuron_bound) = (0u64, false);
    for &(p, _) in &plain.lanes {
        let n = f.net.populations[p].n;
        let k = if n == 0 { 0 } else { f.probe(p, 0, 0).0 };
        if k > 0 && k < n && !f.probe_breaks_on(p, k, Resource::Neurons) {
            capped.push(p);
            longest = longest.max(k as u64);
        } else {
            neuron_bound |= k > 0 && k < n;
            free.push(p);
        }
    }
    if capped.is_empty() {
        return vec![plain];
    }
    let Ok((bins, _)) = f.pass(&plain) else { return vec![plain] };
    let plain_bins = bins.len();
    // Mixes that beat the plain fill, with their bins, in the order they were tried.
    let mut found: Vec<(usize, Mix)> = Vec::new();
    let record = |found: &mut Vec<(usize, Mix)>, mix: Mix, bins: Option<usize>| {
        if let Some(b) = bins.filter(|&b| b < plain_bins) {
            found.push((b, mix));
        }
    };
    let best = |found: &[(usize, Mix)]| found.iter().min_by_key(|(b, _)| *b).map(|(_, m)| m.clone());
    let capped_mix = |cap: u64| Mix {
        lanes: capped.iter().map(|&p| (p, Cap::Count(cap))).chain(free.iter().map(|&p| (p, UNCAPPED))).collect(),
    };
    // Fractions of a core make room for neuron-bound lanes; powers of two below the longest
    // segment narrow the synapse index.
    let mut caps: Vec<u64> = Vec::new();
    if neuron_bound {
        caps.extend(CAP_TENTHS.iter().map(|&tenths| max_neurons * tenths / 10));
    }
    let mut pow2 = 16;
    while pow2 < longest {
        caps.push(pow2);
        pow2 *= 2;
    }
    let mixes: Vec<Mix> = caps.into_iter().map(capped_mix).collect();
    for (mix, bins) in mixes.iter().zip(bins_of(f, &mixes)) {
        record(&mut found, mix.clone(), bins);
    }
    if let Some(Cap::Count(cap)) = best(&found).and_then(|m| m.lanes.first().map(|l| l.1)) {
        if !cap.is_power_of_two() {
            let centre = cap * 40 / max_neurons.max(1);
            let mixes: Vec<Mix> = (centre.saturating_sub(3)..=centre + 3)
                .filter(|&fortieths| fortieths % 4 != 0 && (1..40).contains(&fortieths))
                .map(|fortieths| capped_mix(max_neurons * fortieths / 40))
                .collect();
            for (mix, bins) in mixes.iter().zip(bins_of(f, &mixes)) {
                record(&mut found, mix.clone(), bins);
            }
        }
    }
    // Shares: every lane keeps pace with `k` bins, so each bin holds the same stretch of
    // every layer (a layer's row widths and the synapse-bound / neuron-bound balance are
    // the same on every core, and traffic stays between neighbouring bins). Walk `k` down
    // from the fewest bins so far while it keeps paying, in steps of about 2 %, then one
    // by one below the best step.
    let fewest = |found: &[(usize, Mix)]| found.iter().map(|(b, _)| *b).min().unwrap_or(plain_bins);
    let share_mix = |k: usize| Mix { lanes: plain.lanes.iter().map(|&(p, _)| (p, Cap::Share(k as u64))).collect() };
    let step = (fewest(&found) / 50).max(1);
    let start = fewest(&found);
    // k = start − i·step for i = 1, 2, … while the previous k exceeds `step`.
    let ks: Vec<usize> = (1..).map(|i| start.saturating_sub(i * step)).take_while(|&k| k > 0).collect();
    let best_k = walk_shares(f, &mut found, &ks, &share_mix, &record, &fewest);
    if let (Some(best_k), true) = (best_k, step > 1) {
        let ks: Vec<usize> = (best_k.saturating_sub(step - 1).max(1)..best_k).rev().collect();
        walk_shares(f, &mut found, &ks, &share_mix, &record, &fewest);
    }
    // Stable: among equals, the mix tried first.
    found.sort_by_key(|(b, _)| *b);
    found.into_iter().map(|(_, m)| m).chain(std::iter::once(plain)).collect()
}

/// Tries share mixes for `ks` in order until [`SHARE_MISSES`] in a row save no bin; the
/// last `k` that saved one. Batches of as many mixes as there are threads are filled in
/// parallel and their results taken in order, so the outcome does not depend on the
/// thread count (a batch may fill a few mixes the walk then ignores).
fn walk_shares(
    f: &Filler<'_>,
    found: &mut Vec<(usize, Mix)>,
    ks: &[usize],
    share_mix: &dyn Fn(usize) -> Mix,
    record: &dyn Fn(&mut Vec<(usize, Mix)>, Mix, Option<usize>),
    fewest: &dyn Fn(&[(usize, Mix)]) -> usize,
) -> Option<usize> {
    let (mut best_k, mut misses) = (None, 0);
    for batch in ks.chunks(rayon::current_num_threads().max(1)) {
        let mixes: Vec<Mix> = batch.iter().map(|&k| share_mix(k)).collect();
        for ((&k, mix), bins) in batch.iter().zip(&mixes).zip(bins_of(f, &mixes)) {
            let before = fewest(found);
            record(found, mix.clone(), bins);
            if fewest(found) < before {
                best_k = Some(k);
                misses = 0;
            } else {
                misses += 1;
                if misses >= SHARE_MISSES {
                    return best_k;
                }
            }
        }
    }
    best_k
}

/// The bins of a fill in each mix (`None` where a fill fails), filled in parallel, each
/// on its own copy of `f`.
fn bins_of(f: &Filler<'_>, mixes: &[Mix]) -> Vec<Option<usize>> {
    use rayon::prelude::*;
    mixes.par_iter().map(|mix| f.clone().pass(mix).ok().map(|(bins, _)| bins.len())).collect()
}

impl<'a> Filler<'a> {
    /// Whether an empty core that takes fill positions `0..k` of `p` is full on `r`
    /// (the next neuron breaks `r` first).
    fn probe_breaks_on(&mut self, p: usize, k: usize, r: Resource) -> bool {
        let mut o = self.open(0, u32::MAX);
        Self::start_segment(&mut o, p, 0);
        for i in 0..k {
            let nj = self.neuron(p, i);
            self.add(&mut o, nj);
        }
        let nj = self.neuron(p, k);
        let broken = match self.try_add(&mut o, nj) {
            Ok(()) => false,
            Err((res, _)) => res == r,
        };
        o.segments.clear();
        self.end_segment(&mut o);
        broken
    }

    /// Ends the current segment of `o`, recording its pieces.
    fn leave(&mut self, o: &mut Open, pieces: &mut Pieces) {
        if o.seg_pop != usize::MAX && o.seg_count > 0 {
            self.push_pieces(&mut pieces[o.seg_pop], o.seg_pop, o);
        }
        self.end_segment(o);
    }

    /// One fill of every population in the order of `mix`; bins with their in-side usage.
    pub(super) fn pass(&mut self, mix: &Mix) -> Result<(Vec<Open>, Pieces), MapError> {
        let net = self.net;
        let avail = self.target.cores_per_type();
        let mut used = vec![0usize; self.types.len()];
        let mut bins: Vec<Open> = Vec::new();
        let mut pieces: Pieces = vec![Vec::new(); net.populations.len()];
        self.cur.iter_mut().for_each(|d| *d = None);
        // Next fill position per lane; lanes before `first` are finished.
        let mut next = vec![0usize; mix.lanes.len()];
        let mut finished = vec![false; mix.lanes.len()];
        let mut first = 0;
        let plain = mix.is_plain();
        loop {
            // Finished lanes at the front (empty populations finish here).
            while let Some(&(p, _)) = mix.lanes.get(first) {
                if next[first] < net.populations[p].n {
                    break;
                }
                if !finished[first] {
                    self.finish(p, &pieces);
                }
                first += 1;
            }
            let Some(&(p0, _)) = mix.lanes.get(first) else { break };
            let ty = self.choose_type(p0, next[first], &used, &avail)?;
            used[ty] += 1;
            let mut o = self.open(ty, bins.len() as u32);
            'lanes: for l in first..mix.lanes.len() {
                let (p, cap) = mix.lanes[l];
                // The first unfinished lane takes at least one neuron: every bin makes progress.
                let cap = cap.room(self, p, bins.len(), next[l]).max((l == first) as u64);
                let n = net.populations[p].n;
                if next[l] >= n {
                    continue;
                }
                // A cap keeps room for the lanes after it; the last unfinished lane has none.
                let last = (l + 1..mix.lanes.len()).all(|m| next[m] >= net.populations[mix.lanes[m].0].n);
                let cap = if last && matches!(mix.lanes[l].1, Cap::Count(_)) { u64::MAX } else { cap };
                // The previous lane's segment, if any, has been left.
                Self::start_segment(&mut o, p, next[l]);
                let mut taken = 0u64;
                while next[l] < n && taken < cap {
                    let nj = self.neuron(p, next[l]);
                    match self.try_add(&mut o, nj) {
                        Ok(()) => {
                            next[l] += 1;
                            taken += 1;
                        }
                        Err(v) if o.segments.is_empty() && o.seg_count == 0 => {
                            let ty = o.ty;
                            self.end_segment(&mut o);
                            return Err(self.not_fit(p, next[l], &[(ty, v)]));
                        }
                        // The plain fill closes the bin; a mix lets the later lanes top it up.
                        Err(_) if plain => break 'lanes,
                        Err(_) => break,
                    }
                }
                self.leave(&mut o, &mut pieces);
                if next[l] >= n {
                    // Its destinations are final: the sources filled from now on see them.
                    self.finish(p, &pieces);
                    finished[l] = true;
                }
            }
            self.leave(&mut o, &mut pieces);
            bins.push(o);
        }
        Ok((bins, pieces))
    }

    /// Records the final destinations of every projection into the finished population `p`.
    fn finish(&mut self, p: usize, pieces: &Pieces) {
        for &q in &self.incoming[p].clone() {
            self.cur[q] = Some(self.dests_of(q, &pieces[p]));
        }
    }
}
