//! The IR graph: named nodes holding ops, directed edges whose values are summed at the
//! destination. Wraps petgraph's `StableGraph` so ids survive node removal; nothing outside
//! this module sees petgraph.

use std::collections::HashMap;

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::{IrError, NodeId, Op};

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique within the graph; nested NIR graphs are flattened to `outer.inner` names.
    pub name: String,
    pub op: Op,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    g: StableDiGraph<Node, ()>,
    by_name: HashMap<String, NodeId>,
    /// The semantics the model declares (a `.snn` header), if any.
    pub semantics: Option<crate::exec::Semantics>,
}

fn ix(id: NodeId) -> NodeIndex {
    NodeIndex::new(id.index())
}

fn id(ix: NodeIndex) -> NodeId {
    NodeId(ix.index() as u32)
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, name: impl Into<String>, op: Op) -> Result<NodeId, IrError> {
        let name = name.into();
        if self.by_name.contains_key(&name) {
            return Err(IrError::DuplicateName { name });
        }
        let nid = id(self.g.add_node(Node { name: name.clone(), op }));
        self.by_name.insert(name, nid);
        Ok(nid)
    }

    /// Adds an edge; a second edge between the same pair is refused (values are summed,
    /// so a duplicate would silently double a contribution).
    pub fn add_edge(&mut self, from: NodeId, to: NodeId) -> Result<(), IrError> {
        if self.g.find_edge(ix(from), ix(to)).is_some() {
            return Err(IrError::DuplicateEdge { from: self.name(from).into(), to: self.name(to).into() });
        }
        self.g.add_edge(ix(from), ix(to), ());
        Ok(())
    }

    pub fn remove_edge(&mut self, from: NodeId, to: NodeId) -> bool {
        match self.g.find_edge(ix(from), ix(to)) {
            Some(e) => self.g.remove_edge(e).is_some(),
            None => false,
        }
    }

    /// Removes a node and its edges.
    pub fn remove_node(&mut self, node: NodeId) -> Option<Node> {
        let n = self.g.remove_node(ix(node))?;
        self.by_name.remove(&n.name);
        Some(n)
    }

    pub fn len(&self) -> usize {
        self.g.node_count()
    }
    pub fn is_empty(&self) -> bool {
        self.g.node_count() == 0
    }
    pub fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    pub fn contains(&self, node: NodeId) -> bool {
        self.g.contains_node(ix(node))
    }

    /// Panics if `node` is not in the graph: ids come from this graph.
    pub fn node(&self, node: NodeId) -> &Node {
        &self.g[ix(node)]
    }
    pub fn op(&self, node: NodeId) -> &Op {
        &self.g[ix(node)].op
    }
    pub fn op_mut(&mut self, node: NodeId) -> &mut Op {
        &mut self.g[ix(node)].op
    }
    pub fn name(&self, node: NodeId) -> &str {
        &self.g[ix(node)].name
    }
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    /// Node ids in creation order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.g.node_indices().map(id)
    }

    /// Largest node index + 1: the size of a table indexed by `NodeId::index`.
    pub fn id_bound(&self) -> usize {
        use petgraph::visit::NodeIndexable;
        self.g.node_bound()
    }

    fn sorted_edges(&self, node: NodeId, dir: Direction) -> Vec<NodeId> {
        let mut e: Vec<(EdgeIndex, NodeId)> = self
            .g
            .edges_directed(ix(node), dir)
            .map(|e| (e.id(), id(if dir == Direction::Incoming { e.source() } else { e.target() })))
            .collect();
        e.sort_by_key(|(ei, _)| *ei);
        e.into_iter().map(|(_, n)| n).collect()
    }

    /// Sources of the edges into `node`, in edge creation order.
    pub fn inputs(&self, node: NodeId) -> Vec<NodeId> {
        self.sorted_edges(node, Direction::Incoming)
    }

    /// Targets of the edges out of `node`, in edge creation order.
    pub fn outputs(&self, node: NodeId) -> Vec<NodeId> {
        self.sorted_edges(node, Direction::Outgoing)
    }

    /// All edges in creation order.
    pub fn edges(&self) -> Vec<(NodeId, NodeId)> {
        let mut e: Vec<_> = self.g.edge_indices().collect();
        e.sort();
        e.into_iter()
            .map(|e| {
                let (a, b) = self.g.edge_endpoints(e).expect("edge index from this graph");
                (id(a), id(b))
            })
            .collect()
    }

    pub fn input_nodes(&self) -> Vec<NodeId> {
        self.node_ids().filter(|&n| matches!(self.op(n), Op::Input { .. })).collect()
    }

    pub fn output_nodes(&self) -> Vec<NodeId> {
        self.node_ids().filter(|&n| matches!(self.op(n), Op::Output { .. })).collect()
    }

    /// Compares nodes by name, ops bit for bit, and edges as name pairs; ids may differ.
    pub fn same_as(&self, other: &Graph) -> bool {
        if self.len() != other.len() || self.edge_count() != other.edge_count() {
            return false;
        }
        let nodes_equal = self.node_ids().all(|n| {
            let Some(m) = other.find(self.name(n)) else { return false };
            ops_bit_equal(self.op(n), other.op(m))
        });
        let names = |g: &Graph| {
            let mut e: Vec<(String, String)> =
                g.edges().into_iter().map(|(a, b)| (g.name(a).to_string(), g.name(b).to_string())).collect();
            e.sort();
            e
        };
        nodes_equal && names(self) == names(other)
    }
}

/// Equality of ops with tensors compared bitwise.
pub fn ops_bit_equal(a: &Op, b: &Op) -> bool {
    use super::Attr;
    if a.kind() != b.kind() {
        return false;
    }
    let (xa, xb) = (a.attrs(), b.attrs());
    xa.len() == xb.len()
        && xa.iter().zip(&xb).all(|((na, va), (nb, vb))| {
            na == nb
                && match (va, vb) {
                    (Attr::Tensor(x), Attr::Tensor(y)) => x.bit_eq(y),
                    (x, y) => x == y,
                }
        })
}
