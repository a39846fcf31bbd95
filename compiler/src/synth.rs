//! Synthetic networks and inputs for benchmarks and stress tests.
//!
//! Weights come from a seeded generator (deterministic across platforms). Thresholds are
//! calibrated layer by layer with the reference executor so each LIF layer fires at a
//! chosen rate, which makes a generated network's activity — and so the work an
//! event-driven engine does — a parameter rather than an accident.

use std::collections::BTreeMap;

use crate::exec::{Dynamics, Executor};
use crate::ir::{Attr, Graph, IrError, NodeId, Op, OpKind, Shape, Tensor};
use crate::limits::Limits;

/// SplitMix64: small, seeded, the same on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Bernoulli 0/1 spikes, `[n]`.
    pub fn spikes(&mut self, n: usize, rate: f64) -> Vec<f64> {
        (0..n).map(|_| (self.uniform() < rate) as u8 as f64).collect()
    }
}

/// One convolution layer of a generated network.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayer {
    pub channels: usize,
    pub kernel: usize,
    pub stride: usize,
}

/// A conv net: `Input [c, h, w]` → (Conv2d → LIF)* → Output, with padding kernel/2.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvNetSpec {
    pub input: [usize; 3],
    pub layers: Vec<ConvLayer>,
    /// Target fraction of LIF neurons that spike per step.
    pub firing_rate: f64,
    /// Input spike probability per element and step.
    pub input_rate: f64,
    /// Steps and samples used to calibrate thresholds.
    pub calib_steps: usize,
    pub seed: u64,
}

impl ConvNetSpec {
    /// ~28.7k neurons, ~2.8M synapses: the executor benchmark's generated network.
    pub fn bench_30k() -> Self {
        ConvNetSpec {
            input: [3, 32, 32],
            layers: vec![
                ConvLayer { channels: 16, kernel: 3, stride: 1 },
                ConvLayer { channels: 32, kernel: 3, stride: 2 },
                ConvLayer { channels: 16, kernel: 3, stride: 1 },
            ],
            firing_rate: 0.15,
            input_rate: 0.15,
            calib_steps: 8,
            seed: 1,
        }
    }
}

fn attrs(v: Vec<(&str, Attr)>) -> BTreeMap<String, Attr> {
    v.into_iter().map(|(k, a)| (k.to_string(), a)).collect()
}

fn build(kind: OpKind, v: Vec<(&str, Attr)>) -> Op {
    Op::from_attrs(kind, attrs(v), None).expect("generated parameters are valid")
}

/// LIF with leak 0.5 per step (tau = 2·dt, r = tau/dt: v ← v/2 + I at dt = 1e-4).
fn lif(shape: &Shape, threshold: f64, dt: f64) -> Op {
    let n = shape.numel();
    let full = |v: f64| Attr::Tensor(Tensor::new(shape.clone(), vec![v; n]).expect("shape matches"));
    build(
        OpKind::LIF,
        vec![
            ("tau", full(2.0 * dt)),
            ("r", full(2.0)),
            ("v_leak", full(0.0)),
            ("v_threshold", full(threshold)),
            ("v_reset", full(0.0)),
        ],
    )
}

/// Generates the network with thresholds calibrated to `spec.firing_rate`.
pub fn conv_net(spec: &ConvNetSpec) -> Result<Graph, IrError> {
    let mut rng = Rng::new(spec.seed);
    let dt = Dynamics::default().dt;
    let limits = Limits::default();
    let mut g = Graph::new();
    let input_shape = Shape(spec.input.to_vec());
    let dims: Vec<i64> = spec.input.iter().map(|&d| d as i64).collect();
    let mut prev = g.add_node("input", build(OpKind::Input, vec![("shape", Attr::Ints(dims))]))?;
    let mut shape = input_shape.clone();
    let calib_input = rng.spikes(spec.calib_steps * input_shape.numel(), spec.input_rate);
    for (i, l) in spec.layers.iter().enumerate() {
        let c_in = shape.dims()[0];
        let fan_in = (c_in * l.kernel * l.kernel) as f64;
        let n_w = l.channels * c_in * l.kernel * l.kernel;
        // Slightly positive mean so activity propagates through depth.
        let w: Vec<f64> = (0..n_w).map(|_| (rng.uniform() * 2.0 - 0.8) / fan_in.sqrt()).collect();
        let conv = build(
            OpKind::Conv2d,
            vec![
                ("weight", Attr::Tensor(Tensor::new(vec![l.channels, c_in, l.kernel, l.kernel], w).expect("sized"))),
                ("bias", Attr::Tensor(Tensor::zeros(vec![l.channels]))),
                ("stride", Attr::Ints(vec![l.stride as i64; 2])),
                ("padding", Attr::Ints(vec![(l.kernel / 2) as i64; 2])),
            ],
        );
        let out_shape = conv.output_shape(&shape).map_err(|e| IrError::ShapeMismatch {
            from: g.name(prev).into(),
            from_shape: shape.clone(),
            to: format!("conv{i}"),
            kind: OpKind::Conv2d,
            expected: e.to_string(),
        })?;
        let c = g.add_node(format!("conv{i}"), conv)?;
        g.add_edge(prev, c)?;
        let threshold = calibrate(&g, c, &out_shape, &calib_input, spec, dt, &limits);
        let n = g.add_node(format!("lif{i}"), lif(&out_shape, threshold, dt))?;
        g.add_edge(c, n)?;
        prev = n;
        shape = out_shape;
    }
    let dims: Vec<i64> = shape.dims().iter().map(|&d| d as i64).collect();
    let o = g.add_node("output", build(OpKind::Output, vec![("shape", Attr::Ints(dims))]))?;
    g.add_edge(prev, o)?;
    Ok(g)
}

/// Bisects the threshold of a LIF placed after `conv` so it fires at the target rate on
/// the calibration input.
fn calibrate(g: &Graph, conv: NodeId, shape: &Shape, x: &[f64], spec: &ConvNetSpec, dt: f64, limits: &Limits) -> f64 {
    let rate = |thr: f64| {
        let mut h = g.clone();
        let n = h.add_node("calib_lif", lif(shape, thr, dt)).expect("fresh name");
        h.add_edge(conv, n).expect("fresh edge");
        let dims: Vec<i64> = shape.dims().iter().map(|&d| d as i64).collect();
        let o = h.add_node("calib_out", build(OpKind::Output, vec![("shape", Attr::Ints(dims))])).expect("fresh");
        h.add_edge(n, o).expect("fresh edge");
        let v = h.verify(limits).expect("generated graph verifies");
        let e = Executor::new(&h, &v, Dynamics::default(), limits).expect("single input and output");
        let r = e.run(x, 1, spec.calib_steps, 1);
        r.output.iter().sum::<f64>() / r.output.len() as f64
    };
    let (mut lo, mut hi): (f64, f64) = (1e-6, 64.0);
    for _ in 0..30 {
        let mid = (lo * hi).sqrt();
        if rate(mid) > spec.firing_rate {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}
