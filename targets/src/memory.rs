//! Exact synapse- and neuron-memory footprints under a core's encoding.
//!
//! **Rows.** The synapses of one input axon form a row. A row of `synapses` nonzero
//! synapses whose targets lie in a range of `targets` neurons needs:
//!
//! * slots: `synapses` for a sparse encoding (each slot stores its target index),
//!   `targets` for a dense one (one slot per target, zeros included);
//! * bits per slot `b = weight_bits + extra_bits_per_synapse + index`, where the index is
//!   0 (dense), `Fixed(n)`, or `Fit { min, max }` = `max(min, ⌈log2 targets⌉)`, an error
//!   past `max`;
//! * the slots are cut into groups of at most `group_max_synapses`; a group of `n` slots
//!   takes `group_header_bits + n'·b` bits, with `n' = n`, or `n' = 2^⌈log2 n⌉` for
//!   [`Padding::PowerOfTwo`], rounded up to whole `synapse_word_bits` words for
//!   [`Padding::Words`].
//!
//! This is nengo-loihi's `SynapseConfig.bits_per_axon` for Loihi: groups of up to 64
//! synapses, a 4-bit format index plus a 6-bit count as header, `weight + delay + tag +
//! index` bits per synapse (no index for the dense "compression 3" format), each group
//! rounded up to a 64-bit word. A row with no synapses takes no memory (the axon has no
//! row).
//!
//! **Convolutions.** With weight sharing the kernel is stored once: `c·K·F` entries of
//! `weight_bits`, where `K = kx·ky` and `F = f` exactly, or with [`Padding::PowerOfTwo`]
//! `K = 2^⌈log2(kx·ky)⌉`, `F = 2^⌈log2 f⌉` — sinabs' Speck kernel memory
//! `c·2^(⌈log2(kx·ky)⌉+⌈log2 f⌉)` (`DynapcnnLayer.memory_summary`); words padding rounds
//! the total up to whole words. Unrolled, every input neuron gets a row holding one
//! synapse per (output position its kernel window reaches) × `f`, targets the `f·H'·W'`
//! output neurons.
//!
//! **Neurons.** A layer of `f` feature maps of `H×W` takes `f·H·W` entries, or
//! `f·2^(⌈log2 H⌉+⌈log2 W⌉)` with [`NeuronLayout::PowerOfTwo`] (sinabs' neuron memory), each
//! of `neuron_state_bits`.

use crate::chip::{CoreSpec, IndexBits, NeuronLayout, Padding, RowFormat, SynapseEncoding};
use thiserror::Error;

/// Why a footprint cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MemoryError {
    /// The targets of a sparse row need a wider index than the encoding offers.
    #[error("{targets} targets need a {needed}-bit synapse index, but the encoding offers at most {max} bits")]
    IndexTooWide { targets: u64, needed: u32, max: u32 },
    /// The footprint does not fit in 64 bits.
    #[error("memory footprint overflows 64 bits")]
    Overflow,
}

type Result<T> = std::result::Result<T, MemoryError>;

/// `⌈log2 n⌉` (0 for n ≤ 1).
pub fn ceil_log2(n: u64) -> u32 {
    if n <= 1 {
        0
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// `2^⌈log2 n⌉` (1 for n ≤ 1).
pub fn next_pow2(n: u64) -> Result<u64> {
    n.max(1).checked_next_power_of_two().ok_or(MemoryError::Overflow)
}

fn mul(a: u64, b: u64) -> Result<u64> {
    a.checked_mul(b).ok_or(MemoryError::Overflow)
}

fn add(a: u64, b: u64) -> Result<u64> {
    a.checked_add(b).ok_or(MemoryError::Overflow)
}

fn round_up(bits: u64, unit: u64) -> Result<u64> {
    mul(bits.div_ceil(unit), unit)
}

/// Index bits a sparse synapse needs for a row whose targets span `targets` neurons
/// (0 for dense rows).
pub fn index_bits(enc: &SynapseEncoding, targets: u64) -> Result<u32> {
    match enc.format {
        RowFormat::Dense => Ok(0),
        RowFormat::Sparse { index_bits: IndexBits::Fixed(n) } => {
            let needed = ceil_log2(targets);
            if needed > n {
                Err(MemoryError::IndexTooWide { targets, needed, max: n })
            } else {
                Ok(n)
            }
        }
        RowFormat::Sparse { index_bits: IndexBits::Fit { min, max } } => {
            let needed = ceil_log2(targets);
            if needed > max {
                Err(MemoryError::IndexTooWide { targets, needed, max })
            } else {
                Ok(needed.max(min))
            }
        }
    }
}

/// Bits of one synapse slot.
pub fn slot_bits(enc: &SynapseEncoding, targets: u64) -> Result<u64> {
    Ok(enc.weight_bits as u64 + enc.extra_bits_per_synapse as u64 + index_bits(enc, targets)? as u64)
}

fn group_bits(core: &CoreSpec, slots: u64, bits_per_slot: u64) -> Result<u64> {
    let enc = &core.encoding;
    let slots = match enc.padding {
        Padding::PowerOfTwo => next_pow2(slots)?,
        Padding::None | Padding::Words => slots,
    };
    let bits = add(enc.group_header_bits as u64, mul(slots, bits_per_slot)?)?;
    match enc.padding {
        Padding::Words => round_up(bits, core.synapse_word_bits as u64),
        Padding::None | Padding::PowerOfTwo => Ok(bits),
    }
}

/// Bits of one row: `synapses` nonzero synapses whose targets span `targets` neurons.
pub fn row_bits(core: &CoreSpec, synapses: u64, targets: u64) -> Result<u64> {
    if synapses == 0 {
        return Ok(0);
    }
    let enc = &core.encoding;
    let slots = match enc.format {
        RowFormat::Sparse { .. } => synapses,
        RowFormat::Dense => targets.max(synapses),
    };
    let b = slot_bits(enc, targets)?;
    let group = enc.group_max_synapses.map_or(slots, |g| g as u64);
    let (full, rest) = (slots / group, slots % group);
    let mut bits = mul(full, group_bits(core, group, b)?)?;
    if rest > 0 {
        bits = add(bits, group_bits(core, rest, b)?)?;
    }
    Ok(bits)
}

/// Bits of a fully connected block: `n_pre` rows of `n_post` synapses each.
pub fn dense_block_bits(core: &CoreSpec, n_pre: u64, n_post: u64) -> Result<u64> {
    mul(n_pre, row_bits(core, n_post, n_post)?)
}

/// Shape of a 2-D convolution (dilation 1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Conv2d {
    /// Input channels `c`.
    pub in_channels: u64,
    /// Output channels (features) `f`.
    pub out_channels: u64,
    /// Input `[height, width]`.
    pub input: [u64; 2],
    /// Kernel `[ky, kx]`.
    pub kernel: [u64; 2],
    /// Stride `[y, x]` (≥ 1).
    pub stride: [u64; 2],
    /// Zero padding `[y, x]` on each side.
    pub padding: [u64; 2],
}

impl Conv2d {
    /// Output `[height, width]`: `⌊(in + 2p − k)/s⌋ + 1`, 0 when the kernel does not fit.
    pub fn output(&self) -> [u64; 2] {
        std::array::from_fn(|d| {
            let span = self.input[d] + 2 * self.padding[d];
            if span < self.kernel[d] || self.stride[d] == 0 {
                0
            } else {
                (span - self.kernel[d]) / self.stride[d] + 1
            }
        })
    }

    /// For input coordinate `i` on axis `d`: how many output positions its kernel window
    /// reaches, i.e. `#{o < out : 0 ≤ i + p − o·s < k}`.
    fn reach(&self, d: usize, i: u64, out: u64) -> u64 {
        let (k, s, p) = (self.kernel[d], self.stride[d], self.padding[d]);
        let top = i + p; // o·s ≤ top
        let lo = if top + 1 > k { (top + 1 - k).div_ceil(s) } else { 0 };
        let hi = (top / s).min(out.saturating_sub(1));
        if out == 0 || hi < lo {
            0
        } else {
            hi - lo + 1
        }
    }
}

/// Entries of a weight-shared kernel: `c·K·F` (see the module docs; sinabs' `K_MT` with
/// power-of-two padding).
pub fn conv_kernel_entries_shared(core: &CoreSpec, conv: &Conv2d) -> Result<u64> {
    let k = mul(conv.kernel[0], conv.kernel[1])?;
    let (k, f) = match core.encoding.padding {
        Padding::PowerOfTwo => (next_pow2(k)?, next_pow2(conv.out_channels)?),
        Padding::None | Padding::Words => (k, conv.out_channels),
    };
    mul(mul(conv.in_channels, k)?, f)
}

/// Bits of a kernel stored once.
pub fn conv_kernel_bits_shared(core: &CoreSpec, conv: &Conv2d) -> Result<u64> {
    let bits = mul(conv_kernel_entries_shared(core, conv)?, core.encoding.weight_bits as u64)?;
    match core.encoding.padding {
        Padding::Words => round_up(bits, core.synapse_word_bits as u64),
        Padding::None | Padding::PowerOfTwo => Ok(bits),
    }
}

/// Bits of a kernel unrolled into one row per input neuron.
pub fn conv_kernel_bits_unrolled(core: &CoreSpec, conv: &Conv2d) -> Result<u64> {
    let out = conv.output();
    let targets = mul(mul(conv.out_channels, out[0])?, out[1])?;
    // Histogram of per-axis reach: rows only depend on (reach_y, reach_x).
    let hist = |d: usize| {
        let mut h: Vec<u64> = Vec::new();
        for i in 0..conv.input[d] {
            let r = conv.reach(d, i, out[d]) as usize;
            if h.len() <= r {
                h.resize(r + 1, 0);
            }
            h[r] += 1;
        }
        h
    };
    let (hy, hx) = (hist(0), hist(1));
    let mut total = 0u64;
    for (ry, &ny) in hy.iter().enumerate() {
        for (rx, &nx) in hx.iter().enumerate() {
            if ny == 0 || nx == 0 {
                continue;
            }
            let synapses = mul(mul(ry as u64, rx as u64)?, conv.out_channels)?;
            let rows = mul(mul(ny, nx)?, conv.in_channels)?;
            total = add(total, mul(rows, row_bits(core, synapses, targets)?)?)?;
        }
    }
    Ok(total)
}

/// Bits of a convolution's weights on `core`: stored once when the core shares weights,
/// unrolled otherwise.
pub fn conv_kernel_bits(core: &CoreSpec, conv: &Conv2d) -> Result<u64> {
    if core.weight_sharing {
        conv_kernel_bits_shared(core, conv)
    } else {
        conv_kernel_bits_unrolled(core, conv)
    }
}

/// Neuron-memory entries of `features` maps of `[height, width]` (a flat layer of `n`
/// neurons is `n` maps of 1×1).
pub fn neuron_entries(core: &CoreSpec, features: u64, size: [u64; 2]) -> Result<u64> {
    match core.neuron_layout {
        NeuronLayout::Exact => mul(mul(features, size[0])?, size[1]),
        NeuronLayout::PowerOfTwo => mul(mul(features, next_pow2(size[0])?)?, next_pow2(size[1])?),
    }
}

/// Neuron-state bits of those entries.
pub fn neuron_memory_bits(core: &CoreSpec, features: u64, size: [u64; 2]) -> Result<u64> {
    mul(neuron_entries(core, features, size)?, core.neuron_state_bits as u64)
}

/// Fewest cores a block needs on `core` by each resource alone, generalising nengo-loihi's
/// split rule `max(⌈neurons/1024⌉, ⌈in_axons/4096⌉, ⌈out_axons/4096⌉, ⌈bits/1,048,576⌉)`
/// to the core's own limits. A lower bound: rows do not split evenly in general.
pub fn min_pieces(core: &CoreSpec, neurons: u64, in_axons: u64, out_axons: u64, synapse_bits: u64) -> u64 {
    [
        neurons.div_ceil(core.max_neurons as u64),
        in_axons.div_ceil(core.in_axons as u64),
        out_axons.div_ceil(core.out_axons as u64),
        synapse_bits.div_ceil(core.synapse_memory_bits),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chip::SynapseEncoding;

    fn core(enc: SynapseEncoding, word: u32) -> CoreSpec {
        CoreSpec {
            name: "t".into(),
            max_neurons: 1024,
            neuron_state_bits: 16,
            neuron_layout: NeuronLayout::Exact,
            synapse_memory_bits: 1 << 20,
            synapse_word_bits: word,
            encoding: enc,
            in_axons: 4096,
            out_axons: 4096,
            max_destination_cores: None,
            max_fanout_per_neuron: None,
            routing_entries: None,
            axon_types: 0,
            weight_sharing: false,
            partial_sums: false,
        }
    }

    fn loihi_core() -> CoreSpec {
        core(
            SynapseEncoding {
                format: RowFormat::Sparse { index_bits: IndexBits::Fit { min: 6, max: 12 } },
                weight_bits: 8,
                extra_bits_per_synapse: 0,
                group_max_synapses: Some(64),
                group_header_bits: 10,
                padding: Padding::Words,
            },
            64,
        )
    }

    fn speck_core() -> CoreSpec {
        let mut c = core(
            SynapseEncoding {
                format: RowFormat::Dense,
                weight_bits: 8,
                extra_bits_per_synapse: 0,
                group_max_synapses: None,
                group_header_bits: 0,
                padding: Padding::PowerOfTwo,
            },
            8,
        );
        c.neuron_layout = NeuronLayout::PowerOfTwo;
        c.weight_sharing = true;
        c
    }

    fn packed(index: u32) -> CoreSpec {
        core(
            SynapseEncoding {
                format: RowFormat::Sparse { index_bits: IndexBits::Fixed(index) },
                weight_bits: 4,
                extra_bits_per_synapse: 0,
                group_max_synapses: None,
                group_header_bits: 0,
                padding: Padding::None,
            },
            16,
        )
    }

    #[test]
    fn logs_and_powers() {
        assert_eq!((ceil_log2(0), ceil_log2(1), ceil_log2(2), ceil_log2(9), ceil_log2(1024)), (0, 0, 1, 4, 10));
        assert_eq!(ceil_log2(1025), 11);
        assert_eq!(next_pow2(9), Ok(16));
        assert_eq!(next_pow2(0), Ok(1));
        assert_eq!(next_pow2(u64::MAX), Err(MemoryError::Overflow));
    }

    #[test]
    fn loihi_row_matches_nengo_loihi_bits_per_axon() {
        let c = loihi_core();
        // 1024 targets → 10 index bits → 18 bits per synapse. 100 synapses = groups of 64
        // and 36: 64·18 + 10 = 1162 → 1216 (19 words); 36·18 + 10 = 658 → 704 (11 words).
        assert_eq!(row_bits(&c, 100, 1024), Ok(1216 + 704));
        // 10 targets → ⌈log2 10⌉ = 4, raised to the 6-bit minimum: 14 bits; 5·14+10 = 80 → 128.
        assert_eq!(row_bits(&c, 5, 10), Ok(128));
        // Exactly one full group: 64·18 + 10 = 1162 → 1216.
        assert_eq!(row_bits(&c, 64, 1000), Ok(1216));
        assert_eq!(row_bits(&c, 0, 1000), Ok(0));
        // 8192 targets need 13 bits > 12.
        assert_eq!(row_bits(&c, 1, 8192), Err(MemoryError::IndexTooWide { targets: 8192, needed: 13, max: 12 }));
        // Dense block 10 × 100: 100 targets → 7 index bits → 15 bits per synapse;
        // 64·15 + 10 = 970 → 1024 and 36·15 + 10 = 550 → 576: 1600 bits per row.
        assert_eq!(dense_block_bits(&c, 10, 100), Ok(10 * 1600));
    }

    #[test]
    fn fixed_index_and_packing() {
        let c = packed(4);
        assert_eq!(row_bits(&c, 3, 16), Ok(3 * 8));
        assert_eq!(row_bits(&c, 3, 17), Err(MemoryError::IndexTooWide { targets: 17, needed: 5, max: 4 }));
    }

    #[test]
    fn dense_rows_store_every_target() {
        let c = speck_core();
        // Dense pow2: a row to 100 targets has 128 slots of 8 bits, however many are nonzero.
        assert_eq!(row_bits(&c, 100, 100), Ok(1024));
        assert_eq!(row_bits(&c, 3, 100), Ok(1024));
        assert_eq!(dense_block_bits(&c, 5, 100), Ok(5 * 1024));
    }

    #[test]
    fn sinabs_kernel_memory() {
        let c = speck_core();
        // sinabs docs example: c = 16, f = 32, 3×3 → 16·2^(⌈log2 9⌉+⌈log2 32⌉) = 16·16·32 = 8 Ki.
        let conv = Conv2d {
            in_channels: 16,
            out_channels: 32,
            input: [64, 64],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
        };
        assert_eq!(conv.output(), [64, 64]);
        assert_eq!(conv_kernel_entries_shared(&c, &conv), Ok(8192));
        assert_eq!(conv_kernel_bits(&c, &conv), Ok(8192 * 8));
        // f = 10, 5×5 → 16·2^(5+4) = 16·32·16 = 8192; unpadded it would be 16·25·10 = 4000.
        let conv2 = Conv2d { out_channels: 10, kernel: [5, 5], ..conv };
        assert_eq!(conv_kernel_entries_shared(&c, &conv2), Ok(8192));
        assert_eq!(conv_kernel_entries_shared(&packed(4), &conv2), Ok(4000));
        // sinabs neuron memory: f·2^(⌈log2 H⌉+⌈log2 W⌉): 32·64·64 = 128 Ki; 8 maps of 30×30 → 8·32·32.
        assert_eq!(neuron_entries(&c, 32, [64, 64]), Ok(131_072));
        assert_eq!(neuron_entries(&c, 8, [30, 30]), Ok(8192));
        assert_eq!(neuron_entries(&packed(4), 8, [30, 30]), Ok(7200));
        assert_eq!(neuron_memory_bits(&c, 8, [30, 30]), Ok(8192 * 16));
    }

    #[test]
    fn unrolled_kernel_counts_every_window() {
        // 1 channel 4×4, 3×3 kernel, stride 1, no padding, f = 1 → 2×2 output.
        // Reach per axis: [1, 2, 2, 1] → 36 synapses in 16 rows; 4 targets need 2 ≤ 4 index bits.
        let conv =
            Conv2d { in_channels: 1, out_channels: 1, input: [4, 4], kernel: [3, 3], stride: [1, 1], padding: [0, 0] };
        assert_eq!(conv.output(), [2, 2]);
        assert_eq!(conv_kernel_bits_unrolled(&packed(4), &conv), Ok(36 * 8));
        // Padded to 16-bit words: 4 rows of 1 synapse (8 → 16), 8 of 2 (16), 4 of 4 (32).
        let mut words = packed(4);
        words.encoding.padding = Padding::Words;
        assert_eq!(conv_kernel_bits_unrolled(&words, &conv), Ok(4 * 16 + 8 * 16 + 4 * 32));
        // Weight sharing on the same core: 1·9·1 weights of 4 bits = 36 → 48 (3 words).
        words.weight_sharing = true;
        assert_eq!(conv_kernel_bits(&words, &conv), Ok(48));
    }

    #[test]
    fn unrolled_kernel_with_stride_and_padding() {
        // 1-D along y: 5 rows, k 3, s 2, p 1 → 3 outputs; reach [1, 2, 1, 2, 1] = 7 synapses.
        // x is 1 wide with a 1-wide kernel. f = 2 → 14 synapses in 5 rows.
        let conv =
            Conv2d { in_channels: 1, out_channels: 2, input: [5, 1], kernel: [3, 1], stride: [2, 1], padding: [1, 0] };
        assert_eq!(conv.output(), [3, 1]);
        let c = packed(4);
        assert_eq!(conv_kernel_bits_unrolled(&c, &conv), Ok(14 * 8));
        let none = Conv2d { kernel: [9, 1], ..conv };
        assert_eq!(none.output(), [0, 1]);
        assert_eq!(conv_kernel_bits_unrolled(&c, &none), Ok(0));
    }

    #[test]
    fn pieces_follow_the_tightest_resource() {
        let c = loihi_core();
        assert_eq!(min_pieces(&c, 2048, 10, 10, 0), 2);
        assert_eq!(min_pieces(&c, 10, 10, 10, 3 * (1 << 20) + 1), 4);
        assert_eq!(min_pieces(&c, 10, 9000, 10, 0), 3);
        assert_eq!(min_pieces(&c, 0, 0, 0, 0), 0);
    }
}
