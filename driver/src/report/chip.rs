//! The chip as the report draws it: every core of the target with its usage (from the
//! core map) against its capacities, and the loaded links (from the stats) on the mesh of
//! tiles. Coordinates are global tiles: chips side by side, `x` east, `y` north.

use anyhow::{bail, Result};
use spikeforge_simulator::LinkLoad;
use spikeforge_targets::chip::Energy;
use spikeforge_targets::coremap::CoreMap;
use spikeforge_targets::Target;

/// A resource the heatmap colours cores by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Neurons,
    SynapseMemory,
    InAxons,
    OutAxons,
}

impl Resource {
    pub const ALL: [Resource; 4] = [Resource::Neurons, Resource::SynapseMemory, Resource::InAxons, Resource::OutAxons];

    pub fn label(self) -> &'static str {
        match self {
            Resource::Neurons => "neurons",
            Resource::SynapseMemory => "synapse memory",
            Resource::InAxons => "in-axons",
            Resource::OutAxons => "out-axons",
        }
    }
}

/// One core of the target (used or not).
#[derive(Clone, Debug, PartialEq)]
pub struct CoreCell {
    /// `c12`.
    pub core: String,
    /// `chip(0,0)/tile(1,2)/0`.
    pub coord: String,
    pub tile: [u32; 2],
    pub slot: u32,
    /// Holds part of the program.
    pub used: bool,
    /// Names of the layers (populations) with neurons on the core, in model order.
    pub layers: Vec<String>,
    pub neurons: u32,
    pub max_neurons: u32,
    pub synapse_bits: u64,
    pub synapse_bits_capacity: u64,
    pub in_axons: u32,
    pub in_axons_capacity: u32,
    pub out_axons: u32,
    pub out_axons_capacity: u32,
    pub routing_entries: u32,
    pub routing_entries_capacity: Option<u32>,
}

impl CoreCell {
    /// Used / capacity in [0, 1] (0 for a zero capacity).
    pub fn fraction(&self, r: Resource) -> f64 {
        let (used, cap) = match r {
            Resource::Neurons => (self.neurons as f64, self.max_neurons as f64),
            Resource::SynapseMemory => (self.synapse_bits as f64, self.synapse_bits_capacity as f64),
            Resource::InAxons => (self.in_axons as f64, self.in_axons_capacity as f64),
            Resource::OutAxons => (self.out_axons as f64, self.out_axons_capacity as f64),
        };
        if cap > 0.0 {
            (used / cap).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Direction of a link out of a router.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    East,
    West,
    North,
    South,
}

impl Dir {
    fn parse(s: &str) -> Option<Dir> {
        Some(match s {
            "east" => Dir::East,
            "west" => Dir::West,
            "north" => Dir::North,
            "south" => Dir::South,
            _ => return None,
        })
    }

    /// Tile step `[dx, dy]` (y grows north).
    pub fn step(self) -> [i64; 2] {
        match self {
            Dir::East => [1, 0],
            Dir::West => [-1, 0],
            Dir::North => [0, 1],
            Dir::South => [0, -1],
        }
    }
}

/// A link that carried packets during the run.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkView {
    /// As the stats name it: `(x,y)→east`.
    pub name: String,
    pub from: [u32; 2],
    pub to: [u32; 2],
    pub dir: Dir,
    /// Crosses a chip boundary.
    pub chip_link: bool,
    pub packets: u64,
    pub busy_cycles: u64,
    /// Busy cycles / cycles of the whole run.
    pub utilisation: f64,
}

#[derive(Clone, Debug)]
pub struct ChipView {
    /// Global mesh of tiles `[width, height]`.
    pub grid: [u32; 2],
    /// Tiles per chip `[x, y]`.
    pub chip_mesh: [u32; 2],
    pub cores_per_tile: u32,
    /// Every core of the target, in core-id order.
    pub cores: Vec<CoreCell>,
    /// Loaded links, as the stats list them.
    pub links: Vec<LinkView>,
    /// The target's per-event energy figures.
    pub energy: Energy,
}

impl ChipView {
    /// The chip of `map`, with `links` from a run of it (`stats_file` names their source in
    /// messages).
    pub fn new(map: &CoreMap, links: &[LinkLoad], stats_file: &str) -> Result<ChipView> {
        let target = Target::from_spec(map.target.clone(), "the core map's target")?;
        let spec = target.spec();
        let mesh = spec.noc.mesh;
        let grid = [spec.grid.chips[0] * mesh[0], spec.grid.chips[1] * mesh[1]];
        let mut cores: Vec<CoreCell> = target
            .core_ids()
            .map(|id| {
                let c = target.coord(id);
                let k = target.core(id);
                let t = c.global_tile(mesh);
                CoreCell {
                    core: id.to_string(),
                    coord: c.to_string(),
                    tile: [t[0] as u32, t[1] as u32],
                    slot: c.slot,
                    used: false,
                    layers: Vec::new(),
                    neurons: 0,
                    max_neurons: k.max_neurons,
                    synapse_bits: 0,
                    synapse_bits_capacity: k.synapse_memory_bits,
                    in_axons: 0,
                    in_axons_capacity: k.in_axons,
                    out_axons: 0,
                    out_axons_capacity: k.out_axons,
                    routing_entries: 0,
                    routing_entries_capacity: k.routing_entries,
                }
            })
            .collect();
        for p in &map.cores {
            // A validated map only uses cores of its target.
            let cell = &mut cores[p.core.index()];
            cell.used = true;
            let mut pops: Vec<u32> = p.groups.iter().map(|g| g.0).collect();
            pops.sort_unstable();
            pops.dedup();
            cell.layers = pops.iter().map(|&q| map.populations[q as usize].name.clone()).collect();
            cell.neurons = p.usage.neurons;
            cell.synapse_bits = p.usage.synapse_bits;
            cell.in_axons = p.usage.in_axons;
            cell.out_axons = p.usage.out_axons;
            cell.routing_entries = p.usage.routing_entries;
        }
        let links = links.iter().map(|l| link_view(l, grid, mesh, stats_file)).collect::<Result<Vec<_>>>()?;
        Ok(ChipView {
            grid,
            chip_mesh: mesh,
            cores_per_tile: spec.noc.cores_per_tile,
            cores,
            links,
            energy: spec.energy.clone(),
        })
    }

    pub fn used_cores(&self) -> impl Iterator<Item = &CoreCell> {
        self.cores.iter().filter(|c| c.used)
    }
}

/// Parses `(x,y)→east` and checks both ends are tiles of the mesh.
fn link_view(l: &LinkLoad, grid: [u32; 2], mesh: [u32; 2], file: &str) -> Result<LinkView> {
    let parsed = (|| {
        let rest = l.link.strip_prefix('(')?;
        let (xy, dir) = rest.split_once(")→")?;
        let (x, y) = xy.split_once(',')?;
        Some(([x.trim().parse::<u32>().ok()?, y.trim().parse::<u32>().ok()?], Dir::parse(dir)?))
    })();
    let Some((from, dir)) = parsed else {
        bail!("{file}: link `{}` is not of the form (x,y)→east|west|north|south", l.link);
    };
    let [dx, dy] = dir.step();
    let to = [from[0] as i64 + dx, from[1] as i64 + dy];
    let inside = |p: [i64; 2]| p[0] >= 0 && p[1] >= 0 && p[0] < grid[0] as i64 && p[1] < grid[1] as i64;
    if !inside([from[0] as i64, from[1] as i64]) || !inside(to) {
        bail!(
            "{file}: link `{}` leaves the {}×{} mesh of tiles of the core map's target \
             (are these statistics of a different map?)",
            l.link,
            grid[0],
            grid[1]
        );
    }
    let to = [to[0] as u32, to[1] as u32];
    let chip_link = from[0] / mesh[0] != to[0] / mesh[0] || from[1] / mesh[1] != to[1] / mesh[1];
    Ok(LinkView {
        name: l.link.clone(),
        from,
        to,
        dir,
        chip_link,
        packets: l.packets,
        busy_cycles: l.busy_cycles,
        utilisation: l.utilisation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> LinkLoad {
        LinkLoad { link: name.into(), packets: 3, busy_cycles: 6, utilisation: 0.5 }
    }

    #[test]
    fn links_parse_and_are_checked_against_the_mesh() {
        let v = link_view(&load("(1,2)→east"), [4, 4], [2, 4], "s.json").unwrap();
        assert_eq!((v.from, v.to, v.dir, v.chip_link), ([1, 2], [2, 2], Dir::East, true));
        let v = link_view(&load("(0,0)→north"), [4, 4], [2, 4], "s.json").unwrap();
        assert_eq!((v.to, v.chip_link), ([0, 1], false));
        let e = link_view(&load("(3,0)→east"), [4, 4], [4, 4], "s.json").unwrap_err().to_string();
        assert!(e.contains("leaves the 4×4 mesh"), "{e}");
        let e = link_view(&load("3,0 east"), [4, 4], [4, 4], "s.json").unwrap_err().to_string();
        assert!(e.contains("s.json: link `3,0 east` is not of the form"), "{e}");
    }
}
