//! The fill: one pass that packs every population's neurons into bins ("next fit"), in
//! the order and with the per-core caps of a [`Mix`].
//!
//! Needs: a [`Filler`] (per-core accounting) and, for the out side, destinations of earlier
//! passes where a projection's target is not filled yet. Establishes: every non-input neuron
//! is in exactly one piece, each bin holds at most one segment per population, and every bin
//! is within all in-side limits of its type (out-side limits are checked by the caller with
//! the final destinations).
//!
//! A mix is a list of *lanes*, one per population, each with a cap: the most neurons of
//! that population one bin takes. A bin visits the unfinished lanes in order, taking from
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
//! in fewer bits. [`choose_mix`] classifies populations by probing an empty core, tries caps
//! (fractions of a core's neurons and powers of two) and keeps the plain fill unless a mix
//! needs fewer bins.

use super::accounting::{Filler, Open};
use super::error::{MapError, Resource};
use super::partition::Pieces;

/// The order in which populations are filled, with per-bin caps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mix {
    /// `(population, most neurons of it per bin)`, in visiting order.
    pub lanes: Vec<(usize, u64)>,
}

impl Mix {
    /// One population after another, targets before sources (reverse evaluation order).
    pub(super) fn plain(f: &Filler<'_>) -> Mix {
        let lanes = (0..f.net.populations.len()).rev().filter(|&p| p != f.net.input).map(|p| (p, u64::MAX)).collect();
        Mix { lanes }
    }

    pub(super) fn is_plain(&self) -> bool {
        self.lanes.iter().all(|&(_, cap)| cap == u64::MAX)
    }
}

/// Caps tried first, in tenths of a core's neuron capacity (powers of two are tried too);
/// the best fraction is then refined in fortieths around it.
const CAP_TENTHS: [u64; 8] = [2, 3, 4, 5, 6, 7, 8, 9];

/// The plain fill, or capped lanes when they need fewer bins (see the module docs). Only
/// single-type targets are mixed.
pub(super) fn choose_mix(f: &mut Filler<'_>) -> Mix {
    let plain = Mix::plain(f);
    if f.types.len() != 1 {
        return plain;
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
        return plain;
    }
    let Ok((bins, _)) = f.pass(&plain) else { return plain };
    let mut best = (bins.len(), plain);
    let try_cap = |f: &mut Filler<'_>, best: &mut (usize, Mix), cap: u64| {
        let lanes = capped.iter().map(|&p| (p, cap)).chain(free.iter().map(|&p| (p, u64::MAX))).collect();
        let mix = Mix { lanes };
        if let Ok((bins, _)) = f.pass(&mix) {
            if bins.len() < best.0 {
                *best = (bins.len(), mix);
            }
        }
    };
    // Fractions of a core make room for neuron-bound lanes; powers of two below the longest
    // segment narrow the synapse index.
    if neuron_bound {
        for tenths in CAP_TENTHS {
            try_cap(f, &mut best, max_neurons * tenths / 10);
        }
    }
    let mut pow2 = 16;
    while pow2 < longest {
        try_cap(f, &mut best, pow2);
        pow2 *= 2;
    }
    let cap = best.1.lanes.first().map_or(u64::MAX, |l| l.1);
    if cap != u64::MAX && !cap.is_power_of_two() {
        let centre = cap * 40 / max_neurons.max(1);
        for fortieths in centre.saturating_sub(3)..=centre + 3 {
            if fortieths % 4 != 0 && (1..40).contains(&fortieths) {
                try_cap(f, &mut best, max_neurons * fortieths / 40);
            }
        }
    }
    best.1
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
                let n = net.populations[p].n;
                if next[l] >= n {
                    continue;
                }
                // A cap keeps room for the lanes after it; the last unfinished lane has none.
                let last = (l + 1..mix.lanes.len()).all(|m| next[m] >= net.populations[mix.lanes[m].0].n);
                let cap = if last { u64::MAX } else { cap };
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
