//! Resource limits checked at the gates before anything is allocated.
//!
//! Every size read from a file (tensor dimensions, element counts, node shapes, a target's
//! cores and neurons per core, a core map's neurons) is checked against these before
//! allocation. The defaults allow models far larger than any chip holds; `--max-memory`
//! raises or lowers them. The limits, for a budget of `B` bytes:
//!
//! | what | limit |
//! |---|---|
//! | elements of one tensor, input or output array (f64) | `B / 8` |
//! | neurons of one node per time step; neurons of one core type (`max_neurons`); neurons of a core map in all | `B / 64` |
//! | core positions of a target (chips × tiles × cores per tile) | `B / BYTES_PER_CORE_POSITION` and at most 2^24 |
//! | unrolled synapses of a model to map (a convolution feeding neurons stays a kernel and is not counted) | `B / BYTES_PER_SYNAPSE` |
//!
//! | nodes of one NIR file, at every nesting level, and at most one per 48 bytes of the file | [`MAX_NIR_NODES`] |
//! | edges of one NIR file, all graphs, and at most one per 2 bytes of the file | [`MAX_NIR_EDGES`] |
//!
//! Limits that are not about memory (2^24 core positions, 32-bit weights) live with the
//! types they protect (`spikeforge_targets::validate`).
//!
//! **What the budget does not bound.** Each limit applies to one allocation a file can ask
//! for, checked before it is made. The process as a whole is not metered: a model of many
//! tensors each within `B / 8` elements, the executor's per-sample state, the mapper's
//! intermediate matrices and the simulator's queues add up, so peak memory can be several
//! times `B` (a probe with `B` = 512 MB peaked at 1.2 GB). A `.snn` file's `full([...])`
//! tensors are each checked against the limit before they are allocated, but all of them
//! are built before the graph is verified. Cap the process with the operating system
//! (`ulimit -v`, cgroups) where that matters.

use spikeforge_targets::{CoreMap, TargetSpec};

/// Limits on what a model may ask the process to allocate.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Largest number of elements in one parameter tensor or input array.
    pub max_tensor_elements: usize,
    /// Largest number of neurons (elements) a node may produce per time step.
    pub max_node_elements: usize,
    /// The budget these limits were made from (bytes), as the user gave it.
    pub budget_bytes: u64,
}

/// Most nodes one NIR file may hold (all nesting levels): the bound on work when HDF5
/// hard links make one group a child of many parents.
pub const MAX_NIR_NODES: usize = 1 << 16;

/// Most edges one NIR file may hold (all graphs).
pub const MAX_NIR_EDGES: usize = 1 << 22;

/// Most characters of a string read from a file that a message quotes.
pub const MAX_QUOTED_CHARS: usize = 64;

/// `s` for quoting in a message: at most [`MAX_QUOTED_CHARS`] characters (then `…` and the
/// full length), control characters escaped, so a 16 MiB string is not echoed whole.
pub fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_QUOTED_CHARS).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX_QUOTED_CHARS).is_some() {
        out.push_str(&format!("… ({} bytes)", s.len()));
    }
    out
}

/// Default memory budget: 4 GiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 4 << 30;

/// Bytes the mapper and the simulator keep per core position of a target (coordinates,
/// core indices, placement occupancy, router ports and their queues): an upper estimate
/// used to refuse targets whose tables alone would exhaust the budget.
pub const BYTES_PER_CORE_POSITION: u64 = 512;

/// Bytes the mapper keeps per unrolled synapse (its sparse matrices while composing paths,
/// the axon tables of the core map, the encoded rows): an upper estimate.
pub const BYTES_PER_SYNAPSE: u64 = 32;

/// A size read from a file (or computed from such sizes) above a limit.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{what} is {need} {unit}, above the limit of {limit} (raise it with --max-memory)")]
pub struct LimitError {
    /// The file and field, e.g. `t.ron: core_types["big"].max_neurons`.
    pub what: String,
    pub need: String,
    pub unit: &'static str,
    pub limit: u64,
}

impl Limits {
    /// Limits for a memory budget in bytes: one f64 tensor may take the whole budget; a
    /// node's per-step state (several f64 per element) an eighth of it.
    pub fn from_max_memory(bytes: u64) -> Self {
        let elements = (bytes / 8).min(usize::MAX as u64) as usize;
        Limits { max_tensor_elements: elements, max_node_elements: (elements / 8).max(1), budget_bytes: bytes }
    }

    /// The budget these limits were made from (bytes).
    pub fn max_memory_bytes(&self) -> u64 {
        self.budget_bytes
    }

    /// The element count of an array of shape `dims` (overflow-checked), if it is within
    /// `max_tensor_elements`; `what` names the array in the error.
    pub fn check_elements(&self, what: &str, dims: &[usize]) -> Result<usize, LimitError> {
        let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        match n {
            Some(n) if n <= self.max_tensor_elements => Ok(n),
            _ => Err(LimitError {
                what: format!("{what} (shape {dims:?})"),
                need: n.map_or_else(|| "more than 2^64".into(), |n| n.to_string()),
                unit: "elements",
                limit: self.max_tensor_elements as u64,
            }),
        }
    }

    /// Checks a target description (before its cores are numbered): neurons per core type
    /// within `max_node_elements`, core positions within the budget.
    pub fn check_target(&self, spec: &TargetSpec, file: &str) -> Result<(), LimitError> {
        for k in &spec.core_types {
            if k.max_neurons as u64 > self.max_node_elements as u64 {
                return Err(LimitError {
                    what: format!("{file}: core_types[{:?}].max_neurons", k.name),
                    need: k.max_neurons.to_string(),
                    unit: "neurons",
                    limit: self.max_node_elements as u64,
                });
            }
        }
        let positions =
            [spec.grid.chips[0], spec.grid.chips[1], spec.noc.mesh[0], spec.noc.mesh[1], spec.noc.cores_per_tile]
                .iter()
                .fold(1u64, |a, &d| a.saturating_mul(d as u64));
        let limit = self.max_memory_bytes() / BYTES_PER_CORE_POSITION;
        if positions > limit {
            return Err(LimitError {
                what: format!(
                    "{file}: core positions (grid.chips {:?} × noc.mesh {:?} × noc.cores_per_tile {})",
                    spec.grid.chips, spec.noc.mesh, spec.noc.cores_per_tile
                ),
                need: positions.to_string(),
                unit: "positions",
                limit,
            });
        }
        Ok(())
    }

    /// Checks the unrolled synapse count of a model before the mapper builds its tables
    /// (a small convolution kernel over a large image unrolls into billions).
    pub fn check_synapses(&self, what: &str, synapses: u64) -> Result<(), LimitError> {
        let limit = self.max_memory_bytes() / BYTES_PER_SYNAPSE;
        if synapses > limit {
            return Err(LimitError { what: what.into(), need: synapses.to_string(), unit: "synapses", limit });
        }
        Ok(())
    }

    /// Checks a core map read from disk: its target, and its neurons in all (a core's
    /// neuron count is a number in the file, not data, so a small file can claim many; the
    /// simulator keeps state for each).
    pub fn check_core_map(&self, map: &CoreMap, file: &str) -> Result<(), LimitError> {
        self.check_target(&map.target, &format!("{file}: embedded target"))?;
        // Populations, and the cores' groups (which a file may repeat) counted separately.
        let populations: u64 = map.populations.iter().map(|p| p.n_neurons as u64).sum();
        let on_cores: u64 = map.cores.iter().flat_map(|c| &c.groups).map(|g| g.2 as u64).sum();
        let neurons = populations.max(on_cores);
        if neurons > self.max_node_elements as u64 {
            return Err(LimitError {
                what: format!("{file}: the core map's neuron count"),
                need: neurons.to_string(),
                unit: "neurons",
                limit: self.max_node_elements as u64,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_max_memory(DEFAULT_MAX_MEMORY_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TargetSpec {
        spikeforge_targets::parse_spec(spikeforge_targets::preset_text("test_2x2").expect("preset"), "t.ron")
            .expect("preset parses")
    }

    #[test]
    fn absurd_targets_are_refused_by_name() {
        let limits = Limits::default();
        assert_eq!(limits.check_target(&spec(), "t.ron"), Ok(()));
        let mut s = spec();
        s.core_types[0].max_neurons = 4_000_000_000;
        let e = limits.check_target(&s, "t.ron").unwrap_err();
        assert!(e.to_string().contains("core_types[\"tiny\"].max_neurons is 4000000000 neurons"), "{e}");
        let mut s = spec();
        s.noc.mesh = [1_000_000_000, 1_000_000_000];
        let e = limits.check_target(&s, "t.ron").unwrap_err();
        assert_eq!(e.need, "1000000000000000000");
        // A larger budget admits a larger target.
        let mut s = spec();
        s.noc.mesh = [4096, 4096];
        assert!(Limits::from_max_memory(1 << 30).check_target(&s, "t.ron").is_err());
        assert!(Limits::from_max_memory(16 << 30).check_target(&s, "t.ron").is_ok());
    }

    #[test]
    fn element_counts_overflow_into_an_error() {
        let l = Limits::from_max_memory(1 << 20);
        assert_eq!(l.check_elements("x", &[4, 4]), Ok(16));
        assert!(l.check_elements("x", &[usize::MAX, 2]).unwrap_err().to_string().contains("more than 2^64"));
        assert!(l.check_elements("x", &[1 << 20]).is_err());
    }
}
