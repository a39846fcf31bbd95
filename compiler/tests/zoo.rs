//! The model zoo: small instances of every architecture verify, survive a NIR round
//! trip, and fire in the 5–20 % band on fresh input (not the calibration input).

use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::OpKind;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir;
use spikeforge_compiler::zoo::{generate, input_spikes, Architecture, PoolKind, ZooError, ZooSpec};

fn small(arch: Architecture) -> ZooSpec {
    let mut spec = ZooSpec::new(arch);
    spec.width = 1.0 / 16.0;
    // Deep layers of a 1/16-width net have a few dozen neurons: calibrate on enough samples
    // that their rate carries over to fresh input.
    spec.calib_samples = 32;
    spec.input_shape = match arch {
        Architecture::SewResnet => [2, 16, 16],
        _ => [3, 16, 16],
    };
    spec
}

/// Firing rate of every LIF layer on `samples` fresh samples.
fn rates(spec: &ZooSpec, samples: usize) -> Vec<(String, f64)> {
    let limits = Limits::default();
    let g = generate(spec, &limits).expect("generates");
    let exec = Executor::new(&g.graph, &g.verified, Dynamics::default(), &limits).expect("runs");
    let steps = spec.calib_steps;
    let x = input_spikes(&spec.input_shape, samples, steps, spec.input_rate, 12345);
    let r = exec.run(&x, samples, steps, 1);
    r.nodes
        .iter()
        .filter(|n| n.kind == OpKind::LIF)
        .map(|n| (n.name.clone(), n.spikes as f64 / (n.n_outputs * samples * steps) as f64))
        .collect()
}

fn check_band(spec: &ZooSpec, expected_layers: usize) {
    let r = rates(spec, 16);
    assert_eq!(r.len(), expected_layers, "{}: {r:?}", spec.arch);
    for (name, rate) in &r {
        assert!((0.05..=0.20).contains(rate), "{} layer {name} fires at {rate:.3}: {r:?}", spec.arch);
    }
}

#[test]
fn vgg11_fires_in_band() {
    // 8 conv + 2 affine LIF layers.
    check_band(&small(Architecture::Vgg11), 10);
}

#[test]
fn vgg16_fires_in_band() {
    // At 1/16 width its last conv layers have 32 neurons on 1×1 maps; a small drift in rate
    // per layer compounds over 13 layers on fresh input, so this one is 1/8 wide.
    let mut spec = small(Architecture::Vgg16);
    spec.width = 1.0 / 8.0;
    check_band(&spec, 15);
}

#[test]
fn resnet19_fires_in_band() {
    // stem + 8 blocks × 2 + 2 head layers.
    check_band(&small(Architecture::Resnet19), 19);
}

#[test]
fn sew_resnet_fires_in_band_with_sum_pooling() {
    let mut spec = small(Architecture::SewResnet);
    spec.pool = PoolKind::Sum;
    // stem + 4 blocks (16 → 1) × 2 + head.
    check_band(&spec, 10);
}

#[test]
fn residual_sums_are_two_edges_into_one_node() {
    let limits = Limits::default();
    let g = generate(&small(Architecture::Resnet19), &limits).unwrap().graph;
    let id = g.find("s1b0_lif2").unwrap();
    let inputs: Vec<&str> = g.inputs(id).into_iter().map(|n| g.name(n)).collect::<Vec<_>>();
    assert_eq!(inputs.len(), 2, "{inputs:?}");
    assert!(inputs.contains(&"s1b0_conv2") && inputs.contains(&"stem_lif"), "{inputs:?}");
    let down = g.find("s2b0_lif2").unwrap();
    let inputs: Vec<&str> = g.inputs(down).into_iter().map(|n| g.name(n)).collect::<Vec<_>>();
    assert!(inputs.contains(&"s2b0_down"), "{inputs:?}");

    let g = generate(&small(Architecture::SewResnet), &limits).unwrap().graph;
    let pool = g.find("b2_pool").unwrap();
    let inputs: Vec<&str> = g.inputs(pool).into_iter().map(|n| g.name(n)).collect::<Vec<_>>();
    assert!(inputs.contains(&"b2_lif2") && inputs.contains(&"b1_pool"), "{inputs:?}");
}

#[test]
fn same_seed_same_graph_and_nir_round_trip() {
    let limits = Limits::default();
    let spec = small(Architecture::Vgg11);
    let a = generate(&spec, &limits).unwrap();
    let b = generate(&spec, &limits).unwrap();
    assert!(a.graph.same_as(&b.graph));
    assert_eq!(a.layers, b.layers);
    let bytes = nir::to_bytes(&a.graph).unwrap();
    let back = nir::read_nir_bytes(bytes, "vgg11.nir", &limits).unwrap();
    assert!(back.same_as(&a.graph));
    let mut other = spec.clone();
    other.seed = 1;
    assert!(!generate(&other, &limits).unwrap().graph.same_as(&a.graph));
}

#[test]
fn input_shape_and_classes_are_honoured() {
    let limits = Limits::default();
    let mut spec = small(Architecture::Vgg11);
    spec.input_shape = [1, 20, 12];
    spec.classes = 7;
    let g = generate(&spec, &limits).unwrap();
    let out = g.graph.output_nodes()[0];
    assert_eq!(g.verified.shape(out).dims(), &[7]);
    let input = g.graph.input_nodes()[0];
    assert_eq!(g.verified.shape(input).dims(), &[1, 20, 12]);
}

#[test]
fn bad_specs_are_refused_by_name() {
    let limits = Limits::default();
    let mut spec = small(Architecture::Vgg16);
    spec.width = 0.0;
    assert!(matches!(generate(&spec, &limits), Err(ZooError::BadSpec { field: "width", .. })));
    let mut spec = small(Architecture::Vgg16);
    spec.firing_rate = 1.5;
    assert!(matches!(generate(&spec, &limits), Err(ZooError::BadSpec { field: "firing rate", .. })));
    assert!(matches!("vgg19".parse::<Architecture>(), Err(ZooError::UnknownArchitecture { .. })));
    assert_eq!("SEW-ResNet".parse::<Architecture>().unwrap(), Architecture::SewResnet);
    // A network too large for the limits is refused before anything is allocated.
    let mut spec = ZooSpec::new(Architecture::Vgg16);
    spec.input_shape = [3, 4096, 4096];
    let small_limits = Limits::from_max_memory(1 << 20);
    assert!(matches!(generate(&spec, &small_limits), Err(ZooError::Limit(_))));
}
