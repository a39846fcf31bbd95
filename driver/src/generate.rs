//! Generated seed networks (`spikeforge generate`): a VGG-11/16, ResNet-19 or SEW-ResNet
//! with seeded weights and thresholds calibrated to a firing rate
//! ([`spikeforge_compiler::zoo`]), written as NIR or `.snn`, and optionally a matching
//! Bernoulli input. Needs nothing but the zoo; establishes that the input array is checked
//! against the memory budget before the model is generated.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::write_npy;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::summary::Summary;
use spikeforge_compiler::zoo::{self, ZooSpec};
use spikeforge_compiler::{nir, text};

use crate::error::DriverError;
use crate::model::Format;

/// What to generate: the network (`spec`: architecture, width, shape, classes, pooling,
/// seed, firing rate, calibration input) and where to write it.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub spec: ZooSpec,
    /// The model; the format follows the extension (.nir or .snn).
    pub output: PathBuf,
    /// Also write input spikes `[samples, spec.calib_steps, C, H, W]` (uint8) here.
    pub input: Option<PathBuf>,
    /// Samples of `input`.
    pub samples: usize,
    pub limits: Limits,
}

/// What was written.
#[derive(Clone, Debug)]
pub struct Generated {
    pub format: Format,
    pub spiking_layers: usize,
    pub neurons: u64,
    pub synapses: u64,
    pub parameters: u64,
    /// The lowest and highest calibrated firing rate of a layer (fractions).
    pub firing_rate_range: (f64, f64),
    /// The input array's path and shape, when one was written.
    pub input: Option<(PathBuf, [usize; 5])>,
}

pub fn generate(o: &GenerateOptions) -> Result<Generated, DriverError> {
    generate_inner(o).map_err(DriverError::from)
}

fn generate_inner(o: &GenerateOptions) -> Result<Generated> {
    let format = Format::of(&o.output)?;
    let spec = &o.spec;
    let steps = spec.calib_steps;
    if o.input.is_some() && (o.samples == 0 || steps == 0) {
        bail!("--input needs at least one sample and one step (--samples, --steps)");
    }
    let input_dims = [o.samples, steps, spec.input_shape[0], spec.input_shape[1], spec.input_shape[2]];
    if o.input.is_some() {
        o.limits.check_elements("the --input array", &input_dims)?;
    }
    let generated = zoo::generate(spec, &o.limits).with_context(|| format!("generating {}", spec.arch))?;
    match format {
        Format::Nir => nir::write_nir(&generated.graph, &o.output).map_err(anyhow::Error::new),
        Format::Snn => text::write_snn(&generated.graph, &o.output).map_err(anyhow::Error::new),
    }
    .with_context(|| format!("writing {}", o.output.display()))?;
    if let Some(path) = &o.input {
        let x = zoo::input_spikes(&spec.input_shape, o.samples, steps, spec.input_rate, spec.seed.wrapping_add(1));
        let bytes: Vec<u8> = x.iter().map(|&v| v as u8).collect();
        write_npy(path, &input_dims, &bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let s = Summary::new(&generated.graph, &generated.verified);
    let rates: Vec<f64> = generated.layers.iter().map(|l| l.firing_rate).collect();
    let range = rates.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    Ok(Generated {
        format,
        spiking_layers: generated.layers.len(),
        neurons: s.neurons(),
        synapses: s.synapses(),
        parameters: s.parameters(),
        firing_rate_range: range,
        input: o.input.clone().map(|p| (p, input_dims)),
    })
}
