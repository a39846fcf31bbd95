//! Mapping time of generated networks of ~1M and ~10M synapses (3×3 conv nets and sparse
//! MLPs, `synth::MAPPING_WORKLOADS`) on the Loihi preset grown to 2 × 2 chips (512 cores):
//! the whole of `mapper::compile` (lowering, partition, traffic, both placements, routing,
//! emission, report). Before timing, each workload prints cores used against the lower
//! bound and the hop traffic against the sequential baseline. Peak memory is measured by
//! the `map_bench` example (it needs a fresh process).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions};
use spikeforge_compiler::synth::{mapping_workload, MAPPING_WORKLOADS};
use spikeforge_targets::{preset, Target};

fn loihi_2x2() -> Target {
    let mut spec = preset("loihi").expect("preset").expect("valid").spec().clone();
    spec.name = "loihi_2x2".into();
    spec.grid.chips = [2, 2];
    Target::from_spec(spec, "loihi_2x2").expect("valid target")
}

fn mapping(c: &mut Criterion) {
    let target = loihi_2x2();
    let limits = Limits::default();
    let opts = CompileOptions::default();
    let mut group = c.benchmark_group("mapper");
    group.sample_size(10);
    for name in MAPPING_WORKLOADS {
        let graph = mapping_workload(name).expect("known workload").expect("generated network");
        let v = graph.verify(&limits).expect("verifies");
        let (_, r) = compile(&graph, &v, &target, Dynamics::default(), &opts).expect("maps");
        eprintln!(
            "{name}: {} synapses, {} neurons; cores {} / lower bound {} ({}) = {:.3}; hop traffic {:.0} vs \
             sequential {:.0} = {:.3}; one run {:.3} s",
            r.synapses,
            r.neurons,
            r.cores_used,
            r.cores_lower_bound,
            r.lower_bound_resource,
            r.cores_ratio,
            r.hop_traffic,
            r.hop_traffic_sequential,
            if r.hop_traffic_sequential > 0.0 { r.hop_traffic / r.hop_traffic_sequential } else { 1.0 },
            r.mapping_seconds
        );
        group.throughput(Throughput::Elements(r.synapses));
        group.bench_function(name, |b| b.iter(|| compile(&graph, &v, &target, Dynamics::default(), &opts)));
    }
    group.finish();
}

criterion_group!(benches, mapping);
criterion_main!(benches);
