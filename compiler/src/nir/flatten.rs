//! Flattens nested NIRGraph nodes into one graph with scoped names (`outer.inner`).
//!
//! Edges are resolved in the scope of the graph that lists them. An endpoint may name a
//! node of that graph, a node inside a subgraph (`sub.name`, at any depth), or a subgraph
//! itself (`sub`), which means its single Input node as a target and its single Output
//! node as a source. A subgraph's own Input and Output nodes are then removed and every
//! path through them reconnected; the shapes they declared become checks on the nodes they
//! fed, run after shape inference.

use std::collections::BTreeMap;

use super::h5::Value;
use super::parse::{Body, RawGraph};
use super::NirError;
use crate::ir::{OpKind, Shape};

pub(super) struct FlatNode {
    pub name: String,
    pub path: String,
    pub kind: OpKind,
    pub values: BTreeMap<String, Value>,
}

pub(super) struct FlatEdge {
    pub from: String,
    pub to: String,
    /// Where the edge was written: the `edges` dataset and the row.
    pub object: String,
    pub index: usize,
}

/// A shape a file declares for a node, checked against the inferred shapes.
pub(super) struct ShapeCheck {
    pub node: String,
    /// The object that declared it, e.g. `node/nodes/5/input_type`.
    pub object: String,
    pub expect: Expect,
}

pub(super) enum Expect {
    /// The node receives exactly this shape.
    Input(Shape),
    /// The node receives `[C, spatial…]` with these spatial dimensions (Conv `input_shape`).
    Spatial(Vec<usize>),
    /// The node produces exactly this shape.
    Output(Shape),
    /// The node produces this many elements (a subgraph Output may reshape).
    OutputNumel(Shape),
}

pub(super) struct FlatGraph {
    pub nodes: Vec<FlatNode>,
    pub edges: Vec<FlatEdge>,
    pub checks: Vec<ShapeCheck>,
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Source,
    Target,
}

/// Non-negative integers of a dataset, as dimensions.
pub(super) fn dims_of(v: &Value) -> Option<Vec<usize>> {
    match v {
        Value::Int { data, .. } => data.iter().map(|&d| usize::try_from(d).ok()).collect(),
        _ => None,
    }
}

pub(super) fn flatten(root: RawGraph, source: &str) -> Result<FlatGraph, NirError> {
    let mut nodes = Vec::new();
    let mut virtuals = Vec::new();
    let mut edges = Vec::new();
    collect(&root, "", 0, source, &mut nodes, &mut virtuals, &mut edges)?;
    let mut checks = Vec::new();
    for v in virtuals {
        let shape = match v.values.get("shape").and_then(dims_of) {
            Some(d) => Shape(d),
            None => {
                return Err(NirError::Node {
                    file: source.into(),
                    node: v.name,
                    object: format!("{}/shape", v.path),
                    detail: format!("a subgraph's {} node needs an integer `shape`", v.kind),
                })
            }
        };
        let succs: Vec<String> =
            edges.iter().filter(|e: &&FlatEdge| e.from == v.name && e.to != v.name).map(|e| e.to.clone()).collect();
        let preds: Vec<String> =
            edges.iter().filter(|e| e.to == v.name && e.from != v.name).map(|e| e.from.clone()).collect();
        let object = format!("{}/shape", v.path);
        let expect = |n: &String| match v.kind {
            OpKind::Input => {
                ShapeCheck { node: n.clone(), object: object.clone(), expect: Expect::Input(shape.clone()) }
            }
            _ => ShapeCheck { node: n.clone(), object: object.clone(), expect: Expect::OutputNumel(shape.clone()) },
        };
        let neighbours = if v.kind == OpKind::Input { &succs } else { &preds };
        checks.extend(neighbours.iter().map(expect));
        let mut rewired = Vec::with_capacity(edges.len());
        for e in edges {
            if e.from == v.name {
                continue;
            }
            if e.to == v.name {
                for s in &succs {
                    rewired.push(FlatEdge {
                        from: e.from.clone(),
                        to: s.clone(),
                        object: e.object.clone(),
                        index: e.index,
                    });
                }
            } else {
                rewired.push(e);
            }
        }
        edges = rewired;
    }
    // A check on a node that was itself a removed Input/Output does not apply.
    checks.retain(|c| nodes.iter().any(|n: &FlatNode| n.name == c.node));
    Ok(FlatGraph { nodes, edges, checks })
}

fn collect(
    g: &RawGraph,
    prefix: &str,
    depth: usize,
    source: &str,
    nodes: &mut Vec<FlatNode>,
    virtuals: &mut Vec<FlatNode>,
    edges: &mut Vec<FlatEdge>,
) -> Result<(), NirError> {
    for n in &g.nodes {
        let name = format!("{prefix}{}", n.name);
        match &n.body {
            Body::Leaf { kind, values } => {
                let flat = FlatNode { name, path: n.path.clone(), kind: *kind, values: values.clone() };
                if depth > 0 && matches!(kind, OpKind::Input | OpKind::Output) {
                    virtuals.push(flat);
                } else {
                    nodes.push(flat);
                }
            }
            Body::Graph(sub) => collect(sub, &format!("{name}."), depth + 1, source, nodes, virtuals, edges)?,
        }
    }
    for (index, (a, b)) in g.edges.iter().enumerate() {
        let err = |detail: String| NirError::Edge {
            file: source.into(),
            object: g.edges_path.clone(),
            index,
            edge: format!("`{a}` → `{b}`"),
            detail,
        };
        let from = resolve(g, prefix, a, Side::Source).map_err(err)?;
        let to = resolve(g, prefix, b, Side::Target).map_err(err)?;
        edges.push(FlatEdge { from, to, object: g.edges_path.clone(), index });
    }
    Ok(())
}

/// The scoped name of the node an edge endpoint means.
fn resolve(g: &RawGraph, prefix: &str, name: &str, side: Side) -> Result<String, String> {
    if let Some(n) = g.find(name) {
        return match &n.body {
            Body::Leaf { .. } => Ok(format!("{prefix}{name}")),
            Body::Graph(sub) => io_node(sub, &format!("{prefix}{name}"), side),
        };
    }
    for (i, _) in name.match_indices('.') {
        if let Some(Body::Graph(sub)) = g.find(&name[..i]).map(|n| &n.body) {
            return resolve(sub, &format!("{prefix}{}.", &name[..i]), &name[i + 1..], side);
        }
    }
    let known: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    Err(format!("`{name}` is not a node of this graph (nodes: {})", known.join(", ")))
}

/// A subgraph named as an edge endpoint: its one Input (as target) or Output (as source).
fn io_node(sub: &RawGraph, scoped: &str, side: Side) -> Result<String, String> {
    let want = if side == Side::Target { OpKind::Input } else { OpKind::Output };
    let io: Vec<&str> = sub
        .nodes
        .iter()
        .filter(|n| matches!(n.body, Body::Leaf { kind, .. } if kind == want))
        .map(|n| n.name.as_str())
        .collect();
    match io.as_slice() {
        [one] => Ok(format!("{scoped}.{one}")),
        _ => Err(format!(
            "names subgraph `{scoped}`, which has {} {want} nodes; name one as `{scoped}.<node>`{}",
            io.len(),
            if io.is_empty() { String::new() } else { format!(" ({})", io.join(", ")) }
        )),
    }
}
