//! Counting a projection's synapses into a neuron without unrolling them: per event, or,
//! for a convolution whose kernel has no zero weight, per input *position*.
//!
//! Needs: a lowered projection. Establishes: [`Counting::for_slots`] visits *slots* such
//! that the synapses into neuron `t` are exactly, for every visited slot `s`, the
//! [`Counting::events_of_slot`] of `s` — each one synapse. With [`Counting::Events`] a slot
//! is an event (one synapse per visit, as [`Synapses::for_target`]); with
//! [`Counting::Positions`] a slot is an input position `(group, y, x)` standing for every
//! input channel of the group that the projection holds, so a 3×3 convolution over 512
//! channels visits 9 slots instead of 4,608 synapses. Every input channel of a group has the
//! same synapses into each output neuron when no weight is zero, so per-slot counts are the
//! per-event counts of each of the slot's events: the partition's accounting (rows per
//! axon, in-axons, destinations) is exact in either mode, and its time grows with
//! neurons × kernel area, not with unrolled synapses. A kernel with zeros (pruned or
//! quantized) is counted per event. Likewise a dense matrix (every target neuron has a
//! synapse from every event, [`Counting::Dense`]) has one slot standing for all its events:
//! each event has the same synapses into every piece, so a fully connected layer is
//! counted in time proportional to its neurons, not to its synapses.

use super::lower::Synapses;
use super::sparse::ConvGeom;

/// How the synapses of one projection are counted (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(super) enum Counting<'n> {
    Events {
        synapses: &'n Synapses,
        n_events: usize,
    },
    Positions(&'n ConvGeom),
    /// Every target neuron has a synapse from each of the `n_events` events: one slot.
    Dense {
        n_events: usize,
    },
}

impl<'n> Counting<'n> {
    pub(super) fn of(synapses: &'n Synapses, n_events: usize) -> Counting<'n> {
        match synapses.conv() {
            Some(g) if g.weight.iter().all(|&v| v != 0.0) => Counting::Positions(g),
            _ if is_dense(synapses, n_events) => Counting::Dense { n_events },
            _ => Counting::Events { synapses, n_events },
        }
    }

    /// Slots there are (events, or groups × input positions).
    pub(super) fn n_slots(&self) -> usize {
        match *self {
            Counting::Events { n_events, .. } => n_events,
            Counting::Positions(g) => g.groups * g.input[0] * g.input[1],
            Counting::Dense { .. } => 1,
        }
    }

    /// Events (synapses into one neuron) each slot of neuron `t` stands for.
    #[inline]
    pub(super) fn per_slot_of_neuron(&self, t: usize) -> u64 {
        match *self {
            Counting::Events { .. } => 1,
            Counting::Positions(g) => channels_in_group(g, g.channel_of(t) / (g.c_out / g.groups)),
            Counting::Dense { n_events } => n_events as u64,
        }
    }

    /// Events slot `s` stands for.
    #[inline]
    pub(super) fn per_slot(&self, s: u32) -> u64 {
        match *self {
            Counting::Events { .. } => 1,
            Counting::Positions(g) => channels_in_group(g, s as usize / (g.input[0] * g.input[1])),
            Counting::Dense { n_events } => n_events as u64,
        }
    }

    /// Calls `f(slot)` for each slot of the synapses into neuron `t`, slots ascending.
    #[inline]
    pub(super) fn for_slots(&self, t: usize, mut f: impl FnMut(u32)) {
        match *self {
            // Columns only: the weights are not needed to count.
            Counting::Events { synapses: Synapses::Rows(m), .. } => m.row(t).0.iter().for_each(|&e| f(e)),
            Counting::Events { synapses, .. } => synapses.for_target(t, |e, _| f(e)),
            Counting::Dense { .. } => f(0),
            Counting::Positions(g) => {
                let group = g.channel_of(t) / (g.c_out / g.groups);
                if channels_in_group(g, group) == 0 {
                    return;
                }
                let [h, w] = g.input;
                let [_, wo] = g.output;
                let p = t % (g.output[0] * wo);
                let (oy, ox) = (p / wo, p % wo);
                let base = group * h * w;
                for ky in 0..g.kernel[0] {
                    let y = (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.padding[0] as isize;
                    if y < 0 || y as usize >= h {
                        continue;
                    }
                    let row = base + y as usize * w;
                    for kx in 0..g.kernel[1] {
                        let x = (ox * g.stride[1] + kx * g.dilation[1]) as isize - g.padding[1] as isize;
                        if x >= 0 && (x as usize) < w {
                            f((row + x as usize) as u32);
                        }
                    }
                }
            }
        }
    }

    /// Synapses into neuron `t`.
    pub(super) fn fan_in(&self, t: usize) -> u64 {
        let mut slots = 0u64;
        self.for_slots(t, |_| slots += 1);
        slots * self.per_slot_of_neuron(t)
    }

    /// Calls `f(event)` for each event slot `s` stands for, ascending.
    pub(super) fn for_events_of_slot(&self, s: u32, mut f: impl FnMut(u32)) {
        match *self {
            Counting::Events { .. } => f(s),
            Counting::Dense { n_events } => (0..n_events as u32).for_each(f),
            Counting::Positions(g) => {
                let hw = g.input[0] * g.input[1];
                let (group, pos) = (s as usize / hw, s as usize % hw);
                let cin_pg = g.cin_per_group();
                let [lo, hi] = g.in_channels;
                for ci in lo.max(group * cin_pg)..hi.min((group + 1) * cin_pg) {
                    f((ci * hw + pos) as u32);
                }
            }
        }
    }

    /// The slot of event `e`, if the projection has synapses from it.
    #[inline]
    pub(super) fn slot_of_event(&self, e: u32) -> Option<u32> {
        match self.event_slots() {
            None => Some(e),
            Some(m) => m.slot(e),
        }
    }

    /// The event → slot map of a per-position or dense count (None: each event is its own
    /// slot).
    pub(super) fn event_slots(&self) -> Option<EventSlots> {
        match *self {
            Counting::Events { .. } => None,
            Counting::Positions(g) => Some(EventSlots::Positions {
                hw: (g.input[0] * g.input[1]) as u32,
                cin_per_group: g.cin_per_group() as u32,
                in_channels: [g.in_channels[0] as u32, g.in_channels[1] as u32],
            }),
            Counting::Dense { n_events } => Some(EventSlots::One { n_events: n_events as u32 }),
        }
    }
}

/// Whether every target neuron of `synapses` has a synapse from each of `n_events` events
/// (rows of `n_events` distinct columns).
fn is_dense(synapses: &Synapses, n_events: usize) -> bool {
    match synapses {
        Synapses::Rows(m) => {
            n_events > 0
                && m.n_rows > 0
                && (0..m.n_rows).all(|t| m.row(t).0.len() == n_events)
                && (0..m.n_rows).all(|t| m.row(t).0.windows(2).all(|w| w[0] < w[1]))
                && (0..m.n_rows).all(|t| (m.row(t).0[n_events - 1] as usize) < n_events)
        }
        Synapses::Conv(_) => false,
    }
}

/// Which slot an event belongs to, kept without the network (for destinations stored per
/// slot, [`super::partition::Dests`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSlots {
    /// A per-position count of a convolution.
    Positions { hw: u32, cin_per_group: u32, in_channels: [u32; 2] },
    /// A dense matrix: every event is slot 0.
    One { n_events: u32 },
}

impl EventSlots {
    /// The slot of event `e`; None for an event the projection has no synapse from.
    #[inline]
    pub fn slot(&self, e: u32) -> Option<u32> {
        match *self {
            EventSlots::Positions { hw, cin_per_group, in_channels: [lo, hi] } => {
                let ci = e / hw;
                ((lo..hi).contains(&ci)).then(|| (ci / cin_per_group) * hw + e % hw)
            }
            EventSlots::One { n_events } => (e < n_events).then_some(0),
        }
    }
}

/// Synapses out of each event of a projection into its `n_targets` target neurons.
pub(super) fn synapses_per_event(synapses: &Synapses, n_events: usize, n_targets: usize) -> Vec<u32> {
    let c = Counting::of(synapses, n_events);
    let mut per_slot = vec![0u32; c.n_slots()];
    for t in 0..n_targets {
        c.for_slots(t, |s| per_slot[s as usize] += 1);
    }
    match c {
        Counting::Events { .. } => per_slot,
        Counting::Positions(_) | Counting::Dense { .. } => {
            (0..n_events as u32).map(|e| c.slot_of_event(e).map_or(0, |s| per_slot[s as usize])).collect()
        }
    }
}

/// Nonzero synapses of a projection (per position for a dense kernel, see [`Counting`]).
pub(super) fn synapse_count(synapses: &Synapses, n_events: usize) -> u64 {
    match synapses {
        Synapses::Rows(m) => m.nnz() as u64,
        Synapses::Conv(g) => {
            let c = Counting::of(synapses, n_events);
            (0..g.n_out()).map(|t| c.fan_in(t)).sum()
        }
    }
}

/// Input channels of `group` that the projection holds (its slice of the input chain).
fn channels_in_group(g: &ConvGeom, group: usize) -> u64 {
    let cin_pg = g.cin_per_group();
    let (g0, g1) = (group * cin_pg, (group + 1) * cin_pg);
    let [lo, hi] = g.in_channels;
    (hi.min(g1).saturating_sub(lo.max(g0))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(groups: usize, in_channels: [usize; 2], stride: usize, padding: usize, dilation: usize) -> ConvGeom {
        let (c_in, c_out, k) = (4, 6, 3);
        ConvGeom {
            c_in,
            c_out,
            groups,
            input: [7, 6],
            output: [
                (7 + 2 * padding - dilation * (k - 1) - 1) / stride + 1,
                (6 + 2 * padding - dilation * (k - 1) - 1) / stride + 1,
            ],
            kernel: [k, k],
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [dilation; 2],
            weight: (0..c_out * (c_in / groups) * k * k).map(|i| 1.0 + i as f64).collect(),
            in_channels,
        }
    }

    /// Per slot, the events and counts equal those of the unrolled synapses.
    #[test]
    fn positions_stand_for_exactly_the_unrolled_synapses() {
        for (groups, slice, stride, padding, dilation) in [
            (1, [0, 4], 1, 1, 1),
            (2, [0, 4], 2, 0, 1),
            (1, [1, 3], 1, 2, 2),
            (2, [1, 3], 2, 1, 1),
            (4, [0, 4], 1, 1, 1),
        ] {
            let g = geom(groups, slice, stride, padding, dilation);
            let syn = Synapses::Conv(g.clone());
            let c = Counting::of(&syn, g.n_in());
            assert!(matches!(c, Counting::Positions(_)));
            for t in 0..g.n_out() {
                let mut unrolled = Vec::new();
                syn.for_target(t, |e, _| unrolled.push(e));
                let mut from_slots = Vec::new();
                c.for_slots(t, |s| {
                    let evs: Vec<u32> = (0..g.n_in() as u32).filter(|&e| c.slot_of_event(e) == Some(s)).collect();
                    let mut listed = Vec::new();
                    c.for_events_of_slot(s, |e| listed.push(e));
                    assert_eq!(listed, evs);
                    assert_eq!(evs.len() as u64, c.per_slot(s));
                    assert_eq!(c.per_slot(s), c.per_slot_of_neuron(t));
                    from_slots.extend(evs);
                });
                from_slots.sort_unstable();
                assert_eq!(from_slots, unrolled, "neuron {t} of {groups} groups, slice {slice:?}");
                assert_eq!(c.fan_in(t), unrolled.len() as u64);
            }
            let all: u64 = (0..g.n_out())
                .map(|t| {
                    let mut n = 0u64;
                    syn.for_target(t, |_, _| n += 1);
                    n
                })
                .sum();
            assert_eq!(synapse_count(&syn, g.n_in()), all);
            let mut per_event = vec![0u32; g.n_in()];
            for t in 0..g.n_out() {
                syn.for_target(t, |e, _| per_event[e as usize] += 1);
            }
            assert_eq!(synapses_per_event(&syn, g.n_in(), g.n_out()), per_event);
        }
    }

    #[test]
    fn a_zero_weight_counts_per_event() {
        let mut g = geom(1, [0, 4], 1, 1, 1);
        g.weight[5] = 0.0;
        let syn = Synapses::Conv(g.clone());
        assert!(matches!(Counting::of(&syn, g.n_in()), Counting::Events { .. }));
    }

    /// A dense matrix counts as one slot standing for every event; a matrix missing one
    /// synapse counts per event.
    #[test]
    fn a_dense_matrix_is_one_slot() {
        use super::super::sparse::Csr;
        let (rows, cols) = (5, 7);
        let dense = Synapses::Rows(Csr::from_rows(rows, cols, |_, push| (0..cols as u32).for_each(|c| push(c, 0.5))));
        let c = Counting::of(&dense, cols);
        assert!(matches!(c, Counting::Dense { n_events: 7 }));
        for t in 0..rows {
            let mut slots = Vec::new();
            c.for_slots(t, |s| slots.push(s));
            assert_eq!(slots, vec![0]);
            assert_eq!(c.fan_in(t), cols as u64);
        }
        let mut listed = Vec::new();
        c.for_events_of_slot(0, |e| listed.push(e));
        assert_eq!(listed, (0..cols as u32).collect::<Vec<_>>());
        assert!((0..cols as u32).all(|e| c.slot_of_event(e) == Some(0)));
        assert_eq!(c.slot_of_event(cols as u32), None);
        assert_eq!(synapses_per_event(&dense, cols, rows), vec![rows as u32; cols]);
        let holed = Synapses::Rows(Csr::from_rows(rows, cols, |t, push| {
            (0..cols as u32).filter(|&c| t != 2 || c != 3).for_each(|c| push(c, 0.5))
        }));
        assert!(matches!(Counting::of(&holed, cols), Counting::Events { .. }));
    }
}
