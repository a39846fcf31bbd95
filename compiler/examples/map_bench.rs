//! Maps a generated network once and prints mapping time, cores used against the lower
//! bound, hop traffic against the sequential baseline, and the peak memory of mapping.
//!
//! Usage: `cargo run --release -p spikeforge-compiler --example map_bench -- NETWORK [CxR]`
//! with NETWORK one of `synth::MAPPING_WORKLOADS` or `vgg16` (default `conv10m`), mapped on
//! the Loihi preset grown to C × R chips (default 2 × 2, 512 cores).
//! Peak memory: the process's peak resident set (VmHWM) is reset just before mapping
//! (`/proc/self/clear_refs`), so the figure is mapping's own peak; it is compared with the
//! synapse storage of the emitted map (its axon tables' resident bytes: a u32 target and an
//! f32 weight per explicit synapse where the weights are single precision, else f64).

use std::time::Instant;

use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions};
use spikeforge_compiler::synth::{mapping_workload, MAPPING_WORKLOADS};
use spikeforge_targets::{preset, Target};

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The Loihi preset on a `cols × rows` grid of chips (default 2 × 2, 512 cores).
pub fn loihi_grid(cols: u32, rows: u32) -> Target {
    let mut spec = preset("loihi").expect("preset").expect("valid").spec().clone();
    spec.name = format!("loihi_{cols}x{rows}");
    spec.grid.chips = [cols, rows];
    Target::from_spec(spec, "loihi grid").expect("valid target")
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "conv10m".into());
    let graph = match mapping_workload(&which) {
        Some(g) => g,
        None => {
            eprintln!("unknown network `{which}` (use one of {})", MAPPING_WORKLOADS.join(", "));
            std::process::exit(2);
        }
    }
    .expect("generated network");
    let limits = Limits::default();
    let v = graph.verify(&limits).expect("generated network verifies");
    // An optional second argument `CxR` sets the grid of chips (`vgg16` needs `8x8`).
    let grid = std::env::args().nth(2).unwrap_or_else(|| "2x2".into());
    let (cols, rows) = grid
        .split_once('x')
        .and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)))
        .unwrap_or_else(|| panic!("grid `{grid}` is not CxR"));
    let target = loihi_grid(cols, rows);
    let before = status_kib("VmRSS:").unwrap_or(0);
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let t = Instant::now();
    let (map, report) = compile(&graph, &v, &target, Dynamics::default(), &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{which}: {e}"));
    let seconds = t.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM:").unwrap_or(0);
    let synapses: usize = map.cores.iter().map(|c| c.n_synapses()).sum(); // explicit only: convolutions are symbolic
    let storage_bytes: usize = map.cores.iter().map(|c| c.axons.resident_bytes()).sum();
    let storage_kib = (storage_bytes as u64).div_ceil(1024);
    println!(
        "{which}: axon tables {:.1} MiB, {:.2} bytes per explicit synapse",
        storage_bytes as f64 / 1048576.0,
        storage_bytes as f64 / synapses.max(1) as f64
    );
    println!(
        "{which}: {} neurons, {synapses} synapses on `{}`: mapped in {seconds:.3} s (lower {:.3}, partition {:.3}, \
         traffic {:.3}, place {:.3} + sequential {:.3}, route {:.3}, emit {:.3})",
        report.neurons,
        target.name(),
        report.phase_seconds.lower,
        report.phase_seconds.partition,
        report.phase_seconds.traffic,
        report.phase_seconds.place,
        report.phase_seconds.place_sequential,
        report.phase_seconds.route,
        report.phase_seconds.emit,
    );
    println!(
        "  cores used {} / lower bound {} ({}) = {:.3}; hop traffic {:.0} vs sequential {:.0} (ratio {:.3})",
        report.cores_used,
        report.cores_lower_bound,
        report.lower_bound_resource,
        report.cores_ratio,
        report.hop_traffic,
        report.hop_traffic_sequential,
        if report.hop_traffic_sequential > 0.0 { report.hop_traffic / report.hop_traffic_sequential } else { 1.0 }
    );
    let util: Vec<String> =
        report.utilisation.iter().map(|(k, u)| format!("{k} {:.2}/{:.2}/{:.2}", u.min, u.mean, u.max)).collect();
    println!("  utilisation min/mean/max: {}", util.join(", "));
    for d in &report.demand {
        println!("  demand {}: {} / {} per core = {} cores", d.resource, d.demand, d.capacity_per_core, d.cores);
    }
    if reset {
        println!(
            "  memory: RSS before {:.1} MiB, mapping peak {:.1} MiB above it, synapse storage {:.1} MiB: peak/storage {:.2}",
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0,
            storage_kib as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / storage_kib.max(1) as f64
        );
    } else {
        println!("  memory: cannot reset the peak RSS here; VmHWM {:.1} MiB", peak as f64 / 1024.0);
    }
    drop(map);
}
