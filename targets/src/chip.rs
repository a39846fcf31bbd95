//! The target description types: what a `.ron` target file contains.
//!
//! A target is a rectangular grid of identical chips (`grid.chips = [x, y]`). Each chip is a
//! mesh of routers (`noc.mesh = [x, y]`, one tile per router); each tile holds
//! `noc.cores_per_tile` cores of one core type. Core types may differ from tile to tile
//! (`layout: PerTile([...])`, as on Speck, whose nine cores have different memories), and a
//! tile may be empty (`None`).
//!
//! Units are in the field names: `_bits`, `_cycles`, `_pj` (picojoule), `_mw`
//! (milliwatt), `_mhz`. Counts (`max_neurons`, `in_axons`, …) have no suffix. An `Option`
//! field written `None` means "no such limit or figure on this chip" (e.g. a chip without a
//! routing table, or an energy figure no source publishes); files may write a present
//! value without `Some(…)`.
//!
//! These types are plain data and may be built in code; [`crate::Target::from_spec`] (and
//! the loaders in [`crate::load`]) validate them once, after which nothing is re-checked.

use serde::{Deserialize, Serialize};

/// A whole target as written in a target file, before validation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Short name shown in reports (`"loihi"`).
    pub name: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// Where the figures come from (papers, software, data sheets).
    #[serde(default)]
    pub sources: Vec<String>,
    /// The grid of chips and the links between them.
    pub grid: Grid,
    /// The on-chip network.
    pub noc: Noc,
    /// The kinds of core on a chip, referenced by name from `layout`.
    pub core_types: Vec<CoreSpec>,
    /// Which core type sits on which tile of each chip.
    pub layout: Layout,
    /// Cycle costs of events.
    pub timing: Timing,
    /// Energy per event and static power; a file may leave the section out (no figures).
    #[serde(default)]
    pub energy: Energy,
    /// Fixed-point formats shared by every core.
    pub numerics: Numerics,
}

/// The grid of chips. Chips are joined by chip-to-chip links between neighbouring chips
/// (east-west and north-south), so a route leaving a chip continues the XY walk on the
/// next chip's mesh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Number of chips `[x, y]`.
    #[serde(with = "pair")]
    pub chips: [u32; 2],
    /// Latency of one chip-to-chip link traversal.
    pub chip_link_cycles: u32,
    /// Width of a chip-to-chip link.
    pub chip_link_bits_per_cycle: u32,
    /// Entries in a chip-level routing table (SpiNNaker's per-chip router), if any.
    pub chip_routing_entries: Option<u32>,
}

/// The network-on-chip of one chip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noc {
    /// Routers (tiles) per chip `[x, y]`.
    #[serde(with = "pair")]
    pub mesh: [u32; 2],
    /// Cores attached to each router.
    pub cores_per_tile: u32,
    /// Routing algorithm.
    pub routing: Routing,
    /// Latency of passing one router.
    pub router_cycles: u32,
    /// Latency of one east-west link.
    pub link_cycles_ew: u32,
    /// Latency of one north-south link.
    pub link_cycles_ns: u32,
    /// Link width.
    pub link_bits_per_cycle: u32,
    /// Size of one spike packet.
    pub packet_bits: u32,
    /// Input buffer depth per router port.
    pub buffer_depth_packets: u32,
    /// Whether one packet can reach several destination cores.
    pub cast: Cast,
}

/// Routing algorithm on the mesh.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Routing {
    /// Dimension-ordered: all X hops first, then all Y hops (deadlock-free on a mesh).
    Xy,
}

/// Whether the network replicates packets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cast {
    /// One packet per destination core.
    Unicast,
    /// One packet per source spike; routers copy it along a tree.
    Multicast,
}

/// One kind of core.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreSpec {
    /// Name referenced by `layout`.
    pub name: String,
    /// Neurons (compartments) the core can hold.
    pub max_neurons: u32,
    /// State memory per neuron.
    pub neuron_state_bits: u32,
    /// How a layer's neurons are addressed in neuron memory.
    pub neuron_layout: NeuronLayout,
    /// Total synapse (weight) memory.
    pub synapse_memory_bits: u64,
    /// Width of one synapse-memory word (the unit rows are padded to).
    pub synapse_word_bits: u32,
    /// How synapse rows are encoded in that memory.
    pub encoding: SynapseEncoding,
    /// Input axons: distinct presynaptic sources the core can receive from.
    pub in_axons: u32,
    /// Output axons: distinct (destination core, axon) targets the core can send to.
    pub out_axons: u32,
    /// Most destination cores one core may send to (Speck: 2), if limited separately.
    pub max_destination_cores: Option<u32>,
    /// Most destination axons per neuron (TrueNorth: 1), if limited separately.
    pub max_fanout_per_neuron: Option<u32>,
    /// Entries in the core's routing table, if it has one.
    pub routing_entries: Option<u32>,
    /// Axon types whose per-neuron weight replaces a stored weight (TrueNorth: 4); 0 when
    /// weights are stored per synapse.
    pub axon_types: u32,
    /// Whether a convolution kernel is stored once (weight sharing) instead of unrolled
    /// into one row per input neuron.
    pub weight_sharing: bool,
    /// Whether a neuron's input may be split over cores whose partial sums are chained:
    /// the first core sums its slice of the inputs and sends the partial sum on as a
    /// graded event, the next continues from it, the last updates the neuron. Needed when
    /// one neuron's fan-in exceeds a core's in-axons or synapse memory. Absent = false.
    #[serde(default)]
    pub partial_sums: bool,
}

/// How a layer's neurons are laid out in neuron memory.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeuronLayout {
    /// One entry per neuron.
    Exact,
    /// Feature-map height and width each padded to a power of two (sinabs/Speck:
    /// `f·2^(⌈log2 H⌉+⌈log2 W⌉)` entries).
    PowerOfTwo,
}

/// How a row of synapses (the synapses of one input axon) is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynapseEncoding {
    /// Sparse (weight + target index per synapse) or dense (one weight slot per target).
    pub format: RowFormat,
    /// Bits of one stored weight.
    pub weight_bits: u32,
    /// Further bits per synapse (delay, tag, synapse type).
    pub extra_bits_per_synapse: u32,
    /// A row is split into groups of at most this many synapses, each with its own header
    /// and padding (Loihi: 64); `None` = the whole row is one group.
    pub group_max_synapses: Option<u32>,
    /// Header bits per group (Loihi: 4 format + 6 count = 10).
    pub group_header_bits: u32,
    /// Padding applied to each group.
    pub padding: Padding,
}

/// Sparse or dense rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RowFormat {
    /// Each synapse stores its target's index.
    Sparse {
        /// Width of the target index.
        index_bits: IndexBits,
    },
    /// A row holds one weight slot per target in order; the index is implicit.
    Dense,
}

/// Width of a sparse synapse's target index.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexBits {
    /// Always this many bits.
    Fixed(u32),
    /// `⌈log2(targets)⌉` bits, at least `min` and at most `max` (nengo-loihi chooses the
    /// index width per synapse format from the largest target index).
    Fit {
        /// Narrowest index the hardware offers.
        min: u32,
        /// Widest index the hardware offers.
        max: u32,
    },
}

/// Padding of a synapse group.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// Bits are packed; no padding.
    None,
    /// Each group is rounded up to whole `synapse_word_bits` words.
    Words,
    /// The number of synapse slots in a group is rounded up to a power of two (address
    /// fields concatenated, as on Speck).
    PowerOfTwo,
}

/// Which core type occupies which tile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Layout {
    /// Every tile of every chip holds cores of this type.
    Uniform(String),
    /// One entry per tile, row-major (`y` outer, `x` inner), the same on every chip;
    /// `None` leaves the tile empty.
    PerTile(Vec<Option<String>>),
    /// One entry per core slot, tiles row-major then slots, the same on every chip;
    /// `None` leaves the slot empty (for tiles whose cores differ, as on Speck).
    PerCore(Vec<Option<String>>),
}

/// Cycle costs, in cycles of `clock_mhz`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Clock the cycle counts refer to (for clockless chips, a nominal accounting clock).
    pub clock_mhz: f64,
    /// Cycles to deliver one synaptic event.
    pub synop_cycles: u32,
    /// Cycles to update one neuron once per time step.
    pub neuron_update_cycles: u32,
    /// Cycles to emit one spike packet from a core.
    pub spike_out_cycles: u32,
    /// Cycles of the end-of-step barrier synchronisation.
    pub barrier_cycles: u32,
    /// Cycles per synaptic event by connection kind (dense, sparse, convolution), in place
    /// of `synop_cycles` for those kinds (pooling and partial sums keep `synop_cycles`).
    /// Absent = `synop_cycles` for every kind.
    #[serde(default)]
    pub synop_cycles_by_kind: Option<ByKind<u32>>,
    /// Further cycles to update an *active* neuron (one with input, a nonzero state or
    /// bias this step); `neuron_update_cycles` is what every neuron costs. Default 0.
    #[serde(default)]
    pub neuron_active_cycles: u32,
    /// Cycles for a neuron to fire (per spike, besides `spike_out_cycles` per packet).
    /// Default 0.
    #[serde(default)]
    pub spike_cycles: u32,
    /// Cycles for a core to receive one packet, before its synaptic events. Default 0.
    #[serde(default)]
    pub message_in_cycles: u32,
    /// A core receives packets (and does their synaptic events) on a path separate from
    /// its neuron updates and sends, so the two overlap (SANA-FE's Loihi model). Default
    /// false: one sequential path.
    #[serde(default)]
    pub split_receive: bool,
    /// The barrier as a function of the tiles a map uses: `(tiles, cycles)` pairs in
    /// increasing tile order; a map on `n` tiles pays the entry with the largest
    /// `tiles ≤ n` (the first entry below it). Empty (the default) = `barrier_cycles`
    /// whatever the size (SANA-FE's `sync_model: table`).
    #[serde(default)]
    pub barrier_cycles_by_tiles: Vec<(u32, u32)>,
    /// When a spike reaches the next layer: in the step it was emitted (`SameStep`, the
    /// default, NIR's semantics) or in the next one (`Pipelined`, how Loihi runs).
    #[serde(default)]
    pub mode: TimingMode,
}

impl Timing {
    /// The end-of-step barrier of a map that uses `tiles` tiles.
    pub fn barrier_for_tiles(&self, tiles: u32) -> u32 {
        match self.barrier_cycles_by_tiles.iter().rev().find(|&&(t, _)| t <= tiles) {
            Some(&(_, c)) => c,
            None => self.barrier_cycles_by_tiles.first().map_or(self.barrier_cycles, |&(_, c)| c),
        }
    }
}

/// A figure per connection kind.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByKind<T> {
    /// Dense (fully connected) projections.
    pub dense: T,
    /// Sparse projections.
    pub sparse: T,
    /// Convolutions.
    pub conv: T,
}

/// When a spike emitted in time step `t` reaches the neurons it feeds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimingMode {
    /// In step `t`: a step chains through all layers (NIR semantics, the reference
    /// executor's); the step is as long as the layer chain.
    #[default]
    SameStep,
    /// In step `t + 1`: layers run as a pipeline, each adds one step of latency, and the
    /// step is the busiest core plus the barrier (Loihi, SANA-FE). Partial sums of a
    /// neuron split over cores still chain within the step.
    Pipelined,
}

/// Energy per event. `None` = no published figure; the simulator then reports that
/// component as unknown (`null`, the total flagged partial) instead of guessing or
/// counting it as 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Energy {
    /// One synaptic event delivered.
    pub synop_pj: Option<f64>,
    /// One synaptic event by connection kind, in place of `synop_pj` for dense, sparse and
    /// convolution projections; absent = `synop_pj` for every kind.
    #[serde(default)]
    pub synop_pj_by_kind: Option<ByKind<f64>>,
    /// One neuron updated for one time step (every neuron, every step).
    pub neuron_update_pj: Option<f64>,
    /// Further energy of an active neuron's update (input, nonzero state or bias); 0 (the
    /// default) = not charged separately.
    #[serde(default)]
    pub neuron_active_pj: f64,
    /// One spike fired by a neuron (besides `spike_out_pj` per packet); default 0.
    #[serde(default)]
    pub spike_pj: f64,
    /// One spike packet (message) emitted by a core.
    pub spike_out_pj: Option<f64>,
    /// One packet received by a core (host input included); default 0.
    #[serde(default)]
    pub message_in_pj: f64,
    /// One east-west mesh hop.
    pub hop_ew_pj: Option<f64>,
    /// One north-south mesh hop.
    pub hop_ns_pj: Option<f64>,
    /// One chip-to-chip hop.
    pub chip_hop_pj: Option<f64>,
    /// Static (leakage) power of one chip.
    pub static_power_mw: Option<f64>,
}

/// Fixed-point formats, shared by every core. Their arithmetic is in [`crate::numerics`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numerics {
    /// Width of an effective synaptic weight.
    pub weight_bits: u32,
    /// Whether weights are two's-complement signed.
    pub weight_signed: bool,
    /// Width of the (signed) membrane potential and synaptic current registers.
    pub state_bits: u32,
    /// How a decay (leak) is represented.
    pub decay: DecayFormat,
    /// Width of the (unsigned) threshold mantissa.
    pub threshold_bits: u32,
    /// The threshold in state units is `mantissa << threshold_shift`.
    pub threshold_shift: u32,
    /// Rounding of quantization and of multiplier decays.
    pub rounding: Rounding,
    /// What happens when the state leaves its range.
    pub overflow: Overflow,
}

/// Representation of a decay factor `β ∈ [0, 1]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DecayFormat {
    /// `v ← round(v · m / 2^shift_bits)` with an integer `m ∈ [0, 2^shift_bits]`
    /// (Loihi: shift 12, `m = 4096 − δ`).
    Multiplier {
        /// The documented shift.
        shift_bits: u32,
    },
    /// `v ← v − (v >> dash)` with `dash ∈ [0, max_dash]` (Xylo's bit-shift decay).
    BitShift {
        /// Largest shift the hardware stores.
        max_dash: u32,
    },
    /// No multiplicative decay (`β = 1`); a signed `leak_bits`-wide constant is added to
    /// the state every step (TrueNorth's linear leak, Speck's leak).
    Linear {
        /// Width of the signed leak constant.
        leak_bits: u32,
    },
}

/// Rounding of a division by a power of two or of a real to an integer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rounding {
    /// To nearest, ties to even.
    NearestEven,
    /// Truncate toward zero (Loihi's decay: `sign(x)·(|x|·m >> s)`).
    TowardZero,
    /// Toward −∞ (an arithmetic right shift).
    Floor,
}

/// Overflow behaviour of the state registers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Overflow {
    /// Clamp to the representable range.
    Saturate,
    /// Two's-complement wrap-around.
    Wrap,
}

/// `[x, y]` written as a two-element list (serde's default for arrays is a tuple).
mod pair {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[u32; 2], s: S) -> Result<S::Ok, S::Error> {
        v.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u32; 2], D::Error> {
        let v = Vec::<u32>::deserialize(d)?;
        <[u32; 2]>::try_from(v.as_slice())
            .map_err(|_| D::Error::custom(format!("expected two numbers [x, y], found {} ({v:?})", v.len())))
    }
}
