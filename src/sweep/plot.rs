//! `--plot pareto.svg`: the sweep's trade-offs as an SVG (plotters, SVG backend, no fonts
//! needed). Left: energy per sample against latency per step; right: energy per sample
//! against silicon cost. Every configuration that fits is a grey ring; the Pareto front
//! (over all three objectives) is drawn filled, coloured by silicon cost (viridis: dark =
//! cheap), so the left panel shows cost too.

use anyhow::Result;
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
fn span(values: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
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

/// The SVG text of the plot of `table`.
pub fn render(table: &Table, title: &str) -> Result<String> {
    draw(table, title).map_err(|e| anyhow::anyhow!("drawing the plot: {e}"))
}

fn draw(table: &Table, title: &str) -> Result<String, Box<dyn std::error::Error>> {
    let points: Vec<Point> = table
        .rows
        .iter()
        .filter_map(|r| r.objectives().map(|[e, l, c]| Point { energy_pj: e, latency_us: l, cost: c, front: r.pareto }))
        .collect();
    let (div, unit) = cost_unit(points.iter().map(|p| p.cost).fold(0.0, f64::max));
    let costs = points.iter().map(|p| p.cost / div);
    let (cmin, cmax) = (costs.clone().fold(f64::INFINITY, f64::min), costs.clone().fold(f64::NEG_INFINITY, f64::max));
    let colour = |c: f64| {
        if cmax > cmin {
            ViridisRGB::get_color_normalized(c, cmin, cmax)
        } else {
            ViridisRGB::get_color(0.5)
        }
    };
    let n_front = points.iter().filter(|p| p.front).count();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 18))?;
        let (legend, panels) = root.split_vertically(28);
        legend.draw(&Text::new(
            format!(
                "{} configurations, {} fit, {} on the Pareto front (filled; colour = silicon cost, dark = cheap); \
                 grey rings: dominated",
                table.rows.len(),
                points.len(),
                n_front
            ),
            (20, 5),
            ("sans-serif", 13),
        ))?;
        let (left, right) = panels.split_horizontally(550);
        let energy = span(points.iter().map(|p| p.energy_pj));
        let panels = [
            (left, span(points.iter().map(|p| p.latency_us)), "latency per step (µs)".to_string(), false),
            (right, span(costs.clone()), format!("silicon cost ({unit})"), true),
        ];
        for (area, xs, x_desc, by_cost) in panels {
            let mut chart = ChartBuilder::on(&area)
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(80)
                .build_cartesian_2d(xs, energy.clone())?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc("energy per sample (pJ)")
                .light_line_style(WHITE)
                .x_label_formatter(&label)
                .y_label_formatter(&label)
                .draw()?;
            let x = |p: &Point| if by_cost { p.cost / div } else { p.latency_us };
            chart.draw_series(
                points
                    .iter()
                    .filter(|p| !p.front)
                    .map(|p| Circle::new((x(p), p.energy_pj), 4, RGBColor(150, 150, 150))),
            )?;
            chart.draw_series(
                points
                    .iter()
                    .filter(|p| p.front)
                    .map(|p| Circle::new((x(p), p.energy_pj), 6, colour(p.cost / div).filled())),
            )?;
            chart.draw_series(
                points.iter().filter(|p| p.front).map(|p| Circle::new((x(p), p.energy_pj), 6, BLACK.stroke_width(1))),
            )?;
            if points.is_empty() {
                area.draw(&Text::new("no configuration fits", (200, 200), ("sans-serif", 16)))?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}
