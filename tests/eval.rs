//! `spikeforge eval`: quantization pipelines on the golden digit classifier, calibrated on
//! samples 0..120 and evaluated on 120..360, without retraining.

use std::path::PathBuf;
use std::process::Command;

fn eval(passes: &str) -> serde_json::Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let g = root.join("../shared/golden/digits_mlp");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let o = Command::new(env!("CARGO_BIN_EXE_spikeforge"))
        .args(["eval", g.join("model.nir").to_str().unwrap(), "--input", g.join("input.npy").to_str().unwrap()])
        .args([
            "--labels",
            g.join("labels.npy").to_str().unwrap(),
            "--samples",
            "120..360",
            "--calib-samples",
            "0..120",
        ])
        .args(["--passes", passes, "--json", json.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

#[test]
fn eight_bit_is_within_one_point_of_float() {
    let r = eval("quantize(bits=8, granularity=channel)");
    let (acc, before) = (r["accuracy"].as_f64().unwrap(), r["accuracy_before"].as_f64().unwrap());
    assert!((acc - before).abs() <= 0.01, "8-bit accuracy {acc} vs float {before}");
    // Memory counts the nonzero weights: 8 bits each after, 32 before (the dense model has
    // no zero weights; 8-bit rounding may zero a few tiny ones).
    let nonzero = r["weights_nonzero"].as_u64().unwrap();
    assert!(nonzero > (64 * 128 + 128 * 10) * 99 / 100, "{nonzero}");
    assert_eq!(r["weight_bits_total"].as_u64().unwrap(), nonzero * 8);
    assert_eq!(r["weight_bits_total_before"].as_u64().unwrap(), (64 * 128 + 128 * 10) * 32);
    assert!(r["output_mismatch_fraction"].as_f64().unwrap() < 0.05);
}

/// After `cleanup` the model is smaller: sparsity is still measured against the original
/// model, and the weight memory drops with the pruned weights.
#[test]
fn sparsity_and_memory_count_against_the_original_model() {
    let pruned = eval("prune(method=svs, sparsity=0.5)");
    let cleaned = eval("prune(method=svs, sparsity=0.5); cleanup");
    let all = 64 * 128 + 128 * 10;
    assert_eq!(cleaned["weights_original"].as_u64().unwrap(), all);
    assert_eq!(cleaned["weights_stored"].as_u64().unwrap(), 64 * 64 + 64 * 10, "half the hidden neurons deleted");
    for r in [&pruned, &cleaned] {
        let s = r["connection_sparsity"].as_f64().unwrap();
        assert!((s - 0.5).abs() < 0.01, "{s}");
        assert_eq!(r["weight_bits_total"].as_u64().unwrap(), r["weights_nonzero"].as_u64().unwrap() * 32);
        assert!(r["weight_bits_total"].as_u64().unwrap() <= all / 2 * 32 + 32 * 10);
    }
    assert_eq!(pruned["accuracy"], cleaned["accuracy"], "cleanup changes nothing");
    assert_eq!(pruned["connection_sparsity"], cleaned["connection_sparsity"]);
}

#[test]
fn error_compensation_beats_round_to_nearest_at_two_bits() {
    let rtn = eval("quantize(bits=2, granularity=channel)")["accuracy"].as_f64().unwrap();
    let gptq = eval("quantize(bits=2, scheme=gptq, granularity=channel)")["accuracy"].as_f64().unwrap();
    assert!(gptq > rtn + 0.2, "gptq {gptq} vs round-to-nearest {rtn}");
}
