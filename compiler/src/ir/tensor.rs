//! Dense f64 tensors holding model parameters.
//!
//! Parameters are stored as f64 whatever precision the file had: every f32 value is exact in
//! f64, so importing and exporting loses nothing (exporters write f32 when every value
//! survives the round trip through f32, see [`Tensor::is_f32_exact`]).

use super::Shape;

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: Vec<f64>,
}

/// The data length does not match the shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("tensor of shape {shape} needs {expected} values, got {got}")]
pub struct TensorLenError {
    pub shape: Shape,
    pub expected: usize,
    pub got: usize,
}

impl Tensor {
    pub fn new(shape: impl Into<Shape>, data: Vec<f64>) -> Result<Self, TensorLenError> {
        let shape = shape.into();
        let expected = shape.checked_numel().unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(TensorLenError { shape, expected, got: data.len() });
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of `shape` with every element `value`. The caller has checked that the
    /// shape is of an allocatable size.
    pub fn full(shape: impl Into<Shape>, value: f64) -> Self {
        let shape = shape.into();
        let n = shape.numel();
        Tensor { shape, data: vec![value; n] }
    }

    pub fn zeros(shape: impl Into<Shape>) -> Self {
        Self::full(shape, 0.0)
    }

    /// A rank-0 tensor.
    pub fn scalar(value: f64) -> Self {
        Tensor { shape: Shape(vec![]), data: vec![value] }
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }
    pub fn dims(&self) -> &[usize] {
        &self.shape.0
    }
    pub fn data(&self) -> &[f64] {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut [f64] {
        &mut self.data
    }
    pub fn into_data(self) -> Vec<f64> {
        self.data
    }
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The common value if every element is equal (bitwise on the f64 value).
    pub fn uniform_value(&self) -> Option<f64> {
        let first = *self.data.first()?;
        self.data.iter().all(|v| v.to_bits() == first.to_bits()).then_some(first)
    }

    /// The first element that is NaN or infinite, with its flat index.
    pub fn first_non_finite(&self) -> Option<(usize, f64)> {
        self.data.iter().copied().enumerate().find(|(_, v)| !v.is_finite())
    }

    /// Whether every value survives a round trip through f32 unchanged.
    pub fn is_f32_exact(&self) -> bool {
        self.data.iter().all(|&v| (v as f32) as f64 == v || v.is_nan())
    }

    /// Broadcast a scalar (one element, any rank) to `shape`; a tensor with the same number
    /// of elements is reshaped. Anything else is `None`.
    pub fn broadcast_to(&self, shape: &Shape) -> Option<Tensor> {
        let n = shape.checked_numel()?;
        if self.data.len() == n {
            Some(Tensor { shape: shape.clone(), data: self.data.clone() })
        } else if self.data.len() == 1 {
            Some(Tensor { shape: shape.clone(), data: vec![self.data[0]; n] })
        } else {
            None
        }
    }

    /// The same data with another shape of equal size.
    pub fn reshaped(mut self, shape: impl Into<Shape>) -> Result<Tensor, TensorLenError> {
        let shape = shape.into();
        let expected = shape.checked_numel().unwrap_or(usize::MAX);
        if expected != self.data.len() {
            return Err(TensorLenError { shape, expected, got: self.data.len() });
        }
        self.shape = shape;
        Ok(self)
    }

    /// Number of nonzero elements.
    pub fn nnz(&self) -> usize {
        self.data.iter().filter(|v| **v != 0.0).count()
    }

    /// Bitwise equality (distinguishes -0.0 from 0.0; NaN equals NaN of the same bits).
    pub fn bit_eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape
            && self.data.len() == other.data.len()
            && self.data.iter().zip(&other.data).all(|(a, b)| a.to_bits() == b.to_bits())
    }
}
