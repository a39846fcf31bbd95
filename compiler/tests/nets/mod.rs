//! Small networks written in the `.snn` text format for the pass tests, with a seeded
//! generator, and the helpers that run them.
#![allow(dead_code)] // each test crate uses a different part

use std::path::Path;

use spikeforge_compiler::exec::{Dynamics, Executor, RunResult};
use spikeforge_compiler::ir::{Graph, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport};
use spikeforge_compiler::text::parse_snn;

/// Deterministic uniform numbers in [0, 1) (64-bit LCG, top bits).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn tensor(&mut self, dims: &[usize], lo: f64, hi: f64) -> Tensor {
        let n = dims.iter().product();
        // multiples of 1/64: exact in the text format
        Tensor::new(dims.to_vec(), (0..n).map(|_| ((lo + (hi - lo) * self.next()) * 64.0).round() / 64.0).collect())
            .unwrap()
    }
}

/// A tensor as a nested `.snn` list.
pub fn lit(t: &Tensor) -> String {
    fn go(dims: &[usize], data: &[f64]) -> String {
        if dims.is_empty() {
            return format!("{:?}", data[0]);
        }
        let per = data.len() / dims[0];
        let items: Vec<String> = (0..dims[0]).map(|i| go(&dims[1..], &data[i * per..(i + 1) * per])).collect();
        format!("[{}]", items.join(", "))
    }
    go(t.dims(), t.data())
}

pub fn parse(src: &str) -> Graph {
    parse_snn(src, "net.snn", Path::new("."), &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

pub fn run(g: &Graph, x: &[f64], n: usize, t: usize) -> RunResult {
    let limits = Limits::default();
    let v = g.verify(&limits).unwrap_or_else(|e| panic!("{e:?}"));
    Executor::new(g, &v, Dynamics::default(), &limits).unwrap().run(x, n, t, 2)
}

pub fn passes(g: &Graph, spec: &str, calib: Option<&Calibration>) -> (Graph, Vec<PassReport>) {
    let limits = Limits::default();
    let mut g = g.clone();
    let p = build_pipeline(spec).unwrap_or_else(|e| panic!("{spec}: {}", e.render(spec)));
    let ctx = PassContext { limits: &limits, dynamics: Dynamics::default(), calib, train: None, target: None };
    let r = run_pipeline(&mut g, &p, &ctx).unwrap_or_else(|e| panic!("{spec}: {e}"));
    (g, r)
}

/// Spikes (0/1) with probability `p`, seeded.
pub fn random_input(n: usize, t: usize, len: usize, seed: u64, p: f64) -> Vec<f64> {
    let mut r = Lcg(seed);
    (0..n * t * len).map(|_| if r.next() < p { 1.0 } else { 0.0 }).collect()
}

pub fn dims(g: &Graph, node: &str) -> Vec<usize> {
    g.op(g.find(node).unwrap()).weight().unwrap().dims().to_vec()
}

/// The first `n` samples of digits_mlp's training set (`../shared/golden/digits_train/`).
pub fn digits_mlp_training(n: usize) -> spikeforge_compiler::passes::TrainingData {
    let limits = Limits::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden/digits_train");
    let x = spikeforge_compiler::arrays::read_npy_f64(&dir.join("mlp_t20_input.npy"), &limits).unwrap();
    let y = spikeforge_compiler::arrays::read_npy_f64(&dir.join("mlp_t20_labels.npy"), &limits).unwrap();
    let per = x.shape[1] * x.shape[2];
    spikeforge_compiler::passes::TrainingData {
        input: x.data[..n * per].to_vec(),
        labels: y.data[..n].iter().map(|&v| v as usize).collect(),
        n_steps: x.shape[1],
        progress: false,
    }
}
