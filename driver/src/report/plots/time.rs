//! The run's pictures: spike raster of one sample, latency per time step, energy by
//! component.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{axis_number, energy_headline, energy_text, integer_label, sig3, DrawError, CATEGORY, DARK};
use crate::report::{Raster, ReportData};

/// Width of the raster's legend, right of the plot.
const RASTER_LEGEND_PX: u32 = 210;

/// One mark per spike: x = time step, y = neuron, populations stacked bottom-up in update
/// order and coloured apart; the legend (name, neurons, spikes) sits right of the plot.
/// Marks are placed in pixels and are at least one pixel high: with more neurons than
/// pixel rows, neighbouring neurons share a row, which is marked when any of them spiked
/// (the axis title says how many share), so no spike disappears.
pub fn raster<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &Raster,
    sample: usize,
) -> Result<(), DrawError<DB>> {
    let total: u64 = r.populations.iter().map(|p| p.1 as u64).sum();
    let mut offsets = Vec::with_capacity(r.populations.len());
    let mut acc = 0u64;
    for p in &r.populations {
        offsets.push(acc);
        acc += p.1 as u64;
    }
    let steps = r.n_steps.max(1) as f64;
    let (w, _) = area.dim_in_pixel();
    let (plot_area, legend_area) = area.split_horizontally(w.saturating_sub(RASTER_LEGEND_PX));
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(format!("spikes of sample {sample} ({} spikes)", r.spikes.len()), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..steps, 0.0..total.max(1) as f64)?;
    let plot = chart.plotting_area().strip_coord_spec();
    let (pw, ph) = plot.dim_in_pixel();
    let per_row = total.div_ceil(ph.max(1) as u64).max(1);
    let y_desc = if per_row > 1 {
        format!("neuron (populations stacked; up to {per_row} per pixel row)")
    } else {
        "neuron (populations stacked)".to_string()
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(r.n_steps.min(20) + 1)
        .x_label_formatter(&integer_label)
        .y_label_formatter(&integer_label)
        .x_desc("time step")
        .y_desc(y_desc)
        .draw()?;
    // Pixel edges: neuron row `n` spans [y_px(n + 1), y_px(n)), at least one pixel.
    let y_px = |n: u64| ph as i32 - (n as f64 * ph as f64 / total.max(1) as f64).round() as i32;
    let x_px = |x: f64| (x * pw as f64 / steps).round() as i32;
    let mut marked = std::collections::HashSet::new();
    for &(step, pop, neuron) in &r.spikes {
        let n = offsets[pop as usize] + neuron as u64;
        let bottom = y_px(n).min(ph as i32);
        let top = y_px(n + 1).min(bottom - 1);
        let x0 = x_px(step as f64 + 0.15);
        let x1 = x_px(step as f64 + 0.85).max(x0 + 1);
        if marked.insert((step, pop, top)) {
            let colour = CATEGORY[pop as usize % CATEGORY.len()];
            plot.draw(&Rectangle::new([(x0, top), (x1, bottom)], colour.filled()))?;
        }
    }
    for &base in offsets.iter().skip(1) {
        let y = y_px(base);
        plot.draw(&PathElement::new(vec![(0, y), (pw as i32, y)], DARK.mix(0.4).stroke_width(1)))?;
    }
    raster_legend(&legend_area, r)
}

/// The raster's legend: one line per population (colour, name, neurons, spikes).
fn raster_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: &Raster) -> Result<(), DrawError<DB>> {
    let (_, h) = area.dim_in_pixel();
    let name_style = ("sans-serif", 13).into_font().color(&DARK);
    let note_style = ("sans-serif", 11).into_font().color(&DARK.mix(0.8));
    let line_px = 36;
    let fits = ((h as i32 - 80) / line_px).max(1) as usize;
    let mut counts = vec![0u64; r.populations.len()];
    for s in &r.spikes {
        counts[s.1 as usize] += 1;
    }
    // Top down in the order the raster stacks them bottom up: the last population first.
    let order: Vec<usize> = (0..r.populations.len()).rev().collect();
    let shown = if order.len() > fits { fits - 1 } else { order.len() };
    for (line, &k) in order.iter().take(shown).enumerate() {
        let (name, n) = &r.populations[k];
        let y = 44 + line as i32 * line_px;
        let colour = CATEGORY[k % CATEGORY.len()];
        area.draw(&Rectangle::new([(6, y + 2), (18, y + 14)], colour.filled()))?;
        let name: String = if name.chars().count() > 24 {
            name.chars().take(23).chain(std::iter::once('…')).collect()
        } else {
            name.clone()
        };
        area.draw(&Text::new(name, (24, y), name_style.clone()))?;
        let note = format!("{n} neurons, {} spikes", counts[k]);
        area.draw(&Text::new(note, (24, y + 16), note_style.clone()))?;
    }
    if shown < order.len() {
        let y = 44 + shown as i32 * line_px;
        area.draw(&Text::new(format!("… and {} more", order.len() - shown), (24, y), name_style))?;
    }
    Ok(())
}

/// Stacked bars per step of the shown sample: critical path and barrier (µs), and the
/// mean latency over all samples as a line when the run had several.
pub fn latency<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ReportData) -> Result<(), DrawError<DB>> {
    let clock = d.stats.clock_mhz;
    let us = |c: u64| c as f64 / clock;
    let n = d.steps.len();
    let mut top = d.steps.iter().map(|s| s.latency_us).fold(0.0, f64::max);
    if let Some(m) = &d.step_mean_latency_us {
        top = m.iter().copied().fold(top, f64::max);
    }
    let mut chart = ChartBuilder::on(area)
        .caption(format!("sample {} at {} MHz", d.sample, sig3(clock)), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..(top * 1.3).max(1e-9))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.min(20) + 1)
        .x_label_formatter(&integer_label)
        .y_label_formatter(&|v| axis_number(*v, top))
        .x_desc("time step")
        .y_desc("latency (µs)")
        .draw()?;
    let critical = CATEGORY[0];
    let barrier = RGBColor(158, 202, 225);
    let bars = |f: &dyn Fn(&spikeforge_simulator::StepRow) -> (f64, f64), colour: RGBColor| {
        d.steps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let (lo, hi) = f(s);
                Rectangle::new([(k as f64 - 0.38, lo), (k as f64 + 0.38, hi)], colour.filled())
            })
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(bars(&|s| (0.0, us(s.critical_path_cycles)), critical))?
        .label("critical path")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], critical.filled()));
    chart
        .draw_series(bars(&|s| (us(s.critical_path_cycles), s.latency_us), barrier))?
        .label("barrier")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], barrier.filled()));
    if let Some(m) = &d.step_mean_latency_us {
        let orange = CATEGORY[1];
        let pts: Vec<(f64, f64)> = m.iter().enumerate().map(|(k, &v)| (k as f64, v)).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), orange.stroke_width(2)))?
            .label(format!("mean over {} samples", d.stats.n_samples))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 10, y)], orange.stroke_width(2)));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, orange.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(DARK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

/// The energy components of one sample, with their names and values in pJ (`None`: the
/// target gives no figure for events that occurred).
pub fn energy_components(d: &ReportData) -> [(&'static str, Option<f64>); 5] {
    let e = &d.stats.energy_pj;
    let per = |v: Option<f64>| v.map(|x| x / d.stats.n_samples.max(1) as f64);
    [
        ("synaptic ops", per(e.synapse)),
        ("neuron updates", per(e.neuron)),
        ("spikes out", per(e.spike_out)),
        ("hops", per(e.routing)),
        ("static", per(e.static_)),
    ]
}

/// Horizontal bars: energy per sample by component.
pub fn energy<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &ReportData) -> Result<(), DrawError<DB>> {
    let comps = energy_components(d);
    let max = comps.iter().filter_map(|c| c.1).fold(0.0, f64::max);
    let n = comps.len() as i32;
    let caption = format!("energy per sample: {}", energy_headline(d.stats.energy_pj_per_sample, &d.stats.energy_pj));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..(max * 1.3).max(1e-9), (0..n - 1).into_segmented())?;
    // Components from the top down, in the order of the table.
    let row = |k: usize| n - 1 - k as i32;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_label_formatter(&|v| energy_text(*v))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if (0..n).contains(i) => comps[(n - 1 - i) as usize].0.to_string(),
            _ => String::new(),
        })
        .x_desc("energy per sample")
        .draw()?;
    let bars = comps.iter().enumerate().filter_map(|(k, &(_, v))| {
        let v = v?;
        let mut bar = Rectangle::new(
            [(0.0, SegmentValue::Exact(row(k))), (v, SegmentValue::Exact(row(k) + 1))],
            CATEGORY[k].filled(),
        );
        bar.set_margin(8, 8, 0, 0);
        Some(bar)
    });
    chart.draw_series(bars)?;
    let style = ("sans-serif", 12).into_font().color(&DARK).pos(Pos::new(HPos::Left, VPos::Center));
    let labels = comps.iter().enumerate().map(|(k, &(_, v))| {
        // A share only of a complete, nonzero total: of a lower bound it would overstate.
        let complete = d.stats.energy_pj_per_sample.filter(|&t| t > 0.0 && !d.stats.energy_pj.partial);
        let text = match (v, complete) {
            (Some(v), Some(total)) => format!("{} ({:.1}%)", energy_text(v), 100.0 * v / total),
            (Some(v), None) => energy_text(v),
            (None, _) => "unknown (no figure in the target)".to_string(),
        };
        Text::new(format!("  {text}"), (v.unwrap_or(0.0), SegmentValue::CenterOf(row(k))), style.clone())
    });
    chart.draw_series(labels)?;
    Ok(())
}
