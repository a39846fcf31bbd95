//! The fill: one pass that packs every population's neurons into bins ("next fit"), either
//! one population after another or as two interleaved streams ([`Mix`]).
//!
//! Needs: a [`Filler`] (per-core accounting) and, for the out side, destinations of earlier
//! passes where a projection's target is not filled yet. Establishes: every non-input neuron
//! is in exactly one piece, each bin holds at most one segment per population, and every bin
//! is within all in-side limits of its type (out-side limits are checked by the caller with
//! the final destinations).
//!
//! Why two streams: layers are bound by different resources. A convolution with many input
//! channels fills a core's synapse memory long before its neuron memory, while a first
//! layer with few input channels fills the neurons and leaves synapse memory idle. Filled
//! one after another, each leaves the other resource unused and the core count exceeds the
//! lower bound (the largest total demand ÷ capacity) by a quarter or more. With a mix, each
//! bin first takes up to `quota` neurons of the *primary* stream (populations bound by
//! something other than neurons) and is then topped up from the *secondary* stream
//! (neuron-bound populations) until a limit breaks, so both resources fill.
//! [`choose_mix`] classifies populations by probing an empty core and tries a few quotas,
//! keeping the plain fill unless a mix needs fewer bins.

use super::accounting::{Filler, Open};
use super::error::{MapError, Resource};
use super::partition::Pieces;

/// The order in which populations are filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mix {
    /// Populations filled first into each bin, in this order.
    pub primary: Vec<usize>,
    /// Populations that top up each bin, in this order (empty: the plain fill).
    pub secondary: Vec<usize>,
    /// Neurons of the primary stream a bin takes before it switches to the secondary one.
    pub quota: u64,
}

impl Mix {
    /// One population after another, targets before sources (reverse evaluation order).
    pub(super) fn plain(f: &Filler<'_>) -> Mix {
        let primary = (0..f.net.populations.len()).rev().filter(|&p| p != f.net.input).collect();
        Mix { primary, secondary: Vec::new(), quota: u64::MAX }
    }

    pub(super) fn is_plain(&self) -> bool {
        self.secondary.is_empty()
    }
}

/// Quotas tried first, in tenths of a core's neuron capacity; the best is then refined in
/// fortieths around it.
const QUOTA_TENTHS: [u64; 8] = [2, 3, 4, 5, 6, 7, 8, 9];

/// The plain fill, or a mix of populations bound by different resources when that needs
/// fewer bins (see the module docs). Only single-type targets are mixed.
pub(super) fn choose_mix(f: &mut Filler<'_>) -> Mix {
    let plain = Mix::plain(f);
    if f.types.len() != 1 {
        return plain;
    }
    let (mut primary, mut secondary) = (Vec::new(), Vec::new());
    for &p in &plain.primary {
        let n = f.net.populations[p].n;
        let k = if n == 0 { 0 } else { f.probe(p, 0, 0).0 };
        // Neuron-bound populations top bins up; the others, and those one core holds, lead.
        if k > 0 && k < n && f.probe_breaks_on(p, k, Resource::Neurons) {
            secondary.push(p);
        } else {
            primary.push(p);
        }
    }
    if primary.is_empty() || secondary.is_empty() {
        return plain;
    }
    let Ok((bins, _)) = f.pass(&plain) else { return plain };
    let mut best = (bins.len(), plain);
    let max_neurons = f.types[0].max_neurons as u64;
    let try_quota = |f: &mut Filler<'_>, best: &mut (usize, Mix), quota: u64| {
        let mix = Mix { primary: primary.clone(), secondary: secondary.clone(), quota };
        if let Ok((bins, _)) = f.pass(&mix) {
            if bins.len() < best.0 {
                *best = (bins.len(), mix);
            }
        }
    };
    for tenths in QUOTA_TENTHS {
        try_quota(f, &mut best, max_neurons * tenths / 10);
    }
    if !best.1.is_plain() {
        let centre = best.1.quota * 40 / max_neurons.max(1);
        for fortieths in centre.saturating_sub(3)..=centre + 3 {
            if fortieths % 4 != 0 && (1..40).contains(&fortieths) {
                try_quota(f, &mut best, max_neurons * fortieths / 40);
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

    /// Ends the current segment of `o` (recording its pieces) if it belongs to another
    /// population than `p`, and starts one of `p` at fill position `j`.
    fn enter(&mut self, o: &mut Open, pieces: &mut Pieces, p: usize, j: usize) {
        if o.seg_pop == p {
            return;
        }
        self.leave(o, pieces);
        Self::start_segment(o, p, j);
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
        let streams = [&mix.primary[..], &mix.secondary[..]];
        // Per stream: (index into the stream, next fill position).
        let mut cursor = [(0usize, 0usize); 2];
        let mut open: Option<Open> = None;
        // In the open bin: primary neurons taken, and whether it moved on to the secondary stream.
        let (mut taken, mut switched) = (0u64, false);
        loop {
            // Populations with no neurons left in a stream are complete.
            for s in 0..2 {
                while let Some(&p) = streams[s].get(cursor[s].0) {
                    if cursor[s].1 < net.populations[p].n {
                        break;
                    }
                    if let Some(o) = open.as_mut() {
                        if o.seg_pop == p {
                            self.leave(o, &mut pieces);
                        }
                    }
                    for &q in &self.incoming[p].clone() {
                        self.cur[q] = Some(self.dests_of(q, &pieces[p]));
                    }
                    cursor[s] = (cursor[s].0 + 1, 0);
                }
            }
            let done = |s: usize| cursor[s].0 >= streams[s].len();
            if done(0) && done(1) {
                break;
            }
            let s = if !switched && !done(0) && (taken < mix.quota || done(1)) {
                0
            } else if !done(1) {
                if open.is_some() {
                    switched = true;
                }
                1
            } else {
                // The bin moved on to the secondary stream, which is exhausted: a population
                // never returns to a bin it left, so the bin closes.
                if let Some(mut o) = open.take() {
                    self.leave(&mut o, &mut pieces);
                    bins.push(o);
                }
                (taken, switched) = (0, false);
                continue;
            };
            let (p, j) = (streams[s][cursor[s].0], cursor[s].1);
            let mut o = match open.take() {
                Some(o) => o,
                None => {
                    let ty = self.choose_type(p, j, &used, &avail)?;
                    used[ty] += 1;
                    (taken, switched) = (0, s == 1);
                    self.open(ty, bins.len() as u32)
                }
            };
            self.enter(&mut o, &mut pieces, p, j);
            let nj = self.neuron(p, j);
            match self.try_add(&mut o, nj) {
                Ok(()) => {
                    cursor[s].1 += 1;
                    taken += (s == 0) as u64;
                    open = Some(o);
                }
                Err(v) if o.segments.is_empty() && o.seg_count == 0 => {
                    let ty = o.ty;
                    self.end_segment(&mut o);
                    return Err(self.not_fit(p, j, &[(ty, v)]));
                }
                Err(_) if s == 0 && !done(1) => {
                    // The primary population is full here; top the bin up from the secondary.
                    switched = true;
                    open = Some(o);
                }
                Err(_) => {
                    self.leave(&mut o, &mut pieces);
                    bins.push(o);
                    (taken, switched) = (0, false);
                }
            }
        }
        if let Some(mut o) = open.take() {
            self.leave(&mut o, &mut pieces);
            bins.push(o);
        }
        Ok((bins, pieces))
    }
}
