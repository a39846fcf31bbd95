//! The golden digit classifiers for pass tests: loading a case, calibration slices,
//! accuracy and SOPs per sample on a range of its samples, and running a pass pipeline.
#![allow(dead_code)] // each test crate uses a different part

use std::ops::Range;
use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport};

pub fn dir_of(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden").join(case)
}

/// A golden case: its model, its test inputs `[n, t, len]` and labels.
pub struct Data {
    pub graph: Graph,
    pub x: Vec<f64>,
    pub labels: Vec<f64>,
    pub n: usize,
    pub t: usize,
    pub len: usize,
}

pub fn load_case(case: &str) -> Data {
    let limits = Limits::default();
    let graph = read_nir(&dir_of(case).join("model.nir"), &limits).unwrap();
    let x = read_npy_f64(&dir_of(case).join("input.npy"), &limits).unwrap();
    let labels = read_npy_f64(&dir_of(case).join("labels.npy"), &limits).unwrap().data;
    let (n, t, len) = (x.shape[0], x.shape[1], x.shape[2..].iter().product());
    Data { graph, x: x.data, labels, n, t, len }
}

impl Data {
    pub fn calib(&self, samples: Range<usize>) -> Calibration {
        let per = self.t * self.len;
        Calibration {
            data: self.x[samples.start * per..samples.end * per].to_vec(),
            n_samples: samples.len(),
            n_steps: self.t,
        }
    }

    pub fn accuracy(&self, g: &Graph, samples: Range<usize>) -> f64 {
        self.accuracy_and_sops(g, samples).0
    }

    /// Accuracy (argmax of output spike counts, first maximum wins) and weight-layer SOPs
    /// per sample.
    pub fn accuracy_and_sops(&self, g: &Graph, samples: Range<usize>) -> (f64, f64) {
        let limits = Limits::default();
        let v = g.verify(&limits).unwrap();
        let exec = Executor::new(g, &v, Dynamics::default(), &limits).unwrap();
        let c = self.calib(samples.clone());
        let r = exec.run(&c.data, c.n_samples, c.n_steps, 2);
        let correct = (0..c.n_samples)
            .filter(|&s| {
                let mut counts = vec![0.0; r.output_len];
                for step in 0..c.n_steps {
                    for (k, cnt) in counts.iter_mut().enumerate() {
                        *cnt += r.output[(s * c.n_steps + step) * r.output_len + k];
                    }
                }
                let best = (0..counts.len()).fold(0, |b, k| if counts[k] > counts[b] { k } else { b });
                best as f64 == self.labels[samples.start + s]
            })
            .count();
        (correct as f64 / c.n_samples as f64, r.sops_weight_layers() as f64 / c.n_samples as f64)
    }
}

/// Runs the pipeline `spec` on a copy of `g`.
pub fn run_passes(g: &Graph, spec: &str, calib: Option<&Calibration>) -> (Graph, Vec<PassReport>) {
    let limits = Limits::default();
    let mut g = g.clone();
    let passes = build_pipeline(spec).unwrap_or_else(|e| panic!("{spec}: {}", e.render(spec)));
    let ctx = PassContext { limits: &limits, dynamics: Dynamics::default(), calib, train: None, target: None };
    let reports = run_pipeline(&mut g, &passes, &ctx).unwrap_or_else(|e| panic!("{spec}: {e}"));
    (g, reports)
}

/// Every weight layer's weights, in graph order.
pub fn weights(g: &Graph) -> Vec<Vec<f64>> {
    g.node_ids().filter_map(|n| g.op(n).weight()).map(|w| w.data().to_vec()).collect()
}

pub fn zeros(w: &[f64]) -> usize {
    w.iter().filter(|v| **v == 0.0).count()
}
