//! Hardware mode: fixed-point arithmetic worked out by hand on `test_2x2` (4-bit signed
//! weights, 16-bit saturating state, decay multiplier with an 8-bit shift, threshold
//! mantissa << 2, round half to even).

mod common;

use common::{random_input, random_map, Coeffs, MapBuilder};
use spikeforge_simulator::{simulate, NumericMode, SimOptions};
use spikeforge_targets::coremap::NeuronModel;

fn hw() -> SimOptions {
    SimOptions { mode: NumericMode::Hardware, ..SimOptions::default() }
}

#[test]
fn leaky_integrator_rounds_as_worked_out() {
    // in → L (LI, decay 0.5, gain 1), weight 1.0. Scale = 1.0 / 7 (largest weight on the
    // 4-bit code 7); the state has threshold_shift = 2 more fraction bits, so one spike adds
    // 7 << 2 = 28 units of 1/28. β = 0.5 → m = 128 (of 256).
    // v: 0 → 0·½ + 28 = 28 → 14 + 28 = 42 → 21 + 28 = 49 → 24.5 → 24 (ties to even) + 28
    //    = 52. Outputs are v / 28.
    let mut b = MapBuilder::new("test_2x2");
    let inp = b.input(1);
    let l = b.pop("L", NeuronModel::LI, Coeffs::uniform(1, 0.5, 1.0, 0.0), &[(1, 1)]);
    b.dense(inp, l, &[vec![1.0]]);
    let r = simulate(&b.build(), &[1.0; 4], 1, 4, &hw()).unwrap();
    let want: Vec<f64> = [28.0, 42.0, 49.0, 52.0].iter().map(|v| v * (1.0 / 7.0 / 4.0)).collect();
    assert_eq!(r.outputs, want);
    assert_eq!(r.stats.mode, "hardware");
    // Exact mode differs: 1, 1.5, 1.75, 1.875.
    let e = simulate(&b.build(), &[1.0; 4], 1, 4, &SimOptions::default()).unwrap();
    assert_eq!(e.outputs, vec![1.0, 1.5, 1.75, 1.875]);
}

#[test]
fn lif_threshold_is_a_mantissa_and_fires_as_worked_out() {
    // LIF decay 0.5, θ = 1.6: the mantissa has the weights' resolution, 1.6 / (1/7) = 11.2
    // → 11, i.e. 11 << 2 = 44 state units of 1/28. v: 28, 42, 49 > 44 → spike at step 2,
    // reset to 0, then 28, 42, 49 again.
    let mut b = MapBuilder::new("test_2x2");
    let inp = b.input(1);
    let l = b.pop("L", NeuronModel::LIF, Coeffs::uniform(1, 0.5, 1.0, 1.6), &[(1, 1)]);
    b.dense(inp, l, &[vec![1.0]]);
    let r = simulate(&b.build(), &[1.0; 6], 1, 6, &hw()).unwrap();
    assert_eq!(r.outputs, vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
    assert_eq!(r.stats.saturated_values, 0);
}

#[test]
fn out_of_range_values_saturate_and_are_counted() {
    // Weights 1.0 and 0.01: scale 1/7, 0.01 → 0.07 → code 0 (no saturation); a threshold
    // of 1e6 → mantissa 7e6 > 4095: saturated.
    let mut b = MapBuilder::new("test_2x2");
    let inp = b.input(2);
    let l = b.pop("L", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, 1e6), &[(1, 1)]);
    b.dense(inp, l, &[vec![1.0], vec![0.01]]);
    let r = simulate(&b.build(), &[1.0; 4], 1, 2, &hw()).unwrap();
    assert_eq!(r.stats.saturated_values, 1);
    assert_eq!(r.outputs, vec![0.0, 0.0]);
}

#[test]
fn hardware_mode_runs_random_maps_deterministically_with_the_same_traffic_model() {
    for seed in 0..8u64 {
        let b = random_map(seed, "test_grid", 12);
        let map = b.build();
        let x = random_input(seed, 2 * 5 * b.pops[0].n as usize);
        let a = simulate(&map, &x, 2, 5, &hw()).unwrap();
        let c = simulate(&map, &x, 2, 5, &hw()).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&c).unwrap());
        assert!(a.outputs.iter().all(|v| v.is_finite()));
        assert_eq!(a.stats.deliveries_injected, a.stats.deliveries_delivered);
    }
}
