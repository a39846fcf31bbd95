//! Delivering one event of a symbolic convolution to a core's neurons, fast: the kernel
//! taps that land inside the output are tabulated once per projection and input position
//! ([`TapTable`], `input H·W × taps` entries: geometry, not unrolled synapses), then each of
//! the core's channel runs walks its contiguous kernel row over the position's taps.
//!
//! Needs [`ChannelRun`]s sorted by channel (`ConvSynapses::channel_runs`). Establishes the
//! same (target, weight) pairs as `ConvSynapses::for_event`, nonzero weights only, in
//! channel-major instead of tap-major order; an event reaches each target neuron at most
//! once (a tap maps the event's position to one output position), so sums in any
//! order of one event's synapses are the same and exact mode stays bit-identical.

use spikeforge_targets::conv_synapses::{ChannelRun, ConvSynapses};

/// Per input position `p` (`y·W + x`), its kernel taps landing inside the output as
/// `(tap, output position)`: CSR `tap[start[p]..start[p+1]]`.
pub(crate) struct TapTable {
    start: Vec<u32>,
    tap: Vec<(u32, u32)>,
}

impl TapTable {
    pub fn new(conv: &ConvSynapses) -> TapTable {
        let hw = conv.input[0] * conv.input[1];
        let mut start = Vec::with_capacity(hw as usize + 1);
        let mut tap = Vec::new();
        start.push(0);
        for p in 0..hw {
            conv.for_taps(p, |k, op| tap.push((k, op)));
            start.push(tap.len() as u32);
        }
        TapTable { start, tap }
    }

    #[inline]
    fn of(&self, p: u32) -> &[(u32, u32)] {
        &self.tap[self.start[p as usize] as usize..self.start[p as usize + 1] as usize]
    }
}

/// Calls `f(local neuron, weight)` for every nonzero synapse of event `e` into `runs`.
#[inline]
pub(crate) fn for_conv_event(
    conv: &ConvSynapses,
    taps: &TapTable,
    runs: &[ChannelRun],
    e: u32,
    mut f: impl FnMut(u32, f64),
) {
    let hw = conv.input[0] * conv.input[1];
    let (ci, p) = (e / hw, e % hw);
    let cin_pg = conv.c_in / conv.groups;
    let cout_pg = conv.c_out / conv.groups;
    let g = ci / cin_pg;
    let (c_lo, c_hi) = (g * cout_pg, (g + 1) * cout_pg);
    let lo = runs.partition_point(|r| r.channel < c_lo);
    let hi = runs.partition_point(|r| r.channel < c_hi);
    if lo == hi {
        return;
    }
    let taps = taps.of(p);
    let n_taps = (conv.kernel[0] * conv.kernel[1]) as usize;
    let wbase = (ci - g * cin_pg) as usize * n_taps;
    let stride = cin_pg as usize * n_taps;
    for r in &runs[lo..hi] {
        let row = &conv.weight[r.channel as usize * stride + wbase..][..n_taps];
        for &(k, op) in taps {
            if op >= r.first_pos && op < r.end_pos {
                let w = row[k as usize];
                if w != 0.0 {
                    f(r.local + op - r.first_pos, w);
                }
            }
        }
    }
}
