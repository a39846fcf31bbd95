//! Semantic validation of a [`TargetSpec`]: every rule, every problem, by field path.
//!
//! The rules are the invariants later code relies on without re-checking: positive sizes
//! and counts, widths the arithmetic supports (weights ≤ 32 bits, state ≤ 62), a core
//! type for every named tile or slot, at least one core (at most [`MAX_CORES`] positions), a synapse row of one synapse fits in
//! every core, sizes within [`MAX_SYNAPSE_MEMORY_BITS`] and [`MAX_BITS_PER_ITEM`] so that
//! every total over the chip fits in a `u64`, energies finite in `0..=`[`MAX_ENERGY_PJ`]
//! (static power in `0..=`[`MAX_STATIC_POWER_MW`]), a clock in
//! [`MIN_CLOCK_MHZ`]`..=`[`MAX_CLOCK_MHZ`]. Within these ranges every total and energy a
//! run can produce is a finite number.

use std::collections::HashSet;

use crate::chip::{DecayFormat, IndexBits, Layout, RowFormat, TargetSpec};
use crate::error::Problem;
use crate::memory;

/// Most cores a target may have (`CoreId` is a `u32`; tables are allocated per core).
pub const MAX_CORES: u64 = 1 << 24;
/// Largest synapse memory of one core: 2^36 bits (8 GiB), far above any chip. With at most
/// [`MAX_CORES`] cores the chip's total stays below 2^60 bits.
pub const MAX_SYNAPSE_MEMORY_BITS: u64 = 1 << 36;
/// Largest per-neuron state and synapse word width in bits.
pub const MAX_BITS_PER_ITEM: u32 = 1 << 16;
/// Largest neuron state of one core (`max_neurons × neuron_state_bits`): 2^38 bits. With
/// synapse memory, one core holds below 2^39 bits and a chip of [`MAX_CORES`] below 2^63.
pub const MAX_NEURON_MEMORY_BITS: u64 = 1 << 38;
/// Largest energy of one event (synaptic op, neuron update, spike, hop): 1 µJ.
pub const MAX_ENERGY_PJ: f64 = 1e6;
/// Largest static power of one chip: 1 kW.
pub const MAX_STATIC_POWER_MW: f64 = 1e6;
/// Clock range: 1 kHz to 100 GHz.
pub const MIN_CLOCK_MHZ: f64 = 1e-3;
pub const MAX_CLOCK_MHZ: f64 = 1e5;

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn report(&mut self, field: impl Into<String>, value: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem { field: field.into(), value: value.into(), message: message.into() });
    }

    fn positive(&mut self, field: &str, v: u64) {
        if v == 0 {
            self.report(field, "0", "must be > 0");
        }
    }

    fn positive_opt(&mut self, field: &str, v: Option<u32>) {
        if v == Some(0) {
            self.report(field, "0", "must be > 0 (write None when there is no such limit)");
        }
    }

    fn range(&mut self, field: &str, v: u32, lo: u32, hi: u32) {
        if v < lo || v > hi {
            self.report(field, v.to_string(), format!("must be in {lo}..={hi}"));
        }
    }

    fn dims(&mut self, field: &str, v: [u32; 2]) {
        if v.contains(&0) {
            self.report(field, format!("{v:?}"), "every dimension must be > 0");
        }
    }

    fn energy(&mut self, field: &str, v: Option<f64>, max: f64) {
        if let Some(x) = v {
            if !(x.is_finite() && (0.0..=max).contains(&x)) {
                self.report(field, x.to_string(), format!("must be a number in 0..={max:e} (write None when unknown)"));
            }
        }
    }

    fn at_most(&mut self, field: &str, v: u64, max: u64, what: &str) {
        if v > max {
            self.report(field, v.to_string(), format!("must be at most {max} ({what})"));
        }
    }
}

/// All problems of `spec`; empty when it is a valid target.
pub fn validate(spec: &TargetSpec) -> Vec<Problem> {
    let mut c = Checker { problems: Vec::new() };
    if spec.name.trim().is_empty() {
        c.report("name", "\"\"", "must not be empty");
    }

    let g = &spec.grid;
    c.dims("grid.chips", g.chips);
    c.positive("grid.chip_link_bits_per_cycle", g.chip_link_bits_per_cycle as u64);
    c.positive_opt("grid.chip_routing_entries", g.chip_routing_entries);

    let n = &spec.noc;
    c.dims("noc.mesh", n.mesh);
    c.positive("noc.cores_per_tile", n.cores_per_tile as u64);
    c.positive("noc.link_bits_per_cycle", n.link_bits_per_cycle as u64);
    c.positive("noc.packet_bits", n.packet_bits as u64);
    c.positive("noc.buffer_depth_packets", n.buffer_depth_packets as u64);

    let num = &spec.numerics;
    c.range("numerics.weight_bits", num.weight_bits, 1, 32);
    c.range("numerics.state_bits", num.state_bits, 2, 62);
    c.range("numerics.threshold_bits", num.threshold_bits, 1, 32);
    c.range("numerics.threshold_shift", num.threshold_shift, 0, 32);
    if num.threshold_bits + num.threshold_shift > num.state_bits {
        c.report(
            "numerics.threshold_bits",
            num.threshold_bits.to_string(),
            format!(
                "threshold_bits + threshold_shift = {} exceeds state_bits = {}: the largest threshold would not fit in the state",
                num.threshold_bits + num.threshold_shift,
                num.state_bits
            ),
        );
    }
    match num.decay {
        DecayFormat::Multiplier { shift_bits } => c.range("numerics.decay.shift_bits", shift_bits, 1, 32),
        DecayFormat::BitShift { max_dash } => c.range("numerics.decay.max_dash", max_dash, 1, num.state_bits.max(1)),
        DecayFormat::Linear { leak_bits } => c.range("numerics.decay.leak_bits", leak_bits, 1, num.state_bits.max(1)),
    }

    if !(MIN_CLOCK_MHZ..=MAX_CLOCK_MHZ).contains(&spec.timing.clock_mhz) {
        c.report(
            "timing.clock_mhz",
            spec.timing.clock_mhz.to_string(),
            format!("must be a number in {MIN_CLOCK_MHZ:e}..={MAX_CLOCK_MHZ:e} (1 kHz to 100 GHz)"),
        );
    }

    let e = &spec.energy;
    c.energy("energy.synop_pj", e.synop_pj, MAX_ENERGY_PJ);
    c.energy("energy.neuron_update_pj", e.neuron_update_pj, MAX_ENERGY_PJ);
    c.energy("energy.spike_out_pj", e.spike_out_pj, MAX_ENERGY_PJ);
    c.energy("energy.hop_ew_pj", e.hop_ew_pj, MAX_ENERGY_PJ);
    c.energy("energy.hop_ns_pj", e.hop_ns_pj, MAX_ENERGY_PJ);
    c.energy("energy.chip_hop_pj", e.chip_hop_pj, MAX_ENERGY_PJ);
    c.energy("energy.static_power_mw", e.static_power_mw, MAX_STATIC_POWER_MW);

    check_core_types(&mut c, spec);
    check_layout(&mut c, spec);
    c.problems
}

fn core_path(i: usize, name: &str, unique: bool) -> String {
    if unique && !name.is_empty() {
        format!("core_types[{name:?}]")
    } else {
        format!("core_types[{i}]")
    }
}

fn check_core_types(c: &mut Checker, spec: &TargetSpec) {
    if spec.core_types.is_empty() {
        c.report("core_types", "[]", "must list at least one core type");
    }
    let mut seen = HashSet::new();
    let dup: HashSet<&str> = spec.core_types.iter().map(|k| k.name.as_str()).filter(|n| !seen.insert(*n)).collect();
    for (i, k) in spec.core_types.iter().enumerate() {
        let p = core_path(i, &k.name, !dup.contains(k.name.as_str()));
        let f = |field: &str| format!("{p}.{field}");
        if k.name.trim().is_empty() {
            c.report(f("name"), "\"\"", "must not be empty");
        } else if dup.contains(k.name.as_str()) {
            c.report(f("name"), format!("{:?}", k.name), "is used by more than one core type");
        }
        c.positive(&f("max_neurons"), k.max_neurons as u64);
        c.positive(&f("neuron_state_bits"), k.neuron_state_bits as u64);
        if k.neuron_state_bits > 0 && k.neuron_state_bits < spec.numerics.state_bits {
            c.report(
                f("neuron_state_bits"),
                k.neuron_state_bits.to_string(),
                format!(
                    "is less than numerics.state_bits = {}: a neuron's state would not fit",
                    spec.numerics.state_bits
                ),
            );
        }
        c.at_most(&f("neuron_state_bits"), k.neuron_state_bits as u64, MAX_BITS_PER_ITEM as u64, "bits per neuron");
        let neuron_bits = k.max_neurons as u64 * k.neuron_state_bits as u64;
        if neuron_bits > MAX_NEURON_MEMORY_BITS {
            c.report(
                f("max_neurons"),
                k.max_neurons.to_string(),
                format!(
                    "× neuron_state_bits = {neuron_bits} bits of neuron state, above the {MAX_NEURON_MEMORY_BITS} \
                     (2^38) supported per core"
                ),
            );
        }
        c.positive(&f("synapse_memory_bits"), k.synapse_memory_bits);
        c.at_most(
            &f("synapse_memory_bits"),
            k.synapse_memory_bits,
            MAX_SYNAPSE_MEMORY_BITS,
            "2^36 bits, 8 GiB per core",
        );
        c.positive(&f("synapse_word_bits"), k.synapse_word_bits as u64);
        c.at_most(&f("synapse_word_bits"), k.synapse_word_bits as u64, MAX_BITS_PER_ITEM as u64, "bits per word");
        c.positive(&f("in_axons"), k.in_axons as u64);
        c.positive(&f("out_axons"), k.out_axons as u64);
        c.positive_opt(&f("max_destination_cores"), k.max_destination_cores);
        c.positive_opt(&f("max_fanout_per_neuron"), k.max_fanout_per_neuron);
        c.positive_opt(&f("routing_entries"), k.routing_entries);

        let enc = &k.encoding;
        let before = c.problems.len();
        c.range(&f("encoding.weight_bits"), enc.weight_bits, 1, 32);
        if enc.weight_bits > spec.numerics.weight_bits && enc.weight_bits <= 32 {
            c.report(
                f("encoding.weight_bits"),
                enc.weight_bits.to_string(),
                format!("exceeds numerics.weight_bits = {}", spec.numerics.weight_bits),
            );
        }
        c.range(&f("encoding.extra_bits_per_synapse"), enc.extra_bits_per_synapse, 0, 32);
        c.positive_opt(&f("encoding.group_max_synapses"), enc.group_max_synapses);
        match enc.format {
            RowFormat::Sparse { index_bits: IndexBits::Fixed(b) } => {
                c.range(&f("encoding.format.index_bits"), b, 1, 32)
            }
            RowFormat::Sparse { index_bits: IndexBits::Fit { min, max } } => {
                c.range(&f("encoding.format.index_bits.max"), max, 1, 32);
                if min > max {
                    c.report(f("encoding.format.index_bits.min"), min.to_string(), format!("exceeds max = {max}"));
                }
            }
            RowFormat::Dense => {}
        }
        // Only meaningful once the encoding and sizes are sane.
        if c.problems.len() == before && k.max_neurons > 0 && k.synapse_word_bits > 0 && k.synapse_memory_bits > 0 {
            if let Err(err) = memory::index_bits(enc, k.max_neurons as u64) {
                c.report(
                    f("encoding.format.index_bits"),
                    "",
                    format!("cannot address all {} neurons of the core: {err}", k.max_neurons),
                );
            }
            match memory::row_bits(k, 1, 1) {
                Ok(bits) if bits > k.synapse_memory_bits => c.report(
                    f("synapse_memory_bits"),
                    k.synapse_memory_bits.to_string(),
                    format!("is smaller than one row of one synapse ({bits} bits)"),
                ),
                _ => {}
            }
        }
    }
}

fn check_layout(c: &mut Checker, spec: &TargetSpec) {
    let known: HashSet<&str> = spec.core_types.iter().map(|k| k.name.as_str()).collect();
    let tiles = spec.noc.mesh[0] as u64 * spec.noc.mesh[1] as u64;
    let occupied = match &spec.layout {
        Layout::Uniform(name) => {
            if !known.contains(name.as_str()) {
                c.report("layout", format!("Uniform({name:?})"), "names no core type in core_types");
            }
            tiles.saturating_mul(spec.noc.cores_per_tile as u64)
        }
        Layout::PerTile(list) => {
            if list.len() as u64 != tiles && tiles > 0 {
                c.report(
                    "layout",
                    format!("PerTile([{} entries])", list.len()),
                    format!("must have one entry per tile: noc.mesh = {:?} has {tiles} tiles", spec.noc.mesh),
                );
            }
            check_names(c, list, &known);
            (list.iter().take(tiles as usize).filter(|t| t.is_some()).count() as u64)
                .saturating_mul(spec.noc.cores_per_tile as u64)
        }
        Layout::PerCore(list) => {
            let slots = tiles.saturating_mul(spec.noc.cores_per_tile as u64);
            if list.len() as u64 != slots && slots > 0 {
                c.report(
                    "layout",
                    format!("PerCore([{} entries])", list.len()),
                    format!(
                        "must have one entry per core slot: noc.mesh = {:?} with noc.cores_per_tile = {} has {slots} slots",
                        spec.noc.mesh, spec.noc.cores_per_tile
                    ),
                );
            }
            check_names(c, list, &known);
            list.iter().take(slots as usize).filter(|t| t.is_some()).count() as u64
        }
    };
    // Per-core tables are sized by core positions, so bound those as well as cores.
    let positions = (spec.grid.chips[0] as u64)
        .saturating_mul(spec.grid.chips[1] as u64)
        .saturating_mul(tiles)
        .saturating_mul(spec.noc.cores_per_tile as u64);
    let cores = (spec.grid.chips[0] as u64).saturating_mul(spec.grid.chips[1] as u64).saturating_mul(occupied);
    if cores == 0 {
        c.report("layout", "", "the target has zero cores (check grid.chips, noc.mesh, noc.cores_per_tile and layout)");
    } else if positions > MAX_CORES {
        c.report("layout", "", format!("the target has {positions} core positions; at most {MAX_CORES} are supported"));
    }
}

fn check_names(c: &mut Checker, list: &[Option<String>], known: &HashSet<&str>) {
    for (i, name) in list.iter().enumerate() {
        if let Some(name) = name {
            if !known.contains(name.as_str()) {
                c.report(format!("layout[{i}]"), format!("{name:?}"), "names no core type in core_types");
            }
        }
    }
}
