//! The comparison page: one self-contained HTML file (inline CSS, no script, nothing
//! fetched) with the side-by-side table of [`super::table::rows`] and a bar per candidate
//! for latency, throughput, energy, energy-delay product and the fullest resource. Bars of
//! partial energy are hatched and labelled `≥`; unknown energy has no bar and says so.

use std::fmt::Write as _;

use super::table::{edp_cell, energy_cell, notes, rows, sci};
use super::{Comparison, Entry};
use crate::report::tables::esc;

const STYLE: &str = "
table.bars td.bar { width: 22rem; }
div.track { background: #f2f2f2; height: 0.9rem; width: 100%; }
div.fill { background: #4c78a8; height: 100%; }
div.fill.partial { background: repeating-linear-gradient(45deg, #4c78a8 0 4px, #a9c4e0 4px 8px); }
td.no { color: #a33; }
p.lede { color: #444; }
";

/// One bar chart: a row per candidate with the value's share of the largest value.
fn bars(
    out: &mut String,
    title: &str,
    better: &str,
    c: &Comparison,
    value: &dyn Fn(&Entry) -> Option<f64>,
    label: &dyn Fn(&Entry) -> String,
) {
    let max = c.entries.iter().filter_map(value).fold(0.0f64, f64::max);
    let _ = writeln!(out, "<h3>{} <small>({})</small></h3>", esc(title), esc(better));
    out.push_str("<table class=\"bars\">\n");
    for e in &c.entries {
        let shown = label(e);
        let bar = match value(e) {
            Some(v) if max > 0.0 => {
                let class = if e.energy_partial && title.contains("nergy") { "fill partial" } else { "fill" };
                format!(
                    "<div class=\"track\"><div class=\"{class}\" style=\"width: {:.1}%\"></div></div>",
                    (v / max * 100.0).clamp(0.0, 100.0)
                )
            }
            _ => String::new(),
        };
        let _ =
            writeln!(out, "<tr><th>{}</th><td class=\"bar\">{bar}</td><td>{}</td></tr>", esc(&e.label), esc(&shown));
    }
    out.push_str("</table>\n");
}

/// The page for `c`.
pub fn page(c: &Comparison) -> String {
    let mut out = String::new();
    let title = format!("{} on {} targets", c.model, c.entries.len());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}{}</style>\n</head>\n<body>\n",
        esc(&title),
        crate::report::html::STYLE,
        STYLE
    );
    let _ = writeln!(out, "<header><h1>{}</h1>", esc(&title));
    let _ = writeln!(
        out,
        "<p class=\"lede\">{} samples × {} steps, {} numerics. An inference is one sample; samples run one \
         after another, so latency per inference = steps × mean latency per step and throughput = 1 ÷ \
         latency per inference. Energy is the target's per-event table applied to the simulated events: \
         “≥” marks a lower bound (some components have no published figure), “unknown” a chip with no \
         figure for anything that happened.</p></header>",
        c.n_samples,
        c.n_steps,
        esc(&c.numeric)
    );
    out.push_str("<section class=\"view\"><h2>Side by side</h2>\n<table>\n<tr><th></th>");
    for e in &c.entries {
        let _ = write!(out, "<th>{}</th>", esc(&e.label));
    }
    out.push_str("</tr>\n");
    for (metric, cells) in rows(c) {
        let _ = write!(out, "<tr><td>{}</td>", esc(&metric));
        for cell in cells {
            let class = if cell.starts_with("no (") { " class=\"no\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", esc(&cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    let notes = notes(c);
    if !notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for n in notes {
            let _ = writeln!(out, "<li>{}</li>", esc(&n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n<section class=\"view\"><h2>At a glance</h2>\n");
    let us = |v: Option<f64>, unit: &str| v.map_or("—".to_string(), |v| format!("{} {unit}", sci(v)));
    bars(&mut out, "Latency per inference", "shorter is better", c, &|e| e.latency_us_per_inference, &|e| {
        us(e.latency_us_per_inference, "µs")
    });
    bars(&mut out, "Throughput", "longer is better", c, &|e| e.inferences_per_s, &|e| {
        us(e.inferences_per_s, "inferences/s")
    });
    bars(&mut out, "Energy per inference", "shorter is better", c, &|e| e.energy_pj_per_inference, &energy_cell);
    bars(&mut out, "Energy-delay product", "shorter is better", c, &|e| e.edp_uj_ms, &edp_cell);
    let fullest =
        |e: &Entry| e.utilisation.iter().map(|u| u.max).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    bars(&mut out, "Fullest resource on the fullest core", "100 % = a core is full", c, &fullest, &|e| {
        e.utilisation
            .iter()
            .max_by(|a, b| a.max.total_cmp(&b.max))
            .map_or("—".into(), |u| format!("{:.0} % {}", u.max * 100.0, u.resource.replace('_', " ")))
    });
    out.push_str(
        "</section>\n<footer>Written by spikeforge compare; per-target core maps and statistics are \
                  beside this page (<code>spikeforge report NAME.map --stats NAME.stats.json</code> shows where \
                  the time and energy go).</footer>\n</body>\n</html>\n",
    );
    out
}
