//! Malformed NIR inputs: each is refused with an error that names the file and the
//! offending node or HDF5 object, and none panics.

use std::path::Path;

mod common;

use common::{f, graph_group, ints, nir_bytes, valid_nodes, Node, D, EDGES};
use hdf5_pure::FileBuilder;
use spikeforge_compiler::ir::{IrError, OpError};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::{read_nir, read_nir_bytes, NirError};

const SRC: &str = "bad.nir";

fn golden_bytes(case: &str) -> Vec<u8> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/golden")).join(case).join("model.nir");
    std::fs::read(p).unwrap()
}

fn read(bytes: Vec<u8>) -> Result<spikeforge_compiler::ir::Graph, NirError> {
    read_nir_bytes(bytes, SRC, &Limits::default())
}

fn fails(bytes: Vec<u8>) -> NirError {
    let e = read(bytes).expect_err("malformed input must be refused");
    assert!(!matches!(e, NirError::ReaderPanic { .. }), "the HDF5 reader panicked: {e}");
    assert!(e.to_string().starts_with(SRC), "errors name the file: {e}");
    e
}

fn with_param(node: &str, param: &'static str, d: Option<D>) -> Vec<Node> {
    let mut nodes = valid_nodes();
    let n = nodes.iter_mut().find(|n| n.0 == node).unwrap();
    n.2.retain(|(p, _)| *p != param);
    if let Some(d) = d {
        n.2.push((param, d));
    }
    nodes
}

#[test]
fn the_test_builder_makes_valid_files() {
    let g = read(nir_bytes(&valid_nodes(), &EDGES)).unwrap();
    assert_eq!((g.len(), g.edge_count()), (4, 3));
}

#[test]
fn not_hdf5() {
    for bytes in [b"this is not an HDF5 file at all, just text".to_vec(), Vec::new()] {
        let e = fails(bytes);
        assert!(matches!(e, NirError::NotHdf5 { .. }), "{e}");
        assert!(e.to_string().contains("not an HDF5 file (bad signature)"), "{e}");
    }
}

#[test]
fn truncated() {
    let full = golden_bytes("digits_mlp");
    for len in [4, 100, full.len() / 2, full.len() - 1] {
        let e = fails(full[..len].to_vec());
        assert!(matches!(e, NirError::Truncated { .. }), "cut at {len}: {e}");
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}

#[test]
fn every_truncation_is_refused_without_panic() {
    for bytes in [golden_bytes("rsnn_random"), nir_bytes(&valid_nodes(), &EDGES)] {
        for len in (0..bytes.len()).step_by(97) {
            fails(bytes[..len].to_vec());
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Deterministic byte flips over a whole file: any outcome but a panic is acceptable
    // (a flip inside a weight is still a valid file).
    let original = golden_bytes("digits_mlp");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..400 {
        let mut bytes = original.clone();
        for _ in 0..4 {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] ^= (next() % 255 + 1) as u8;
        }
        if let Err(e) = read(bytes) {
            assert!(!matches!(e, NirError::ReaderPanic { .. }), "{e}");
        }
    }
}

#[test]
fn unknown_node_type() {
    let mut nodes = valid_nodes();
    nodes[1].1 = "Foo";
    let e = fails(nir_bytes(&nodes, &EDGES));
    let msg = e.to_string();
    assert!(matches!(e, NirError::UnknownNodeType { .. }), "{e}");
    assert!(msg.contains("unknown node type `Foo` at node/nodes/lin"), "{msg}");
    assert!(msg.contains("supported: Input, Output, Affine") && msg.contains("NIRGraph"), "{msg}");
}

#[test]
fn missing_parameter() {
    let e = fails(nir_bytes(&with_param("lif", "v_threshold", None), &EDGES));
    let msg = e.to_string();
    assert!(
        matches!(&e, NirError::Param { node, source, .. } if node == "lif" && matches!(**source, OpError::Missing { .. })),
        "{e}"
    );
    assert!(msg.contains("node `lif`") && msg.contains("`v_threshold`"), "{msg}");
}

#[test]
fn weight_of_the_wrong_rank() {
    let e = fails(nir_bytes(&with_param("lin", "weight", Some(f(&[6], &[0.0; 6]))), &EDGES));
    let msg = e.to_string();
    assert!(matches!(&e, NirError::Param { source, .. } if matches!(**source, OpError::BadShape { .. })), "{e}");
    assert!(msg.contains("node `lin` (node/nodes/lin/weight)") && msg.contains("[6]"), "{msg}");
}

#[test]
fn weight_that_does_not_fit_its_input() {
    let e = fails(nir_bytes(&with_param("lin", "weight", Some(f(&[2, 4], &[0.0; 8]))), &EDGES));
    let NirError::Verify { errors, .. } = &e else { panic!("expected a verification error: {e}") };
    assert!(matches!(&errors[0], IrError::ShapeMismatch { to, .. } if to == "lin"), "{e}");
    assert!(e.to_string().contains("`lin` (Linear) expects input [4]"), "{e}");
}

#[test]
fn nan_weight() {
    let e =
        fails(nir_bytes(&with_param("lin", "weight", Some(f(&[2, 3], &[0.1, 0.2, f64::NAN, 0.4, 0.5, 0.6]))), &EDGES));
    let msg = e.to_string();
    assert!(
        matches!(&e, NirError::Param { source, .. } if matches!(**source, OpError::NonFinite { index: 2, .. })),
        "{e}"
    );
    assert!(msg.contains("node/nodes/lin/weight") && msg.contains("NaN"), "{msg}");
}

#[test]
fn edge_to_an_unknown_node() {
    let e = fails(nir_bytes(&valid_nodes(), &[("input", "lin"), ("lin", "ghost"), ("lif", "output")]));
    let msg = e.to_string();
    assert!(matches!(&e, NirError::Edge { index: 1, .. }), "{e}");
    assert!(msg.contains("`ghost` is not a node") && msg.contains("node/edges"), "{msg}");
}

#[test]
fn duplicate_edge() {
    let e = fails(nir_bytes(&valid_nodes(), &[("input", "lin"), ("lin", "lif"), ("lin", "lif"), ("lif", "output")]));
    assert!(matches!(&e, NirError::Graph { source, .. } if matches!(**source, IrError::DuplicateEdge { .. })), "{e}");
}

/// Rewrites the dimensions (and maximum dimensions) of every version-1 dataspace message
/// whose dimensions are `old` to `new` (h5py writes these without checksums). Returns how
/// many were rewritten.
fn patch_dataspaces(bytes: &mut [u8], old: &[u64], new: &[u64]) -> usize {
    let rank = old.len();
    let mut hits = 0;
    for i in 0..bytes.len().saturating_sub(8 + 16 * rank) {
        let dims_at = i + 8;
        let dim = |bytes: &[u8], k: usize| {
            u64::from_le_bytes(bytes[dims_at + 8 * k..dims_at + 8 * k + 8].try_into().unwrap())
        };
        let header = bytes[i] == 1 && bytes[i + 1] == rank as u8 && bytes[i + 3..i + 8].iter().all(|&b| b == 0);
        if header && (0..rank).all(|k| dim(bytes, k) == old[k]) {
            let copies = if bytes[i + 2] & 1 == 1 { 2 } else { 1 };
            for k in 0..rank * copies {
                bytes[dims_at + 8 * k..dims_at + 8 * k + 8].copy_from_slice(&new[k % rank].to_le_bytes());
            }
            hits += 1;
        }
    }
    hits
}

#[test]
fn absurd_dimensions_are_refused_before_reading() {
    // digits_cnn's LIF parameters are chunked [8, 8, 8] datasets; declare them 10^6 × 10^6 × 10^6.
    let mut bytes = golden_bytes("digits_cnn");
    assert!(patch_dataspaces(&mut bytes, &[8, 8, 8], &[1_000_000; 3]) >= 5);
    let e = fails(bytes);
    let msg = e.to_string();
    assert!(matches!(&e, NirError::TooLarge { dims, .. } if dims == &[1_000_000; 3]), "{e}");
    assert!(msg.contains("node/nodes/1/") && msg.contains("1000000000000000000 elements"), "{msg}");

    // The conv weight [8, 1, 3, 3] (contiguous) declared 10^6 in every dimension: 10^24
    // elements, more than a u64 counts.
    let mut bytes = golden_bytes("digits_cnn");
    assert_eq!(patch_dataspaces(&mut bytes, &[8, 1, 3, 3], &[1_000_000; 4]), 1);
    let msg = fails(bytes).to_string();
    assert!(msg.contains("node/nodes/0/weight") && msg.contains("more than 2^64"), "{msg}");
}

#[test]
fn declared_data_larger_than_the_file_could_hold() {
    // Within the element limit (5·10^8), but 2 GB of float32 from a 76 kB file: chunks that
    // were never written would read as fill values.
    let mut bytes = golden_bytes("rsnn_random");
    assert_eq!(patch_dataspaces(&mut bytes, &[50, 50], &[50, 10_000_000]), 1);
    let e = fails(bytes);
    assert!(matches!(&e, NirError::BadDataset { object, .. } if object == "node/nodes/1.w_rec/weight"), "{e}");
    assert!(e.to_string().contains("more than a 76500-byte file can hold"), "{e}");
}

#[test]
fn tensor_limit_comes_from_limits() {
    let limits = Limits { max_tensor_elements: 5, max_node_elements: 1000, budget_bytes: 40 };
    let e = read_nir_bytes(nir_bytes(&valid_nodes(), &EDGES), SRC, &limits).unwrap_err();
    assert!(matches!(&e, NirError::TooLarge { object, limit: 5, .. } if object == "node/nodes/lin/weight"), "{e}");
}

#[test]
fn declared_input_type_must_match() {
    let mut nodes = valid_nodes();
    nodes[2].2.push(("input_type", ints(&[3])));
    let e = fails(nir_bytes(&nodes, &EDGES));
    let msg = e.to_string();
    assert!(
        matches!(&e, NirError::Node { node, object, .. } if node == "lif" && object == "node/nodes/lif/input_type"),
        "{e}"
    );
    assert!(msg.contains("declares input shape [3], but the node receives [2]"), "{msg}");
}

#[test]
fn declared_output_type_must_match() {
    let mut nodes = valid_nodes();
    nodes[1].2.push(("output_type", ints(&[5])));
    let e = fails(nir_bytes(&nodes, &EDGES));
    assert!(
        matches!(&e, NirError::Node { node, object, .. } if node == "lin" && object == "node/nodes/lin/output_type"),
        "{e}"
    );
    assert!(e.to_string().contains("declares output shape [5], but the node produces [2]"), "{e}");
}

#[test]
fn conv_input_shape_must_match() {
    let nodes: Vec<Node> = vec![
        ("input", "Input", vec![("shape", ints(&[1, 5, 5]))]),
        (
            "conv",
            "Conv2d",
            vec![
                ("weight", f(&[2, 1, 3, 3], &[0.5; 18])),
                ("bias", f(&[2], &[0.0, 0.0])),
                ("input_shape", ints(&[6, 6])),
            ],
        ),
        ("output", "Output", vec![("shape", ints(&[2, 3, 3]))]),
    ];
    let e = fails(nir_bytes(&nodes, &[("input", "conv"), ("conv", "output")]));
    assert!(
        matches!(&e, NirError::Node { node, object, .. } if node == "conv" && object == "node/nodes/conv/input_shape"),
        "{e}"
    );
}

#[test]
fn same_padding_that_would_be_asymmetric() {
    let nodes: Vec<Node> = vec![
        ("input", "Input", vec![("shape", ints(&[1, 5, 5]))]),
        (
            "conv",
            "Conv2d",
            vec![("weight", f(&[2, 1, 2, 2], &[0.5; 8])), ("bias", f(&[2], &[0.0, 0.0])), ("padding", D::S("same"))],
        ),
        ("output", "Output", vec![("shape", ints(&[2, 5, 5]))]),
    ];
    let e = fails(nir_bytes(&nodes, &[("input", "conv"), ("conv", "output")]));
    assert!(matches!(&e, NirError::Node { object, .. } if object == "node/nodes/conv/padding"), "{e}");
    assert!(e.to_string().contains("unequally"), "{e}");
}

#[test]
fn subgraph_named_as_endpoint_needs_one_input() {
    let mut fb = FileBuilder::new();
    fb.create_dataset("version").with_vlen_strings(&["1.0.8"]).with_shape(&[]);
    let mut root = fb.create_group("node");
    let mut sub = root.create_group("nodes").create_group("sub");
    let sub_nodes: Vec<Node> = vec![
        ("a", "Input", vec![("shape", ints(&[3]))]),
        ("b", "Input", vec![("shape", ints(&[3]))]),
        ("o", "Output", vec![("shape", ints(&[3]))]),
    ];
    graph_group(&mut sub, &sub_nodes, &[("a", "o"), ("b", "o")], vec![]);
    let top: Vec<Node> =
        vec![("input", "Input", vec![("shape", ints(&[3]))]), ("output", "Output", vec![("shape", ints(&[3]))])];
    graph_group(&mut root, &top, &[("input", "sub"), ("sub", "output")], vec![("sub", sub)]);
    fb.add_group(root.finish());
    let e = fails(fb.finish().unwrap());
    let msg = e.to_string();
    assert!(matches!(&e, NirError::Edge { index: 0, .. }), "{e}");
    assert!(msg.contains("2 Input nodes") && msg.contains("sub.<node>"), "{msg}");
}

#[test]
fn not_a_nir_file() {
    let mut fb = FileBuilder::new();
    fb.create_dataset("data").with_f64_data(&[1.0, 2.0]);
    let e = fails(fb.finish().unwrap());
    assert!(matches!(e, NirError::NotNir { .. }), "{e}");
}

#[test]
fn read_nir_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.nir");
    std::fs::write(&p, b"nope").unwrap();
    let e = read_nir(&p, &Limits::default()).unwrap_err();
    assert!(e.to_string().starts_with(&p.display().to_string()), "{e}");
    let e = read_nir(&dir.path().join("missing.nir"), &Limits::default()).unwrap_err();
    assert!(matches!(e, NirError::Io { .. }), "{e}");
}
