//! IR errors. They carry node names (the user's vocabulary), never indices.

use super::{OpError, OpKind, Shape};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IrError {
    #[error("two nodes are named `{name}`")]
    DuplicateName { name: String },
    #[error("there are two edges `{from}` → `{to}`")]
    DuplicateEdge { from: String, to: String },
    #[error("edge refers to unknown node `{name}`")]
    UnknownNode { name: String },
    #[error("node `{node}`: {source}")]
    Param { node: String, source: OpError },
    #[error("Input node `{node}` has an incoming edge from `{from}`")]
    InputWithInputs { node: String, from: String },
    #[error("node `{node}` ({kind}) has no incoming edge")]
    NoInputs { node: String, kind: OpKind },
    #[error("Output node `{node}` has an outgoing edge to `{to}`")]
    OutputWithOutputs { node: String, to: String },
    #[error("the graph has no Input node")]
    NoInputNode,
    #[error("the graph has no Output node")]
    NoOutputNode,
    #[error("node `{node}` is not reachable from any Input node")]
    Unreachable { node: String },
    #[error(
        "shape mismatch on edge `{from}` → `{to}`: `{from}` produces {from_shape}, but `{to}` ({kind}) {expected}"
    )]
    ShapeMismatch { from: String, from_shape: Shape, to: String, kind: OpKind, expected: String },
    #[error("inputs of `{node}` disagree: `{a}` produces {a_shape} but `{b}` produces {b_shape} (incoming values are summed, so shapes must match)")]
    InputsDisagree { node: String, a: String, a_shape: Shape, b: String, b_shape: Shape },
    #[error("cannot infer the shape that recurrent edge `{from}` → `{to}` carries: `{from}` ({kind}) has no fixed output shape")]
    RecurrentShapeUnknown { from: String, to: String, kind: OpKind },
    #[error("node `{node}` has shape {shape} = {elements} elements, above the limit of {limit} elements per node (raise it with --max-memory)")]
    TooLarge { node: String, shape: Shape, elements: String, limit: usize },
}
