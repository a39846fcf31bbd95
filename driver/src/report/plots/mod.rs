//! The report's five pictures, drawn with plotters on any backend (SVG text for the page
//! and the `.svg` exports, an RGB bitmap for the `.png` exports). Text uses the font
//! family `sans-serif`, which [`super::render`] registers (DejaVu Sans, embedded).

mod chip;
mod time;

use plotters::coord::Shift;
use plotters::prelude::*;
use spikeforge_simulator::EnergyPj;

use super::ReportData;

pub use time::energy_components;

/// Errors of drawing on backend `DB`.
pub type DrawError<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;

/// One picture of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plot {
    Heatmap,
    Links,
    Raster,
    Latency,
    Energy,
}

impl Plot {
    pub const ALL: [Plot; 5] = [Plot::Heatmap, Plot::Links, Plot::Raster, Plot::Latency, Plot::Energy];

    /// File stem of the exports and id of the page's section.
    pub fn name(self) -> &'static str {
        match self {
            Plot::Heatmap => "heatmap",
            Plot::Links => "links",
            Plot::Raster => "raster",
            Plot::Latency => "latency",
            Plot::Energy => "energy",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Plot::Heatmap => "Core utilisation",
            Plot::Links => "Link load",
            Plot::Raster => "Spike raster",
            Plot::Latency => "Latency per time step",
            Plot::Energy => "Energy breakdown",
        }
    }

    /// Picture size in pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Plot::Heatmap => (900, 720),
            Plot::Links => (820, 640),
            Plot::Raster | Plot::Latency => (900, 460),
            Plot::Energy => (820, 360),
        }
    }

    /// Whether the data holds what this picture needs.
    pub fn available(self, d: &ReportData) -> bool {
        match self {
            Plot::Raster => d.raster.is_some(),
            Plot::Latency => !d.steps.is_empty(),
            _ => true,
        }
    }

    /// Draws the picture on `area` (the caller checked [`Plot::available`]).
    pub fn draw<DB: DrawingBackend>(self, area: &DrawingArea<DB, Shift>, d: &ReportData) -> Result<(), DrawError<DB>> {
        area.fill(&WHITE)?;
        match self {
            Plot::Heatmap => chip::heatmap(area, &d.chip),
            Plot::Links => chip::links(area, &d.chip),
            Plot::Raster => match &d.raster {
                Some(r) => time::raster(area, r, d.sample),
                None => Ok(()),
            },
            Plot::Latency => time::latency(area, d),
            Plot::Energy => time::energy(area, d),
        }
    }
}

/// Viridis (matplotlib's perceptually uniform map), 9 anchors, linear in between.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The colour of `v` in [0, 1] (clamped).
pub fn viridis(v: f64) -> RGBColor {
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let x = v * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Tableau 10: one colour per population in the raster.
pub const CATEGORY: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub const GREY: RGBColor = RGBColor(225, 225, 225);
pub const DARK: RGBColor = RGBColor(60, 60, 60);

/// A vertical colour bar from 0 to `max` on `area`, labelled with `fmt(value)`.
pub fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    max: f64,
    fmt: &dyn Fn(f64) -> String,
) -> Result<(), DrawError<DB>> {
    let (w, h) = area.dim_in_pixel();
    let (top, bottom) = (40i32, h as i32 - 40);
    let (left, right) = (10i32, 30i32.min(w as i32));
    let n = 64;
    for k in 0..n {
        let y0 = bottom - (bottom - top) * k / n;
        let y1 = bottom - (bottom - top) * (k + 1) / n;
        let c = viridis((k as f64 + 0.5) / n as f64);
        area.draw(&Rectangle::new([(left, y1), (right, y0)], c.filled()))?;
    }
    area.draw(&Rectangle::new([(left, top), (right, bottom)], DARK.stroke_width(1)))?;
    let style = ("sans-serif", 12).into_font().color(&DARK);
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = bottom - (bottom - top) * k / 4;
        area.draw(&PathElement::new(vec![(right, y), (right + 4, y)], DARK))?;
        area.draw(&Text::new(fmt(v), (right + 6, y - 6), style.clone()))?;
    }
    area.draw(&Text::new(title.to_string(), (left, top - 24), style))?;
    Ok(())
}

/// Axis label text for integer positions only (plotters may put ticks between them).
pub fn integer_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

/// A tick label for an axis reaching `top`: the same number of decimals on every tick.
pub fn axis_number(v: f64, top: f64) -> String {
    let decimals = if top > 0.0 && top.is_finite() { (1 - top.log10().floor() as i32).clamp(0, 6) as usize } else { 0 };
    format!("{v:.decimals$}")
}

/// `1234.5` → `1.23 nJ` etc.: the value in pJ with an SI prefix.
pub fn energy_text(pj: f64) -> String {
    let (v, unit) = if pj.abs() >= 1e9 {
        (pj / 1e9, "mJ")
    } else if pj.abs() >= 1e6 {
        (pj / 1e6, "µJ")
    } else if pj.abs() >= 1e3 {
        (pj / 1e3, "nJ")
    } else {
        (pj, "pJ")
    };
    format!("{} {unit}", sig3(v))
}

/// The headline energy: `1.23 nJ` when every component is known, `≥ 1.23 nJ (partial: no
/// figure for neuron, spike out)` when the target lacks some figures (the known part is a
/// lower bound), `unknown (no figure for …)` when it has none for the events that occurred.
pub fn energy_headline(value_pj: Option<f64>, e: &EnergyPj) -> String {
    let missing = e.unavailable.iter().map(|c| c.replace('_', " ")).collect::<Vec<_>>().join(", ");
    match value_pj {
        Some(v) if !e.partial => energy_text(v),
        Some(v) => format!("≥ {} (partial: no figure for {missing})", energy_text(v)),
        None => format!("unknown (no figure for {missing})"),
    }
}

/// Three significant digits, no exponent for ordinary magnitudes.
pub fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_clamps() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(0.5), RGBColor(33, 144, 141));
    }

    #[test]
    fn energy_headline_says_what_is_unknown() {
        let mut e = EnergyPj { total: Some(1234.5), ..Default::default() };
        assert_eq!(energy_headline(e.total, &e), "1.23 nJ");
        e.partial = true;
        e.unavailable = vec!["neuron".into(), "spike_out".into()];
        assert_eq!(energy_headline(e.total, &e), "≥ 1.23 nJ (partial: no figure for neuron, spike out)");
        assert_eq!(energy_headline(None, &e), "unknown (no figure for neuron, spike out)");
    }

    #[test]
    fn numbers_print_with_units() {
        assert_eq!(energy_text(1234.5), "1.23 nJ");
        assert_eq!(energy_text(12.0), "12.0 pJ");
        assert_eq!(energy_text(2.5e7), "25.0 µJ");
        assert_eq!(energy_text(2.228e9), "2.23 mJ");
        assert_eq!(sig3(0.01234), "0.0123");
        assert_eq!(integer_label(&2.0), "2");
        assert_eq!(integer_label(&2.5), "");
        assert_eq!(axis_number(2.0, 14.9), "2");
        assert_eq!(axis_number(0.2, 0.5), "0.20");
    }
}
