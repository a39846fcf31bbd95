//! The halo of a convolution: the fewest input positions a core holding `n` interior
//! output positions receives (`ψ(n)`), and the in-axons it forces on all cores (see the
//! parent module's docs, *Halos*).

use crate::mapper::lower::Synapses;
use crate::mapper::sparse::ConvGeom;

/// A projection's events with synapses as the axon demands count them: the dense
/// channels of a convolution with their halo, every other event once.
#[derive(Clone, Debug)]
pub(super) struct AxonEvents {
    once: u64,
    halo: Option<Halo>,
}

/// The dense channels of a convolution: their window, how many, the interior output
/// positions and their events with synapses.
#[derive(Clone, Debug)]
struct Halo {
    window: Window,
    channels: u64,
    interior: u64,
    events: u64,
}

impl AxonEvents {
    /// `per_event` is the synapses out of each event of the projection.
    pub(super) fn of(synapses: &Synapses, per_event: &[u32]) -> AxonEvents {
        let used = |e: &(usize, &u32)| *e.1 > 0;
        let all = per_event.iter().enumerate().filter(used).count() as u64;
        let Some((g, window)) = synapses.conv().and_then(|g| Some((g, window(g)?))) else {
            return AxonEvents { once: all, halo: None };
        };
        let dense = dense_channels(g);
        let plane = (g.input[0] * g.input[1]).max(1);
        let is_dense = |e: usize| (e / plane).checked_sub(g.in_channels[0]).and_then(|c| dense.get(c)) == Some(&true);
        let events = per_event.iter().enumerate().filter(used).filter(|(e, _)| is_dense(*e)).count() as u64;
        let channels = dense.iter().filter(|&&d| d).count() as u64;
        let halo = (channels > 0).then(|| Halo { window, channels, interior: interior_positions(g), events });
        AxonEvents { once: all - events, halo }
    }

    /// In-axons the projection needs on all cores together when a core offers `cap`.
    pub(super) fn demand(&self, cap: u64) -> u64 {
        let halo = |h: &Halo| h.window.events(h.channels, h.interior, cap).map_or(h.events, |e| e.max(h.events));
        self.once.saturating_add(self.halo.as_ref().map_or(0, halo))
    }
}

/// One axis of a kernel: extent `k` and stride `s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Axis {
    pub(super) k: u64,
    pub(super) s: u64,
}

impl Axis {
    pub(super) fn new(kernel: usize, stride: usize) -> Axis {
        Axis { k: kernel as u64, s: stride as u64 }
    }

    /// `a = min(s, k)`: the new points each further window along the axis adds at least.
    fn a(&self) -> u64 {
        self.s.min(self.k)
    }
}

/// The receptive-field geometry of a convolution, rows (`y`) and columns (`x`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Window {
    pub(super) y: Axis,
    pub(super) x: Axis,
}

impl Window {
    /// `ψ(n)`: the fewest input positions the receptive fields of `n ≥ 1` output
    /// positions cover, `ax·ay·n + (kx−ax)(ky−ay) + min_{r·c ≥ n} [(kx−ax)·ay·r + ax·(ky−ay)·c]`.
    pub(super) fn psi(&self, n: u64) -> u128 {
        let (ky, kx) = (self.y.k as u128, self.x.k as u128);
        let (ay, ax) = (self.y.a() as u128, self.x.a() as u128);
        let per_cell = (ax * ay).saturating_mul(n as u128);
        let corner = (kx - ax) * (ky - ay);
        let per_row = (kx - ax) * ay;
        let per_column = ax * (ky - ay);
        per_cell.saturating_add(corner).saturating_add(least_perimeter(n, per_row, per_column))
    }

    /// `M`: the most interior positions (at most `interior`) a core with `cap` in-axons
    /// can hold when each brings `ψ` positions of `channels` channels; `None` when not one.
    fn max_positions(&self, channels: u64, cap: u64, interior: u64) -> Option<u64> {
        let fits = |n: u64| (channels as u128).saturating_mul(self.psi(n)) <= cap as u128;
        if !fits(1) {
            return None;
        }
        // ψ is nondecreasing: the last n that fits, by bisection on [1, interior].
        let (mut lo, mut hi) = (1u64, interior.max(1));
        while lo < hi {
            let mid = hi - (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }

    /// The `n ≤ m` with the least `ψ(n)/n`, and that `ψ(n)` (compared exactly).
    fn least_ratio(&self, m: u64) -> (u64, u128) {
        let mut best = (1u64, self.psi(1));
        for n in 2..=m {
            let psi = self.psi(n);
            if psi.saturating_mul(best.0 as u128) < best.1.saturating_mul(n as u128) {
                best = (n, psi);
            }
        }
        best
    }

    /// In-axons the dense channels of a convolution force on all cores together:
    /// `⌈channels·interior·ψ(n*)/n*⌉`, `n*` the least ratio up to what one core of `cap`
    /// in-axons holds; `None` when a core cannot hold one interior position.
    pub(super) fn events(&self, channels: u64, interior: u64, cap: u64) -> Option<u64> {
        if channels == 0 || interior == 0 {
            return Some(0);
        }
        let m = self.max_positions(channels, cap, interior)?;
        let (n, psi) = self.least_ratio(m);
        let total = (channels as u128 * interior as u128).saturating_mul(psi).div_ceil(n as u128);
        Some(total.min(u64::MAX as u128) as u64)
    }
}

/// `min over r, c ≥ 1 with r·c ≥ n of (per_row·r + per_column·c)`: an optimum has
/// `c = ⌈n/r⌉` and `r = ⌈n/c⌉`, and one of `r`, `c` is at most `⌊√n⌋ + 1`.
pub(super) fn least_perimeter(n: u64, per_row: u128, per_column: u128) -> u128 {
    let n = n.max(1);
    let root = (n.isqrt() + 1).min(n);
    let cost = |r: u64, c: u64| per_row * r as u128 + per_column * c as u128;
    (1..=root).map(|r| cost(r, n.div_ceil(r))).chain((1..=root).map(|c| cost(n.div_ceil(c), c))).min().unwrap_or(0)
}

/// The window of a convolution the halo bound applies to: one group, no dilation.
pub(super) fn window(g: &ConvGeom) -> Option<Window> {
    let undilated = g.dilation == [1, 1];
    (g.groups == 1 && undilated && g.kernel.iter().all(|&k| k > 0) && g.stride.iter().all(|&s| s > 0))
        .then(|| Window { y: Axis::new(g.kernel[0], g.stride[0]), x: Axis::new(g.kernel[1], g.stride[1]) })
}

/// Output positions whose whole receptive field lies inside the input.
pub(super) fn interior_positions(g: &ConvGeom) -> u64 {
    let axis = |d: usize| {
        let (k, s, p) = (g.kernel[d], g.stride[d].max(1), g.padding[d]);
        (0..g.output[d]).filter(|&o| o * s >= p && o * s - p + k <= g.input[d]).count() as u64
    };
    axis(0).saturating_mul(axis(1))
}

/// Per input channel the projection holds (`in_channels[0]..in_channels[1]`): whether
/// every output channel has a nonzero weight at every tap from it (one group).
pub(super) fn dense_channels(g: &ConvGeom) -> Vec<bool> {
    let taps = g.kernel[0] * g.kernel[1];
    let [lo, hi] = g.in_channels;
    let tap_weights = |co: usize, ci: usize| g.weight.get((co * g.c_in + ci) * taps..(co * g.c_in + ci + 1) * taps);
    (lo..hi).map(|ci| (0..g.c_out).all(|co| tap_weights(co, ci).is_some_and(|w| w.iter().all(|&v| v != 0.0)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::Rng;

    /// Kernel and stride per axis: overlapping, tiling, gapped (stride above the kernel)
    /// and unit windows.
    const AXES: [(usize, usize); 9] = [(3, 1), (3, 2), (2, 2), (1, 1), (5, 1), (3, 3), (2, 1), (2, 3), (4, 2)];

    fn windows() -> impl Iterator<Item = Window> {
        AXES.iter().flat_map(|&(ky, sy)| {
            AXES.iter().map(move |&(kx, sx)| Window { y: Axis::new(ky, sy), x: Axis::new(kx, sx) })
        })
    }

    /// `|D(S)|`, exactly: per input row, the columns the windows of `S` cover.
    fn covered(w: &Window, s: &[(u64, u64)]) -> u64 {
        let mut rows: Vec<u128> = Vec::new();
        for &(oy, ox) in s {
            let cols = ((1u128 << w.x.k) - 1) << (ox * w.x.s);
            for y in oy * w.y.s..oy * w.y.s + w.y.k {
                if rows.len() <= y as usize {
                    rows.resize(y as usize + 1, 0);
                }
                rows[y as usize] |= cols;
            }
        }
        rows.iter().map(|r| r.count_ones() as u64).sum()
    }

    /// The cells of a `rows × cols` grid that `mask` selects.
    fn cells(mask: u64, rows: u64, cols: u64) -> Vec<(u64, u64)> {
        (0..rows * cols).filter(|&i| mask >> i & 1 == 1).map(|i| (i / cols, i % cols)).collect()
    }

    #[test]
    fn halo_is_at_least_psi_for_every_subset_of_small_grids() {
        for w in windows() {
            for (rows, cols) in [(4, 4), (3, 5), (2, 7)] {
                for mask in 1..1u64 << (rows * cols) {
                    let s = cells(mask, rows, cols);
                    let (d, psi) = (covered(&w, &s), w.psi(s.len() as u64));
                    assert!(d as u128 >= psi, "{w:?}: |D({s:?})| = {d} < ψ = {psi}");
                }
            }
        }
    }

    #[test]
    fn halo_is_at_least_psi_for_sampled_subsets_of_a_larger_grid() {
        let mut rng = Rng::new(0x4a10);
        for w in windows() {
            for _ in 0..300 {
                // A random subset of a 9×9 grid, sparse or dense.
                let density = rng.uniform();
                let s: Vec<(u64, u64)> =
                    (0..81u64).filter(|_| rng.uniform() < density).map(|i| (i / 9, i % 9)).collect();
                if s.is_empty() {
                    continue;
                }
                let (d, psi) = (covered(&w, &s), w.psi(s.len() as u64));
                assert!(d as u128 >= psi, "{w:?}: |D({s:?})| = {d} < ψ = {psi}");
            }
        }
    }

    /// `n` cells in `r` rows, the first of `c` cells, rows non-increasing (needs
    /// `r + c − 1 ≤ n ≤ r·c`).
    fn young(n: u64, r: u64, c: u64) -> Vec<(u64, u64)> {
        let mut left = n;
        let mut out = Vec::new();
        for y in 0..r {
            let len = c.min(left - (r - 1 - y));
            out.extend((0..len).map(|x| (y, x)));
            left -= len;
        }
        out
    }

    #[test]
    fn psi_is_attained_by_a_young_diagram() {
        for w in windows() {
            for n in 1..=24u64 {
                // The best diagram: r rows, first row c, with r + c − 1 ≤ n ≤ r·c.
                let best = (1..=n)
                    .flat_map(|r| (1..=n).map(move |c| (r, c)))
                    .filter(|&(r, c)| r * c >= n && r + c - 1 <= n)
                    .map(|(r, c)| (covered(&w, &young(n, r, c)), r, c))
                    .min();
                let Some((d, r, c)) = best else { panic!("no diagram of {n} cells") };
                assert_eq!(d as u128, w.psi(n), "{w:?}, n = {n}: {r}×{c} diagram covers {d}");
            }
        }
    }

    #[test]
    fn psi_is_the_least_halo_on_a_4x4_grid() {
        // Symmetric windows, whose best diagrams for up to 16 cells fit the grid: brute
        // force finds exactly ψ.
        for (k, s) in [(3, 1), (3, 2), (2, 1)] {
            let w = Window { y: Axis::new(k, s), x: Axis::new(k, s) };
            let mut least = [u64::MAX; 17];
            for mask in 1..1u64 << 16 {
                let s = cells(mask, 4, 4);
                least[s.len()] = least[s.len()].min(covered(&w, &s));
            }
            for (n, &d) in least.iter().enumerate().skip(1) {
                assert_eq!(d as u128, w.psi(n as u64), "{w:?}, n = {n}");
            }
        }
        // 3×3, stride 1, full rectangles: (r + 2)(c + 2).
        let w = Window { y: Axis::new(3, 1), x: Axis::new(3, 1) };
        assert_eq!(w.psi(16), 36);
        assert_eq!(w.psi(12), 30);
        assert_eq!(w.psi(1), 9);
    }

    #[test]
    fn least_perimeter_matches_every_box() {
        for n in 1..200u64 {
            for (pr, pc) in [(1u128, 1u128), (2, 1), (1, 3), (0, 2), (3, 0), (0, 0), (6, 4)] {
                let naive = (1..=n).map(|r| pr * r as u128 + pc * n.div_ceil(r) as u128).min().unwrap_or(0);
                assert_eq!(least_perimeter(n, pr, pc), naive, "n {n}, per row {pr}, per column {pc}");
            }
        }
    }

    /// A one-group convolution over a `h × w` input, every weight 1 except `zeros`.
    fn conv(c_in: usize, c_out: usize, input: [usize; 2], k: usize, s: usize, p: usize, zeros: &[usize]) -> ConvGeom {
        let out = |d: usize| (input[d] + 2 * p - k) / s + 1;
        let mut weight = vec![1.0; c_out * c_in * k * k];
        zeros.iter().for_each(|&i| weight[i] = 0.0);
        ConvGeom {
            c_in,
            c_out,
            groups: 1,
            input,
            output: [out(0), out(1)],
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            dilation: [1, 1],
            weight,
            in_channels: [0, c_in],
        }
    }

    #[test]
    fn interior_positions_are_those_with_every_tap_in_bounds() {
        for (input, k, s, p) in
            [([7, 9], 3, 1, 1), ([8, 8], 3, 2, 1), ([6, 5], 5, 1, 2), ([9, 9], 2, 2, 0), ([5, 7], 3, 3, 2)]
        {
            let g = conv(1, 1, input, k, s, p, &[]);
            let full = (0..g.output[0] * g.output[1])
                .filter(|&t| {
                    let mut taps = 0;
                    g.for_target(t, |_, _| taps += 1);
                    taps == k * k
                })
                .count() as u64;
            assert_eq!(interior_positions(&g), full, "{input:?}, k {k}, s {s}, p {p}");
        }
    }

    #[test]
    fn a_channel_with_a_pruned_tap_is_not_dense() {
        // 3 input channels, 2 output channels: zero one tap of (co 1, ci 2).
        let g = conv(3, 2, [6, 6], 3, 1, 1, &[(3 + 2) * 9 + 4]);
        assert_eq!(dense_channels(&g), vec![true, true, false]);
        let g = ConvGeom { in_channels: [1, 3], ..g };
        assert_eq!(dense_channels(&g), vec![true, false]);
    }

    /// Σ over tiles of `channels·|D(tile)|` when the output positions are cut into
    /// `th × tw` rectangles: the in-axons one real partition uses.
    fn tiled(w: &Window, channels: u64, out: [u64; 2], th: u64, tw: u64) -> u64 {
        let mut total = 0;
        for y0 in (0..out[0]).step_by(th as usize) {
            for x0 in (0..out[1]).step_by(tw as usize) {
                let tile: Vec<_> = (y0..(y0 + th).min(out[0]))
                    .flat_map(|y| (x0..(x0 + tw).min(out[1])).map(move |x| (y, x)))
                    .collect();
                total += channels * covered(w, &tile);
            }
        }
        total
    }

    #[test]
    fn halo_events_never_exceed_a_tiling_that_fits() {
        for w in windows() {
            for channels in [1u64, 3, 16] {
                let out = [12u64, 10];
                for (th, tw) in [(1, 1), (2, 3), (4, 4), (3, 10), (12, 10), (6, 5)] {
                    // The cap is what the largest tile needs: every tile fits.
                    let cap = channels * covered(&w, &young(th * tw, th, tw));
                    let bound = w.events(channels, out[0] * out[1], cap);
                    let used = tiled(&w, channels, out, th, tw);
                    assert!(bound.is_some_and(|b| b <= used), "{w:?}, {channels} ch, {th}×{tw}: {bound:?} > {used}");
                }
            }
        }
    }

    #[test]
    fn halo_events_of_a_3x3_stride_1_conv() {
        let w = Window { y: Axis::new(3, 1), x: Axis::new(3, 1) };
        // One core of 36 in-axons per channel holds a 4×4 tile at best (ψ = 36, ratio 9/4).
        assert_eq!(w.events(1, 64, 36), Some(144));
        assert_eq!(w.events(2, 64, 72), Some(288));
        // Not one position fits: the caller falls back to counting events once.
        assert_eq!(w.events(8, 64, 71), None);
        assert_eq!(w.events(0, 64, 71), Some(0));
    }
}
