//! Pipelined timing (`--timing pipelined`, how Loihi runs): a spike emitted in step t
//! reaches the next layer in step t+1. On the golden feed-forward models, every spiking
//! layer then spikes exactly as in same-step timing (which equals the reference executor),
//! shifted by its depth in steps, once biases are zero (with a bias, the first steps of a
//! deep layer integrate the bias alone, as the chip does). Same-step timing is unchanged,
//! and the step ends with the barrier of the tiles the map uses.

mod golden_map;

use golden_map::root;
use spikeforge_simulator::{simulate, SimOptions, TimingMode};
use spikeforge_targets::coremap::ProjectionKind;
use spikeforge_targets::{load_target, preset, CoreMap, Target};

/// A third of the samples keeps the test quick; the shift holds sample by sample.
fn compiled(case: &str, target: &Target) -> (CoreMap, Vec<f64>, usize, usize) {
    golden_map::compiled(case, target, 40)
}

/// Steps a spike needs from the input to each population: one per projection, except a
/// partial sum, which chains within the step.
fn depths(map: &CoreMap) -> Vec<usize> {
    let mut depth = vec![0usize; map.populations.len()];
    for p in 0..map.populations.len() {
        for pr in map.projections.iter().filter(|pr| pr.target as usize == p && !pr.recurrent) {
            let d = depth[pr.source as usize] + usize::from(pr.kind != ProjectionKind::PartialSum);
            depth[p] = depth[p].max(d);
        }
    }
    depth
}

fn timing(mode: TimingMode) -> SimOptions {
    SimOptions { timing: Some(mode), ..SimOptions::default() }
}

fn check_shift(case: &str) {
    let targets = [preset("loihi").unwrap().unwrap(), load_target(root().join("targets/test_4x4.ron")).unwrap()];
    for target in targets {
        let (mut map, x, n, t) = compiled(case, &target);
        for core in &mut map.cores {
            core.params.bias.iter_mut().for_each(|b| *b = 0.0);
        }
        let same = simulate(&map, &x, n, t, &timing(TimingMode::SameStep)).unwrap();
        let piped = simulate(&map, &x, n, t, &timing(TimingMode::Pipelined)).unwrap();
        assert_eq!(same.stats.timing, "same-step");
        assert_eq!(piped.stats.timing, "pipelined");
        let depth = depths(&map);
        let spiking: Vec<usize> =
            (0..map.populations.len()).filter(|&p| map.populations[p].model.is_spiking()).collect();
        let layers = spiking.len();
        let name = format!("{case} on {}", target.name());
        let mut total = 0;
        for (l, &p) in spiking.iter().enumerate() {
            let k = depth[p];
            assert!(k >= 1, "{name}: a spiking layer at depth 0");
            for s in 0..n {
                for step in 0..t {
                    let got = piped.layer_spikes[(s * t + step) * layers + l];
                    let want = if step < k { 0 } else { same.layer_spikes[(s * t + step - k) * layers + l] };
                    assert_eq!(got, want, "{name}: layer {l} (depth {k}), sample {s}, step {step}");
                    total += got;
                }
            }
        }
        assert!(total > 0, "{name}: no spikes, the comparison says nothing");
        // The output layer too, value for value.
        let k = depth[map.output as usize];
        let n_out = same.output_shape[2];
        for s in 0..n {
            for step in k..t {
                let a = &piped.outputs[(s * t + step) * n_out..][..n_out];
                let b = &same.outputs[(s * t + step - k) * n_out..][..n_out];
                assert_eq!(a, b, "{name}: outputs, sample {s}, step {step}");
            }
        }
    }
}

#[test]
fn digits_mlp_pipelined_is_the_reference_shifted_by_layer_depth() {
    check_shift("digits_mlp");
}

#[test]
fn digits_cnn_pipelined_is_the_reference_shifted_by_layer_depth() {
    check_shift("digits_cnn");
}

#[test]
fn loihi_runs_pipelined_with_a_barrier_by_tiles() {
    let target = preset("loihi").unwrap().unwrap();
    let (map, x, n, t) = compiled("digits_cnn", &target);
    assert_eq!(map.target.timing.mode, TimingMode::Pipelined, "the preset says how Loihi runs");
    // `None` = the chip's own mode.
    let chip = simulate(&map, &x, n, t, &SimOptions { timing: None, ..SimOptions::default() }).unwrap();
    assert_eq!(chip.stats.timing, "pipelined");
    let mesh = target.spec().noc.mesh;
    let mut tiles: Vec<_> = map.cores.iter().map(|c| target.coord(c.core).global_tile(mesh)).collect();
    tiles.sort_unstable();
    tiles.dedup();
    let barrier = map.target.timing.barrier_for_tiles(tiles.len() as u32) as u64;
    assert!(barrier >= 600, "SANA-FE's table starts at 0.6 µs");
    for row in &chip.steps {
        assert_eq!(row.cycles - row.critical_path_cycles, barrier, "step {} of sample {}", row.step, row.sample);
    }
    // The default stays same-step: exact mode equals the reference executor on any chip.
    let same = simulate(&map, &x, n, t, &SimOptions::default()).unwrap();
    assert_eq!(same.stats.timing, "same-step");
}

#[test]
fn the_barrier_table_picks_the_largest_entry_not_above_the_tiles() {
    let mut timing = preset("loihi").unwrap().unwrap().spec().timing.clone();
    let by = |tiles| timing.barrier_for_tiles(tiles);
    assert_eq!((by(0), by(1), by(3), by(4), by(28), by(29), by(32)), (600, 600, 1000, 1400, 1400, 1800, 1800));
    timing.barrier_cycles_by_tiles.clear();
    timing.barrier_cycles = 77;
    assert_eq!(timing.barrier_for_tiles(12), 77);
}
