//! Comparing two spike arrays (`spikeforge trace diff`): output spikes `[samples, steps,
//! neurons]` or spike counts per layer `[samples, steps, layers]`, with the model (or a
//! bundle.ron beside the first file) naming layers. Needs the divergence module; establishes
//! the kind of array (asked for, or told by the model's sizes, else by the file name) and
//! the report of where the arrays first differ.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::Executor;
use spikeforge_compiler::limits::Limits;

use crate::bundle::{self, BUNDLE_FILE};
use crate::divergence::{self, Axis};
use crate::error::DriverError;
use crate::model;
use crate::options::DynamicsArgs;

/// What the compared arrays hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ArrayKind {
    /// Output arrays when the file name does not say `layer`, or by the model's sizes.
    Auto,
    /// `[samples, steps, neurons]` of the output layer.
    Output,
    /// `[samples, steps, layers]` spike counts per spiking layer.
    Layers,
}

#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// The expected array (.npy).
    pub a: PathBuf,
    /// The array compared with it (.npy).
    pub b: PathBuf,
    pub kind: ArrayKind,
    /// The model, for layer names and sizes (else a bundle.ron beside `a`, if any).
    pub model: Option<PathBuf>,
    /// Steps shown before and after the divergence.
    pub context_steps: usize,
    pub dynamics: DynamicsArgs,
    pub limits: Limits,
}

/// Where two arrays first differ.
#[derive(Clone, Debug)]
pub struct FirstDivergence {
    /// Sample, step and neuron or layer, with both values.
    pub description: String,
    /// The spikes around it, one line per step.
    pub context: String,
}

#[derive(Clone, Debug)]
pub struct DiffReport {
    pub a_shape: Vec<usize>,
    pub b_shape: Vec<usize>,
    /// How the arrays were read, e.g. "spike counts per layer".
    pub what: String,
    pub values: usize,
    pub mismatches: usize,
    /// `None` when the arrays are identical.
    pub first: Option<FirstDivergence>,
}

/// Layer names, the output layer, output size and layer count, from a model or a
/// `bundle.ron` beside `a`.
struct Names {
    layers: Vec<String>,
    output_layer: String,
    sizes: Option<(usize, usize)>,
}

fn names(model: Option<&Path>, beside: &Path, dynamics: &DynamicsArgs, limits: &Limits) -> Result<Names> {
    if let Some(m) = model {
        let (graph, verified, _) = model::load(m, limits)?;
        let exec = Executor::new(&graph, &verified, dynamics.resolve(&graph), limits)?;
        let r = exec.run(&[], 0, 1, 1);
        let output_layer = graph
            .output_nodes()
            .first()
            .and_then(|&o| match graph.inputs(o).as_slice() {
                [one] => Some(graph.name(*one).to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "output".into());
        let sizes = Some((exec.output_len(), r.spiking_layers.len()));
        return Ok(Names { layers: r.spiking_layers, output_layer, sizes });
    }
    let ron = beside.parent().unwrap_or(Path::new(".")).join(BUNDLE_FILE);
    if ron.is_file() {
        let spec = bundle::read_spec(&ron)?;
        let output_layer = spec.output_layer.unwrap_or_else(|| "output".into());
        return Ok(Names { layers: spec.layers, output_layer, sizes: None });
    }
    Ok(Names { layers: Vec::new(), output_layer: "output".into(), sizes: None })
}

/// Compares the two arrays; differing arrays are a report, not an error.
pub fn diff(o: &DiffOptions) -> Result<DiffReport, DriverError> {
    diff_inner(o).map_err(DriverError::from)
}

fn diff_inner(o: &DiffOptions) -> Result<DiffReport> {
    let x = read_npy_f64(&o.a, &o.limits)?;
    let y = read_npy_f64(&o.b, &o.limits)?;
    for (p, arr) in [(&o.a, &x), (&o.b, &y)] {
        if arr.shape.len() != 3 {
            bail!("{}: shape {:?}; expected [samples, steps, neurons or layers]", p.display(), arr.shape);
        }
    }
    if x.shape != y.shape {
        bail!("shapes differ: {} is {:?}, {} is {:?}", o.a.display(), x.shape, o.b.display(), y.shape);
    }
    let shape = [x.shape[0], x.shape[1], x.shape[2]];
    let names = names(o.model.as_deref(), &o.a, &o.dynamics, &o.limits)?;
    let kind = match o.kind {
        ArrayKind::Auto => match names.sizes {
            Some((out, layers)) if shape[2] == layers && shape[2] != out => ArrayKind::Layers,
            Some((out, layers)) if shape[2] == out && shape[2] != layers => ArrayKind::Output,
            _ => {
                let stem = o.a.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
                if stem.contains("layer") {
                    ArrayKind::Layers
                } else {
                    ArrayKind::Output
                }
            }
        },
        k => k,
    };
    let axis = match kind {
        ArrayKind::Layers => {
            let known = names.layers.len() == shape[2];
            Axis::Layers { names: if known { names.layers } else { Vec::new() } }
        }
        _ => Axis::Neurons { layer: names.output_layer },
    };
    let what = match &axis {
        Axis::Layers { .. } => "spike counts per layer".to_string(),
        Axis::Neurons { layer } => format!("spikes of layer `{layer}` per neuron"),
    };
    let first = divergence::first(&x.data, &y.data, shape, &axis).map(|d| FirstDivergence {
        description: d.describe(["A", "B"]),
        context: divergence::context(&x.data, &y.data, shape, &d, o.context_steps, ["A", "B"]),
    });
    Ok(DiffReport {
        a_shape: x.shape.clone(),
        b_shape: y.shape.clone(),
        what,
        values: x.data.len(),
        mismatches: divergence::mismatches(&x.data, &y.data),
        first,
    })
}
