//! `spikeforge check MODEL`: validate and summarise.

use std::path::PathBuf;

use anyhow::Result;
use spikeforge_compiler::summary::Summary;

use crate::model;
use crate::options::{DynamicsArgs, LimitArgs};
use crate::pipeline::PassArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Model file: .nir (NIR, HDF5) or .snn (text format).
    pub model: PathBuf,
    #[command(flatten)]
    pub dynamics: DynamicsArgs,
    #[command(flatten)]
    pub passes: PassArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(a: Args) -> Result<()> {
    let limits = a.limits.limits();
    let (mut graph, mut verified, format) = model::load(&a.model, &limits)?;
    let dynamics = a.dynamics.resolve(&graph);
    let calib = a.passes.calibration(&graph, &verified, None, dynamics, &limits)?;
    a.passes.apply(&mut graph, &mut verified, calib.as_ref(), dynamics, &limits)?;
    let s = Summary::new(&graph, &verified);
    println!("model     {} ({})", a.model.display(), format.describe());
    println!("dynamics  {dynamics}");
    for w in spikeforge_compiler::exec::advice::warnings(&graph, &dynamics) {
        eprintln!("warning: {w}");
    }
    println!("graph     {} nodes, {} edges ({} recurrent)", s.nodes.len(), s.n_edges, s.n_recurrent_edges);
    println!();
    let w_name = s.nodes.iter().map(|n| n.name.len()).max().unwrap_or(4).max(4);
    let shapes: Vec<String> = s.nodes.iter().map(|n| n.shape.to_string()).collect();
    let w_shape = shapes.iter().map(|x| x.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<w_name$}  {:<9}  {:<w_shape$}  {:>9}  {:>11}  {:>10}  inputs",
        "node", "op", "shape", "neurons", "synapses", "params"
    );
    for (n, shape) in s.nodes.iter().zip(&shapes) {
        let num = |v: u64| if v == 0 { "-".to_string() } else { v.to_string() };
        println!(
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
    println!();
    println!("neurons     {} ({} spiking)", s.neurons(), s.spiking_neurons());
    println!("synapses    {} nonzero connections, unrolled; {} weights stored", s.synapses(), s.weights_stored());
    println!("parameters  {}", s.parameters());
    Ok(())
}
