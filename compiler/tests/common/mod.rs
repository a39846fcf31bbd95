//! A small NIR writer for tests: lays out groups and datasets as `nir.write` does, with
//! whatever content a test needs (including content nir itself would refuse).
#![allow(dead_code)] // each test crate uses a different part

use hdf5_pure::{FileBuilder, GroupBuilder};

/// A dataset for the test builder.
#[derive(Clone)]
pub enum D {
    F(Vec<u64>, Vec<f64>),
    I(Vec<u64>, Vec<i64>),
    S(&'static str),
}

pub fn f(shape: &[u64], v: &[f64]) -> D {
    D::F(shape.to_vec(), v.to_vec())
}
pub fn ints(v: &[i64]) -> D {
    D::I(vec![v.len() as u64], v.to_vec())
}

pub type Node = (&'static str, &'static str, Vec<(&'static str, D)>);

pub fn put(g: &mut GroupBuilder, name: &str, d: &D) {
    let ds = g.create_dataset(name);
    match d {
        D::F(s, v) => ds.with_f64_data(v).with_shape(s),
        D::I(s, v) => ds.with_i64_data(v).with_shape(s),
        D::S(s) => ds.with_vlen_strings(&[s]).with_shape(&[]),
    };
}

pub fn graph_group(g: &mut GroupBuilder, nodes: &[Node], edges: &[(&str, &str)], subgraphs: Vec<(&str, GroupBuilder)>) {
    put(g, "type", &D::S("NIRGraph"));
    let flat: Vec<&str> = edges.iter().flat_map(|(a, b)| [*a, *b]).collect();
    g.create_dataset("edges").with_vlen_strings(&flat).with_shape(&[edges.len() as u64, 2]);
    let mut ng = g.create_group("nodes");
    for (name, ty, params) in nodes {
        let mut n = ng.create_group(name);
        put(&mut n, "type", &D::S(ty));
        for (p, d) in params {
            put(&mut n, p, d);
        }
        ng.add_group(n.finish());
    }
    for (_, sub) in subgraphs {
        ng.add_group(sub.finish());
    }
    g.add_group(ng.finish());
}

/// A NIR file as nir.write lays it out.
pub fn nir_bytes(nodes: &[Node], edges: &[(&str, &str)]) -> Vec<u8> {
    let mut fb = FileBuilder::new();
    fb.create_dataset("version").with_vlen_strings(&["1.0.8"]).with_shape(&[]);
    let mut g = fb.create_group("node");
    graph_group(&mut g, nodes, edges, vec![]);
    fb.add_group(g.finish());
    fb.finish().unwrap()
}

/// input [3] → lin (Linear 2×3) → lif (LIF [2]) → output [2].
pub fn valid_nodes() -> Vec<Node> {
    let lif = vec![
        ("tau", f(&[2], &[0.01, 0.02])),
        ("r", f(&[2], &[1.0, 1.0])),
        ("v_leak", f(&[2], &[0.0, 0.0])),
        ("v_threshold", f(&[2], &[1.0, 1.0])),
    ];
    vec![
        ("input", "Input", vec![("shape", ints(&[3]))]),
        ("lin", "Linear", vec![("weight", f(&[2, 3], &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))]),
        ("lif", "LIF", lif),
        ("output", "Output", vec![("shape", ints(&[2]))]),
    ]
}

pub const EDGES: [(&str, &str); 3] = [("input", "lin"), ("lin", "lif"), ("lif", "output")];
