//! Spatial tiling of convolution outputs: the order in which a population's neurons are
//! filled into core loads, so that a bin takes a `band × width` tile of positions across a
//! block of output channels.
//!
//! Needs: the lowered network and the [`Filler`] (its probes of an empty core). Establishes:
//! per population an order (fill position → neuron) that is a permutation of its neurons,
//! or `None` (neurons ascending), chosen by probing ([`Filler::choose_tilings`]). The
//! order only decides which neurons share a core; every limit is still checked neuron by
//! neuron by [`super::accounting`].

use spikeforge_targets::{CoreSpec, NeuronLayout};

use super::accounting::Filler;
use super::lower::Network;

/// How a tileable population is filled: channels in blocks of `block`; within a block,
/// rows in bands of `band`, a band column by column (each column top to bottom) with
/// every channel of the block at each position. A bin that takes a run of fill positions
/// then holds a `band × width` tile (width set by its limits) across the block's channels,
/// whose input patch grows with the tile's perimeter, not its area: `band = 1` is raster
/// order (strips), a band near the tile's width gives near-square tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tiling {
    pub(super) block: usize,
    pub(super) band: usize,
}

/// Even channel shares probed before halving (see [`channel_blocks`]).
const EVEN_SHARES: usize = 8;

/// Band heights probed per channel block (rows of a band; the image height caps it).
const MAX_BAND: usize = 16;

/// Band heights in a row that take no more neurons than the block's best so far before
/// the probes of a block stop.
const BAND_MISSES: usize = 2;

/// Whether population `p` is a convolution's output whose neurons could be filled in
/// spatial tiles: exact neuron layout, several channels and positions, a conv feeding it.
fn tileable(net: &Network, types: &[CoreSpec], p: usize) -> bool {
    let [c, h, w] = net.populations[p].grid;
    let conv_in = net.projections.iter().any(|q| q.target == p && q.synapses.conv().is_some());
    types.iter().all(|t| t.neuron_layout == NeuronLayout::Exact) && c >= 2 && h * w >= 2 && conv_in && p != net.input
}

/// The fill order of a [`Tiling`] (position → neuron; `block = band = 1` is neurons
/// ascending).
pub(super) fn tiled_order(channels: usize, [h, w]: [usize; 2], t: Tiling) -> Vec<u32> {
    let hw = h * w;
    let (block, band) = (t.block.max(1), t.band.max(1));
    let mut order = Vec::with_capacity(channels * hw);
    for c0 in (0..channels).step_by(block) {
        let c1 = (c0 + block).min(channels);
        for y0 in (0..h).step_by(band) {
            let y1 = (y0 + band).min(h);
            for x in 0..w {
                for y in y0..y1 {
                    let pos = y * w + x;
                    order.extend((c0..c1).map(|ch| (ch * hw + pos) as u32));
                }
            }
        }
    }
    order
}

/// Channel blocks probed for `c` channels: every channel; on weight-sharing cores also
/// even shares `⌈c/k⌉` for `k` up to [`EVEN_SHARES`], then halvings down to 1 (a core
/// holds as many kernels as fit, and even blocks leave no small remainder block).
fn channel_blocks(c: usize, sharing: bool) -> Vec<usize> {
    let mut blocks = vec![c];
    if sharing {
        for k in 2..=EVEN_SHARES {
            let b = c.div_ceil(k);
            if blocks.last().is_some_and(|&l| b < l) {
                blocks.push(b);
            }
        }
        while let Some(&l) = blocks.last().filter(|&&l| l > 1) {
            blocks.push(l.div_ceil(2));
        }
    }
    blocks
}

/// The fill position where a probe of tiling `t` starts: the first full band at or below
/// the middle row, a quarter of the way along it, so the probed tile has a halo on every
/// side as most tiles do (a tile at the image's corner needs fewer inputs).
fn probe_start(channels: usize, [h, w]: [usize; 2], t: Tiling) -> usize {
    let (block, band) = (t.block.clamp(1, channels.max(1)), t.band.clamp(1, h.max(1)));
    let b = ((h / 2) / band).min((h / band).saturating_sub(1));
    (b * band * w + (w / 4) * band) * block
}

impl Filler<'_> {
    /// The [`Tiling`] of each tileable population: on weight-sharing cores the channel
    /// blocks of [`channel_blocks`] (a bin stores the kernels of its block once and receives
    /// its tile's input patch, so a source event reaches (channels / block) × the few
    /// tiles around it), otherwise every channel; with each, band heights 1 ..=
    /// [`MAX_BAND`] (until [`BAND_MISSES`] in a row take no more). Each tiling is probed on an empty core of each type from
    /// [`probe_start`]; the one whose core takes the most neurons wins (ties: the larger
    /// block, then the lower band — fewer destinations per event, fewer pieces).
    pub(super) fn choose_tilings(&mut self) {
        let sharing = self.types.iter().any(|t| t.weight_sharing);
        for p in 0..self.net.populations.len() {
            if !tileable(self.net, self.types, p) {
                continue;
            }
            let [c, h, w] = self.net.populations[p].grid;
            let blocks = channel_blocks(c, sharing);
            let mut best: Option<(Tiling, usize)> = None;
            for &block in &blocks {
                // Bands ascending until BAND_MISSES in a row take no more than the best
                // band of this block (the take rises to the best-fitting tile, then falls).
                let (mut block_best, mut misses) = (0usize, 0usize);
                for band in 1..=h.min(MAX_BAND) {
                    let t = Tiling { block, band };
                    self.order[p] = Some(tiled_order(c, [h, w], t));
                    let start = probe_start(c, [h, w], t);
                    let took = (0..self.types.len()).map(|ty| self.probe(p, start, ty).0).max().unwrap_or(0);
                    if best.is_none_or(|(_, k)| took > k) {
                        best = Some((t, took));
                    }
                    if took > block_best {
                        (block_best, misses) = (took, 0);
                    } else {
                        misses += 1;
                        if misses == BAND_MISSES {
                            break;
                        }
                    }
                }
            }
            let t = best.map_or(Tiling { block: 1, band: 1 }, |(t, _)| t);
            self.order[p] = (t.block > 1 || t.band > 1).then(|| tiled_order(c, [h, w], t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_one_is_raster_order_and_every_tiling_is_a_permutation() {
        let (c, hw) = (3usize, [5usize, 7usize]);
        let raster: Vec<u32> =
            (0..hw[0] * hw[1]).flat_map(|pos| (0..c).map(move |ch| (ch * 35 + pos) as u32)).collect();
        assert_eq!(tiled_order(c, hw, Tiling { block: c, band: 1 }), raster);
        let ascending: Vec<u32> = (0..(c * 35) as u32).collect();
        assert_eq!(tiled_order(c, hw, Tiling { block: 1, band: 1 }), ascending);
        for block in 1..=4 {
            for band in 1..=6 {
                let mut o = tiled_order(c, hw, Tiling { block, band });
                o.sort_unstable();
                assert_eq!(o, ascending, "block {block} band {band}");
            }
        }
    }

    #[test]
    fn channel_blocks_are_even_shares_then_halvings() {
        assert_eq!(channel_blocks(128, false), vec![128]);
        assert_eq!(channel_blocks(128, true), vec![128, 64, 43, 32, 26, 22, 19, 16, 8, 4, 2, 1]);
        assert_eq!(channel_blocks(3, true), vec![3, 2, 1]);
    }

    #[test]
    fn a_run_of_a_band_is_a_rectangle_of_positions() {
        // 1 channel, 6 × 8 positions, bands of 3: positions 3..12 are columns 1..4 of rows 0..3.
        let o = tiled_order(1, [6, 8], Tiling { block: 1, band: 3 });
        let mut run: Vec<u32> = o[3..12].to_vec();
        run.sort_unstable();
        assert_eq!(run, vec![1, 2, 3, 9, 10, 11, 17, 18, 19]);
        // The second band starts at row 3.
        assert_eq!(o[24], 24);
        // The probe starts in a band with rows above and below it, away from the left edge.
        let start = probe_start(1, [6, 8], Tiling { block: 1, band: 2 });
        assert_eq!(o.len(), 48);
        assert_eq!(start, (2 * 8 + 2 * 2), "band 1 of 3 (rows 2..4), column 2");
    }
}
