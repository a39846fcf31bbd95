//! The seed compression methods as their papers run them, measured: every named seed
//! pipeline (`@slamp`, `@sca`, `@criticality`, `@qp-snn`, `@sbc`) at three sparsities (and
//! 4 / 2 bits for `@qp-snn`) on the golden digits models, trained on
//! `../shared/golden/digits_train/` and evaluated on the golden test inputs: accuracy and
//! synaptic operations per sample, before fine-tuning (the pipeline with `epochs=0`) and
//! after (the pipeline's defaults). Calibration: the first 256 training samples.
//! Writes `examples/seed_table.md` (or `--out PATH`).
//!
//!     cargo run --release -p spikeforge-compiler --example seed_table -- [digits_mlp] [digits_cnn]
//!         [--train-samples N] [--only NAME[,NAME…]] [--out PATH]
//!
//! Rows `magnitude` (`prune(method=magnitude)` + the same fine-tune) and `criticality-w`
//! (`@criticality(granularity=weight)`) compare unstructured criticality with its baseline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::passes::named::{SEED_EPOCHS, SEED_LR};
use spikeforge_compiler::passes::{build_pipeline, run_pipeline, Calibration, PassContext, TrainingData};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

struct Case {
    graph: Graph,
    train: TrainingData,
    calib: Calibration,
    test_x: Vec<f64>,
    test_y: Vec<usize>,
    test_n: usize,
    t: usize,
}

fn load(model: &str, train_samples: usize, limits: &Limits) -> Case {
    let dir = shared().join(model);
    let graph = read_nir(&dir.join("model.nir"), limits).expect("golden model");
    let prefix = if model == "digits_cnn" { "cnn_t16" } else { "mlp_t20" };
    let x = read_npy_f64(&shared().join(format!("digits_train/{prefix}_input.npy")), limits).expect("train input");
    let y = read_npy_f64(&shared().join(format!("digits_train/{prefix}_labels.npy")), limits).expect("labels");
    let t = x.shape[1];
    let per = x.data.len() / x.shape[0];
    let n = x.shape[0].min(train_samples);
    let calib_n = n.min(256);
    let test_x = read_npy_f64(&dir.join("input.npy"), limits).expect("test input");
    let test_y = read_npy_f64(&dir.join("labels.npy"), limits).expect("test labels");
    Case {
        graph,
        train: TrainingData {
            input: x.data[..n * per].to_vec(),
            labels: y.data[..n].iter().map(|&v| v as usize).collect(),
            n_steps: t,
            progress: false,
        },
        calib: Calibration { data: x.data[..calib_n * per].to_vec(), n_samples: calib_n, n_steps: t },
        test_n: test_x.shape[0],
        test_x: test_x.data,
        test_y: test_y.data.iter().map(|&v| v as usize).collect(),
        t,
    }
}

/// Test accuracy (argmax of output spike counts), synaptic operations per sample, and the
/// fraction of the original weights that are zero.
fn measure(case: &Case, graph: &Graph, original_weights: usize, limits: &Limits) -> (f64, f64, f64) {
    let verified = graph.verify(limits).expect("verifies");
    let exec = Executor::new(graph, &verified, Dynamics::default(), limits).expect("runs");
    let r = exec.run(&case.test_x, case.test_n, case.t, 0);
    let k = r.output_len;
    let correct = (0..case.test_n)
        .filter(|&s| {
            let mut counts = vec![0.0; k];
            for step in 0..case.t {
                for (j, c) in counts.iter_mut().enumerate() {
                    *c += r.output[(s * case.t + step) * k + j];
                }
            }
            let best = (1..k).fold(0, |b, j| if counts[j] > counts[b] { j } else { b });
            best == case.test_y[s]
        })
        .count();
    let nonzero: usize = graph
        .node_ids()
        .filter_map(|id| graph.op(id).weight())
        .map(|w| w.data().iter().filter(|x| **x != 0.0).count())
        .sum();
    (
        correct as f64 / case.test_n as f64,
        r.sops_weight_layers() as f64 / case.test_n as f64,
        1.0 - nonzero as f64 / original_weights.max(1) as f64,
    )
}

fn weights(graph: &Graph) -> usize {
    graph.node_ids().filter_map(|id| graph.op(id).weight()).map(|w| w.numel()).sum()
}

/// Runs a pipeline on a copy of the model; None (with the error printed) when it fails.
fn apply(case: &Case, pipeline: &str, limits: &Limits) -> Option<Graph> {
    let mut g = case.graph.clone();
    let passes = match build_pipeline(pipeline) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", e.render(pipeline));
            return None;
        }
    };
    let ctx = PassContext {
        limits,
        dynamics: Dynamics::default(),
        calib: Some(&case.calib),
        train: Some(&case.train),
        target: None,
    };
    match run_pipeline(&mut g, &passes, &ctx) {
        Ok(_) => Some(g),
        Err(e) => {
            eprintln!("{pipeline}: {e}");
            None
        }
    }
}

/// Rows of the table: (pipeline label, arguments without `epochs`).
fn rows(only: Option<&str>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in [0.5, 0.7, 0.9] {
        out.push(("slamp".into(), format!("@slamp(sparsity={s})")));
    }
    for s in [0.5, 0.7, 0.9] {
        out.push(("sbc".into(), format!("@sbc(sparsity={s})")));
    }
    // SBC's paper target is 90 % within a point of dense: the row with twice the budget.
    out.push(("sbc-long".into(), "@sbc(sparsity=0.9)".into()));
    for s in [0.25, 0.5, 0.75] {
        out.push(("sca".into(), format!("@sca(sparsity={s})")));
    }
    for s in [0.25, 0.5, 0.75] {
        out.push(("criticality".into(), format!("@criticality(sparsity={s})")));
    }
    // Unstructured criticality against its baseline, magnitude pruning + the same fine-tune.
    for s in [0.5, 0.7, 0.9] {
        out.push(("magnitude".into(), format!("prune(method=magnitude, sparsity={s})")));
        out.push(("criticality-w".into(), format!("@criticality(sparsity={s}, granularity=weight)")));
    }
    // The margin counts all weights: at 90 % the default 0.1 makes every survivor a
    // criticality choice. Smaller margins there:
    for m in [0.01, 0.03] {
        out.push(("criticality-w".into(), format!("@criticality(sparsity=0.9, margin={m}, granularity=weight)")));
    }
    for bits in [4, 2] {
        for s in [0.25, 0.5, 0.75] {
            out.push(("qp-snn".into(), format!("@qp-snn(bits={bits}, sparsity={s})")));
        }
    }
    out.retain(|(name, _)| only.is_none_or(|o| o.split(',').any(|o| o == name)));
    out
}

/// `@x(args)` with `epochs=…` and `extra` arguments added; a plain pass (a baseline row)
/// gets a fine-tune of the seed pipelines' budget appended instead.
fn with_epochs(spec: &str, epochs: Option<usize>, extra: &str) -> String {
    if !spec.starts_with('@') {
        let lr = if extra.is_empty() { format!(", lr={SEED_LR}") } else { extra.to_string() };
        return match epochs.unwrap_or(SEED_EPOCHS as usize) {
            0 => spec.to_string(),
            e => format!("{spec}; finetune(epochs={e}{lr})"),
        };
    }
    let open = spec.strip_suffix(')').unwrap_or(spec);
    match epochs {
        Some(e) => format!("{open}, epochs={e}{extra})"),
        None => format!("{open}{extra})"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut models = Vec::new();
    let (mut train_samples, mut only, mut out) = (usize::MAX, None, None);
    let (mut epochs, mut extra) = (None, String::new());
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--train-samples" => {
                i += 1;
                train_samples = args.get(i).and_then(|s| s.parse().ok()).expect("--train-samples N");
            }
            "--only" => {
                i += 1;
                only = args.get(i).cloned();
            }
            "--epochs" => {
                i += 1;
                epochs = Some(args.get(i).and_then(|s| s.parse().ok()).expect("--epochs E"));
            }
            "--lr" => {
                i += 1;
                extra = format!(", lr={}", args.get(i).expect("--lr L"));
            }
            "--out" => {
                i += 1;
                out = args.get(i).map(PathBuf::from);
            }
            m => models.push(m.to_string()),
        }
        i += 1;
    }
    if models.is_empty() {
        models = vec!["digits_mlp".into(), "digits_cnn".into()];
    }
    let out = out.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed_table.md"));
    let limits = Limits::default();
    let mut md = String::new();
    let _ = writeln!(md, "# Seed methods with training: accuracy and SOPs per sample\n");
    let _ = writeln!(
        md,
        "Generated by `cargo run --release -p spikeforge-compiler --example seed_table`: trained on \
         `../shared/golden/digits_train/` ({} samples), evaluated on the golden test inputs (360), \
         calibration = the first 256 training samples. *Before* = the pipeline with `epochs=0` \
         (its pruning / quantization only); *after* = the pipeline as shown, with its defaults \
         (Adam, batch 64, atan surrogate, ce on spike counts; `epochs` is the training budget \
         of the whole pipeline, split over its fine-tunes). Sparsity counts zero weights \
         against the original model. `@sbc` is one-shot: its *after* row adds a fine-tune of \
         the same budget.\n",
        if train_samples == usize::MAX { "all 1,437".to_string() } else { format!("the first {train_samples}") }
    );
    for model in &models {
        let case = load(model, train_samples, &limits);
        let original = weights(&case.graph);
        let (acc, sops, _) = measure(&case, &case.graph, original, &limits);
        let started = Instant::now();
        let dense_spec = match &extra {
            e if e.is_empty() => format!("finetune(epochs={}, lr={SEED_LR})", epochs.unwrap_or(SEED_EPOCHS as usize)),
            e => format!("finetune(epochs={}{e})", epochs.unwrap_or(SEED_EPOCHS as usize)),
        };
        let tuned = apply(&case, &dense_spec, &limits);
        let dense_ft = tuned.map(|g| measure(&case, &g, original, &limits));
        let _ = writeln!(md, "## {model}\n");
        let _ = writeln!(
            md,
            "Dense: accuracy {:.1} %, {:.0} SOPs/sample; dense + `{dense_spec}`: {}.\n",
            100.0 * acc,
            sops,
            dense_ft.map_or("failed".into(), |(a, s, _)| format!("{:.1} %, {s:.0} SOPs/sample", 100.0 * a))
        );
        let _ = writeln!(
            md,
            "| pipeline | weight sparsity | acc. before | SOPs before | acc. after | SOPs after | Δ acc. vs dense | train s |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        println!(
            "{model}: dense {:.1} % {sops:.0} SOPs ({:.0} s dense fine-tune)",
            100.0 * acc,
            started.elapsed().as_secs_f64()
        );
        for (name, spec) in rows(only.as_deref()) {
            let before_spec = with_epochs(&spec, Some(0), "");
            // `@sbc` is one-shot by default: its row adds the budget of the others.
            let budget = match name.as_str() {
                "sbc" => epochs.or(Some(SEED_EPOCHS as usize)),
                "sbc-long" => Some(2 * epochs.unwrap_or(SEED_EPOCHS as usize)),
                _ => epochs,
            };
            let after_spec = with_epochs(&spec, budget, &extra);
            let before = apply(&case, &before_spec, &limits).map(|g| measure(&case, &g, original, &limits));
            let started = Instant::now();
            let after = apply(&case, &after_spec, &limits).map(|g| measure(&case, &g, original, &limits));
            let secs = started.elapsed().as_secs_f64();
            let cell = |m: Option<(f64, f64, f64)>, f: fn((f64, f64, f64)) -> String| m.map_or("failed".into(), f);
            let line = format!(
                "| `{after_spec}` | {} | {} | {} | {} | {} | {} | {secs:.0} |",
                cell(after, |m| format!("{:.1} %", 100.0 * m.2)),
                cell(before, |m| format!("{:.1} %", 100.0 * m.0)),
                cell(before, |m| format!("{:.0}", m.1)),
                cell(after, |m| format!("{:.1} %", 100.0 * m.0)),
                cell(after, |m| format!("{:.0}", m.1)),
                after.map_or("failed".into(), |m| format!("{:+.1}", 100.0 * (m.0 - acc))),
            );
            println!("{model} {line}");
            let _ = writeln!(md, "{line}");
        }
        let _ = writeln!(md);
    }
    std::fs::write(&out, md).expect("writes the table");
    println!("wrote {}", out.display());
}
