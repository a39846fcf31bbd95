//! Simulator throughput (issue 13): synaptic events per wall-second on 1 and 2 threads
//! (and their ratio, measured in the same run) and bytes resident per unrolled synapse, on
//! (a) a conv-net core map written by the CLI and (b) a synthetic fully connected MLP.
//!
//! ```text
//! target/release/spikeforge generate vgg11 --width 0.15 -o v.nir
//! target/release/spikeforge compile v.nir -t loihi -o v.map.json      # 57 cores, 2.8 M synapses
//! cargo run --release -p spikeforge-simulator --example throughput -- v.map.json [steps]
//! ```
//!
//! Without a map file only the MLP is measured. Inputs are seeded Bernoulli spikes (15 %),
//! exact numeric mode; each figure is the best of 5 runs, 1 and 2 threads alternating. "Events" are synapse reads (one
//! per stored synapse an incoming event reaches). Resident bytes are the simulator's peak
//! heap during the run (counting allocator) plus the core map's arrays, per unrolled
//! synapse; for conv maps also per stored kernel weight.

use std::sync::atomic::Ordering;
use std::time::Instant;

use spikeforge_simulator::{simulate, synthetic, SimOptions};
use spikeforge_targets::CoreMap;

#[path = "../benches/common/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{LIVE, PEAK};

/// Heap bytes of the map's per-synapse, per-axon and per-event arrays.
fn map_bytes(m: &CoreMap) -> usize {
    let mut b = 0;
    for c in &m.cores {
        b += c.axons.resident_bytes();
    }
    for p in &m.projections {
        b += p.fanout_start.len() * 4 + p.fanout.len() * 8;
        if let Some(conv) = &p.conv {
            b += conv.weight.len() * 8;
        }
    }
    b
}

fn bernoulli(n: usize, rate: f64, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            if ((z >> 11) as f64 / (1u64 << 53) as f64) < rate {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Runs per thread count; each figure is the best.
const ROUNDS: usize = 5;

fn measure(name: &str, m: &CoreMap, steps: usize) -> Result<(), Box<dyn std::error::Error>> {
    let n_in = m.populations[m.input as usize].n_neurons as usize;
    let x = bernoulli(steps * n_in, 0.15, 11);
    let unrolled: u64 = m.synapses_per_projection().iter().sum();
    let kernels: usize = m.projections.iter().filter_map(|p| p.conv.as_ref()).map(|c| c.weight.len()).sum();
    let mut best = [f64::MAX; 2];
    let mut events = 0;
    let mut peak = 0;
    let mut outputs: Vec<Vec<f64>> = Vec::new();
    // 1 and 2 threads alternate, so both see the same load on a shared machine.
    for _ in 0..ROUNDS {
        for (k, threads) in [1usize, 2].into_iter().enumerate() {
            let opts = SimOptions { threads, ..SimOptions::default() };
            let base = LIVE.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let t = Instant::now();
            let r = simulate(m, &x, 1, steps, &opts)?;
            best[k] = best[k].min(t.elapsed().as_secs_f64());
            peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
            events = r.stats.synapse_reads;
            outputs.push(r.outputs);
        }
    }
    let rates = best.map(|b| events as f64 / b / 1e6);
    let mut setup = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        simulate(m, &[], 1, 0, &SimOptions { threads: 1, ..SimOptions::default() })?;
        setup = setup.min(t.elapsed().as_secs_f64());
    }
    let same = outputs.windows(2).all(|w| w[0] == w[1]);
    let resident = (peak + map_bytes(m)) as f64;
    println!(
        "{name}: {} cores, {unrolled} unrolled synapses, {kernels} kernel weights, {steps} steps, {events} events",
        m.cores.len()
    );
    println!(
        "  events/s: 1 thread {:.1} M, 2 threads {:.1} M, ratio {:.2}; outputs identical across threads: {same}",
        rates[0],
        rates[1],
        rates[1] / rates[0]
    );
    println!("  set-up (validation, layout; included above): {:.3} s", setup);
    print!("  resident: {:.2} B per unrolled synapse", resident / unrolled.max(1) as f64);
    if kernels > 0 {
        print!(", {:.0} B per kernel weight", resident / kernels as f64);
    }
    println!(" (simulator peak {:.1} MB, map arrays {:.1} MB)", peak as f64 / 1e6, map_bytes(m) as f64 / 1e6);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(16);
    if let Some(path) = args.first() {
        let bytes = std::fs::read(path)?;
        let m = CoreMap::from_bytes(&bytes, path)?;
        measure(&format!("conv map {path}"), &m, steps)?;
    } else {
        println!("(no conv map given: see the header of simulator/examples/throughput.rs)");
    }
    let target = spikeforge_targets::preset("loihi").ok_or("no loihi preset")??.spec().clone();
    let mlp = synthetic::dense(target, 784, &[(2048, 16), (2048, 16), (10, 1)], 0.05, 3);
    measure("dense MLP 784-2048-2048-10", &mlp, steps)?;
    Ok(())
}
