//! `mask(path="m.safetensors", layers=[…])`: applies pruning masks made elsewhere (e.g. by a
//! training framework's regrow step), and [`export_masks`], which writes masks and scores
//! for one.
//!
//! The file is a safetensors file or an `.npz` (numpy's `savez`; see `crate::npz`), chosen by
//! extension ([`MaskFormat`]; any other extension is refused), keyed by NIR node name:
//! `<node>.weight` (or `<node>`) holds a mask of the weight's exact shape, any dtype; zero =
//! pruned, anything else = kept. Keys `<node>.score` (written by [`export_masks`]) are
//! ignored. Both formats hold the same tensors, f32 when exact, else f64.
//!
//! Needs: a verified graph. Establishes: every masked weight is exactly 0 where its mask is
//! 0 and unchanged elsewhere; biases and neuron parameters are untouched. Errors name the
//! offending key: a mask key for a node that is missing or has no weights, a shape mismatch,
//! or (with `layers=[…]`) a listed layer the file has no mask for. Without `layers`, weight
//! layers the file does not mention are left alone and listed in the report.

use std::path::{Path, PathBuf};

use safetensors::SafeTensors;

use super::args::Args;
use super::quantize::select_layers;
use super::spec::{PassSpec, SpecError};
use super::{Pass, PassContext, PassError, PassReport};
use crate::ir::{Graph, Tensor};
use crate::limits::Limits;

#[derive(Clone, Debug, PartialEq)]
pub struct Mask {
    pub path: PathBuf,
    pub layers: Option<Vec<String>>,
}

impl Mask {
    pub fn from_spec(spec: &PassSpec) -> Result<Mask, SpecError> {
        let mut a = Args::new(spec);
        let path = a.string("path")?.ok_or_else(|| {
            SpecError::new("`mask` needs `path=\"masks.safetensors\"` (or `.npz`)", spec.span.clone())
        })?;
        MaskFormat::of(Path::new(&path)).map_err(|m| SpecError::new(m, spec.span.clone()))?;
        let layers = a.strings("layers")?;
        a.finish(&["path", "layers"])?;
        Ok(Mask { path: PathBuf::from(path), layers })
    }
}

/// The file format of masks and scores, by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskFormat {
    Safetensors,
    Npz,
}

impl MaskFormat {
    /// `.safetensors` or `.npz` (any case); anything else is an error naming the file.
    pub fn of(path: &Path) -> Result<MaskFormat, String> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("safetensors") => Ok(MaskFormat::Safetensors),
            Some("npz") => Ok(MaskFormat::Npz),
            _ => Err(format!(
                "mask file `{}` must end in `.safetensors` or `.npz` (the format is chosen by extension)",
                path.display()
            )),
        }
    }
}

/// Reads every tensor of a mask file (safetensors or `.npz`) as f64, keyed by name (sorted).
pub fn read_masks(path: &Path, limits: &Limits) -> Result<Vec<(String, Tensor)>, String> {
    if MaskFormat::of(path)? == MaskFormat::Npz {
        let mut all = crate::npz::read_npz(path, limits).map_err(|e| e.to_string())?;
        all.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = all.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("`{}` holds key `{}` twice", path.display(), w[0].0));
        }
        return Ok(all);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read mask file `{}`: {e}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| format!("`{}` is not a valid safetensors file: {e}", path.display()))?;
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    names
        .into_iter()
        .map(|k| {
            let view = st.tensor(&k).map_err(|e| format!("`{}`: tensor `{k}`: {e}", path.display()))?;
            let t = crate::text::sidecar::convert(&view, limits)
                .map_err(|m| format!("`{}`: tensor `{k}`: {m}", path.display()))?;
            Ok((k, t))
        })
        .collect()
}

/// Applies masks (as read by [`read_masks`]) to `graph`; returns report lines.
pub fn apply_masks(
    graph: &mut Graph,
    masks: &[(String, Tensor)],
    layers: &Option<Vec<String>>,
    file: &str,
) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    let mut masked = Vec::new();
    for (key, m) in masks {
        if key.ends_with(".score") {
            continue;
        }
        let name = key.strip_suffix(".weight").filter(|n| graph.find(n).is_some()).unwrap_or(key);
        let Some(n) = graph.find(name) else {
            return Err(format!("mask `{key}` in `{file}`: the graph has no node `{name}`"));
        };
        if layers.as_ref().is_some_and(|l| !l.iter().any(|x| x == name)) {
            continue;
        }
        let kind = graph.op(n).kind();
        let Some(w) = graph.op_mut(n).weight_mut() else {
            return Err(format!("mask `{key}` in `{file}`: node `{name}` is a {kind} and has no weights"));
        };
        if w.dims() != m.dims() {
            return Err(format!(
                "mask `{key}` in `{file}` has shape {:?}, but the weight of `{name}` has shape {:?}",
                m.dims(),
                w.dims()
            ));
        }
        let mut cut = 0;
        for (v, &k) in w.data_mut().iter_mut().zip(m.data()) {
            if k == 0.0 && *v != 0.0 {
                *v = 0.0;
                cut += 1;
            }
        }
        let zeros = w.data().iter().filter(|v| **v == 0.0).count();
        let numel = w.numel();
        lines.push(format!(
            "`{name}`: masked {cut} more weights; {:.1} % sparse ({zeros}/{numel} zero)",
            100.0 * zeros as f64 / numel.max(1) as f64
        ));
        masked.push(name.to_string());
    }
    if let Some(list) = layers {
        if let Some(missing) = list.iter().find(|l| !masked.contains(l)) {
            return Err(format!("`{file}` has no mask `{missing}.weight` (or `{missing}`)"));
        }
    }
    let unmasked: Vec<String> = graph
        .node_ids()
        .filter(|&n| graph.op(n).weight().is_some())
        .map(|n| graph.name(n).to_string())
        .filter(|n| !masked.contains(n) && layers.as_ref().is_none_or(|l| l.contains(n)))
        .collect();
    if !unmasked.is_empty() {
        lines.push(format!("no mask for: {}", unmasked.join(", ")));
    }
    Ok(lines)
}

/// Writes, atomically, a mask per weight layer (`<node>.weight`: 1.0 where the weight is
/// nonzero, else 0.0, the weight's shape) and each given score (`<node>.score`), as
/// safetensors or `.npz` by extension. Scores index channels as the pruning pass saw them:
/// after `cleanup` deleted some, masks have the smaller shapes, scores the original length.
pub fn export_masks(graph: &Graph, scores: &[(String, Tensor)], path: &Path) -> Result<(), String> {
    let mut owned: Vec<(String, Tensor)> = graph
        .node_ids()
        .filter_map(|n| graph.op(n).weight().map(|w| (n, w)))
        .map(|(n, w)| {
            let m: Vec<f64> = w.data().iter().map(|&v| if v != 0.0 { 1.0 } else { 0.0 }).collect();
            (format!("{}.weight", graph.name(n)), Tensor::new(w.dims().to_vec(), m).expect("same length"))
        })
        .collect();
    for (node, s) in scores {
        owned.push((format!("{node}.score"), s.clone()));
    }
    write_tensors(&owned, path)
}

/// Writes named tensors atomically to a safetensors or `.npz` file, by extension ([`MaskFormat`];
/// F32 when exact, else F64).
pub fn write_tensors(tensors: &[(String, Tensor)], path: &Path) -> Result<(), String> {
    let entries: Vec<(String, &Tensor)> = tensors.iter().map(|(k, t)| (k.clone(), t)).collect();
    if MaskFormat::of(path)? == MaskFormat::Npz {
        return crate::npz::write_npz(path, &entries).map_err(|e| e.to_string());
    }
    let bytes = crate::text::sidecar::safetensors_bytes(&entries).map_err(|e| format!("encoding tensors: {e}"))?;
    crate::atomic::write_atomically(path, &bytes).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

impl Pass for Mask {
    fn name(&self) -> &'static str {
        "mask"
    }

    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
        let fail = |reason: String| PassError::Failed { pass: "mask".into(), reason };
        if let Some(l) = &self.layers {
            select_layers(graph, &Some(l.clone()), "mask")?;
        }
        let masks = read_masks(&self.path, ctx.limits).map_err(fail)?;
        let file = self.path.display().to_string();
        let lines = apply_masks(graph, &masks, &self.layers, &file).map_err(fail)?;
        let mut report = PassReport::new("mask");
        for l in lines {
            report.line(l);
        }
        Ok(report)
    }
}
