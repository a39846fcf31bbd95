//! Surrogate-gradient training over the IR: backpropagation through time with spikes'
//! derivatives replaced by a surrogate ([`surrogate`]), losses on output spike counts or a
//! readout membrane ([`loss`]), optimizers ([`optim`]) and the training loop used by the
//! `finetune` pass ([`trainer`]).
//!
//! Conventions (those of `../shared/golden/README.md`, "Reference surrogate gradients"):
//! forward exactly as the reference executor (same expressions, same summation order, so
//! the same spikes); the reset is detached (`v ← x − detach(s)·(x − v_reset)`); a back edge
//! carries the previous step's value and its gradient; the loss is the batch mean.
//! Gradients are with respect to every weight and bias of Affine, Linear, Conv1d and
//! Conv2d nodes. Spike sparsity is used twice: the forward adds one weight column per
//! nonzero input (a gather, not a dense product), and the weight gradient updates one row
//! of the transposed gradient per nonzero input (`∂Wᵀ[j] += ∂y` for a spike: no multiply);
//! the input gradient `Wᵀ∂y` is skipped for layers fed only by parameter-free nodes.

pub mod bptt;
mod delay;
pub mod grid;
pub mod loss;
pub mod net;
mod neurons;
pub mod optim;
pub mod surrogate;
mod synapse;
pub mod trainer;

pub use bptt::{batch_gradient, Batch, BatchResult};
pub use loss::Loss;
pub use net::{Net, Param};
pub use surrogate::Surrogate;

use crate::ir::Tensor;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    #[error("node `{node}`: {kind} has no gradient here (training supports Affine, Linear, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Scale, Delay, Threshold and the neuron nodes)")]
    Unsupported { node: String, kind: &'static str },
    #[error("{reason}")]
    Structure { reason: String },
    #[error("label {index} is {label}; the model has {classes} outputs")]
    Label { index: usize, label: usize, classes: usize },
}

/// Loss and gradient over all of `input` (`[N, T, input_len]`) in one batch, as NIR-shaped
/// tensors named `<node>.weight` / `<node>.bias` (graph order of the weight layers).
pub fn gradients(
    net: &Net,
    surrogate: Surrogate,
    loss: Loss,
    input: &[f64],
    labels: &[usize],
    t_steps: usize,
    workers: usize,
) -> Result<(f64, Vec<(String, Tensor)>), TrainError> {
    check_labels(labels, net.output_len)?;
    let samples: Vec<usize> = (0..labels.len()).collect();
    let batch = Batch { input, labels, t_steps, samples: &samples };
    let r = batch_gradient(net, surrogate, loss, &batch, workers);
    let named = net
        .params
        .iter()
        .zip(&r.grads)
        .map(|(p, g)| (p.name.clone(), Tensor::new(p.nir_shape.clone(), p.to_nir(g)).expect("shape of the parameter")))
        .collect();
    Ok((r.loss, named))
}

/// Every label is a class index of the model's output.
pub fn check_labels(labels: &[usize], classes: usize) -> Result<(), TrainError> {
    match labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        Some((index, &label)) => Err(TrainError::Label { index, label, classes }),
        None => Ok(()),
    }
}
