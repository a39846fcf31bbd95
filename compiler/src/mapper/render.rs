//! The human summary of a core map: populations and their pieces, projections, and per
//! core its population ranges, neurons, axons, synapses and usage against capacity.
//!
//! Needs: a core map (ideally one that passed `validate`; an invalid embedded target only
//! drops core positions and capacities). Establishes: deterministic text (no timings), so
//! it serves as a snapshot of a mapping.

use std::fmt::Write;

use spikeforge_targets::coremap::{CoreMap, NeuronModel};
use spikeforge_targets::Target;

use super::report::{kind_name, usage_rows};

/// Pieces listed per population before the list is cut short.
const MAX_LISTED: usize = 12;

fn pct(used: u64, cap: u64) -> String {
    if cap == 0 {
        return "-".into();
    }
    format!("{:.1}%", 100.0 * used as f64 / cap as f64)
}

/// Renders `map` as text, one line per population, projection and core (cores take two).
pub fn render_summary(map: &CoreMap) -> String {
    let target = Target::from_spec(map.target.clone(), "embedded target").ok();
    let mut s = String::new();
    let n_cores = target.as_ref().map_or_else(|| "?".to_string(), |t| t.num_cores().to_string());
    let model = if map.model.is_empty() { "(unnamed)".to_string() } else { format!("`{}`", map.model) };
    let _ = writeln!(
        s,
        "core map v{}: model {model} on target `{}` ({n_cores} cores): {} core{} used",
        map.version,
        map.target.name,
        map.cores.len(),
        if map.cores.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        s,
        "dynamics: dt = {:e} s, reset {:?}, spike test {:?}",
        map.dynamics.dt_s, map.dynamics.reset, map.dynamics.spike_test
    );
    let _ = writeln!(s, "populations ({}), input #{} output #{}:", map.populations.len(), map.input, map.output);
    for (i, p) in map.populations.iter().enumerate() {
        let _ = write!(s, "  #{i} `{}` {:?} {:?}: {} neurons", p.name, p.model, p.shape, p.n_neurons);
        if p.model == NeuronModel::Input {
            let _ = writeln!(s, ", off chip");
            continue;
        }
        let listed: Vec<String> = p
            .pieces
            .iter()
            .take(MAX_LISTED)
            .map(|x| format!("{}[{}..{})", x.core, x.first, x.first + x.count))
            .collect();
        let more = if p.pieces.len() > MAX_LISTED {
            format!(" … (+{})", p.pieces.len() - MAX_LISTED)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            " in {} piece{}: {}{more}",
            p.pieces.len(),
            if p.pieces.len() == 1 { "" } else { "s" },
            listed.join(" ")
        );
    }
    let synapses = map.synapses_per_projection();
    let mut axons = vec![0u64; map.projections.len()];
    for c in &map.cores {
        for r in &c.axons.runs {
            axons[r.projection as usize] += r.count as u64;
        }
    }
    let _ = writeln!(s, "projections ({}):", map.projections.len());
    for (q, p) in map.projections.iter().enumerate() {
        let mut tags = vec![kind_name(p.kind).to_string()];
        if let Some(pool) = &p.pool {
            tags.push(format!("source pool of {} ops", pool.event.len()));
        }
        if p.recurrent {
            tags.push("recurrent".into());
        }
        let _ = writeln!(
            s,
            "  `{}` ({}): `{}` → `{}`, {} events, {} synapses on {} axons",
            p.name,
            tags.join(", "),
            map.populations[p.source as usize].name,
            map.populations[p.target as usize].name,
            p.n_events,
            synapses[q],
            axons[q]
        );
    }
    let _ = writeln!(s, "cores ({}):", map.cores.len());
    for (ci, c) in map.cores.iter().enumerate() {
        let groups: Vec<String> = c
            .groups
            .iter()
            .map(|&(p, f, n)| format!("`{}`[{}..{})", map.populations[p as usize].name, f, f + n))
            .collect();
        let (pos, ty) = match &target {
            Some(t) if c.core.0 < t.num_cores() => (format!(" {}", t.coord(c.core)), Some(t.core(c.core))),
            _ => (String::new(), None),
        };
        let _ = writeln!(
            s,
            "  {}{pos}{}: {}; {} neurons, {} axons, {} synapses",
            c.core,
            ty.map_or_else(String::new, |t| format!(" `{}`", t.name)),
            groups.join(" "),
            c.n_neurons(),
            c.axons.len(),
            map.axon_synapse_counts(ci).iter().map(|&n| n as u64).sum::<u64>()
        );
        if let Some(spec) = ty {
            let rows: Vec<String> = usage_rows(&c.usage, spec)
                .into_iter()
                .map(|(name, used, cap)| format!("{} {used}/{cap} ({})", name.replace('_', " "), pct(used, cap)))
                .collect();
            let _ = writeln!(s, "    {}", rows.join(", "));
        }
    }
    s
}
