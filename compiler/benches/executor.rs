//! Reference executor throughput: effective synaptic operations per second, one thread.
//!
//! Criterion's throughput line ("elem/s") is SOP/s: synaptic events (NeuroBench
//! Effective_ACs) ÷ wall time of the time loop. Workloads: the three golden models (when
//! ../shared/golden is present) and a generated conv net of ~28.7k neurons and ~2.8M
//! synapses at ~15 % activity.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeforge_compiler::arrays::read_npy_f64;
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_compiler::summary::Summary;
use spikeforge_compiler::synth::{conv_net, ConvNetSpec, Rng};

fn bench_model(c: &mut Criterion, name: &str, graph: &Graph, x: &[f64], n: usize, t: usize) {
    let limits = Limits::default();
    let v = graph.verify(&limits).expect("bench model verifies");
    let exec = Executor::new(graph, &v, Dynamics::default(), &limits).expect("runnable");
    let probe = exec.run(x, n, t, 1);
    let sops = probe.sops_weight_layers() + probe.sops_pooling();
    let s = Summary::new(graph, &v);
    eprintln!(
        "{name}: {n} samples × {t} steps, {} neurons, {} synapses, activation sparsity {:.3}, {sops} SOPs; \
         one run {:.4} s = {:.3e} SOP/s",
        s.neurons(),
        s.synapses(),
        probe.activation_sparsity(),
        probe.execute_seconds,
        sops as f64 / probe.execute_seconds
    );
    let mut group = c.benchmark_group("executor");
    group.throughput(Throughput::Elements(sops));
    group.sample_size(10);
    group.bench_function(name, |b| b.iter(|| exec.run(x, n, t, 1)));
    group.finish();
}

fn golden(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden");
    let limits = Limits::default();
    for case in ["digits_mlp", "digits_cnn", "rsnn_random"] {
        let dir = root.join(case);
        let Ok(graph) = read_nir(&dir.join("model.nir"), &limits) else {
            eprintln!("skipping {case}: {} not readable", dir.display());
            continue;
        };
        let x = read_npy_f64(&dir.join("input.npy"), &limits).expect("golden input");
        bench_model(c, case, &graph, &x.data, x.shape[0], x.shape[1]);
    }
}

fn generated(c: &mut Criterion) {
    let spec = ConvNetSpec::bench_30k();
    let graph = conv_net(&spec).expect("generated network");
    let (n, t) = (4, 16);
    let n_in: usize = spec.input.iter().product();
    let x = Rng::new(99).spikes(n * t * n_in, spec.input_rate);
    bench_model(c, "conv_30k_2.8M", &graph, &x, n, t);
}

criterion_group!(benches, golden, generated);
criterion_main!(benches);
