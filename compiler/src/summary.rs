//! Model summary: per-node neurons, synapses and parameters, as `check` prints them.
//!
//! Synapses are connections with a nonzero weight; convolution kernels are counted
//! unrolled over positions with borders exact (the same tables the executor counts
//! synaptic operations with), and separately as stored weights.

use crate::exec::synapse_count;
use crate::ir::{Graph, NodeId, OpKind, Shape, Verified};

#[derive(Clone, Debug, PartialEq)]
pub struct NodeSummary {
    pub node: NodeId,
    pub name: String,
    pub kind: OpKind,
    pub shape: Shape,
    pub inputs: Vec<String>,
    /// Neurons (elements of neuron and Threshold nodes), 0 otherwise.
    pub neurons: u64,
    /// Nonzero connections, unrolled.
    pub synapses: u64,
    /// Elements of weight tensors as stored.
    pub weights_stored: u64,
    /// Elements of all parameter tensors.
    pub parameters: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub nodes: Vec<NodeSummary>,
    pub n_edges: usize,
    pub n_recurrent_edges: usize,
}

impl Summary {
    pub fn new(graph: &Graph, verified: &Verified) -> Summary {
        let nodes = verified
            .schedule
            .order
            .iter()
            .map(|&n| {
                let op = graph.op(n);
                let kind = op.kind();
                let shape = verified.shape(n).clone();
                let ins = graph.inputs(n);
                let in_shape = ins.first().map(|&s| verified.shape(s).clone());
                let neurons = if kind.is_neuron() || kind == OpKind::Threshold { shape.numel() as u64 } else { 0 };
                let synapses = match &in_shape {
                    Some(i) if kind.is_weight_layer() => synapse_count(op, i, &shape),
                    _ => 0,
                };
                NodeSummary {
                    node: n,
                    name: graph.name(n).into(),
                    kind,
                    shape,
                    inputs: ins.iter().map(|&s| graph.name(s).to_string()).collect(),
                    neurons,
                    synapses,
                    weights_stored: op.weight().map_or(0, |w| w.numel() as u64),
                    parameters: op.tensors().iter().map(|(_, t)| t.numel() as u64).sum(),
                }
            })
            .collect();
        Summary { nodes, n_edges: graph.edge_count(), n_recurrent_edges: verified.schedule.back_edges.len() }
    }

    pub fn neurons(&self) -> u64 {
        self.nodes.iter().map(|n| n.neurons).sum()
    }
    pub fn spiking_neurons(&self) -> u64 {
        self.nodes.iter().filter(|n| n.kind.is_spiking()).map(|n| n.neurons).sum()
    }
    pub fn synapses(&self) -> u64 {
        self.nodes.iter().map(|n| n.synapses).sum()
    }
    pub fn weights_stored(&self) -> u64 {
        self.nodes.iter().map(|n| n.weights_stored).sum()
    }
    pub fn parameters(&self) -> u64 {
        self.nodes.iter().map(|n| n.parameters).sum()
    }
}
