//! Models that do not fit: each error names the layer, the resource, what it needs, what
//! the largest core offers and what to change; unsupported nodes are refused by name.

mod mapper_common;

use mapper_common::{snn, target};
use spikeforge_compiler::exec::Dynamics;
use spikeforge_compiler::mapper::{compile, CompileOptions, MapError, Resource};
use spikeforge_targets::Target;

fn map_err(source: &str, target: &Target) -> MapError {
    let (g, v) = snn(source);
    compile(&g, &v, target, Dynamics::default(), &CompileOptions::default()).expect_err("the model must not fit")
}

/// LIF parameters for `n` neurons.
fn lif(n: usize) -> String {
    format!("tau=full([{n}], 0.0002), r=2.0, v_leak=0.0, v_threshold=1.0, v_reset=0.0")
}

#[test]
fn fan_in_above_in_axons_names_layer_resource_and_fix() {
    let src = format!(
        "snn 1\ninput = Input<shape=[20]>()\nfc = Affine<weight=full([4, 20], 0.5), bias=full([4], 0.0)>(input)\n\
         lif = LIF<{}>(fc)\noutput = Output<shape=[4]>(lif)\n",
        lif(4)
    );
    let e = map_err(&src, &target("test_2x2"));
    assert_eq!(e.resource(), Some(Resource::InAxons));
    assert_eq!(
        e.to_string(),
        "layer `lif` does not fit: one neuron has 20 inputs, but a core of type `tiny` takes at most 16 (in-axons), \
         and the target cannot split a neuron's input over cores; use a target whose cores chain partial sums \
         (`partial_sums: true` in the core type), prune the layer's incoming weights, or reduce its input channels"
    );
}

#[test]
fn too_many_cores_names_the_count_and_the_layers() {
    let src = format!(
        "snn 1\ninput = Input<shape=[8]>()\nfc = Affine<weight=full([80, 8], 0.5), bias=full([80], 0.0)>(input)\n\
         lif = LIF<{}>(fc)\noutput = Output<shape=[80]>(lif)\n",
        lif(80)
    );
    let e = map_err(&src, &target("test_2x2"));
    assert_eq!(
        e.to_string(),
        "the model needs 5 cores = 2 chips of `test_2x2` (4 cores each), but target `test_2x2` has 4 on a grid of \
         1 × 1 chips; cores by layer (cores holding only that layer): `lif` 5; use --chips 2x1 or --chips auto, a \
         target with larger cores, or prune the model"
    );
}

#[test]
fn synapse_memory_of_one_neuron() {
    // A row of one synapse takes 4 (header) + 4 (weight) + 4 (index) bits, one 32-bit word:
    // a neuron with 12 inputs needs 12 words = 384 bits, over a 256-bit memory.
    let mut spec = target("test_2x2").spec().clone();
    spec.core_types[0].synapse_memory_bits = 256;
    let t = Target::from_spec(spec, "small_memory").unwrap();
    let src = format!(
        "snn 1\ninput = Input<shape=[12]>()\nfc = Linear<weight=full([2, 12], 0.25)>(input)\n\
         lif = LIF<{}>(fc)\noutput = Output<shape=[2]>(lif)\n",
        lif(2)
    );
    let e = map_err(&src, &t);
    assert_eq!(
        e.to_string(),
        "layer `lif` does not fit: one neuron has 12 inputs, but a core of type `tiny` takes at most 8 (synapse \
         memory), and the target cannot split a neuron's input over cores; use a target whose cores chain partial \
         sums (`partial_sums: true` in the core type), prune the layer's incoming weights, or reduce its input \
         channels"
    );
}

#[test]
fn destination_cores_of_a_source_layer() {
    let mut spec = target("test_2x2").spec().clone();
    spec.core_types[0].max_destination_cores = Some(1);
    let t = Target::from_spec(spec, "one_destination").unwrap();
    let src = format!(
        "snn 1\ninput = Input<shape=[4]>()\nf1 = Linear<weight=full([16, 4], 0.5)>(input)\na = LIF<{}>(f1)\n\
         f2 = Linear<weight=full([32, 16], 0.1)>(a)\nb = LIF<{}>(f2)\noutput = Output<shape=[32]>(b)\n",
        lif(16),
        lif(32)
    );
    let e = map_err(&src, &t);
    assert_eq!(e.resource(), Some(Resource::DestinationCores));
    assert_eq!(
        e.to_string(),
        "layer `a` does not fit: one neuron sends to 3 destination cores, but the largest core (`tiny`) offers 1 \
         destination cores; the layers it feeds are split over too many cores: make them small enough for fewer \
         cores, or use a target that allows more destinations per core"
    );
}

#[test]
fn delay_is_refused_by_name() {
    let src = format!(
        "snn 1\ninput = Input<shape=[4]>()\nfc = Linear<weight=full([4, 4], 0.5)>(input)\nlif = LIF<{}>(fc)\n\
         d = Delay<delay=full([4], 0.0002)>(lif)\noutput = Output<shape=[4]>(d)\n",
        lif(4)
    );
    let e = map_err(&src, &target("loihi"));
    assert_eq!(
        e.to_string(),
        "node `d`: Delay is not supported by the mapper yet; the core map has no synaptic delays: remove the Delay \
         node or fold it into the model"
    );
}

#[test]
fn calibration_of_another_graph_is_refused() {
    let src = format!(
        "snn 1\ninput = Input<shape=[4]>()\nfc = Linear<weight=full([4, 4], 0.5)>(input)\nlif = LIF<{}>(fc)\n\
         output = Output<shape=[4]>(lif)\n",
        lif(4)
    );
    let (g, v) = snn(&src);
    let opts = CompileOptions { calibration: Some(vec![1, 2]), ..CompileOptions::default() };
    let e = compile(&g, &v, &target("loihi"), Dynamics::default(), &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "calibration has spike counts for 2 nodes; the graph has 4 node ids (run the same model)"
    );
}
