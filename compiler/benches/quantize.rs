//! Quantization speed on a 1000 × 1000 (1M-weight) layer: round-to-nearest grids per
//! channel, ReScaW, and error-compensating GPTQ/SBC (Hessian factorisation + row updates,
//! Hessian from 2,000 random sparse trace vectors).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeforge_compiler::passes::gptq::{inverse_hessian_factor, quantize_row};
use spikeforge_compiler::passes::quantizers::{Gamma, Grid};
use spikeforge_compiler::synth::Rng;

const D: usize = 1000;

fn weights() -> Vec<f64> {
    let mut r = Rng::new(3);
    (0..D * D).map(|_| r.uniform() * 2.0 - 1.0).collect()
}

fn hessian() -> Vec<f64> {
    let mut r = Rng::new(4);
    let mut h = vec![0.0; D * D];
    let samples = 2000;
    for _ in 0..samples {
        let x: Vec<(usize, f64)> = (0..D).filter_map(|i| (r.uniform() < 0.1).then(|| (i, 1.0 + r.uniform()))).collect();
        for &(i, a) in &x {
            for &(j, b) in &x {
                h[i * D + j] += 2.0 * a * b / samples as f64;
            }
        }
    }
    h
}

fn bench(c: &mut Criterion) {
    let w = weights();
    let mut g = c.benchmark_group("quantize_1M");
    g.throughput(Throughput::Elements((D * D) as u64));
    g.sample_size(10);
    g.bench_function("uniform_per_channel_4bit", |b| {
        b.iter(|| {
            let mut q = w.clone();
            for row in q.chunks_mut(D) {
                let grid = Grid::symmetric(row, 4);
                row.iter_mut().for_each(|v| *v = grid.quantize(*v));
            }
            q
        })
    });
    g.bench_function("rescaw_per_channel_4bit", |b| {
        b.iter(|| {
            let mut q = w.clone();
            for row in q.chunks_mut(D) {
                let grid = Grid::rescaw(row, 4, Gamma::Mean);
                row.iter_mut().for_each(|v| *v = grid.quantize(*v));
            }
            q
        })
    });
    let h = hessian();
    g.bench_function("gptq_factor_and_rows_4bit", |b| {
        b.iter(|| {
            let u = inverse_hessian_factor(&h, D, 0.01).expect("damped Hessian is positive definite");
            let mut q = w.clone();
            let masked = vec![false; D];
            for row in q.chunks_mut(D) {
                let grid = Grid::symmetric(row, 4);
                quantize_row(row, &u, &grid, &masked);
            }
            q
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
