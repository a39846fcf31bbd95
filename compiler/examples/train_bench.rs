//! Training speed: samples per second of one training step (forward, BPTT, Adam) at batch
//! 64 on one thread, float64, on the golden digits models and their training sets; with
//! PyTorch autograd measured in the same run on the same networks when a Python with
//! torch is found (`TORCH_PYTHON`, else `../venv-frameworks/bin/python`).
//!
//!     cargo run --release -p spikeforge-compiler --example train_bench [-- BATCHES]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::train::optim::{Optimizer, OptimizerKind};
use spikeforge_compiler::train::{batch_gradient, Batch, Loss, Net, Surrogate};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

/// Best-of-three samples/s over `batches` steps of batch 64.
fn ours(case: &str, train_prefix: &str, batches: usize) -> f64 {
    let limits = Limits::default();
    let graph = read_nir(&shared().join(case).join("model.nir"), &limits).expect("golden model");
    let verified = graph.verify(&limits).expect("verifies");
    let mut net = Net::new(&graph, &verified, &Dynamics::default(), &limits).expect("trainable");
    let x =
        read_npy_f64(&shared().join(format!("digits_train/{train_prefix}_input.npy")), &limits).expect("train input");
    let y = read_npy_f64(&shared().join(format!("digits_train/{train_prefix}_labels.npy")), &limits).expect("labels");
    let labels: Vec<usize> = y.data.iter().map(|&v| v as usize).collect();
    let t_steps = x.shape[1];
    let mut opt = Optimizer::new(OptimizerKind::from_name("adam", 0.0).unwrap(), 1e-3, &net.values);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        for b in 0..batches {
            let samples: Vec<usize> = (0..64).map(|i| (b * 64 + i) % labels.len()).collect();
            let batch = Batch { input: &x.data, labels: &labels, t_steps, samples: &samples };
            let r = batch_gradient(&net, Surrogate::default(), Loss::CeCount, &batch, 1);
            opt.step(&mut net.values, &r.grads);
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    (batches * 64) as f64 / best
}

fn torch(batches: usize) -> Option<String> {
    let python = std::env::var_os("TORCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../venv-frameworks/bin/python"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/train_bench_torch.py");
    let out = Command::new(python).arg(script).arg(shared()).arg(batches.to_string()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn main() {
    let batches: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let mlp = ours("digits_mlp", "mlp_t20", batches);
    let cnn = ours("digits_cnn", "cnn_t16", batches);
    println!("spikeforge  digits_mlp  {mlp:8.0} samples/s  (batch 64, f64, 1 thread, forward + BPTT + Adam)");
    println!("spikeforge  digits_cnn  {cnn:8.0} samples/s");
    match torch(batches) {
        Some(text) => {
            print!("{text}");
            let rate = |name: &str| {
                text.lines().find(|l| l.contains(name)).and_then(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
            };
            if let (Some(tm), Some(tc)) = (rate("digits_mlp"), rate("digits_cnn")) {
                println!(
                    "ratio       digits_mlp  {:8.2}×   digits_cnn  {:8.2}×  (spikeforge / PyTorch)",
                    mlp / tm,
                    cnn / tc
                );
            }
        }
        None => println!("pytorch     not found (set TORCH_PYTHON to a python with torch)"),
    }
}
