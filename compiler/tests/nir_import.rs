//! NIR import: the golden models and the nir 1.0.4–1.0.8 version fixtures.

use std::path::{Path, PathBuf};

mod common;

use common::{f, ints, nir_bytes, Node};
use serde_json::Value as Json;
use spikeforge_compiler::ir::{Attr, Graph, Op, OpKind, Shape};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::{read_nir, read_nir_bytes};

fn golden(case: &str, file: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/golden")).join(case).join(file)
}

const VERSIONS: [&str; 5] = ["1_0_4", "1_0_5", "1_0_6", "1_0_7", "1_0_8"];
const FIXTURES: [&str; 3] = ["conv2d", "conv1d", "nested"];

fn fixture(version: &str, stem: &str, ext: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nir")).join(version).join(format!("{stem}.{ext}"))
}

fn load(path: &Path) -> Graph {
    read_nir(path, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// (name, kind, output shape) of every node, sorted by name.
fn summary(g: &Graph) -> Vec<(String, OpKind, Shape)> {
    let v = g.verify(&Limits::default()).expect("imported graphs verify");
    let mut s: Vec<_> = g.node_ids().map(|n| (g.name(n).to_string(), g.op(n).kind(), v.shape(n).clone())).collect();
    s.sort_by(|a, b| a.0.cmp(&b.0));
    s
}

fn edges(g: &Graph) -> Vec<(String, String)> {
    let mut e: Vec<_> = g.edges().into_iter().map(|(a, b)| (g.name(a).to_string(), g.name(b).to_string())).collect();
    e.sort();
    e
}

fn expect_nodes(g: &Graph, expected: &[(&str, OpKind, &[usize])]) {
    let mut want: Vec<_> = expected.iter().map(|(n, k, s)| (n.to_string(), *k, Shape(s.to_vec()))).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(summary(g), want);
}

fn expect_edges(g: &Graph, expected: &[(&str, &str)]) {
    let mut want: Vec<_> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    want.sort();
    assert_eq!(edges(g), want);
}

fn op<'g>(g: &'g Graph, name: &str) -> &'g Op {
    g.op(g.find(name).unwrap_or_else(|| panic!("no node `{name}`")))
}

#[test]
fn golden_digits_mlp() {
    use OpKind::*;
    let g = load(&golden("digits_mlp", "model.nir"));
    expect_nodes(
        &g,
        &[
            ("input", Input, &[64]),
            ("0", Affine, &[128]),
            ("1", LIF, &[128]),
            ("2", Affine, &[10]),
            ("3", LIF, &[10]),
            ("output", Output, &[10]),
        ],
    );
    expect_edges(&g, &[("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]);
    let Op::Affine { weight, bias } = op(&g, "0") else { panic!("0 is Affine") };
    assert_eq!((weight.dims(), bias.dims()), (&[128, 64][..], &[128][..]));
    let Op::LIF { tau, v_reset, .. } = op(&g, "1") else { panic!("1 is LIF") };
    assert_eq!(tau.dims(), &[128]);
    assert!(v_reset.data().iter().all(|&v| v == 0.0), "the golden v_reset is 0");
}

#[test]
fn golden_digits_cnn() {
    use OpKind::*;
    let g = load(&golden("digits_cnn", "model.nir"));
    expect_nodes(
        &g,
        &[
            ("input", Input, &[1, 8, 8]),
            ("0", Conv2d, &[8, 8, 8]),
            ("1", LIF, &[8, 8, 8]),
            ("2", AvgPool2d, &[8, 4, 4]),
            ("3", Conv2d, &[16, 4, 4]),
            ("4", LIF, &[16, 4, 4]),
            ("5", Flatten, &[256]),
            ("6", Affine, &[10]),
            ("7", LIF, &[10]),
            ("output", Output, &[10]),
        ],
    );
    let chain = ["input", "0", "1", "2", "3", "4", "5", "6", "7", "output"];
    let pairs: Vec<_> = chain.windows(2).map(|w| (w[0], w[1])).collect();
    expect_edges(&g, &pairs);
    let Op::Conv2d(c) = op(&g, "0") else { panic!("0 is Conv2d") };
    assert_eq!((c.padding.as_slice(), c.stride.as_slice(), c.groups), (&[1, 1][..], &[1, 1][..], 1));
    let Op::AvgPool2d(p) = op(&g, "2") else { panic!("2 is AvgPool2d") };
    assert_eq!((p.kernel_size, p.stride), ([2, 2], [2, 2]), "scalar kernel_size/stride broadcast to pairs");
}

#[test]
fn golden_digits_cnn_gzip_is_identical() {
    let plain = load(&golden("digits_cnn", "model.nir"));
    let gzip = load(&golden("digits_cnn", "model_gzip.nir"));
    assert!(gzip.same_as(&plain));
}

#[test]
fn golden_rsnn_random_recurrent() {
    use OpKind::*;
    let g = load(&golden("rsnn_random", "model.nir"));
    expect_nodes(
        &g,
        &[
            ("input", Input, &[20]),
            ("0", Affine, &[50]),
            ("1.lif", LIF, &[50]),
            ("1.w_rec", Affine, &[50]),
            ("2", Affine, &[5]),
            ("3", LIF, &[5]),
            ("output", Output, &[5]),
        ],
    );
    expect_edges(
        &g,
        &[
            ("input", "0"),
            ("0", "1.lif"),
            ("1.lif", "1.w_rec"),
            ("1.w_rec", "1.lif"),
            ("1.lif", "2"),
            ("2", "3"),
            ("3", "output"),
        ],
    );
    let v = g.verify(&Limits::default()).unwrap();
    let (w_rec, lif) = (g.find("1.w_rec").unwrap(), g.find("1.lif").unwrap());
    assert!(v.schedule.is_back_edge(w_rec, lif), "the cycle is broken at 1.w_rec → 1.lif");
    assert_eq!(v.schedule.back_edges.len(), 1);
}

/// Compares an imported fixture with what generate.py says it must be (the expectation of
/// `expected`'s version: the same model may be written in several HDF5 layouts).
fn check_fixture(version: &str, stem: &str, expected: &str) {
    let g = load(&fixture(version, stem, "nir"));
    let text = std::fs::read_to_string(fixture(expected, stem, "expect.json")).unwrap();
    let expect: Json = serde_json::from_str(&text).unwrap();
    let ctx = format!("{version}/{stem}");
    let nodes = expect["nodes"].as_object().unwrap();
    let got = summary(&g);
    assert_eq!(got.len(), nodes.len(), "{ctx}: node count; got {got:?}");
    for (name, kind, shape) in &got {
        let e = &nodes.get(name).unwrap_or_else(|| panic!("{ctx}: unexpected node `{name}`"));
        assert_eq!(kind.name(), e["kind"].as_str().unwrap(), "{ctx}: kind of `{name}`");
        let want: Vec<usize> = e["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(shape.dims(), &want[..], "{ctx}: shape of `{name}`");
        let attrs = op(&g, name).attrs();
        for (param, p) in e["params"].as_object().unwrap() {
            let Some((_, Attr::Tensor(t))) = attrs.iter().find(|(n, _)| n == param) else {
                panic!("{ctx}: `{name}` has no tensor `{param}`")
            };
            let dims: Vec<usize> =
                p["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            assert_eq!(t.dims(), &dims[..], "{ctx}: shape of `{name}`.{param}");
            let sum: f64 = t.data().iter().sum();
            let want = p["sum"].as_f64().unwrap();
            assert!(
                (sum - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{ctx}: sum of `{name}`.{param}: {sum} vs {want}"
            );
            assert_eq!(
                t.data()[0],
                p["first"].as_str().unwrap().parse::<f64>().unwrap(),
                "{ctx}: first value of `{name}`.{param}"
            );
        }
        if let Some(ints) = e.get("ints") {
            for (param, want) in ints.as_object().unwrap() {
                let want: Vec<i64> = want.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
                let Some((_, Attr::Ints(v))) = attrs.iter().find(|(n, _)| n == param) else {
                    panic!("{ctx}: `{name}` has no integer `{param}`")
                };
                assert_eq!(v, &want, "{ctx}: `{name}`.{param}");
            }
        }
    }
    let mut want_edges: Vec<(String, String)> = expect["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_str().unwrap().to_string(), e[1].as_str().unwrap().to_string()))
        .collect();
    want_edges.sort();
    assert_eq!(edges(&g), want_edges, "{ctx}: edges");
}

#[test]
fn version_fixtures_import_as_expected() {
    for v in VERSIONS {
        for stem in FIXTURES {
            check_fixture(v, stem, v);
        }
    }
}

#[test]
fn libver_latest_copies_import_as_their_originals() {
    // tests/bad_inputs/links.py rewrote these 1.0.8 fixtures with h5py's libver="latest":
    // superblock v3, version-2 object headers, compact groups and (nested: 9 nodes) a
    // dense one in a fractal heap.
    for stem in ["conv1d", "nested"] {
        check_fixture("latest", stem, "1_0_8");
    }
}

#[test]
fn a_user_block_before_the_hdf5_data_is_skipped() {
    // h5py's userblock_size=512: the superblock at byte 512, addresses relative to it, the
    // end-of-file address absolute.
    let with = load(&fixture("latest", "conv1d_userblock", "nir"));
    let without = load(&fixture("1_0_8", "conv1d", "nir"));
    assert_eq!((summary(&with), edges(&with)), (summary(&without), edges(&without)));
}

#[test]
fn v_reset_defaults_to_zero_before_nir_1_0_6() {
    for (v, reset) in [("1_0_4", 0.0), ("1_0_5", 0.0), ("1_0_6", 0.1), ("1_0_8", 0.1)] {
        let g = load(&fixture(v, "conv2d", "nir"));
        let Op::CubaLIF { v_reset, tau_mem, .. } = op(&g, "cuba") else { panic!("cuba is CubaLIF") };
        assert_eq!(v_reset.dims(), &[4, 6, 6], "{v}: scalar v_reset broadcast to the neuron shape");
        assert_eq!(tau_mem.uniform_value(), Some(0.02), "{v}");
        assert_eq!(v_reset.uniform_value(), Some(reset), "{v}");
    }
}

#[test]
fn nested_graph_is_flattened_with_scoped_names() {
    for v in VERSIONS {
        let g = load(&fixture(v, "nested", "nir"));
        for gone in ["sub", "sub.in", "sub.out"] {
            assert!(g.find(gone).is_none(), "{v}: `{gone}` must not survive flattening");
        }
        let verified = g.verify(&Limits::default()).unwrap();
        let (rec, lif) = (g.find("sub.rec").unwrap(), g.find("sub.lif").unwrap());
        assert!(verified.schedule.is_back_edge(rec, lif), "{v}: recurrent edge inside the subgraph");
        let li = g.find("li").unwrap();
        assert_eq!(g.inputs(li), vec![lif], "{v}: `sub.out` reconnected to the LIF feeding it");
    }
}

fn scalar(v: f64) -> common::D {
    f(&[], &[v])
}

#[test]
fn scalar_parameters_take_the_shape_from_input_type() {
    // lif's parameters are all scalars; its input_type says [2], and the Linear after it
    // needs [2]. The LI before it also has scalars and no declared type: it takes the shape
    // of the Input feeding it.
    let nodes: Vec<Node> = vec![
        ("input", "Input", vec![("shape", ints(&[2]))]),
        ("li", "LI", vec![("tau", scalar(0.01)), ("r", scalar(1.0)), ("v_leak", scalar(0.0))]),
        (
            "lif",
            "LIF",
            vec![
                ("tau", scalar(0.02)),
                ("r", scalar(1.0)),
                ("v_leak", scalar(0.0)),
                ("v_threshold", scalar(1.0)),
                ("input_type", ints(&[2])),
            ],
        ),
        ("lin", "Linear", vec![("weight", f(&[3, 2], &[1.0; 6]))]),
        ("thr", "Threshold", vec![("threshold", scalar(0.5))]),
        ("output", "Output", vec![("shape", ints(&[3]))]),
    ];
    let edges = [("input", "li"), ("li", "lif"), ("lif", "lin"), ("lin", "thr"), ("thr", "output")];
    let g = read_nir_bytes(nir_bytes(&nodes, &edges), "t.nir", &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let Op::LIF { tau, v_reset, .. } = op(&g, "lif") else { panic!("lif is LIF") };
    assert_eq!((tau.dims(), tau.uniform_value()), (&[2][..], Some(0.02)));
    assert_eq!((v_reset.dims(), v_reset.uniform_value()), (&[2][..], Some(0.0)), "v_reset defaults to 0");
    let Op::LI { tau, .. } = op(&g, "li") else { panic!("li is LI") };
    assert_eq!(tau.dims(), &[2]);
    let Op::Threshold { threshold } = op(&g, "thr") else { panic!("thr is Threshold") };
    assert_eq!((threshold.dims(), threshold.uniform_value()), (&[3][..], Some(0.5)));
}

#[test]
fn valid_padding_string_means_no_padding() {
    let nodes: Vec<Node> = vec![
        ("input", "Input", vec![("shape", ints(&[1, 5]))]),
        (
            "conv",
            "Conv1d",
            vec![("weight", f(&[2, 1, 3], &[0.5; 6])), ("padding", common::D::S("valid")), ("input_shape", ints(&[5]))],
        ),
        ("output", "Output", vec![("shape", ints(&[2, 3]))]),
    ];
    let g = read_nir_bytes(nir_bytes(&nodes, &[("input", "conv"), ("conv", "output")]), "t.nir", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let Op::Conv1d(c) = op(&g, "conv") else { panic!("conv is Conv1d") };
    assert_eq!((c.padding.as_slice(), c.bias.data()), (&[0][..], &[0.0, 0.0][..]), "bias defaults to zeros");
}
