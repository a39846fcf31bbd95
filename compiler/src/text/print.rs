//! The `.snn` printer: one statement per node in evaluation order, small tensors inline,
//! large ones in one safetensors sidecar. Parsing the output gives back the same graph,
//! bit for bit, with the same recurrent edges.

use std::fmt::Write as _;
use std::path::Path;

use super::sidecar::safetensors_bytes;
use super::values::INT_PARAMS;
use crate::ir::{Attr, Graph, NodeId, Tensor};

/// How to print.
#[derive(Clone, Debug)]
pub struct PrintOptions {
    /// Non-uniform tensors with at most this many elements are written inline; larger
    /// ones go to the sidecar.
    pub max_inline_elements: usize,
    /// File name of the safetensors sidecar, relative to the `.snn` file.
    pub sidecar_name: String,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions { max_inline_elements: 16, sidecar_name: "model.safetensors".into() }
    }
}

/// A printed model: the `.snn` text and, when some tensor was too large to inline, the
/// sidecar's file name and bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Printed {
    pub text: String,
    pub sidecar: Option<(String, Vec<u8>)>,
}

/// Preferred line width; longer statements put one attribute per line.
const WIDTH: usize = 100;

/// Prints a graph. Nodes come in evaluation order: the Input nodes in creation order, then
/// the others in the order of [`Graph::schedule`] (creation order if the graph cannot be
/// scheduled), so that within a cycle exactly the recurrent edges refer forward.
pub fn print_snn(graph: &Graph, opts: &PrintOptions) -> Printed {
    let inputs = graph.input_nodes();
    let rest: Vec<NodeId> = match graph.schedule() {
        Ok(s) => s.order,
        Err(_) => graph.node_ids().collect(),
    };
    let order = inputs.iter().copied().chain(rest.into_iter().filter(|n| !inputs.contains(n)));
    let mut text = match graph.semantics {
        Some(s) => format!("snn 1 semantics={s}\n"),
        None => String::from("snn 1\n"),
    };
    let mut sidecar: Vec<(String, &Tensor)> = Vec::new();
    for n in order {
        let node = graph.node(n);
        let mut attrs = Vec::new();
        for (param, value) in node.op.attrs() {
            let v = match &value {
                Attr::Ints(v)
                    if v.len() == 1
                        && !matches!(param, "shape" | "stride" | "padding" | "dilation" | "kernel_size") =>
                {
                    v[0].to_string()
                }
                Attr::Ints(v) => list(v.iter().map(|x| x.to_string())),
                Attr::Tensor(t) => match tensor_text(t, opts.max_inline_elements) {
                    Some(s) => s,
                    None => {
                        let key = format!("{}.{param}", node.name);
                        let s = format!("file({}, {})", quote(&opts.sidecar_name), quote(&key));
                        let t = node.op.tensors().into_iter().find(|(p, _)| *p == param).expect("tensor attribute").1;
                        sidecar.push((key, t));
                        s
                    }
                },
            };
            debug_assert!(INT_PARAMS.contains(&param) == matches!(value, Attr::Ints(_)));
            attrs.push(format!("{param}={v}"));
        }
        let args: Vec<String> = graph.inputs(n).into_iter().map(|i| name(graph.name(i))).collect();
        let head = format!("{} = {}", name(&node.name), node.op.kind());
        let args = format!("({})", args.join(", "));
        let one_line = format!("{head}<{}>{args}", attrs.join(", "));
        if one_line.len() <= WIDTH || attrs.len() < 2 {
            text.push_str(&one_line);
        } else {
            let _ = write!(text, "{head}<\n    {},\n>{args}", attrs.join(",\n    "));
        }
        text.push('\n');
    }
    let sidecar = (!sidecar.is_empty()).then(|| {
        let bytes = safetensors_bytes(&sidecar).expect("views are built from consistent shapes and data");
        (opts.sidecar_name.clone(), bytes)
    });
    Printed { text, sidecar }
}

/// Writes `path` and, if needed, its sidecar `<stem>.safetensors` beside it, each
/// atomically (the sidecar first, so the `.snn` never refers to a missing file).
pub fn write_snn(graph: &Graph, path: &Path) -> std::io::Result<()> {
    let stem = path.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let opts = PrintOptions { sidecar_name: format!("{stem}.safetensors"), ..PrintOptions::default() };
    let printed = print_snn(graph, &opts);
    if let Some((file, bytes)) = &printed.sidecar {
        let dir = path.parent().unwrap_or(Path::new(""));
        crate::atomic::write_atomically(&dir.join(file), bytes)?;
    }
    crate::atomic::write_atomically(path, printed.text.as_bytes())
}

/// Inline text for a tensor, or `None` if it belongs in the sidecar.
fn tensor_text(t: &Tensor, max_inline: usize) -> Option<String> {
    let dims = list(t.dims().iter().map(|d| d.to_string()));
    if t.numel() == 0 {
        return Some(format!("full({dims}, 0.0)"));
    }
    if let Some(v) = t.uniform_value() {
        return Some(if t.dims().is_empty() { float(v) } else { format!("full({dims}, {})", float(v)) });
    }
    if t.numel() > max_inline {
        return None;
    }
    let flat = nested(t.dims(), t.data());
    if flat.len() <= WIDTH || t.dims().len() < 2 {
        return Some(flat);
    }
    let rows = t.data().chunks(t.numel() / t.dims()[0]).map(|r| nested(&t.dims()[1..], r));
    Some(format!("[\n        {},\n    ]", rows.collect::<Vec<_>>().join(",\n        ")))
}

fn nested(dims: &[usize], data: &[f64]) -> String {
    match dims {
        [] => float(data[0]),
        [_] => list(data.iter().map(|&v| float(v))),
        [n, rest @ ..] => list(data.chunks(data.len() / n).map(|c| nested(rest, c))),
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// Rust's shortest round-trip form: parsing it gives back the same f64, sign of zero
/// included; always has a `.` or an exponent, so it never reads as an integer.
fn float(v: f64) -> String {
    format!("{v:?}")
}

/// A node name, bare when it is `[A-Za-z0-9_][A-Za-z0-9_.]*`, quoted otherwise.
pub(crate) fn name(s: &str) -> String {
    let bare = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if bare {
        s.to_string()
    } else {
        quote(s)
    }
}

pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
