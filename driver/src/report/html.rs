//! The page: a header with the run's key figures and where the data came from, then one
//! section per picture (inline SVG) with its tables. No script, no external stylesheet,
//! font or image: the file opens offline and references nothing outside itself.

use std::fmt::Write as _;

use super::plots::{energy_headline, sig3, Plot};
use super::tables::{self, esc};
use super::{missing_note, ReportData};

pub(crate) const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 0 1.5rem 3rem; color: #222; background: #fff; }
header { border-bottom: 2px solid #ddd; margin-bottom: 1rem; }
h1 { font-size: 1.5rem; margin: 1.2rem 0 0.4rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.5rem; }
nav a { margin-right: 1rem; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; font-size: 0.92rem; }
dl.facts dt { color: #555; }
dl.facts dd { margin: 0; }
section.view { margin: 1.5rem 0 2.5rem; padding-top: 0.5rem; border-top: 1px solid #eee; }
figure { margin: 0.5rem 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
p.missing { padding: 1rem; background: #fff4e0; border: 1px solid #f0c36d; }
p.note { color: #555; font-size: 0.9rem; }
details { margin: 0.5rem 0; }
summary { cursor: pointer; color: #335; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: #555; padding: 0.2rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
footer { color: #777; font-size: 0.8rem; margin-top: 2rem; }
";

/// An SVG document made ready to inline: the XML namespace (implicit in HTML) dropped.
pub fn inline_svg(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

fn facts(d: &ReportData) -> String {
    let s = &d.stats;
    let used = d.chip.used_cores().count();
    let mut rows = vec![
        ("core map", esc(&d.map_file)),
        ("model", esc(&s.model)),
        ("target", esc(&s.target)),
        ("numerics", esc(&s.mode)),
        ("run", format!("{} samples × {} steps", s.n_samples, s.n_steps)),
        ("cores used", format!("{used} of {}", d.chip.cores.len())),
        (
            "SOPs per sample",
            format!("{} (+{} pooling)", sig3(s.sops_weight_layers_per_sample), sig3(s.sops_pooling_per_sample)),
        ),
        ("packets", format!("{} ({} hops)", s.packets, s.hops)),
        (
            "latency per step",
            format!("{} µs mean, {} µs max", sig3(s.latency_us_per_step_mean), sig3(s.latency_us_per_step_max)),
        ),
        ("energy per sample", esc(&energy_headline(s.energy_pj_per_sample, &s.energy_pj))),
    ];
    if let Some((layer, why)) = bottleneck_summary(s) {
        rows.push(("bottleneck layer", format!("<strong>{}</strong>: {}", esc(&layer), esc(&why))));
    }
    for (what, from) in &d.sources {
        rows.push((what.as_str(), esc(from)));
    }
    let mut out = String::from("<dl class=\"facts\">\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>\n");
    out
}

/// The bottleneck layer (see [`spikeforge_simulator::bottleneck`]) and what makes it one:
/// `("fc2", "critical path in 85.0% of steps (17 of 20), 1234 busy cycles")`.
pub fn bottleneck_summary(s: &spikeforge_simulator::SimStats) -> Option<(String, String)> {
    let l = &s.layers[spikeforge_simulator::bottleneck(&s.layers)?];
    let steps: u64 = s.cores.iter().map(|c| c.critical_path_steps).sum();
    let share = 100.0 * l.critical_path_steps as f64 / steps.max(1) as f64;
    let why = format!(
        "critical path in {share:.1}% of steps ({} of {steps}), {} busy cycles",
        l.critical_path_steps, l.busy_cycles
    );
    Some((l.population.clone(), why))
}

fn view_text(plot: Plot) -> &'static str {
    match plot {
        Plot::Heatmap => {
            "Each square is a core on its tile of the mesh (x east, y north), coloured by the share of its \
             capacity the program uses, one panel per resource. Grey cores hold nothing."
        }
        Plot::Links => {
            "Each arrow is a directed link between neighbouring routers that carried packets, drawn on the \
             right-hand side of its direction and coloured by its busy cycles over the run's cycles. \
             Darker router squares hold used cores."
        }
        Plot::Raster => "One mark per spike of the shown sample: time step across, neuron up, populations stacked.",
        Plot::Latency => {
            "Cycles of each time step of the shown sample at the target clock: the critical path through cores \
             and routers, then the barrier that ends the step."
        }
        Plot::Energy => {
            "Energy per sample by component, from the target's per-event figures: synaptic operations, neuron \
             updates, spike packets out, hops on links, and static power over the run's time."
        }
    }
}

/// The whole page. `svgs` holds each picture's SVG (`None` when its data is missing).
pub fn page(d: &ReportData, svgs: &[(Plot, Option<String>)]) -> String {
    let s = &d.stats;
    let title = format!("spikeforge report: {} on {}", s.model, s.target);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    out.push_str(&facts(d));
    out.push_str("<nav><a href=\"#layers\">Layers</a>");
    for (plot, _) in svgs {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", plot.name(), esc(plot.title()));
    }
    out.push_str("</nav>\n</header>\n<main>\n");
    let _ = write!(
        out,
        "<section class=\"view\" id=\"layers\">\n<h2>Layers</h2>\n<p class=\"note\">{}</p>\n{}</section>\n",
        esc("Where each layer sits and what it cost over the run. A step's critical-path core is the core whose \
             work ends last; the layer whose cores end the most steps (then the most busy cycles) is the \
             bottleneck. Busy cycles are the cycles cores spend on the layer's packets, packet building and \
             neuron updates."),
        tables::layers(d)
    );
    for (plot, svg) in svgs {
        let _ = writeln!(out, "<section class=\"view\" id=\"{}\">\n<h2>{}</h2>", plot.name(), esc(plot.title()));
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(view_text(*plot)));
        match svg {
            Some(svg) => {
                let _ = writeln!(out, "<figure id=\"{}-figure\">\n{}</figure>", plot.name(), inline_svg(svg));
            }
            None => {
                let _ = writeln!(out, "<p class=\"missing\">{}</p>", esc(missing_note(plot.name())));
            }
        }
        if let (Plot::Raster, Some(r)) = (plot, &d.raster) {
            let _ = writeln!(out, "<p class=\"note\">Spikes: {}.</p>", esc(&r.source));
        }
        let table = match plot {
            Plot::Heatmap => tables::heatmap(d),
            Plot::Links => tables::links(d),
            Plot::Raster => tables::raster(d.raster.as_ref(), d),
            Plot::Latency => tables::latency(d),
            Plot::Energy => tables::energy(d),
        };
        let _ = write!(out, "<details open>\n<summary>Numbers</summary>\n{table}</details>\n</section>\n");
    }
    let _ = write!(
        out,
        "</main>\n<footer>Generated by spikeforge {} from the core map and the run's statistics; \
         self-contained (no scripts, fonts or images are loaded).</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}
