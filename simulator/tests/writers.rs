//! Output files (CSV, stats JSON, VCD, Perfetto) and rejected input.

mod common;

use common::{Coeffs, MapBuilder};
use spikeforge_simulator::*;
use spikeforge_targets::coremap::NeuronModel;

fn map() -> spikeforge_targets::CoreMap {
    let mut b = MapBuilder::new("test_2x2");
    let inp = b.input(2);
    let a = b.pop("A", NeuronModel::IF, Coeffs::uniform(2, 0.0, 1.0, 0.5), &[(0, 2)]);
    let bb = b.pop("B", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, 1.0), &[(3, 1)]);
    b.dense(inp, a, &[vec![1.0, 0.0], vec![0.0, 1.0]]);
    b.dense(a, bb, &[vec![0.6], vec![0.6]]);
    b.build()
}

fn traced(max_bytes: u64) -> SimOptions {
    SimOptions { trace: TraceOptions { vcd: true, perfetto: true, sample: 1, max_bytes }, ..SimOptions::default() }
}

#[test]
fn csv_json_vcd_and_perfetto_are_written() {
    let x = [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    let r = simulate(&map(), &x, 2, 2, &traced(1 << 20)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write_steps_csv(&p("steps.csv"), &r).unwrap();
    write_stats_json(&p("stats.json"), &r).unwrap();
    write_vcd(&p("spikes.vcd"), &r).unwrap();
    write_perfetto(&p("trace.json"), &r).unwrap();
    // Nothing but the four files: temporary files were renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);

    let csv = std::fs::read_to_string(p("steps.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 4);
    assert!(lines[0].starts_with("sample,step,cycles,critical_path_cycles,critical_core"));
    // Step 0 of the two-core test: network packets injected at 6 and 9, last ejected at 15;
    // the critical path ends on B's core c3.
    assert!(lines[1].starts_with("0,0,28,18,c3,0.28,4,0,4,3,3,2,0,2,4,9,"), "{}", lines[1]);

    let stats: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("stats.json")).unwrap()).unwrap();
    for key in [
        "sops_weight_layers_per_sample",
        "sops_pooling_per_sample",
        "neuron_updates",
        "spikes_per_layer",
        "packets",
        "hops",
        "max_link_utilisation",
        "stall_cycles",
        "cycles_total",
        "cycles_per_step_mean",
        "cycles_per_step_max",
        "latency_us_per_step_mean",
        "energy_pj",
        "energy_pj_per_sample",
        "memory",
        "cores",
        "layers",
    ] {
        assert!(stats.get(key).is_some(), "stats JSON lacks `{key}`");
    }
    assert_eq!(stats["energy_pj"]["static"].as_f64().map(|x| x > 0.0), Some(true));

    // Sample 1 (traced, after sample 0's 52 cycles) has input [1,1] then [0,0]: step 0 as
    // in the two-core test, so A0 spikes at cycle 52 + 5, A1 at 52 + 8 and B at 52 + 18;
    // step 1 is silent.
    let vcd = std::fs::read_to_string(p("spikes.vcd")).unwrap();
    assert_eq!(vcd.matches("$var wire 1").count(), 3);
    let fingerprint = map().fingerprint();
    assert!(vcd.contains(&format!("$comment map_fingerprint {fingerprint} $end")), "{vcd}");
    assert!(vcd.contains("$scope module A $end") && vcd.contains("$scope module B $end"));
    // 100 MHz: one cycle is 10 000 ps. A0 rises at (52 + 5) cycles, A1 at 52 + 8; all
    // fall at 52 + 28.
    assert!(vcd.contains("#570000\n1!\n#600000\n1\"\n"), "{vcd}");
    assert!(vcd.contains("#700000\n1#\n"), "{vcd}");
    assert!(vcd.contains("#800000\n0!\n0\"\n0#\n"), "{vcd}");

    let trace: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("trace.json")).unwrap()).unwrap();
    assert_eq!(trace["otherData"]["map_fingerprint"], fingerprint.as_str());
    let events = trace["traceEvents"].as_array().unwrap();
    let packets = events.iter().filter(|e| e["name"] == "packet").count();
    // Two packets, each over two links, in the traced sample.
    assert_eq!(packets, 4);
    assert!(events.iter().any(|e| e["name"] == "neuron update" && e["tid"] == 1));
}

#[test]
fn traces_above_the_limit_are_refused() {
    let x = vec![1.0; 2 * 2 * 2];
    let r = simulate(&map(), &x, 2, 2, &traced(64)).unwrap();
    match vcd_text(&r) {
        Err(SimError::TraceTooLarge { what: "vcd", limit: 64, .. }) => {}
        other => panic!("expected TraceTooLarge, got {other:?}"),
    }
    assert!(matches!(perfetto_json(&r), Err(SimError::TraceTooLarge { what: "perfetto", .. })));
    let dir = tempfile::tempdir().unwrap();
    assert!(write_vcd(&dir.path().join("x.vcd"), &r).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "a refused trace leaves no file");
    let plain = simulate(&map(), &x, 2, 2, &SimOptions::default()).unwrap();
    assert!(matches!(vcd_text(&plain), Err(SimError::TraceNotRecorded { what: "vcd" })));
    let msg = vcd_text(&r).unwrap_err().to_string();
    assert!(msg.contains("above the limit of 64 bytes"), "{msg}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let m = map();
    let e = simulate(&m, &[1.0; 3], 1, 2, &SimOptions::default()).unwrap_err();
    assert!(matches!(e, SimError::InputShape { got: 3, expected: 4, .. }), "{e}");
    let e = simulate(&m, &[1.0, f64::NAN, 0.0, 0.0], 1, 2, &SimOptions::default()).unwrap_err();
    assert!(matches!(e, SimError::InputNotFinite { index: 1, .. }), "{e}");
    assert!(simulate(&m, &[], usize::MAX, 2, &SimOptions::default()).is_err());

    let mut bad = m.clone();
    bad.cores[1].axons.syn_target.as_u32_mut()[0] = 99;
    let e = simulate(&bad, &[0.0; 4], 1, 2, &SimOptions::default()).unwrap_err();
    assert!(matches!(e, SimError::InvalidMap(_)), "{e}");

    let mut b = MapBuilder::new("test_2x2");
    let inp = b.input(1);
    let a = b.pop("A", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, 0.5), &[(0, 1)]);
    let c = b.pop("C", NeuronModel::IF, Coeffs::uniform(1, 0.0, 1.0, 0.5), &[(1, 1)]);
    b.dense(inp, a, &[vec![1.0]]);
    b.dense(c, a, &[vec![1.0]]);
    let e = simulate(&b.build(), &[0.0], 1, 1, &SimOptions::default()).unwrap_err();
    assert!(matches!(e, SimError::BackwardProjection { from: 2, to: 1, .. }), "{e}");

    // Zero samples or steps: nothing to do, still a result.
    let r = simulate(&m, &[], 0, 5, &SimOptions::default()).unwrap();
    assert_eq!((r.outputs.len(), r.stats.cycles_total), (0, 0));
}
