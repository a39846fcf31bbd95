//! Errors of NIR import and export. Every variant names the file; those about one part of
//! it also name the HDF5 object path (`node/nodes/1/tau`) and, where there is one, the node.

use crate::ir::{IrError, OpError, OpKind};

#[derive(Debug, thiserror::Error)]
pub enum NirError {
    #[error("{file}: cannot read the file: {source}")]
    Io { file: String, source: std::io::Error },

    #[error(
        "{file}: the file has {bytes} bytes, more than the memory limit of {limit} bytes (raise it with --max-memory)"
    )]
    FileTooLarge { file: String, bytes: u64, limit: u64 },

    #[error("{file}: not an HDF5 file (bad signature); a NIR file is HDF5, as written by `nir.write`")]
    NotHdf5 { file: String },

    #[error("{file}: truncated: {detail}")]
    Truncated { file: String, detail: String },

    #[error("{file}: corrupt HDF5 file{}: {detail}", at(.object))]
    Corrupt { file: String, object: String, detail: String },

    /// A soft, external or user-defined HDF5 link at `object`; `detail` says which and
    /// where it points, `others` counts the file's other non-hard links.
    #[error("{file}: {object} is {detail}, not a hard link; NIR files hold hard links only{}", more(*.others))]
    Link { file: String, object: String, detail: String, others: usize },

    #[error("{file}: not a NIR file: {detail}")]
    NotNir { file: String, detail: String },

    #[error("{file}: {object}: {detail}")]
    BadDataset { file: String, object: String, detail: String },

    #[error("{file}: {object} declares shape {dims:?} = {elements} elements, above the limit of {limit} elements per tensor (raise it with --max-memory)")]
    TooLarge { file: String, object: String, dims: Vec<u64>, elements: String, limit: usize },

    #[error("{file}: unknown node type `{type_name}` at {object} (supported: {})", supported())]
    UnknownNodeType { file: String, object: String, type_name: String },

    #[error("{file}: node `{node}` ({object}): {source}")]
    Param { file: String, node: String, object: String, source: Box<OpError> },

    #[error("{file}: node `{node}` ({object}): {detail}")]
    Node { file: String, node: String, object: String, detail: String },

    /// `edge` is the edge as written, e.g. "`lin` → `ghost`"; `index` its row in `object`.
    #[error("{file}: edge {index} {edge} ({object}): {detail}")]
    Edge { file: String, object: String, index: usize, edge: String, detail: String },

    #[error("{file}: {source}")]
    Graph { file: String, source: Box<IrError> },

    #[error("{file}: the graph does not verify:\n{}", list(.errors))]
    Verify { file: String, errors: Vec<IrError> },

    #[error("{file}: the file could not be parsed (the HDF5 reader failed on malformed data{}); the file is corrupt", at(.object))]
    ReaderPanic { file: String, object: String },

    #[error("cannot write {file}: {detail}")]
    Write { file: String, detail: String },
}

fn at(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!(" at {object}")
    }
}

fn more(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => " (the file has 1 more)".into(),
        n => format!(" (the file has {n} more)"),
    }
}

fn list(errors: &[IrError]) -> String {
    errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n")
}

/// The NIR type strings the importer reads.
pub fn supported() -> String {
    let mut names: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
    names.push("NIRGraph");
    names.join(", ")
}

/// The parameter an [`OpError`] is about.
pub(crate) fn op_error_param(e: &OpError) -> &str {
    match e {
        OpError::Missing { param, .. } => param,
        OpError::Unknown { param, .. }
        | OpError::WrongType { param, .. }
        | OpError::BadShape { param, .. }
        | OpError::NonFinite { param, .. }
        | OpError::Invalid { param, .. } => param,
    }
}
