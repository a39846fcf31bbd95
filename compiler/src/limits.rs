//! Resource limits checked at the gates before anything is allocated.
//!
//! Every size read from a file (tensor dimensions, element counts, node shapes) is checked
//! against these before allocation. The defaults allow models far larger than any chip
//! holds; `--max-memory` raises or lowers them.

/// Limits on what a model may ask the process to allocate.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest number of elements in one parameter tensor or input array.
    pub max_tensor_elements: usize,
    /// Largest number of neurons (elements) a node may produce per time step.
    pub max_node_elements: usize,
}

/// Default memory budget: 4 GiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 4 << 30;

impl Limits {
    /// Limits for a memory budget in bytes: one f64 tensor may take the whole budget; a
    /// node's per-step state (several f64 per element) an eighth of it.
    pub fn from_max_memory(bytes: u64) -> Self {
        let elements = (bytes / 8).min(usize::MAX as u64) as usize;
        Limits { max_tensor_elements: elements, max_node_elements: (elements / 8).max(1) }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_max_memory(DEFAULT_MAX_MEMORY_BYTES)
    }
}
