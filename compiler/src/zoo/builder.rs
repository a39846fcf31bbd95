//! A small builder for the zoo's networks: adds layers to an IR graph while tracking the
//! shape of the value each node produces, with seeded random weights.
//!
//! Needs: nothing (it starts from an empty graph). Establishes: every node it adds has a
//! valid op (`Op::from_attrs`) and an output shape known here, so the networks in
//! [`super::nets`] are written as plain layer lists; LIF thresholds start silent and are
//! set later by [`super::calibrate`].

use std::collections::BTreeMap;

use crate::exec::Dynamics;
use crate::ir::{Attr, Graph, NodeId, Op, OpKind, Shape, Tensor};
use crate::limits::Limits;
use crate::synth::Rng;

use super::{PoolKind, ZooError};

/// A node and the shape of the value it produces.
#[derive(Clone, Debug)]
pub struct Value {
    pub node: NodeId,
    pub shape: Shape,
}

/// Threshold of a LIF layer before calibration: no neuron fires, so layers downstream
/// receive nothing and cost nothing to run.
pub const SILENT_THRESHOLD: f64 = 1e30;

pub struct Builder {
    pub graph: Graph,
    rng: Rng,
    dt: f64,
    limits: Limits,
    /// LIF nodes in the order they were added (a topological order of the generated nets).
    pub lifs: Vec<NodeId>,
}

fn op(kind: OpKind, attrs: Vec<(&str, Attr)>) -> Result<Op, ZooError> {
    let map: BTreeMap<String, Attr> = attrs.into_iter().map(|(k, a)| (k.to_string(), a)).collect();
    Op::from_attrs(kind, map, None).map_err(|e| ZooError::Internal(format!("{kind}: {e}")))
}

fn ints(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&d| d as i64).collect())
}

fn tensor(dims: Vec<usize>, data: Vec<f64>) -> Result<Attr, ZooError> {
    Tensor::new(dims, data).map(Attr::Tensor).map_err(|e| ZooError::Internal(e.to_string()))
}

/// A tensor of `dims` filled by `fill`, its size checked against `limits` first.
fn checked(
    limits: &Limits,
    what: &str,
    dims: Vec<usize>,
    fill: impl FnOnce(usize) -> Vec<f64>,
) -> Result<Attr, ZooError> {
    let n = limits.check_elements(what, &dims)?;
    tensor(dims, fill(n))
}

impl Builder {
    pub fn new(seed: u64, limits: &Limits) -> Self {
        Builder {
            graph: Graph::new(),
            rng: Rng::new(seed),
            dt: Dynamics::default().dt,
            limits: limits.clone(),
            lifs: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, op: Op, inputs: &[&Value], shape: Shape) -> Result<Value, ZooError> {
        let node = self.graph.add_node(name, op)?;
        for v in inputs {
            self.graph.add_edge(v.node, node)?;
        }
        Ok(Value { node, shape })
    }

    pub fn input(&mut self, shape: &[usize]) -> Result<Value, ZooError> {
        let o = op(OpKind::Input, vec![("shape", ints(shape))])?;
        self.add("input", o, &[], Shape(shape.to_vec()))
    }

    pub fn output(&mut self, from: &Value) -> Result<Value, ZooError> {
        let o = op(OpKind::Output, vec![("shape", ints(from.shape.dims()))])?;
        self.add("output", o, &[from], from.shape.clone())
    }

    /// Uniform weights in [−0.8, 1.2)/√fan_in: a slightly positive mean keeps activity
    /// flowing through depth whatever the thresholds.
    fn weights(&mut self, n: usize, fan_in: usize) -> Vec<f64> {
        let scale = 1.0 / (fan_in.max(1) as f64).sqrt();
        (0..n).map(|_| (self.rng.uniform() * 2.0 - 0.8) * scale).collect()
    }

    /// Conv2d `k×k`, padding `k/2`, no bias.
    pub fn conv(
        &mut self,
        name: &str,
        x: &Value,
        c_out: usize,
        kernel: usize,
        stride: usize,
    ) -> Result<Value, ZooError> {
        let d = x.shape.dims();
        let (c_in, h, w) = (d[0], d[1], d[2]);
        let pad = kernel / 2;
        let limits = self.limits.clone();
        let weight = checked(&limits, &format!("`{name}`'s weight"), vec![c_out, c_in, kernel, kernel], |n| {
            self.weights(n, c_in * kernel * kernel)
        })?;
        let out = |n: usize| (n + 2 * pad - kernel) / stride + 1;
        let shape = Shape(vec![c_out, out(h), out(w)]);
        limits.check_elements(&format!("`{name}`'s output"), shape.dims())?;
        let o = op(
            OpKind::Conv2d,
            vec![
                ("weight", weight),
                ("bias", tensor(vec![c_out], vec![0.0; c_out])?),
                ("stride", ints(&[stride, stride])),
                ("padding", ints(&[pad, pad])),
            ],
        )?;
        self.add(name, o, &[x], shape)
    }

    /// A LIF layer summing `inputs` (all of one shape), leak 0.5 per step at the default
    /// time step (`tau = 2·dt`, `r = 2`: v ← v/2 + I), silent until calibrated.
    pub fn lif(&mut self, name: &str, inputs: &[&Value]) -> Result<Value, ZooError> {
        let shape = inputs[0].shape.clone();
        let dims = shape.dims().to_vec();
        let limits = self.limits.clone();
        let full = |v: f64| checked(&limits, &format!("`{name}`'s parameters"), dims.clone(), |n| vec![v; n]);
        let o = op(
            OpKind::LIF,
            vec![
                ("tau", full(2.0 * self.dt)?),
                ("r", full(2.0)?),
                ("v_leak", full(0.0)?),
                ("v_threshold", full(SILENT_THRESHOLD)?),
                ("v_reset", full(0.0)?),
            ],
        )?;
        let v = self.add(name, o, inputs, shape)?;
        self.lifs.push(v.node);
        Ok(v)
    }

    /// Pooling `kh×kw` with stride = kernel over `inputs` summed; `None` when the value is
    /// already 1×1 (nothing to pool).
    pub fn pool(
        &mut self,
        name: &str,
        inputs: &[&Value],
        kind: PoolKind,
        kernel: [usize; 2],
    ) -> Result<Option<Value>, ZooError> {
        let d = inputs[0].shape.dims().to_vec();
        let kernel = [kernel[0].min(d[1]).max(1), kernel[1].min(d[2]).max(1)];
        if kernel == [1, 1] {
            return Ok(None);
        }
        let kind = match kind {
            PoolKind::Avg => OpKind::AvgPool2d,
            PoolKind::Sum => OpKind::SumPool2d,
        };
        let o = op(kind, vec![("kernel_size", ints(&kernel)), ("stride", ints(&kernel)), ("padding", ints(&[0, 0]))])?;
        let shape = Shape(vec![d[0], d[1] / kernel[0], d[2] / kernel[1]]);
        self.add(name, o, inputs, shape).map(Some)
    }

    /// Halves height and width (a dimension of 1 stays).
    pub fn halve(&mut self, name: &str, inputs: &[&Value], kind: PoolKind) -> Result<Option<Value>, ZooError> {
        self.pool(name, inputs, kind, [2, 2])
    }

    pub fn flatten(&mut self, name: &str, inputs: &[&Value]) -> Result<Value, ZooError> {
        let n = inputs[0].shape.numel();
        let o = op(OpKind::Flatten, vec![("start_dim", Attr::Ints(vec![0])), ("end_dim", Attr::Ints(vec![-1]))])?;
        self.add(name, o, inputs, Shape(vec![n]))
    }

    /// Affine `n_out × n_in`, zero bias.
    pub fn affine(&mut self, name: &str, x: &Value, n_out: usize) -> Result<Value, ZooError> {
        let n_in = x.shape.numel();
        let limits = self.limits.clone();
        let weight = checked(&limits, &format!("`{name}`'s weight"), vec![n_out, n_in], |n| self.weights(n, n_in))?;
        let o = op(OpKind::Affine, vec![("weight", weight), ("bias", tensor(vec![n_out], vec![0.0; n_out])?)])?;
        self.add(name, o, &[x], Shape(vec![n_out]))
    }
}
