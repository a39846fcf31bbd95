//! End-to-end properties on random small models and random targets (compiler + simulator):
//!
//! * every accepted model maps to a core map that passes `CoreMap::validate` and the
//!   mapper's own invariant checks (`compiler/tests/mapper_common`: round trip, limits
//!   recomputed from the map alone, routes);
//! * the map simulates with packet conservation (every injected delivery is delivered), and
//!   exact mode equals the reference executor bit for bit (outputs and per-layer spikes),
//!   with real-valued (not dyadic) weights and LIF, IF and CubaLIF neurons;
//! * every rejected model is rejected with a named resource (or a core count);
//! * absurd targets (huge meshes, huge cores) are refused by `Limits` by field name.

#[path = "../compiler/tests/mapper_common/mod.rs"]
mod mapper_common;

use std::cell::Cell;

use mapper_common::{check_limits, check_map, conv_kernels};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::{Attr, Graph, NodeId, Op, OpKind, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions, MapError, PlacementMethod};
use spikeforge_compiler::synth::Rng;
use spikeforge_simulator::{simulate, SimOptions};
use spikeforge_targets::{Cast, IndexBits, Layout, RowFormat, Target, TargetSpec};

#[derive(Clone, Debug)]
struct LayerGen {
    /// 0 dense, 1 conv, 2 avg-pool then conv, 3 recurrent dense.
    kind: u8,
    size: usize,
    kernel: usize,
    stride: usize,
    /// 0 LIF, 1 IF, 2 CubaLIF.
    neuron: u8,
    density: f64,
}

#[derive(Clone, Debug)]
struct NetGen {
    image: Option<(usize, usize, usize)>,
    flat: usize,
    layers: Vec<LayerGen>,
    readout: Option<usize>,
    seed: u64,
}

#[derive(Clone, Debug)]
struct TargetGen {
    mesh: [u32; 2],
    per_tile: u32,
    max_neurons: u32,
    memory_bits: u64,
    in_axons: u32,
    buffer: u32,
    multicast: bool,
    dense: bool,
}

fn net_gen() -> impl Strategy<Value = NetGen> {
    let layer = (0u8..4, 1usize..10, 1usize..4, 1usize..3, 0u8..3, 0.2f64..1.0).prop_map(
        |(kind, size, kernel, stride, neuron, density)| LayerGen { kind, size, kernel, stride, neuron, density },
    );
    (
        prop::option::of((1usize..3, 2usize..6, 2usize..6)),
        2usize..12,
        prop::collection::vec(layer, 1..4),
        prop::option::of(1usize..5),
        any::<u64>(),
    )
        .prop_map(|(image, flat, layers, readout, seed)| NetGen { image, flat, layers, readout, seed })
}

fn target_gen() -> impl Strategy<Value = TargetGen> {
    (1u32..4, 1u32..4, 1u32..3, 4u32..24, 256u64..8192, 4u32..64, 1u32..4, any::<bool>(), any::<bool>()).prop_map(
        |(mx, my, per_tile, max_neurons, memory_bits, in_axons, buffer, multicast, dense)| TargetGen {
            mesh: [mx, my],
            per_tile,
            max_neurons,
            memory_bits,
            in_axons,
            buffer,
            multicast,
            dense,
        },
    )
}

fn build_target(t: &TargetGen) -> Option<Target> {
    let mut spec: TargetSpec = spikeforge_targets::preset("test_2x2").expect("preset").expect("valid").spec().clone();
    spec.name = "random".into();
    spec.noc.mesh = t.mesh;
    spec.noc.cores_per_tile = t.per_tile;
    spec.noc.buffer_depth_packets = t.buffer;
    spec.noc.cast = if t.multicast { Cast::Multicast } else { Cast::Unicast };
    spec.numerics.weight_bits = 8;
    let k = &mut spec.core_types[0];
    k.max_neurons = t.max_neurons;
    k.synapse_memory_bits = t.memory_bits;
    k.in_axons = t.in_axons;
    k.out_axons = 64;
    k.routing_entries = None;
    k.max_destination_cores = None;
    k.encoding.weight_bits = 8;
    k.encoding.format =
        if t.dense { RowFormat::Dense } else { RowFormat::Sparse { index_bits: IndexBits::Fit { min: 1, max: 8 } } };
    spec.layout = Layout::Uniform(k.name.clone());
    Limits::default().check_target(&spec, "random").expect("small targets are within the limits");
    Target::from_spec(spec, "random").ok()
}

fn op(kind: OpKind, attrs: Vec<(&str, Attr)>) -> Op {
    Op::from_attrs(kind, attrs.into_iter().map(|(k, a)| (k.to_string(), a)).collect(), None).expect("valid op")
}

fn tensor(shape: Vec<usize>, data: Vec<f64>) -> Attr {
    Attr::Tensor(Tensor::new(shape, data).expect("sized"))
}

/// A real-valued weight in [-0.7, 1.3), zero with probability 1 − density.
fn weight(rng: &mut Rng, density: f64) -> f64 {
    if rng.uniform() >= density {
        0.0
    } else {
        2.0 * rng.uniform() - 0.7
    }
}

fn neuron(kind: u8, shape: &[usize], rng: &mut Rng) -> Op {
    let n: usize = shape.iter().product();
    let full = |v: f64| tensor(shape.to_vec(), vec![v; n]);
    let taus = |rng: &mut Rng| tensor(shape.to_vec(), (0..n).map(|_| 2e-4 + 1e-3 * rng.uniform()).collect());
    let th = |rng: &mut Rng| tensor(shape.to_vec(), (0..n).map(|_| 0.5 + rng.uniform()).collect());
    match kind {
        0 => op(
            OpKind::LIF,
            vec![
                ("tau", taus(rng)),
                ("r", full(2.0)),
                ("v_leak", full(0.0)),
                ("v_threshold", th(rng)),
                ("v_reset", full(0.0)),
            ],
        ),
        1 => op(OpKind::IF, vec![("r", full(0.7)), ("v_threshold", th(rng)), ("v_reset", full(0.0))]),
        _ => op(
            OpKind::CubaLIF,
            vec![
                ("tau_syn", taus(rng)),
                ("tau_mem", taus(rng)),
                ("r", full(3.0)),
                ("v_leak", full(0.0)),
                ("v_threshold", th(rng)),
                ("v_reset", full(0.0)),
                ("w_in", full(1.5)),
            ],
        ),
    }
}

/// The network and its input length.
fn build_net(s: &NetGen) -> (Graph, usize) {
    let mut rng = Rng::new(s.seed);
    let mut g = Graph::new();
    let mut shape: Vec<usize> = s.image.map_or(vec![s.flat], |(c, h, w)| vec![c, h, w]);
    let input_len = shape.iter().product();
    let dims = shape.iter().map(|&d| d as i64).collect();
    let mut prev = g.add_node("input", op(OpKind::Input, vec![("shape", Attr::Ints(dims))])).unwrap();
    let add = |g: &mut Graph, name: String, o: Op, from: NodeId| {
        let id = g.add_node(name, o).unwrap();
        g.add_edge(from, id).unwrap();
        id
    };
    let flatten = || op(OpKind::Flatten, vec![("start_dim", Attr::Ints(vec![0])), ("end_dim", Attr::Ints(vec![-1]))]);
    for (li, l) in s.layers.iter().enumerate() {
        let image = shape.len() == 3;
        let kind = if image || l.kind == 0 || l.kind == 3 { l.kind } else { 0 };
        let syn = if kind == 1 || kind == 2 {
            let mut src = prev;
            if kind == 2 && shape[1] >= 2 && shape[2] >= 2 {
                let pool = op(
                    OpKind::AvgPool2d,
                    vec![
                        ("kernel_size", Attr::Ints(vec![2])),
                        ("stride", Attr::Ints(vec![2])),
                        ("padding", Attr::Ints(vec![0])),
                    ],
                );
                src = add(&mut g, format!("pool{li}"), pool, src);
                shape = vec![shape[0], shape[1] / 2, shape[2] / 2];
            }
            let (c, h, w) = (shape[0], shape[1], shape[2]);
            let k = l.kernel.min(h).min(w);
            let co = l.size.min(3);
            let wt = (0..co * c * k * k).map(|_| weight(&mut rng, l.density)).collect();
            let conv = op(
                OpKind::Conv2d,
                vec![
                    ("weight", tensor(vec![co, c, k, k], wt)),
                    ("bias", tensor(vec![co], (0..co).map(|_| 0.1 * rng.uniform()).collect())),
                    ("stride", Attr::Ints(vec![l.stride as i64])),
                ],
            );
            shape = vec![co, (h - k) / l.stride + 1, (w - k) / l.stride + 1];
            add(&mut g, format!("conv{li}"), conv, src)
        } else {
            let mut src = prev;
            if shape.len() > 1 {
                src = add(&mut g, format!("flat{li}"), flatten(), src);
            }
            let n_in: usize = shape.iter().product();
            let w = (0..l.size * n_in).map(|_| weight(&mut rng, l.density)).collect();
            let b = (0..l.size).map(|_| 0.2 * rng.uniform()).collect();
            let fc =
                op(OpKind::Affine, vec![("weight", tensor(vec![l.size, n_in], w)), ("bias", tensor(vec![l.size], b))]);
            shape = vec![l.size];
            add(&mut g, format!("fc{li}"), fc, src)
        };
        let lif = add(&mut g, format!("neuron{li}"), neuron(l.neuron, &shape, &mut rng), syn);
        if kind == 3 {
            let n = shape[0];
            let w = (0..n * n).map(|_| 0.5 * weight(&mut rng, l.density)).collect();
            let rec = add(&mut g, format!("rec{li}"), op(OpKind::Linear, vec![("weight", tensor(vec![n, n], w))]), lif);
            g.add_edge(rec, lif).unwrap();
        }
        prev = lif;
    }
    if let Some(r) = s.readout {
        if shape.len() > 1 {
            prev = add(&mut g, "flat_out".into(), flatten(), prev);
        }
        let n_in: usize = shape.iter().product();
        let w = (0..r * n_in).map(|_| weight(&mut rng, 0.7)).collect();
        let ro =
            op(OpKind::Affine, vec![("weight", tensor(vec![r, n_in], w)), ("bias", tensor(vec![r], vec![0.05; r]))]);
        prev = add(&mut g, "readout".into(), ro, prev);
        shape = vec![r];
    }
    let dims = vec![shape.iter().product::<usize>() as i64];
    add(&mut g, "output".into(), op(OpKind::Output, vec![("shape", Attr::Ints(dims))]), prev);
    (g, input_len)
}

#[derive(Default)]
struct Tally {
    accepted: Cell<u32>,
    rejected: Cell<u32>,
    packets: Cell<u64>,
    deliveries: Cell<u64>,
    multi_core: Cell<u32>,
}

fn check_case(net: &NetGen, tg: &TargetGen, tally: &Tally) {
    let Some(target) = build_target(tg) else { return };
    let (graph, input_len) = build_net(net);
    let limits = Limits::default();
    let v = graph.verify(&limits).expect("generated graphs verify");
    // Both placements: the optimizing one keeps traffic local, the sequential one does not.
    let placement =
        if net.seed % 2 == 0 { PlacementMethod::Optimized { seed: 1 } } else { PlacementMethod::Sequential };
    let opts = CompileOptions { placement, ..CompileOptions::default() };
    let map = match compile(&graph, &v, &target, Dynamics::default(), &opts) {
        Ok((map, _)) => map,
        Err(e) => {
            tally.rejected.set(tally.rejected.get() + 1);
            match &e {
                MapError::DoesNotFit { .. }
                | MapError::FanInTooLarge { .. }
                | MapError::NotEnoughCores { .. }
                | MapError::Route(_) => {}
                MapError::Structure { message } if message.contains("within the") => {}
                other => panic!("rejected without naming a resource: {other}"),
            }
            return;
        }
    };
    tally.accepted.set(tally.accepted.get() + 1);
    map.validate().expect("an emitted map validates");
    check_map(&map);
    check_limits(&map, &conv_kernels(&graph, &map));

    let exec = Executor::new(&graph, &v, Dynamics::default(), &limits).unwrap();
    let (n, t) = (2, 8);
    let x = Rng::new(net.seed ^ 0x5eed).spikes(n * t * input_len, 0.7);
    let want = exec.run(&x, n, t, 1);
    let r = simulate(&map, &x, n, t, &SimOptions::default()).expect("a valid map simulates");
    assert_eq!(r.stats.deliveries_injected, r.stats.deliveries_delivered, "packet conservation");
    tally.packets.set(tally.packets.get() + r.stats.packets);
    tally.deliveries.set(tally.deliveries.get() + r.stats.deliveries_injected);
    tally.multi_core.set(tally.multi_core.get() + (map.cores.len() > 1) as u32);
    let differ = r.outputs.iter().zip(&want.output).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    assert_eq!(r.outputs.len(), want.output.len());
    assert_eq!(differ, 0, "exact-mode simulation differs from the reference executor in {differ} values");
    let sim_spikes: Vec<i64> = r.layer_spikes.iter().map(|&s| s as i64).collect();
    assert_eq!(r.layer_names, want.spiking_layers, "spiking layers");
    assert_eq!(sim_spikes, want.layer_spikes, "spikes per layer and step");
}

#[test]
fn random_models_map_simulate_and_match_the_reference() {
    let config = Config { cases: 96, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let tally = Tally::default();
    runner
        .run(&(net_gen(), target_gen()), |(net, tg)| {
            check_case(&net, &tg, &tally);
            Ok(())
        })
        .unwrap();
    let (a, r) = (tally.accepted.get(), tally.rejected.get());
    let (p, d, m) = (tally.packets.get(), tally.deliveries.get(), tally.multi_core.get());
    eprintln!("accepted {a} ({m} on several cores), rejected {r}; {p} network packets, {d} deliveries simulated");
    assert!(a >= 30, "only {a} of the random cases were mappable");
    assert!(r >= 5, "only {r} random cases were refused: the limits are not exercised");
    assert!(m >= 20, "only {m} accepted cases used several cores");
    assert!(p >= 300, "only {p} network packets were simulated");
}

#[test]
fn absurd_random_targets_are_refused_by_field() {
    let limits = Limits::default();
    let config = Config { cases: 64, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let base = spikeforge_targets::preset("test_2x2").unwrap().unwrap().spec().clone();
    runner
        .run(&(20u32..32, 20u32..32, 0u32..2, 28u32..33), |(mx, my, which, neurons)| {
            let mut spec = base.clone();
            let field = if which == 0 {
                spec.noc.mesh = [1 << (mx / 2 + 2), 1 << (my / 2 + 2)];
                spec.grid.chips = [1 << (mx - 20), 1];
                "core positions"
            } else {
                spec.core_types[0].max_neurons = 1u32 << (neurons - 1);
                "max_neurons"
            };
            let e = limits.check_target(&spec, "t.ron").expect_err("absurd target accepted");
            prop_assert!(e.to_string().contains(field) && e.to_string().contains("--max-memory"), "{e}");
            Ok(())
        })
        .unwrap();
}
