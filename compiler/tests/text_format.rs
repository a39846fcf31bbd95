//! The `.snn` text format: parsing every op kind, sidecars, examples, and print → parse
//! round trips (bitwise, recurrent edges included).

use std::collections::BTreeSet;
use std::path::Path;

use spikeforge_compiler::ir::{Graph, Op, OpKind, Tensor};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::text::{parse_snn, print_snn, read_snn, write_snn, PrintOptions};

fn parse(src: &str) -> Graph {
    match parse_snn(src, "test.snn", Path::new("."), &Limits::default()) {
        Ok(g) => g,
        Err(e) => panic!("{}", e.render(false)),
    }
}

/// Back edges as name pairs.
fn back_edges(g: &Graph) -> BTreeSet<(String, String)> {
    let s = g.verify(&Limits::default()).expect("valid graph").schedule;
    g.edges()
        .into_iter()
        .filter(|&(a, b)| s.is_back_edge(a, b))
        .map(|(a, b)| (g.name(a).to_string(), g.name(b).to_string()))
        .collect()
}

/// Print, write the sidecar (if any) to a temporary directory, parse back.
fn round_trip(g: &Graph, opts: &PrintOptions) -> (Graph, String) {
    let printed = print_snn(g, opts);
    let dir = tempfile::tempdir().unwrap();
    if let Some((name, bytes)) = &printed.sidecar {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    match parse_snn(&printed.text, "printed.snn", dir.path(), &Limits::default()) {
        Ok(back) => (back, printed.text),
        Err(e) => panic!("{}\n{}", printed.text, e.render(false)),
    }
}

const ALL_OPS: &str = r#"
# every op kind
snn 1
in = Input<shape=[1, 6, 6]>()
c2 = Conv2d<weight=full([2, 1, 3, 3], 0.1), bias=[0.0, 0.5], padding=[1, 1]>(in)
sp = SumPool2d<kernel_size=[2, 2]>(c2)
ap = AvgPool2d<kernel_size=3, stride=1, padding=[1, 1]>(sp)
fl = Flatten<start_dim=1, end_dim=2>(ap)
c1 = Conv1d<weight=full([3, 2, 2], 0.2), stride=[1]>(fl)
fl2 = Flatten(c1)
aff = Affine<weight=full([8, 24], 0.05), bias=0.1>(fl2)
sc = Scale<scale=full([8], 2.0)>(aff)
dl = Delay<delay=full([8], 0.001)>(sc)
th = Threshold<threshold=[0.5, 0.5, 0.5, 0.5,
                          0.25, 0.25, 0.25, 0.25]>(dl)   # wraps inside []
i = I<r=full([8], 1.0)>(th)
if = IF<r=full([8], 1.0), v_threshold=1.0>(i)
li = LI<tau=full([8], 0.01), r=1.0, v_leak=0.0>(if)
lif = LIF<tau=full([8], 0.002), r=20.0, v_leak=0.0, v_threshold=1.0>(li)
cli = CubaLI<tau_syn=full([8], 0.005), tau_mem=0.01, r=1.0, v_leak=0.0>(lif)
clif = CubaLIF<tau_syn=full([8], 0.005), tau_mem=0.01, r=1.0, v_leak=0.0, v_threshold=1.0, w_in=0.5>(cli)
lin = Linear<weight=full([4, 8], 0.25)>(clif)
out = Output<shape=[4]>(lin)
"#;

#[test]
fn every_op_kind_parses_with_defaults_filled() {
    let g = parse(ALL_OPS);
    let kinds: BTreeSet<OpKind> = g.node_ids().map(|n| g.op(n).kind()).collect();
    assert_eq!(kinds, OpKind::ALL.into_iter().collect());
    let v = g.verify(&Limits::default()).unwrap();
    assert_eq!(v.shape(g.find("fl").unwrap()).dims(), &[2, 9]);
    assert_eq!(v.shape(g.find("c1").unwrap()).dims(), &[3, 8]);
    match g.op(g.find("c2").unwrap()) {
        Op::Conv2d(c) => {
            assert_eq!((c.stride.as_slice(), c.dilation.as_slice(), c.groups), (&[1, 1][..], &[1, 1][..], 1));
            assert_eq!(c.bias.data(), &[0.0, 0.5]);
        }
        op => panic!("{op:?}"),
    }
    match g.op(g.find("ap").unwrap()) {
        Op::AvgPool2d(p) => assert_eq!((p.kernel_size, p.stride), ([3, 3], [1, 1])),
        op => panic!("{op:?}"),
    }
    match g.op(g.find("lif").unwrap()) {
        Op::LIF { r, v_reset, .. } => {
            assert_eq!(r.dims(), &[8], "scalars broadcast to the neuron shape");
            assert_eq!(v_reset.data(), &[0.0; 8], "v_reset defaults to 0");
        }
        op => panic!("{op:?}"),
    }
    match g.op(g.find("th").unwrap()) {
        Op::Threshold { threshold } => assert_eq!(threshold.data()[4], 0.25),
        op => panic!("{op:?}"),
    }
    let (back, text) = round_trip(&g, &PrintOptions::default());
    assert!(g.same_as(&back), "{text}");
    assert_eq!(print_snn(&back, &PrintOptions::default()).text, text, "printing is stable");
}

#[test]
fn exact_values_and_quoted_names_round_trip() {
    let src = r#"snn 1
"my input" = Input<shape=[3]>()
"0" = Scale<scale=[-0.0, 1e-300, 0.1]>("my input")
1.lif = LIF<tau=[0.30000000000000004, 5e-324, 2.5e+300], r=1.0, v_leak=-0.0, v_threshold=1.0>("0")
"we\"ird\\name\n" = Affine<weight=[[1, -2, 3]], bias=[-0.0]>(1.lif)
out = Output<shape=[1]>("we\"ird\\name\n")
"#;
    let g = parse(src);
    let scale = match g.op(g.find("0").unwrap()) {
        Op::Scale { scale } => scale.clone(),
        op => panic!("{op:?}"),
    };
    assert_eq!(scale.data()[0].to_bits(), (-0.0f64).to_bits());
    assert_eq!(scale.data()[1], 1e-300);
    assert!(g.find("we\"ird\\name\n").is_some());
    for max_inline in [0, 16] {
        let (back, text) = round_trip(&g, &PrintOptions { max_inline_elements: max_inline, ..Default::default() });
        assert!(g.same_as(&back), "{text}");
        assert!(text.contains("\"we\\\"ird\\\\name\\n\" = Affine"), "{text}");
        assert!(text.contains("1.lif = LIF"), "bare dotted name: {text}");
    }
}

#[test]
fn large_tensors_go_to_one_sidecar_with_exact_dtypes() {
    let w: Vec<f64> = (0..40).map(|i| i as f64 * 0.1 - 1.0).collect(); // not f32-exact
    let v: Vec<f64> = (0..20).map(|i| i as f64 * 0.5).collect(); // f32-exact
    let mut g = Graph::new();
    let i = g.add_node("in", Op::Input { shape: vec![4].into() }).unwrap();
    let a = g
        .add_node("fc", Op::Affine { weight: Tensor::new(vec![10, 4], w).unwrap(), bias: Tensor::zeros(vec![10]) })
        .unwrap();
    let l = g.add_node("l", Op::Linear { weight: Tensor::new(vec![2, 10], v).unwrap() }).unwrap();
    let o = g.add_node("out", Op::Output { shape: vec![2].into() }).unwrap();
    for (x, y) in [(i, a), (a, l), (l, o)] {
        g.add_edge(x, y).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.snn");
    write_snn(&g, &path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(r#"weight=file("net.safetensors", "fc.weight")"#), "{text}");
    assert!(text.contains("bias=full([10], 0.0)"), "{text}");
    let bytes = std::fs::read(dir.path().join("net.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("fc.weight").unwrap().dtype(), safetensors::Dtype::F64);
    assert_eq!(st.tensor("l.weight").unwrap().dtype(), safetensors::Dtype::F32);
    let back = read_snn(&path, &Limits::default()).unwrap();
    assert!(g.same_as(&back));
}

#[test]
fn npy_and_safetensors_sidecars_are_read() {
    let dir = tempfile::tempdir().unwrap();
    spikeforge_compiler::arrays::write_npy(&dir.path().join("w.npy"), &[3, 2], &[1i32, 2, 3, 4, 5, 6]).unwrap();
    let bias: Vec<u8> = [0.5f32, -1.0, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let th: Vec<u8> = [1i64, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let views = vec![
        ("fc.bias", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3], &bias).unwrap()),
        ("th", safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![3], &th).unwrap()),
    ];
    std::fs::write(dir.path().join("m.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
    let src = r#"snn 1
in = Input<shape=[2]>()
fc = Affine<weight=file("w.npy"), bias=file("m.safetensors", "fc.bias")>(in)
th = Threshold<threshold=file("m.safetensors", "th")>(fc)
out = Output<shape=[3]>(th)
"#;
    std::fs::write(dir.path().join("m.snn"), src).unwrap();
    let g = read_snn(&dir.path().join("m.snn"), &Limits::default()).unwrap();
    match g.op(g.find("fc").unwrap()) {
        Op::Affine { weight, bias } => {
            assert_eq!((weight.dims(), weight.data()), (&[3, 2][..], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0][..]));
            assert_eq!(bias.data(), &[0.5, -1.0, 2.0]);
        }
        op => panic!("{op:?}"),
    }
    match g.op(g.find("th").unwrap()) {
        Op::Threshold { threshold } => assert_eq!(threshold.data(), &[1.0, 2.0, 3.0]),
        op => panic!("{op:?}"),
    }
}

/// Two entries into one cycle: which edge is recurrent depends on the statement order.
#[test]
fn recurrent_edges_follow_the_text_and_survive_printing() {
    let base = |order: &str| format!("snn 1\nin = Input<shape=[2]>()\n{order}\nout = Output<shape=[2]>(b)\n",);
    let a = "a = Scale<scale=[1.0, 2.0]>(in, b)";
    let b = "b = Scale<scale=[3.0, 4.0]>(in, a)";
    let g1 = parse(&base(&format!("{a}\n{b}")));
    let g2 = parse(&base(&format!("{b}\n{a}")));
    let pair = |x: &str, y: &str| BTreeSet::from([(x.to_string(), y.to_string())]);
    assert_eq!(back_edges(&g1), pair("b", "a"), "a names b, defined later");
    assert_eq!(back_edges(&g2), pair("a", "b"), "b names a, defined later");
    for g in [&g1, &g2] {
        let (back, text) = round_trip(g, &PrintOptions::default());
        assert!(g.same_as(&back));
        assert_eq!(back_edges(&back), back_edges(g), "{text}");
    }
}

#[test]
fn a_cycle_the_ir_cannot_schedule_as_written_is_an_error() {
    // a → b → c → a with two forward references: the IR's search makes only one of them
    // recurrent, so the text's meaning cannot be kept.
    let src = "snn 1\nin = Input<shape=[1]>()\na = Scale<scale=[1.0]>(in, c)\nc = Scale<scale=[1.0]>(b)\nb = Scale<scale=[1.0]>(a)\nout = Output<shape=[1]>(b)\n";
    let e = parse_snn(src, "t.snn", Path::new("."), &Limits::default()).unwrap_err();
    assert_eq!(e.len(), 1, "{}", e.render(false));
    assert!(e.to_string().starts_with("t.snn:4:24: `b` → `c` is written as recurrent"), "{e}");
}

#[test]
fn examples_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for name in ["tiny_mlp.snn", "recurrent.snn"] {
        let g = read_snn(&dir.join(name), &Limits::default()).unwrap_or_else(|e| panic!("{}", e.render(false)));
        assert!(g.verify(&Limits::default()).is_ok(), "{name}");
        let (back, _) = round_trip(&g, &PrintOptions::default());
        assert!(g.same_as(&back), "{name}");
        assert_eq!(back_edges(&back), back_edges(&g));
    }
    let g = read_snn(&dir.join("recurrent.snn"), &Limits::default()).unwrap();
    assert_eq!(back_edges(&g), BTreeSet::from([("rec".to_string(), "lif".to_string())]));
}

/// tiny_mlp.snn promises that every neuron spikes under random 0/1 input at dt = 1e-4:
/// check it with the NIR LIF update (forward Euler, reset to v_reset).
#[test]
fn tiny_mlp_spikes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tiny_mlp.snn");
    let g = read_snn(&path, &Limits::default()).unwrap();
    let layer = |fc: &str, lif: &str| {
        let (w, b) = match g.op(g.find(fc).unwrap()) {
            Op::Affine { weight, bias } => (weight.clone(), bias.clone()),
            op => panic!("{op:?}"),
        };
        match g.op(g.find(lif).unwrap()) {
            Op::LIF { tau, r, v_leak, v_threshold, v_reset } => {
                (w, b, [tau.data()[0], r.data()[0], v_leak.data()[0], v_threshold.data()[0], v_reset.data()[0]])
            }
            op => panic!("{op:?}"),
        }
    };
    let layers = [layer("fc1", "lif1"), layer("fc2", "lif2")];
    let dt = 1e-4;
    let mut v: Vec<Vec<f64>> = layers.iter().map(|(w, _, _)| vec![0.0; w.dims()[0]]).collect();
    let mut counts: Vec<Vec<u32>> = v.iter().map(|l| vec![0; l.len()]).collect();
    let mut seed = 12345u64;
    for _ in 0..100 {
        let mut x: Vec<f64> = (0..16)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                f64::from(u8::from(seed >> 63 == 1))
            })
            .collect();
        for (l, (w, b, [tau, r, leak, th, reset])) in layers.iter().enumerate() {
            let n_in = w.dims()[1];
            let mut out = vec![0.0; w.dims()[0]];
            for (i, vi) in v[l].iter_mut().enumerate() {
                let current: f64 = b.data()[i] + (0..n_in).map(|j| w.data()[i * n_in + j] * x[j]).sum::<f64>();
                *vi += dt / tau * (leak - *vi + r * current);
                if *vi > *th {
                    *vi = *reset;
                    out[i] = 1.0;
                    counts[l][i] += 1;
                }
            }
            x = out;
        }
    }
    for c in counts.iter().flatten() {
        assert!((1..100).contains(c), "spike counts {counts:?}");
    }
}

/// The complete example in the module documentation parses (with its sidecars made up).
#[test]
fn module_doc_example_parses() {
    let doc = include_str!("../src/text/mod.rs");
    let block: String = doc
        .lines()
        .skip_while(|l| *l != "//! ```text")
        .skip(1)
        .take_while(|l| *l != "//! ```")
        .map(|l| format!("{}\n", l.strip_prefix("//!").unwrap_or(l).strip_prefix(' ').unwrap_or("")))
        .collect();
    assert!(block.starts_with("snn 1"), "{block}");
    let dir = tempfile::tempdir().unwrap();
    let f32s = |n: usize| -> Vec<u8> { (0..n).flat_map(|i| ((i % 7) as f32 * 0.125).to_le_bytes()).collect() };
    let (conv, fc) = (f32s(18), f32s(1280));
    let views = vec![
        (
            "conv0.weight",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 1, 3, 3], &conv).unwrap(),
        ),
        ("fc.weight", safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![10, 128], &fc).unwrap()),
    ];
    std::fs::write(dir.path().join("model.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
    spikeforge_compiler::arrays::write_npy(&dir.path().join("rec.npy"), &[128, 128], &vec![0.01f32; 128 * 128])
        .unwrap();
    let g =
        parse_snn(&block, "doc.snn", dir.path(), &Limits::default()).unwrap_or_else(|e| panic!("{}", e.render(false)));
    assert_eq!(g.len(), 7);
    assert_eq!(back_edges(&g), BTreeSet::from([("rec".to_string(), "lif0".to_string())]));
}

/// Found by `text_format_prop`: a skip edge into a node of a cycle's downstream, and an
/// edge back into the cycle's recurrent node. Printing the parsed graph must list every
/// node's inputs as the text wrote them.
#[test]
fn argument_order_survives_a_skip_edge_out_of_a_cycle() {
    let src = "snn 1\n0 = Input<shape=[1]>()\n\
        1 = LIF<tau=full([1], 0.001), r=full([1], 0.0), v_leak=full([1], 0.0), v_threshold=full([1], 0.0), v_reset=full([1], 0.0)>(0, 1001)\n\
        2 = Scale<scale=full([1], 0.0)>(1)\n\
        3 = Affine<weight=full([1, 1], 0.0), bias=full([1], 0.0)>(2, 1)\n\
        4 = Affine<weight=full([1, 1], 0.0), bias=full([1], 0.0)>(3)\n\
        999 = Output<shape=[1]>(4)\n\
        1001 = Linear<weight=full([1, 1], 0.0)>(1, 2)\n";
    let g = parse(src);
    let name = |n| g.name(n).to_string();
    let inputs = |node: &str| g.inputs(g.find(node).unwrap()).into_iter().map(name).collect::<Vec<_>>();
    assert_eq!(inputs("3"), ["2", "1"]);
    assert_eq!(inputs("1001"), ["1", "2"]);
    assert_eq!(inputs("1"), ["0", "1001"]);
    let (back, text) = round_trip(&g, &PrintOptions::default());
    assert!(g.same_as(&back));
    assert_eq!(print_snn(&back, &PrintOptions::default()).text, text);
}
