//! Reads the NIR layout out of an open HDF5 file into a tree of raw nodes: root `node`
//! group with `type` = "NIRGraph", `nodes/<name>/` groups each with a `type` string and
//! parameter datasets, and `edges` (n×2 strings). Nothing is interpreted yet beyond the
//! node type; parameter datasets are kept as read.

use std::cell::Cell;
use std::collections::BTreeMap;

use super::h5::{Value, H5};
use super::NirError;
use crate::ir::OpKind;
use crate::limits::{excerpt, MAX_NIR_EDGES, MAX_NIR_NODES};

/// Nested graphs deeper than this are refused (a cycle of links could otherwise recurse
/// without end).
const MAX_DEPTH: usize = 64;

/// Major NIR releases whose layout this reader knows.
const SUPPORTED_VERSIONS: [&str; 2] = ["0", "1"];

/// Fewest bytes one distinct node takes in an HDF5 file: its group's object header and the
/// object header of its `type` dataset are each larger. A file of `B` bytes holding more
/// than `B / MIN_NODE_BYTES` nodes reuses groups through hard links (one group a child of
/// many parents), which would make a small file expand exponentially when read as a tree.
const MIN_NODE_BYTES: u64 = 48;

/// Nodes and edges still allowed while reading one file.
struct Budget {
    nodes: Cell<u64>,
    edges: Cell<u64>,
    file_bytes: u64,
}

impl Budget {
    fn new(file_bytes: u64) -> Budget {
        let (nodes, edges) = (Self::limit(file_bytes, "nodes"), Self::limit(file_bytes, "edges"));
        Budget { nodes: Cell::new(nodes), edges: Cell::new(edges), file_bytes }
    }

    /// Bytes per node or edge at the least, and the absolute cap.
    fn rule(what: &str) -> (u64, usize) {
        if what == "nodes" {
            (MIN_NODE_BYTES, MAX_NIR_NODES)
        } else {
            (2, MAX_NIR_EDGES)
        }
    }

    fn limit(file_bytes: u64, what: &str) -> u64 {
        let (per, cap) = Self::rule(what);
        (file_bytes / per).min(cap as u64)
    }

    /// Counts `n` more nodes (subgroups of a graph's `nodes`, before they are read) or edges.
    fn take(&self, h5: &H5, path: &str, what: &str, n: u64) -> Result<(), NirError> {
        let left = if what == "nodes" { &self.nodes } else { &self.edges };
        let (per, cap) = Self::rule(what);
        let limit = Self::limit(self.file_bytes, what);
        match left.get().checked_sub(n) {
            Some(rest) => {
                left.set(rest);
                Ok(())
            }
            None => Err(NirError::BadDataset {
                file: h5.source.clone(),
                object: path.into(),
                detail: if limit == cap as u64 {
                    format!("the file holds more than {cap} {what} in all, the most spikeforge reads")
                } else {
                    format!(
                        "the file holds more than {limit} {what} in all, more than a {}-byte file can hold \
                         (one per {per} bytes) unless HDF5 hard links share groups; a NIR graph is a tree",
                        self.file_bytes
                    )
                },
            }),
        }
    }
}

pub(super) struct RawGraph {
    pub nodes: Vec<RawNode>,
    /// Edges as written, with the object path of the `edges` dataset.
    pub edges: Vec<(String, String)>,
    pub edges_path: String,
}

pub(super) struct RawNode {
    pub name: String,
    /// HDF5 object path of the node's group, e.g. `node/nodes/1`.
    pub path: String,
    pub body: Body,
}

pub(super) enum Body {
    Leaf { kind: OpKind, values: BTreeMap<String, Value> },
    Graph(RawGraph),
}

impl RawGraph {
    pub fn find(&self, name: &str) -> Option<&RawNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// Reads the root graph at `/node`.
pub(super) fn read_root(h5: &H5) -> Result<RawGraph, NirError> {
    let root = h5.file.root();
    let (groups, datasets) = h5.members(&root, "/")?;
    if !groups.iter().any(|g| g == "node") {
        return Err(NirError::NotNir {
            file: h5.source.clone(),
            detail: "the HDF5 file has no `node` group (nir.write stores the graph there)".into(),
        });
    }
    if !datasets.iter().any(|d| d == "version") {
        return Err(NirError::NotNir {
            file: h5.source.clone(),
            detail: "the HDF5 file has no `version` dataset (nir.write stores the NIR release there)".into(),
        });
    }
    let version = h5.read_str(&root, "version", "version")?;
    if !SUPPORTED_VERSIONS.iter().any(|v| version.split('.').next() == Some(v)) {
        return Err(NirError::NotNir {
            file: h5.source.clone(),
            detail: format!("NIR version `{}`; this build reads NIR 0.x and 1.x files", excerpt(&version)),
        });
    }
    let budget = Budget::new(h5.file.file_size());
    budget.take(h5, "node", "nodes", 1)?;
    match read_node(h5, &budget, "node", "node", 0)?.body {
        Body::Graph(g) => Ok(g),
        Body::Leaf { kind, .. } => Err(NirError::NotNir {
            file: h5.source.clone(),
            detail: format!("the root node is a {kind}, expected a NIRGraph"),
        }),
    }
}

fn node_err(h5: &H5, name: &str, path: &str, detail: impl Into<String>) -> NirError {
    NirError::Node { file: h5.source.clone(), node: name.into(), object: path.into(), detail: detail.into() }
}

fn read_node(h5: &H5, budget: &Budget, name: &str, path: &str, depth: usize) -> Result<RawNode, NirError> {
    if depth > MAX_DEPTH {
        return Err(node_err(h5, name, path, format!("graphs are nested more than {MAX_DEPTH} deep")));
    }

    let group = h5.group(path)?;
    let (groups, datasets) = h5.members(&group, path)?;
    if !datasets.iter().any(|d| d == "type") {
        return Err(node_err(h5, name, path, "has no `type` dataset naming its NIR node type"));
    }
    let type_name = h5.read_str(&group, "type", &format!("{path}/type"))?;
    if type_name == "NIRGraph" {
        return read_graph(h5, budget, name, path, depth, &groups, &datasets).map(|g| RawNode {
            name: name.into(),
            path: path.into(),
            body: Body::Graph(g),
        });
    }
    let Some(kind) = OpKind::from_name(&type_name) else {
        let type_name = excerpt(&type_name);
        return Err(NirError::UnknownNodeType { file: h5.source.clone(), object: path.into(), type_name });
    };
    let mut values = BTreeMap::new();
    for d in datasets.iter().filter(|d| *d != "type") {
        values.insert(d.clone(), h5.read(&group, d, &format!("{path}/{d}"))?);
    }
    for g in &groups {
        let gpath = format!("{path}/{g}");
        match g.as_str() {
            "metadata" => {} // free-form, not kept
            // Older writers stored a node's types as {"input": shape} dictionaries.
            "input_type" | "output_type" => {
                let sub = h5.group(&gpath)?;
                let (_, entries) = h5.members(&sub, &gpath)?;
                if let [only] = entries.as_slice() {
                    values.insert(g.clone(), h5.read(&sub, only, &format!("{gpath}/{only}"))?);
                } else {
                    return Err(node_err(
                        h5,
                        name,
                        &gpath,
                        format!("expected one shape in `{g}`, found {}", entries.len()),
                    ));
                }
            }
            _ => return Err(node_err(h5, name, &gpath, format!("unexpected group `{g}` in a {kind} node"))),
        }
    }
    Ok(RawNode { name: name.into(), path: path.into(), body: Body::Leaf { kind, values } })
}

fn read_graph(
    h5: &H5,
    budget: &Budget,
    name: &str,
    path: &str,
    depth: usize,
    groups: &[String],
    datasets: &[String],
) -> Result<RawGraph, NirError> {
    if !groups.iter().any(|g| g == "nodes") {
        return Err(node_err(h5, name, path, "NIRGraph has no `nodes` group"));
    }
    if !datasets.iter().any(|d| d == "edges") {
        return Err(node_err(h5, name, path, "NIRGraph has no `edges` dataset"));
    }
    let nodes_path = format!("{path}/nodes");
    let nodes_group = h5.group(&nodes_path)?;
    let (node_names, stray) = h5.members(&nodes_group, &nodes_path)?;
    if let Some(s) = stray.first() {
        return Err(node_err(h5, s, &format!("{nodes_path}/{s}"), "is a dataset, expected a node group"));
    }
    budget.take(h5, &nodes_path, "nodes", node_names.len() as u64)?;
    let mut nodes = Vec::with_capacity(node_names.len());
    for n in &node_names {
        nodes.push(read_node(h5, budget, n, &format!("{nodes_path}/{n}"), depth + 1)?);
    }
    let edges_path = format!("{path}/edges");
    let group = h5.group(path)?;
    let edges = match h5.read(&group, "edges", &edges_path)? {
        v if v.dims().iter().product::<usize>() == 0 => Vec::new(),
        Value::Str { dims, data } if (dims.len() == 2 && dims[1] == 2) || dims == [2] => {
            budget.take(h5, &edges_path, "edges", (data.len() / 2) as u64)?;
            data.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect()
        }
        v => {
            return Err(NirError::BadDataset {
                file: h5.source.clone(),
                object: edges_path,
                detail: format!("expected an n×2 array of node names, found shape {:?} of {}", v.dims(), kind_of(&v)),
            })
        }
    };
    Ok(RawGraph { nodes, edges, edges_path })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Float(_) => "floats",
        Value::Int { .. } => "integers",
        Value::Str { .. } => "strings",
    }
}
