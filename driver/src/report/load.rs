//! Reading what `spikeforge simulate` wrote (stats JSON, per-step CSV, output spikes) and
//! checking that it describes the core map being reported on: a file from another map or
//! another run is refused with a message naming both files and the first difference.

use std::path::Path;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::limits::{excerpt, Limits};
use spikeforge_simulator::{EnergyPj, SimStats, StepRow};
use spikeforge_targets::coremap::CoreMap;

use super::Raster;
use crate::outputs::MAP_FINGERPRINT_KEY;

/// Reads a file after checking its size against the memory budget.
fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if meta.len() > max_bytes {
        bail!(
            "{}: {} bytes, above the memory limit of {max_bytes} (raise it with --max-memory)",
            path.display(),
            meta.len()
        );
    }
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The stats JSON of `spikeforge simulate --stats` and the fingerprint of the map it ran.
pub fn read_stats(path: &Path, max_bytes: u64) -> Result<(SimStats, Option<String>)> {
    let bytes = read_bounded(path, max_bytes)?;
    let not_stats = |e: serde_json::Error| {
        anyhow::anyhow!(
            "{}: not a stats file of `spikeforge simulate --stats` (line {}, column {}: {e})",
            path.display(),
            e.line(),
            e.column()
        )
    };
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(not_stats)?;
    let fingerprint = match value.as_object_mut().and_then(|o| o.remove(MAP_FINGERPRINT_KEY)) {
        None => None,
        Some(serde_json::Value::String(f)) => Some(f),
        Some(other) => bail!("{}: `{MAP_FINGERPRINT_KEY}` is {other}, not a string", path.display()),
    };
    let stats = serde_json::from_value(value).map_err(not_stats)?;
    Ok((stats, fingerprint))
}

/// Refuses statistics that were not produced by simulating `map`: the map's fingerprint
/// must be the one recorded in the stats (a rebuilt map differs even when its shape does
/// not), and target, model, every core's usage and the spiking populations must agree.
pub fn check_stats_match(
    stats: &SimStats,
    fingerprint: Option<&str>,
    map: &CoreMap,
    stats_file: &str,
    map_file: &str,
) -> Result<()> {
    let differ = |what: String| -> Result<()> {
        bail!(
            "{stats_file}: these statistics are of a different core map than {map_file}: {what} \
             (write them with `spikeforge simulate {map_file} --stats {stats_file}`)"
        )
    };
    let expected = map.fingerprint();
    match fingerprint {
        None => return differ(format!("the stats record no `{MAP_FINGERPRINT_KEY}`; the map's is {expected}")),
        Some(f) if f != expected => {
            return differ(format!("map fingerprint `{}` in the stats, {expected} of the map", excerpt(f)))
        }
        Some(_) => {}
    }
    if stats.target != map.target.name {
        return differ(format!("target `{}` in the stats, `{}` in the map", stats.target, map.target.name));
    }
    if stats.model != map.model {
        return differ(format!("model `{}` in the stats, `{}` in the map", stats.model, map.model));
    }
    if stats.memory.len() != map.cores.len() {
        return differ(format!("{} cores in the stats, {} in the map", stats.memory.len(), map.cores.len()));
    }
    for (m, c) in stats.memory.iter().zip(&map.cores) {
        let u = &c.usage;
        let same = m.core == c.core.to_string()
            && m.neurons == u.neurons
            && m.synapse_bits == u.synapse_bits
            && m.neuron_state_bits == u.neuron_state_bits
            && m.in_axons == u.in_axons
            && m.out_axons == u.out_axons
            && m.routing_entries == u.routing_entries;
        if !same {
            return differ(format!(
                "core {} in the stats holds {} neurons and {} synapse bits; core {} in the map holds {} and {}",
                m.core, m.neurons, m.synapse_bits, c.core, u.neurons, u.synapse_bits
            ));
        }
    }
    let spiking: Vec<(&str, u32)> =
        map.populations.iter().filter(|p| p.model.is_spiking()).map(|p| (p.name.as_str(), p.n_neurons)).collect();
    let in_stats: Vec<(&str, u32)> =
        stats.spikes_per_layer.iter().map(|l| (l.population.as_str(), l.neurons)).collect();
    if spiking != in_stats {
        return differ(format!("spiking populations {in_stats:?} in the stats, {spiking:?} in the map"));
    }
    if stats.n_samples == 0 || stats.n_steps == 0 {
        bail!("{stats_file}: the run has {} samples of {} steps; nothing to report", stats.n_samples, stats.n_steps);
    }
    Ok(())
}

/// The per-step CSV of `spikeforge simulate --steps-csv`, checked against the stats of the
/// same run: one row per (sample, step) in order, cycles adding up to `cycles_total`.
pub fn read_steps_csv(path: &Path, stats: &SimStats, stats_file: &str, max_bytes: u64) -> Result<Vec<StepRow>> {
    let bytes = read_bounded(path, max_bytes)?;
    let file = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{file}: not UTF-8 text"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| -> Result<usize> {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            anyhow::anyhow!("{file}: no column `{name}` (not a per-step CSV of `spikeforge simulate --steps-csv`)")
        })
    };
    let names = [
        "sample",
        "step",
        "cycles",
        "critical_path_cycles",
        "sops_weight_layers",
        "sops_pooling",
        "synapse_reads",
        "neuron_updates",
        "spikes",
        "packets",
        "loopback_packets",
        "host_packets",
        "hops",
        "network_active_cycles",
        "max_link_busy_cycles",
        "stall_cycles",
    ];
    let int_cols = names.iter().map(|n| col(n)).collect::<Result<Vec<_>>>()?;
    let latency_col = col("latency_us")?;
    let energy_names = ["synapse", "neuron", "spike_out", "routing", "static", "total"];
    let energy_cols = energy_names.iter().map(|n| col(&format!("energy_{n}_pj"))).collect::<Result<Vec<_>>>()?;
    // Older files lack these two; the stats JSON has the run's figures either way.
    let partial_col = header.iter().position(|h| *h == "energy_partial");
    let unavailable_col = header.iter().position(|h| *h == "energy_unavailable");
    // Files written before attribution lack the critical core.
    let critical_core_col = header.iter().position(|h| *h == "critical_core");
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != header.len() {
            bail!("{file}:{line_no}: {} fields; the header has {}", f.len(), header.len());
        }
        let int = |k: usize| -> Result<u64> {
            let c = int_cols[k];
            f[c].parse().map_err(|_| anyhow::anyhow!("{file}:{line_no}: `{}` = `{}` is not a count", header[c], f[c]))
        };
        let real = |c: usize| -> Result<Option<f64>> {
            if f[c].is_empty() {
                return Ok(None);
            }
            match f[c].parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => bail!("{file}:{line_no}: `{}` = `{}` is not a number", header[c], f[c]),
            }
        };
        let e = energy_cols.iter().map(|&c| real(c)).collect::<Result<Vec<_>>>()?;
        let row = StepRow {
            sample: int(0)? as usize,
            step: int(1)? as usize,
            cycles: int(2)?,
            critical_path_cycles: int(3)?,
            critical_core: critical_core_col.map(|c| f[c].to_string()).unwrap_or_default(),
            latency_us: real(latency_col)?.unwrap_or(0.0),
            sops_weight_layers: int(4)?,
            sops_pooling: int(5)?,
            synapse_reads: int(6)?,
            neuron_updates: int(7)?,
            spikes: int(8)?,
            packets: int(9)?,
            loopback_packets: int(10)?,
            host_packets: int(11)?,
            hops: int(12)?,
            network_active_cycles: int(13)?,
            max_link_busy_cycles: int(14)?,
            stall_cycles: int(15)?,
            energy_pj: EnergyPj {
                synapse: e[0],
                neuron: e[1],
                spike_out: e[2],
                routing: e[3],
                static_: e[4],
                total: e[5],
                partial: partial_col.is_some_and(|c| f[c] == "true"),
                unavailable: unavailable_col
                    .map(|c| f[c].split(';').filter(|u| !u.is_empty()).map(String::from).collect())
                    .unwrap_or_default(),
            },
        };
        let k = rows.len();
        let expected = (k / stats.n_steps.max(1), k % stats.n_steps.max(1));
        if (row.sample, row.step) != expected {
            bail!(
                "{file}:{line_no}: row for sample {} step {}; expected sample {} step {} (rows in run order)",
                row.sample,
                row.step,
                expected.0,
                expected.1
            );
        }
        rows.push(row);
    }
    let cycles: u64 = rows.iter().map(|r| r.cycles).sum();
    if rows.len() != stats.n_samples * stats.n_steps || cycles != stats.cycles_total {
        bail!(
            "{file}: {} rows and {cycles} cycles, but {stats_file} describes {} samples × {} steps and {} cycles \
             (are they from the same run?)",
            rows.len(),
            stats.n_samples,
            stats.n_steps,
            stats.cycles_total
        );
    }
    Ok(rows)
}

/// The raster of sample `sample` from the output spikes `[N, T, n_out]` of
/// `spikeforge simulate --output`: the output population only.
pub fn raster_from_output(
    path: &Path,
    map: &CoreMap,
    stats: &SimStats,
    sample: usize,
    limits: &Limits,
) -> Result<Raster> {
    let file = path.display().to_string();
    let y = read_npy_f64(path, limits)?;
    let out = &map.populations[map.output as usize];
    let expected = [stats.n_samples, stats.n_steps, out.n_neurons as usize];
    if y.shape != expected {
        bail!("{file}: shape {:?}; expected {expected:?} (samples, steps and output neurons of the run)", y.shape);
    }
    if !out.model.is_spiking() || y.data.iter().any(|&v| v != 0.0 && v != 1.0) {
        bail!(
            "{file}: holds graded values, not spikes (output population `{}` is {:?}); \
             pass --input X.npy to simulate the sample instead",
            out.name,
            out.model
        );
    }
    let (t, n) = (stats.n_steps, out.n_neurons as usize);
    let mut spikes = Vec::new();
    for step in 0..t {
        let base = (sample * t + step) * n;
        for (i, &v) in y.data[base..base + n].iter().enumerate() {
            if v != 0.0 {
                spikes.push((step as u32, 0, i as u32));
            }
        }
    }
    Ok(Raster {
        populations: vec![(out.name.clone(), out.n_neurons)],
        spikes,
        n_steps: t,
        source: format!("output spikes of sample {sample} from {file} (the output population only)"),
    })
}
