//! `--plot pareto.svg`: the sweep's trade-offs as an SVG (plotters, SVG backend, no fonts
//! needed). Left: energy per sample against latency per step; right: energy per sample
//! against silicon cost (log axis when it spans over 20×). Every configuration that fits is
//! a grey ring; the Pareto front (over all three objectives) is drawn filled, coloured by
//! log silicon cost over the front (viridis: dark = cheap; the colour bar on the right gives
//! the scale), so the left panel shows cost too, and labelled with its configuration id
//! (the CSV's `config`). Energy is in pJ, nJ or µJ, whichever keeps the labels short; when
//! the target lacks some energy figures the axis says the known part is plotted.

use std::ops::Range;

use anyhow::Result;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use super::table::Table;

struct Point {
    energy_pj: f64,
    latency_us: f64,
    cost: f64,
    front: bool,
    config: usize,
}

/// Energy unit chosen so that labels stay short: (divisor from pJ, name).
fn energy_unit(max_pj: f64) -> (f64, &'static str) {
    if max_pj >= 1e6 {
        (1e6, "µJ")
    } else if max_pj >= 1e3 {
        (1e3, "nJ")
    } else {
        (1.0, "pJ")
    }
}

/// Silicon cost unit chosen so that labels stay short: (divisor, name).
fn cost_unit(max_bits: f64) -> (f64, &'static str) {
    if max_bits >= (1u64 << 24) as f64 {
        ((1u64 << 20) as f64, "Mibit")
    } else if max_bits >= (1u64 << 14) as f64 {
        (1024.0, "Kibit")
    } else {
        (1.0, "bit")
    }
}

/// `lo..hi` padded by 8 % (or by 1 around a single value).
fn span(values: impl Iterator<Item = f64> + Clone) -> Range<f64> {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return 0.0..1.0;
    }
    let pad = if hi > lo { (hi - lo) * 0.08 } else { lo.abs().max(1.0) * 0.08 };
    (lo - pad).max(if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY })..hi + pad
}

/// A tick label: at most 3 decimals, none when whole (`2000`, not `2000.0`).
fn label(v: &f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == 0.0 {
        "0".to_string()
    } else {
        r.to_string()
    }
}

/// The SVG text of the plot of `table`; `title` names the model and target, `subtitle`
/// the grid.
pub fn render(table: &Table, title: &str, subtitle: &str) -> Result<String> {
    crate::fonts::register()?;
    draw(table, title, subtitle).map_err(|e| anyhow::anyhow!("drawing the plot: {e}"))
}

/// A point to draw: (x, energy, on the front, colour, configuration id).
type Mark = (f64, f64, bool, RGBColor, usize);

fn panel<X>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    xs: X,
    energy: Range<f64>,
    (x_desc, y_desc): (&str, &str),
    marks: &[Mark],
) -> Result<(), Box<dyn std::error::Error>>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut chart =
        ChartBuilder::on(area).margin(15).x_label_area_size(40).y_label_area_size(80).build_cartesian_2d(xs, energy)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .light_line_style(WHITE)
        .x_label_formatter(&label)
        .y_label_formatter(&label)
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    chart.draw_series(marks.iter().filter(|m| !m.2).map(|m| Circle::new((m.0, m.1), 4, grey)))?;
    chart.draw_series(marks.iter().filter(|m| m.2).map(|m| Circle::new((m.0, m.1), 6, m.3.filled())))?;
    chart.draw_series(marks.iter().filter(|m| m.2).map(|m| Circle::new((m.0, m.1), 6, BLACK.stroke_width(1))))?;
    let id_style = ("sans-serif", 11).into_font().color(&BLACK);
    chart.draw_series(
        marks
            .iter()
            .filter(|m| m.2)
            .map(|m| EmptyElement::at((m.0, m.1)) + Text::new(format!("#{}", m.4), (8, -14), id_style.clone())),
    )?;
    if marks.is_empty() {
        area.draw(&Text::new("no configuration fits", (200, 200), ("sans-serif", 16)))?;
    }
    Ok(())
}

/// The colour scale of the front: viridis over log silicon cost, cheapest at the bottom.
fn cost_bar(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    (lo, hi): (f64, f64),
    unit: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let (top, bottom, left, right) = (60i32, 400i32, 14i32, 34i32);
    let n = 48;
    for k in 0..n {
        let y0 = bottom - (bottom - top) * k / n;
        let y1 = bottom - (bottom - top) * (k + 1) / n;
        let c = ViridisRGB::get_color((k as f64 + 0.5) / n as f64);
        area.draw(&Rectangle::new([(left, y1), (right, y0)], c.filled()))?;
    }
    area.draw(&Rectangle::new([(left, top), (right, bottom)], BLACK.stroke_width(1)))?;
    let style = ("sans-serif", 12).into_font().color(&BLACK);
    area.draw(&Text::new(format!("silicon cost ({unit})"), (4, top - 34), style.clone()))?;
    if hi > lo {
        area.draw(&Text::new(label(&hi), (right + 4, top - 6), style.clone()))?;
        area.draw(&Text::new(label(&lo), (right + 4, bottom - 6), style.clone()))?;
        area.draw(&Text::new("(log)", (right + 4, (top + bottom) / 2 - 6), style))?;
    } else {
        area.draw(&Text::new(label(&lo), (right + 4, (top + bottom) / 2 - 6), style))?;
    }
    Ok(())
}

fn draw(table: &Table, title: &str, subtitle: &str) -> Result<String, Box<dyn std::error::Error>> {
    let points: Vec<Point> = table
        .rows
        .iter()
        .filter_map(|r| {
            r.objectives().map(|[e, l, c]| Point {
                energy_pj: e,
                latency_us: l,
                cost: c,
                front: r.pareto,
                config: r.config,
            })
        })
        .collect();
    let (e_div, e_unit) = energy_unit(points.iter().map(|p| p.energy_pj).fold(0.0, f64::max));
    let mut missing: Vec<&str> = table
        .rows
        .iter()
        .filter(|r| r.objectives().is_some())
        .flat_map(|r| r.energy_unavailable.split(';').filter(|u| !u.is_empty()))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let y_desc = if missing.is_empty() {
        format!("energy per sample ({e_unit})")
    } else {
        format!("energy per sample, known part ({e_unit}; no figure for {})", missing.join(", ").replace('_', " "))
    };
    let (div, unit) = cost_unit(points.iter().map(|p| p.cost).fold(0.0, f64::max));
    // Colour by log cost over the front (what the colour is there to tell apart).
    let front_log_cost = points.iter().filter(|p| p.front).map(|p| (p.cost / div).max(f64::MIN_POSITIVE).log10());
    let lo = front_log_cost.clone().fold(f64::INFINITY, f64::min);
    let hi = front_log_cost.fold(f64::NEG_INFINITY, f64::max);
    let colour = |cost: f64| {
        let c = (cost / div).max(f64::MIN_POSITIVE).log10();
        if hi > lo {
            ViridisRGB::get_color_normalized(c, lo, hi)
        } else {
            ViridisRGB::get_color(0.5)
        }
    };
    let n_front = points.iter().filter(|p| p.front).count();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1220, 520)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 18))?;
        let (legend, panels) = root.split_vertically(44);
        let sub: String = if subtitle.chars().count() > 170 {
            subtitle.chars().take(170).chain(std::iter::once('…')).collect()
        } else {
            subtitle.to_string()
        };
        legend.draw(&Text::new(sub, (20, 2), ("sans-serif", 13)))?;
        legend.draw(&Text::new(
            format!(
                "{} configurations, {} fit, {} on the Pareto front over energy, latency and silicon cost \
                 (filled, labelled #config; colour = silicon cost, right); grey rings: dominated",
                table.rows.len(),
                points.len(),
                n_front
            ),
            (20, 22),
            ("sans-serif", 13),
        ))?;
        let (panels, bar) = panels.split_horizontally(1100);
        let (left, right) = panels.split_horizontally(550);
        let energy = span(points.iter().map(|p| p.energy_pj / e_div));
        let by_latency: Vec<Mark> =
            points.iter().map(|p| (p.latency_us, p.energy_pj / e_div, p.front, colour(p.cost), p.config)).collect();
        let latency = span(points.iter().map(|p| p.latency_us));
        panel(&left, latency, energy.clone(), ("latency per step (µs)", &y_desc), &by_latency)?;
        let by_cost: Vec<Mark> =
            points.iter().map(|p| (p.cost / div, p.energy_pj / e_div, p.front, colour(p.cost), p.config)).collect();
        let costs = points.iter().map(|p| p.cost / div);
        let (cmin, cmax) = (costs.clone().fold(f64::INFINITY, f64::min), costs.fold(f64::NEG_INFINITY, f64::max));
        let x_desc = format!("silicon cost ({unit})");
        if cmin > 0.0 && cmax / cmin > 20.0 {
            // Costs over orders of magnitude: a log axis keeps the cheap end readable.
            let xs = (cmin / 1.3..cmax * 1.3).log_scale();
            panel(&right, xs, energy, (&format!("{x_desc}, log scale"), &y_desc), &by_cost)?;
        } else {
            panel(&right, span(by_cost.iter().map(|m| m.0)), energy, (&x_desc, &y_desc), &by_cost)?;
        }
        if n_front > 0 {
            cost_bar(&bar, (10f64.powf(lo), 10f64.powf(hi)), unit)?;
        }
        root.present()?;
    }
    Ok(svg)
}
