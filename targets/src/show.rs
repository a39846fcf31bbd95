//! Human-readable rendering of a target with derived totals (`spikeforge target show`),
//! and the target as a complete, commented RON file (`target show T --ron`) that loads back
//! to the same spec.

use std::fmt::Write;

use crate::chip::TargetSpec;
use crate::schema::{self, Kind};

use crate::chip::{
    Cast, CoreSpec, DecayFormat, IndexBits, Layout, NeuronLayout, Overflow, Padding, Rounding, RowFormat,
};
use crate::target::Target;

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A bit count as bytes in B, KiB, MiB or GiB (two decimals above bytes).
pub fn human_bits(bits: u64) -> String {
    let bytes = bits as f64 / 8.0;
    const UNITS: [(&str, f64); 3] = [("GiB", 1073741824.0), ("MiB", 1048576.0), ("KiB", 1024.0)];
    for (unit, size) in UNITS {
        if bytes >= size {
            return format!("{:.2} {unit}", bytes / size);
        }
    }
    format!("{bytes} B")
}

fn opt_u32(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_string(), |n| thousands(n as u64))
}

fn pj(v: Option<f64>) -> String {
    v.map_or_else(|| "unknown".to_string(), |x| format!("{x:?}"))
}

fn encoding(k: &CoreSpec) -> String {
    let e = &k.encoding;
    let mut s = match e.format {
        RowFormat::Dense => format!("dense, {}-bit weights", e.weight_bits),
        RowFormat::Sparse { index_bits: IndexBits::Fixed(b) } => {
            format!("sparse, {}-bit weights + {b}-bit index", e.weight_bits)
        }
        RowFormat::Sparse { index_bits: IndexBits::Fit { min, max } } => {
            format!("sparse, {}-bit weights + {min}..{max}-bit index", e.weight_bits)
        }
    };
    if e.extra_bits_per_synapse > 0 {
        let _ = write!(s, " + {} extra bits", e.extra_bits_per_synapse);
    }
    if let Some(g) = e.group_max_synapses {
        let _ = write!(s, "; groups of ≤ {g}");
    }
    if e.group_header_bits > 0 {
        let _ = write!(s, ", {}-bit header", e.group_header_bits);
    }
    s.push_str(match e.padding {
        Padding::None => "; packed",
        Padding::Words => "; padded to words",
        Padding::PowerOfTwo => "; padded to powers of two",
    });
    s
}

/// Render `t` as a multi-line report ending in a newline.
pub fn render(t: &Target) -> String {
    let s = t.spec();
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "target {}: {}", s.name, s.description);
    let _ = writeln!(w, "  file             {}", t.file());
    let [gx, gy] = s.grid.chips;
    let [mx, my] = s.noc.mesh;
    let _ = writeln!(w, "  chips            {gx} × {gy} = {}", gx as u64 * gy as u64);
    let _ = writeln!(
        w,
        "  mesh per chip    {mx} × {my} tiles, {} core(s) per tile, XY routing, {}",
        s.noc.cores_per_tile,
        match s.noc.cast {
            Cast::Unicast => "unicast",
            Cast::Multicast => "multicast",
        }
    );
    let counts = t.cores_per_type();
    let by_type: Vec<String> =
        s.core_types.iter().zip(&counts).map(|(k, n)| format!("{} {}", thousands(*n as u64), k.name)).collect();
    let _ = writeln!(w, "  cores            {} ({})", thousands(t.num_cores() as u64), by_type.join(", "));
    let _ = writeln!(w, "  neurons          {}", thousands(t.total_neurons()));
    let syn = t.total_synapse_memory_bits();
    let _ = writeln!(w, "  synapse memory   {} ({} bits)", human_bits(syn), thousands(syn));
    let neu = t.total_neuron_memory_bits();
    let _ = writeln!(w, "  neuron memory    {} ({} bits)", human_bits(neu), thousands(neu));
    let _ = writeln!(w, "  clock            {} MHz", s.timing.clock_mhz);

    let per_tile = s.noc.cores_per_tile as usize;
    let letter = |name: &Option<String>| match name {
        Some(name) => {
            let i = s.core_types.iter().position(|k| &k.name == name).unwrap_or(0);
            (b'a' + (i % 26) as u8) as char
        }
        None => '.',
    };
    let slots: Option<Vec<char>> = match &s.layout {
        Layout::Uniform(_) => None,
        Layout::PerTile(tiles) => Some(tiles.iter().flat_map(|t| std::iter::repeat_n(letter(t), per_tile)).collect()),
        Layout::PerCore(list) => Some(list.iter().map(letter).collect()),
    };
    if let Some(slots) = slots {
        let _ =
            writeln!(w, "core map (per chip, north at top, one group per tile; letters are core types, . is empty)");
        for y in (0..my).rev() {
            let row: Vec<String> = (0..mx)
                .map(|x| {
                    let t = (y * mx + x) as usize * per_tile;
                    slots[t..t + per_tile].iter().collect()
                })
                .collect();
            let _ = writeln!(w, "  {}", row.join(" "));
        }
        for (i, k) in s.core_types.iter().enumerate() {
            let _ = writeln!(w, "  {} = {}", (b'a' + (i % 26) as u8) as char, k.name);
        }
    }

    let _ = writeln!(w, "core types");
    for (k, n) in s.core_types.iter().zip(&counts) {
        let _ = writeln!(w, "  {} (× {})", k.name, thousands(*n as u64));
        let _ = writeln!(
            w,
            "    neurons        {} × {} state bits{}",
            thousands(k.max_neurons as u64),
            k.neuron_state_bits,
            if k.neuron_layout == NeuronLayout::PowerOfTwo { ", maps padded to powers of two" } else { "" }
        );
        let _ = writeln!(
            w,
            "    synapse memory {} ({} bits, {}-bit words)",
            human_bits(k.synapse_memory_bits),
            thousands(k.synapse_memory_bits),
            k.synapse_word_bits
        );
        let _ = writeln!(w, "    encoding       {}", encoding(k));
        let _ = writeln!(
            w,
            "    axons          {} in, {} out; destinations/core {}, fan-out/neuron {}, routing entries {}",
            thousands(k.in_axons as u64),
            thousands(k.out_axons as u64),
            opt_u32(k.max_destination_cores),
            opt_u32(k.max_fanout_per_neuron),
            opt_u32(k.routing_entries)
        );
        let mut extra = Vec::new();
        if k.axon_types > 0 {
            extra.push(format!("{} axon types", k.axon_types));
        }
        extra.push(if k.weight_sharing { "conv kernels stored once".into() } else { "conv kernels unrolled".into() });
        if k.partial_sums {
            extra.push("fan-in split over cores by chained partial sums".into());
        }
        let _ = writeln!(w, "    weights        {}", extra.join(", "));
    }

    let n = &s.noc;
    let _ = writeln!(w, "network");
    let _ = writeln!(
        w,
        "  router {} cycles; links E-W {} / N-S {} cycles, {} bits/cycle; packet {} bits; buffers {} packets",
        n.router_cycles,
        n.link_cycles_ew,
        n.link_cycles_ns,
        n.link_bits_per_cycle,
        n.packet_bits,
        n.buffer_depth_packets
    );
    let _ = writeln!(
        w,
        "  chip-to-chip links {} cycles, {} bits/cycle; chip routing entries {}",
        s.grid.chip_link_cycles,
        s.grid.chip_link_bits_per_cycle,
        opt_u32(s.grid.chip_routing_entries)
    );

    let tm = &s.timing;
    let ns = |c: u32| c as f64 * 1000.0 / tm.clock_mhz;
    let _ = writeln!(w, "timing (cycles @ {} MHz = ns)", tm.clock_mhz);
    for (label, c) in [
        ("synaptic op", tm.synop_cycles),
        ("neuron update", tm.neuron_update_cycles),
        ("spike out", tm.spike_out_cycles),
        ("barrier", tm.barrier_cycles),
    ] {
        let _ = writeln!(w, "  {label:<16}{c:>8} = {:.1} ns", ns(c));
    }

    let e = &s.energy;
    let _ = writeln!(w, "energy (pJ per event)");
    for (label, v) in [
        ("synaptic op", e.synop_pj),
        ("neuron update", e.neuron_update_pj),
        ("spike out", e.spike_out_pj),
        ("hop E-W", e.hop_ew_pj),
        ("hop N-S", e.hop_ns_pj),
        ("chip-to-chip hop", e.chip_hop_pj),
    ] {
        let _ = writeln!(w, "  {label:<17}{}", pj(v));
    }
    let _ = writeln!(w, "  static power     {} mW per chip", pj(e.static_power_mw));

    let m = &s.numerics;
    let _ = writeln!(w, "numerics");
    let _ = writeln!(
        w,
        "  weights {}-bit {}, state {}-bit signed, threshold {}-bit mantissa << {}",
        m.weight_bits,
        if m.weight_signed { "signed" } else { "unsigned" },
        m.state_bits,
        m.threshold_bits,
        m.threshold_shift
    );
    let decay = match m.decay {
        DecayFormat::Multiplier { shift_bits } => format!("v·m >> {shift_bits}"),
        DecayFormat::BitShift { max_dash } => format!("v − (v >> dash), dash ≤ {max_dash}"),
        DecayFormat::Linear { leak_bits } => format!("none, linear leak of {leak_bits} bits"),
    };
    let rounding = match m.rounding {
        Rounding::NearestEven => "nearest-even",
        Rounding::TowardZero => "toward zero",
        Rounding::Floor => "floor",
    };
    let overflow = match m.overflow {
        Overflow::Saturate => "saturate",
        Overflow::Wrap => "wrap",
    };
    let _ = writeln!(w, "  decay {decay}; rounding {rounding}; overflow {overflow}");
    if !s.sources.is_empty() {
        let _ = writeln!(w, "sources");
        for src in &s.sources {
            let _ = writeln!(w, "  - {src}");
        }
    }
    o
}

/// `spec` as a complete RON target file: every field written (optional ones as `None`),
/// each with a comment giving its unit and meaning, short lists of numbers on one line.
/// Parsing it gives `spec` back (`parse_spec(&render_ron(s)) == s`).
pub fn render_ron(spec: &TargetSpec) -> String {
    let text = crate::load::to_ron(spec);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// Target `{}`, every field written out (`spikeforge target show {} --ron`).",
        spec.name, spec.name
    );
    out.push_str(
        "// Units are in the field names and comments: _bits, _cycles (of timing.clock_mhz), _pj\n\
         // (picojoule), _mw (milliwatt), _mhz. `None` = no such limit or figure on this chip (an\n\
         // energy figure left None is reported as unknown, never as 0). Optional fields may be left\n\
         // out; a present value needs no `Some(...)`.\n",
    );
    // Names of the fields whose value is open on the lines being read (list elements: "").
    let mut path: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with(')') || trimmed.starts_with(']') {
            path.pop();
            let _ = writeln!(out, "{line}");
            i += 1;
            continue;
        }
        let key = field_name(trimmed);
        let opens = trimmed.ends_with('(') || trimmed.ends_with('[');
        // `[` followed by numbers only: one line.
        if let (Some(_), true) = (key, trimmed.ends_with('[')) {
            let items: Vec<&str> =
                lines[i + 1..].iter().map(|l| l.trim()).take_while(|l| !l.starts_with(']')).collect();
            let numbers = items.iter().all(|t| t.trim_end_matches(',').parse::<f64>().is_ok());
            let close = lines.get(i + 1 + items.len()).map(|l| l.trim());
            if numbers && items.len() <= 4 {
                let joined: Vec<&str> = items.iter().map(|t| t.trim_end_matches(',')).collect();
                let tail = close.unwrap_or("]").trim_start_matches(']');
                let one = format!("{trimmed}{}]{tail}", joined.join(", "));
                write_field(&mut out, indent, &one, &path, key);
                i += 2 + items.len();
                continue;
            }
        }
        match key {
            Some(k) => write_field(&mut out, indent, trimmed, &path, Some(k)),
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
        if opens {
            path.push(key.unwrap_or("").to_string());
        }
        i += 1;
    }
    out
}

/// `name` of a line `name: value`.
fn field_name(trimmed: &str) -> Option<&str> {
    let (name, _) = trimmed.split_once(':')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).then_some(name)
}

/// One field's line with its comment: at the end of a value's line, above a section.
fn write_field(out: &mut String, indent: &str, text: &str, path: &[String], key: Option<&str>) {
    let mut names: Vec<&str> = path.iter().map(String::as_str).filter(|n| !n.is_empty()).collect();
    names.extend(key);
    let Some(f) = schema::field(&names) else {
        let _ = writeln!(out, "{indent}{text}");
        return;
    };
    let default = match f.default {
        Some(d) => format!("; optional, default {d}"),
        None => String::new(),
    };
    match f.kind {
        Kind::Struct(_) | Kind::List(_) => {
            let _ = writeln!(out, "{indent}// {}{default}", f.doc);
            let _ = writeln!(out, "{indent}{text}");
        }
        Kind::Value => {
            let _ = writeln!(out, "{indent}{text} // {}: {}{default}", f.unit, f.doc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_through_commented_ron() {
        for name in crate::load::PRESETS {
            let spec = crate::load::preset_spec(name).unwrap().unwrap();
            let text = render_ron(&spec);
            let back = crate::load::parse_spec(&text, name).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
            assert_eq!(back, spec, "{name}");
            assert!(text.contains("max_neurons: ") && text.contains("// count: neurons"), "{text}");
        }
    }

    #[test]
    fn number_formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(134_217_728), "134,217,728");
        assert_eq!(human_bits(8 * 512), "512 B");
        assert_eq!(human_bits(8 * 1024 * 128), "128.00 KiB");
        assert_eq!(human_bits(8 * 1024 * 1024 * 16), "16.00 MiB");
        assert_eq!(human_bits(8u64 << 30), "1.00 GiB");
    }
}
