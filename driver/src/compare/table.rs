//! The comparison as text (one column per candidate, for the terminal), CSV (one row per
//! candidate), JSON, and the output folder that holds them with the HTML page, each core map
//! and its statistics. Needs a [`Comparison`]; energy that is unknown is written as
//! `unknown` (CSV: an empty cell), a partial one as `≥ X (partial)` (CSV: `energy_partial`
//! true and the missing components), never as 0.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{file_stem, Comparison, Entry};
use crate::report::plots::{energy_text, sig3};

/// Energy per inference as shown: `1.23 µJ`, `≥ 1.23 µJ (partial)`, `unknown`, or `—`
/// when the candidate did not run.
pub fn energy_cell(e: &Entry) -> String {
    if e.latency_us_per_step.is_none() {
        return "—".into();
    }
    match e.energy_pj_per_inference {
        None => "unknown".into(),
        Some(v) if e.energy_partial => format!("≥ {} (partial)", energy_text(v)),
        Some(v) => energy_text(v),
    }
}

/// The energy-delay product as shown, marked like the energy it comes from.
pub fn edp_cell(e: &Entry) -> String {
    if e.latency_us_per_step.is_none() {
        return "—".into();
    }
    match e.edp_uj_ms {
        None => "unknown".into(),
        Some(v) if e.energy_partial => format!("≥ {} µJ·ms", sci(v)),
        Some(v) => format!("{} µJ·ms", sci(v)),
    }
}

/// Three significant digits; scientific outside [1e-3, 1e6).
pub fn sci(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:.2e}")
    } else {
        sig3(v)
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map_or("—".into(), |v| format!("{}{unit}", sci(v)))
}

fn percent(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// `yes`, or what went wrong in a few words (the reason is listed under the table).
pub fn fit_cell(e: &Entry) -> String {
    match e.status.as_str() {
        "fits" => "yes".into(),
        "does_not_fit" => "no (does not fit)".into(),
        "invalid_target" => "no (invalid target)".into(),
        "sim_failed" => "no (simulation failed)".into(),
        other => other.into(),
    }
}

/// Every resource any candidate reports, in name order.
pub fn resources(c: &Comparison) -> Vec<String> {
    let set: BTreeSet<&str> =
        c.entries.iter().flat_map(|e| e.utilisation.iter().map(|u| u.resource.as_str())).collect();
    set.into_iter().map(String::from).collect()
}

/// The rows of the side-by-side view: `(metric, one cell per candidate)`.
pub fn rows(c: &Comparison) -> Vec<(String, Vec<String>)> {
    let col = |f: &dyn Fn(&Entry) -> String| c.entries.iter().map(f).collect::<Vec<_>>();
    let mut out = vec![
        ("target".to_string(), col(&|e| e.target.clone())),
        ("fits".into(), col(&fit_cell)),
        (
            "chips (used)".into(),
            col(&|e| match (e.chips, e.chips_used) {
                (Some([x, y]), Some(u)) => format!("{x}x{y} ({u} used)"),
                (Some([x, y]), None) => format!("{x}x{y}"),
                _ => "—".into(),
            }),
        ),
        (
            "cores used".into(),
            col(&|e| match (e.cores_used, e.cores_available) {
                (Some(u), Some(a)) => format!("{u} of {a}"),
                (None, Some(a)) => format!("— of {a}"),
                _ => "—".into(),
            }),
        ),
        ("latency per step".into(), col(&|e| opt(e.latency_us_per_step, " µs"))),
        ("latency per inference".into(), col(&|e| opt(e.latency_us_per_inference, " µs"))),
        ("throughput".into(), col(&|e| opt(e.inferences_per_s, " inferences/s"))),
        ("energy per inference".into(), col(&energy_cell)),
        ("energy-delay product".into(), col(&edp_cell)),
        ("SOPs per inference".into(), col(&|e| opt(e.sops_per_inference, ""))),
        ("busiest link".into(), col(&|e| e.max_link_utilisation.map_or("—".into(), percent))),
    ];
    for r in resources(c) {
        out.push((
            format!("{} used (max / mean)", r.replace('_', " ")),
            col(&|e| {
                e.utilisation
                    .iter()
                    .find(|u| u.resource == r)
                    .map_or("—".into(), |u| format!("{} / {}", percent(u.max), percent(u.mean)))
            }),
        ));
    }
    out
}

/// Why candidates do not fit or have partial energy, one line each.
pub fn notes(c: &Comparison) -> Vec<String> {
    let mut out = vec![];
    for e in &c.entries {
        if !e.reason.is_empty() {
            out.push(format!("{}: {}", e.label, e.reason));
        }
        if e.latency_us_per_step.is_some() && (e.energy_partial || e.energy_pj_per_inference.is_none()) {
            out.push(format!(
                "{}: `{}` has no energy figure for {}: {}",
                e.label,
                e.target,
                e.energy_unavailable.iter().map(|s| s.replace('_', " ")).collect::<Vec<_>>().join(", "),
                if e.energy_pj_per_inference.is_some() {
                    "the energy shown is the known part, a lower bound"
                } else {
                    "its energy is unknown"
                }
            ));
        }
    }
    out
}

/// The table printed on stdout: a metric per line, a column per candidate, then the notes.
pub fn text(c: &Comparison) -> String {
    let header: Vec<String> = c.entries.iter().map(|e| e.label.clone()).collect();
    let rows = rows(c);
    let width = |s: &str| s.chars().count();
    let w0 = rows.iter().map(|(m, _)| width(m)).max().unwrap_or(0);
    let widths: Vec<usize> = (0..header.len())
        .map(|j| rows.iter().map(|(_, cells)| width(&cells[j])).chain([width(&header[j])]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, first: &str, cells: &[String]| {
        let _ = write!(out, "{first}{}", " ".repeat(w0 - width(first)));
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "  {cell}{}", " ".repeat(w - width(cell)));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    };
    line(&mut out, "", &header);
    for (metric, cells) in &rows {
        line(&mut out, metric, cells);
    }
    for n in notes(c) {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// Columns of the CSV before one `util_max_R`, `util_mean_R` pair per resource.
pub const CSV_COLUMNS: [&str; 19] = [
    "label",
    "target",
    "status",
    "reason",
    "chips",
    "chips_used",
    "cores_used",
    "cores_available",
    "n_samples",
    "n_steps",
    "latency_us_per_step",
    "latency_us_per_inference",
    "inferences_per_s",
    "energy_pj_per_inference",
    "energy_partial",
    "energy_unavailable",
    "edp_uj_ms",
    "sops_per_inference",
    "max_link_utilisation",
];

/// One row per candidate; empty cells are figures that do not exist (no energy figure,
/// did not fit). Reals in Rust's shortest round-trip form.
pub fn csv(c: &Comparison) -> Result<Vec<u8>> {
    let res = resources(c);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = CSV_COLUMNS.iter().map(|s| s.to_string()).collect();
    for r in &res {
        header.push(format!("util_max_{r}"));
        header.push(format!("util_mean_{r}"));
    }
    w.write_record(&header)?;
    let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let u = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    for e in &c.entries {
        let mut rec = vec![
            e.label.clone(),
            e.target.clone(),
            e.status.clone(),
            e.reason.clone(),
            e.chips.map_or(String::new(), |[x, y]| format!("{x}x{y}")),
            u(e.chips_used),
            u(e.cores_used),
            u(e.cores_available),
            c.n_samples.to_string(),
            c.n_steps.to_string(),
            f(e.latency_us_per_step),
            f(e.latency_us_per_inference),
            f(e.inferences_per_s),
            f(e.energy_pj_per_inference),
            e.energy_partial.to_string(),
            e.energy_unavailable.join(";"),
            f(e.edp_uj_ms),
            f(e.sops_per_inference),
            f(e.max_link_utilisation),
        ];
        for r in &res {
            let use_ = e.utilisation.iter().find(|x| &x.resource == r);
            rec.push(f(use_.map(|x| x.max)));
            rec.push(f(use_.map(|x| x.mean)));
        }
        w.write_record(&rec)?;
    }
    Ok(w.into_inner().context("writing the comparison CSV")?)
}

/// The comparison as JSON: model, samples, steps, numerics and the entries.
pub fn json(c: &Comparison) -> Result<String> {
    let v = serde_json::json!({
        "format": "spikeforge-compare",
        "version": 1,
        "model": c.model,
        "n_samples": c.n_samples,
        "n_steps": c.n_steps,
        "numeric": c.numeric,
        "entries": c.entries,
    });
    Ok(serde_json::to_string_pretty(&v)? + "\n")
}

/// What [`write_dir`] wrote.
pub struct Written {
    pub csv: PathBuf,
    pub json: PathBuf,
    pub html: PathBuf,
    /// Per candidate that compiled: its core map and statistics JSON.
    pub maps: Vec<(String, PathBuf, Option<PathBuf>)>,
}

/// Writes `compare.csv`, `compare.json`, `compare.html` and, per candidate that compiled,
/// `<label>.map` and `<label>.stats.json` (for `spikeforge report`) into `dir`, which must
/// exist. Each file is replaced atomically.
pub fn write_dir(c: &Comparison, dir: &Path) -> Result<Written> {
    if !dir.is_dir() {
        anyhow::bail!("{}: not a folder (create it first: outputs never create folders)", dir.display());
    }
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf> {
        let p = dir.join(name);
        spikeforge_compiler::atomic::write_atomically(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    };
    let mut maps = vec![];
    let mut stems = BTreeSet::new();
    for ((e, map), stats) in c.entries.iter().zip(&c.maps).zip(&c.stats) {
        let Some(map) = map else { continue };
        let mut stem = file_stem(&e.label);
        let mut k = 2;
        while !stems.insert(stem.clone()) {
            stem = format!("{}-{k}", file_stem(&e.label));
            k += 1;
        }
        let map_path = dir.join(format!("{stem}.map"));
        if map_path.exists() && std::fs::canonicalize(&map_path).ok() == std::fs::canonicalize(&e.label).ok() {
            anyhow::bail!(
                "{}: would overwrite the input map {}; use another --out folder",
                map_path.display(),
                e.label
            );
        }
        let fingerprint = crate::compile::save_map(map, &map_path).map_err(|e| e.into_anyhow())?;
        let stats_path = match stats {
            Some(s) => Some(write(
                &format!("{stem}.stats.json"),
                crate::outputs::json_with_fingerprint(s, &fingerprint)?.as_bytes(),
            )?),
            None => None,
        };
        maps.push((e.label.clone(), map_path, stats_path));
    }
    Ok(Written {
        csv: write("compare.csv", &csv(c)?)?,
        json: write("compare.json", json(c)?.as_bytes())?,
        html: write("compare.html", super::html::page(c).as_bytes())?,
        maps,
    })
}
