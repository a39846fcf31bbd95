//! Sidecar tensor files of the `.snn` format: `.npy` (one array) and `.safetensors`
//! (many, by key). Shapes are checked against [`Limits`] before any element is converted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::arrays::{self, ArrayError};
use crate::ir::Tensor;
use crate::limits::Limits;

/// Why a `file(…)` value could not be read; `Path` errors point at the path string, `Key`
/// errors at the key string.
#[derive(Debug)]
pub(crate) enum SidecarError {
    Path { message: String, notes: Vec<String> },
    Key { message: String, notes: Vec<String> },
}

fn path_err(message: String) -> SidecarError {
    SidecarError::Path { message, notes: vec![] }
}

/// Reads sidecars relative to the `.snn` file's directory; each file is read once.
pub(crate) struct Sidecars<'a> {
    base_dir: &'a Path,
    limits: &'a Limits,
    cache: HashMap<PathBuf, Result<Vec<u8>, String>>,
}

impl<'a> Sidecars<'a> {
    pub fn new(base_dir: &'a Path, limits: &'a Limits) -> Self {
        Sidecars { base_dir, limits, cache: HashMap::new() }
    }

    pub fn load(&mut self, path: &str, key: Option<&str>) -> Result<Tensor, SidecarError> {
        let full = self.base_dir.join(path);
        if path.ends_with(".npy") {
            if key.is_some() {
                return Err(SidecarError::Key {
                    message: format!("`{path}` is a `.npy` file, which holds one array: it takes no key"),
                    notes: vec![format!("write file(\"{path}\")")],
                });
            }
            let a = arrays::read_npy_f64(&full, self.limits).map_err(|e| match e {
                ArrayError::Io { source, .. } => {
                    path_err(format!("cannot read sidecar `{path}` ({}): {source}", full.display()))
                }
                e => path_err(format!("sidecar {e}")),
            })?;
            return Ok(Tensor::new(a.shape, a.data).expect("arrays returns data of its shape"));
        }
        if !path.ends_with(".safetensors") {
            return Err(path_err(format!("sidecar `{path}` must be a `.npy` or `.safetensors` file")));
        }
        let limits = self.limits;
        let bytes = self.cache.entry(full.clone()).or_insert_with(|| {
            let cannot = |e: std::io::Error| format!("cannot read sidecar `{path}` ({}): {e}", full.display());
            // Read whole, so its length is checked first.
            let len = std::fs::metadata(&full).map_err(cannot)?.len();
            if len > limits.max_memory_bytes() {
                return Err(format!(
                    "sidecar `{path}` is {len} bytes, above the limit of {} bytes (raise it with --max-memory)",
                    limits.max_memory_bytes()
                ));
            }
            std::fs::read(&full).map_err(cannot)
        });
        let bytes = bytes.as_ref().map_err(|m| path_err(m.clone()))?;
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| path_err(format!("sidecar `{path}` is not a valid safetensors file: {e}")))?;
        let mut names = st.names();
        names.sort();
        let listing = || {
            let shown: Vec<&str> = names.iter().take(12).copied().collect();
            let more = if names.len() > 12 { format!(" and {} more", names.len() - 12) } else { String::new() };
            format!("`{path}` holds: {}{more}", shown.join(", "))
        };
        let Some(key) = key else {
            return Err(SidecarError::Path {
                message: format!("`{path}` holds named tensors: say which one with file(\"{path}\", \"key\")"),
                notes: vec![listing()],
            });
        };
        let view = st.tensor(key).map_err(|_| SidecarError::Key {
            message: format!("sidecar `{path}` has no tensor `{key}`"),
            notes: vec![listing()],
        })?;
        convert(&view, limits)
            .map_err(|m| SidecarError::Key { message: format!("tensor `{key}` in `{path}`: {m}"), notes: vec![] })
    }
}

/// Converts a safetensors view to f64 after checking its size; F16/BF16 and the 4- to
/// 8-bit float formats are refused (they would need a conversion we do not guess at).
pub(crate) fn convert(view: &TensorView<'_>, limits: &Limits) -> Result<Tensor, String> {
    let shape = view.shape().to_vec();
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    match n {
        Some(n) if n <= limits.max_tensor_elements => {}
        _ => {
            return Err(format!(
                "shape {shape:?} holds {} elements, above the limit of {} (raise it with --max-memory)",
                n.map_or_else(|| "more than 2^64".into(), |n| n.to_string()),
                limits.max_tensor_elements
            ))
        }
    }
    let d = view.data();
    macro_rules! le {
        ($t:ty) => {
            d.chunks_exact(std::mem::size_of::<$t>())
                .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk of the type's size")) as f64)
                .collect::<Vec<f64>>()
        };
    }
    let data = match view.dtype() {
        Dtype::F64 => le!(f64),
        Dtype::F32 => le!(f32),
        Dtype::I64 => le!(i64),
        Dtype::U64 => le!(u64),
        Dtype::I32 => le!(i32),
        Dtype::U32 => le!(u32),
        Dtype::I16 => le!(i16),
        Dtype::U16 => le!(u16),
        Dtype::I8 => le!(i8),
        Dtype::U8 => le!(u8),
        Dtype::BOOL => d.iter().map(|&b| f64::from(u8::from(b != 0))).collect(),
        other => return Err(format!("dtype {other} is not supported (store F32, F64, an integer type or BOOL)")),
    };
    Tensor::new(shape, data).map_err(|e| e.to_string())
}

/// Serialises named tensors to safetensors bytes: F32 when every value survives the round
/// trip through f32, else F64.
pub(crate) fn safetensors_bytes(entries: &[(String, &Tensor)]) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = entries
        .iter()
        .map(|(key, t)| {
            let (dtype, bytes) = if t.is_f32_exact() {
                (Dtype::F32, t.data().iter().flat_map(|&v| (v as f32).to_le_bytes()).collect())
            } else {
                (Dtype::F64, t.data().iter().flat_map(|&v| v.to_le_bytes()).collect())
            };
            (key.clone(), dtype, t.dims().to_vec(), bytes)
        })
        .collect();
    let views = encoded
        .iter()
        .map(|(k, dtype, shape, bytes)| Ok((k.as_str(), TensorView::new(*dtype, shape.clone(), bytes)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    safetensors::serialize(views, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trip_keeps_f64_and_f32_values() {
        let a = Tensor::new(vec![2, 2], vec![0.5, -1.0, 3.0, 1e-3]).unwrap();
        let b = Tensor::new(vec![3], vec![0.25, -0.0, 8.0]).unwrap();
        let bytes = safetensors_bytes(&[("a.weight".into(), &a), ("b.bias".into(), &b)]).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("a.weight").unwrap().dtype(), Dtype::F64, "1e-3 is not f32-exact");
        assert_eq!(st.tensor("b.bias").unwrap().dtype(), Dtype::F32);
        let limits = Limits::default();
        assert!(convert(&st.tensor("a.weight").unwrap(), &limits).unwrap().bit_eq(&a));
        assert!(convert(&st.tensor("b.bias").unwrap(), &limits).unwrap().bit_eq(&b));
    }

    #[test]
    fn sidecar_files_are_checked_by_length_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let a = Tensor::new(vec![64], vec![0.5; 64]).unwrap();
        std::fs::write(dir.path().join("w.safetensors"), safetensors_bytes(&[("w".into(), &a)]).unwrap()).unwrap();
        std::fs::write(dir.path().join("w.npy"), crate::arrays::to_npy_bytes(&[64], &[0.5f64; 64])).unwrap();
        let fits = Limits::default();
        assert!(Sidecars::new(dir.path(), &fits).load("w.safetensors", Some("w")).unwrap().bit_eq(&a));
        let small = Limits::from_max_memory(128);
        for (path, key) in [("w.safetensors", Some("w")), ("w.npy", None)] {
            match Sidecars::new(dir.path(), &small).load(path, key) {
                Err(SidecarError::Path { message, .. }) => {
                    assert!(message.contains("above the limit of"), "{message}")
                }
                other => panic!("{path}: expected a size error, got {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_large_shapes_and_half_floats() {
        let bytes = vec![0u8; 8 * 4 * 4];
        let view = TensorView::new(Dtype::F32, vec![8, 4], &bytes).unwrap();
        let tiny = Limits { max_tensor_elements: 16, max_node_elements: 16, budget_bytes: 128 };
        assert!(convert(&view, &tiny).unwrap_err().contains("32 elements, above the limit of 16"));
        let view = TensorView::new(Dtype::F16, vec![64], &bytes).unwrap();
        assert!(convert(&view, &Limits::default()).unwrap_err().contains("F16"));
    }
}
