//! Surrogate gradients of a model (`spikeforge grad`, `Model.grad` in Python): the loss of
//! a batch and its gradient with respect to every weight and bias by backpropagation
//! through time ([`spikeforge_compiler::train`]). Needs a verified model and an input
//! checked against it; establishes the default labels (sample i has label i mod the number
//! of outputs, counting from the first selected sample) and the `.npz` layout `loss`,
//! `<node>.weight`, `<node>.bias`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::{Graph, Tensor, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::npz::write_npz;
use spikeforge_compiler::train::{gradients, Loss, Net, Surrogate};

use crate::error::DriverError;

/// The surrogate, loss and worker count of a gradient computation.
#[derive(Clone, Debug)]
pub struct GradSettings {
    /// atan, fast-sigmoid, sigmoid or triangle.
    pub surrogate: String,
    /// The surrogate's shape parameter (default: the surrogate's own).
    pub surrogate_param: Option<f64>,
    /// ce_count, mse_count or ce_membrane.
    pub loss: String,
    /// Worker threads (0 = all cores); the sum over samples is regrouped per worker.
    pub threads: usize,
}

impl Default for GradSettings {
    fn default() -> Self {
        GradSettings { surrogate: "atan".into(), surrogate_param: None, loss: "ce_count".into(), threads: 1 }
    }
}

/// The loss and the gradient of every weight and bias, in graph order.
#[derive(Clone, Debug)]
pub struct GradResult {
    pub n_samples: usize,
    pub n_steps: usize,
    pub loss: f64,
    /// The loss and surrogate as they print, e.g. `ce_count`, `atan(alpha=2)`.
    pub loss_name: String,
    pub surrogate_name: String,
    /// `<node>.weight` / `<node>.bias` and their gradients.
    pub grads: Vec<(String, Tensor)>,
}

/// Where labels come from once the batch size and the number of classes are known.
pub enum Labels<'a> {
    /// Sample i (counting from `first_sample`) has label i mod the number of outputs.
    Cyclic { first_sample: usize },
    /// Read or converted by the caller: `(n_samples, n_classes) -> labels`.
    Given(Box<dyn FnOnce(usize, usize) -> Result<Vec<usize>> + 'a>),
}

/// The gradients of `graph` (named `model_name` in messages) on `x` (named `input_name`).
#[allow(clippy::too_many_arguments)]
pub fn grad_model(
    model_name: &str,
    graph: &Graph,
    verified: &Verified,
    dynamics: Dynamics,
    x: &NdArray<f64>,
    input_name: &str,
    labels: Labels<'_>,
    settings: &GradSettings,
    limits: &Limits,
) -> Result<GradResult, DriverError> {
    grad_inner(model_name, graph, verified, dynamics, x, input_name, labels, settings, limits)
        .map_err(DriverError::from)
}

#[allow(clippy::too_many_arguments)]
fn grad_inner(
    model_name: &str,
    graph: &Graph,
    verified: &Verified,
    dynamics: Dynamics,
    x: &NdArray<f64>,
    input_name: &str,
    labels: Labels<'_>,
    s: &GradSettings,
    limits: &Limits,
) -> Result<GradResult> {
    let Some(surrogate) = Surrogate::from_name(&s.surrogate, s.surrogate_param) else {
        bail!("--surrogate {}: use one of {}", s.surrogate, Surrogate::NAMES.join(", "));
    };
    let Some(loss) = Loss::from_name(&s.loss) else {
        bail!("--loss {}: use one of {}", s.loss, Loss::NAMES.join(", "));
    };
    if s.surrogate_param.is_some_and(|p| !(p > 0.0 && p.is_finite())) {
        bail!("--surrogate-param must be a positive number");
    }
    let exec = Executor::new(graph, verified, dynamics, limits).with_context(|| model_name.to_string())?;
    let (n, t) = exec.check_input(&x.shape).with_context(|| input_name.to_string())?;
    if n == 0 || t == 0 {
        bail!("{input_name}: input has no samples or no time steps (shape {:?})", x.shape);
    }
    let labels = match labels {
        Labels::Cyclic { first_sample } => (first_sample..first_sample + n).map(|i| i % exec.output_len()).collect(),
        Labels::Given(f) => f(n, exec.output_len())?,
    };
    let net = Net::new(graph, verified, &dynamics, limits).with_context(|| model_name.to_string())?;
    let threads = if s.threads == 0 { rayon::current_num_threads() } else { s.threads };
    limits.check_elements("the gradient tape of all workers", &[threads, t, net.tape_len + net.output_len])?;
    let (loss_value, grads) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")?
        .install(|| gradients(&net, surrogate, loss, &x.data, &labels, t, threads))?;
    Ok(GradResult {
        n_samples: n,
        n_steps: t,
        loss: loss_value,
        loss_name: loss.to_string(),
        surrogate_name: surrogate.to_string(),
        grads,
    })
}

/// Writes `loss` (a scalar) and every gradient to an `.npz`.
pub fn write_grad_npz(path: &Path, r: &GradResult) -> Result<(), DriverError> {
    let loss = Tensor::scalar(r.loss);
    let mut entries: Vec<(String, &Tensor)> = vec![("loss".into(), &loss)];
    entries.extend(r.grads.iter().map(|(k, v)| (k.clone(), v)));
    write_npz(path, &entries).map_err(|e| DriverError::from(anyhow::Error::new(e)))
}
