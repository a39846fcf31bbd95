//! Per-op shape rules: the shape a node produces from the shape it receives.

use super::{Op, Shape};

/// Why an input shape does not fit an op. The graph adds both node names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeRuleError {
    #[error("expects input {expected}")]
    Expected { expected: Shape },
    #[error("expects input {what}")]
    Described { what: String },
}

impl Op {
    /// The input shape an op requires, when its parameters fix it completely.
    pub fn required_input_shape(&self) -> Option<Shape> {
        match self {
            Op::Affine { weight, .. } | Op::Linear { weight } => Some(Shape(vec![weight.dims()[1]])),
            Op::Scale { scale } => Some(scale.shape().clone()),
            Op::Delay { delay } => Some(delay.shape().clone()),
            Op::Threshold { threshold } => Some(threshold.shape().clone()),
            _ => self.neuron_params().first().map(|t| t.shape().clone()),
        }
    }

    /// The output shape an op produces whatever it receives, when its parameters fix it.
    /// Used to infer shapes across recurrent edges.
    pub fn intrinsic_output_shape(&self) -> Option<Shape> {
        match self {
            Op::Input { shape } | Op::Output { shape } => Some(shape.clone()),
            Op::Affine { weight, .. } | Op::Linear { weight } => Some(Shape(vec![weight.dims()[0]])),
            Op::Scale { .. } | Op::Delay { .. } | Op::Threshold { .. } => self.required_input_shape(),
            _ => self.neuron_params().first().map(|t| t.shape().clone()),
        }
    }

    /// The output shape for a given input shape, or why that input does not fit.
    pub fn output_shape(&self, input: &Shape) -> Result<Shape, ShapeRuleError> {
        if let Some(req) = self.required_input_shape() {
            if &req != input {
                return Err(ShapeRuleError::Expected { expected: req });
            }
            return Ok(self.intrinsic_output_shape().unwrap_or(req));
        }
        match self {
            Op::Input { shape } => Ok(shape.clone()),
            Op::Output { shape } => {
                if input.checked_numel() == shape.checked_numel() {
                    Ok(shape.clone())
                } else {
                    Err(ShapeRuleError::Described {
                        what: format!("with {} elements, like the declared output shape {shape}", shape.numel()),
                    })
                }
            }
            Op::Conv1d(c) | Op::Conv2d(c) => {
                let n = c.stride.len();
                let d = input.dims();
                if d.len() != n + 1 || d[0] != c.in_channels() {
                    let spatial = if n == 1 { "L" } else { "H, W" };
                    return Err(ShapeRuleError::Described {
                        what: format!("[{}, {spatial}] ({} input channels)", c.in_channels(), c.in_channels()),
                    });
                }
                let mut out = vec![c.out_channels()];
                for i in 0..n {
                    let span = c.dilation[i] * (c.kernel()[i] - 1) + 1;
                    let padded = d[i + 1] + 2 * c.padding[i];
                    if padded < span {
                        return Err(ShapeRuleError::Described {
                            what: format!(
                                "spatial size ≥ {} in dimension {} (kernel span {span}, padding {})",
                                span.saturating_sub(2 * c.padding[i]),
                                i + 1,
                                c.padding[i]
                            ),
                        });
                    }
                    out.push((padded - span) / c.stride[i] + 1);
                }
                Ok(Shape(out))
            }
            Op::SumPool2d(p) | Op::AvgPool2d(p) => {
                let d = input.dims();
                if d.len() != 3 {
                    return Err(ShapeRuleError::Described { what: "[C, H, W]".into() });
                }
                let mut out = vec![d[0]];
                for i in 0..2 {
                    let padded = d[i + 1] + 2 * p.padding[i];
                    if padded < p.kernel_size[i] {
                        return Err(ShapeRuleError::Described {
                            what: format!("spatial size ≥ {} in dimension {}", p.kernel_size[i], i + 1),
                        });
                    }
                    out.push((padded - p.kernel_size[i]) / p.stride[i] + 1);
                }
                Ok(Shape(out))
            }
            Op::Flatten { start_dim, end_dim } => {
                let r = input.rank() as i64;
                let s = if *start_dim < 0 { start_dim + r } else { *start_dim };
                let e = if *end_dim < 0 { end_dim + r } else { *end_dim };
                if r == 0 || s < 0 || e >= r || s > e {
                    return Err(ShapeRuleError::Described {
                        what: format!("a rank that has dimensions {start_dim}..={end_dim}"),
                    });
                }
                let (s, e) = (s as usize, e as usize);
                let d = input.dims();
                let mut out = d[..s].to_vec();
                out.push(d[s..=e].iter().product());
                out.extend_from_slice(&d[e + 1..]);
                Ok(Shape(out))
            }
            _ => unreachable!("ops without a required input shape are listed above"),
        }
    }
}
