//! Property: printing any (small) graph and parsing it back gives the identical graph,
//! tensors bit for bit, with the same recurrent edges — whatever the names, the values
//! and the inline/sidecar split.

use std::collections::BTreeSet;

use proptest::prelude::*;
use spikeforge_compiler::ir::{Graph, NodeId, Op, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::text::{parse_snn, print_snn, PrintOptions};

#[derive(Clone, Debug)]
enum Layer {
    Affine(usize),
    Linear(usize),
    Scale,
    Threshold,
    Delay,
    Lif { recurrent: bool },
    CubaLif,
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |v| v.is_finite()),
        prop::sample::select(vec![0.0, -0.0, 1.0, 0.1, 1e-300, -5e-324, 1e300, 0.30000000000000004]),
        (-4i32..4).prop_map(f64::from),
    ]
}

fn positive() -> impl Strategy<Value = f64> {
    value().prop_map(|v| if v == 0.0 { 1e-3 } else { v.abs() })
}

fn layer() -> impl Strategy<Value = Layer> {
    prop_oneof![
        (1usize..6).prop_map(Layer::Affine),
        (1usize..6).prop_map(Layer::Linear),
        Just(Layer::Scale),
        Just(Layer::Threshold),
        Just(Layer::Delay),
        any::<bool>().prop_map(|recurrent| Layer::Lif { recurrent }),
        Just(Layer::CubaLif),
    ]
}

/// Names from a small alphabet that needs quoting now and then; an index keeps them unique.
fn name() -> impl Strategy<Value = String> {
    "[a-z0-9_. \"\\\\#=<>()\n-]{0,6}"
}

fn tensor(dims: Vec<usize>, values: &[f64], uniform: bool, at: &mut usize) -> Tensor {
    let n: usize = dims.iter().product();
    let data = (0..n).map(|i| values[(*at + if uniform { 0 } else { i }) % values.len()]).collect();
    *at += n;
    Tensor::new(dims, data).unwrap()
}

fn build(n0: usize, layers: &[Layer], names: &[String], values: &[f64], pos: &[f64], uniform: &[bool]) -> Graph {
    let mut g = Graph::new();
    let mut at = 0;
    let mut u = uniform.iter().cycle();
    let mut t = |dims: Vec<usize>, vals: &[f64]| tensor(dims, vals, *u.next().unwrap(), &mut at);
    let node = |g: &mut Graph, i: usize, op: Op| -> NodeId {
        g.add_node(format!("{}{i}", names[i % names.len()]), op).unwrap()
    };
    let mut prev = node(&mut g, 0, Op::Input { shape: vec![n0].into() });
    let mut n = n0;
    for (i, l) in layers.iter().enumerate() {
        let i = i + 1;
        let op = match l {
            Layer::Affine(m) => Op::Affine { weight: t(vec![*m, n], values), bias: t(vec![*m], values) },
            Layer::Linear(m) => Op::Linear { weight: t(vec![*m, n], values) },
            Layer::Scale => Op::Scale { scale: t(vec![n], values) },
            Layer::Threshold => Op::Threshold { threshold: t(vec![n], values) },
            Layer::Delay => Op::Delay { delay: t(vec![n], pos) },
            Layer::Lif { .. } => Op::LIF {
                tau: t(vec![n], pos),
                r: t(vec![n], values),
                v_leak: t(vec![n], values),
                v_threshold: t(vec![n], values),
                v_reset: t(vec![n], values),
            },
            Layer::CubaLif => Op::CubaLIF {
                tau_syn: t(vec![n], pos),
                tau_mem: t(vec![n], pos),
                r: t(vec![n], values),
                v_leak: t(vec![n], values),
                v_threshold: t(vec![n], values),
                v_reset: t(vec![n], values),
                w_in: t(vec![n], values),
            },
        };
        if let Layer::Affine(m) | Layer::Linear(m) = l {
            n = *m;
        }
        let id = node(&mut g, i, op);
        g.add_edge(prev, id).unwrap();
        if let Layer::Lif { recurrent: true } = l {
            let rec = node(&mut g, 1000 + i, Op::Linear { weight: t(vec![n, n], values) });
            g.add_edge(id, rec).unwrap();
            g.add_edge(rec, id).unwrap();
        }
        prev = id;
    }
    let out = node(&mut g, 999, Op::Output { shape: vec![n].into() });
    g.add_edge(prev, out).unwrap();
    g
}

/// Adds edges between nodes whose shapes fit (skip connections, and cycles entered at
/// several points when they go backwards).
fn add_extra_edges(g: &mut Graph, extra: &[(usize, usize)]) {
    let ids: Vec<NodeId> = g.node_ids().collect();
    let shapes = g.verify(&Limits::default()).unwrap().shapes;
    for &(a, b) in extra {
        let (src, dst) = (ids[a % ids.len()], ids[b % ids.len()]);
        let fits = g.op(dst).required_input_shape().as_ref() == shapes[src.index()].as_ref();
        if fits && !matches!(g.op(src), Op::Output { .. }) && !matches!(g.op(dst), Op::Input { .. }) {
            let _ = g.add_edge(src, dst); // an existing edge is simply kept
        }
    }
}

fn back_edges(g: &Graph) -> BTreeSet<(String, String)> {
    let s = g.verify(&Limits::default()).unwrap().schedule;
    g.edges()
        .into_iter()
        .filter(|&(a, b)| s.is_back_edge(a, b))
        .map(|(a, b)| (g.name(a).to_string(), g.name(b).to_string()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn print_then_parse_is_identity(
        n0 in 1usize..5,
        layers in prop::collection::vec(layer(), 1..5),
        names in prop::collection::vec(name(), 1..4),
        values in prop::collection::vec(value(), 1..40),
        pos in prop::collection::vec(positive(), 1..10),
        uniform in prop::collection::vec(any::<bool>(), 1..6),
        max_inline in 0usize..20,
        extra in prop::collection::vec((0usize..16, 0usize..16), 0..4),
    ) {
        let mut g = build(n0, &layers, &names, &values, &pos, &uniform);
        prop_assert!(g.verify(&Limits::default()).is_ok());
        add_extra_edges(&mut g, &extra);
        prop_assume!(g.verify(&Limits::default()).is_ok());
        let opts = PrintOptions { max_inline_elements: max_inline, ..PrintOptions::default() };
        let printed = print_snn(&g, &opts);
        let dir = tempfile::tempdir().unwrap();
        if let Some((file, bytes)) = &printed.sidecar {
            std::fs::write(dir.path().join(file), bytes).unwrap();
        }
        let back = parse_snn(&printed.text, "p.snn", dir.path(), &Limits::default());
        let back = match back {
            Ok(b) => b,
            Err(e) => return Err(TestCaseError::fail(format!("{}\n{}", printed.text, e.render(false)))),
        };
        prop_assert!(g.same_as(&back), "{}", printed.text);
        prop_assert_eq!(back_edges(&back), back_edges(&g));
        prop_assert_eq!(print_snn(&back, &opts), printed);
    }
}
