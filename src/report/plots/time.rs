//! The run's pictures: spike raster of one sample, latency per time step, energy by
//! component.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{axis_number, energy_text, integer_label, sig3, DrawError, CATEGORY, DARK};
use crate::report::{Raster, ReportData};

/// One mark per spike: x = time step, y = neuron, populations stacked bottom-up in update
/// order and coloured apart (legend).
pub fn raster<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: &Raster,
    sample: usize,
) -> Result<(), DrawError<DB>> {
    let total: u64 = r.populations.iter().map(|p| p.1 as u64).sum();
    let mut offsets = Vec::with_capacity(r.populations.len());
    let mut acc = 0u64;
    for p in &r.populations {
        offsets.push(acc as f64);
        acc += p.1 as u64;
    }
    let steps = r.n_steps.max(1) as f64;
    // Room above the neurons for the legend (about 20 px per population of ~380 px).
    let headroom = (1.0 - (20.0 * r.populations.len() as f64 + 16.0) / 380.0).max(0.5);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("spikes of sample {sample} ({} spikes)", r.spikes.len()), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..steps, 0.0..total.max(1) as f64 / headroom)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(r.n_steps.min(20) + 1)
        .x_label_formatter(&integer_label)
        .y_label_formatter(&|v| if *v <= total as f64 { integer_label(v) } else { String::new() })
        .x_desc("time step")
        .y_desc("neuron (populations stacked)")
        .draw()?;
    for (k, (name, n)) in r.populations.iter().enumerate() {
        let colour = CATEGORY[k % CATEGORY.len()];
        let base = offsets[k];
        let marks = r.spikes.iter().filter(|s| s.1 as usize == k).map(move |&(step, _, neuron)| {
            let (x, y) = (step as f64, base + neuron as f64);
            Rectangle::new([(x + 0.15, y), (x + 0.85, y + 1.0)], colour.filled())
        });
        chart
            .draw_series(marks)?
            .label(format!("{name} ({n} neurons)"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        if k > 0 {
            let line = PathElement::new(vec![(0.0, base), (steps, base)], DARK.mix(0.4).stroke_width(1));
            chart.draw_series(std::iter::once(line))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(DARK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
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
    let caption = format!("energy per sample: {} in total", energy_text(d.stats.energy_pj_per_sample));
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
        let text = match v {
            Some(v) if d.stats.energy_pj.total > 0.0 => {
                format!("{} ({:.1}%)", energy_text(v), 100.0 * v / d.stats.energy_pj_per_sample.max(f64::MIN_POSITIVE))
            }
            Some(v) => energy_text(v),
            None => "n/a (no figure in the target)".to_string(),
        };
        Text::new(format!("  {text}"), (v.unwrap_or(0.0), SegmentValue::CenterOf(row(k))), style.clone())
    });
    chart.draw_series(labels)?;
    Ok(())
}
