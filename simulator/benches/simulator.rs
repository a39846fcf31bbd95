//! Simulator throughput on a synthetic ~2.7M-synapse map over 30 Loihi cores: simulated
//! SOP/s (single thread, NoC modelled per packet and link), set-up time, and heap bytes per
//! synapse (the simulator's own peak allocations, and the core map's arrays).
//!
//! `cargo bench -p spikeforge-simulator` prints the measured numbers first, then runs the
//! criterion benchmarks.

use std::sync::atomic::Ordering;
use std::time::Instant;

use criterion::{criterion_group, Criterion, Throughput};
use spikeforge_simulator::{simulate, synthetic, SimOptions};
use spikeforge_targets::CoreMap;

#[path = "common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{LIVE, PEAK};

const STEPS: usize = 20;

/// Input 4096 → 4096 LIF on 12 cores (fan-in 300) → 4096 on 12 cores (fan-in 300) →
/// 1024 on 6 cores (fan-in 240): ~2.7M synapses on 30 cores of Loihi.
fn map() -> CoreMap {
    let target = spikeforge_targets::preset("loihi").expect("preset").expect("valid").spec().clone();
    synthetic::layered(target, 4096, &[(4096, 12), (4096, 12), (1024, 6)], 300, 0.05, 7)
}

/// 10 % of the inputs spike at every step.
fn input(map: &CoreMap) -> Vec<f64> {
    let n = map.populations[0].n_neurons as usize;
    (0..STEPS * n).map(|i| if (i.wrapping_mul(2654435761) >> 7) % 10 == 0 { 1.0 } else { 0.0 }).collect()
}

fn map_bytes(m: &CoreMap) -> usize {
    let mut b = 0;
    for c in &m.cores {
        let a = &c.axons;
        b += a.resident_bytes();
        b += c.params.gain.len() * 8 * 8;
    }
    for p in &m.projections {
        b += p.fanout_start.len() * 4 + p.fanout.len() * 8;
    }
    b
}

fn report(m: &CoreMap, x: &[f64]) {
    let synapses: usize = m.cores.iter().map(|c| c.n_synapses()).sum();
    let opts = SimOptions::default();
    let mut setup = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        simulate(m, &[], 1, 0, &opts).expect("runs");
        setup = setup.min(t.elapsed().as_secs_f64());
    }
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut best = f64::MAX;
    let mut result = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = simulate(m, x, 1, STEPS, &opts).expect("runs");
        best = best.min(t.elapsed().as_secs_f64());
        result = Some(r);
    }
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let r = result.expect("ran");
    let s = &r.stats;
    let sops = s.sops_weight_layers_total;
    println!("synthetic map: {synapses} synapses on {} cores of `{}`", m.cores.len(), s.target);
    println!(
        "run: {STEPS} steps, {sops} SOPs, {} synapse reads, {} packets, {} hops, spikes per layer {:?}",
        s.synapse_reads,
        s.packets,
        s.hops,
        s.spikes_per_layer.iter().map(|l| l.spikes).collect::<Vec<_>>()
    );
    println!(
        "simulated: {:.0} cycles/step mean, {:.2} µs/step, {:.1} nJ/step, max link utilisation {:.3}",
        s.cycles_per_step_mean,
        s.latency_us_per_step_mean,
        s.energy_pj.total.unwrap_or(f64::NAN) / STEPS as f64 / 1e3,
        s.max_link_utilisation
    );
    println!("throughput: {:.1} M SOP/s ({:.3} s for {STEPS} steps, single thread)", sops as f64 / best / 1e6, best);
    println!("set-up: {:.3} s", setup);
    println!(
        "memory: simulator peak {:.1} bytes/synapse; core map arrays {:.1} bytes/synapse; total {:.1}",
        peak as f64 / synapses as f64,
        map_bytes(m) as f64 / synapses as f64,
        (peak + map_bytes(m)) as f64 / synapses as f64
    );
}

fn benches(c: &mut Criterion) {
    let m = map();
    let x = input(&m);
    report(&m, &x);
    let sops = simulate(&m, &x, 1, STEPS, &SimOptions::default()).expect("runs").stats.sops_weight_layers_total;
    let mut g = c.benchmark_group("loihi_2.7M_synapses");
    g.sample_size(10);
    g.bench_function("setup", |b| b.iter(|| simulate(&m, &[], 1, 0, &SimOptions::default()).expect("runs")));
    g.throughput(Throughput::Elements(sops));
    g.bench_function("run_20_steps", |b| b.iter(|| simulate(&m, &x, 1, STEPS, &SimOptions::default()).expect("runs")));
    g.finish();
}

criterion_group!(group, benches);

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
}
