//! Running the simulator for the report: the whole input when no stats are given, or only
//! the shown sample (for its raster and per-step rows) when they are.

use std::path::Path;

use anyhow::{bail, Result};
use spikeforge_compiler::arrays::NdArray;
use spikeforge_compiler::limits::Limits;
use spikeforge_simulator::{simulate, NumericMode, SimOptions, SimResult, SimStats, StepRow};
use spikeforge_targets::coremap::CoreMap;

use super::Raster;

/// What one simulation gives the report.
pub struct Simulated {
    pub stats: SimStats,
    /// All rows of the run, in run order.
    pub rows: Vec<StepRow>,
    /// Spikes of the traced sample.
    pub raster: Raster,
}

/// Reads `[N, T, *input_shape]` and checks it fits the map's input population.
pub fn read_input(path: &Path, map: &CoreMap, limits: &Limits) -> Result<NdArray<f64>> {
    let x = crate::inputs::read_samples(path, &None, limits)?;
    check_input(x, map, &path.display().to_string())
}

/// Checks that `x` (named `name` in messages) is `[N, T, *input_shape]` of the map's input
/// population with at least one sample and step.
pub fn check_input(x: NdArray<f64>, map: &CoreMap, name: &str) -> Result<NdArray<f64>> {
    let in_shape = &map.populations[map.input as usize].shape;
    let n_in: usize = in_shape.iter().product();
    let ok = x.shape.len() >= 2 && (&x.shape[2..] == in_shape.as_slice() || x.shape[2..] == [n_in]);
    if !ok {
        bail!(
            "{name}: input has shape {:?}; expected [N, T, {}] for this core map",
            x.shape,
            in_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    if x.shape[0] == 0 || x.shape[1] == 0 {
        bail!("{name}: input has no samples or no time steps");
    }
    Ok(x)
}

/// Simulates samples `first..first + count` of `x`, tracing the spikes of sample `traced`
/// (an index into the whole input). `file` names the input in messages.
pub fn run(
    map: &CoreMap,
    x: &NdArray<f64>,
    first: usize,
    count: usize,
    traced: usize,
    mode: NumericMode,
    file: &str,
) -> Result<Simulated> {
    let (n, t) = (x.shape[0], x.shape[1]);
    if traced >= n || traced < first || traced >= first + count || first + count > n {
        bail!("--sample {traced} is out of range: {file} has {n} samples (0..{n})");
    }
    let per = x.data.len() / n;
    let mut opts = SimOptions { mode, ..SimOptions::default() };
    opts.trace.vcd = true;
    opts.trace.sample = traced - first;
    let r = simulate(map, &x.data[first * per..(first + count) * per], count, t, &opts)?;
    let raster = raster_of(&r, traced - first, traced, file)?;
    Ok(Simulated { stats: r.stats, rows: r.steps, raster })
}

/// The traced sample's spikes, each assigned to the step whose end its pulse falls at.
fn raster_of(r: &SimResult, traced: usize, label: usize, file: &str) -> Result<Raster> {
    let Some(sp) = r.trace.spikes() else {
        bail!(
            "sample {label} of {file} has too many spikes to record for the raster (over the simulator's trace \
             limit); pick a quieter sample with --sample"
        );
    };
    let base: u64 = r.steps.iter().filter(|s| s.sample < traced).map(|s| s.cycles).sum();
    let mut ends = Vec::new();
    let mut end = base;
    for s in r.steps.iter().filter(|s| s.sample == traced) {
        end += s.cycles;
        ends.push(end);
    }
    let n_steps = ends.len();
    let mut spikes = Vec::with_capacity(sp.pulses.len());
    for &(_, fall, signal) in sp.pulses {
        let step = ends.partition_point(|&e| e < fall).min(n_steps.saturating_sub(1));
        let Some(p) = sp.populations.iter().position(|(_, first, n)| signal >= *first && signal < first + n) else {
            continue;
        };
        spikes.push((step as u32, p as u32, signal - sp.populations[p].1));
    }
    spikes.sort_unstable();
    Ok(Raster {
        populations: sp.populations.iter().map(|(name, _, n)| (name.clone(), *n)).collect(),
        spikes,
        n_steps,
        source: format!("sample {label} of {file}, simulated"),
    })
}

#[cfg(test)]
mod tests {
    use spikeforge_compiler::exec::Dynamics;
    use spikeforge_compiler::mapper::{compile, CompileOptions};
    use spikeforge_compiler::nir::read_nir;
    use spikeforge_targets::load_target;

    use super::*;

    /// The raster's spikes per (step, population) equal the simulator's per-layer counts,
    /// for a sample that is not the first (pulse times are offset by earlier samples).
    #[test]
    fn raster_counts_match_layer_spikes_per_step() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let limits = Limits::default();
        let graph = read_nir(&root.join("examples/digits_mlp/model.nir"), &limits).unwrap();
        let verified = graph.verify(&limits).unwrap();
        let target = load_target(root.join("targets/test_4x4.ron")).unwrap();
        let (map, _) = compile(&graph, &verified, &target, Dynamics::default(), &CompileOptions::default()).unwrap();
        let x = read_input(&root.join("examples/digits_mlp/input.npy"), &map, &limits).unwrap();
        let (n, t) = (4, x.shape[1]);
        let x = NdArray { shape: vec![n, t, x.shape[2]], data: x.data[..n * t * x.shape[2]].to_vec() };
        let traced = 2;
        let got = run(&map, &x, 0, n, traced, NumericMode::Exact, "x.npy").unwrap();
        let r = simulate(&map, &x.data, n, t, &SimOptions::default()).unwrap();
        let layers = r.layer_names.len();
        assert_eq!(
            got.raster.populations.iter().map(|p| &p.0).collect::<Vec<_>>(),
            r.layer_names.iter().collect::<Vec<_>>()
        );
        let mut counts = vec![0u64; t * layers];
        for &(step, p, _) in &got.raster.spikes {
            counts[step as usize * layers + p as usize] += 1;
        }
        assert_eq!(counts, r.layer_spikes[traced * t * layers..(traced + 1) * t * layers]);
        assert!(counts.iter().sum::<u64>() > 0);
        // The same sample simulated alone gives the same raster.
        let alone = run(&map, &x, traced, 1, traced, NumericMode::Exact, "x.npy").unwrap();
        assert_eq!(alone.raster.spikes, got.raster.spikes);
    }
}
