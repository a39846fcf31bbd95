//! A golden model (`../shared/golden/CASE`) compiled for a target, with the first samples of
//! its input: shared by the simulator tests on compiled maps.

use std::path::PathBuf;

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions};
use spikeforge_compiler::nir::read_nir;
use spikeforge_targets::{CoreMap, Target};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The map, the input of at most `max_samples` samples, samples and steps.
pub fn compiled(case: &str, target: &Target, max_samples: usize) -> (CoreMap, Vec<f64>, usize, usize) {
    let dir = root().join("../shared/golden").join(case);
    let limits = Limits::default();
    let graph = read_nir(&dir.join("model.nir"), &limits).unwrap();
    let verified = graph.verify(&limits).unwrap();
    let x = read_npy_f64(&dir.join("input.npy"), &limits).unwrap();
    let (map, _) = compile(&graph, &verified, target, Dynamics::default(), &CompileOptions::default()).unwrap();
    let (t, per) = (x.shape[1], x.data.len() / x.shape[0]);
    let n = x.shape[0].min(max_samples);
    (map, x.data[..n * per].to_vec(), n, t)
}
