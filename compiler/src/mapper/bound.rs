//! The lower bound on cores: for each resource, the network's total demand ÷ one core's
//! capacity, on the most favourable core type; the bound is the largest of these.
//!
//! Needs: a lowered network and a target. Establishes: demands no partition can undercut,
//! so `cores_used ≥ cores_lower_bound` always holds:
//!
//! * neurons: every population as one block (a piece's padded feature maps only add);
//! * in-axons: the distinct events reaching each population (each reaches ≥ 1 core), and
//!   for the dense channels of a convolution, the halo every core holding some of its
//!   output receives (see *Halos*);
//! * out-axons: the events with synapses sent by populations on cores, once per destination
//!   core (an out-axon per destination bin, multicast or not): the in-axons above of the
//!   projections whose source is on cores, halos included;
//! * synapse memory: per row of `s` synapses, at least `⌈s/g⌉` group headers plus `s` slots
//!   of the narrowest index the encoding offers, rounded up to whole words once for the row
//!   (a row split over pieces has at least as many groups, slots, index bits and padding);
//!   a weight-shared kernel stored once for all its output channels, with the weights of
//!   the input channels its projection holds (a fan-in chain link holds a slice; padding
//!   channels only adds); and, where the index width fits the targets (`Fit { min, .. }`),
//!   the index bits above `min` that `K` cores force ([`extra_index_bits`]), so the synapse bound is the
//!   least `K` whose demand fits `K` cores. What remains below the exact footprint of
//!   [`spikeforge_targets::memory`] is per-group padding and rows split over pieces.
//!
//! **Index widths on `K` cores.** A row indexes its targets among the neurons of the
//! target population on its core, so a core holding `n` of them stores every synapse into
//! them with `ℓ(n) = max(min, ⌈log2 n⌉)` index bits. On `K` cores a population of `N`
//! neurons is in at most `K` blocks. `g(n) = n·ℓ(n)` lies above the convex function
//! through `(0, 0)`, `(2^min, min·2^min)` and then `(2^b, b·2^b)` (between `2^b` and
//! `2^(b+1)` it is `n(b+2) − 2^(b+1) ≤ n(b+1)`), so by Jensen the blocks carry at least
//! `X(N, K) = N(L+1) − K·2^L − N·min` index bits above `min` in all, `L = ⌈log2(N/K)⌉`
//! (0 when `N ≤ K·2^min`). Synapses weigh neurons unequally: for every threshold `t`, the
//! neurons with at least `t` synapses are themselves in at most `K` blocks, no larger than
//! the blocks they sit in, so `Σ_j s_j (ℓ_j − min) = ∫ Σ_{s_j ≥ t} (ℓ_j − min) dt ≥
//! ∫ X(|{j : s_j ≥ t}|, K) dt`, a sum over the distinct synapse counts. Padding rounds
//! bits up and can hide index bits, so the synapse demand is the larger of the padded
//! rows at width `min` and the unpadded rows plus these bits.
//!
//! **Halos.** Take a convolution of one group and no dilation, kernel `ky × kx`, stride
//! `sy × sx`, and its *dense* input channels: the `c_d` channels of its slice from which
//! every output channel has a nonzero weight at every tap. A core holding any neuron at an
//! *interior* output position `(oy, ox)` (whose receptive field lies inside the input;
//! padding only shifts it) receives every event of those channels in its receptive field,
//! so holding interior positions `P` it receives at least `c_d·|D(P)|` events, `D(P) =
//! ∪_P (sy·oy + [0, ky)) × (sx·ox + [0, kx))`. Per axis, `m` windows cover at least `γ(m) =
//! k + (m−1)·a` points, `a = min(s, k)` (sorted, each adds at least `a` new ones). For `|P| =
//! n ≥ 1`, `|D(P)| ≥ ψ(n) = ax·ay·n + (kx−ax)(ky−ay) + min_{r,c ≥ 1, r·c ≥ n} [(kx−ax)·ay·r +
//! ax·(ky−ay)·c]`: (i) column `x'` of `D` is the union, over the columns `x` of `P` whose
//! windows cover `x'`, of `sy·P_x + [0, ky)`, so at least `γ_y(max |P_x|)` points, which
//! compressing every column to rows `0..|P_x|` attains (the compressed sets are nested):
//! compressing does not grow `D`; (ii) the rows of a column-compressed set are nested, so
//! compressing the rows left likewise leaves a Young diagram of `r` rows, the first of `c`
//! cells, `n ≤ r·c`; (iii) there, row `y'` of `D` is as long as `γ_x` of the longest row
//! whose windows cover it: the first row's `ky` rows of `D` and `ay` more for each further
//! row, so `|D| = ky·γ_x(c) + ay·Σ_{j≥1} γ_x(c_j) = (kx−ax)·γ_y(r) + ax·ay·n + ax·(ky−ay)·c`
//! (a full `r × c` rectangle at 3×3, stride 1: `(r+2)(c+2)`). A Young diagram attains `ψ`;
//! both facts are checked by brute force. A core of `A` in-axons therefore holds at most
//! `M = max{n : c_d·ψ(n) ≤ A}` interior positions; every position of the interior `I` is
//! on some core, and `ψ(n) ≥ n·ψ(n*)/n*` for `n ≤ M`, `n*` the least ratio `ψ(n)/n` up to `M`, so
//! the cores together receive at least `⌈c_d·|I|·ψ(n*)/n*⌉` events of the dense channels
//! (and at least each once); the other channels' events count once. When `c_d·ψ(1) > A`
//! (which the fan-in split prevents) the dense channels count once too. `M` grows with `A`,
//! so a type with fewer in-axons has no smaller figure than the type with the most, whose
//! figure bounds partitions mixing types too (every core holds at most its `M`); out-axons
//! take that `M`, since the destination core's type is not known.

use serde::Serialize;
use spikeforge_targets::memory;
use spikeforge_targets::{CoreSpec, IndexBits, Padding, RowFormat, Target};

use super::counting::{synapses_per_event, Counting};
use super::error::Resource;
use super::lower::Network;
use super::partition::capacity;
use super::sparse::ConvGeom;

mod halo;

use halo::AxonEvents;

/// Fewest bits a row of `s` synapses takes however it is split (see the module docs).
fn row_lower_bits(spec: &CoreSpec, s: u64) -> u64 {
    let raw = row_lower_bits_unpadded(spec, s);
    match spec.encoding.padding {
        Padding::Words => raw.div_ceil(spec.synapse_word_bits as u64).saturating_mul(spec.synapse_word_bits as u64),
        Padding::None | Padding::PowerOfTwo => raw,
    }
}

/// Fewest bits of a row of `s` synapses before padding to words, at the narrowest index.
fn row_lower_bits_unpadded(spec: &CoreSpec, s: u64) -> u64 {
    let enc = &spec.encoding;
    let index = match enc.format {
        RowFormat::Dense => 0,
        RowFormat::Sparse { index_bits: IndexBits::Fixed(n) } => n,
        RowFormat::Sparse { index_bits: IndexBits::Fit { min, .. } } => min,
    };
    let slot = (enc.weight_bits + enc.extra_bits_per_synapse + index) as u64;
    let groups = enc.group_max_synapses.map_or(1, |g| s.div_ceil(g as u64));
    groups.saturating_mul(enc.group_header_bits as u64).saturating_add(s.saturating_mul(slot))
}

/// `X(n, k)` of the module docs: index bits above `min` that `n` neurons in at most `k`
/// blocks carry in all (each block of `m` neurons indexed in `max(min, ⌈log2 m⌉)` bits).
fn block_index_excess(n: u64, k: u64, min: u32) -> u64 {
    let k = k.max(1);
    if n <= k.saturating_mul(1u64 << min.min(62)) {
        return 0;
    }
    let level = memory::ceil_log2(n.div_ceil(k)) as u64;
    // N(L+1) − K·2^L − N·min, in u128 (exact; non-negative for L > min).
    let (n, k) = (n as u128, k as u128);
    let v = n * (level as u128 + 1) - k * (1u128 << level.min(100)) - n * min as u128;
    v.min(u64::MAX as u128) as u64
}

/// Per population that stores rows with a fitted index (`Fit { min, .. }`) on `spec`: the
/// distinct synapse counts of its neurons, descending, each with how many neurons have at
/// least that many synapses.
fn row_stored_in_degrees(net: &Network, spec: &CoreSpec) -> Vec<Vec<(u64, u64)>> {
    if !matches!(spec.encoding.format, RowFormat::Sparse { index_bits: IndexBits::Fit { .. } }) {
        return Vec::new();
    }
    let mut degree: Vec<Vec<u64>> = net.populations.iter().map(|p| vec![0u64; p.n]).collect();
    for p in &net.projections {
        if spec.weight_sharing && p.synapses.conv().is_some() {
            continue;
        }
        let d = &mut degree[p.target];
        let counting = Counting::of(&p.synapses, p.n_events);
        for (t, dt) in d.iter_mut().enumerate() {
            *dt += counting.fan_in(t);
        }
    }
    degree.into_iter().map(count_thresholds).collect()
}

/// Distinct non-zero synapse counts, descending, each with how many neurons have at least
/// that many.
fn count_thresholds(mut d: Vec<u64>) -> Vec<(u64, u64)> {
    d.sort_unstable_by(|a, b| b.cmp(a));
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (i, &s) in d.iter().enumerate().take_while(|(_, &s)| s > 0) {
        match out.last_mut() {
            Some((v, c)) if *v == s => *c = i as u64 + 1,
            _ => out.push((s, i as u64 + 1)),
        }
    }
    out
}

/// Index bits above `min` that `k` cores force on the synapses of every population (the
/// module docs' integral over synapse-count thresholds).
fn extra_index_bits(degrees: &[Vec<(u64, u64)>], min: u32, k: u64) -> u64 {
    let mut total = 0u64;
    for d in degrees {
        // Thresholds descend; `count` neurons have at least `s` synapses.
        for (i, &(s, count)) in d.iter().enumerate() {
            let below = d.get(i + 1).map_or(0, |x| x.0);
            total = total.saturating_add((s - below).saturating_mul(block_index_excess(count, k, min)));
        }
    }
    total
}

/// The synapse-memory demand on `k` cores of type `spec` and the least `k` it fits
/// (see the module docs); `padded` and `unpadded` are the rows at the narrowest index.
fn synapse_cores(spec: &CoreSpec, degrees: &[Vec<(u64, u64)>], padded: u64, unpadded: u64) -> (u64, u64) {
    let cap = capacity(spec, Resource::SynapseMemory).max(1);
    let min = match spec.encoding.format {
        RowFormat::Sparse { index_bits: IndexBits::Fit { min, .. } } if padded > 0 => min,
        _ => return (padded, padded.div_ceil(cap)),
    };
    let demand = |k: u64| padded.max(unpadded.saturating_add(extra_index_bits(degrees, min, k)));
    // `demand` falls as `k` grows: the least `k` with demand(k) ≤ k·cap, by bisection
    // between the bound without index excess and the cores the demand there needs.
    let mut lo = padded.div_ceil(cap).max(1);
    let mut hi = demand(lo).div_ceil(cap).max(lo);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if demand(mid) <= mid.saturating_mul(cap) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    (demand(lo), lo)
}

/// Fewest bits of a weight-shared kernel split over pieces by output channel: the shared
/// footprint with the output channels counted exactly, each storing the weights of the
/// input channels the projection holds in its group (a link of a fan-in chain holds a
/// slice: summed over groups, `(c_out / groups)·(hi − lo)` weights per tap).
fn shared_kernel_lower_bits(spec: &CoreSpec, g: &ConvGeom) -> u64 {
    let k = (g.kernel[0] * g.kernel[1]) as u64;
    let k = match spec.encoding.padding {
        Padding::PowerOfTwo => memory::next_pow2(k).unwrap_or(u64::MAX),
        Padding::None | Padding::Words => k,
    };
    let [lo, hi] = g.in_channels;
    let per_tap = ((g.c_out / g.groups.max(1)) as u64).saturating_mul(hi.saturating_sub(lo) as u64);
    let bits = per_tap.saturating_mul(k).saturating_mul(spec.encoding.weight_bits as u64);
    match spec.encoding.padding {
        Padding::Words => bits.div_ceil(spec.synapse_word_bits as u64).saturating_mul(spec.synapse_word_bits as u64),
        Padding::None | Padding::PowerOfTwo => bits,
    }
}

/// One resource's demand and the cores it needs on its best core type (for synapse
/// memory, the demand on that many cores: see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Demand {
    pub resource: String,
    pub demand: u64,
    pub capacity_per_core: u64,
    pub core_type: String,
    pub cores: u64,
}

/// Demands per resource (neurons, synapse memory, in-axons, out-axons).
pub fn demands(net: &Network, target: &Target) -> Vec<Demand> {
    let types = &target.spec().core_types;
    // Synapses per event of every projection.
    let per_event: Vec<Vec<u32>> = net
        .projections
        .iter()
        .map(|p| synapses_per_event(&p.synapses, p.n_events, net.populations[p.target].n))
        .collect();
    let axon_events: Vec<AxonEvents> =
        net.projections.iter().zip(&per_event).map(|(p, per)| AxonEvents::of(&p.synapses, per)).collect();
    // In-axons of all projections when a core offers `cap`; the out-axons of those sent by
    // cores, with the halos a core of the widest in-axon type holds (see the module docs).
    let in_axons = |cap: u64| axon_events.iter().map(|a| a.demand(cap)).fold(0u64, u64::saturating_add);
    let widest = types.iter().map(|spec| capacity(spec, Resource::InAxons)).max().unwrap_or(u64::MAX);
    let out_axons = (net.projections.iter().zip(&axon_events))
        .filter(|(p, _)| p.source != net.input)
        .map(|(_, a)| a.demand(widest))
        .fold(0u64, u64::saturating_add);
    let mut out = Vec::new();
    for r in [Resource::Neurons, Resource::SynapseMemory, Resource::InAxons, Resource::OutAxons] {
        let mut best: Option<Demand> = None;
        for spec in types {
            let cap = capacity(spec, r);
            let (demand, cores) = match r {
                Resource::SynapseMemory => {
                    let rows = |bits: &dyn Fn(&CoreSpec, u64) -> u64| -> u64 {
                        net.projections
                            .iter()
                            .enumerate()
                            .map(|(q, p)| match (spec.weight_sharing, p.synapses.conv()) {
                                (true, Some(g)) => shared_kernel_lower_bits(spec, g),
                                _ => per_event[q]
                                    .iter()
                                    .filter(|&&s| s > 0)
                                    .map(|&s| bits(spec, s as u64))
                                    .fold(0u64, u64::saturating_add),
                            })
                            .fold(0u64, u64::saturating_add)
                    };
                    let (padded, unpadded) = (rows(&row_lower_bits), rows(&row_lower_bits_unpadded));
                    synapse_cores(spec, &row_stored_in_degrees(net, spec), padded, unpadded)
                }
                _ => {
                    let d = match r {
                        Resource::Neurons => net
                            .populations
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i != net.input)
                            .map(|(_, p)| {
                                memory::neuron_entries(spec, p.grid[0] as u64, [p.grid[1] as u64, p.grid[2] as u64])
                                    .unwrap_or(u64::MAX)
                            })
                            .fold(0u64, u64::saturating_add),
                        Resource::InAxons => in_axons(cap),
                        _ => out_axons,
                    };
                    (d, d.div_ceil(cap.max(1)))
                }
            };
            if best.as_ref().is_none_or(|b| cores < b.cores) {
                best = Some(Demand {
                    resource: r.name().to_string(),
                    demand,
                    capacity_per_core: cap,
                    core_type: spec.name.clone(),
                    cores,
                });
            }
        }
        out.extend(best);
    }
    out
}

/// The bound and the resource that sets it (at least one core when any neuron is on cores).
pub fn lower_bound(demands: &[Demand], any_neurons: bool) -> (u64, String) {
    let best = demands.iter().max_by_key(|d| d.cores);
    let cores = best.map_or(0, |d| d.cores).max(any_neurons as u64);
    (cores, best.map_or_else(String::new, |d| d.resource.clone()))
}

/// Cores of one chip of `target` (all chips of a target are alike).
pub fn cores_per_chip(target: &Target) -> u64 {
    let [x, y] = target.spec().grid.chips;
    (target.num_cores() as u64 / (x as u64 * y as u64).max(1)).max(1)
}

/// The chips bound: the fewest chips of `target`'s kind holding `cores_lower_bound`
/// cores (a chip is a whole number of cores, so this bounds the chips any mapping uses).
pub fn chips_lower_bound(cores_lower_bound: u64, target: &Target) -> u64 {
    cores_lower_bound.div_ceil(cores_per_chip(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The least `Σ_j s_j (ℓ_j − min)` over every assignment of the neurons to `k` blocks.
    fn brute_force(s: &[u64], k: usize, min: u32) -> u64 {
        let n = s.len();
        let mut best = u64::MAX;
        let mut block = vec![0usize; n];
        loop {
            let mut size = vec![0u64; k];
            block.iter().for_each(|&b| size[b] += 1);
            let level = |m: u64| memory::ceil_log2(m).max(min) as u64;
            let cost = s.iter().zip(&block).map(|(&w, &b)| w * (level(size[b]) - min as u64)).sum();
            best = best.min(cost);
            // Next assignment, counting in base k.
            let mut i = 0;
            while i < n && block[i] + 1 == k {
                block[i] = 0;
                i += 1;
            }
            if i == n {
                return best;
            }
            block[i] += 1;
        }
    }

    #[test]
    fn index_excess_never_exceeds_the_best_split() {
        // Equal and unequal synapse counts, including one heavy neuron that a split would
        // put alone in a narrow block.
        let cases: [&[u64]; 6] = [
            &[1; 7],
            &[3, 3, 3, 3, 3, 3, 3, 3],
            &[9, 1, 1, 1, 1, 1, 1],
            &[5, 4, 3, 2, 1, 1],
            &[100, 1, 1, 1, 1],
            &[2, 0, 2, 0, 2],
        ];
        for s in cases {
            for k in 1..=3 {
                for min in 0..=2 {
                    let bound = extra_index_bits(&[count_thresholds(s.to_vec())], min, k as u64);
                    let best = brute_force(s, k, min);
                    assert!(bound <= best, "{s:?} on {k} blocks, min {min}: bound {bound} > best {best}");
                }
            }
        }
    }

    #[test]
    fn index_excess_is_exact_when_blocks_are_full_powers_of_two() {
        // 8 equal neurons on 2 blocks of 4 (2 bits each, min 0): 8 × 2.
        assert_eq!(block_index_excess(8, 2, 0), 16);
        assert_eq!(brute_force(&[1; 8], 2, 0), 16);
        // 16384 neurons on 128 cores with Loihi's 6-bit minimum: blocks of 128, 1 bit each.
        assert_eq!(block_index_excess(16384, 128, 6), 16384);
        // Enough cores for blocks of 64: nothing above the minimum.
        assert_eq!(block_index_excess(16384, 256, 6), 0);
        // Halfway: 16384 on 192 cores is 64 blocks of 128 and 128 of 64 at best.
        assert_eq!(block_index_excess(16384, 192, 6), 64 * 128);
    }

    #[test]
    fn a_chain_link_stores_the_kernel_of_its_slice_only() {
        let loihi2 = spikeforge_targets::preset("loihi2").unwrap().unwrap().spec().core_types[0].clone();
        let mut g = ConvGeom {
            c_in: 512,
            c_out: 512,
            groups: 1,
            input: [4, 4],
            output: [4, 4],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
            weight: Vec::new(),
            in_channels: [0, 512],
        };
        let whole = shared_kernel_lower_bits(&loihi2, &g);
        assert_eq!(whole, 512 * 512 * 9 * 8);
        // Three links of 171, 171 and 170 channels store the whole kernel once between them,
        // and each no more than the partition charges it (`memory_shape`).
        let mut links = 0;
        for [lo, hi] in [[0, 171], [171, 342], [342, 512]] {
            g.in_channels = [lo, hi];
            let bits = shared_kernel_lower_bits(&loihi2, &g);
            let charged = memory::conv_kernel_bits_shared(&loihi2, &g.memory_shape(512)).unwrap();
            assert!(bits <= charged, "{lo}..{hi}: {bits} > {charged}");
            links += bits;
        }
        assert_eq!(links, whole);
    }
}
