//! `spikeforge generate ARCH -o model.nir [--input x.npy --samples N]`: write a generated
//! VGG-11/16, ResNet-19 or SEW-ResNet (seeded weights, thresholds calibrated to a firing
//! rate) and optionally a matching input array, for tests and benchmarks.

use std::path::PathBuf;

use anyhow::Result;
use spikeforge_compiler::zoo::{self, Architecture, PoolKind, ZooSpec};
use spikeforge_driver::generate::{generate, GenerateOptions};
use spikeforge_driver::options::LimitArgs;
use spikeforge_driver::DriverError;

#[derive(clap::Args)]
pub struct Args {
    /// Architecture: vgg11, vgg16, resnet19 or sew_resnet.
    #[arg(value_parser = parse_arch)]
    pub arch: Architecture,
    /// Output model; the format follows the extension (.nir or .snn).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Channel (and hidden-unit) multiplier; channels are rounded, at least 1.
    #[arg(long, default_value_t = 1.0)]
    pub width: f64,
    /// Input shape C,H,W (default 3,32,32; sew_resnet 2,64,64, DVS-Gesture events).
    #[arg(long, value_parser = parse_shape)]
    pub input_shape: Option<[usize; 3]>,
    /// Output classes (default 10; sew_resnet 11).
    #[arg(long)]
    pub classes: Option<usize>,
    /// Downsampling pooling: avg or sum (NIR has no max pooling).
    #[arg(long, default_value = "avg", value_parser = parse_pool)]
    pub pool: PoolKind,
    /// Time steps of the calibration input and of `--input`.
    #[arg(long, default_value_t = 4)]
    pub steps: usize,
    /// Seed of the weights and of the calibration input.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of each LIF layer's neurons spiking per step (thresholds are calibrated to it).
    #[arg(long, default_value_t = 0.1)]
    pub firing_rate: f64,
    /// Input spike probability per element and step.
    #[arg(long, default_value_t = 0.15)]
    pub input_rate: f64,
    /// Samples of calibration input.
    #[arg(long, default_value_t = 8)]
    pub calib_samples: usize,
    /// Also write Bernoulli input spikes `[samples, steps, C, H, W]` (uint8 .npy) from the
    /// same distribution as the calibration input, with another seed.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Samples of `--input`.
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
}

fn parse_arch(s: &str) -> Result<Architecture, String> {
    s.parse().map_err(|e: zoo::ZooError| e.to_string())
}

fn parse_pool(s: &str) -> Result<PoolKind, String> {
    s.parse().map_err(|e: zoo::ZooError| e.to_string())
}

fn parse_shape(s: &str) -> Result<[usize; 3], String> {
    let dims: Vec<usize> = s
        .split([',', 'x'])
        .map(|d| d.trim().parse::<usize>().map_err(|_| format!("`{s}` is not C,H,W (e.g. 3,32,32)")))
        .collect::<Result<_, _>>()?;
    <[usize; 3]>::try_from(dims.as_slice()).map_err(|_| format!("`{s}` has {} dimensions; expected C,H,W", dims.len()))
}

pub fn run(a: Args) -> Result<()> {
    let mut spec = ZooSpec::new(a.arch);
    spec.width = a.width;
    spec.input_shape = a.input_shape.unwrap_or(spec.input_shape);
    spec.classes = a.classes.unwrap_or(spec.classes);
    spec.pool = a.pool;
    spec.firing_rate = a.firing_rate;
    spec.input_rate = a.input_rate;
    spec.calib_samples = a.calib_samples;
    spec.calib_steps = a.steps;
    spec.seed = a.seed;
    let o = GenerateOptions {
        spec: spec.clone(),
        output: a.output.clone(),
        input: a.input.clone(),
        samples: a.samples,
        limits: a.limits.limits(),
    };
    let g = crate::progress::during(format!("generating {} and calibrating its thresholds", a.arch), || generate(&o))
        .map_err(DriverError::into_anyhow)?;
    let (lo, hi) = g.firing_rate_range;
    println!(
        "wrote {} ({}, {}): {} spiking layers, {} neurons, {} synapses, {} parameters; thresholds calibrated to \
         {:.1}–{:.1} % firing on {} × {} steps of {:.0} % input{}",
        a.output.display(),
        a.arch,
        g.format.describe(),
        g.spiking_layers,
        g.neurons,
        g.synapses,
        g.parameters,
        lo * 100.0,
        hi * 100.0,
        spec.calib_samples,
        spec.calib_steps,
        spec.input_rate * 100.0,
        g.input.as_ref().map_or(String::new(), |(p, dims)| format!("; input {} {:?}", p.display(), dims)),
    );
    Ok(())
}
