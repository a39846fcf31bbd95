//! The intermediate representation: a graph of SNN ops covering NIR's node set.
//!
//! Entry points: [`Graph`] (build, edit, query), [`Op::from_attrs`] (the one way frontends
//! build ops), [`Graph::verify`] (the gate: shapes and evaluation order).

mod error;
mod graph;
mod ids;
mod op;
mod shape;
mod tensor;
mod verify;

pub use error::IrError;
pub use graph::{ops_bit_equal, Graph, Node};
pub use ids::{NodeId, Shape};
pub use op::{Attr, Conv, Op, OpError, OpKind, Pool};
pub use shape::ShapeRuleError;
pub use tensor::{Tensor, TensorLenError};
pub use verify::{Schedule, Verified};
