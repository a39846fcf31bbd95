//! `check`: a model's summary (nodes, shapes, neurons, synapses, parameters) as the CLI
//! prints it. Needs a verified [`Model`]; establishes the printed table as text.

use std::fmt::Write;

use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::summary::Summary;

use crate::model::{Format, Model};

/// The `check` report as printed by the CLI on stdout: header, node table and totals (one
/// string with newlines; `format` is the file's, if the model came from one). Its warnings
/// are `spikeforge_compiler::exec::advice::warnings`.
pub fn render_check(model: &Model, format: Option<Format>, dynamics: &Dynamics) -> String {
    let s = Summary::new(&model.graph, &model.verified);
    let mut o = String::new();
    let _ = match format {
        Some(f) => writeln!(o, "model     {} ({})", model.name, f.describe()),
        None => writeln!(o, "model     {}", model.name),
    };
    let _ = writeln!(o, "dynamics  {dynamics}");
    let _ = writeln!(o, "graph     {} nodes, {} edges ({} recurrent)", s.nodes.len(), s.n_edges, s.n_recurrent_edges);
    let _ = writeln!(o);
    let w_name = s.nodes.iter().map(|n| n.name.len()).max().unwrap_or(4).max(4);
    let shapes: Vec<String> = s.nodes.iter().map(|n| n.shape.to_string()).collect();
    let w_shape = shapes.iter().map(|x| x.len()).max().unwrap_or(5).max(5);
    let _ = writeln!(
        o,
        "{:<w_name$}  {:<9}  {:<w_shape$}  {:>9}  {:>11}  {:>10}  inputs",
        "node", "op", "shape", "neurons", "synapses", "params"
    );
    for (n, shape) in s.nodes.iter().zip(&shapes) {
        let num = |v: u64| if v == 0 { "-".to_string() } else { v.to_string() };
        let _ = writeln!(
            o,
            "{:<w_name$}  {:<9}  {:<w_shape$}  {:>9}  {:>11}  {:>10}  {}",
            n.name,
            n.kind.name(),
            shape,
            num(n.neurons),
            num(n.synapses),
            num(n.parameters),
            n.inputs.join(", ")
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "neurons     {} ({} spiking)", s.neurons(), s.spiking_neurons());
    let _ = writeln!(
        o,
        "synapses    {} nonzero connections, unrolled; {} weights stored",
        s.synapses(),
        s.weights_stored()
    );
    let _ = writeln!(o, "parameters  {}", s.parameters());
    o
}
