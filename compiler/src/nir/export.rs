//! Writes a graph in the layout of nir 1.0.8's `nir.write`, so that `nir.read` loads it:
//! root `version`; group `node` with `type` = "NIRGraph", `edges` (n×2 strings) and
//! `nodes/<name>/` holding `type` and the op's parameters. Conv nodes also get
//! `input_shape` and Flatten nodes `input_type` (nir needs them to infer types); nir 1.0.8
//! accepts no `input_type`/`output_type` on other nodes, so none is written. Tensors are
//! float32 when every value survives the round trip through f32, else float64; integers
//! are int64. Nested graphs were flattened on import and are written flat.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use hdf5_pure::{FileBuilder, GroupBuilder};

use super::NirError;
use crate::ir::{Attr, Graph, Op, Tensor, Verified};
use crate::limits::Limits;

/// The nir release whose layout is written (stored in the root `version` dataset).
pub const NIR_VERSION: &str = "1.0.8";

/// Serialises a graph to NIR bytes.
pub fn to_bytes(graph: &Graph) -> Result<Vec<u8>, NirError> {
    encode(graph, "<memory>")
}

/// Writes a graph to a NIR file. The file is written next to its destination under a
/// temporary name and renamed into place, so a failure never leaves a partial file.
pub fn write_nir(graph: &Graph, path: &Path) -> Result<(), NirError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file = path.display().to_string();
    let fail = |detail: String| NirError::Write { file: file.clone(), detail };
    let bytes = encode(graph, &file)?;
    let name = path.file_name().ok_or_else(|| fail("the path does not name a file".into()))?;
    let tmp_name =
        format!(".{}.{}-{}.tmp", name.to_string_lossy(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    let tmp = path.with_file_name(tmp_name);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&bytes)?;
        f.sync_all()
    });
    let result = written.and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e.to_string())
    })
}

fn encode(graph: &Graph, file: &str) -> Result<Vec<u8>, NirError> {
    let fail = |detail: String| NirError::Write { file: file.into(), detail };
    // Shapes are only computed here, nothing is allocated from them.
    let unlimited = Limits { max_tensor_elements: usize::MAX, max_node_elements: usize::MAX, budget_bytes: u64::MAX };
    let verified = graph.verify(&unlimited).map_err(|errors| NirError::Verify { file: file.into(), errors })?;
    let mut fb = FileBuilder::new();
    fb.create_dataset("version").with_vlen_strings(&[NIR_VERSION]).with_shape(&[]);
    let mut node = fb.create_group("node");
    node.create_dataset("type").with_vlen_strings(&["NIRGraph"]).with_shape(&[]);
    let edges = graph.edges();
    let names: Vec<&str> = edges.iter().flat_map(|&(a, b)| [graph.name(a), graph.name(b)]).collect();
    node.create_dataset("edges").with_vlen_strings(&names).with_shape(&[edges.len() as u64, 2]);
    let mut nodes = node.create_group("nodes");
    for id in graph.node_ids() {
        let name = graph.name(id);
        if name.is_empty() || name == "." || name.contains('/') {
            return Err(fail(format!("node name `{name}` cannot be an HDF5 group name (empty, `.`, or contains `/`)")));
        }
        let op = graph.op(id);
        let mut g = nodes.create_group(name);
        g.create_dataset("type").with_vlen_strings(&[op.kind().name()]).with_shape(&[]);
        for (param, attr) in op.attrs() {
            match attr {
                Attr::Tensor(t) => write_tensor(&mut g, param, &t),
                Attr::Ints(v) => {
                    let scalar = matches!(param, "groups" | "start_dim" | "end_dim");
                    write_ints(&mut g, param, &v, scalar);
                }
            }
        }
        write_types(&mut g, graph, &verified, id);
        nodes.add_group(g.finish());
    }
    node.add_group(nodes.finish());
    fb.add_group(node.finish());
    fb.finish().map_err(|e| fail(e.to_string()))
}

/// The shapes nir needs to infer types: Conv `input_shape` (spatial dimensions; a single
/// integer for Conv1d) and Flatten `input_type`.
fn write_types(g: &mut GroupBuilder, graph: &Graph, verified: &Verified, id: crate::ir::NodeId) {
    let Some(&from) = graph.inputs(id).first() else { return };
    let input: Vec<i64> = verified.shape(from).dims().iter().map(|&d| d as i64).collect();
    match graph.op(id) {
        Op::Conv1d(_) => write_ints(g, "input_shape", &input[1..], true),
        Op::Conv2d(_) => write_ints(g, "input_shape", &input[1..], false),
        Op::Flatten { .. } => write_ints(g, "input_type", &input, false),
        _ => {}
    }
}

fn write_tensor(g: &mut GroupBuilder, name: &str, t: &Tensor) {
    let shape: Vec<u64> = t.dims().iter().map(|&d| d as u64).collect();
    let ds = g.create_dataset(name);
    if t.is_f32_exact() {
        let data: Vec<f32> = t.data().iter().map(|&v| v as f32).collect();
        ds.with_f32_data(&data).with_shape(&shape);
    } else {
        ds.with_f64_data(t.data()).with_shape(&shape);
    }
}

fn write_ints(g: &mut GroupBuilder, name: &str, v: &[i64], scalar: bool) {
    let ds = g.create_dataset(name).with_i64_data(v);
    if scalar && v.len() == 1 {
        ds.with_shape(&[]);
    } else {
        ds.with_shape(&[v.len() as u64]);
    }
}
