//! Fan-in larger than a core: a neuron's input is split over cores whose partial sums are
//! chained, on targets whose cores can do so (`partial_sums`), and refused with a typed
//! error elsewhere. The maps are checked like every other (limits recomputed from the map
//! alone, outputs equal to the reference executor bit for bit).

mod mapper_common;

use mapper_common::{check_limits, check_map, conv_kernels, run_map, target};
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::Graph;
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions, MapError, Resource};
use spikeforge_compiler::synth::{deep_conv_net, sparse_mlp, vgg_net, Rng, VggLayer};
use spikeforge_targets::coremap::{NeuronModel, ProjectionKind};
use spikeforge_targets::Target;

/// Loihi with `in_axons` per core and partial sums on or off.
fn small_loihi(in_axons: u32, partial_sums: bool) -> Target {
    let mut spec = target("loihi").spec().clone();
    spec.grid.chips = [2, 2];
    spec.core_types[0].in_axons = in_axons;
    spec.core_types[0].partial_sums = partial_sums;
    Target::from_spec(spec, "small_loihi").expect("valid target")
}

/// Compiles `g` for `t` and checks the map against the reference executor: outputs bit for
/// bit, weight SOPs and pooling SOPs (an identity shortcut is weightless and counts none).
fn equal_to_executor(g: &Graph, t: &Target, in_len: usize) -> spikeforge_targets::CoreMap {
    let v = g.verify(&Limits::default()).expect("verifies");
    let (map, report) = compile(g, &v, t, Dynamics::default(), &CompileOptions::default()).expect("maps");
    check_map(&map);
    let reported: Vec<u64> = report.projection_details.iter().map(|p| p.synapses).collect();
    assert_eq!(reported, map.synapses_per_projection(), "the report counts the map's synapses");
    check_limits(&map, &conv_kernels(g, &map));
    let (n, steps) = (2, 4);
    let x = Rng::new(11).spikes(n * steps * in_len, 0.3);
    let run = run_map(&map, &x, n, steps);
    let exec = Executor::new(g, &v, Dynamics::default(), &Limits::default()).expect("executor").run(&x, n, steps, 1);
    assert_eq!(run.output, exec.output, "mapped network differs from the reference");
    assert_eq!(run.weight_sops, exec.sops_weight_layers(), "weight SOPs");
    assert_eq!(run.pool_sops, exec.sops_pooling(), "pooling SOPs");
    map
}

#[test]
fn convolution_fan_in_over_a_core_is_chained_over_cores_exactly() {
    // 40 input channels × 3×3 = 360 inputs per neuron against 128 in-axons per core.
    let g = deep_conv_net([40, 6, 6], &[6, 4], 3, 3).expect("net");
    let map = equal_to_executor(&g, &small_loihi(128, true), 40 * 36);
    let relays = map.populations.iter().filter(|p| p.model == NeuronModel::Identity).count();
    assert!(relays >= 2, "the first layer needs at least three links, got {relays} relay populations");
    assert!(map.projections.iter().any(|p| p.kind == ProjectionKind::PartialSum));
    for c in &map.cores {
        assert!(c.usage.in_axons <= 128, "core {} has {} in-axons", c.core, c.usage.in_axons);
    }
}

#[test]
fn pooled_and_dense_fan_in_is_chained_exactly() {
    // A pooled convolution (source-side pooling cut with its events) and a dense layer of
    // 6·2·2 = 24 → 300 → 10 inputs against 64 in-axons.
    let layers = [VggLayer::Conv(6), VggLayer::Pool, VggLayer::Conv(12)];
    let g = vgg_net([12, 4, 4], &layers, &[300, 10], 5).expect("net");
    equal_to_executor(&g, &small_loihi(64, true), 12 * 16);
    let g = sparse_mlp(&[500, 40, 10], 0.7, 2).expect("mlp");
    equal_to_executor(&g, &small_loihi(128, true), 500);
}

#[test]
fn fan_in_over_a_core_without_partial_sums_is_refused_by_name() {
    let g = deep_conv_net([40, 6, 6], &[6], 3, 3).expect("net");
    let v = g.verify(&Limits::default()).expect("verifies");
    let t = small_loihi(128, false);
    let e = compile(&g, &v, &t, Dynamics::default(), &CompileOptions::default()).expect_err("cannot split");
    match &e {
        MapError::FanInTooLarge { layer, fan_in, limit, resource, .. } => {
            assert_eq!(layer, "lif0");
            assert_eq!((*fan_in, *limit, *resource), (360, 128, Resource::InAxons));
        }
        other => panic!("unexpected error {other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("partial_sums") && msg.contains("360") && msg.contains("128"), "{msg}");
}

/// A residual block whose shortcut is an identity matrix: each neuron receives one input
/// from it, so the split cuts it by what a neuron receives (one input), not by its column
/// count — the shortcut joins the last slice of the convolution instead of adding links.
#[test]
fn an_identity_shortcut_is_sliced_by_what_each_neuron_receives() {
    use spikeforge_compiler::zoo::{generate, Architecture, ZooSpec};
    let mut spec = ZooSpec::new(Architecture::Resnet19);
    spec.width = 1.0 / 16.0;
    spec.input_shape = [3, 8, 8];
    spec.calib_samples = 2;
    let g = generate(&spec, &Limits::default()).expect("generates").graph;
    // Stage 3 has 32 channels: 32·9 + 1 = 289 inputs per neuron of `s3b1_lif2` against 256
    // in-axons; slices of at most 128 inputs are 14, 14 and 4 input channels.
    let map = equal_to_executor(&g, &small_loihi(256, true), 3 * 64);
    let links =
        |layer: &str| map.populations.iter().filter(|p| p.name.starts_with(&format!("{layer}.partial"))).count();
    assert_eq!(links("s3b1_lif2"), 2, "the identity shortcut joins the last slice");
    assert_eq!(links("s3b1_lif1"), 2);
}

/// On weight-sharing cores with exact neuron memory, a convolution's output is filled in
/// tiles of a block of channels × positions: the map is exact, every limit holds when
/// recomputed from the map, and some core holds several channels, each at part of its
/// positions.
#[test]
fn weight_sharing_cores_hold_tiles_of_channels_and_positions() {
    let mut spec = target("loihi2").spec().clone();
    spec.core_types[0].in_axons = 256;
    spec.core_types[0].out_axons = 1024;
    spec.core_types[0].synapse_memory_bits = 16 * 1024;
    spec.grid.chips = [2, 2];
    let t = Target::from_spec(spec, "small_loihi2").expect("valid target");
    let g = deep_conv_net([8, 12, 12], &[16, 16], 3, 4).expect("net");
    let map = equal_to_executor(&g, &t, 8 * 144);
    let tiled = map.cores.iter().any(|c| {
        let mut by_pop: std::collections::HashMap<u32, Vec<(u32, u32)>> = Default::default();
        for &(p, f, k) in &c.groups {
            by_pop.entry(p).or_default().push((f, k));
        }
        by_pop.iter().any(|(&p, ranges)| {
            let plane = map.populations[p as usize].shape[1..].iter().product::<usize>() as u32;
            let channels: std::collections::BTreeSet<u32> = ranges.iter().map(|&(f, _)| f / plane).collect();
            channels.len() >= 2 && ranges.iter().all(|&(_, k)| k < plane)
        })
    });
    assert!(tiled, "no core holds a tile of several channels × part of their positions");
}

/// Chained convolutions on weight-sharing cores: each link stores the kernel of its slice
/// of input channels only, so the lower bound (which once charged every link the whole
/// kernel) stays at or below the cores used, on generated VGG-16 and ResNet-19 whose wide
/// layers must be chained on a scaled-down Loihi 2 core, with a halo-aware axon bound.
#[test]
fn chained_convolutions_keep_the_lower_bound_below_the_cores_used() {
    use spikeforge_compiler::zoo::{generate, Architecture, ZooSpec};
    let mut spec = target("loihi2").spec().clone();
    spec.core_types[0].in_axons = 512;
    spec.core_types[0].out_axons = 512;
    spec.core_types[0].synapse_memory_bits = 64 * 1024;
    spec.grid.chips = [4, 4];
    let t = Target::from_spec(spec, "small_loihi2").expect("valid target");
    for arch in [Architecture::Vgg16, Architecture::Resnet19] {
        let mut zoo = ZooSpec::new(arch);
        zoo.width = 1.0 / 8.0;
        zoo.input_shape = [3, 16, 16];
        zoo.calib_samples = 2;
        let g = generate(&zoo, &Limits::default()).expect("generates").graph;
        let v = g.verify(&Limits::default()).expect("verifies");
        let (map, report) = compile(&g, &v, &t, Dynamics::default(), &CompileOptions::default()).expect("maps");
        check_map(&map);
        check_limits(&map, &conv_kernels(&g, &map));
        assert!(map.populations.iter().any(|p| p.name.contains(".partial")), "{arch:?}: some layer is chained");
        assert!(
            report.cores_lower_bound as usize <= map.cores.len(),
            "{arch:?}: bound {} > {} cores used: {:?}",
            report.cores_lower_bound,
            map.cores.len(),
            report.demand
        );
    }
}
