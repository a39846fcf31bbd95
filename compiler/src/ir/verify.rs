//! The gate: structural checks, evaluation order, shape inference.
//!
//! After [`Graph::verify`] succeeds, every node is reachable from an Input, has inputs of
//! one agreed shape that its op accepts, and a shape within the element limit; the returned
//! [`Verified`] holds the per-node shapes and the evaluation order, so later code indexes
//! without re-checking.

use std::collections::HashSet;

use super::{Graph, IrError, NodeId, Op, Shape};
use crate::limits::Limits;

/// Evaluation order. Edges that close a cycle (found by depth-first search from the Input
/// nodes, in creation order) are *back edges*: they carry the value their source produced
/// at the previous time step.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub order: Vec<NodeId>,
    pub back_edges: HashSet<(NodeId, NodeId)>,
}

impl Schedule {
    pub fn is_back_edge(&self, from: NodeId, to: NodeId) -> bool {
        self.back_edges.contains(&(from, to))
    }
}

/// A graph that passed the gate: shapes and schedule.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Output shape of each node, indexed by `NodeId::index` (None for removed ids).
    pub shapes: Vec<Option<Shape>>,
    pub schedule: Schedule,
}

impl Verified {
    pub fn shape(&self, node: NodeId) -> &Shape {
        self.shapes[node.index()].as_ref().expect("verified graphs have a shape for every node")
    }
}

impl Graph {
    /// DFS from the Input nodes. Unreachable nodes are reported.
    pub fn schedule(&self) -> Result<Schedule, Vec<IrError>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnStack,
            Done,
        }
        let mut mark = vec![Mark::New; self.id_bound()];
        let mut post = Vec::with_capacity(self.len());
        let mut back_edges = HashSet::new();
        for root in self.input_nodes() {
            if mark[root.index()] != Mark::New {
                continue;
            }
            // Iterative DFS: (node, its outputs, next output to visit).
            let mut stack: Vec<(NodeId, Vec<NodeId>, usize)> = vec![(root, self.outputs(root), 0)];
            mark[root.index()] = Mark::OnStack;
            while let Some((node, outs, next)) = stack.last_mut() {
                if let Some(&succ) = outs.get(*next) {
                    *next += 1;
                    let from = *node;
                    match mark[succ.index()] {
                        Mark::New => {
                            mark[succ.index()] = Mark::OnStack;
                            let o = self.outputs(succ);
                            stack.push((succ, o, 0));
                        }
                        Mark::OnStack => {
                            back_edges.insert((from, succ));
                        }
                        Mark::Done => {}
                    }
                } else {
                    mark[node.index()] = Mark::Done;
                    post.push(*node);
                    stack.pop();
                }
            }
        }
        let unreachable: Vec<IrError> = self
            .node_ids()
            .filter(|n| mark[n.index()] == Mark::New)
            .map(|n| IrError::Unreachable { node: self.name(n).into() })
            .collect();
        if !unreachable.is_empty() {
            return Err(unreachable);
        }
        post.reverse();
        Ok(Schedule { order: post, back_edges })
    }

    /// Checks the graph and infers every node's shape. Independent problems are all
    /// reported.
    pub fn verify(&self, limits: &Limits) -> Result<Verified, Vec<IrError>> {
        let mut errors = Vec::new();
        if self.input_nodes().is_empty() {
            errors.push(IrError::NoInputNode);
        }
        if self.output_nodes().is_empty() {
            errors.push(IrError::NoOutputNode);
        }
        for n in self.node_ids() {
            let ins = self.inputs(n);
            match self.op(n) {
                Op::Input { .. } => {
                    if let Some(&from) = ins.first() {
                        errors
                            .push(IrError::InputWithInputs { node: self.name(n).into(), from: self.name(from).into() });
                    }
                }
                op => {
                    if ins.is_empty() {
                        errors.push(IrError::NoInputs { node: self.name(n).into(), kind: op.kind() });
                    }
                }
            }
            if let (Op::Output { .. }, Some(&to)) = (self.op(n), self.outputs(n).first()) {
                errors.push(IrError::OutputWithOutputs { node: self.name(n).into(), to: self.name(to).into() });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let schedule = self.schedule()?;
        let mut shapes: Vec<Option<Shape>> = vec![None; self.id_bound()];
        for &n in &schedule.order {
            let mut agreed: Option<(NodeId, Shape)> = None;
            let mut ok = true;
            for from in self.inputs(n) {
                let s = if schedule.is_back_edge(from, n) {
                    match self.op(from).intrinsic_output_shape() {
                        Some(s) => s,
                        None => {
                            errors.push(IrError::RecurrentShapeUnknown {
                                from: self.name(from).into(),
                                to: self.name(n).into(),
                                kind: self.op(from).kind(),
                            });
                            ok = false;
                            continue;
                        }
                    }
                } else {
                    match &shapes[from.index()] {
                        Some(s) => s.clone(),
                        None => {
                            ok = false; // the source failed; its error is already recorded
                            continue;
                        }
                    }
                };
                match &agreed {
                    None => agreed = Some((from, s)),
                    Some((a, a_shape)) if *a_shape != s => {
                        errors.push(IrError::InputsDisagree {
                            node: self.name(n).into(),
                            a: self.name(*a).into(),
                            a_shape: a_shape.clone(),
                            b: self.name(from).into(),
                            b_shape: s,
                        });
                        ok = false;
                    }
                    Some(_) => {}
                }
            }
            if !ok {
                continue;
            }
            let op = self.op(n);
            let out = match (&agreed, op) {
                (None, Op::Input { shape }) => shape.clone(),
                (None, _) => continue, // reported above
                (Some((from, s)), op) => match op.output_shape(s) {
                    Ok(o) => o,
                    Err(e) => {
                        errors.push(IrError::ShapeMismatch {
                            from: self.name(*from).into(),
                            from_shape: s.clone(),
                            to: self.name(n).into(),
                            kind: op.kind(),
                            expected: e.to_string(),
                        });
                        continue;
                    }
                },
            };
            match out.checked_numel() {
                Some(e) if e <= limits.max_node_elements => {}
                e => {
                    errors.push(IrError::TooLarge {
                        node: self.name(n).into(),
                        shape: out.clone(),
                        elements: e.map_or_else(|| "more than 2^64".into(), |e| e.to_string()),
                        limit: limits.max_node_elements,
                    });
                    continue;
                }
            }
            shapes[n.index()] = Some(out);
        }
        // A back edge's source must produce what the edge was assumed to carry.
        for &(from, to) in &schedule.back_edges {
            if let (Some(actual), Some(assumed)) = (&shapes[from.index()], self.op(from).intrinsic_output_shape()) {
                if *actual != assumed {
                    errors.push(IrError::ShapeMismatch {
                        from: self.name(from).into(),
                        from_shape: actual.clone(),
                        to: self.name(to).into(),
                        kind: self.op(to).kind(),
                        expected: format!("was given {assumed} by its parameters"),
                    });
                }
            }
        }
        if errors.is_empty() {
            Ok(Verified { shapes, schedule })
        } else {
            Err(errors)
        }
    }
}
