//! Output files: stats JSON, per-step CSV, VCD of spikes, Perfetto / Chrome trace JSON.
//! Every file is written atomically (a temporary file in the same directory, then renamed
//! over the destination), so a failure never leaves a partial file.

use std::fmt::Write as _;
use std::path::Path;

use crate::stats::StepRow;
use crate::{SimError, SimResult};

/// Writes `bytes` to `path` through a temporary file and a rename (see
/// [`spikeforge_targets::atomic`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    spikeforge_targets::atomic::write_atomically(path, bytes)
        .map_err(|source| SimError::Io { path: path.display().to_string(), source })
}

/// The stats JSON.
pub fn write_stats_json(path: &Path, r: &SimResult) -> Result<(), SimError> {
    let text = serde_json::to_string_pretty(&r.stats).expect("stats always serialise");
    write_atomically(path, text.as_bytes())
}

const CSV_HEADER: &str = "sample,step,cycles,critical_path_cycles,critical_core,latency_us,sops_weight_layers,sops_pooling,\
synapse_reads,neuron_updates,spikes,packets,loopback_packets,host_packets,hops,network_active_cycles,max_link_busy_cycles,stall_cycles,\
energy_synapse_pj,energy_neuron_pj,energy_spike_out_pj,energy_routing_pj,energy_static_pj,energy_total_pj,\
energy_partial,energy_unavailable";

/// The per-step CSV text: one row per (sample, step). Energy components the target has no
/// figure for are empty; `energy_total_pj` is then the known part (empty when nothing is
/// known), `energy_partial` is `true` and `energy_unavailable` names them (`;`-separated).
pub fn steps_csv(rows: &[StepRow]) -> String {
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    for r in rows {
        let e = &r.energy_pj;
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.sample,
            r.step,
            r.cycles,
            r.critical_path_cycles,
            r.critical_core,
            r.latency_us,
            r.sops_weight_layers,
            r.sops_pooling,
            r.synapse_reads,
            r.neuron_updates,
            r.spikes,
            r.packets,
            r.loopback_packets,
            r.host_packets,
            r.hops,
            r.network_active_cycles,
            r.max_link_busy_cycles,
            r.stall_cycles,
            opt(e.synapse),
            opt(e.neuron),
            opt(e.spike_out),
            opt(e.routing),
            opt(e.static_),
            opt(e.total),
            e.partial,
            e.unavailable.join(";")
        );
    }
    s
}

pub fn write_steps_csv(path: &Path, r: &SimResult) -> Result<(), SimError> {
    write_atomically(path, steps_csv(&r.steps).as_bytes())
}

fn vcd_id(mut n: u32) -> String {
    let mut s = String::new();
    loop {
        s.push((33 + (n % 94) as u8) as char);
        n /= 94;
        if n == 0 {
            return s;
        }
    }
}

fn scope_name(s: &str) -> String {
    let t: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

/// The VCD text of the traced sample's spikes: one 1-bit wire per neuron of every spiking
/// population, high from the cycle its core finished the neuron's update to the end of
/// the step. Time unit: 1 ps (cycles × 10⁶ / clock_mhz, rounded).
pub fn vcd_text(r: &SimResult) -> Result<String, SimError> {
    let t = &r.trace;
    let v = t.vcd.as_ref().ok_or(SimError::TraceNotRecorded { what: "vcd" })?;
    let signals: u64 = v.populations.iter().map(|p| p.2 as u64).sum();
    let estimated = v.bytes + signals * crate::trace::VCD_SIGNAL_BYTES;
    if v.overflow || estimated > v.limit {
        return Err(SimError::TraceTooLarge { what: "vcd", estimated: estimated.max(v.bytes), limit: v.limit });
    }
    let ps = |c: u64| (c as f64 * 1e6 / t.clock_mhz).round() as u64;
    let mut s = String::new();
    let _ = writeln!(s, "$version spikeforge-simulator $end\n$timescale 1 ps $end");
    let _ = writeln!(s, "$comment map_fingerprint {} $end", t.map_fingerprint);
    let _ = writeln!(s, "$scope module {} $end", scope_name(&t.model));
    for (name, first, n) in &v.populations {
        let _ = writeln!(s, "$scope module {} $end", scope_name(name));
        for i in 0..*n {
            let _ = writeln!(s, "$var wire 1 {} n{i} $end", vcd_id(first + i));
        }
        s.push_str("$upscope $end\n");
    }
    s.push_str("$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n");
    for i in 0..signals as u32 {
        let _ = writeln!(s, "0{}", vcd_id(i));
    }
    s.push_str("$end\n");
    // Falls before rises at the same time, so a neuron spiking in consecutive steps shows
    // two pulses.
    let mut changes: Vec<(u64, u8, u32)> = Vec::with_capacity(v.pulses.len() * 2);
    for &(rise, fall, sig) in &v.pulses {
        changes.push((ps(rise), 1, sig));
        changes.push((ps(fall), 0, sig));
    }
    changes.sort_unstable();
    let mut last = u64::MAX;
    for (time, val, sig) in changes {
        if time != last {
            let _ = writeln!(s, "#{time}");
            last = time;
        }
        let _ = writeln!(s, "{val}{}", vcd_id(sig));
    }
    Ok(s)
}

pub fn write_vcd(path: &Path, r: &SimResult) -> Result<(), SimError> {
    write_atomically(path, vcd_text(r)?.as_bytes())
}

/// The Chrome / Perfetto trace JSON of the traced sample: one track per link (packets as
/// slices of their link occupancy, arrival cycle in the args) and one per core (synapse
/// processing, neuron updates, spike out). Timestamps in µs.
pub fn perfetto_json(r: &SimResult) -> Result<String, SimError> {
    let t = &r.trace;
    let p = t.perfetto.as_ref().ok_or(SimError::TraceNotRecorded { what: "perfetto" })?;
    if p.overflow {
        return Err(SimError::TraceTooLarge { what: "perfetto", estimated: p.bytes, limit: p.limit });
    }
    let us = |c: u64| c as f64 / t.clock_mhz;
    let dirs = ["east", "west", "north", "south"];
    let mut ev = Vec::new();
    let mut named = std::collections::BTreeSet::new();
    ev.push(serde_json::json!({"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "NoC links"}}));
    ev.push(serde_json::json!({"name": "process_name", "ph": "M", "pid": 2, "args": {"name": "cores"}}));
    for &(router, dir, start, busy, arrive) in &p.links {
        let tid = router * 4 + dir as u32;
        if named.insert((1, tid)) {
            let (x, y) = (router % t.grid_width, router / t.grid_width);
            let name = format!("({x},{y})→{}", dirs[dir as usize]);
            ev.push(
                serde_json::json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": name}}),
            );
        }
        ev.push(serde_json::json!({"name": "packet", "cat": "link", "ph": "X", "pid": 1, "tid": tid,
            "ts": us(start), "dur": us(busy), "args": {"departure_cycle": start, "arrival_cycle": arrive}}));
    }
    let kinds = ["synapses", "neuron update", "spike out"];
    for &(core, kind, start, cycles) in &p.cores {
        if named.insert((2, core)) {
            let name = t.core_names.get(core as usize).cloned().unwrap_or_default();
            ev.push(
                serde_json::json!({"name": "thread_name", "ph": "M", "pid": 2, "tid": core, "args": {"name": name}}),
            );
        }
        ev.push(serde_json::json!({"name": kinds[kind as usize], "cat": "core", "ph": "X", "pid": 2, "tid": core,
            "ts": us(start), "dur": us(cycles), "args": {"start_cycle": start, "cycles": cycles}}));
    }
    let doc = serde_json::json!({"displayTimeUnit": "ns", "traceEvents": ev,
        "otherData": {"map_fingerprint": t.map_fingerprint, "model": t.model}});
    Ok(serde_json::to_string(&doc).expect("trace serialises"))
}

pub fn write_perfetto(path: &Path, r: &SimResult) -> Result<(), SimError> {
    write_atomically(path, perfetto_json(r)?.as_bytes())
}
