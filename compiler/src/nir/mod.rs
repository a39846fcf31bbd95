//! NIR (HDF5) import and export.
//!
//! [`read_nir`] reads files written by `nir.write` of nir 1.0.x (root `version`; group
//! `node` with `type` = "NIRGraph", `nodes/<name>/…` and `edges`), flattens nested
//! graphs to `outer.inner` names, builds every op through [`Op::from_attrs`] and returns a
//! graph that passed [`Graph::verify`]. [`write_nir`] writes the nir 1.0.8 layout.
//!
//! Layers, one per file: `h5` (guarded HDF5 access: size checks before every read;
//! `h5_links` refuses soft and external links, which the HDF5 reader skips),
//! `parse` (the NIR layout into raw nodes), `flatten` (nested graphs), `build` (ops, shape
//! hints and checks, verification), `export` (writing).
//!
//! [`Op::from_attrs`]: crate::ir::Op::from_attrs
//! [`Graph::verify`]: crate::ir::Graph::verify

mod build;
mod error;
mod export;
mod flatten;
mod h5;
mod h5_links;
mod parse;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub use error::{supported, NirError};
pub use export::{to_bytes, write_nir, NIR_VERSION};

use crate::ir::Graph;
use crate::limits::Limits;

/// Reads a NIR file into a verified graph.
pub fn read_nir(path: &Path, limits: &Limits) -> Result<Graph, NirError> {
    let file = path.display().to_string();
    let io = |source| NirError::Io { file: file.clone(), source };
    let len = std::fs::metadata(path).map_err(io)?.len();
    let budget = (limits.max_tensor_elements as u64).saturating_mul(8);
    if len > budget {
        return Err(NirError::FileTooLarge { file, bytes: len, limit: budget });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    read_nir_bytes(bytes, &file, limits)
}

/// Reads NIR bytes into a verified graph; `source` names them in errors (a path, or
/// `<stdin>`).
pub fn read_nir_bytes(bytes: Vec<u8>, source: &str, limits: &Limits) -> Result<Graph, NirError> {
    let current = RefCell::new(String::new());
    // hdf5-pure checks what it parses, but a reader of untrusted bytes must never take the
    // process down: a panic inside it is reported as a corrupt file.
    let result = catch_unwind(AssertUnwindSafe(|| import(bytes, source, limits, &current)));
    result.unwrap_or_else(|_| Err(NirError::ReaderPanic { file: source.into(), object: current.take() }))
}

fn import(bytes: Vec<u8>, source: &str, limits: &Limits, current: &RefCell<String>) -> Result<Graph, NirError> {
    let file = h5::open(bytes, source)?;
    let h5 = h5::H5 { file, source: source.into(), limits, current };
    let root = parse::read_root(&h5)?;
    let flat = flatten::flatten(root, source)?;
    build::build(flat, source, limits)
}
