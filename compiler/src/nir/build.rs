//! Turns flattened NIR nodes into IR ops and a verified [`Graph`].
//!
//! Per node: attributes the IR does not keep (`input_type`, `output_type`, Conv
//! `input_shape`) are removed and remembered as shape checks; string padding
//! (`'same'`/`'valid'`) becomes numbers; every other dataset becomes an [`Attr`] and the op
//! is built by [`Op::from_attrs`]. Parameters stored as one value (shape `()` or `(1,)`)
//! need the node's shape: it comes from `input_type`/`output_type` when the file has them,
//! else from a neighbouring node's inferred shape. An Input or Output whose shape is its
//! neighbour's with leading 1s (a traced batch or time dim) takes the neighbour's. The
//! graph is then verified and the remembered shapes compared with the inferred ones.

use std::collections::{BTreeMap, HashMap};

use super::error::op_error_param;
use super::flatten::{dims_of, Expect, FlatGraph, FlatNode, ShapeCheck};
use super::h5::Value;
use super::NirError;
use crate::ir::{Attr, Graph, Op, OpKind, Shape, Tensor, Verified};
use crate::limits::Limits;

/// Parameters NIR stores as integers.
const INT_PARAMS: [&str; 8] =
    ["shape", "stride", "padding", "dilation", "groups", "kernel_size", "start_dim", "end_dim"];

/// A node whose op is not built yet.
struct Pending {
    name: String,
    path: String,
    kind: OpKind,
    attrs: BTreeMap<String, Attr>,
    /// Every tensor parameter holds one value: the op needs a shape from elsewhere.
    needs_shape: bool,
    /// The node's shape as the file declares it (`input_type`/`output_type`).
    declared: Option<Shape>,
}

pub(super) fn build(flat: FlatGraph, source: &str, limits: &Limits) -> Result<Graph, NirError> {
    let FlatGraph { nodes, edges, mut checks } = flat;
    let mut pending = Vec::with_capacity(nodes.len());
    for n in nodes {
        pending.push(prepare(n, source, &mut checks)?);
    }
    let index: HashMap<&str, usize> = pending.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect();
    let mut pairs = Vec::with_capacity(edges.len());
    for e in &edges {
        match (index.get(e.from.as_str()), index.get(e.to.as_str())) {
            (Some(&f), Some(&t)) => pairs.push((f, t)),
            _ => {
                return Err(NirError::Edge {
                    file: source.into(),
                    object: e.object.clone(),
                    index: e.index,
                    edge: format!("`{}` → `{}`", e.from, e.to),
                    detail: "does not connect two nodes of the flattened graph".into(),
                })
            }
        }
    }
    let mut preds = vec![Vec::new(); pending.len()];
    let mut succs = vec![Vec::new(); pending.len()];
    for &(f, t) in &pairs {
        preds[t].push(f);
        succs[f].push(t);
    }
    let mut ops: Vec<Option<Op>> = vec![None; pending.len()];
    for (i, p) in pending.iter().enumerate() {
        if !p.needs_shape || p.declared.is_some() {
            let declared = if p.needs_shape { p.declared.clone() } else { None };
            ops[i] = Some(make_op(p, declared, source, limits)?);
        }
    }
    for i in 0..pending.len() {
        if let Some(Op::Input { shape }) = &ops[i] {
            let wanted = succs[i].iter().find_map(|&t| ops[t].as_ref().and_then(Op::required_input_shape));
            if let Some(shape) = wanted.and_then(|w| without_singleton_lead(shape, &w)) {
                ops[i] = Some(Op::Input { shape });
            }
        }
    }
    // Propagate shapes until every one-value node has a neighbour's shape: each pass is
    // linear, and each pass that changes something fixes at least one more node.
    let mut shapes: Vec<Option<Shape>> = vec![None; pending.len()];
    loop {
        let mut changed = false;
        for i in 0..pending.len() {
            let from_pred = preds[i]
                .iter()
                .find_map(|&f| shapes[f].clone().or_else(|| ops[f].as_ref().and_then(Op::intrinsic_output_shape)));
            match &ops[i] {
                Some(op) if shapes[i].is_none() => {
                    shapes[i] = match op {
                        Op::Input { shape } => Some(shape.clone()),
                        op => from_pred.and_then(|s| op.output_shape(&s).ok()),
                    };
                    changed |= shapes[i].is_some();
                }
                Some(_) => {}
                None => {
                    let hint = from_pred
                        .or_else(|| succs[i].iter().find_map(|&t| ops[t].as_ref().and_then(Op::required_input_shape)));
                    if hint.is_some() {
                        ops[i] = Some(make_op(&pending[i], hint, source, limits)?);
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    for i in 0..pending.len() {
        if let Some(Op::Output { shape }) = &ops[i] {
            let produced = preds[i].iter().find_map(|&f| shapes[f].clone());
            if let Some(shape) = produced.and_then(|p| without_singleton_lead(shape, &p)) {
                ops[i] = Some(Op::Output { shape });
            }
        }
    }
    let mut graph = Graph::new();
    let graph_err = |e| NirError::Graph { file: source.into(), source: Box::new(e) };
    let mut ids = Vec::with_capacity(pending.len());
    for (i, p) in pending.iter().enumerate() {
        let op = match ops[i].take() {
            Some(op) => op,
            None => make_op(p, None, source, limits)?, // no neighbour has a shape: verification reports why
        };
        ids.push(graph.add_node(p.name.clone(), op).map_err(graph_err)?);
    }
    for &(f, t) in &pairs {
        graph.add_edge(ids[f], ids[t]).map_err(graph_err)?;
    }
    let verified = graph.verify(limits).map_err(|errors| NirError::Verify { file: source.into(), errors })?;
    run_checks(&graph, &verified, &checks, source)?;
    Ok(graph)
}

/// `declared` with its leading singleton (batch, time) dims dropped, when that leaves
/// `neighbour`'s shape: exporters that trace with a batch (Rockpool) write an Input of
/// `[1, 12]` before an Affine of 12 inputs, and an Output of `[1, 1, 6]`.
fn without_singleton_lead(declared: &Shape, neighbour: &Shape) -> Option<Shape> {
    let (d, n) = (&declared.0, &neighbour.0);
    let lead = d.len().checked_sub(n.len()).filter(|&k| k > 0)?;
    (d[lead..] == n[..] && d[..lead].iter().all(|&x| x == 1)).then(|| neighbour.clone())
}

/// Compares the shapes the file declared with the inferred ones.
fn run_checks(graph: &Graph, verified: &Verified, checks: &[ShapeCheck], source: &str) -> Result<(), NirError> {
    for c in checks {
        let id = graph.find(&c.node).expect("checks name nodes of the graph");
        let input = graph.inputs(id).first().map(|&from| verified.shape(from).clone());
        let output = verified.shape(id);
        let mismatch = match (&c.expect, &input) {
            (Expect::Input(s), Some(got)) if s != got => {
                Some(format!("declares input shape {s}, but the node receives {got}"))
            }
            (Expect::Spatial(d), Some(got)) if got.dims().get(1..) != Some(d.as_slice()) => {
                Some(format!("declares spatial input shape {:?}, but the node receives {got}", d))
            }
            (Expect::Output(s), _) if s != output => {
                Some(format!("declares output shape {s}, but the node produces {output}"))
            }
            (Expect::OutputNumel(s), _) if s.checked_numel() != output.checked_numel() => {
                Some(format!("declares output shape {s}, but the node produces {output}"))
            }
            _ => None,
        };
        if let Some(detail) = mismatch {
            return Err(NirError::Node { file: source.into(), node: c.node.clone(), object: c.object.clone(), detail });
        }
    }
    Ok(())
}

fn node_err(n: &FlatNode, source: &str, object: String, detail: String) -> NirError {
    NirError::Node { file: source.into(), node: n.name.clone(), object, detail }
}

/// Splits a node's datasets into IR attributes and shape checks.
fn prepare(mut n: FlatNode, source: &str, checks: &mut Vec<ShapeCheck>) -> Result<Pending, NirError> {
    let is_conv = matches!(n.kind, OpKind::Conv1d | OpKind::Conv2d);
    let mut declared = None;
    for key in ["input_type", "output_type", "input_shape"] {
        if key == "input_shape" && !is_conv {
            continue; // not dropped: from_attrs reports it as unknown
        }
        let Some(v) = n.values.remove(key) else { continue };
        let object = format!("{}/{key}", n.path);
        let dims = dims_of(&v)
            .ok_or_else(|| node_err(&n, source, object.clone(), format!("`{key}` must be non-negative integers")))?;
        let expect = match key {
            "input_type" => Expect::Input(Shape(dims.clone())),
            "output_type" => Expect::Output(Shape(dims.clone())),
            _ => Expect::Spatial(dims.clone()),
        };
        if key != "input_shape" {
            declared.get_or_insert(Shape(dims));
        }
        checks.push(ShapeCheck { node: n.name.clone(), object, expect });
    }
    if is_conv {
        if let Some(Value::Str { data, .. }) = n.values.get("padding") {
            let pads = same_or_valid(&n, data)
                .map_err(|detail| node_err(&n, source, format!("{}/padding", n.path), detail))?;
            n.values.insert("padding".into(), Value::Int { dims: vec![pads.len()], data: pads });
        }
    }
    let mut attrs = BTreeMap::new();
    let mut one_valued = 0;
    for (key, v) in std::mem::take(&mut n.values) {
        let attr = match v {
            Value::Int { data, .. } if INT_PARAMS.contains(&key.as_str()) => Attr::Ints(data),
            Value::Int { dims, data } => Attr::Tensor(
                Tensor::new(Shape(dims), data.into_iter().map(|x| x as f64).collect())
                    .expect("dims match the data read"),
            ),
            Value::Float(t) => Attr::Tensor(t),
            Value::Str { .. } => {
                let detail = format!("parameter `{key}` is a string; NIR stores numbers here");
                return Err(node_err(&n, source, format!("{}/{key}", n.path), detail));
            }
        };
        if let Attr::Tensor(t) = &attr {
            one_valued += usize::from(t.numel() == 1);
        }
        attrs.insert(key, attr);
    }
    let tensors = attrs.values().filter(|a| matches!(a, Attr::Tensor(_))).count();
    let elementwise = matches!(n.kind, OpKind::Scale | OpKind::Threshold | OpKind::Delay);
    let needs_shape = (n.kind.is_neuron() || elementwise) && tensors > 0 && one_valued == tensors;
    Ok(Pending { name: n.name, path: n.path, kind: n.kind, attrs, needs_shape, declared })
}

/// Numeric padding for `'valid'` (none) or `'same'` (output size = input size; needs stride
/// 1 and an even total padding, split equally).
fn same_or_valid(n: &FlatNode, data: &[String]) -> Result<Vec<i64>, String> {
    let spatial = if n.kind == OpKind::Conv1d { 1 } else { 2 };
    let word = match data {
        [w] => w.as_str(),
        _ => return Err("string padding must be one word, 'same' or 'valid'".into()),
    };
    let ints = |key: &str| match n.values.get(key) {
        Some(Value::Int { data, .. }) if data.len() == 1 => Some(vec![data[0]; spatial]),
        Some(Value::Int { data, .. }) => Some(data.clone()),
        Some(Value::Float(t)) => Some(t.data().iter().map(|&x| x as i64).collect()),
        _ => None,
    };
    match word {
        "valid" => Ok(vec![0; spatial]),
        "same" => {
            if ints("stride").is_some_and(|s| s.iter().any(|&x| x != 1)) {
                return Err("padding 'same' needs stride 1 (as in PyTorch)".into());
            }
            let kernel = match n.values.get("weight") {
                Some(Value::Float(w)) if w.dims().len() == spatial + 2 => w.dims()[2..].to_vec(),
                _ => return Err("padding 'same' needs a weight of rank 3 (Conv1d) or 4 (Conv2d) to size it".into()),
            };
            let dilation = ints("dilation").unwrap_or_else(|| vec![1; spatial]);
            let mut pads = Vec::with_capacity(spatial);
            for (i, &k) in kernel.iter().enumerate() {
                let d = *dilation.get(i).or(dilation.first()).unwrap_or(&1);
                let total = d.saturating_mul(k as i64 - 1);
                if total % 2 != 0 {
                    return Err(format!(
                        "padding 'same' with kernel {k} and dilation {d} pads unequally on the two sides, \
                         which spikeforge's convolution does not support"
                    ));
                }
                pads.push(total / 2);
            }
            Ok(pads)
        }
        other => Err(format!("padding `{other}` is not 'same', 'valid' or numbers")),
    }
}

/// Builds the op through [`Op::from_attrs`]; `shape` sizes parameters stored as one value.
fn make_op(p: &Pending, shape: Option<Shape>, source: &str, limits: &Limits) -> Result<Op, NirError> {
    if let Some(s) = &shape {
        let limit = limits.max_node_elements.min(limits.max_tensor_elements);
        if s.checked_numel().is_none_or(|n| n > limit) {
            return Err(NirError::Node {
                file: source.into(),
                node: p.name.clone(),
                object: p.path.clone(),
                detail: format!(
                    "its parameters would be expanded to shape {s}, above the limit of {limit} elements (raise it with --max-memory)"
                ),
            });
        }
    }
    let mut attrs = p.attrs.clone();
    if let (Some(s), OpKind::Scale | OpKind::Threshold | OpKind::Delay) = (&shape, p.kind) {
        for a in attrs.values_mut() {
            if let Attr::Tensor(t) = a {
                if t.numel() == 1 {
                    *t = t.broadcast_to(s).expect("one value broadcasts to any shape");
                }
            }
        }
    }
    let kind = infinite_tau_as_if(p, &mut attrs, source)?;
    let hint = if kind.is_neuron() { shape.as_ref() } else { None };
    Op::from_attrs(kind, attrs, hint).map_err(|e| {
        let param = op_error_param(&e);
        let object = if p.attrs.contains_key(param) { format!("{}/{param}", p.path) } else { p.path.clone() };
        NirError::Param { file: source.into(), node: p.name.clone(), object, source: Box::new(e) }
    })
}

/// The time step snnTorch's exporter writes `r = τ/dt` with.
const SNNTORCH_EXPORT_DT: f64 = 1e-4;

/// A LIF whose `tau` is infinite (snnTorch's `Leaky(beta=1)`, exported as `τ = r = ∞`)
/// has the well-defined limit `v ← v + (r/τ)·dt·I` with `r/τ = 1/dt_export`: it is an IF
/// node with `r = 1/1e-4`, so `v ← v + I` at snnTorch's time step. Rewrites the attributes
/// and returns the kind to build; a partly infinite or otherwise undefined limit is an error.
fn infinite_tau_as_if(p: &Pending, attrs: &mut BTreeMap<String, Attr>, source: &str) -> Result<OpKind, NirError> {
    let infinite = |name: &str, attrs: &BTreeMap<String, Attr>| match attrs.get(name) {
        Some(Attr::Tensor(t)) => {
            let inf = t.data().iter().filter(|v| **v == f64::INFINITY).count();
            (inf > 0, inf == t.numel() && inf > 0)
        }
        _ => (false, false),
    };
    let err =
        |detail: String| NirError::Node { file: source.into(), node: p.name.clone(), object: p.path.clone(), detail };
    let tau_name = match p.kind {
        OpKind::LIF | OpKind::LI => "tau",
        OpKind::CubaLIF | OpKind::CubaLI => "tau_mem",
        _ => return Ok(p.kind),
    };
    let (any_inf, all_inf) = infinite(tau_name, attrs);
    if !any_inf {
        return Ok(p.kind);
    }
    if p.kind != OpKind::LIF {
        return Err(err(format!(
            "`{tau_name}` is infinite (a decay factor of 1); only a LIF with infinite `tau` has a defined limit (IF)"
        )));
    }
    let (_, r_inf) = infinite("r", attrs);
    if !all_inf || !r_inf {
        return Err(err(
            "`tau` is infinite for some neurons: a LIF with β = 1 imports as IF only when every `tau` and every `r` is infinite (snnTorch writes r = τ/dt); split the layer or give finite values".into(),
        ));
    }
    attrs.remove("tau");
    attrs.remove("v_leak");
    let r = match attrs.get("r") {
        Some(Attr::Tensor(t)) => Tensor::full(t.shape().clone(), 1.0 / SNNTORCH_EXPORT_DT),
        _ => Tensor::scalar(1.0 / SNNTORCH_EXPORT_DT),
    };
    attrs.insert("r".into(), Attr::Tensor(r));
    Ok(OpKind::IF)
}
