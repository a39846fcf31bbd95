//! The target file format as data: every field of [`crate::chip::TargetSpec`] with its unit,
//! its default (or that it is required) and a one-line description.
//!
//! One table serves three readers: the loader, which lists **every** missing required field
//! at once (serde stops at the first), `spikeforge target show T --ron`, which writes a
//! complete target with a comment on each field, and the README's format section, which a
//! test checks against it. A test also checks that the table names exactly the fields that
//! the types serialize, so the two cannot drift apart.

/// What a field holds.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A value (number, text, list of values or an enum written in place).
    Value,
    /// A struct with these fields.
    Struct(&'static [Field]),
    /// A list of structs with these fields.
    List(&'static [Field]),
}

/// One field of the format.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Unit or type as written (`cycles`, `pJ`, `bool`, `[x, y]`…).
    pub unit: &'static str,
    /// `None` = required; otherwise the value a missing field takes.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

const fn req(name: &'static str, unit: &'static str, doc: &'static str) -> Field {
    Field { name, kind: Kind::Value, unit, default: None, doc }
}

const fn dflt(name: &'static str, unit: &'static str, default: &'static str, doc: &'static str) -> Field {
    Field { name, kind: Kind::Value, unit, default: Some(default), doc }
}

const fn opt(name: &'static str, unit: &'static str, doc: &'static str) -> Field {
    Field { name, kind: Kind::Value, unit, default: Some("None"), doc }
}

const GRID: &[Field] = &[
    req("chips", "[x, y]", "chips in the grid; neighbours are joined by chip-to-chip links"),
    req("chip_link_cycles", "cycles", "latency of one chip-to-chip link traversal"),
    req("chip_link_bits_per_cycle", "bits/cycle", "width of a chip-to-chip link"),
    opt("chip_routing_entries", "entries", "entries of a chip-level routing table (SpiNNaker), if any"),
];

const NOC: &[Field] = &[
    req("mesh", "[x, y]", "routers (tiles) per chip"),
    req("cores_per_tile", "count", "cores attached to each router"),
    req("routing", "Xy", "routing algorithm: Xy (dimension-ordered, X first)"),
    req("router_cycles", "cycles", "latency of passing one router"),
    req("link_cycles_ew", "cycles", "latency of one east-west link"),
    req("link_cycles_ns", "cycles", "latency of one north-south link"),
    req("link_bits_per_cycle", "bits/cycle", "link width"),
    req("packet_bits", "bits", "size of one spike packet"),
    req("buffer_depth_packets", "packets", "input buffer depth per router port"),
    req("cast", "Unicast | Multicast", "one packet per destination core, or one per spike copied along a tree"),
];

const ENCODING: &[Field] = &[
    req(
        "format",
        "Sparse(index_bits: Fixed(b) | Fit(min: a, max: b)) | Dense",
        "sparse rows store each synapse's target index (fixed or ⌈log2 targets⌉ within [min, max] bits); \
         dense rows one weight slot per target",
    ),
    req("weight_bits", "bits", "bits of one stored weight"),
    req("extra_bits_per_synapse", "bits", "further bits per synapse (delay, tag, type)"),
    opt("group_max_synapses", "synapses", "rows split into groups of at most this many synapses (Loihi: 64)"),
    req("group_header_bits", "bits", "header bits per group"),
    req("padding", "None | Words | PowerOfTwo", "packed, groups rounded up to words, or slots to a power of two"),
];

const CORE: &[Field] = &[
    req("name", "text", "name referenced by `layout`"),
    req("max_neurons", "count", "neurons (compartments) the core holds"),
    req("neuron_state_bits", "bits", "state memory per neuron"),
    req("neuron_layout", "Exact | PowerOfTwo", "one entry per neuron, or feature maps padded to powers of two (Speck)"),
    req("synapse_memory_bits", "bits", "total synapse (weight) memory"),
    req("synapse_word_bits", "bits", "width of one synapse-memory word"),
    Field {
        name: "encoding",
        kind: Kind::Struct(ENCODING),
        unit: "",
        default: None,
        doc: "how synapse rows are stored",
    },
    req("in_axons", "count", "distinct presynaptic sources the core can receive from"),
    req("out_axons", "count", "distinct (destination core, axon) targets the core can send to"),
    opt("max_destination_cores", "cores", "most destination cores of one core (Speck: 2), if limited"),
    opt("max_fanout_per_neuron", "axons", "most destination axons per neuron (TrueNorth: 1), if limited"),
    opt("routing_entries", "entries", "entries of the core's routing table, if it has one"),
    req("axon_types", "count", "axon types whose per-neuron weight replaces stored weights (TrueNorth: 4); 0 = none"),
    req("weight_sharing", "bool", "a convolution kernel is stored once instead of unrolled per input"),
    Field {
        name: "partial_sums",
        kind: Kind::Value,
        unit: "bool",
        default: Some("false"),
        doc: "a neuron's input may be split over cores that chain partial sums (fan-in above one core)",
    },
];

const TIMING: &[Field] = &[
    req("clock_mhz", "MHz", "clock the cycle counts refer to (a nominal one for clockless chips)"),
    req("synop_cycles", "cycles", "to deliver one synaptic event"),
    req("neuron_update_cycles", "cycles", "to update one neuron once per time step"),
    req("spike_out_cycles", "cycles", "to emit one spike packet from a core"),
    req("barrier_cycles", "cycles", "end-of-step barrier synchronisation"),
    Field {
        name: "barrier_cycles_by_tiles",
        kind: Kind::Value,
        unit: "[(tiles, cycles), …]",
        default: Some("[]"),
        doc: "barrier by tiles used: the entry with the largest tiles ≤ the map's; empty = barrier_cycles",
    },
    Field {
        name: "mode",
        kind: Kind::Value,
        unit: "SameStep | Pipelined",
        default: Some("SameStep"),
        doc: "a spike reaches the next layer in the step it was emitted, or in the next step (Loihi)",
    },
    Field {
        name: "synop_cycles_by_kind",
        kind: Kind::Value,
        unit: "(dense: c, sparse: c, conv: c)",
        default: Some("None"),
        doc: "cycles per synaptic event by connection kind, in place of synop_cycles",
    },
    dflt("neuron_active_cycles", "cycles", "0", "further cycles to update an active neuron (input, state or bias)"),
    dflt("spike_cycles", "cycles", "0", "cycles for a neuron to fire, per spike"),
    dflt("message_in_cycles", "cycles", "0", "cycles for a core to receive one packet"),
    dflt("split_receive", "bool", "false", "a core receives on a path of its own, overlapping its updates and sends"),
];

const ENERGY: &[Field] = &[
    opt("synop_pj", "pJ", "one synaptic event delivered"),
    Field {
        name: "synop_pj_by_kind",
        kind: Kind::Value,
        unit: "(dense: pJ, sparse: pJ, conv: pJ)",
        default: Some("None"),
        doc: "one synaptic event by connection kind, in place of synop_pj",
    },
    opt("neuron_update_pj", "pJ", "one neuron updated for one time step (every neuron)"),
    dflt("neuron_active_pj", "pJ", "0", "further energy of an active neuron's update"),
    dflt("spike_pj", "pJ", "0", "one spike fired by a neuron"),
    opt("spike_out_pj", "pJ", "one spike packet emitted by a core"),
    dflt("message_in_pj", "pJ", "0", "one packet received by a core"),
    opt("hop_ew_pj", "pJ", "one east-west mesh hop"),
    opt("hop_ns_pj", "pJ", "one north-south mesh hop"),
    opt("chip_hop_pj", "pJ", "one chip-to-chip hop"),
    opt("static_power_mw", "mW", "static (leakage) power of one chip"),
];

const NUMERICS: &[Field] = &[
    req("weight_bits", "bits", "width of an effective synaptic weight"),
    req("weight_signed", "bool", "two's-complement signed weights"),
    req("state_bits", "bits", "width of the signed membrane potential and current registers"),
    req(
        "decay",
        "Multiplier(shift_bits: s) | BitShift(max_dash: d) | Linear(leak_bits: b)",
        "v·m >> s; v − (v >> dash); or no decay and a signed additive leak",
    ),
    req("threshold_bits", "bits", "width of the unsigned threshold mantissa"),
    req("threshold_shift", "bits", "threshold in state units = mantissa << shift"),
    req("rounding", "NearestEven | TowardZero | Floor", "rounding of quantization and multiplier decays"),
    req("overflow", "Saturate | Wrap", "what the state does when it leaves its range"),
];

/// The fields of a target file, top level.
pub const TARGET: &[Field] = &[
    req("name", "text", "short name shown in reports"),
    Field { name: "description", kind: Kind::Value, unit: "text", default: Some("\"\""), doc: "one-line description" },
    Field {
        name: "sources",
        kind: Kind::Value,
        unit: "[text]",
        default: Some("[]"),
        doc: "where the figures come from",
    },
    Field { name: "grid", kind: Kind::Struct(GRID), unit: "", default: None, doc: "the grid of chips" },
    Field { name: "noc", kind: Kind::Struct(NOC), unit: "", default: None, doc: "the network on one chip" },
    Field { name: "core_types", kind: Kind::List(CORE), unit: "", default: None, doc: "the kinds of core" },
    req(
        "layout",
        "Uniform(\"core\") | PerTile([Some(\"core\"), None, …]) | PerCore([…])",
        "which core type sits on each tile (row-major, y outer) or each core slot; None = empty",
    ),
    Field { name: "timing", kind: Kind::Struct(TIMING), unit: "", default: None, doc: "cycle costs of events" },
    Field {
        name: "energy",
        kind: Kind::Struct(ENERGY),
        unit: "",
        default: Some("every figure None"),
        doc: "energy per event; None = no published figure (reported as unknown, never as 0)",
    },
    Field {
        name: "numerics",
        kind: Kind::Struct(NUMERICS),
        unit: "",
        default: None,
        doc: "fixed-point formats shared by every core",
    },
];

/// The field at `path` (names of nested fields; list elements are not named).
pub fn field(path: &[&str]) -> Option<&'static Field> {
    let mut fields = TARGET;
    let mut found = None;
    for name in path {
        let f = fields.iter().find(|f| f.name == *name)?;
        if let Kind::Struct(inner) | Kind::List(inner) = f.kind {
            fields = inner;
        } else {
            fields = &[];
        }
        found = Some(f);
    }
    found
}

/// Every field with its dotted path (`core_types[].encoding.weight_bits`), depth first.
pub fn all_fields() -> Vec<(String, &'static Field)> {
    fn walk(prefix: &str, fields: &'static [Field], out: &mut Vec<(String, &'static Field)>) {
        for f in fields {
            let path = format!("{prefix}{}", f.name);
            out.push((path.clone(), f));
            match f.kind {
                Kind::Struct(inner) => walk(&format!("{path}."), inner, out),
                Kind::List(inner) => walk(&format!("{path}[]."), inner, out),
                Kind::Value => {}
            }
        }
    }
    let mut out = Vec::new();
    walk("", TARGET, &mut out);
    out
}

/// The required fields missing from a parsed (but not typed) target, as field paths
/// (`noc.mesh`, `core_types[0].encoding`), in file order of the schema. A missing struct is
/// one entry; its own fields are not listed again.
pub fn missing_fields(value: &ron::Value) -> Vec<String> {
    let mut out = Vec::new();
    missing_in(value, TARGET, "", &mut out);
    out
}

fn missing_in(value: &ron::Value, fields: &[Field], prefix: &str, out: &mut Vec<String>) {
    let ron::Value::Map(map) = value else {
        return; // not a struct: the typed parse reports that
    };
    let get = |name: &str| map.get(&ron::Value::String(name.to_string()));
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        match (get(f.name), f.kind) {
            (None, _) if f.default.is_none() => out.push(path),
            (None, _) | (Some(_), Kind::Value) => {}
            (Some(v), Kind::Struct(inner)) => missing_in(v, inner, &format!("{path}."), out),
            (Some(ron::Value::Seq(items)), Kind::List(inner)) => {
                for (i, item) in items.iter().enumerate() {
                    missing_in(item, inner, &format!("{path}[{i}]."), out);
                }
            }
            (Some(_), Kind::List(_)) => {}
        }
    }
}

/// The format as a Markdown table (the README's "Target files" section shows exactly this).
pub fn markdown_table() -> String {
    let mut out = String::from("| field | unit / values | default | meaning |\n|---|---|---|---|\n");
    for (path, f) in all_fields() {
        let unit = match f.kind {
            Kind::Struct(_) => "section",
            Kind::List(_) => "list of sections",
            Kind::Value => f.unit,
        };
        let default = f.default.map_or("required".to_string(), |d| format!("`{d}`"));
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!("| `{path}` | {} | {default} | {} |\n", cell(unit), cell(f.doc)));
    }
    out
}

/// What a missing field at `path` (`core_types[0].encoding`) is, for the loader's message.
pub fn describe_missing(path: &str) -> String {
    let names: Vec<&str> = path.split('.').map(|seg| seg.split('[').next().unwrap_or(seg)).collect();
    let Some(f) = field(&names) else {
        return "required field missing".to_string();
    };
    match f.kind {
        Kind::Struct(inner) | Kind::List(inner) => {
            let required: Vec<&str> = inner.iter().filter(|g| g.default.is_none()).map(|g| g.name).collect();
            format!("required section missing: {} (with {})", f.doc, required.join(", "))
        }
        Kind::Value => format!("required field missing: {} ({})", f.doc, f.unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{to_ron, PRESETS};

    /// The field names a serialized value holds, as paths like [`all_fields`] gives.
    fn serialized_paths(value: &ron::Value, prefix: &str, out: &mut Vec<String>) {
        if let ron::Value::Map(map) = value {
            for (k, v) in map.iter() {
                let ron::Value::String(k) = k else { continue };
                let path = format!("{prefix}{k}");
                out.push(path.clone());
                let names = path.replace("[]", "");
                let is_struct = |p: &str| field(&p.split('.').collect::<Vec<_>>()).map(|f| f.kind);
                match v {
                    ron::Value::Map(_) if matches!(is_struct(&names), Some(Kind::Struct(_))) => {
                        serialized_paths(v, &format!("{path}."), out)
                    }
                    ron::Value::Seq(items) if k == "core_types" => {
                        for item in items {
                            serialized_paths(item, &format!("{path}[]."), out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn the_table_names_exactly_the_serialized_fields() {
        let mut want: Vec<String> = all_fields().into_iter().map(|(p, _)| p).collect();
        want.sort();
        for name in PRESETS {
            let spec = crate::load::preset_spec(name).unwrap().unwrap();
            let value: ron::Value = ron::from_str(&to_ron(&spec)).unwrap();
            let mut got = Vec::new();
            serialized_paths(&value, "", &mut got);
            got.sort();
            got.dedup();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn every_missing_required_field_is_listed() {
        let value: ron::Value =
            ron::from_str("(name: \"x\", grid: (chips: [1, 1]), core_types: [(name: \"c\")])").unwrap();
        let missing = missing_fields(&value);
        assert!(missing.contains(&"grid.chip_link_cycles".to_string()), "{missing:?}");
        assert!(missing.contains(&"core_types[0].max_neurons".to_string()));
        assert!(missing.contains(&"core_types[0].encoding".to_string()));
        assert!(missing.contains(&"noc".to_string()) && missing.contains(&"numerics".to_string()));
        assert!(!missing.iter().any(|m| m.starts_with("energy") || m.contains("chip_routing_entries")));
        assert!(!missing.iter().any(|m| m.starts_with("noc.")), "a missing struct is one entry");
    }
}
