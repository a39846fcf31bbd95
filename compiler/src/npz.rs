//! `.npz` files (numpy's `savez`): a zip archive of `.npy` arrays, one per key, entry name
//! `<key>.npy`. Read with any numpy: `np.load("m.npz")["fc1.weight"]`.
//!
//! Reading accepts stored and deflated entries (`np.savez` and `np.savez_compressed`), pure
//! Rust. Before anything is decompressed, every entry's declared size is checked against
//! [`Limits`] (one array's bytes, and all entries together within the memory budget); an
//! entry that inflates beyond its declared size is refused, so a zip bomb allocates at most
//! what the limits allow. Each array then goes through [`arrays::parse_npy_f64`] (shape
//! limit, truncation). Writing stores each tensor as `<f4` when every value is exact in
//! f32, else `<f8` (like the safetensors exports), uncompressed, with fixed timestamps: the
//! same tensors give the same bytes. Files are written atomically.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::arrays;
use crate::ir::Tensor;
use crate::limits::Limits;

#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid .npz (zip) file: {reason}")]
    Zip { path: PathBuf, reason: String },
    #[error("{path}: entry `{entry}`: {reason}")]
    Entry { path: PathBuf, entry: String, reason: String },
    #[error(
        "{path}: entry `{entry}` declares {bytes} bytes, above the limit of {limit} bytes (raise it with --max-memory)"
    )]
    TooLarge { path: PathBuf, entry: String, bytes: u64, limit: u64 },
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Bytes one `.npy` entry may declare: the largest tensor as f64 plus a version-1 header.
fn entry_limit(limits: &Limits) -> u64 {
    (limits.max_tensor_elements as u64).saturating_mul(8).saturating_add(1 << 16)
}

/// Reads every array of an `.npz` file as f64 tensors, keyed by entry name without `.npy`,
/// in archive order.
pub fn read_npz(path: &Path, limits: &Limits) -> Result<Vec<(String, Tensor)>, NpzError> {
    let bytes = std::fs::read(path).map_err(|source| NpzError::Io { path: path.into(), source })?;
    parse_npz(&bytes, path, limits)
}

/// Parses `.npz` bytes; `path` is only used in messages.
pub fn parse_npz(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Vec<(String, Tensor)>, NpzError> {
    let zip_err = |e: zip::result::ZipError| NpzError::Zip { path: path.into(), reason: e.to_string() };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let per_entry = entry_limit(limits);
    let budget = (limits.max_tensor_elements as u64).saturating_mul(8).max(per_entry);
    let mut total = 0u64;
    let mut out = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let name = entry.name().to_string();
        let fail = |reason: String| NpzError::Entry { path: path.into(), entry: name.clone(), reason };
        if entry.is_dir() {
            continue;
        }
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(fail("not a `.npy` array (an .npz holds `<key>.npy` entries)".into()));
        };
        let declared = entry.size();
        total = total.saturating_add(declared);
        if declared > per_entry || total > budget {
            let (bytes, limit) = if declared > per_entry { (declared, per_entry) } else { (total, budget) };
            return Err(NpzError::TooLarge { path: path.into(), entry: name, bytes, limit });
        }
        let mut data = Vec::with_capacity(declared as usize);
        (&mut entry).take(declared + 1).read_to_end(&mut data).map_err(|e| fail(e.to_string()))?;
        if data.len() as u64 != declared {
            return Err(fail(format!("holds more than the {declared} bytes its header declares")));
        }
        let shown = PathBuf::from(format!("{}: entry `{name}`", path.display()));
        let a = arrays::parse_npy_f64(&data, &shown, limits).map_err(|e| fail(strip_path(&e.to_string(), &shown)))?;
        let t = Tensor::new(a.shape, a.data).expect("arrays returns data of its shape");
        out.push((key.to_string(), t));
    }
    Ok(out)
}

/// The message of an [`arrays::ArrayError`] without the path prefix we gave it.
fn strip_path(message: &str, shown: &Path) -> String {
    let prefix = format!("{}: ", shown.display());
    message.strip_prefix(&prefix).unwrap_or(message).to_string()
}

/// Serialises named tensors to `.npz` bytes (stored entries `<key>.npy`, in the given order).
pub fn npz_bytes(tensors: &[(String, &Tensor)]) -> Result<Vec<u8>, String> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (key, t) in tensors {
        let npy = if t.is_f32_exact() {
            let v: Vec<f32> = t.data().iter().map(|&x| x as f32).collect();
            arrays::to_npy_bytes(t.dims(), &v)
        } else {
            arrays::to_npy_bytes(t.dims(), t.data())
        };
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(DateTime::default())
            .large_file(npy.len() as u64 >= u32::MAX as u64);
        zip.start_file(format!("{key}.npy"), options).map_err(|e| format!("`{key}`: {e}"))?;
        zip.write_all(&npy).map_err(|e| format!("`{key}`: {e}"))?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Writes named tensors to an `.npz` file atomically.
pub fn write_npz(path: &Path, tensors: &[(String, &Tensor)]) -> Result<(), NpzError> {
    let bytes = npz_bytes(tensors).map_err(|reason| NpzError::Write { path: path.into(), reason })?;
    crate::atomic::write_atomically(path, &bytes)
        .map_err(|e| NpzError::Write { path: path.into(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Vec<usize>, data: Vec<f64>) -> Tensor {
        Tensor::new(shape, data).unwrap()
    }

    #[test]
    fn round_trip_keeps_keys_shapes_and_values() {
        let a = t(vec![2, 3], vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
        let b = t(vec![3], vec![0.1, 2.5, -1.0 / 3.0]); // not f32-exact: stored as f8
        let s = Tensor::scalar(4.0);
        let bytes = npz_bytes(&[("fc1.weight".into(), &a), ("fc1.score".into(), &b), ("x".into(), &s)]).unwrap();
        assert_eq!(bytes, npz_bytes(&[("fc1.weight".into(), &a), ("fc1.score".into(), &b), ("x".into(), &s)]).unwrap());
        let back = parse_npz(&bytes, Path::new("m.npz"), &Limits::default()).unwrap();
        let keys: Vec<&str> = back.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["fc1.weight", "fc1.score", "x"]);
        assert!(back[0].1.bit_eq(&a) && back[1].1.bit_eq(&b) && back[2].1.bit_eq(&s));
    }

    #[test]
    fn deflated_entries_are_read() {
        let a = t(vec![4], vec![1.0, 2.0, 3.0, 4.0]);
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        zip.start_file("w.npy", opts).unwrap();
        zip.write_all(&arrays::to_npy_bytes(&[4], a.data())).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let back = parse_npz(&bytes, Path::new("c.npz"), &Limits::default()).unwrap();
        assert_eq!(back[0].0, "w");
        assert!(back[0].1.bit_eq(&a));
    }

    #[test]
    fn bad_archives_are_refused_with_the_entry_named() {
        let a = t(vec![64], vec![1.0; 64]);
        let bytes = npz_bytes(&[("w".into(), &a)]).unwrap();
        let e = parse_npz(&bytes[..bytes.len() / 2], Path::new("cut.npz"), &Limits::default()).unwrap_err();
        assert!(matches!(e, NpzError::Zip { .. }) && e.to_string().starts_with("cut.npz: "), "{e}");
        let e = parse_npz(b"not a zip at all", Path::new("x.npz"), &Limits::default()).unwrap_err();
        assert!(matches!(e, NpzError::Zip { .. }), "{e}");
        // 2^15 f32 = 128 KiB: over 16 elements' 128 bytes plus 64 KiB of header room.
        let small = Limits { max_tensor_elements: 16, max_node_elements: 16, budget_bytes: 128 };
        let big = t(vec![1 << 15], vec![1.0; 1 << 15]);
        let bytes = npz_bytes(&[("big".into(), &big)]).unwrap();
        let e = parse_npz(&bytes, Path::new("b.npz"), &small).unwrap_err();
        assert!(matches!(e, NpzError::TooLarge { .. }) && e.to_string().contains("big.npy"), "{e}");
        // A non-.npy entry, and a truncated .npy inside a valid zip.
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("notes.txt", SimpleFileOptions::default()).unwrap();
        zip.write_all(b"hello").unwrap();
        let e = parse_npz(&zip.finish().unwrap().into_inner(), Path::new("n.npz"), &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("`notes.txt`: not a `.npy` array"), "{e}");
        let npy = arrays::to_npy_bytes(&[4], &[1.0f64, 2.0, 3.0, 4.0]);
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("w.npy", SimpleFileOptions::default()).unwrap();
        zip.write_all(&npy[..npy.len() - 8]).unwrap();
        let e = parse_npz(&zip.finish().unwrap().into_inner(), Path::new("t.npz"), &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.npz: entry `w.npy`: truncated: the header promises 32 bytes of data, the file has 24"
        );
    }
}
