//! `--plot pareto.svg`: the sweep's trade-offs as an SVG (plotters, SVG backend, no fonts
//! needed). Left: energy per sample against latency per step; right: energy per sample
//! against silicon cost (log axis when it spans over 20×). Every configuration that fits is
//! a grey ring; the Pareto front (over all three objectives) is drawn filled, coloured by
//! log silicon cost over the front (viridis: dark = cheap), so the left panel shows cost too.

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

/// A point to draw: (x, energy, on the front, colour).
type Mark = (f64, f64, bool, RGBColor);

fn panel<X>(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    xs: X,
    energy: Range<f64>,
    x_desc: &str,
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
        .y_desc("energy per sample (pJ)")
        .light_line_style(WHITE)
        .x_label_formatter(&label)
        .y_label_formatter(&label)
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    chart.draw_series(marks.iter().filter(|m| !m.2).map(|m| Circle::new((m.0, m.1), 4, grey)))?;
    chart.draw_series(marks.iter().filter(|m| m.2).map(|m| Circle::new((m.0, m.1), 6, m.3.filled())))?;
    chart.draw_series(marks.iter().filter(|m| m.2).map(|m| Circle::new((m.0, m.1), 6, BLACK.stroke_width(1))))?;
    if marks.is_empty() {
        area.draw(&Text::new("no configuration fits", (200, 200), ("sans-serif", 16)))?;
    }
    Ok(())
}

fn draw(table: &Table, title: &str, subtitle: &str) -> Result<String, Box<dyn std::error::Error>> {
    let points: Vec<Point> = table
        .rows
        .iter()
        .filter_map(|r| r.objectives().map(|[e, l, c]| Point { energy_pj: e, latency_us: l, cost: c, front: r.pareto }))
        .collect();
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
        let root = SVGBackend::with_string(&mut svg, (1100, 520)).into_drawing_area();
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
                 (filled; colour = silicon cost, dark = cheap); grey rings: dominated",
                table.rows.len(),
                points.len(),
                n_front
            ),
            (20, 22),
            ("sans-serif", 13),
        ))?;
        let (left, right) = panels.split_horizontally(550);
        let energy = span(points.iter().map(|p| p.energy_pj));
        let by_latency: Vec<Mark> =
            points.iter().map(|p| (p.latency_us, p.energy_pj, p.front, colour(p.cost))).collect();
        panel(&left, span(points.iter().map(|p| p.latency_us)), energy.clone(), "latency per step (µs)", &by_latency)?;
        let by_cost: Vec<Mark> = points.iter().map(|p| (p.cost / div, p.energy_pj, p.front, colour(p.cost))).collect();
        let costs = points.iter().map(|p| p.cost / div);
        let (cmin, cmax) = (costs.clone().fold(f64::INFINITY, f64::min), costs.fold(f64::NEG_INFINITY, f64::max));
        let x_desc = format!("silicon cost ({unit})");
        if cmin > 0.0 && cmax / cmin > 20.0 {
            // Costs over orders of magnitude: a log axis keeps the cheap end readable.
            panel(&right, (cmin / 1.3..cmax * 1.3).log_scale(), energy, &format!("{x_desc}, log scale"), &by_cost)?;
        } else {
            panel(&right, span(by_cost.iter().map(|m| m.0)), energy, &x_desc, &by_cost)?;
        }
        root.present()?;
    }
    Ok(svg)
}
