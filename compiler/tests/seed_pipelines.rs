//! The seed pipelines and what they are built from, on digits_mlp with a few training
//! samples: `@name(…)` expands to its passes and refuses unknown arguments at their span;
//! `regrow` gives back the asked fraction of removed channels; `finetune(qat=rescaw)` ends
//! on ReScaW's 2-bit levels per channel; with a target, `finetune` ends on the target's
//! weight grid; `@sca` and `@qp-snn` run end to end.

mod nets;

use std::path::{Path, PathBuf};

use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::ir::{Graph, Op};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, PassReport, TrainingData};
use spikeforge_targets::Numerics;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

fn model() -> Graph {
    read_nir(&golden().join("digits_mlp/model.nir"), &Limits::default()).unwrap()
}

fn training_data(n: usize) -> TrainingData {
    nets::digits_mlp_training(n)
}

fn run(graph: &Graph, spec: &str, target: Option<&Numerics>) -> (Graph, Vec<PassReport>) {
    let limits = Limits::default();
    let train = training_data(96);
    let calib =
        Calibration { data: train.input[..32 * train.n_steps * 64].to_vec(), n_samples: 32, n_steps: train.n_steps };
    let mut g = graph.clone();
    let passes = build_pipeline(spec).unwrap_or_else(|e| panic!("{}", e.render(spec)));
    let ctx = PassContext {
        limits: &limits,
        dynamics: Dynamics::default(),
        calib: Some(&calib),
        train: Some(&train),
        target,
    };
    let reports = run_pipeline(&mut g, &passes, &ctx).unwrap_or_else(|e| panic!("{spec}: {e}"));
    (g, reports)
}

/// Weight layers' (name, row-major rows).
fn weight_rows(g: &Graph) -> Vec<(String, Vec<Vec<f64>>)> {
    g.node_ids()
        .filter_map(|id| {
            let w = g.op(id).weight()?;
            let rows = w.dims()[0];
            let per = w.numel() / rows;
            Some((g.name(id).to_string(), w.data().chunks(per).map(<[f64]>::to_vec).collect()))
        })
        .collect()
}

/// Removed channels: rows that are zero with a zero bias, per Affine layer.
fn removed_rows(g: &Graph) -> usize {
    g.node_ids()
        .filter_map(|id| match g.op(id) {
            Op::Affine { weight, bias } => {
                let per = weight.numel() / weight.dims()[0];
                Some(
                    (0..weight.dims()[0])
                        .filter(|&r| {
                            bias.data()[r] == 0.0 && weight.data()[r * per..(r + 1) * per].iter().all(|x| *x == 0.0)
                        })
                        .count(),
                )
            }
            _ => None,
        })
        .sum()
}

#[test]
fn named_pipelines_expand_to_their_passes_and_point_at_bad_arguments() {
    let names = |src: &str| build_pipeline(src).unwrap().iter().map(|p| p.name()).collect::<Vec<_>>();
    assert_eq!(
        names("@slamp(sparsity=0.5, rounds=2, epochs=2); cleanup"),
        ["prune", "finetune", "prune", "finetune", "cleanup"]
    );
    assert_eq!(names("@sca(sparsity=0.5, rounds=2, epochs=2)"), ["prune", "finetune", "regrow", "prune", "finetune"]);
    assert_eq!(names("@qp-snn(bits=4, epochs=0)"), ["quantize", "prune"]);
    assert_eq!(names("@int8"), ["quantize"]);
    for (src, at) in [
        ("@slamp(sparsity=0.5, round=2)", "round"),
        ("prune(method=svs, sparsity=0.5); @qp(bits=4)", "@qp"),
        ("@qp-snn(bits=40)", "40"),
        ("finetune(bits=4)", "4"),
    ] {
        let e = match build_pipeline(src) {
            Err(e) => e,
            Ok(_) => panic!("{src} was accepted"),
        };
        assert_eq!(&src[e.span.clone()], at, "{src}: {}", e.message);
    }
}

#[test]
fn regrow_gives_back_the_asked_fraction_of_removed_channels() {
    let (pruned, _) = run(&model(), "prune(method=sca, sparsity=0.5)", None);
    let removed = removed_rows(&pruned);
    assert!(removed > 0);
    let (regrown, reports) = run(&pruned, "regrow(fraction=0.5)", None);
    let back = removed - removed_rows(&regrown);
    assert!(back > 0 && back <= removed.div_ceil(2) + 1, "{removed} removed, {back} back: {:?}", reports[0].lines);
    assert!(reports[0].lines.iter().any(|l| l.contains("by gradient magnitude")), "{:?}", reports[0].lines);
    // Deterministic for a seed.
    let (again, _) = run(&pruned, "regrow(fraction=0.5)", None);
    assert_eq!(weight_rows(&again), weight_rows(&regrown));
}

#[test]
fn rescaw_qat_ends_on_per_channel_rescaw_levels() {
    let (g, _) = run(&model(), "finetune(epochs=1, qat=rescaw, bits=2)", None);
    for (name, rows) in weight_rows(&g) {
        for row in rows {
            let top = row.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let mut levels: Vec<f64> = row.iter().filter(|x| **x != 0.0).map(|x| x / top).collect();
            levels.sort_by(f64::total_cmp);
            levels.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
            // 2-bit ReScaW: γ·{−1, −1/3, 1/3, 1}.
            assert!(levels.len() <= 4, "{name}: {levels:?}");
            for l in levels {
                assert!([-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0].iter().any(|k| (l - k).abs() < 1e-9), "{name}: level {l}");
            }
        }
    }
}

#[test]
fn with_a_target_finetune_ends_on_its_weight_grid() {
    let target = spikeforge_targets::preset("loihi").unwrap().unwrap();
    let numerics = target.spec().numerics.clone();
    let (g, reports) = run(&model(), "finetune(epochs=1)", Some(&numerics));
    assert!(reports[0].lines.iter().any(|l| l.contains("target's")), "{:?}", reports[0].lines);
    let w_max = ((1i64 << (numerics.weight_bits - 1)) - 1) as f64;
    for (name, rows) in weight_rows(&g) {
        let all: Vec<f64> = rows.concat();
        let step = all.iter().fold(0.0f64, |m, x| m.max(x.abs())) / w_max;
        for x in all {
            let k = x / step;
            assert!((k - k.round()).abs() < 1e-6, "{name}: {x} is not a multiple of {step}");
        }
    }
}

#[test]
fn sca_and_qp_snn_run_end_to_end() {
    let (g, reports) = run(&model(), "@sca(sparsity=0.5, rounds=2, epochs=2)", None);
    assert!(removed_rows(&g) > 0);
    assert!(reports.iter().any(|r| r.pass == "regrow"));
    let (g, _) = run(&model(), "@qp-snn(bits=4, sparsity=0.25, epochs=2)", None);
    assert!(removed_rows(&g) > 0);
    for (name, rows) in weight_rows(&g) {
        for row in rows {
            let mut v: Vec<f64> = row.into_iter().filter(|x| *x != 0.0).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            assert!(v.len() <= 16, "{name}: {} levels", v.len());
        }
    }
}
