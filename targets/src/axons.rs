//! A core's incoming axons and their explicit synapses, stored at a size that grows with
//! what a chip would hold rather than with one record per (core, event).
//!
//! Axons are numbered `0..len()` in table order (fan-out destinations name them by that
//! number) and stored as **runs**: consecutive axons of one projection carrying
//! consecutive events. A symbolic convolution's axons on a core are a few runs (one per
//! input-channel band), so they cost a run each, not 12 bytes each; an explicit
//! projection's axons usually form one run per core. Explicit axons, and only they, have
//! synapses: CSR `syn_start` over the explicit axons in axon order.
//!
//! Weights ([`SynapseWeights`]) are stored as `f32` when every weight of the core is
//! exactly an `f32` (checked value by value, so reading them back as `f64` is lossless),
//! else as `f64`: an unrolled dense synapse costs 8 bytes (u32 target + f32 weight) for
//! models exported in single precision. Invariants are checked by
//! [`crate::CoreMap::validate`].

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Consecutive axons of projection `projection` carrying events `first_event..+count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AxonRun {
    pub projection: u32,
    pub first_event: u32,
    pub count: u32,
    /// Axon number of the run's first axon (the sum of the earlier runs' counts).
    pub first_axon: u32,
    /// Explicit axons in earlier runs: the run's first axon's row in `syn_start`.
    pub first_explicit: u32,
    /// A symbolic convolution's run: its synapses come from the projection's kernel.
    pub symbolic: bool,
}

/// One axon looked up in the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axon {
    pub projection: u32,
    pub event: u32,
    /// Its explicit synapses (indices into `syn_target` / `syn_weight`); None when symbolic.
    pub synapses: Option<Range<usize>>,
}

/// Synapse weights of one core, `f32` when that is lossless for every one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SynapseWeights {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Default for SynapseWeights {
    fn default() -> Self {
        SynapseWeights::F32(Vec::new())
    }
}

impl SynapseWeights {
    /// `F32` when every weight converts to `f32` and back unchanged, else `F64`.
    pub fn from_f64(weights: Vec<f64>) -> SynapseWeights {
        if weights.iter().all(|&w| (w as f32) as f64 == w) {
            SynapseWeights::F32(weights.iter().map(|&w| w as f32).collect())
        } else {
            SynapseWeights::F64(weights)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            SynapseWeights::F32(v) => v.len(),
            SynapseWeights::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, k: usize) -> f64 {
        match self {
            SynapseWeights::F32(v) => v[k] as f64,
            SynapseWeights::F64(v) => v[k],
        }
    }

    /// Bytes per stored weight.
    pub fn bytes_per_weight(&self) -> usize {
        match self {
            SynapseWeights::F32(_) => 4,
            SynapseWeights::F64(_) => 8,
        }
    }

    /// The weights as `f64`, converting the storage to `F64` first (for editing; tests and
    /// tools that build maps by hand).
    pub fn as_f64_mut(&mut self) -> &mut Vec<f64> {
        if let SynapseWeights::F32(v) = self {
            *self = SynapseWeights::F64(v.iter().map(|&w| w as f64).collect());
        }
        match self {
            SynapseWeights::F64(v) => v,
            SynapseWeights::F32(_) => unreachable!("converted above"),
        }
    }

    /// The first weight that is not finite.
    pub fn first_non_finite(&self) -> Option<f64> {
        match self {
            SynapseWeights::F32(v) => v.iter().find(|w| !w.is_finite()).map(|&w| w as f64),
            SynapseWeights::F64(v) => v.iter().find(|w| !w.is_finite()).copied(),
        }
    }
}

/// Local neuron index of each synapse's target on one core, 16-bit when every index fits
/// (every core of the presets: at most 8,192 neurons), else 32-bit: a dense synapse then
/// takes 6 bytes with an `f32` weight instead of 8.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SynapseTargets {
    U16(Vec<u16>),
    U32(Vec<u32>),
}

/// A range of [`SynapseTargets`], for loops that match once per axon, not per synapse.
#[derive(Clone, Copy, Debug)]
pub enum TargetSlice<'a> {
    U16(&'a [u16]),
    U32(&'a [u32]),
}

impl Default for SynapseTargets {
    fn default() -> Self {
        SynapseTargets::U16(Vec::new())
    }
}

impl SynapseTargets {
    /// `U16` when every index is below 2^16, else `U32`.
    pub fn from_u32(targets: Vec<u32>) -> SynapseTargets {
        if targets.iter().all(|&t| t <= u32::from(u16::MAX)) {
            SynapseTargets::U16(targets.iter().map(|&t| t as u16).collect())
        } else {
            SynapseTargets::U32(targets)
        }
    }

    pub fn len(&self) -> usize {
        match self {
            SynapseTargets::U16(v) => v.len(),
            SynapseTargets::U32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, k: usize) -> u32 {
        match self {
            SynapseTargets::U16(v) => u32::from(v[k]),
            SynapseTargets::U32(v) => v[k],
        }
    }

    #[inline]
    pub fn slice(&self, r: Range<usize>) -> TargetSlice<'_> {
        match self {
            SynapseTargets::U16(v) => TargetSlice::U16(&v[r]),
            SynapseTargets::U32(v) => TargetSlice::U32(&v[r]),
        }
    }

    /// Every index in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).map(move |k| self.get(k))
    }

    /// Bytes per stored index.
    pub fn bytes_per_target(&self) -> usize {
        match self {
            SynapseTargets::U16(_) => 2,
            SynapseTargets::U32(_) => 4,
        }
    }

    /// The indices as `u32`, converting the storage to `U32` first (for building and
    /// editing; [`SynapseTargets::compact`] narrows it again).
    pub fn as_u32_mut(&mut self) -> &mut Vec<u32> {
        if let SynapseTargets::U16(v) = self {
            *self = SynapseTargets::U32(v.iter().map(|&t| u32::from(t)).collect());
        }
        match self {
            SynapseTargets::U32(v) => v,
            SynapseTargets::U16(_) => unreachable!("converted above"),
        }
    }

    /// Narrows `U32` storage to `U16` where every index fits.
    pub fn compact(&mut self) {
        if let SynapseTargets::U32(v) = self {
            *self = SynapseTargets::from_u32(std::mem::take(v));
        }
    }
}

/// Incoming axons as runs, explicit synapses as CSR over the explicit axons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AxonTable {
    pub runs: Vec<AxonRun>,
    /// Explicit axon `x` drives synapses `syn_start[x]..syn_start[x+1]`.
    pub syn_start: Vec<u32>,
    /// Local neuron index of each synapse's target.
    pub syn_target: SynapseTargets,
    pub syn_weight: SynapseWeights,
}

impl Default for AxonTable {
    fn default() -> Self {
        AxonTable {
            runs: Vec::new(),
            syn_start: vec![0],
            syn_target: SynapseTargets::default(),
            syn_weight: SynapseWeights::default(),
        }
    }
}

impl AxonTable {
    /// Number of axons.
    pub fn len(&self) -> usize {
        self.runs.last().map_or(0, |r| r.first_axon as usize + r.count as usize)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Explicit axons (rows of `syn_start`).
    pub fn n_explicit(&self) -> usize {
        self.syn_start.len().saturating_sub(1)
    }

    /// Appends an axon of `projection` carrying `event`, with `synapses` explicit synapses
    /// (their targets and weights are the caller's to append) or None when symbolic.
    /// Returns its axon number.
    pub fn push(&mut self, projection: u32, event: u32, synapses: Option<u32>) -> u32 {
        let a = self.len() as u32;
        let symbolic = synapses.is_none();
        let extend = self.runs.last().is_some_and(|r| {
            r.projection == projection && r.symbolic == symbolic && r.first_event.checked_add(r.count) == Some(event)
        });
        if extend {
            self.runs.last_mut().expect("checked above").count += 1;
        } else {
            self.runs.push(AxonRun {
                projection,
                first_event: event,
                count: 1,
                first_axon: a,
                first_explicit: self.n_explicit() as u32,
                symbolic,
            });
        }
        if let Some(n) = synapses {
            let end = *self.syn_start.last().expect("syn_start starts with 0") + n;
            self.syn_start.push(end);
        }
        a
    }

    /// The run holding axon `a` (which must be below `len()`).
    #[inline]
    pub fn run_of(&self, a: u32) -> &AxonRun {
        let r = self.runs.partition_point(|r| r.first_axon <= a);
        &self.runs[r - 1]
    }

    /// Axon `a`'s projection, event and explicit synapses (`a` below `len()`, table valid).
    #[inline]
    pub fn axon(&self, a: u32) -> Axon {
        axon_in(self.run_of(a), a, &self.syn_start)
    }

    /// Every axon in order, with its number.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Axon)> + '_ {
        self.runs
            .iter()
            .flat_map(move |r| (r.first_axon..r.first_axon + r.count).map(move |a| (a, axon_in(r, a, &self.syn_start))))
    }

    /// Resident bytes of the table (runs, offsets, targets and weights).
    pub fn resident_bytes(&self) -> usize {
        self.runs.len() * std::mem::size_of::<AxonRun>()
            + self.syn_start.len() * 4
            + self.syn_target.len() * self.syn_target.bytes_per_target()
            + self.syn_weight.len() * self.syn_weight.bytes_per_weight()
    }
}

#[inline]
fn axon_in(r: &AxonRun, a: u32, syn_start: &[u32]) -> Axon {
    let i = a - r.first_axon;
    let synapses = (!r.symbolic).then(|| {
        let x = (r.first_explicit + i) as usize;
        syn_start[x] as usize..syn_start[x + 1] as usize
    });
    Axon { projection: r.projection, event: r.first_event + i, synapses }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_consecutive_events_and_lookups_agree_with_pushes() {
        let mut t = AxonTable::default();
        let pushed = [(0, 5, Some(2)), (0, 6, Some(0)), (0, 8, Some(1)), (1, 0, None), (1, 1, None), (1, 2, Some(3))];
        for (i, &(q, e, n)) in pushed.iter().enumerate() {
            assert_eq!(t.push(q, e, n), i as u32);
        }
        assert_eq!(t.runs.len(), 4, "(0,5..7) (0,8) (1,0..2 symbolic) (1,2 explicit)");
        assert_eq!(t.len(), 6);
        assert_eq!(t.syn_start, vec![0, 2, 2, 3, 6]);
        for (a, ax) in t.iter() {
            assert_eq!(ax, t.axon(a));
            let (q, e, n) = pushed[a as usize];
            assert_eq!((ax.projection, ax.event), (q, e));
            assert_eq!(ax.synapses.map(|s| s.len() as u32), n);
        }
    }

    #[test]
    fn weights_are_f32_only_when_lossless() {
        assert_eq!(SynapseWeights::from_f64(vec![0.5, -3.0, 1e-3f32 as f64]).bytes_per_weight(), 4);
        let w = SynapseWeights::from_f64(vec![0.5, 0.1]);
        assert_eq!(w.bytes_per_weight(), 8, "0.1 is not an f32");
        assert_eq!(w.get(1), 0.1);
        assert_eq!(SynapseWeights::from_f64(vec![f64::NAN]).first_non_finite().map(|x| x.is_nan()), Some(true));
        assert_eq!(SynapseWeights::from_f64(vec![1e300]).bytes_per_weight(), 8, "out of f32 range");
    }
}
