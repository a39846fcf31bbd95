//! Guarded access to an HDF5 file through `hdf5-pure`: opening with signature and
//! truncation checks, and reading datasets only after their declared size has been checked
//! against the [`Limits`]. Errors from the HDF5 reader are translated into [`NirError`]s
//! naming the file and the object path.

use std::cell::RefCell;

use hdf5_pure::{DType, Dataset, Error as H5Error, File, FormatError, Group, VlenStringReadOptions};

use super::h5_links::{self, Link, LinkKind};
use super::NirError;
use crate::ir::{Shape, Tensor};
use crate::limits::{excerpt, Limits};

/// The HDF5 format signature every HDF5 file starts with.
const SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Deflate's maximum compression ratio: no dataset holding written data can decompress
/// to more than this many times the size of the file.
const MAX_EXPANSION: u64 = 1032;

/// A dataset's contents, classified by what NIR stores in it.
#[derive(Clone, Debug)]
pub(super) enum Value {
    /// Floating-point data (f32 values are exact in f64).
    Float(Tensor),
    /// Integer data with its dimensions.
    Int { dims: Vec<usize>, data: Vec<i64> },
    /// String data (fixed or variable length) with its dimensions.
    Str { dims: Vec<usize>, data: Vec<String> },
}

impl Value {
    pub fn dims(&self) -> &[usize] {
        match self {
            Value::Float(t) => t.dims(),
            Value::Int { dims, .. } | Value::Str { dims, .. } => dims,
        }
    }
}

/// An open file with the context every error needs.
pub(super) struct H5<'a> {
    pub file: File,
    pub source: String,
    pub limits: &'a Limits,
    /// The object being read, so a panic inside the reader can still be located.
    pub current: &'a RefCell<String>,
}

/// Opens HDF5 bytes, refusing non-HDF5 data and files shorter than their superblock says.
pub(super) fn open(bytes: Vec<u8>, source: &str) -> Result<File, NirError> {
    let file = source.to_string();
    let len = bytes.len() as u64;
    if len < SIGNATURE.len() as u64 && SIGNATURE.starts_with(&bytes) && !bytes.is_empty() {
        return Err(NirError::Truncated { file, detail: format!("only {len} bytes, the start of an HDF5 signature") });
    }
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(NirError::NotHdf5 { file });
    }
    let f = File::from_bytes(bytes).map_err(|e| translate(source, "", e))?;
    let sb = f.superblock();
    // The end-of-file address counts from the start of the file, user block included (the
    // HDF5 library compares it with the file's size as is), unlike every other address.
    let end = sb.eof_address;
    if end > len {
        return Err(NirError::Truncated {
            file,
            detail: format!("the file has {len} bytes, but its HDF5 superblock says it ends at byte {end}"),
        });
    }
    let links = h5_links::non_hard_links(f.as_bytes(), f.superblock());
    if let Some(link) = links.first() {
        return Err(link_error(source, link, links.len() - 1));
    }
    Ok(f)
}

/// The error for a non-hard link, which `hdf5-pure` would skip (or read as an undefined
/// address): names and paths escaped and shortened.
fn link_error(source: &str, link: &Link, others: usize) -> NirError {
    let quote = |s: &[u8]| excerpt(&String::from_utf8_lossy(s));
    let detail = match &link.kind {
        LinkKind::Soft { target } => format!("a soft HDF5 link to `{}`", quote(target)),
        LinkKind::External { file, object } => {
            format!("an external HDF5 link to `{}` in file `{}`", quote(object), quote(file))
        }
        LinkKind::UserDefined { code } => format!("an HDF5 link of user-defined type {code}"),
    };
    let object = link.path.split('/').map(excerpt).collect::<Vec<_>>().join("/");
    NirError::Link { file: source.into(), object, detail, others }
}

/// Translates an `hdf5-pure` error at `object` into the user's terms.
pub(super) fn translate(source: &str, object: &str, e: H5Error) -> NirError {
    let file = source.to_string();
    let object = object.to_string();
    match e {
        // A read this large cannot be a short file: the reader followed an address that is
        // undefined (all ones), as soft and external links, which NIR never writes, leave it.
        H5Error::Format(FormatError::UnexpectedEof { expected, .. }) if expected >= 1 << 62 => NirError::Corrupt {
            file,
            object,
            detail: "names an object at an undefined address: a soft or external HDF5 link (NIR files \
                     hold hard links only) or a corrupt address"
                .into(),
        },
        H5Error::Format(FormatError::SignatureNotFound) => NirError::NotHdf5 { file },
        H5Error::Format(FormatError::UnexpectedEof { expected, available }) => NirError::Truncated {
            file,
            detail: format!(
                "{}data ends early (needed {expected} bytes, {available} available)",
                if object.is_empty() { String::new() } else { format!("{object}: ") }
            ),
        },
        H5Error::Format(FormatError::UnsupportedFilter(id)) => NirError::BadDataset {
            file,
            object,
            detail: format!(
                "compressed with HDF5 filter {id}, which the pure-Rust HDF5 reader cannot decode \
                 (gzip/deflate, shuffle, LZF, scale-offset and Fletcher-32 are supported)"
            ),
        },
        H5Error::Format(FormatError::AllocationFailed { values, .. }) => {
            NirError::BadDataset { file, object, detail: format!("could not allocate {values} values") }
        }
        e => NirError::Corrupt { file, object, detail: e.to_string() },
    }
}

impl H5<'_> {
    pub fn err(&self, object: &str, e: H5Error) -> NirError {
        translate(&self.source, object, e)
    }

    fn bad(&self, object: &str, detail: impl Into<String>) -> NirError {
        NirError::BadDataset { file: self.source.clone(), object: object.into(), detail: detail.into() }
    }

    fn enter(&self, object: &str) {
        object.clone_into(&mut self.current.borrow_mut());
    }

    pub fn group(&self, path: &str) -> Result<Group, NirError> {
        self.enter(path);
        self.file.group(path).map_err(|e| self.err(path, e))
    }

    /// Member names of a group, sorted (the order h5py and `nir.read` use): (subgroups,
    /// datasets).
    pub fn members(&self, group: &Group, path: &str) -> Result<(Vec<String>, Vec<String>), NirError> {
        self.enter(path);
        let mut groups = group.groups().map_err(|e| self.err(path, e))?;
        let mut datasets = group.datasets().map_err(|e| self.err(path, e))?;
        groups.sort();
        datasets.sort();
        Ok((groups, datasets))
    }

    /// Reads the dataset `name` of `group` (object path `path`), checking its declared
    /// size against the limits before any data is read.
    pub fn read(&self, group: &Group, name: &str, path: &str) -> Result<Value, NirError> {
        self.enter(path);
        let ds = group.dataset(name).map_err(|e| self.err(path, e))?;
        self.read_dataset(&ds, path)
    }

    fn read_dataset(&self, ds: &Dataset, path: &str) -> Result<Value, NirError> {
        let dims64 = ds.shape().map_err(|e| self.err(path, e))?;
        let count = dims64.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
        let limit = self.limits.max_tensor_elements;
        let n = match count {
            Some(n) if n <= limit as u64 => n as usize,
            _ => {
                return Err(NirError::TooLarge {
                    file: self.source.clone(),
                    object: path.into(),
                    elements: count.map_or_else(|| "more than 2^64".into(), |n| n.to_string()),
                    dims: dims64,
                    limit,
                })
            }
        };
        let dims: Vec<usize> = dims64.iter().map(|&d| d as usize).collect();
        // Chunks that were never written read as fill values, so a small corrupt file could
        // otherwise ask for gigabytes within the element limit.
        let width = ds.element_size().map_err(|e| self.err(path, e))?;
        let bytes = (n as u64).saturating_mul(width);
        let len = self.file.file_size();
        if bytes > len.saturating_mul(MAX_EXPANSION) {
            return Err(self.bad(
                path,
                format!(
                    "declares {n} values ({bytes} bytes), more than a {len}-byte file can hold even \
                     compressed; the file is corrupt or the data was never written"
                ),
            ));
        }
        let dtype = ds.dtype().map_err(|e| self.err(path, e))?;
        let value = match dtype {
            DType::F32 | DType::F64 => {
                let data = ds.read_f64().map_err(|e| self.err(path, e))?;
                self.check_len(path, n, data.len())?;
                Value::Float(Tensor::new(Shape(dims), data).map_err(|e| self.bad(path, e.to_string()))?)
            }
            DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::U8 | DType::U16 | DType::U32 => {
                let data = ds.read_i64().map_err(|e| self.err(path, e))?;
                self.check_len(path, n, data.len())?;
                Value::Int { dims, data }
            }
            DType::U64 => {
                let data = ds.read_u64().map_err(|e| self.err(path, e))?;
                self.check_len(path, n, data.len())?;
                let data = data
                    .into_iter()
                    .map(|v| i64::try_from(v).map_err(|_| self.bad(path, format!("integer {v} is out of range"))))
                    .collect::<Result<_, _>>()?;
                Value::Int { dims, data }
            }
            DType::VariableLengthString => {
                let budget = limit.saturating_mul(8);
                let opts = VlenStringReadOptions::new().with_max_elements(n).with_max_payload_bytes(budget);
                let data = ds.read_vlen_strings(opts).map_err(|e| self.err(path, e))?;
                self.check_len(path, n, data.len())?;
                Value::Str { dims, data }
            }
            DType::String => {
                if width.checked_mul(n as u64).is_none_or(|b| b > limit as u64 * 8) {
                    return Err(self.bad(path, format!("{n} strings of {width} bytes exceed the memory limit")));
                }
                let data = ds.read_string().map_err(|e| self.err(path, e))?;
                self.check_len(path, n, data.len())?;
                Value::Str { dims, data }
            }
            other => return Err(self.bad(path, format!("has datatype {other}; NIR stores numbers and strings"))),
        };
        Ok(value)
    }

    fn check_len(&self, path: &str, expected: usize, got: usize) -> Result<(), NirError> {
        if expected == got {
            Ok(())
        } else {
            Err(NirError::Corrupt {
                file: self.source.clone(),
                object: path.into(),
                detail: format!("its shape declares {expected} elements but {got} were read"),
            })
        }
    }

    /// Reads a single string (a scalar or one-element string dataset).
    pub fn read_str(&self, group: &Group, name: &str, path: &str) -> Result<String, NirError> {
        match self.read(group, name, path)? {
            Value::Str { mut data, .. } if data.len() == 1 => Ok(data.remove(0)),
            Value::Str { dims, .. } => Err(self.bad(path, format!("expected one string, found shape {dims:?}"))),
            _ => Err(self.bad(path, "expected a string")),
        }
    }
}
