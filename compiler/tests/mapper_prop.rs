//! Property tests of the mapper on random small layered networks (dense with random
//! sparsity, convolutions, pooling before a convolution, recurrent layers, linear readouts)
//! and random small targets (one or two core types, every encoding option):
//!
//! * accepted maps are valid and round-trip; every non-input neuron is in exactly one piece;
//! * every synapse of the IR is in the axon tables exactly once, with its weight, and the
//!   source-side pooling tables are the pooling windows;
//! * no core is over any limit (usage recomputed from the map alone), fan-out and target
//!   cores agree, routes are contiguous XY paths ending at their destination;
//! * the map computes what the reference executor computes (weights, biases, thresholds and
//!   inputs are dyadic, so every sum is exact in any order);
//! * `cores_lower_bound ≤ cores_used`;
//! * rejected models are rejected with a named resource or a core count.

mod mapper_common;

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use mapper_common::{check_limits, check_map, conv_kernels, run_map};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use spikeforge_compiler::exec::{Dynamics, Executor};
use spikeforge_compiler::ir::{Attr, Graph, NodeId, Op, OpKind, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::mapper::{compile, CompileOptions, MapError, PlacementMethod};
use spikeforge_compiler::synth::Rng;
use spikeforge_targets::{
    Cast, CoreSpec, IndexBits, Layout, NeuronLayout, Padding, RowFormat, SynapseEncoding, Target, TargetSpec,
};

#[derive(Clone, Debug)]
enum Kind {
    Dense,
    Conv,
    PoolConv,
    Recurrent,
}

#[derive(Clone, Debug)]
struct Layer {
    kind: Kind,
    size: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    density: f64,
    bias: bool,
}

#[derive(Clone, Debug)]
struct NetSpec {
    image: Option<[usize; 3]>,
    flat: usize,
    layers: Vec<Layer>,
    readout: Option<usize>,
    li_last: bool,
    seed: u64,
}

fn layer() -> impl Strategy<Value = Layer> {
    (0u8..4, 1usize..10, 1usize..4, 1usize..3, 0usize..2, 0.2f64..1.0, any::<bool>()).prop_map(
        |(k, size, kernel, stride, pad, density, bias)| Layer {
            kind: [Kind::Dense, Kind::Conv, Kind::PoolConv, Kind::Recurrent][k as usize].clone(),
            size,
            kernel,
            stride,
            pad,
            density,
            bias,
        },
    )
}

fn net_spec() -> impl Strategy<Value = NetSpec> {
    (
        prop::option::of((1usize..3, 2usize..7, 2usize..7)),
        2usize..14,
        prop::collection::vec(layer(), 1..4),
        prop::option::of(1usize..5),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(image, flat, layers, readout, li_last, seed)| NetSpec {
            image: image.map(|(c, h, w)| [c, h, w]),
            flat,
            layers,
            readout,
            li_last,
            seed,
        })
}

#[derive(Clone, Debug)]
struct CoreGen {
    max_neurons: u32,
    pow2: bool,
    memory: u64,
    word: u32,
    format: u8,
    index_min: u32,
    weight_bits: u32,
    extra: u32,
    group: Option<u32>,
    header: u32,
    padding: u8,
    in_axons: u32,
    out_axons: u32,
    dests: Option<u32>,
    fanout: Option<u32>,
    routing: Option<u32>,
    sharing: bool,
}

fn core_gen() -> impl Strategy<Value = CoreGen> {
    (
        (4u32..33, any::<bool>(), 512u64..16385, prop::sample::select(vec![8u32, 16, 32]), 0u8..3, 1u32..4),
        (1u32..9, 0u32..3, prop::option::of(2u32..17), 0u32..9, 0u8..3),
        (
            8u32..129,
            16u32..257,
            prop::option::weighted(0.25, 2u32..7),
            prop::option::weighted(0.15, 2u32..9),
            prop::option::weighted(0.3, 16u32..129),
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c)| CoreGen {
            max_neurons: a.0,
            pow2: a.1,
            memory: a.2,
            word: a.3,
            format: a.4,
            index_min: a.5,
            weight_bits: b.0,
            extra: b.1,
            group: b.2,
            header: b.3,
            padding: b.4,
            in_axons: c.0,
            out_axons: c.1,
            dests: c.2,
            fanout: c.3,
            routing: c.4,
            sharing: c.5,
        })
}

#[derive(Clone, Debug)]
struct TargetGen {
    mesh: [u32; 2],
    per_tile: u32,
    chips: u32,
    types: Vec<CoreGen>,
    multicast: bool,
    chip_routing: Option<u32>,
}

fn target_gen() -> impl Strategy<Value = TargetGen> {
    (
        1u32..4,
        1u32..4,
        1u32..3,
        1u32..3,
        prop::collection::vec(core_gen(), 1..3),
        any::<bool>(),
        prop::option::weighted(0.3, 16u32..65),
    )
        .prop_map(|(mx, my, per_tile, chips, types, multicast, chip_routing)| TargetGen {
            mesh: [mx, my],
            per_tile,
            chips,
            types,
            multicast,
            chip_routing,
        })
}

fn build_target(t: &TargetGen) -> Option<Target> {
    let mut spec: TargetSpec = mapper_common::target("test_2x2").spec().clone();
    spec.name = "random".into();
    spec.grid.chips = [t.chips, 1];
    spec.grid.chip_routing_entries = t.chip_routing;
    spec.noc.mesh = t.mesh;
    spec.noc.cores_per_tile = t.per_tile;
    spec.noc.cast = if t.multicast { Cast::Multicast } else { Cast::Unicast };
    spec.numerics.weight_bits = 8;
    spec.core_types = t
        .types
        .iter()
        .enumerate()
        .map(|(i, c)| CoreSpec {
            name: format!("t{i}"),
            max_neurons: c.max_neurons,
            neuron_state_bits: 16,
            neuron_layout: if c.pow2 { NeuronLayout::PowerOfTwo } else { NeuronLayout::Exact },
            synapse_memory_bits: c.memory,
            synapse_word_bits: c.word,
            encoding: SynapseEncoding {
                format: match c.format {
                    0 => RowFormat::Dense,
                    1 => RowFormat::Sparse { index_bits: IndexBits::Fit { min: c.index_min, max: 8 } },
                    _ => RowFormat::Sparse { index_bits: IndexBits::Fixed(6) },
                },
                weight_bits: c.weight_bits,
                extra_bits_per_synapse: c.extra,
                group_max_synapses: c.group,
                group_header_bits: c.header,
                padding: [Padding::None, Padding::Words, Padding::PowerOfTwo][c.padding as usize],
            },
            in_axons: c.in_axons,
            out_axons: c.out_axons,
            max_destination_cores: c.dests,
            max_fanout_per_neuron: c.fanout,
            routing_entries: c.routing,
            axon_types: 0,
            weight_sharing: c.sharing,
            partial_sums: false,
        })
        .collect();
    let tiles = (t.mesh[0] * t.mesh[1]) as usize;
    spec.layout = if t.types.len() == 1 {
        Layout::Uniform("t0".into())
    } else {
        Layout::PerTile((0..tiles).map(|i| Some(format!("t{}", i % 2))).collect())
    };
    Target::from_spec(spec, "random").ok()
}

fn op(kind: OpKind, attrs: Vec<(&str, Attr)>) -> Op {
    Op::from_attrs(kind, attrs.into_iter().map(|(k, a)| (k.to_string(), a)).collect(), None).expect("valid op")
}

fn tensor(shape: Vec<usize>, data: Vec<f64>) -> Attr {
    Attr::Tensor(Tensor::new(shape, data).expect("sized"))
}

/// What the map must contain for one projection (by name).
#[derive(Default, Debug)]
struct Expected {
    /// Sorted `(event, target, weight bits)`.
    synapses: Vec<(u32, u32, u64)>,
    /// Per source neuron, its `(event, factor)` pooling entries.
    pool: Option<Vec<Vec<(u32, f64)>>>,
    recurrent: bool,
}

struct Built {
    graph: Graph,
    expected: BTreeMap<String, Expected>,
    input_len: usize,
}

/// A dyadic weight in [-1, 1] (multiples of 1/8), zero with probability 1 − density.
fn weight(rng: &mut Rng, density: f64) -> f64 {
    if rng.uniform() >= density {
        return 0.0;
    }
    let k = (rng.next_u64() % 16) as i64 - 6; // −6..=9: mostly excitatory
    k as f64 / 8.0
}

fn build_net(s: &NetSpec) -> Built {
    let mut rng = Rng::new(s.seed);
    let mut g = Graph::new();
    let mut expected = BTreeMap::new();
    let in_shape: Vec<usize> = s.image.map_or(vec![s.flat], |i| i.to_vec());
    let input_len = in_shape.iter().product();
    let dims: Vec<i64> = in_shape.iter().map(|&d| d as i64).collect();
    let mut prev = g.add_node("input", op(OpKind::Input, vec![("shape", Attr::Ints(dims))])).unwrap();
    let mut shape = in_shape;
    let n_layers = s.layers.len();
    for (li, l) in s.layers.iter().enumerate() {
        let is_image = shape.len() == 3;
        let kind = match (&l.kind, is_image) {
            (Kind::Conv | Kind::PoolConv, false) => Kind::Dense,
            (Kind::PoolConv, true) if shape[1] < 2 || shape[2] < 2 => Kind::Conv,
            (k, _) => k.clone(),
        };
        let bias_val = |rng: &mut Rng| if l.bias { (rng.next_u64() % 5) as f64 / 8.0 } else { 0.0 };
        let (syn_node, out_shape, name, exp) = match kind {
            Kind::Dense | Kind::Recurrent => {
                let mut src = prev;
                let mut name = String::new();
                if shape.len() > 1 {
                    let f = g
                        .add_node(
                            format!("flat{li}"),
                            op(
                                OpKind::Flatten,
                                vec![("start_dim", Attr::Ints(vec![0])), ("end_dim", Attr::Ints(vec![-1]))],
                            ),
                        )
                        .unwrap();
                    g.add_edge(src, f).unwrap();
                    src = f;
                    name = format!("flat{li}+");
                }
                let n_in: usize = shape.iter().product();
                let w: Vec<f64> = (0..l.size * n_in).map(|_| weight(&mut rng, l.density)).collect();
                let b: Vec<f64> = (0..l.size).map(|_| bias_val(&mut rng)).collect();
                let fc = g
                    .add_node(
                        format!("fc{li}"),
                        op(
                            OpKind::Affine,
                            vec![("weight", tensor(vec![l.size, n_in], w.clone())), ("bias", tensor(vec![l.size], b))],
                        ),
                    )
                    .unwrap();
                g.add_edge(src, fc).unwrap();
                name.push_str(&format!("fc{li}"));
                let mut e = Expected::default();
                for i in 0..l.size {
                    for j in 0..n_in {
                        if w[i * n_in + j] != 0.0 {
                            e.synapses.push((j as u32, i as u32, w[i * n_in + j].to_bits()));
                        }
                    }
                }
                (fc, vec![l.size], name, e)
            }
            Kind::Conv | Kind::PoolConv => {
                let mut src = prev;
                let mut name = String::new();
                let mut s_in = shape.clone();
                let mut pool = None;
                if matches!(kind, Kind::PoolConv) {
                    let p = g
                        .add_node(
                            format!("pool{li}"),
                            op(
                                OpKind::AvgPool2d,
                                vec![
                                    ("kernel_size", Attr::Ints(vec![2])),
                                    ("stride", Attr::Ints(vec![2])),
                                    ("padding", Attr::Ints(vec![0])),
                                ],
                            ),
                        )
                        .unwrap();
                    g.add_edge(src, p).unwrap();
                    src = p;
                    name = format!("pool{li}+");
                    let (c, h, w) = (shape[0], shape[1], shape[2]);
                    let (ho, wo) = (h / 2, w / 2);
                    let mut table = vec![Vec::new(); c * h * w];
                    for ch in 0..c {
                        for y in 0..h {
                            for x in 0..w {
                                if y / 2 < ho && x / 2 < wo {
                                    table[(ch * h + y) * w + x].push((((ch * ho + y / 2) * wo + x / 2) as u32, 0.25));
                                }
                            }
                        }
                    }
                    pool = Some(table);
                    s_in = vec![c, ho, wo];
                }
                let (c, h, w) = (s_in[0], s_in[1], s_in[2]);
                let k = l.kernel.min(h + 2 * l.pad).min(w + 2 * l.pad);
                let ho = (h + 2 * l.pad - k) / l.stride + 1;
                let wo = (w + 2 * l.pad - k) / l.stride + 1;
                let co = l.size.min(4);
                let wt: Vec<f64> = (0..co * c * k * k).map(|_| weight(&mut rng, l.density)).collect();
                let b: Vec<f64> = (0..co).map(|_| bias_val(&mut rng)).collect();
                let conv = g
                    .add_node(
                        format!("conv{li}"),
                        op(
                            OpKind::Conv2d,
                            vec![
                                ("weight", tensor(vec![co, c, k, k], wt.clone())),
                                ("bias", tensor(vec![co], b)),
                                ("stride", Attr::Ints(vec![l.stride as i64])),
                                ("padding", Attr::Ints(vec![l.pad as i64])),
                            ],
                        ),
                    )
                    .unwrap();
                g.add_edge(src, conv).unwrap();
                name.push_str(&format!("conv{li}"));
                let mut e = Expected { pool, ..Expected::default() };
                for o in 0..co {
                    for oy in 0..ho {
                        for ox in 0..wo {
                            for ci in 0..c {
                                for ky in 0..k {
                                    for kx in 0..k {
                                        let iy = (oy * l.stride + ky) as isize - l.pad as isize;
                                        let ix = (ox * l.stride + kx) as isize - l.pad as isize;
                                        if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                                            continue;
                                        }
                                        let v = wt[((o * c + ci) * k + ky) * k + kx];
                                        if v != 0.0 {
                                            let ev = (ci * h + iy as usize) * w + ix as usize;
                                            let tg = (o * ho + oy) * wo + ox;
                                            e.synapses.push((ev as u32, tg as u32, v.to_bits()));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                (conv, vec![co, ho, wo], name, e)
            }
        };
        let n: usize = out_shape.iter().product();
        let full = |v: f64| tensor(out_shape.clone(), vec![v; n]);
        let last = li + 1 == n_layers && s.readout.is_none();
        let neuron = if last && s.li_last {
            op(OpKind::LI, vec![("tau", full(2e-4)), ("r", full(2.0)), ("v_leak", full(0.0))])
        } else {
            op(
                OpKind::LIF,
                vec![
                    ("tau", full(2e-4)),
                    ("r", full(2.0)),
                    ("v_leak", full(0.0)),
                    ("v_threshold", full(1.0)),
                    ("v_reset", full(0.0)),
                ],
            )
        };
        let lif = g.add_node(format!("lif{li}"), neuron).unwrap();
        g.add_edge(syn_node, lif).unwrap();
        expected.insert(name, exp);
        if matches!(kind, Kind::Recurrent) {
            let w: Vec<f64> = (0..n * n).map(|_| weight(&mut rng, l.density) / 2.0).collect();
            let rec = g
                .add_node(format!("rec{li}"), op(OpKind::Linear, vec![("weight", tensor(vec![n, n], w.clone()))]))
                .unwrap();
            g.add_edge(lif, rec).unwrap();
            g.add_edge(rec, lif).unwrap();
            let mut e = Expected { recurrent: true, ..Expected::default() };
            for i in 0..n {
                for j in 0..n {
                    if w[i * n + j] != 0.0 {
                        e.synapses.push((j as u32, i as u32, w[i * n + j].to_bits()));
                    }
                }
            }
            expected.insert(format!("rec{li}"), e);
        }
        prev = lif;
        shape = out_shape;
    }
    let out_node: NodeId = match s.readout {
        Some(r) => {
            let n_in: usize = shape.iter().product();
            let mut src = prev;
            let mut name = String::new();
            if shape.len() > 1 {
                let f = g
                    .add_node(
                        "flat_out",
                        op(
                            OpKind::Flatten,
                            vec![("start_dim", Attr::Ints(vec![0])), ("end_dim", Attr::Ints(vec![-1]))],
                        ),
                    )
                    .unwrap();
                g.add_edge(src, f).unwrap();
                src = f;
                name.push_str("flat_out+");
            }
            let w: Vec<f64> = (0..r * n_in).map(|_| weight(&mut rng, 0.7)).collect();
            let b: Vec<f64> = (0..r).map(|i| i as f64 / 4.0).collect();
            let ro = g
                .add_node(
                    "readout",
                    op(
                        OpKind::Affine,
                        vec![("weight", tensor(vec![r, n_in], w.clone())), ("bias", tensor(vec![r], b))],
                    ),
                )
                .unwrap();
            g.add_edge(src, ro).unwrap();
            name.push_str("readout");
            let mut e = Expected::default();
            for i in 0..r {
                for j in 0..n_in {
                    if w[i * n_in + j] != 0.0 {
                        e.synapses.push((j as u32, i as u32, w[i * n_in + j].to_bits()));
                    }
                }
            }
            expected.insert(name, e);
            shape = vec![r];
            ro
        }
        None => prev,
    };
    let dims: Vec<i64> = vec![shape.iter().product::<usize>() as i64];
    let o = g.add_node("output", op(OpKind::Output, vec![("shape", Attr::Ints(dims))])).unwrap();
    g.add_edge(out_node, o).unwrap();
    for e in expected.values_mut() {
        e.synapses.sort_unstable();
    }
    Built { graph: g, expected, input_len }
}

/// Synapses in the map, per projection name: sorted `(event, target neuron, weight bits)`.
fn map_synapses(map: &spikeforge_targets::CoreMap) -> HashMap<String, Vec<(u32, u32, u64)>> {
    let mut out: HashMap<String, Vec<(u32, u32, u64)>> = HashMap::new();
    for (ci, c) in map.cores.iter().enumerate() {
        // Local neuron → population neuron.
        let mut pop_neuron = Vec::new();
        for &(_, f, k) in &c.groups {
            pop_neuron.extend(f..f + k);
        }
        let a = &c.axons;
        map.for_each_synapse(ci, |ax, t, w| {
            let axon = a.axon(ax as u32);
            let name = &map.projections[axon.projection as usize].name;
            out.entry(name.clone()).or_default().push((axon.event, pop_neuron[t as usize], w.to_bits()));
        });
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    out
}

fn check_case(net: &NetSpec, tg: &TargetGen, accepted: &Cell<u32>, rejected: &Cell<u32>, split: &Cell<u32>) {
    let Some(target) = build_target(tg) else { return };
    let built = build_net(net);
    let limits = Limits::default();
    let v = built.graph.verify(&limits).expect("generated graph verifies");
    let opts = CompileOptions { placement: PlacementMethod::Optimized { seed: 3 }, ..CompileOptions::default() };
    let (map, report) = match compile(&built.graph, &v, &target, Dynamics::default(), &opts) {
        Ok(x) => x,
        Err(e) => {
            rejected.set(rejected.get() + 1);
            match &e {
                MapError::DoesNotFit { .. }
                | MapError::FanInTooLarge { .. }
                | MapError::NotEnoughCores { .. }
                | MapError::Route(_) => {}
                MapError::Structure { message } => {
                    assert!(message.contains("within the"), "unexpected structural refusal: {message}")
                }
                other => panic!("rejected without naming a resource: {other}"),
            }
            return;
        }
    };
    accepted.set(accepted.get() + 1);
    if map.populations.iter().any(|p| p.pieces.len() > 1) {
        split.set(split.get() + 1);
    }
    check_map(&map);
    check_limits(&map, &conv_kernels(&built.graph, &map));
    // Every non-input neuron on exactly one core.
    let on_cores: u64 = map.cores.iter().map(|c| c.n_neurons() as u64).sum();
    let neurons: u64 = map
        .populations
        .iter()
        .enumerate()
        .filter(|(i, _)| *i as u32 != map.input)
        .map(|(_, p)| p.n_neurons as u64)
        .sum();
    assert_eq!(on_cores, neurons, "neurons on cores");
    // Every synapse exactly once, with its weight; pooling tables are the windows.
    let got = map_synapses(&map);
    assert_eq!(got.len(), built.expected.values().filter(|e| !e.synapses.is_empty()).count(), "projections");
    for (name, e) in &built.expected {
        let p = map.projections.iter().find(|p| &p.name == name).unwrap_or_else(|| panic!("no projection `{name}`"));
        assert_eq!(p.recurrent, e.recurrent, "`{name}` recurrence");
        assert_eq!(got.get(name).cloned().unwrap_or_default(), e.synapses, "synapses of `{name}`");
        if let Some(table) = &e.pool {
            let pool = p.pool.as_ref().expect("pooled projection");
            for (j, entries) in table.iter().enumerate() {
                let (a, b) = (pool.start[j] as usize, pool.start[j + 1] as usize);
                let have: Vec<(u32, f64)> = (a..b).map(|k| (pool.event[k], pool.factor[k])).collect();
                assert_eq!(&have, entries, "`{name}`: pooling of source neuron {j}");
            }
        }
    }
    assert!(
        report.cores_lower_bound as usize <= map.cores.len(),
        "lower bound {} > {}",
        report.cores_lower_bound,
        map.cores.len()
    );
    // Same computation as the reference executor.
    let exec = Executor::new(&built.graph, &v, Dynamics::default(), &limits).unwrap();
    let (n, t) = (2, 6);
    let x: Vec<f64> = Rng::new(net.seed ^ 7).spikes(n * t * built.input_len, 0.5);
    let want = exec.run(&x, n, t, 1);
    let have = run_map(&map, &x, n, t);
    assert_eq!(have.output, want.output, "map output differs from the executor");
    assert_eq!(have.weight_sops + have.pool_sops, want.sops_weight_layers() + want.sops_pooling(), "SOPs");
}

#[test]
fn random_networks_on_random_targets() {
    let config = Config { cases: 1000, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let (accepted, rejected, split) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0u32));
    runner
        .run(&(net_spec(), target_gen()), |(net, tg)| {
            check_case(&net, &tg, &accepted, &rejected, &split);
            Ok(())
        })
        .unwrap();
    eprintln!("accepted {} ({} with split layers), rejected {}", accepted.get(), split.get(), rejected.get());
    assert!(accepted.get() >= 300, "only {} of the random cases were mappable", accepted.get());
    assert!(split.get() >= 100, "only {} accepted cases split a layer over cores", split.get());
    assert!(rejected.get() >= 10, "only {} random cases were refused: the limits are not exercised", rejected.get());
}
