//! The golden models on two presets and the test chip: snapshots of the human summary (or
//! of the error when a model does not fit), validity and round trip of every map, exact
//! usage against limits, and the map's semantics against the reference executor: the same
//! output spikes, and synaptic events equal to NeuroBench's SOP counts.

mod mapper_common;

use mapper_common::{check_limits, check_map, conv_kernels, golden, golden_dir, run_map, target};
use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, render_summary, CompileOptions, PlacementMethod};

const CASES: [&str; 3] = ["digits_mlp", "digits_cnn", "rsnn_random"];
const TARGETS: [&str; 3] = ["loihi", "speck", "test_4x4"];

/// Snapshots use the sequential placement: it is the fixed baseline, while the optimizing
/// placement may improve without changing what these tests are about.
fn opts(case: &str) -> CompileOptions {
    CompileOptions {
        model: format!("{case}/model.nir"),
        placement: PlacementMethod::Sequential,
        ..CompileOptions::default()
    }
}

#[test]
fn golden_models_on_presets_and_test_chip() {
    for case in CASES {
        let (g, v) = golden(case);
        for t in TARGETS {
            let target = target(t);
            let name = format!("{case}_on_{t}");
            match compile(&g, &v, &target, Dynamics::default(), &opts(case)) {
                Ok((map, report)) => {
                    check_map(&map);
                    check_limits(&map, &conv_kernels(&g, &map));
                    assert_eq!(report.cores_used, map.cores.len());
                    let from_map = map.synapses_per_projection();
                    let reported: Vec<u64> = report.projection_details.iter().map(|p| p.synapses).collect();
                    assert_eq!(reported, from_map, "{name}: the report counts the map's synapses");
                    assert!(report.cores_lower_bound >= 1 && report.cores_lower_bound as usize <= map.cores.len());
                    insta::assert_snapshot!(name, render_summary(&map));
                }
                Err(e) => insta::assert_snapshot!(name, format!("error: {e}")),
            }
        }
    }
}

#[test]
fn golden_maps_run_like_the_executor_and_count_neurobench_sops() {
    let limits = Limits::default();
    for case in CASES {
        let (g, v) = golden(case);
        let x = read_npy_f64(&golden_dir().join(case).join("input.npy"), &limits).unwrap();
        let exec = Executor::new(&g, &v, Dynamics::default(), &limits).unwrap();
        let (n, t) = exec.check_input(&x.shape).unwrap();
        let want = exec.run(&x.data, n, t, 0);
        for tname in ["loihi", "test_4x4"] {
            let target = target(tname);
            let optimized = CompileOptions { placement: PlacementMethod::Optimized { seed: 1 }, ..opts(case) };
            let (map, _) = compile(&g, &v, &target, Dynamics::default(), &optimized).unwrap();
            let got = run_map(&map, &x.data, n, t);
            let mismatches = got.output.iter().zip(&want.output).filter(|(a, b)| a != b).count();
            assert_eq!(mismatches, 0, "{case} on {tname}: {mismatches} outputs differ from the executor");
            assert_eq!(got.weight_sops, want.sops_weight_layers(), "{case} on {tname}: weight SOPs");
            assert_eq!(got.pool_sops, want.sops_pooling(), "{case} on {tname}: pooling SOPs");
        }
    }
}

#[test]
fn sequential_placement_is_the_baseline() {
    let (g, v) = golden("digits_cnn");
    let target = target("test_4x4");
    let (map, report) = compile(&g, &v, &target, Dynamics::default(), &opts("digits_cnn")).unwrap();
    check_map(&map);
    assert_eq!(report.hop_traffic, report.hop_traffic_sequential);
    assert_eq!(report.placement, "sequential");
    // Cores follow piece order: the first load of the fill is on c0.
    assert_eq!(map.cores[0].core.0, 0);
    let json = serde_json::to_value(&report).unwrap();
    for key in
        ["cores_used", "cores_lower_bound", "utilisation", "hop_traffic", "hop_traffic_sequential", "mapping_seconds"]
    {
        assert!(json.get(key).is_some(), "report lacks `{key}`");
    }
    for r in ["neurons", "synapse_bits", "in_axons", "out_axons"] {
        let u = &json["utilisation"][r];
        assert!(u["min"].as_f64().unwrap() <= u["mean"].as_f64().unwrap());
        assert!(u["mean"].as_f64().unwrap() <= u["max"].as_f64().unwrap() && u["max"].as_f64().unwrap() <= 1.0);
    }
}
