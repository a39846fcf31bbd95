//! Pruning speed on one 1024 × 1024 fully connected layer (1M weights) with 256
//! calibration samples × 20 steps of 10 % random input spikes: the whole `prune` pass,
//! calibration run included. SBC builds the layer's leaky spike-trace Hessian from the
//! calibration and removes 80 % of the weights row by row with OBS updates; LAMP and
//! magnitude (no Hessian) are the reference points.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext};
use spikeforge_compiler::synth::{sparse_mlp, Rng};

const D: usize = 1024;
const SAMPLES: usize = 256;
const STEPS: usize = 20;

fn bench(c: &mut Criterion) {
    let graph = sparse_mlp(&[D, D], 1.0, 5).expect("generated layer");
    let calib = Calibration { data: Rng::new(6).spikes(SAMPLES * STEPS * D, 0.1), n_samples: SAMPLES, n_steps: STEPS };
    let limits = Limits::default();
    let ctx =
        PassContext { limits: &limits, dynamics: Dynamics::default(), calib: Some(&calib), train: None, target: None };
    let mut g = c.benchmark_group("prune_1024x1024_calib_256x20");
    g.throughput(Throughput::Elements((D * D) as u64));
    g.sample_size(10);
    for (name, spec) in [
        ("sbc_80", "prune(method=sbc, sparsity=0.8)"),
        ("lamp_80", "prune(method=lamp, sparsity=0.8)"),
        ("magnitude_80", "prune(method=magnitude, sparsity=0.8)"),
    ] {
        let passes = build_pipeline(spec).expect("valid pipeline");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut m = graph.clone();
                run_pipeline(&mut m, &passes, &ctx).expect("prunes");
                m
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
