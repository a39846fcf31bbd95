//! Setting a target's fields by path: the knobs of a design-space sweep.
//!
//! A key is the field's path in a target file: `noc.link_bits_per_cycle`,
//! `timing.synop_cycles`, `energy.synop_pj`, `grid.chips`. Core-type fields are written
//! `core.FIELD` (every core type) or `core_types[NAME].FIELD` / `core_types[INDEX].FIELD`
//! (one core type), e.g. `core.max_neurons`, `core.encoding.weight_bits`. [`keys`] lists
//! them all.
//!
//! Aliases (documented conveniences, each a plain field underneath):
//! * `core.synapse_memory_kib` — `core.synapse_memory_bits` in KiB (× 8192 bits);
//! * `noc.link_bandwidth` — `noc.link_bits_per_cycle` (bits per cycle);
//! * `weight_bits` — `numerics.weight_bits` and every core type's `encoding.weight_bits`.
//!
//! Values are written as in a target file: integers (`_` separators allowed; a decimal is
//! accepted where a scaled alias makes it whole, e.g. `0.5` KiB), reals, `None` for an
//! optional field, `true`/`false`, `Unicast`/`Multicast`, and pairs as `4x4`.
//!
//! **Invariant:** [`apply`] only rejects what cannot be *written* into the field (unknown
//! key, wrong type, out of the field's integer range); whether the result is a valid target
//! is decided by [`crate::Target::from_spec`] as for any file, so a sweep can report an
//! invalid configuration as a result instead of failing.

use crate::chip::{Cast, CoreSpec, TargetSpec};

/// Why a key or a value cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// No such field.
    #[error("unknown target field `{key}`{hint}; valid keys: {}", keys().join(", "))]
    UnknownKey { key: String, hint: String },
    /// `core_types[NAME]` names no core type of this target.
    #[error("`{key}`: the target has no core type {selector} (core types: {known})")]
    UnknownCoreType { key: String, selector: String, known: String },
    /// The value cannot be written into the field.
    #[error("`{key}` = `{value}`: {message}")]
    BadValue { key: String, value: String, message: String },
    /// An assignment without `=`.
    #[error("`{text}` is not FIELD=VALUE (e.g. `core.synapse_memory_kib=256`, `grid.chips=4x4`)")]
    NotAssignment { text: String },
}

/// A mutable reference to one field, by type.
enum Slot<'a> {
    U32(&'a mut u32),
    U64(&'a mut u64),
    F64(&'a mut f64),
    OptU32(&'a mut Option<u32>),
    OptF64(&'a mut Option<f64>),
    Bool(&'a mut bool),
    Pair(&'a mut [u32; 2]),
    Cast(&'a mut Cast),
}

type SpecField = for<'a> fn(&'a mut TargetSpec) -> Slot<'a>;
type CoreField = for<'a> fn(&'a mut CoreSpec) -> Slot<'a>;

/// Fields outside core types, by path.
const SPEC_FIELDS: &[(&str, SpecField)] = &[
    ("grid.chips", |s| Slot::Pair(&mut s.grid.chips)),
    ("grid.chip_link_cycles", |s| Slot::U32(&mut s.grid.chip_link_cycles)),
    ("grid.chip_link_bits_per_cycle", |s| Slot::U32(&mut s.grid.chip_link_bits_per_cycle)),
    ("grid.chip_routing_entries", |s| Slot::OptU32(&mut s.grid.chip_routing_entries)),
    ("noc.mesh", |s| Slot::Pair(&mut s.noc.mesh)),
    ("noc.cores_per_tile", |s| Slot::U32(&mut s.noc.cores_per_tile)),
    ("noc.router_cycles", |s| Slot::U32(&mut s.noc.router_cycles)),
    ("noc.link_cycles_ew", |s| Slot::U32(&mut s.noc.link_cycles_ew)),
    ("noc.link_cycles_ns", |s| Slot::U32(&mut s.noc.link_cycles_ns)),
    ("noc.link_bits_per_cycle", |s| Slot::U32(&mut s.noc.link_bits_per_cycle)),
    ("noc.packet_bits", |s| Slot::U32(&mut s.noc.packet_bits)),
    ("noc.buffer_depth_packets", |s| Slot::U32(&mut s.noc.buffer_depth_packets)),
    ("noc.cast", |s| Slot::Cast(&mut s.noc.cast)),
    ("timing.clock_mhz", |s| Slot::F64(&mut s.timing.clock_mhz)),
    ("timing.synop_cycles", |s| Slot::U32(&mut s.timing.synop_cycles)),
    ("timing.neuron_update_cycles", |s| Slot::U32(&mut s.timing.neuron_update_cycles)),
    ("timing.spike_out_cycles", |s| Slot::U32(&mut s.timing.spike_out_cycles)),
    ("timing.barrier_cycles", |s| Slot::U32(&mut s.timing.barrier_cycles)),
    ("energy.synop_pj", |s| Slot::OptF64(&mut s.energy.synop_pj)),
    ("energy.neuron_update_pj", |s| Slot::OptF64(&mut s.energy.neuron_update_pj)),
    ("energy.spike_out_pj", |s| Slot::OptF64(&mut s.energy.spike_out_pj)),
    ("energy.hop_ew_pj", |s| Slot::OptF64(&mut s.energy.hop_ew_pj)),
    ("energy.hop_ns_pj", |s| Slot::OptF64(&mut s.energy.hop_ns_pj)),
    ("energy.chip_hop_pj", |s| Slot::OptF64(&mut s.energy.chip_hop_pj)),
    ("energy.static_power_mw", |s| Slot::OptF64(&mut s.energy.static_power_mw)),
    ("numerics.weight_bits", |s| Slot::U32(&mut s.numerics.weight_bits)),
    ("numerics.weight_signed", |s| Slot::Bool(&mut s.numerics.weight_signed)),
    ("numerics.state_bits", |s| Slot::U32(&mut s.numerics.state_bits)),
    ("numerics.threshold_bits", |s| Slot::U32(&mut s.numerics.threshold_bits)),
    ("numerics.threshold_shift", |s| Slot::U32(&mut s.numerics.threshold_shift)),
];

/// Fields of a core type, by path below the core type.
const CORE_FIELDS: &[(&str, CoreField)] = &[
    ("max_neurons", |k| Slot::U32(&mut k.max_neurons)),
    ("neuron_state_bits", |k| Slot::U32(&mut k.neuron_state_bits)),
    ("synapse_memory_bits", |k| Slot::U64(&mut k.synapse_memory_bits)),
    ("synapse_word_bits", |k| Slot::U32(&mut k.synapse_word_bits)),
    ("in_axons", |k| Slot::U32(&mut k.in_axons)),
    ("out_axons", |k| Slot::U32(&mut k.out_axons)),
    ("max_destination_cores", |k| Slot::OptU32(&mut k.max_destination_cores)),
    ("max_fanout_per_neuron", |k| Slot::OptU32(&mut k.max_fanout_per_neuron)),
    ("routing_entries", |k| Slot::OptU32(&mut k.routing_entries)),
    ("axon_types", |k| Slot::U32(&mut k.axon_types)),
    ("weight_sharing", |k| Slot::Bool(&mut k.weight_sharing)),
    ("partial_sums", |k| Slot::Bool(&mut k.partial_sums)),
    ("encoding.weight_bits", |k| Slot::U32(&mut k.encoding.weight_bits)),
    ("encoding.extra_bits_per_synapse", |k| Slot::U32(&mut k.encoding.extra_bits_per_synapse)),
    ("encoding.group_max_synapses", |k| Slot::OptU32(&mut k.encoding.group_max_synapses)),
    ("encoding.group_header_bits", |k| Slot::U32(&mut k.encoding.group_header_bits)),
];

/// Spec-level aliases: `(alias, field, multiplier)`.
const SPEC_ALIASES: &[(&str, &str, u64)] = &[("noc.link_bandwidth", "noc.link_bits_per_cycle", 1)];
/// Core-level aliases: `(alias, field, multiplier)`.
const CORE_ALIASES: &[(&str, &str, u64)] = &[("synapse_memory_kib", "synapse_memory_bits", 8192)];
/// The alias that sets the weight width everywhere it is stored.
const WEIGHT_BITS: &str = "weight_bits";

/// Which core types a core field applies to.
#[derive(Clone, Debug, PartialEq)]
enum CoreSel {
    All,
    Named(String),
    Index(usize),
}

/// Where a key writes.
enum Place {
    Spec(SpecField),
    Core(CoreSel, CoreField),
}

/// Every key [`apply`] accepts for every core type (`core.…`), fields first, then aliases.
/// `core_types[NAME].FIELD` is accepted for each `core.FIELD`.
pub fn keys() -> Vec<String> {
    let mut k: Vec<String> = SPEC_FIELDS.iter().map(|(n, _)| n.to_string()).collect();
    k.extend(CORE_FIELDS.iter().map(|(n, _)| format!("core.{n}")));
    k.extend(SPEC_ALIASES.iter().map(|(n, _, _)| n.to_string()));
    k.extend(CORE_ALIASES.iter().map(|(n, _, _)| format!("core.{n}")));
    k.push(WEIGHT_BITS.to_string());
    k
}

fn unknown(key: &str) -> OverrideError {
    // Suggest the keys whose last component is what was written last.
    let last = key.rsplit('.').next().unwrap_or(key);
    let close: Vec<String> = keys().into_iter().filter(|k| k != key && k.rsplit('.').next() == Some(last)).collect();
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" or "))
    };
    OverrideError::UnknownKey { key: key.to_string(), hint }
}

/// The places `key` writes and the multiplier applied to integer values.
fn resolve(key: &str) -> Result<(Vec<Place>, u64), OverrideError> {
    let key = key.trim();
    if key == WEIGHT_BITS {
        let enc = CORE_FIELDS.iter().find(|(n, _)| *n == "encoding.weight_bits").map(|(_, f)| *f);
        let num = SPEC_FIELDS.iter().find(|(n, _)| *n == "numerics.weight_bits").map(|(_, f)| *f);
        return match (num, enc) {
            (Some(num), Some(enc)) => Ok((vec![Place::Spec(num), Place::Core(CoreSel::All, enc)], 1)),
            _ => Err(unknown(key)),
        };
    }
    let spec_field = |name: &str| SPEC_FIELDS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
    if let Some(f) = spec_field(key) {
        return Ok((vec![Place::Spec(f)], 1));
    }
    if let Some((_, field, mult)) = SPEC_ALIASES.iter().find(|(a, _, _)| *a == key) {
        return spec_field(field).map(|f| (vec![Place::Spec(f)], *mult)).ok_or_else(|| unknown(key));
    }
    let (sel, rest) = if let Some(rest) = key.strip_prefix("core.") {
        (CoreSel::All, rest)
    } else if let Some(after) = key.strip_prefix("core_types[") {
        let (inside, rest) = after.split_once("].").ok_or_else(|| unknown(key))?;
        let inside = inside.trim();
        let sel = match inside.parse::<usize>() {
            Ok(i) => CoreSel::Index(i),
            Err(_) => CoreSel::Named(inside.trim_matches('"').to_string()),
        };
        (sel, rest)
    } else {
        return Err(unknown(key));
    };
    let core_field = |name: &str| CORE_FIELDS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f);
    if let Some(f) = core_field(rest) {
        return Ok((vec![Place::Core(sel, f)], 1));
    }
    if let Some((_, field, mult)) = CORE_ALIASES.iter().find(|(a, _, _)| *a == rest) {
        return core_field(field).map(|f| (vec![Place::Core(sel.clone(), f)], *mult)).ok_or_else(|| unknown(key));
    }
    Err(unknown(key))
}

/// Checks that `key` names a field (or alias) without applying anything.
pub fn check_key(key: &str) -> Result<(), OverrideError> {
    resolve(key).map(|_| ())
}

/// Applies `FIELD=VALUE` (the command line's `--set`), split at the first `=`.
pub fn apply_assignment(spec: &mut TargetSpec, assignment: &str) -> Result<(), OverrideError> {
    match assignment.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => apply(spec, key, value),
        _ => Err(OverrideError::NotAssignment { text: assignment.to_string() }),
    }
}

/// Sets the field(s) `key` names in `spec` to `value`. The spec is not validated here; an
/// error leaves `spec` unchanged.
pub fn apply(spec: &mut TargetSpec, key: &str, value: &str) -> Result<(), OverrideError> {
    let (places, mult) = resolve(key)?;
    let bad = |message: String| OverrideError::BadValue {
        key: key.trim().to_string(),
        value: value.trim().to_string(),
        message,
    };
    let mut next = spec.clone();
    for place in places {
        match place {
            Place::Spec(f) => write(f(&mut next), value, mult).map_err(bad)?,
            Place::Core(sel, f) => {
                let idx: Vec<usize> = match &sel {
                    CoreSel::All => (0..next.core_types.len()).collect(),
                    CoreSel::Index(i) if *i < next.core_types.len() => vec![*i],
                    CoreSel::Named(n) if next.core_types.iter().any(|k| &k.name == n) => {
                        next.core_types.iter().enumerate().filter(|(_, k)| &k.name == n).map(|(i, _)| i).collect()
                    }
                    _ => {
                        return Err(OverrideError::UnknownCoreType {
                            key: key.trim().to_string(),
                            selector: match sel {
                                CoreSel::Index(i) => format!("at index {i}"),
                                CoreSel::Named(n) => format!("named {n:?}"),
                                CoreSel::All => String::new(),
                            },
                            known: next
                                .core_types
                                .iter()
                                .map(|k| format!("{:?}", k.name))
                                .collect::<Vec<_>>()
                                .join(", "),
                        })
                    }
                };
                for i in idx {
                    write(f(&mut next.core_types[i]), value, mult).map_err(bad)?;
                }
            }
        }
    }
    *spec = next;
    Ok(())
}

/// Writes `text` into `slot`, integers multiplied by `mult`.
fn write(slot: Slot<'_>, text: &str, mult: u64) -> Result<(), String> {
    let t = text.trim();
    let is_none = t == "None";
    match slot {
        Slot::U32(r) => *r = count32(t, mult)?,
        Slot::U64(r) => *r = count(t, mult)?,
        Slot::F64(r) => *r = real(t)?,
        Slot::OptU32(r) => *r = if is_none { None } else { Some(count32(t, mult)?) },
        Slot::OptF64(r) => *r = if is_none { None } else { Some(real(t)?) },
        Slot::Bool(r) => {
            *r = match t {
                "true" => true,
                "false" => false,
                _ => return Err("expected true or false".to_string()),
            }
        }
        Slot::Pair(r) => {
            let (x, y) =
                t.split_once(['x', 'X', '×']).ok_or_else(|| "expected a pair written XxY, e.g. 4x4".to_string())?;
            *r = [count32(x.trim(), 1)?, count32(y.trim(), 1)?];
        }
        Slot::Cast(r) => {
            *r = match t.to_ascii_lowercase().as_str() {
                "unicast" => Cast::Unicast,
                "multicast" => Cast::Multicast,
                _ => return Err("expected Unicast or Multicast".to_string()),
            }
        }
    }
    Ok(())
}

/// A non-negative whole number times `mult`. Decimals are accepted when the product is
/// whole (`0.5` KiB = 4096 bits).
fn count(t: &str, mult: u64) -> Result<u64, String> {
    let clean: String = t.chars().filter(|&c| c != '_').collect();
    if let Ok(v) = clean.parse::<u64>() {
        return v.checked_mul(mult).ok_or_else(|| "is too large".to_string());
    }
    let x: f64 = clean.parse().map_err(|_| "expected a whole number".to_string())?;
    if !x.is_finite() {
        return Err("expected a whole number".to_string());
    }
    if x < 0.0 {
        return Err("must be ≥ 0".to_string());
    }
    let scaled = x * mult as f64;
    if scaled.fract() != 0.0 {
        return Err(if mult == 1 {
            "expected a whole number".to_string()
        } else {
            format!("× {mult} = {scaled} is not a whole number")
        });
    }
    if scaled > (1u64 << 53) as f64 {
        return Err("is too large".to_string());
    }
    Ok(scaled as u64)
}

fn count32(t: &str, mult: u64) -> Result<u32, String> {
    let v = count(t, mult)?;
    u32::try_from(v).map_err(|_| format!("{v} exceeds the field's maximum of {}", u32::MAX))
}

fn real(t: &str) -> Result<f64, String> {
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err("expected a finite number".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{parse_spec, preset_text};
    use crate::Target;

    fn spec(name: &str) -> TargetSpec {
        parse_spec(preset_text(name).expect("preset"), name).expect("preset parses")
    }

    #[test]
    fn fields_are_set_by_path_and_aliases_convert() {
        let mut s = spec("loihi");
        apply(&mut s, "core.max_neurons", "256").unwrap();
        apply(&mut s, "core.synapse_memory_kib", "64").unwrap();
        apply(&mut s, "noc.link_bandwidth", "16").unwrap();
        apply(&mut s, "noc.mesh", "4x2").unwrap();
        apply(&mut s, "noc.cast", "Multicast").unwrap();
        apply(&mut s, "energy.static_power_mw", "12.5").unwrap();
        apply(&mut s, "core.routing_entries", "None").unwrap();
        apply(&mut s, "timing.clock_mhz", "500").unwrap();
        let k = &s.core_types[0];
        assert_eq!(k.max_neurons, 256);
        assert_eq!(k.synapse_memory_bits, 64 * 8192);
        assert_eq!(k.routing_entries, None);
        assert_eq!(s.noc.link_bits_per_cycle, 16);
        assert_eq!(s.noc.mesh, [4, 2]);
        assert_eq!(s.noc.cast, Cast::Multicast);
        assert_eq!(s.energy.static_power_mw, Some(12.5));
        assert_eq!(s.timing.clock_mhz, 500.0);
        apply(&mut s, "core.synapse_memory_kib", "0.5").unwrap();
        assert_eq!(s.core_types[0].synapse_memory_bits, 4096);
        apply(&mut s, "weight_bits", "4").unwrap();
        assert_eq!((s.numerics.weight_bits, s.core_types[0].encoding.weight_bits), (4, 4));
        Target::from_spec(s, "loihi").expect("still a valid target");
    }

    #[test]
    fn one_core_type_by_name_or_index() {
        let mut s = spec("speck");
        let before = s.core_types.clone();
        let name = before[1].name.clone();
        apply(&mut s, &format!("core_types[{name:?}].in_axons"), "7").unwrap();
        apply(&mut s, "core_types[0].out_axons", "9").unwrap();
        assert_eq!(s.core_types[1].in_axons, 7);
        assert_eq!(s.core_types[0].out_axons, 9);
        for (i, (a, b)) in before.iter().zip(&s.core_types).enumerate() {
            assert_eq!(a.in_axons == b.in_axons, i != 1, "core type {i}");
            assert_eq!(a.out_axons == b.out_axons, i != 0, "core type {i}");
        }
        let e = apply(&mut s, "core_types[nope].in_axons", "7").unwrap_err();
        assert!(matches!(e, OverrideError::UnknownCoreType { .. }), "{e}");
        assert!(e.to_string().contains(&format!("{name:?}")), "{e}");
    }

    #[test]
    fn unknown_keys_list_the_valid_ones_and_suggest() {
        let e = apply(&mut spec("test_2x2"), "max_neurons", "8").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("unknown target field `max_neurons`"), "{msg}");
        assert!(msg.contains("did you mean `core.max_neurons`?"), "{msg}");
        assert!(msg.contains("noc.link_bits_per_cycle") && msg.contains("core.synapse_memory_kib"), "{msg}");
        assert!(check_key("core.nonsense").is_err());
        assert!(check_key("core_types[tiny].max_neurons").is_ok());
        assert!(check_key("core_types[tiny]max_neurons").is_err());
    }

    #[test]
    fn bad_values_name_key_value_and_expectation_and_change_nothing() {
        let mut s = spec("test_2x2");
        let orig = s.clone();
        for (key, value, want) in [
            ("core.max_neurons", "-4", "≥ 0"),
            ("core.max_neurons", "1.5", "whole number"),
            ("core.max_neurons", "5000000000", "exceeds"),
            ("core.synapse_memory_kib", "0.00001", "not a whole number"),
            ("noc.mesh", "4", "XxY"),
            ("noc.cast", "broadcast", "Unicast or Multicast"),
            ("core.weight_sharing", "yes", "true or false"),
            ("energy.synop_pj", "inf", "finite"),
            ("weight_bits", "x", "whole number"),
        ] {
            let e = apply(&mut s, key, value).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with(&format!("`{key}` = `{value}`")) && msg.contains(want), "{msg}");
            assert_eq!(s, orig, "{key}");
        }
    }

    #[test]
    fn invalid_results_are_left_to_validation() {
        let mut s = spec("test_2x2");
        apply(&mut s, "core.max_neurons", "0").unwrap();
        let e = Target::from_spec(s, "test_2x2").unwrap_err();
        assert!(e.to_string().contains("core_types[\"tiny\"].max_neurons = 0: must be > 0"), "{e}");
    }

    #[test]
    fn every_listed_key_writes_its_field() {
        for preset in ["loihi", "speck", "test_4x4"] {
            for key in keys() {
                let (a, b) = match key.as_str() {
                    "grid.chips" | "noc.mesh" => ("2x2", "3x2"),
                    "noc.cast" => ("Unicast", "Multicast"),
                    "numerics.weight_signed" | "core.weight_sharing" | "core.partial_sums" => ("true", "false"),
                    _ => ("3", "4"),
                };
                let (mut sa, mut sb) = (spec(preset), spec(preset));
                apply(&mut sa, &key, a).unwrap_or_else(|e| panic!("{preset} {key}: {e}"));
                apply(&mut sb, &key, b).unwrap_or_else(|e| panic!("{preset} {key}: {e}"));
                assert_ne!(sa, sb, "{preset}: {key} writes nothing");
            }
        }
    }
}
