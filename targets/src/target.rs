//! [`Target`]: a validated target with its cores numbered, for indexing without checks.

use crate::chip::{CoreSpec, Layout, TargetSpec};
use crate::error::TargetError;
use crate::mesh::{self, CoreCoord, CoreId, Hops};
use crate::validate::validate;

/// A validated target. The only way to get one is [`Target::from_spec`] (or the loaders),
/// so every invariant of [`crate::validate`] holds and a [`CoreId`] below
/// [`Target::num_cores`] always indexes a core.
#[derive(Clone, Debug)]
pub struct Target {
    spec: TargetSpec,
    file: String,
    coords: Vec<CoreCoord>,
    kinds: Vec<u32>,
    /// Per core position (chip, tile, slot) in numbering order: the core there, if any.
    slot_core: Vec<Option<u32>>,
}

impl Target {
    /// Validate `spec` (all problems are reported at once) and number its cores.
    /// `file` names the source in messages.
    pub fn from_spec(spec: TargetSpec, file: &str) -> Result<Target, TargetError> {
        let problems = validate(&spec);
        if !problems.is_empty() {
            return Err(TargetError::Invalid { file: file.to_string(), problems });
        }
        let [mx, my] = spec.noc.mesh;
        let per_tile = spec.noc.cores_per_tile as usize;
        let type_of = |name: &str| spec.core_types.iter().position(|k| k.name == name).map(|i| i as u32);
        // Core type per slot of one chip, tiles row-major then slots.
        let slot_kinds: Vec<Option<u32>> = match &spec.layout {
            Layout::Uniform(name) => vec![type_of(name); (mx * my) as usize * per_tile],
            Layout::PerTile(list) => {
                list.iter().flat_map(|t| std::iter::repeat_n(t.as_deref().and_then(type_of), per_tile)).collect()
            }
            Layout::PerCore(list) => list.iter().map(|t| t.as_deref().and_then(type_of)).collect(),
        };
        let (mut coords, mut kinds, mut slot_core) = (Vec::new(), Vec::new(), Vec::new());
        for cy in 0..spec.grid.chips[1] {
            for cx in 0..spec.grid.chips[0] {
                for (i, kind) in slot_kinds.iter().enumerate() {
                    let tile = (i / per_tile) as u32;
                    let slot = (i % per_tile) as u32;
                    match kind {
                        Some(kind) => {
                            slot_core.push(Some(coords.len() as u32));
                            coords.push(CoreCoord { chip: [cx, cy], tile: [tile % mx, tile / mx], slot });
                            kinds.push(*kind);
                        }
                        None => slot_core.push(None),
                    }
                }
            }
        }
        Ok(Target { spec, file: file.to_string(), coords, kinds, slot_core })
    }

    /// The description this target was built from.
    pub fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    /// Name of the file (or other source) it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The target's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Number of cores (all chips).
    pub fn num_cores(&self) -> u32 {
        self.coords.len() as u32
    }

    /// All core ids in order.
    pub fn core_ids(&self) -> impl ExactSizeIterator<Item = CoreId> + '_ {
        (0..self.num_cores()).map(CoreId)
    }

    /// The core type of `id`. Panics if `id` is not a core of this target.
    pub fn core(&self, id: CoreId) -> &CoreSpec {
        &self.spec.core_types[self.kinds[id.index()] as usize]
    }

    /// Index into `spec().core_types` of `id`'s type.
    pub fn core_type_index(&self, id: CoreId) -> usize {
        self.kinds[id.index()] as usize
    }

    /// Physical position of `id`.
    pub fn coord(&self, id: CoreId) -> CoreCoord {
        self.coords[id.index()]
    }

    /// The core at a position, if there is one.
    pub fn core_at(&self, c: CoreCoord) -> Option<CoreId> {
        let [gx, gy] = self.spec.grid.chips;
        let [mx, my] = self.spec.noc.mesh;
        if c.chip[0] >= gx || c.chip[1] >= gy || c.tile[0] >= mx || c.tile[1] >= my {
            return None;
        }
        if c.slot >= self.spec.noc.cores_per_tile {
            return None;
        }
        let per_tile = self.spec.noc.cores_per_tile as usize;
        let chip = (c.chip[1] * gx + c.chip[0]) as usize;
        let tile = chip * (mx * my) as usize + (c.tile[1] * mx + c.tile[0]) as usize;
        self.slot_core[tile * per_tile + c.slot as usize].map(CoreId)
    }

    /// Number of cores of each core type, in `spec().core_types` order.
    pub fn cores_per_type(&self) -> Vec<u32> {
        let mut n = vec![0; self.spec.core_types.len()];
        for &k in &self.kinds {
            n[k as usize] += 1;
        }
        n
    }

    /// Hops of the XY route between two cores.
    pub fn hops(&self, from: CoreId, to: CoreId) -> Hops {
        mesh::xy_hops(&self.coord(from), &self.coord(to), self.spec.noc.mesh)
    }

    /// Latency of one packet from `from` to `to` on an idle network: no cost on the same
    /// core; otherwise one router pass per router visited (hops + 1) plus each link's
    /// latency (east-west, north-south or chip-to-chip).
    pub fn route_cycles(&self, from: CoreId, to: CoreId) -> u64 {
        if from == to {
            return 0;
        }
        let h = self.hops(from, to);
        let n = &self.spec.noc;
        (h.total() as u64 + 1) * n.router_cycles as u64
            + h.ew as u64 * n.link_cycles_ew as u64
            + h.ns as u64 * n.link_cycles_ns as u64
            + h.chip as u64 * self.spec.grid.chip_link_cycles as u64
    }

    /// Energy of moving one packet from `from` to `to`: hop energies by link kind. `None`
    /// when the route uses a link kind whose energy the target does not give.
    pub fn route_energy_pj(&self, from: CoreId, to: CoreId) -> Option<f64> {
        let h = self.hops(from, to);
        let e = &self.spec.energy;
        let part = |count: u32, per: Option<f64>| {
            if count == 0 {
                Some(0.0)
            } else {
                per.map(|p| p * count as f64)
            }
        };
        Some(part(h.ew, e.hop_ew_pj)? + part(h.ns, e.hop_ns_pj)? + part(h.chip, e.chip_hop_pj)?)
    }

    /// Σ max_neurons over all cores.
    pub fn total_neurons(&self) -> u64 {
        self.sum(|k| k.max_neurons as u64)
    }

    /// Σ synapse_memory_bits over all cores.
    pub fn total_synapse_memory_bits(&self) -> u64 {
        self.sum(|k| k.synapse_memory_bits)
    }

    /// Σ max_neurons·neuron_state_bits over all cores.
    pub fn total_neuron_memory_bits(&self) -> u64 {
        self.sum(|k| k.max_neurons as u64 * k.neuron_state_bits as u64)
    }

    /// Σ over cores of `f(core type)`. Validation bounds every per-core memory figure
    /// (below 2^39 bits) and the core count (2^24), so the total fits in a `u64`; it is
    /// computed in `u128` and saturates rather than wrap should those bounds ever change.
    fn sum(&self, f: impl Fn(&CoreSpec) -> u64) -> u64 {
        let total: u128 =
            self.cores_per_type().iter().zip(&self.spec.core_types).map(|(&n, k)| n as u128 * f(k) as u128).sum();
        u64::try_from(total).unwrap_or(u64::MAX)
    }
}
