//! The model zoo: generated VGG-11, VGG-16, ResNet-19 and SEW-ResNet networks with LIF
//! neurons, for tests and benchmarks of the mapper and simulator at real network sizes.
//!
//! Weights are seeded (the same graph on every platform and thread count); every LIF
//! layer's threshold is calibrated with the reference executor so the layer fires at
//! [`ZooSpec::firing_rate`] on Bernoulli input of [`ZooSpec::input_rate`] (see
//! [`calibrate`]). The LIF neurons leak by half per step at the default time step
//! (`tau = 2·dt`, `r = 2`, `dt = 1e-4` s); run the models with that `--dt`.
//!
//! Entry points: [`generate`] and [`input_spikes`].

mod builder;
pub mod calibrate;
mod nets;

use std::fmt;
use std::str::FromStr;

use crate::ir::{Graph, IrError, Verified};
use crate::limits::{LimitError, Limits};
use crate::synth::Rng;

pub use calibrate::LayerCalibration;

/// A generated architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    Vgg11,
    Vgg16,
    Resnet19,
    SewResnet,
}

impl Architecture {
    pub const ALL: [Architecture; 4] =
        [Architecture::Vgg11, Architecture::Vgg16, Architecture::Resnet19, Architecture::SewResnet];

    pub fn name(self) -> &'static str {
        match self {
            Architecture::Vgg11 => "vgg11",
            Architecture::Vgg16 => "vgg16",
            Architecture::Resnet19 => "resnet19",
            Architecture::SewResnet => "sew_resnet",
        }
    }

    /// The input the architecture is usually trained on: CIFAR-10 (3×32×32) or, for
    /// SEW-ResNet, DVS-Gesture events at 64×64 (2 polarities).
    pub fn default_input_shape(self) -> [usize; 3] {
        match self {
            Architecture::SewResnet => [2, 64, 64],
            _ => [3, 32, 32],
        }
    }

    /// CIFAR-10's 10 classes, DVS-Gesture's 11.
    pub fn default_classes(self) -> usize {
        match self {
            Architecture::SewResnet => 11,
            _ => 10,
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Architecture {
    type Err = ZooError;
    fn from_str(s: &str) -> Result<Self, ZooError> {
        let key = s.to_ascii_lowercase().replace(['-', '_'], "");
        Architecture::ALL
            .into_iter()
            .find(|a| a.name().replace('_', "") == key)
            .ok_or_else(|| ZooError::UnknownArchitecture { name: s.into() })
    }
}

/// Pooling used for downsampling (NIR has no max pooling).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PoolKind {
    #[default]
    Avg,
    Sum,
}

impl FromStr for PoolKind {
    type Err = ZooError;
    fn from_str(s: &str) -> Result<Self, ZooError> {
        match s {
            "avg" => Ok(PoolKind::Avg),
            "sum" => Ok(PoolKind::Sum),
            _ => Err(ZooError::UnknownPool { name: s.into() }),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct ZooSpec {
    pub arch: Architecture,
    /// Channel (and hidden-unit) multiplier; channels are rounded, at least 1.
    pub width: f64,
    /// `[channels, height, width]`.
    pub input_shape: [usize; 3],
    pub classes: usize,
    pub pool: PoolKind,
    /// Target fraction of each LIF layer's neurons spiking per step.
    pub firing_rate: f64,
    /// Input spike probability per element and step.
    pub input_rate: f64,
    /// Samples and steps of the calibration input.
    pub calib_samples: usize,
    pub calib_steps: usize,
    pub seed: u64,
}

impl ZooSpec {
    /// The architecture at its usual input, width 1, 10 % firing on 15 % input.
    pub fn new(arch: Architecture) -> Self {
        ZooSpec {
            arch,
            width: 1.0,
            input_shape: arch.default_input_shape(),
            classes: arch.default_classes(),
            pool: PoolKind::Avg,
            firing_rate: 0.1,
            input_rate: 0.15,
            calib_samples: 8,
            calib_steps: 4,
            seed: 0,
        }
    }

    /// Checks every field; [`generate`] calls it first.
    pub fn check(&self) -> Result<(), ZooError> {
        let bad = |field: &'static str, reason: String| Err(ZooError::BadSpec { field, reason });
        if !(self.width.is_finite() && self.width > 0.0 && self.width <= 64.0) {
            return bad("width", format!("{} is not in (0, 64]", self.width));
        }
        if self.input_shape.contains(&0) {
            return bad("input shape", format!("{:?} has a zero dimension", self.input_shape));
        }
        if self.classes == 0 {
            return bad("classes", "there must be at least one class".into());
        }
        for (field, r) in [("firing rate", self.firing_rate), ("input rate", self.input_rate)] {
            if !(r > 0.0 && r < 1.0) {
                return bad(field, format!("{r} is not in (0, 1)"));
            }
        }
        if self.calib_samples == 0 || self.calib_steps == 0 {
            return bad("calibration", "needs at least one sample and one step".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZooError {
    #[error("unknown architecture `{name}` (known: vgg11, vgg16, resnet19, sew_resnet)")]
    UnknownArchitecture { name: String },
    #[error("unknown pooling `{name}` (known: avg, sum)")]
    UnknownPool { name: String },
    #[error("{field}: {reason}")]
    BadSpec { field: &'static str, reason: String },
    #[error(transparent)]
    Ir(#[from] IrError),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("the generated network does not verify: {}", .0.join("; "))]
    Verify(Vec<String>),
    #[error("layer `{layer}` never receives positive input on the calibration data, so no threshold makes it fire (try another --seed or a higher input rate)")]
    Silent { layer: String },
    #[error("internal error while generating: {0}")]
    Internal(String),
}

/// A generated network and how its layers were calibrated.
#[derive(Clone, Debug)]
pub struct Generated {
    pub graph: Graph,
    pub verified: Verified,
    pub layers: Vec<LayerCalibration>,
}

/// Builds the network, then calibrates its thresholds on `calib_samples × calib_steps`
/// of seeded input.
pub fn generate(spec: &ZooSpec, limits: &Limits) -> Result<Generated, ZooError> {
    spec.check()?;
    let mut b = builder::Builder::new(spec.seed, limits);
    match spec.arch {
        Architecture::Vgg11 => nets::vgg(&mut b, spec, false)?,
        Architecture::Vgg16 => nets::vgg(&mut b, spec, true)?,
        Architecture::Resnet19 => nets::resnet19(&mut b, spec)?,
        Architecture::SewResnet => nets::sew_resnet(&mut b, spec)?,
    }
    let lifs = std::mem::take(&mut b.lifs);
    let mut graph = b.graph;
    // Check sizes before the calibration input and runs are allocated.
    graph.verify(limits).map_err(|e| ZooError::Verify(e.iter().map(|e| e.to_string()).collect()))?;
    let input =
        input_spikes(&spec.input_shape, spec.calib_samples, spec.calib_steps, spec.input_rate, calib_seed(spec.seed));
    let layers = calibrate::calibrate(
        &mut graph,
        &lifs,
        &input,
        spec.calib_samples,
        spec.calib_steps,
        spec.firing_rate,
        limits,
    )?;
    let verified = graph.verify(limits).map_err(|e| ZooError::Verify(e.iter().map(|e| e.to_string()).collect()))?;
    Ok(Generated { graph, verified, layers })
}

/// The calibration input's seed: a stream apart from the weights' and from the seeds
/// users pass to [`input_spikes`].
fn calib_seed(seed: u64) -> u64 {
    seed ^ 0xC0FF_EE00_CA11_B8A7
}

/// Bernoulli spikes `[samples, steps, *shape]` (C order), 0.0 or 1.0.
pub fn input_spikes(shape: &[usize], samples: usize, steps: usize, rate: f64, seed: u64) -> Vec<f64> {
    let n: usize = shape.iter().product();
    Rng::new(seed).spikes(samples * steps * n, rate)
}
