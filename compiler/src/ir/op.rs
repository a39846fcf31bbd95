//! Operations: the NIR node set, with parameters normalised at the gate.
//!
//! Every frontend builds ops through [`Op::from_attrs`], and every printer or exporter reads
//! them through [`Op::attrs`], so parameter names, defaults and broadcasting live here once.
//! Names match NIR's (`weight`, `tau_mem`, `v_reset`, …). Invariants after construction:
//! neuron parameters all have one shape (scalars broadcast to it); `Affine` has a 2-D
//! weight and a bias of its row count; convolutions have positive stride, dilation and
//! groups that divide the channel counts; all values are finite.

use std::collections::BTreeMap;
use std::fmt;

use super::{Shape, Tensor};

/// The operation kinds, named as in NIR.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    Input,
    Output,
    Affine,
    Linear,
    Scale,
    Conv1d,
    Conv2d,
    SumPool2d,
    AvgPool2d,
    Flatten,
    Delay,
    Threshold,
    I,
    IF,
    LI,
    LIF,
    CubaLI,
    CubaLIF,
}

impl OpKind {
    pub const ALL: [OpKind; 18] = [
        OpKind::Input,
        OpKind::Output,
        OpKind::Affine,
        OpKind::Linear,
        OpKind::Scale,
        OpKind::Conv1d,
        OpKind::Conv2d,
        OpKind::SumPool2d,
        OpKind::AvgPool2d,
        OpKind::Flatten,
        OpKind::Delay,
        OpKind::Threshold,
        OpKind::I,
        OpKind::IF,
        OpKind::LI,
        OpKind::LIF,
        OpKind::CubaLI,
        OpKind::CubaLIF,
    ];

    /// NIR's type string.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Input => "Input",
            OpKind::Output => "Output",
            OpKind::Affine => "Affine",
            OpKind::Linear => "Linear",
            OpKind::Scale => "Scale",
            OpKind::Conv1d => "Conv1d",
            OpKind::Conv2d => "Conv2d",
            OpKind::SumPool2d => "SumPool2d",
            OpKind::AvgPool2d => "AvgPool2d",
            OpKind::Flatten => "Flatten",
            OpKind::Delay => "Delay",
            OpKind::Threshold => "Threshold",
            OpKind::I => "I",
            OpKind::IF => "IF",
            OpKind::LI => "LI",
            OpKind::LIF => "LIF",
            OpKind::CubaLI => "CubaLI",
            OpKind::CubaLIF => "CubaLIF",
        }
    }

    pub fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Emits binary spikes.
    pub fn is_spiking(self) -> bool {
        matches!(self, OpKind::IF | OpKind::LIF | OpKind::CubaLIF | OpKind::Threshold)
    }

    /// Has per-neuron state carried across time steps.
    pub fn is_neuron(self) -> bool {
        matches!(self, OpKind::I | OpKind::IF | OpKind::LI | OpKind::LIF | OpKind::CubaLI | OpKind::CubaLIF)
    }

    /// Counts synaptic operations under NeuroBench's Effective_ACs convention.
    pub fn is_weight_layer(self) -> bool {
        matches!(self, OpKind::Affine | OpKind::Linear | OpKind::Conv1d | OpKind::Conv2d)
    }

    pub fn is_pooling(self) -> bool {
        matches!(self, OpKind::SumPool2d | OpKind::AvgPool2d)
    }

    /// Parameter names in canonical order: required first, then optional ones.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            OpKind::Input | OpKind::Output => &["shape"],
            OpKind::Affine => &["weight", "bias"],
            OpKind::Linear => &["weight"],
            OpKind::Scale => &["scale"],
            OpKind::Conv1d | OpKind::Conv2d => &["weight", "bias", "stride", "padding", "dilation", "groups"],
            OpKind::SumPool2d | OpKind::AvgPool2d => &["kernel_size", "stride", "padding"],
            OpKind::Flatten => &["start_dim", "end_dim"],
            OpKind::Delay => &["delay"],
            OpKind::Threshold => &["threshold"],
            OpKind::I => &["r"],
            OpKind::IF => &["r", "v_threshold", "v_reset"],
            OpKind::LI => &["tau", "r", "v_leak"],
            OpKind::LIF => &["tau", "r", "v_leak", "v_threshold", "v_reset"],
            OpKind::CubaLI => &["tau_syn", "tau_mem", "r", "v_leak", "w_in"],
            OpKind::CubaLIF => &["tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"],
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An attribute value as frontends read it and printers write it.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Tensor(Tensor),
    /// Integers: shapes, strides, kernel sizes (a single integer is a one-element list).
    Ints(Vec<i64>),
}

/// Convolution parameters (1-D or 2-D; `stride`, `padding`, `dilation` have one entry per
/// spatial dimension). Weight is `[C_out, C_in / groups, k…]`, PyTorch layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    pub weight: Tensor,
    pub bias: Tensor,
    pub stride: Vec<usize>,
    pub padding: Vec<usize>,
    pub dilation: Vec<usize>,
    pub groups: usize,
}

impl Conv {
    pub fn out_channels(&self) -> usize {
        self.weight.dims()[0]
    }
    pub fn in_channels(&self) -> usize {
        self.weight.dims()[1] * self.groups
    }
    pub fn kernel(&self) -> &[usize] {
        &self.weight.dims()[2..]
    }
}

/// 2-D pooling window, no ceil mode; `AvgPool2d` divides by the window area (PyTorch's
/// `count_include_pad=True`).
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub kernel_size: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

/// An operation with its parameters. Neuron parameters are tensors of the neuron shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Input {
        shape: Shape,
    },
    Output {
        shape: Shape,
    },
    Affine {
        weight: Tensor,
        bias: Tensor,
    },
    Linear {
        weight: Tensor,
    },
    Scale {
        scale: Tensor,
    },
    Conv1d(Conv),
    Conv2d(Conv),
    SumPool2d(Pool),
    AvgPool2d(Pool),
    /// C-order flatten of dims `start_dim..=end_dim` (no batch dimension; negative counts
    /// from the end).
    Flatten {
        start_dim: i64,
        end_dim: i64,
    },
    /// Per-element delay in seconds; the executor rounds `delay / dt` to whole steps.
    Delay {
        delay: Tensor,
    },
    Threshold {
        threshold: Tensor,
    },
    I {
        r: Tensor,
    },
    IF {
        r: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
    },
    LI {
        tau: Tensor,
        r: Tensor,
        v_leak: Tensor,
    },
    LIF {
        tau: Tensor,
        r: Tensor,
        v_leak: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
    },
    CubaLI {
        tau_syn: Tensor,
        tau_mem: Tensor,
        r: Tensor,
        v_leak: Tensor,
        w_in: Tensor,
    },
    CubaLIF {
        tau_syn: Tensor,
        tau_mem: Tensor,
        r: Tensor,
        v_leak: Tensor,
        v_threshold: Tensor,
        v_reset: Tensor,
        w_in: Tensor,
    },
}

/// Why an op's parameters were refused. Carries the parameter name; the caller adds the
/// node name and source location.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpError {
    #[error("{kind} needs parameter `{param}`")]
    Missing { kind: OpKind, param: &'static str },
    #[error("{kind} has no parameter `{param}` (it takes: {expected})")]
    Unknown { kind: OpKind, param: String, expected: String },
    #[error("parameter `{param}` must be {expected}")]
    WrongType { param: String, expected: &'static str },
    #[error("parameter `{param}` has shape {got}, expected {expected}")]
    BadShape { param: String, got: Shape, expected: String },
    #[error("parameter `{param}` holds {value} at flat index {index}; values must be finite")]
    NonFinite { param: String, index: usize, value: f64 },
    #[error("parameter `{param}`: {reason}")]
    Invalid { param: String, reason: String },
}

type Attrs = BTreeMap<String, Attr>;

fn take_tensor(attrs: &mut Attrs, kind: OpKind, p: &'static str) -> Result<Tensor, OpError> {
    match attrs.remove(p) {
        Some(Attr::Tensor(t)) => Ok(t),
        Some(Attr::Ints(v)) => Tensor::new(vec![v.len()], v.iter().map(|&x| x as f64).collect())
            .map_err(|_| OpError::WrongType { param: p.into(), expected: "a tensor" }),
        None => Err(OpError::Missing { kind, param: p }),
    }
}

fn take_ints(attrs: &mut Attrs, kind: OpKind, p: &'static str) -> Result<Option<Vec<i64>>, OpError> {
    let _ = kind;
    match attrs.remove(p) {
        None => Ok(None),
        Some(Attr::Ints(v)) => Ok(Some(v)),
        Some(Attr::Tensor(t)) => {
            let mut out = Vec::with_capacity(t.numel());
            for &x in t.data() {
                if x.fract() != 0.0 || !x.is_finite() || x.abs() > 9.0e15 {
                    return Err(OpError::WrongType { param: p.into(), expected: "integers" });
                }
                out.push(x as i64);
            }
            Ok(Some(out))
        }
    }
}

/// Integers that must be ≥ `min`, given once (broadcast) or once per spatial dimension.
fn spatial(v: Option<Vec<i64>>, p: &'static str, n: usize, default: usize, min: i64) -> Result<Vec<usize>, OpError> {
    let Some(v) = v else { return Ok(vec![default; n]) };
    let v = match v.len() {
        1 => vec![v[0]; n],
        l if l == n => v,
        _ => {
            return Err(OpError::BadShape {
                param: p.into(),
                got: Shape(vec![v.len()]),
                expected: format!("one value or {n}"),
            })
        }
    };
    v.into_iter()
        .map(|x| {
            if x < min || x > u32::MAX as i64 {
                Err(OpError::Invalid { param: p.into(), reason: format!("{x} is out of range (must be ≥ {min})") })
            } else {
                Ok(x as usize)
            }
        })
        .collect()
}

fn shape_attr(v: Option<Vec<i64>>, kind: OpKind) -> Result<Shape, OpError> {
    let v = v.ok_or(OpError::Missing { kind, param: "shape" })?;
    let dims = v
        .into_iter()
        .map(|d| {
            if d < 0 {
                Err(OpError::Invalid { param: "shape".into(), reason: format!("dimension {d} is negative") })
            } else {
                Ok(d as usize)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Shape(dims))
}

fn check_finite(p: &str, t: &Tensor) -> Result<(), OpError> {
    match t.first_non_finite() {
        Some((index, value)) => Err(OpError::NonFinite { param: p.into(), index, value }),
        None => Ok(()),
    }
}

/// Broadcast a set of neuron parameters to their common shape: the shape of the
/// parameter(s) with more than one element, else `hint`, else rank-0… (shape `[]`, one
/// neuron). Every other parameter must be a scalar or hold the same number of elements.
fn broadcast_params(params: &mut [(&'static str, Tensor)], hint: Option<&Shape>) -> Result<(), OpError> {
    let target = params
        .iter()
        .find(|(_, t)| t.numel() != 1)
        .map(|(_, t)| t.shape().clone())
        .or_else(|| hint.cloned())
        .or_else(|| params.iter().max_by_key(|(_, t)| t.dims().len()).map(|(_, t)| t.shape().clone()))
        .unwrap_or_default();
    for (name, t) in params.iter_mut() {
        check_finite(name, t)?;
        match t.broadcast_to(&target) {
            Some(b) => *t = b,
            None => {
                return Err(OpError::BadShape {
                    param: (*name).into(),
                    got: t.shape().clone(),
                    expected: format!("a scalar or {target} like the other parameters"),
                })
            }
        }
    }
    Ok(())
}

fn positive(p: &str, t: &Tensor) -> Result<(), OpError> {
    match t.data().iter().position(|&v| v <= 0.0) {
        Some(i) => Err(OpError::Invalid {
            param: p.into(),
            reason: format!("must be > 0, found {} at flat index {i}", t.data()[i]),
        }),
        None => Ok(()),
    }
}

impl Op {
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Input { .. } => OpKind::Input,
            Op::Output { .. } => OpKind::Output,
            Op::Affine { .. } => OpKind::Affine,
            Op::Linear { .. } => OpKind::Linear,
            Op::Scale { .. } => OpKind::Scale,
            Op::Conv1d(_) => OpKind::Conv1d,
            Op::Conv2d(_) => OpKind::Conv2d,
            Op::SumPool2d(_) => OpKind::SumPool2d,
            Op::AvgPool2d(_) => OpKind::AvgPool2d,
            Op::Flatten { .. } => OpKind::Flatten,
            Op::Delay { .. } => OpKind::Delay,
            Op::Threshold { .. } => OpKind::Threshold,
            Op::I { .. } => OpKind::I,
            Op::IF { .. } => OpKind::IF,
            Op::LI { .. } => OpKind::LI,
            Op::LIF { .. } => OpKind::LIF,
            Op::CubaLI { .. } => OpKind::CubaLI,
            Op::CubaLIF { .. } => OpKind::CubaLIF,
        }
    }

    /// Build an op from named attributes, checking and normalising them: defaults filled
    /// in (`v_reset` = 0, `w_in` = 1, conv `bias` = 0, stride/dilation 1, padding 0,
    /// groups 1, flatten 0..-1), neuron parameters broadcast to one shape (`neuron_shape`
    /// is used when every parameter is a scalar), values checked finite. Unknown attributes
    /// are an error: a frontend drops the ones it knows to be irrelevant first.
    pub fn from_attrs(
        kind: OpKind,
        mut attrs: BTreeMap<String, Attr>,
        neuron_shape: Option<&Shape>,
    ) -> Result<Op, OpError> {
        let a = &mut attrs;
        let op = match kind {
            OpKind::Input => Op::Input { shape: shape_attr(take_ints(a, kind, "shape")?, kind)? },
            OpKind::Output => Op::Output { shape: shape_attr(take_ints(a, kind, "shape")?, kind)? },
            OpKind::Affine | OpKind::Linear => {
                let weight = take_tensor(a, kind, "weight")?;
                check_finite("weight", &weight)?;
                if weight.dims().len() != 2 {
                    return Err(OpError::BadShape {
                        param: "weight".into(),
                        got: weight.shape().clone(),
                        expected: "[out, in]".into(),
                    });
                }
                let n_out = weight.dims()[0];
                if kind == OpKind::Linear {
                    Op::Linear { weight }
                } else {
                    let bias = take_tensor(a, kind, "bias")?;
                    check_finite("bias", &bias)?;
                    let bias = bias.broadcast_to(&Shape(vec![n_out])).ok_or_else(|| OpError::BadShape {
                        param: "bias".into(),
                        got: bias.shape().clone(),
                        expected: format!("[{n_out}] (one per weight row)"),
                    })?;
                    Op::Affine { weight, bias }
                }
            }
            OpKind::Scale => {
                let scale = take_tensor(a, kind, "scale")?;
                check_finite("scale", &scale)?;
                Op::Scale { scale }
            }
            OpKind::Conv1d | OpKind::Conv2d => {
                let n = if kind == OpKind::Conv1d { 1 } else { 2 };
                let weight = take_tensor(a, kind, "weight")?;
                check_finite("weight", &weight)?;
                if weight.dims().len() != n + 2 {
                    return Err(OpError::BadShape {
                        param: "weight".into(),
                        got: weight.shape().clone(),
                        expected: if n == 1 {
                            "[C_out, C_in/groups, k]".into()
                        } else {
                            "[C_out, C_in/groups, kh, kw]".into()
                        },
                    });
                }
                if weight.dims().contains(&0) {
                    return Err(OpError::Invalid {
                        param: "weight".into(),
                        reason: format!("shape {} has a zero dimension", weight.shape()),
                    });
                }
                let c_out = weight.dims()[0];
                let bias = match a.contains_key("bias") {
                    true => take_tensor(a, kind, "bias")?,
                    false => Tensor::zeros(vec![c_out]),
                };
                check_finite("bias", &bias)?;
                let bias = bias.broadcast_to(&Shape(vec![c_out])).ok_or_else(|| OpError::BadShape {
                    param: "bias".into(),
                    got: bias.shape().clone(),
                    expected: format!("[{c_out}] (one per output channel)"),
                })?;
                let stride = spatial(take_ints(a, kind, "stride")?, "stride", n, 1, 1)?;
                let padding = spatial(take_ints(a, kind, "padding")?, "padding", n, 0, 0)?;
                let dilation = spatial(take_ints(a, kind, "dilation")?, "dilation", n, 1, 1)?;
                let groups = spatial(take_ints(a, kind, "groups")?, "groups", 1, 1, 1)?[0];
                if c_out % groups != 0 {
                    return Err(OpError::Invalid {
                        param: "groups".into(),
                        reason: format!("{groups} groups do not divide {c_out} output channels"),
                    });
                }
                let conv = Conv { weight, bias, stride, padding, dilation, groups };
                if n == 1 {
                    Op::Conv1d(conv)
                } else {
                    Op::Conv2d(conv)
                }
            }
            OpKind::SumPool2d | OpKind::AvgPool2d => {
                let k = match take_ints(a, kind, "kernel_size")? {
                    Some(v) => spatial(Some(v), "kernel_size", 2, 1, 1)?,
                    None => return Err(OpError::Missing { kind, param: "kernel_size" }),
                };
                let stride = match a.contains_key("stride") {
                    true => spatial(take_ints(a, kind, "stride")?, "stride", 2, 1, 1)?,
                    false => k.clone(),
                };
                let padding = spatial(take_ints(a, kind, "padding")?, "padding", 2, 0, 0)?;
                let pool = Pool {
                    kernel_size: [k[0], k[1]],
                    stride: [stride[0], stride[1]],
                    padding: [padding[0], padding[1]],
                };
                if kind == OpKind::SumPool2d {
                    Op::SumPool2d(pool)
                } else {
                    Op::AvgPool2d(pool)
                }
            }
            OpKind::Flatten => {
                let one = |v: Option<Vec<i64>>, p: &'static str, d: i64| -> Result<i64, OpError> {
                    match v {
                        None => Ok(d),
                        Some(v) if v.len() == 1 => Ok(v[0]),
                        Some(v) => Err(OpError::BadShape {
                            param: p.into(),
                            got: Shape(vec![v.len()]),
                            expected: "one integer".into(),
                        }),
                    }
                };
                let start_dim = one(take_ints(a, kind, "start_dim")?, "start_dim", 0)?;
                let end_dim = one(take_ints(a, kind, "end_dim")?, "end_dim", -1)?;
                Op::Flatten { start_dim, end_dim }
            }
            OpKind::Delay => {
                let delay = take_tensor(a, kind, "delay")?;
                check_finite("delay", &delay)?;
                if let Some(i) = delay.data().iter().position(|&d| d < 0.0) {
                    return Err(OpError::Invalid {
                        param: "delay".into(),
                        reason: format!("negative delay {} at flat index {i}", delay.data()[i]),
                    });
                }
                Op::Delay { delay }
            }
            OpKind::Threshold => {
                let threshold = take_tensor(a, kind, "threshold")?;
                check_finite("threshold", &threshold)?;
                Op::Threshold { threshold }
            }
            OpKind::I | OpKind::IF | OpKind::LI | OpKind::LIF | OpKind::CubaLI | OpKind::CubaLIF => {
                let mut params: Vec<(&'static str, Tensor)> = Vec::new();
                for &p in kind.param_names() {
                    let t = match (p, a.contains_key(p)) {
                        (_, true) => take_tensor(a, kind, p)?,
                        ("v_reset", false) => Tensor::scalar(0.0),
                        ("w_in", false) => Tensor::scalar(1.0),
                        ("v_leak", false) => Tensor::scalar(0.0),
                        _ => return Err(OpError::Missing { kind, param: p }),
                    };
                    params.push((p, t));
                }
                broadcast_params(&mut params, neuron_shape)?;
                for (p, t) in &params {
                    if p.starts_with("tau") {
                        positive(p, t)?;
                    }
                }
                let mut it = params.into_iter().map(|(_, t)| t);
                let mut n = || it.next().expect("one tensor per parameter name");
                match kind {
                    OpKind::I => Op::I { r: n() },
                    OpKind::IF => Op::IF { r: n(), v_threshold: n(), v_reset: n() },
                    OpKind::LI => Op::LI { tau: n(), r: n(), v_leak: n() },
                    OpKind::LIF => Op::LIF { tau: n(), r: n(), v_leak: n(), v_threshold: n(), v_reset: n() },
                    OpKind::CubaLI => Op::CubaLI { tau_syn: n(), tau_mem: n(), r: n(), v_leak: n(), w_in: n() },
                    _ => Op::CubaLIF {
                        tau_syn: n(),
                        tau_mem: n(),
                        r: n(),
                        v_leak: n(),
                        v_threshold: n(),
                        v_reset: n(),
                        w_in: n(),
                    },
                }
            }
        };
        if let Some(param) = attrs.into_keys().next() {
            return Err(OpError::Unknown { kind, param, expected: kind.param_names().join(", ") });
        }
        Ok(op)
    }

    /// Attributes in canonical order ([`OpKind::param_names`]); every attribute is present
    /// (defaults are explicit), so `from_attrs(kind, attrs)` rebuilds the same op.
    pub fn attrs(&self) -> Vec<(&'static str, Attr)> {
        let t = |name: &'static str, t: &Tensor| (name, Attr::Tensor(t.clone()));
        let ints = |name: &'static str, v: &[usize]| (name, Attr::Ints(v.iter().map(|&x| x as i64).collect()));
        match self {
            Op::Input { shape } | Op::Output { shape } => vec![ints("shape", &shape.0)],
            Op::Affine { weight, bias } => vec![t("weight", weight), t("bias", bias)],
            Op::Linear { weight } => vec![t("weight", weight)],
            Op::Scale { scale } => vec![t("scale", scale)],
            Op::Conv1d(c) | Op::Conv2d(c) => vec![
                t("weight", &c.weight),
                t("bias", &c.bias),
                ints("stride", &c.stride),
                ints("padding", &c.padding),
                ints("dilation", &c.dilation),
                ints("groups", &[c.groups]),
            ],
            Op::SumPool2d(p) | Op::AvgPool2d(p) => {
                vec![ints("kernel_size", &p.kernel_size), ints("stride", &p.stride), ints("padding", &p.padding)]
            }
            Op::Flatten { start_dim, end_dim } => {
                vec![("start_dim", Attr::Ints(vec![*start_dim])), ("end_dim", Attr::Ints(vec![*end_dim]))]
            }
            Op::Delay { delay } => vec![t("delay", delay)],
            Op::Threshold { threshold } => vec![t("threshold", threshold)],
            _ => {
                let names = self.kind().param_names();
                names.iter().zip(self.neuron_params()).map(|(n, p)| t(n, p)).collect()
            }
        }
    }

    /// Neuron parameter tensors in [`OpKind::param_names`] order (empty for non-neurons).
    pub fn neuron_params(&self) -> Vec<&Tensor> {
        match self {
            Op::I { r } => vec![r],
            Op::IF { r, v_threshold, v_reset } => vec![r, v_threshold, v_reset],
            Op::LI { tau, r, v_leak } => vec![tau, r, v_leak],
            Op::LIF { tau, r, v_leak, v_threshold, v_reset } => vec![tau, r, v_leak, v_threshold, v_reset],
            Op::CubaLI { tau_syn, tau_mem, r, v_leak, w_in } => vec![tau_syn, tau_mem, r, v_leak, w_in],
            Op::CubaLIF { tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in } => {
                vec![tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in]
            }
            _ => vec![],
        }
    }

    /// Neuron parameter tensors, mutably, in the same order as [`Op::neuron_params`].
    pub fn neuron_params_mut(&mut self) -> Vec<&mut Tensor> {
        match self {
            Op::I { r } => vec![r],
            Op::IF { r, v_threshold, v_reset } => vec![r, v_threshold, v_reset],
            Op::LI { tau, r, v_leak } => vec![tau, r, v_leak],
            Op::LIF { tau, r, v_leak, v_threshold, v_reset } => vec![tau, r, v_leak, v_threshold, v_reset],
            Op::CubaLI { tau_syn, tau_mem, r, v_leak, w_in } => vec![tau_syn, tau_mem, r, v_leak, w_in],
            Op::CubaLIF { tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in } => {
                vec![tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in]
            }
            _ => vec![],
        }
    }

    /// Every parameter tensor, for counting and for passes that walk all weights.
    pub fn tensors(&self) -> Vec<(&'static str, &Tensor)> {
        self.attrs_ref()
    }

    fn attrs_ref(&self) -> Vec<(&'static str, &Tensor)> {
        match self {
            Op::Affine { weight, bias } => vec![("weight", weight), ("bias", bias)],
            Op::Linear { weight } => vec![("weight", weight)],
            Op::Scale { scale } => vec![("scale", scale)],
            Op::Conv1d(c) | Op::Conv2d(c) => vec![("weight", &c.weight), ("bias", &c.bias)],
            Op::Delay { delay } => vec![("delay", delay)],
            Op::Threshold { threshold } => vec![("threshold", threshold)],
            _ => self.kind().param_names().iter().copied().zip(self.neuron_params()).collect(),
        }
    }

    /// The weight matrix or kernel of a weight layer.
    pub fn weight(&self) -> Option<&Tensor> {
        match self {
            Op::Affine { weight, .. } | Op::Linear { weight } => Some(weight),
            Op::Conv1d(c) | Op::Conv2d(c) => Some(&c.weight),
            _ => None,
        }
    }

    pub fn weight_mut(&mut self) -> Option<&mut Tensor> {
        match self {
            Op::Affine { weight, .. } | Op::Linear { weight } => Some(weight),
            Op::Conv1d(c) | Op::Conv2d(c) => Some(&mut c.weight),
            _ => None,
        }
    }
}
