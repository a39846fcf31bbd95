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

/// A deep conv net for mapping benchmarks: `Input [c, h, w]` → (Conv2d k×k, stride 1,
/// padding k/2 → LIF)* → Output. Thresholds are fixed (1.0, leak 0.5 per step), not
/// calibrated: the mapper's work depends on the connectivity, not on the activity.
pub fn deep_conv_net(input: [usize; 3], channels: &[usize], kernel: usize, seed: u64) -> Result<Graph, IrError> {
    let mut rng = Rng::new(seed);
    let dt = Dynamics::default().dt;
    let mut g = Graph::new();
    let dims: Vec<i64> = input.iter().map(|&d| d as i64).collect();
    let mut prev = g.add_node("input", build(OpKind::Input, vec![("shape", Attr::Ints(dims))]))?;
    let mut shape = Shape(input.to_vec());
    for (i, &c_out) in channels.iter().enumerate() {
        let c_in = shape.dims()[0];
        let n_w = c_out * c_in * kernel * kernel;
        let scale = 1.0 / ((c_in * kernel * kernel) as f64).sqrt();
        let w: Vec<f64> = (0..n_w).map(|_| (rng.uniform() * 2.0 - 0.8) * scale).collect();
        let conv = build(
            OpKind::Conv2d,
            vec![
                ("weight", Attr::Tensor(Tensor::new(vec![c_out, c_in, kernel, kernel], w).expect("sized"))),
                ("bias", Attr::Tensor(Tensor::zeros(vec![c_out]))),
                ("stride", Attr::Ints(vec![1; 2])),
                ("padding", Attr::Ints(vec![(kernel / 2) as i64; 2])),
            ],
        );
        let out_shape = Shape(vec![c_out, shape.dims()[1], shape.dims()[2]]);
        let c = g.add_node(format!("conv{i}"), conv)?;
        g.add_edge(prev, c)?;
        let n = g.add_node(format!("lif{i}"), lif(&out_shape, 1.0, dt))?;
        g.add_edge(c, n)?;
        prev = n;
        shape = out_shape;
    }
    let o = g.add_node("output", build(OpKind::Output, vec![("shape", Attr::Ints(vec![shape.numel() as i64]))]))?;
    g.add_edge(prev, o)?;
    Ok(g)
}

/// `prev` → Affine `names.0` (weights `w`, `[n_out, n_in]`, zero bias) → LIF `names.1`
/// (threshold 1); returns the LIF node.
fn dense_lif(
    g: &mut Graph,
    prev: NodeId,
    names: (&str, &str),
    (n_in, n_out): (usize, usize),
    w: Vec<f64>,
    dt: f64,
) -> Result<NodeId, IrError> {
    let fc = build(
        OpKind::Affine,
        vec![
            ("weight", Attr::Tensor(Tensor::new(vec![n_out, n_in], w).expect("sized"))),
            ("bias", Attr::Tensor(Tensor::zeros(vec![n_out]))),
        ],
    );
    let f = g.add_node(names.0, fc)?;
    g.add_edge(prev, f)?;
    let n = g.add_node(names.1, lif(&Shape(vec![n_out]), 1.0, dt))?;
    g.add_edge(f, n)?;
    Ok(n)
}

/// A sparse MLP for mapping benchmarks: `Input [sizes[0]]` → (Affine → LIF)* with each
/// weight nonzero with probability `density` (fixed thresholds, as [`deep_conv_net`]).
pub fn sparse_mlp(sizes: &[usize], density: f64, seed: u64) -> Result<Graph, IrError> {
    let mut rng = Rng::new(seed);
    let dt = Dynamics::default().dt;
    let mut g = Graph::new();
    let n0 = sizes.first().copied().unwrap_or(1);
    let mut prev = g.add_node("input", build(OpKind::Input, vec![("shape", Attr::Ints(vec![n0 as i64]))]))?;
    for (i, w) in sizes.windows(2).enumerate() {
        let (n_in, n_out) = (w[0], w[1]);
        let scale = 1.0 / ((n_in as f64) * density).sqrt().max(1.0);
        let weights: Vec<f64> = (0..n_in * n_out)
            .map(|_| if rng.uniform() < density { (rng.uniform() * 2.0 - 0.8) * scale } else { 0.0 })
            .collect();
        prev = dense_lif(&mut g, prev, (&format!("fc{i}"), &format!("lif{i}")), (n_in, n_out), weights, dt)?;
    }
    let last = *sizes.last().unwrap_or(&1) as i64;
    let o = g.add_node("output", build(OpKind::Output, vec![("shape", Attr::Ints(vec![last]))]))?;
    g.add_edge(prev, o)?;
    Ok(g)
}

/// One stage of [`vgg_net`]: a 3×3 convolution (padding 1) of this many output channels
/// with LIF neurons, or a 2×2 average pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VggLayer {
    Conv(usize),
    Pool,
}

/// VGG-16's feature extractor for 32×32 inputs (CIFAR-10).
pub const VGG16: &[VggLayer] = {
    use VggLayer::{Conv as C, Pool as P};
    &[
        C(64),
        C(64),
        P,
        C(128),
        C(128),
        P,
        C(256),
        C(256),
        C(256),
        P,
        C(512),
        C(512),
        C(512),
        P,
        C(512),
        C(512),
        C(512),
        P,
    ]
};

/// A VGG-style net for mapping and simulation at scale: `Input [c, h, w]` → `layers`
/// (each pooling feeds the next weight layer, so it becomes source-side pooling) →
/// Flatten → Affine to each of `classifier`'s widths with LIF neurons. Weights seeded,
/// thresholds fixed (as [`deep_conv_net`]); about one convolution weight in 8 is an exact
/// zero (a pruning mask: an absent synapse).
pub fn vgg_net(input: [usize; 3], layers: &[VggLayer], classifier: &[usize], seed: u64) -> Result<Graph, IrError> {
    let mut rng = Rng::new(seed);
    let dt = Dynamics::default().dt;
    let mut g = Graph::new();
    let dims: Vec<i64> = input.iter().map(|&d| d as i64).collect();
    let mut prev = g.add_node("input", build(OpKind::Input, vec![("shape", Attr::Ints(dims))]))?;
    let mut shape = Shape(input.to_vec());
    for (i, layer) in layers.iter().enumerate() {
        match *layer {
            VggLayer::Pool => {
                let pool = build(
                    OpKind::AvgPool2d,
                    vec![
                        ("kernel_size", Attr::Ints(vec![2, 2])),
                        ("stride", Attr::Ints(vec![2, 2])),
                        ("padding", Attr::Ints(vec![0, 0])),
                    ],
                );
                let p = g.add_node(format!("pool{i}"), pool)?;
                g.add_edge(prev, p)?;
                prev = p;
                shape = Shape(vec![shape.dims()[0], shape.dims()[1] / 2, shape.dims()[2] / 2]);
            }
            VggLayer::Conv(c_out) => {
                let c_in = shape.dims()[0];
                let n_w = c_out * c_in * 9;
                let scale = 1.0 / ((c_in * 9) as f64).sqrt();
                let w: Vec<f64> = (0..n_w)
                    .map(|_| if rng.next_u64() % 8 == 0 { 0.0 } else { (rng.uniform() * 2.0 - 0.8) * scale })
                    .collect();
                let conv = build(
                    OpKind::Conv2d,
                    vec![
                        ("weight", Attr::Tensor(Tensor::new(vec![c_out, c_in, 3, 3], w).expect("sized"))),
                        ("bias", Attr::Tensor(Tensor::zeros(vec![c_out]))),
                        ("stride", Attr::Ints(vec![1; 2])),
                        ("padding", Attr::Ints(vec![1; 2])),
                    ],
                );
                let out_shape = Shape(vec![c_out, shape.dims()[1], shape.dims()[2]]);
                let c = g.add_node(format!("conv{i}"), conv)?;
                g.add_edge(prev, c)?;
                let n = g.add_node(format!("lif{i}"), lif(&out_shape, 1.0, dt))?;
                g.add_edge(c, n)?;
                prev = n;
                shape = out_shape;
            }
        }
    }
    let f = g.add_node(
        "flatten",
        build(OpKind::Flatten, vec![("start_dim", Attr::Ints(vec![0])), ("end_dim", Attr::Ints(vec![-1]))]),
    )?;
    g.add_edge(prev, f)?;
    prev = f;
    let mut n_in = shape.numel();
    for (i, &n_out) in classifier.iter().enumerate() {
        let scale = 1.0 / (n_in as f64).sqrt();
        let w: Vec<f64> = (0..n_in * n_out).map(|_| (rng.uniform() * 2.0 - 0.8) * scale).collect();
        prev = dense_lif(&mut g, prev, (&format!("fc{i}"), &format!("fc_lif{i}")), (n_in, n_out), w, dt)?;
        n_in = n_out;
    }
    let o = g.add_node("output", build(OpKind::Output, vec![("shape", Attr::Ints(vec![n_in as i64]))]))?;
    g.add_edge(prev, o)?;
    Ok(g)
}

/// Generated networks of the mapping benchmarks, by name: ~1.3M and ~9.3M synapses of
/// 3×3 convolutions, ~0.93M and ~10.1M synapses of sparse fully connected layers.
pub const MAPPING_WORKLOADS: [&str; 4] = ["conv1m", "mlp1m", "conv10m", "mlp10m"];

/// One of [`MAPPING_WORKLOADS`]; `None` for another name.
pub fn mapping_workload(name: &str) -> Option<Result<Graph, IrError>> {
    Some(match name {
        "conv1m" => deep_conv_net([2, 32, 32], &[8, 8, 8], 3, 1),
        "conv10m" => deep_conv_net([2, 32, 32], &[16, 16, 16, 16, 16], 3, 1),
        "mlp1m" => sparse_mlp(&[784, 1024, 1024, 10], 0.5, 1),
        "mlp10m" => sparse_mlp(&[2048, 2048, 2048, 2048, 10], 0.8, 1),
        "vgg16" => vgg_net([3, 32, 32], VGG16, &[512, 512, 10], 1),
        _ => return None,
    })
}
