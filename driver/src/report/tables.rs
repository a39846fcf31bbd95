//! The numbers behind each picture, as HTML tables (`<table id="VIEW-table">`).

use std::fmt::Write as _;

use super::plots::{energy_components, energy_headline, sig3};
use super::{Raster, ReportData};

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(used: f64, cap: f64) -> String {
    if cap > 0.0 {
        format!("{:.1}%", 100.0 * used / cap)
    } else {
        "–".to_string()
    }
}

/// `<table>` with a caption, a header row and body rows (cells already escaped).
fn table(id: &str, caption: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("<table id=\"{id}\">\n<caption>{}</caption>\n<thead><tr>", esc(caption));
    for h in header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n");
    s
}

/// Used cores: the layers they hold, each resource used / capacity, and (from the stats)
/// busy cycles and the steps whose critical path ended there.
pub fn heatmap(d: &ReportData) -> String {
    let chip = &d.chip;
    let rows: Vec<Vec<String>> = chip
        .used_cores()
        .map(|c| {
            // Stats written before attribution have no per-core activity.
            let act = d.stats.cores.iter().find(|a| a.core == c.core);
            let routing = match c.routing_entries_capacity {
                Some(cap) => format!("{} / {cap} ({})", c.routing_entries, pct(c.routing_entries as f64, cap as f64)),
                None => format!("{} / unlimited", c.routing_entries),
            };
            vec![
                esc(&c.core),
                esc(&c.coord),
                esc(&c.layers.join(", ")),
                format!("{} / {} ({})", c.neurons, c.max_neurons, pct(c.neurons as f64, c.max_neurons as f64)),
                format!(
                    "{} / {} ({})",
                    c.synapse_bits,
                    c.synapse_bits_capacity,
                    pct(c.synapse_bits as f64, c.synapse_bits_capacity as f64)
                ),
                format!(
                    "{} / {} ({})",
                    c.in_axons,
                    c.in_axons_capacity,
                    pct(c.in_axons as f64, c.in_axons_capacity as f64)
                ),
                format!(
                    "{} / {} ({})",
                    c.out_axons,
                    c.out_axons_capacity,
                    pct(c.out_axons as f64, c.out_axons_capacity as f64)
                ),
                routing,
                act.map_or("–".into(), |a| a.busy_cycles.to_string()),
                act.map_or("–".into(), |a| a.critical_path_steps.to_string()),
            ]
        })
        .collect();
    let caption = format!("{} of {} cores used; unused cores are grey in the picture", rows.len(), chip.cores.len());
    let header = [
        "core",
        "position",
        "layers",
        "neurons",
        "synapse memory (bits)",
        "in-axons",
        "out-axons",
        "routing entries",
        "busy cycles",
        "critical-path steps",
    ];
    table("heatmap-table", &caption, &header, &rows)
}

/// Loaded links, busiest first, then the run's traffic totals.
pub fn links(d: &ReportData) -> String {
    let s = &d.stats;
    let mut links: Vec<_> = d.chip.links.iter().collect();
    links.sort_by(|a, b| b.busy_cycles.cmp(&a.busy_cycles).then(a.name.cmp(&b.name)));
    let rows: Vec<Vec<String>> = links
        .iter()
        .map(|l| {
            vec![
                esc(&l.name),
                if l.chip_link { "chip-to-chip" } else { "on chip" }.to_string(),
                l.packets.to_string(),
                l.busy_cycles.to_string(),
                format!("{:.2}%", 100.0 * l.utilisation),
            ]
        })
        .collect();
    let mut out = table(
        "links-table",
        &format!("{} loaded links (utilisation = busy cycles / {} cycles of the run)", rows.len(), s.cycles_total),
        &["link", "kind", "packets", "busy cycles", "utilisation"],
        &rows,
    );
    let busiest = s.busiest_link.clone().unwrap_or_else(|| "none".to_string());
    let totals = vec![
        vec!["network packets".into(), s.packets.to_string()],
        vec!["loopback packets (same core)".into(), s.loopback_packets.to_string()],
        vec!["host input packets".into(), s.host_packets.to_string()],
        vec![
            "hops (east-west / north-south / chip-to-chip)".into(),
            format!("{} ({} / {} / {})", s.hops, s.hops_ew, s.hops_ns, s.hops_chip),
        ],
        vec!["busiest link".into(), format!("{} ({:.2}%)", esc(&busiest), 100.0 * s.max_link_utilisation)],
        vec!["mean packet latency (cycles)".into(), sig3(s.packet_latency_mean_cycles)],
        vec![
            "stall cycles (core / link)".into(),
            format!("{} ({} / {})", s.stall_cycles, s.core_stall_cycles, s.link_stall_cycles),
        ],
    ];
    out.push_str(&table("links-totals", "traffic of the whole run", &["quantity", "value"], &totals));
    out
}

/// Spikes per population: in the shown sample and over the run.
pub fn raster(r: Option<&Raster>, d: &ReportData) -> String {
    let s = &d.stats;
    let rows: Vec<Vec<String>> = s
        .spikes_per_layer
        .iter()
        .map(|l| {
            let in_sample = r.and_then(|r| {
                let k = r.populations.iter().position(|p| p.0 == l.population)?;
                Some(r.spikes.iter().filter(|sp| sp.1 as usize == k).count())
            });
            let steps = r.map_or(s.n_steps, |r| r.n_steps).max(1);
            vec![
                esc(&l.population),
                l.neurons.to_string(),
                in_sample.map_or("–".into(), |n| n.to_string()),
                in_sample.map_or("–".into(), |n| sig3(n as f64 / (l.neurons.max(1) as usize * steps) as f64)),
                l.spikes.to_string(),
                format!("{:.4}", l.activation_sparsity),
            ]
        })
        .collect();
    let caption = format!(
        "spiking populations: sample {} and the whole run ({} samples × {} steps); activation sparsity {:.4}",
        d.sample, s.n_samples, s.n_steps, s.activation_sparsity
    );
    let header =
        ["population", "neurons", "spikes in sample", "spikes / neuron / step", "spikes in run", "activation sparsity"];
    table("raster-table", &caption, &header, &rows)
}

/// Per step of the shown sample, then the run's summary.
pub fn latency(d: &ReportData) -> String {
    let s = &d.stats;
    let mut out = String::new();
    if !d.steps.is_empty() {
        let rows: Vec<Vec<String>> = d
            .steps
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let mean = d.step_mean_latency_us.as_ref().and_then(|m| m.get(k)).map_or("–".into(), |v| sig3(*v));
                vec![
                    r.step.to_string(),
                    r.cycles.to_string(),
                    r.critical_path_cycles.to_string(),
                    (r.cycles - r.critical_path_cycles.min(r.cycles)).to_string(),
                    sig3(r.latency_us),
                    mean,
                    r.sops_weight_layers.to_string(),
                    r.spikes.to_string(),
                    r.packets.to_string(),
                    r.hops.to_string(),
                    r.stall_cycles.to_string(),
                    critical_core(d, &r.critical_core),
                ]
            })
            .collect();
        let header = [
            "step",
            "cycles",
            "critical path (cycles)",
            "barrier (cycles)",
            "latency (µs)",
            "mean over samples (µs)",
            "SOPs",
            "spikes",
            "packets",
            "hops",
            "stall cycles",
            "critical core (layers)",
        ];
        out = table("latency-table", &format!("time steps of sample {}", d.sample), &header, &rows);
    }
    let summary = vec![
        vec![
            "cycles per step (mean / max)".into(),
            format!("{} / {}", sig3(s.cycles_per_step_mean), s.cycles_per_step_max),
        ],
        vec![
            "latency per step, µs (mean / max)".into(),
            format!("{} / {}", sig3(s.latency_us_per_step_mean), sig3(s.latency_us_per_step_max)),
        ],
        vec!["cycles of the run".into(), s.cycles_total.to_string()],
        vec!["clock (MHz)".into(), sig3(s.clock_mhz)],
    ];
    let id = if d.steps.is_empty() { "latency-table" } else { "latency-summary" };
    out.push_str(&table(id, "the whole run", &["quantity", "value"], &summary));
    out
}

/// `c3 (fc1, fc2)`: a step's critical core and the layers on it; `–` when unknown (a
/// per-step CSV written before attribution, or a step without core work).
fn critical_core(d: &ReportData, core: &str) -> String {
    if core.is_empty() {
        return "–".into();
    }
    match d.chip.cores.iter().find(|c| c.core == core) {
        Some(c) if !c.layers.is_empty() => format!("{} ({})", esc(core), esc(&c.layers.join(", "))),
        _ => esc(core),
    }
}

/// Per layer in model order: where it sits and what it cost; the bottleneck (most
/// critical-path steps, then most busy cycles) is marked.
pub fn layers(d: &ReportData) -> String {
    let s = &d.stats;
    if s.layers.is_empty() {
        return "<p class=\"missing\">These stats have no per-layer attribution: simulate again with this \
                version of spikeforge, or pass --input X.npy.</p>\n"
            .to_string();
    }
    let bottleneck = spikeforge_simulator::bottleneck(&s.layers);
    let with_core: u64 = s.cores.iter().map(|c| c.critical_path_steps).sum();
    let rows: Vec<Vec<String>> = s
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let name = if Some(i) == bottleneck {
                format!("<strong>{} ◀ bottleneck</strong>", esc(&l.population))
            } else {
                esc(&l.population)
            };
            let energy = match l.energy_pj.total {
                Some(t) if l.energy_pj.partial => format!("≥ {}", sig3(t)),
                Some(t) => sig3(t),
                None => "unknown".into(),
            };
            vec![
                name,
                esc(&compact_cores(&l.cores)),
                (l.sops_weight_layers + l.sops_pooling).to_string(),
                l.spikes.to_string(),
                l.packets.to_string(),
                l.busy_cycles.to_string(),
                energy,
                l.critical_path_steps.to_string(),
                if with_core == 0 { "–".into() } else { pct(l.critical_path_steps as f64, with_core as f64) },
            ]
        })
        .collect();
    let caption = format!(
        "layers in model order over {} samples × {} steps; a core shared by layers counts for each of them in \
         critical-path steps; energy without static power",
        s.n_samples, s.n_steps
    );
    let header = [
        "layer",
        "cores",
        "SOPs",
        "spikes",
        "packets",
        "busy cycles",
        "energy (pJ)",
        "critical-path steps",
        "share of steps",
    ];
    table("layers-table", &caption, &header, &rows)
}

/// `c0–c3, c7, c8` for a list of core names (runs of three or more consecutive numbers
/// joined).
fn compact_cores(cores: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run: Option<(u64, u64)> = None;
    let num = |c: &String| c.strip_prefix('c').and_then(|n| n.parse::<u64>().ok());
    let flush = |run: Option<(u64, u64)>, parts: &mut Vec<String>| match run {
        Some((a, b)) if b - a < 2 => parts.extend((a..=b).map(|n| format!("c{n}"))),
        Some((a, b)) => parts.push(format!("c{a}–c{b}")),
        None => {}
    };
    for c in cores {
        match (num(c), run) {
            (Some(n), Some((a, b))) if n == b + 1 => run = Some((a, n)),
            (Some(n), _) => {
                flush(run, &mut parts);
                run = Some((n, n));
            }
            (None, _) => {
                flush(run.take(), &mut parts);
                parts.push(c.clone());
            }
        }
    }
    flush(run, &mut parts);
    parts.join(", ")
}

/// Energy by component: the target's figure, the run's total, per sample, share.
pub fn energy(d: &ReportData) -> String {
    let s = &d.stats;
    let e = &d.chip.energy;
    let fig = |v: Option<f64>, unit: &str| v.map_or("none".to_string(), |v| format!("{} {unit}", sig3(v)));
    let hop =
        format!("{} E-W, {} N-S, {} chip", fig(e.hop_ew_pj, "pJ"), fig(e.hop_ns_pj, "pJ"), fig(e.chip_hop_pj, "pJ"));
    let figures = [
        fig(e.synop_pj, "pJ / synaptic op"),
        fig(e.neuron_update_pj, "pJ / neuron update"),
        fig(e.spike_out_pj, "pJ / spike packet"),
        hop,
        fig(e.static_power_mw, "mW / chip"),
    ];
    let n = s.n_samples.max(1) as f64;
    // Shares only of a complete total: of a lower bound they would overstate.
    let total = if s.energy_pj.partial { None } else { s.energy_pj_per_sample };
    let rows: Vec<Vec<String>> = energy_components(d)
        .iter()
        .zip(figures)
        .map(|(&(name, per_sample), figure)| {
            let cells = match per_sample {
                Some(v) => [sig3(v * n), sig3(v), total.map_or("–".into(), |t| pct(v, t))],
                None => ["unknown".into(), "unknown".into(), "–".into()],
            };
            let [total, per, share] = cells;
            vec![name.to_string(), esc(&figure), total, per, share]
        })
        .collect();
    let mut out = table(
        "energy-table",
        &format!(
            "energy by component over {} samples; total {} per sample",
            s.n_samples,
            energy_headline(s.energy_pj_per_sample, &s.energy_pj)
        ),
        &["component", "target figure", "run total (pJ)", "per sample (pJ)", "share"],
        &rows,
    );
    if !s.energy_pj.unavailable.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">Not in the total, so the total is a lower bound (events occurred but the target \
             gives no figure): {}.</p>",
            esc(&s.energy_pj.unavailable.join(", "))
        );
    }
    out
}
