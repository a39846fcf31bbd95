//! From the syntax tree to an IR graph: op types, attributes (through
//! [`Op::from_attrs`]), names and references, edges (ordered by [`super::order`]), then
//! [`Graph::verify`], with every error pointed at the text it concerns.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::ast::{Document, Statement};
use super::diag::{Diag, Span};
use super::order;
use super::sidecar::Sidecars;
use super::values::{element_span, eval};
use crate::exec::Semantics;
use crate::ir::{Graph, IrError, Op, OpError, OpKind};
use crate::limits::Limits;

/// `syntax_ok`: the whole file parsed; otherwise statements are still checked, but no
/// graph is built or verified (it would be missing the broken statements).
pub(crate) fn lower(doc: &Document, syntax_ok: bool, base_dir: &Path, limits: &Limits) -> Result<Graph, Vec<Diag>> {
    let mut diags = Vec::new();
    let stmts = &doc.statements;
    // Names: the first definition wins; later ones are reported.
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, s) in stmts.iter().enumerate() {
        if let Some(&first) = by_name.get(s.name.node.as_str()) {
            diags.push(
                Diag::at(s.name.span.clone(), format!("two nodes are named `{}`", s.name.node), "defined again here")
                    .with_secondary(stmts[first].name.span.clone(), "first defined here"),
            );
        } else {
            by_name.insert(&s.name.node, i);
        }
    }
    let mut sidecars = Sidecars::new(base_dir, limits);
    let ops: Vec<Option<Op>> = stmts.iter().map(|s| build_op(s, &mut sidecars, limits, &mut diags)).collect();
    // References.
    let mut edges: Vec<(usize, usize, Span)> = Vec::new();
    for (d, s) in stmts.iter().enumerate() {
        for (k, a) in s.args.iter().enumerate() {
            if let Some(first) = s.args[..k].iter().find(|b| b.node == a.node) {
                diags.push(
                    Diag::at(
                        a.span.clone(),
                        format!("`{}` is an input of `{}` twice", a.node, s.name.node),
                        "second time",
                    )
                    .with_secondary(first.span.clone(), "first time")
                    .with_note("incoming values are summed: a second edge would double the contribution"),
                );
                continue;
            }
            match by_name.get(a.node.as_str()) {
                Some(&src) => edges.push((src, d, a.span.clone())),
                None if doc.broken.contains(&a.node) => {} // its syntax error is reported
                None => {
                    let mut d = Diag::at(
                        a.span.clone(),
                        format!("node `{}` takes input from `{}`, which is not defined", s.name.node, a.node),
                        "no node has this name",
                    );
                    let near = stmts.iter().map(|t| &t.name.node).filter(|n| edit_distance(n, &a.node) <= 2);
                    if let Some(n) = near.min_by_key(|n| edit_distance(n, &a.node)) {
                        d = d.with_note(format!("did you mean `{n}`?"));
                    }
                    diags.push(d.with_note("define it with a statement `NAME = OpType<…>(…)` anywhere in the file"));
                }
            }
        }
    }
    let semantics = match &doc.semantics {
        Some(sp) => match sp.node.parse::<Semantics>() {
            Ok(s) => Some(s),
            Err(m) => {
                diags.push(
                    Diag::at(sp.span.clone(), m, "in the header")
                        .with_note("`snn 1 semantics=NAME` names the framework whose update rules the model follows"),
                );
                None
            }
        },
        None => None,
    };
    if !diags.is_empty() || !syntax_ok {
        return Err(diags);
    }
    // Nodes in statement order, then edges in the planned order.
    let mut graph = Graph::new();
    graph.semantics = semantics;
    let ids: Vec<_> = stmts
        .iter()
        .zip(ops)
        .map(|(s, op)| graph.add_node(s.name.node.clone(), op.expect("checked above")).expect("names are unique"))
        .collect();
    let is_input: Vec<bool> = graph.node_ids().map(|n| graph.op(n).kind() == OpKind::Input).collect();
    let pairs: Vec<(usize, usize)> = edges.iter().map(|&(s, d, _)| (s, d)).collect();
    let plan = order::plan(stmts.len(), &is_input, &pairs);
    for &e in &plan.order {
        graph.add_edge(ids[pairs[e].0], ids[pairs[e].1]).expect("duplicate inputs are refused above");
    }
    let verified = match graph.verify(limits) {
        Ok(v) => v,
        Err(errs) => return Err(errs.iter().map(|e| ir_diag(e, doc, &by_name)).collect()),
    };
    for (e, &(s, d, ref span)) in edges.iter().enumerate() {
        let back = verified.schedule.is_back_edge(ids[s], ids[d]);
        let (src, dst) = (&stmts[s].name.node, &stmts[d].name.node);
        if back != plan.recurrent[e] {
            let message = if plan.recurrent[e] {
                format!("`{src}` → `{dst}` is written as recurrent (a reference within a cycle to a node defined at or after `{dst}`), but the IR's schedule evaluates it within the time step")
            } else {
                format!("`{src}` → `{dst}` closes a cycle, so it carries the previous time step's value, but it is written as a reference to an earlier statement")
            };
            diags.push(Diag::at(span.clone(), message, "this edge").with_note(
                "the IR makes recurrent the edges that close cycles in a depth-first search from the inputs: write each cycle's statements in the order data first reaches them, so that only the closing edges refer forward",
            ));
        }
    }
    if diags.is_empty() {
        Ok(graph)
    } else {
        Err(diags)
    }
}

/// The op of one statement, or `None` after reporting why not.
fn build_op(s: &Statement, sidecars: &mut Sidecars<'_>, limits: &Limits, diags: &mut Vec<Diag>) -> Option<Op> {
    let Some(kind) = OpKind::from_name(&s.op.node) else {
        let names: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
        let mut d = Diag::at(s.op.span.clone(), format!("unknown op type `{}`", s.op.node), "not an op type");
        if let Some(k) = OpKind::ALL.iter().find(|k| k.name().eq_ignore_ascii_case(&s.op.node)) {
            d = d.with_note(format!("did you mean `{}`? (op types are case-sensitive)", k.name()));
        }
        diags.push(d.with_note(format!("op types are NIR's: {}", names.join(", "))));
        return None;
    };
    let mut attrs = BTreeMap::new();
    let before = diags.len();
    for (k, a) in s.attrs.iter().enumerate() {
        if let Some(first) = s.attrs[..k].iter().find(|b| b.name.node == a.name.node) {
            diags.push(
                Diag::at(a.name.span.clone(), format!("attribute `{}` is given twice", a.name.node), "second time")
                    .with_secondary(first.name.span.clone(), "first time"),
            );
            continue;
        }
        match eval(&a.name.node, &a.value, sidecars, limits) {
            Ok(v) => {
                attrs.insert(a.name.node.clone(), v);
            }
            Err(d) => diags.push(d),
        }
    }
    if diags.len() > before {
        return None;
    }
    match Op::from_attrs(kind, attrs, None) {
        Ok(op) => Some(op),
        Err(e) => {
            diags.push(op_diag(s, kind, &e));
            None
        }
    }
}

fn op_diag(s: &Statement, kind: OpKind, e: &OpError) -> Diag {
    let attr = |p: &str| s.attrs.iter().find(|a| a.name.node == p);
    let message = format!("node `{}`: {e}", s.name.node);
    let (span, label) = match e {
        OpError::Missing { param, .. } => (s.op.span.clone(), format!("{kind} needs `{param}`")),
        OpError::Unknown { param, .. } => match attr(param) {
            Some(a) => (a.name.span.clone(), format!("not a parameter of {kind}")),
            None => (s.op.span.clone(), format!("unknown parameter `{param}`")),
        },
        OpError::NonFinite { param, index, .. } => match attr(param) {
            Some(a) => (element_span(&a.value, *index), "not a finite number".into()),
            None => (s.op.span.clone(), "not finite".into()),
        },
        OpError::WrongType { param, .. } | OpError::BadShape { param, .. } | OpError::Invalid { param, .. } => {
            match attr(param) {
                Some(a) => (a.value.span.clone(), format!("bad `{param}`")),
                None => (s.op.span.clone(), format!("bad `{param}`")),
            }
        }
    };
    let d = Diag::at(span, message, label);
    match e {
        OpError::Missing { .. } => d.with_note(format!("{kind} takes: {}", kind.param_names().join(", "))),
        OpError::Unknown { param, .. } => match kind.param_names().iter().find(|p| edit_distance(p, param) <= 2) {
            Some(p) => d.with_note(format!("did you mean `{p}`?")),
            None => d,
        },
        _ => d,
    }
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Points a verification error at the statement (or argument) of the nodes it names.
fn ir_diag(e: &IrError, doc: &Document, by_name: &HashMap<&str, usize>) -> Diag {
    let stmt = |n: &str| by_name.get(n).map(|&i| &doc.statements[i]);
    let name_span = |n: &str| stmt(n).map(|s| s.name.span.clone());
    let arg_span =
        |to: &str, from: &str| stmt(to).and_then(|s| s.args.iter().find(|a| a.node == from)).map(|a| a.span.clone());
    let header = doc.header.clone().unwrap_or(0..0);
    let message = e.to_string();
    let d = match e {
        IrError::ShapeMismatch { from, from_shape, to, .. } => arg_span(to, from).or_else(|| name_span(to)).map(|sp| {
            let d = Diag::at(sp, &message, format!("`{from}` produces {from_shape}"));
            match name_span(from) {
                Some(f) => d.with_secondary(f, format!("`{from}` is defined here")),
                None => d,
            }
        }),
        IrError::InputsDisagree { node, a, a_shape, b, b_shape } => arg_span(node, b).map(|sp| {
            let d = Diag::at(sp, &message, format!("`{b}` produces {b_shape}"));
            match arg_span(node, a) {
                Some(s2) => d.with_secondary(s2, format!("`{a}` produces {a_shape}")),
                None => d,
            }
        }),
        IrError::InputWithInputs { node, from } => {
            arg_span(node, from).map(|sp| Diag::at(sp, &message, "Input nodes take no inputs"))
        }
        IrError::OutputWithOutputs { node, to } => {
            arg_span(to, node).map(|sp| Diag::at(sp, &message, "an Output node cannot feed another node"))
        }
        IrError::RecurrentShapeUnknown { from, to, .. } => {
            arg_span(to, from).map(|sp| Diag::at(sp, &message, "this recurrent edge"))
        }
        IrError::NoInputs { node, .. } => stmt(node).map(|s| Diag::at(s.span.clone(), &message, "no inputs")),
        IrError::Unreachable { node } => {
            name_span(node).map(|sp| Diag::at(sp, &message, "not reachable from an Input"))
        }
        IrError::TooLarge { node, .. } => name_span(node).map(|sp| Diag::at(sp, &message, "too large")),
        IrError::NoInputNode | IrError::NoOutputNode => Some(Diag::at(header, &message, "in this file")),
        IrError::DuplicateName { name } | IrError::UnknownNode { name } => {
            name_span(name).map(|sp| Diag::at(sp, &message, "here"))
        }
        IrError::DuplicateEdge { from, to } => arg_span(to, from).map(|sp| Diag::at(sp, &message, "here")),
        IrError::Param { node, .. } => name_span(node).map(|sp| Diag::at(sp, &message, "here")),
    };
    d.unwrap_or_else(|| Diag::nowhere(message))
}
