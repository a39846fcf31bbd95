//! The chip pictures: core utilisation as a mesh heatmap (small multiples, one per
//! resource) and link load as coloured arrows between routers. Tile `(x, y)` is centred at
//! `(x, y)`; `y` grows north (up), as in the link names `(x,y)→north`.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{colour_bar, integer_label, viridis, DrawError, DARK, GREY};
use crate::report::chip::{ChipView, Resource};

type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// A chart over the mesh of tiles with integer tick labels.
fn mesh_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    chip: &ChipView,
    caption: &str,
) -> Result<Chart<'a, DB>, DrawError<DB>> {
    let [gw, gh] = chip.grid;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(34)
        .build_cartesian_2d(-0.5..gw as f64 - 0.5, -0.5..gh as f64 - 0.5)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(gw.min(16) as usize + 1)
        .y_labels(gh.min(16) as usize + 1)
        .x_label_formatter(&integer_label)
        .y_label_formatter(&integer_label)
        .x_desc("tile x")
        .y_desc("tile y")
        .draw()?;
    Ok(chart)
}

/// Thick outlines around each chip's block of tiles (only with several chips).
fn chip_outlines<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, chip: &ChipView) -> Result<(), DrawError<DB>> {
    let [mx, my] = chip.chip_mesh;
    if chip.grid == chip.chip_mesh {
        return Ok(());
    }
    let mut outlines = Vec::new();
    for cy in 0..chip.grid[1] / my {
        for cx in 0..chip.grid[0] / mx {
            let (x0, y0) = ((cx * mx) as f64 - 0.5, (cy * my) as f64 - 0.5);
            outlines.push(Rectangle::new([(x0, y0), (x0 + mx as f64, y0 + my as f64)], DARK.stroke_width(2)));
        }
    }
    chart.draw_series(outlines)?;
    Ok(())
}

/// One panel per resource (2 × 2) and a shared colour bar (0–100 % of capacity).
pub fn heatmap<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chip: &ChipView) -> Result<(), DrawError<DB>> {
    let (w, _) = area.dim_in_pixel();
    let (panels, bar) = area.split_horizontally(w.saturating_sub(110));
    let per_tile = chip.cores_per_tile.max(1);
    let cols = (per_tile as f64).sqrt().ceil() as u32;
    let rows = per_tile.div_ceil(cols);
    let labelled = chip.grid[0] <= 8 && chip.grid[1] <= 8 && per_tile <= 4;
    for (panel, resource) in panels.split_evenly((2, 2)).iter().zip(Resource::ALL) {
        let mut chart = mesh_chart(panel, chip, resource.label())?;
        let inset = 0.04;
        let mut cells = Vec::with_capacity(chip.cores.len());
        let mut labels = Vec::new();
        for c in &chip.cores {
            let (sx, sy) = (c.slot % cols, c.slot / cols);
            let x0 = c.tile[0] as f64 - 0.5 + sx as f64 / cols as f64;
            let y1 = c.tile[1] as f64 + 0.5 - sy as f64 / rows as f64;
            let (x1, y0) = (x0 + 1.0 / cols as f64, y1 - 1.0 / rows as f64);
            let f = c.fraction(resource);
            let colour = if c.used { viridis(f) } else { GREY };
            cells.push(Rectangle::new([(x0 + inset, y0 + inset), (x1 - inset, y1 - inset)], colour.filled()));
            if labelled {
                let text = if c.used { format!("{}\n{:.0}%", c.core, f * 100.0) } else { c.core.clone() };
                let ink = if c.used && f < 0.6 { WHITE } else { DARK };
                let style = ("sans-serif", 11).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
                for (k, line) in text.lines().enumerate() {
                    let y = (y0 + y1) / 2.0 + if text.contains('\n') { 0.12 - 0.24 * k as f64 } else { 0.0 };
                    labels.push(Text::new(line.to_string(), ((x0 + x1) / 2.0, y), style.clone()));
                }
            }
        }
        chart.draw_series(cells)?;
        chart.draw_series(labels)?;
        chip_outlines(&mut chart, chip)?;
    }
    colour_bar(&bar, "used / capacity", 1.0, &|v| format!("{:.0}%", v * 100.0))
}

/// Routers as squares, mesh links in grey, loaded links as arrows on the right-hand side
/// of their direction, coloured by utilisation (0 to the busiest link).
pub fn links<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chip: &ChipView) -> Result<(), DrawError<DB>> {
    let (w, _) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(w.saturating_sub(110));
    let mut chart = mesh_chart(&main, chip, "packets on links (colour: busy cycles / run cycles)")?;
    let [gw, gh] = chip.grid;
    let mut mesh_links = Vec::new();
    for y in 0..gh {
        for x in 0..gw {
            let p = (x as f64, y as f64);
            if x + 1 < gw {
                mesh_links.push(PathElement::new(vec![p, (p.0 + 1.0, p.1)], GREY.stroke_width(1)));
            }
            if y + 1 < gh {
                mesh_links.push(PathElement::new(vec![p, (p.0, p.1 + 1.0)], GREY.stroke_width(1)));
            }
        }
    }
    chart.draw_series(mesh_links)?;
    let mut used_tile = vec![false; (gw * gh) as usize];
    for c in chip.used_cores() {
        used_tile[(c.tile[1] * gw + c.tile[0]) as usize] = true;
    }
    let r = 0.14;
    let routers = (0..gh).flat_map(|y| (0..gw).map(move |x| (x, y))).map(|(x, y)| {
        let fill = if used_tile[(y * gw + x) as usize] { RGBColor(150, 150, 150) } else { GREY };
        let (x, y) = (x as f64, y as f64);
        Rectangle::new([(x - r, y - r), (x + r, y + r)], fill.filled())
    });
    chart.draw_series(routers)?;
    let max = chip.links.iter().map(|l| l.utilisation).fold(0.0, f64::max);
    let width = (48.0 / gw.max(gh) as f64).clamp(1.0, 4.0) as u32;
    let mut arrows = Vec::new();
    for l in &chip.links {
        let [dx, dy] = l.dir.step().map(|v| v as f64);
        // Right-hand side of the direction of travel.
        let (ox, oy) = (dy * 0.1, -dx * 0.1);
        let at = |t: f64| (l.from[0] as f64 + dx * t + ox, l.from[1] as f64 + dy * t + oy);
        let colour = viridis(if max > 0.0 { l.utilisation / max } else { 0.0 });
        arrows.push(PathElement::new(vec![at(0.2), at(0.8)], colour.stroke_width(width)));
        let tip = at(0.8);
        let back = at(0.68);
        let (px, py) = (-dy * 0.07, dx * 0.07);
        let head = vec![tip, (back.0 + px, back.1 + py), (back.0 - px, back.1 - py)];
        arrows.push(PathElement::new(head.clone(), colour.stroke_width(1)));
        chart.draw_series(std::iter::once(Polygon::new(head, colour.filled())))?;
    }
    chart.draw_series(arrows)?;
    chip_outlines(&mut chart, chip)?;
    if chip.links.is_empty() {
        let style = ("sans-serif", 14).into_font().color(&DARK).pos(Pos::new(HPos::Center, VPos::Center));
        let centre = ((gw as f64 - 1.0) / 2.0, (gh as f64 - 1.0) / 2.0);
        chart.draw_series(std::iter::once(Text::new("no packet crossed a link", centre, style)))?;
    }
    colour_bar(&bar, "utilisation", max, &|v| format!("{:.1}%", v * 100.0))
}
