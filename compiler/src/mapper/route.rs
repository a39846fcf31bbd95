//! Routing: XY paths for every flow (one source piece to the pieces it sends to), multicast
//! trees where the target has multicast, routing-table entries per router and per core,
//! and per-link load.
//!
//! Needs: a placement. Establishes: every flow reaches each destination core along XY
//! links; router and core tables within the target's limits (else a named error).
//!
//! **Paths.** Routes are dimension-ordered (X then Y) on the target-wide tile grid, chips
//! side by side ([`spikeforge_targets::mesh`]); links that cross a chip boundary are
//! chip-to-chip links ([`is_chip_link`]). On a `Multicast` target a flow is one packet per
//! spike, copied along the union of the XY paths to its destination cores (a tree: every
//! router on it is entered by one link); on a `Unicast` target each destination core gets
//! its own packet along its own path.
//!
//! **Load.** `link_load` is the expected packets over each directed link: a flow adds its
//! weight once per tree link (multicast) or once per path through the link (unicast).
//! `hop_traffic` = Σ weight × links used. With weights in packets per time step,
//! [`link_utilisation`] divides a link's load by what it carries in one step,
//! `cycles_per_step × bits_per_cycle ÷ packet_bits` (on-chip links use
//! `noc.link_bits_per_cycle`, chip-to-chip links `grid.chip_link_bits_per_cycle`).
//!
//! **Router tables** (`router_entries`, limit `grid.chip_routing_entries`, the routers of
//! SpiNNaker-like chips). Each flow is one routing key (one multicast tree; on unicast
//! targets, each source–destination path is its own key). A router on the key's route
//! needs one entry for it unless it can *default-route* the packet, as SpiNNaker routers
//! do: the packet arrives on a link, leaves only by the opposite link (the route continues
//! straight) and is delivered to no core there. So the source's router, every router with
//! a destination core, every turn (X to Y) and every branch of a tree hold an entry;
//! straight pass-through routers hold none. Routers with no entry are absent from the map.
//!
//! **Core tables** (`core_entries`, limit `routing_entries` of the source core's type, as
//! Loihi's per-core output routing table). A core's table holds one entry per distinct
//! destination core of the flows whose source piece it holds, its own core included when
//! a flow sends back to it.

use std::collections::HashMap;

#[cfg(test)]
use spikeforge_targets::mesh::xy_route;
use spikeforge_targets::mesh::Dir;
use spikeforge_targets::{Cast, CoreCoord, CoreId, Target};

/// One source piece sending to a set of destination pieces; `weight` = expected packets.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub source: u32,
    pub destinations: Vec<u32>,
    pub weight: f64,
}

/// A directed link: leaving global tile `from` in direction `dir`.
pub type Link = ([u64; 2], Dir);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routes {
    /// Routing-table entries per global tile (router) holding at least one (see the module
    /// docs for what needs an entry).
    pub router_entries: HashMap<[u64; 2], u32>,
    /// Expected packets over each link any route uses (multicast trees count a shared link
    /// once per flow).
    pub link_load: HashMap<Link, f64>,
    /// Σ over flows of weight × links used (tree edges for multicast, paths for unicast).
    pub hop_traffic: f64,
    /// Entries of each source core's own routing table: the distinct destination cores it
    /// sends to. Cores that send nothing are absent.
    pub core_entries: HashMap<CoreId, u32>,
    /// Per flow, in input order, the links it uses: its tree's links (multicast: the
    /// source row, then each destination column), or each destination's path in turn
    /// (unicast, destinations by core id; a link on several paths appears once per path).
    pub flow_links: Vec<Vec<Link>>,
}

impl Routes {
    /// Most entries any router holds (0 when none does).
    pub fn max_router_entries(&self) -> u32 {
        self.router_entries.values().copied().max().unwrap_or(0)
    }

    /// Expected packets over chip-to-chip links, summed.
    pub fn chip_link_load(&self, target: &Target) -> f64 {
        let mut loads: Vec<(Link, f64)> =
            self.link_load.iter().filter(|(l, _)| is_chip_link(target, l)).map(|(&l, &w)| (l, w)).collect();
        loads.sort_by_key(|(l, _)| link_key(l));
        loads.iter().map(|(_, w)| w).sum()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error(
        "the router at global tile ({x}, {y}) needs {needed} routing entries; the target's routers hold {limit} \
         (grid.chip_routing_entries)"
    )]
    TableFull { x: u64, y: u64, needed: u32, limit: u32 },
    #[error(
        "core {core} at {at} (core type `{core_type}`) sends to {needed} destination cores; its routing table \
         holds {limit} entries (routing_entries of `{core_type}`)"
    )]
    CoreTableFull { core: CoreId, at: CoreCoord, core_type: String, needed: u32, limit: u32 },
}

fn dir_index(d: Dir) -> usize {
    match d {
        Dir::East => 0,
        Dir::West => 1,
        Dir::North => 2,
        Dir::South => 3,
    }
}

/// A total order on links (tile y, tile x, direction), for deterministic output.
fn link_key(l: &Link) -> (u64, u64, usize) {
    (l.0[1], l.0[0], dir_index(l.1))
}

/// The tile a link leads to.
fn head(l: &Link) -> [u64; 2] {
    let [x, y] = l.0;
    match l.1 {
        Dir::East => [x + 1, y],
        Dir::West => [x - 1, y],
        Dir::North => [x, y + 1],
        Dir::South => [x, y - 1],
    }
}

/// Whether `link` crosses a chip boundary (a chip-to-chip link).
pub fn is_chip_link(target: &Target, link: &Link) -> bool {
    let [mx, my] = target.spec().noc.mesh.map(u64::from);
    let [x, y] = link.0;
    match link.1 {
        Dir::East => (x + 1) % mx == 0,
        Dir::West => x % mx == 0,
        Dir::North => (y + 1) % my == 0,
        Dir::South => y % my == 0,
    }
}

/// Packets per cycle `link` can carry: its bits per cycle ÷ `noc.packet_bits`
/// (`noc.link_bits_per_cycle` on chip, `grid.chip_link_bits_per_cycle` between chips).
pub fn link_packets_per_cycle(target: &Target, link: &Link) -> f64 {
    let spec = target.spec();
    let bits =
        if is_chip_link(target, link) { spec.grid.chip_link_bits_per_cycle } else { spec.noc.link_bits_per_cycle };
    bits as f64 / spec.noc.packet_bits as f64
}

/// How much of a link's capacity its load takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkUse {
    pub link: Link,
    /// Whether it is a chip-to-chip link.
    pub chip_link: bool,
    /// Expected packets (as in [`Routes::link_load`]).
    pub load: f64,
    /// `load ÷ (link_packets_per_cycle × cycles_per_step)`: above 1 the link cannot carry
    /// its load within the time step.
    pub utilisation: f64,
}

/// Every used link's load and utilisation when one time step lasts `cycles_per_step`
/// cycles and loads are packets per time step (see [`link_packets_per_cycle`]). Sorted by
/// utilisation, highest first; ties by tile (y, x) and direction.
pub fn link_utilisation(target: &Target, routes: &Routes, cycles_per_step: f64) -> Vec<LinkUse> {
    let mut out: Vec<LinkUse> = routes
        .link_load
        .iter()
        .map(|(&link, &load)| LinkUse {
            link,
            chip_link: is_chip_link(target, &link),
            load,
            utilisation: load / (link_packets_per_cycle(target, &link) * cycles_per_step),
        })
        .collect();
    out.sort_by(|a, b| b.utilisation.total_cmp(&a.utilisation).then_with(|| link_key(&a.link).cmp(&link_key(&b.link))));
    out
}

/// The most utilised link (see [`link_utilisation`]), if any link is used.
pub fn max_link_utilisation(target: &Target, routes: &Routes, cycles_per_step: f64) -> Option<LinkUse> {
    link_utilisation(target, routes, cycles_per_step).into_iter().next()
}

/// Per-router scratch for one routing key.
#[derive(Clone, Copy, Default)]
struct RouterUse {
    /// Direction of the link the key enters by (`None` at the source).
    enters: Option<Dir>,
    /// Bit `dir_index(d)` set for each link the key leaves by.
    leaves: u8,
    /// A destination core sits on this tile.
    delivers: bool,
    source: bool,
}

impl RouterUse {
    /// Whether the router needs a table entry for the key (else it default-routes it).
    fn needs_entry(&self) -> bool {
        match self.enters {
            Some(d) if !self.source && !self.delivers => self.leaves != 1 << dir_index(d),
            _ => true,
        }
    }
}

/// The target-wide tile grid, with dense indices for tiles and directed links.
struct TileGrid {
    width: u64,
    height: u64,
}

impl TileGrid {
    fn tile(&self, t: [u64; 2]) -> usize {
        (t[1] * self.width + t[0]) as usize
    }

    fn tiles(&self) -> usize {
        (self.width * self.height) as usize
    }

    fn link(&self, l: &Link) -> usize {
        4 * self.tile(l.0) + dir_index(l.1)
    }

    fn unlink(&self, i: usize) -> Link {
        let t = (i / 4) as u64;
        let dir = [Dir::East, Dir::West, Dir::North, Dir::South][i % 4];
        ([t % self.width, t / self.width], dir)
    }
}

/// Appends the XY path from `a` to `b` (X first, then Y), as [`xy_route`] walks it.
fn xy_links(a: [u64; 2], b: [u64; 2], out: &mut Vec<Link>) {
    let [mut x, y0] = a;
    while x != b[0] {
        if b[0] > x {
            out.push(([x, y0], Dir::East));
            x += 1;
        } else {
            out.push(([x, y0], Dir::West));
            x -= 1;
        }
    }
    let mut y = y0;
    while y != b[1] {
        if b[1] > y {
            out.push(([x, y], Dir::North));
            y += 1;
        } else {
            out.push(([x, y], Dir::South));
            y -= 1;
        }
    }
}

/// Appends the multicast tree of XY paths from `src` to every tile of `dests` (sorted
/// by x, then y): the source row out to the westmost and eastmost destination columns,
/// then each column from the source row out to its southmost and northmost destination.
fn xy_tree(src: [u64; 2], dests: &[[u64; 2]], out: &mut Vec<Link>) {
    let (Some(first), Some(last)) = (dests.first(), dests.last()) else { return };
    let [sx, sy] = src;
    out.extend((sx..last[0].max(sx)).map(|x| ([x, sy], Dir::East)));
    out.extend((first[0].min(sx) + 1..=sx).rev().map(|x| ([x, sy], Dir::West)));
    for column in dests.chunk_by(|a, b| a[0] == b[0]) {
        let (x, lo, hi) = (column[0][0], column[0][1], column[column.len() - 1][1]);
        out.extend((sy..hi.max(sy)).map(|y| ([x, y], Dir::North)));
        out.extend((lo.min(sy) + 1..=sy).rev().map(|y| ([x, y], Dir::South)));
    }
}

/// Collects the routers one routing key uses and counts their entries (dense per tile,
/// reset between keys through a stamp).
struct KeyRouters {
    stamp: Vec<u32>,
    current: u32,
    uses: Vec<RouterUse>,
    touched: Vec<usize>,
}

impl KeyRouters {
    fn new(tiles: usize) -> Self {
        KeyRouters { stamp: vec![0; tiles], current: 0, uses: vec![RouterUse::default(); tiles], touched: Vec::new() }
    }

    fn at(&mut self, tile: usize) -> &mut RouterUse {
        if self.stamp[tile] != self.current {
            self.stamp[tile] = self.current;
            self.uses[tile] = RouterUse::default();
            self.touched.push(tile);
        }
        &mut self.uses[tile]
    }

    fn start(&mut self, source: usize) {
        self.current += 1;
        self.touched.clear();
        self.at(source).source = true;
    }

    fn link(&mut self, grid: &TileGrid, l: &Link) {
        self.at(grid.tile(l.0)).leaves |= 1 << dir_index(l.1);
        self.at(grid.tile(head(l))).enters = Some(l.1);
    }

    fn deliver(&mut self, tile: usize) {
        self.at(tile).delivers = true;
    }

    /// Adds one entry to `entries[tile]` for each router that needs one for this key.
    fn count(&self, entries: &mut [u32]) {
        for &t in &self.touched {
            if self.uses[t].needs_entry() {
                entries[t] += 1;
            }
        }
    }
}

/// Routes every flow with dimension-ordered (XY) routing.
///
/// Panics if a flow names a piece outside `placement` (a caller bug).
pub fn route(target: &Target, placement: &[CoreId], flows: &[Flow]) -> Result<Routes, RouteError> {
    let mesh = target.spec().noc.mesh;
    let chips = target.spec().grid.chips;
    let grid = TileGrid { width: (chips[0] * mesh[0]) as u64, height: (chips[1] * mesh[1]) as u64 };
    let multicast = target.spec().noc.cast == Cast::Multicast;
    let core_of = |piece: u32| {
        *placement
            .get(piece as usize)
            .unwrap_or_else(|| panic!("a flow names piece {piece}, but the placement has {} pieces", placement.len()))
    };
    let tile_of = |c: CoreId| target.coord(c).global_tile(mesh);
    let mut r = Routes { flow_links: Vec::with_capacity(flows.len()), ..Routes::default() };
    let mut load = vec![0.0f64; 4 * grid.tiles()];
    let mut used = vec![false; 4 * grid.tiles()];
    let mut entries = vec![0u32; grid.tiles()];
    let mut pairs: Vec<(CoreId, CoreId)> = Vec::new();
    let mut key = KeyRouters::new(grid.tiles());
    let mut dest_tiles: Vec<[u64; 2]> = Vec::new();
    for f in flows {
        let src_core = core_of(f.source);
        let src = tile_of(src_core);
        let mut dest_cores: Vec<CoreId> = f.destinations.iter().map(|&d| core_of(d)).collect();
        dest_cores.sort();
        dest_cores.dedup();
        pairs.extend(dest_cores.iter().map(|&d| (src_core, d)));
        let mut links: Vec<Link> = Vec::new();
        if multicast {
            dest_tiles.clear();
            dest_tiles.extend(dest_cores.iter().map(|&d| tile_of(d)));
            dest_tiles.sort_by_key(|t| (t[0], t[1]));
            dest_tiles.dedup();
            xy_tree(src, &dest_tiles, &mut links);
            if !dest_tiles.is_empty() {
                key.start(grid.tile(src));
                links.iter().for_each(|l| key.link(&grid, l));
                dest_tiles.iter().for_each(|&t| key.deliver(grid.tile(t)));
                key.count(&mut entries);
            }
        } else {
            for &d in &dest_cores {
                let dst = tile_of(d);
                let begin = links.len();
                xy_links(src, dst, &mut links);
                key.start(grid.tile(src));
                links[begin..].iter().for_each(|l| key.link(&grid, l));
                key.deliver(grid.tile(dst));
                key.count(&mut entries);
            }
        }
        for l in &links {
            let i = grid.link(l);
            load[i] += f.weight;
            used[i] = true;
        }
        r.hop_traffic += f.weight * links.len() as f64;
        r.flow_links.push(links);
    }
    r.link_load = (0..used.len()).filter(|&i| used[i]).map(|i| (grid.unlink(i), load[i])).collect();
    r.router_entries = (0..entries.len())
        .filter(|&t| entries[t] > 0)
        .map(|t| ([t as u64 % grid.width, t as u64 / grid.width], entries[t]))
        .collect();

    pairs.sort();
    pairs.dedup();
    for &(src, _) in &pairs {
        *r.core_entries.entry(src).or_default() += 1;
    }
    let mut over: Vec<(CoreId, u32, u32)> = r
        .core_entries
        .iter()
        .filter_map(|(&c, &n)| target.core(c).routing_entries.filter(|&limit| n > limit).map(|limit| (c, n, limit)))
        .collect();
    over.sort_by_key(|&(c, n, _)| (std::cmp::Reverse(n), c));
    if let Some(&(core, needed, limit)) = over.first() {
        return Err(RouteError::CoreTableFull {
            core,
            at: target.coord(core),
            core_type: target.core(core).name.clone(),
            needed,
            limit,
        });
    }
    if let Some(limit) = target.spec().grid.chip_routing_entries {
        // The fullest router; among equals, the first in row-major order.
        let worst =
            (0..entries.len()).filter(|&t| entries[t] > limit).min_by_key(|&t| (std::cmp::Reverse(entries[t]), t));
        if let Some(t) = worst {
            let (x, y) = (t as u64 % grid.width, t as u64 / grid.width);
            return Err(RouteError::TableFull { x, y, needed: entries[t], limit });
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_targets::CoreCoord;

    #[test]
    fn default_routing_skips_straight_pass_through() {
        let grid = TileGrid { width: 3, height: 2 };
        let mut k = KeyRouters::new(grid.tiles());
        // Source at (0, 0), east to (2, 0), north to (2, 1), deliver there.
        k.start(grid.tile([0, 0]));
        for l in [([0, 0], Dir::East), ([1, 0], Dir::East), ([2, 0], Dir::North)] {
            k.link(&grid, &l);
        }
        k.deliver(grid.tile([2, 1]));
        let mut entries = vec![0; grid.tiles()];
        k.count(&mut entries);
        // Source (0,0), turn (2,0), destination (2,1); (1,0) passes straight.
        assert_eq!(entries, vec![1, 0, 1, 0, 0, 1]);
        // A second key starts from a clean slate.
        k.start(grid.tile([1, 1]));
        k.deliver(grid.tile([1, 1]));
        k.count(&mut entries);
        assert_eq!(entries, vec![1, 0, 1, 0, 1, 1]);
    }

    #[test]
    fn links_follow_the_targets_xy_route() {
        let mesh = [3, 2];
        let at = |x: u32, y: u32| CoreCoord { chip: [x / 3, y / 2], tile: [x % 3, y % 2], slot: 0 };
        for (a, b) in [((0, 0), (5, 3)), ((5, 3), (0, 0)), ((4, 1), (4, 1)), ((2, 3), (2, 0)), ((1, 2), (5, 2))] {
            let (ca, cb) = (at(a.0, a.1), at(b.0, b.1));
            let want: Vec<Link> = xy_route(&ca, &cb, mesh).iter().map(|s| (s.from, s.dir)).collect();
            let mut got = Vec::new();
            xy_links(ca.global_tile(mesh), cb.global_tile(mesh), &mut got);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn the_tree_is_the_union_of_the_paths() {
        let src = [3, 2];
        let mut dests = vec![[0, 0], [3, 2], [3, 4], [5, 1], [5, 4], [6, 2], [0, 3]];
        dests.sort_by_key(|t| (t[0], t[1]));
        let mut tree = Vec::new();
        xy_tree(src, &dests, &mut tree);
        let mut union = Vec::new();
        for &d in &dests {
            xy_links(src, d, &mut union);
        }
        union.sort_by_key(link_key);
        union.dedup();
        let mut sorted = tree.clone();
        sorted.sort_by_key(link_key);
        assert_eq!(sorted, union);
        assert_eq!(tree.len(), union.len(), "no link twice");
    }
}
