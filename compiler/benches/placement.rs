//! Placement time and quality on synthetic layered, conv-like problems.
//!
//! Each workload prints the hop-weighted traffic of the optimised placement divided by
//! that of the sequential baseline (`ratio`, lower is better) and one run's wall time;
//! criterion then times `place(.., Optimized)` and `route` (one multicast flow per source
//! piece, on the optimised placement). Workloads: feature maps cut into
//! rectangular blocks, each block sending to the overlapping blocks (widened by a
//! receptive-field halo) of the next layer.

#[path = "../tests/place_common/mod.rs"]
mod place_common;

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use place_common::{conv_traffic, mesh_target};
use spikeforge_compiler::mapper::place::{hop_traffic, place, PlacementMethod, PlacementProblem};
use spikeforge_compiler::mapper::route::{max_link_utilisation, route, Flow};
use spikeforge_targets::{Cast, Target};

/// One multicast flow per source piece to all its destinations, weighing its mean
/// traffic weight.
fn flows(traffic: &[(u32, u32, f64)], n: usize) -> Vec<Flow> {
    let mut by_source: Vec<(Vec<u32>, f64)> = vec![(Vec::new(), 0.0); n];
    for &(a, b, w) in traffic {
        by_source[a as usize].0.push(b);
        by_source[a as usize].1 += w;
    }
    by_source
        .into_iter()
        .enumerate()
        .filter(|(_, (d, _))| !d.is_empty())
        .map(|(s, (d, w))| Flow { source: s as u32, weight: w / d.len() as f64, destinations: d })
        .collect()
}

/// `t` as a multicast target without routing-table limits (the test core type's 8
/// entries are far too few for these workloads).
fn routable(t: &Target) -> Target {
    let mut spec = t.spec().clone();
    spec.noc.cast = Cast::Multicast;
    spec.grid.chip_routing_entries = None;
    spec.core_types.iter_mut().for_each(|k| k.routing_entries = None);
    Target::from_spec(spec, "routable").unwrap()
}

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
        let fl = flows(&p.traffic, n);
        let rt = routable(&w.target);
        let t = Instant::now();
        let r = route(&rt, &opt, &fl).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let top = max_link_utilisation(&rt, &r, 1000.0).map_or(0.0, |u| u.utilisation);
        eprintln!(
            "  route: {} multicast flows in {secs:.3} s; most router entries {}, max link utilisation {top:.3} \
             at 1000 cycles per step",
            fl.len(),
            r.max_router_entries()
        );
        group.bench_function(format!("{}_route", w.name), |b| b.iter(|| route(&rt, &opt, &fl).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
