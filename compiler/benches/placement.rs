//! Placement time and quality on synthetic layered, conv-like problems.
//!
//! Each workload prints the hop-weighted traffic of the optimised placement divided by
//! that of the sequential baseline (`ratio`, lower is better) and one run's wall time;
//! criterion then times `place(.., Optimized)`. Workloads: feature maps cut into
//! rectangular blocks, each block sending to the overlapping blocks (widened by a
//! receptive-field halo) of the next layer.

#[path = "../tests/place_common/mod.rs"]
mod place_common;

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use place_common::{conv_traffic, mesh_target};
use spikeforge_compiler::mapper::place::{hop_traffic, place, PlacementMethod, PlacementProblem};
use spikeforge_targets::Target;

struct Workload {
    name: &'static str,
    target: Target,
    blocks: Vec<[usize; 2]>,
    halo: f64,
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "conv2d_4x16_mesh8",
            target: mesh_target([1, 1], [8, 8], 1, false),
            blocks: vec![[4, 4]; 4],
            halo: 0.5,
        },
        Workload {
            name: "conv2d_6x36_mesh8x8x4",
            target: mesh_target([1, 1], [8, 8], 4, false),
            blocks: vec![[6, 6]; 6],
            halo: 0.5,
        },
        Workload {
            name: "conv2d_8x64_mesh16",
            target: mesh_target([1, 1], [16, 16], 2, false),
            blocks: vec![[8, 8]; 8],
            halo: 0.5,
        },
        Workload {
            name: "conv1d_8x64_mesh16",
            target: mesh_target([1, 1], [16, 16], 2, false),
            blocks: vec![[64, 1]; 8],
            halo: 1.0,
        },
        Workload {
            name: "pyramid_2chips",
            target: mesh_target([2, 1], [8, 8], 4, false),
            blocks: vec![[16, 8], [16, 8], [8, 8], [8, 8], [8, 4], [4, 4], [2, 2], [1, 1]],
            halo: 0.5,
        },
        Workload {
            name: "conv2d_8x625_mesh40",
            target: mesh_target([1, 1], [40, 40], 4, false),
            blocks: vec![[25, 25]; 8],
            halo: 0.5,
        },
        Workload {
            name: "conv2d_10x1000_mesh50",
            target: mesh_target([1, 1], [50, 50], 4, false),
            blocks: vec![[40, 25]; 10],
            halo: 1.0,
        },
        Workload {
            name: "wide_10x1000_mesh50",
            target: mesh_target([1, 1], [50, 50], 4, false),
            blocks: vec![[40, 25]; 10],
            halo: 4.5,
        },
    ]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("placement");
    group.sample_size(10);
    for w in workloads() {
        let (traffic, n) = conv_traffic(&w.blocks, w.halo, 100.0);
        let p = PlacementProblem { target: &w.target, piece_core_type: vec![0; n], traffic };
        let seq = place(&p, PlacementMethod::Sequential).unwrap();
        let t = Instant::now();
        let opt = place(&p, PlacementMethod::Optimized { seed: 1 }).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let (hs, ho) = (hop_traffic(&p, &seq), hop_traffic(&p, &opt));
        eprintln!(
            "{}: {n} pieces, {} traffic edges, {} cores: sequential {hs:.0}, optimized {ho:.0}, ratio {:.3}, {secs:.3} s",
            w.name,
            p.traffic.len(),
            w.target.num_cores(),
            ho / hs
        );
        group.bench_function(w.name, |b| b.iter(|| place(&p, PlacementMethod::Optimized { seed: 1 }).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
