//! Core identities and mesh geometry: [`CoreId`], [`CoreCoord`], XY routes and hop counts.
//!
//! **Numbering.** Cores are numbered densely from 0 in this order: chips row-major (`y`
//! outer, `x` inner), then the tiles of a chip row-major, then the cores of a tile by slot;
//! empty tiles take no numbers. A [`CoreId`] prints as `c12`, the form core maps use; a
//! [`CoreCoord`] prints as `chip(0,0)/tile(3,1)/2`.
//!
//! **Geometry.** `x` grows east, `y` grows north. The meshes of neighbouring chips join
//! edge to edge through chip-to-chip links, so a target is one large mesh of tiles in
//! which the links that cross a chip boundary are chip-to-chip links. Routes are
//! dimension-ordered (XY): all east-west steps, then all north-south steps. Cores on the
//! same tile talk through their tile's router without any hop.

use std::fmt;
use std::str::FromStr;

/// Dense index of a core in a [`crate::Target`] (see the module docs for the order).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CoreId(pub u32);

impl CoreId {
    /// The index as a `usize`, for indexing per-core tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for CoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

impl FromStr for CoreId {
    type Err = String;
    /// Parses the `c12` form written by `Display`.
    fn from_str(s: &str) -> Result<Self, String> {
        s.strip_prefix('c')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .map(CoreId)
            .ok_or_else(|| format!("`{s}` is not a core id (expected c<number>, e.g. c12)"))
    }
}

/// Physical position of a core: its chip in the grid, its tile in the chip's mesh, and
/// its slot on the tile.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreCoord {
    /// Chip `[x, y]` in the grid.
    pub chip: [u32; 2],
    /// Tile `[x, y]` in the chip's mesh.
    pub tile: [u32; 2],
    /// Core slot on the tile, `0..cores_per_tile`.
    pub slot: u32,
}

impl CoreCoord {
    /// Tile position in the target-wide mesh (chips laid side by side).
    pub fn global_tile(&self, mesh: [u32; 2]) -> [u64; 2] {
        [
            self.chip[0] as u64 * mesh[0] as u64 + self.tile[0] as u64,
            self.chip[1] as u64 * mesh[1] as u64 + self.tile[1] as u64,
        ]
    }
}

impl fmt::Display for CoreCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chip({},{})/tile({},{})/{}", self.chip[0], self.chip[1], self.tile[0], self.tile[1], self.slot)
    }
}

/// Links traversed by a route, by kind.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Hops {
    /// On-chip east-west links.
    pub ew: u32,
    /// On-chip north-south links.
    pub ns: u32,
    /// Chip-to-chip links.
    pub chip: u32,
}

impl Hops {
    /// All links traversed.
    pub fn total(&self) -> u32 {
        self.ew + self.ns + self.chip
    }
}

/// Direction of one step of a route.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    East,
    West,
    North,
    South,
}

/// One link traversal: leaving global tile `from` in direction `dir`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// Global tile the packet leaves (see [`CoreCoord::global_tile`]).
    pub from: [u64; 2],
    /// Direction taken.
    pub dir: Dir,
    /// Whether this link crosses a chip boundary.
    pub chip_link: bool,
}

fn axis_hops(a_chip: u32, a_tile: u32, b_chip: u32, b_tile: u32, mesh: u32) -> (u32, u32) {
    let ga = a_chip as u64 * mesh as u64 + a_tile as u64;
    let gb = b_chip as u64 * mesh as u64 + b_tile as u64;
    let chip = a_chip.abs_diff(b_chip);
    ((ga.abs_diff(gb) - chip as u64) as u32, chip)
}

/// Hops of the XY route from `a` to `b` on chips whose mesh is `mesh` tiles.
///
/// Along each axis the route crosses `|Δchip|` chip boundaries, each over a chip-to-chip
/// link, and its other steps are on-chip links.
pub fn xy_hops(a: &CoreCoord, b: &CoreCoord, mesh: [u32; 2]) -> Hops {
    let (ew, chip_x) = axis_hops(a.chip[0], a.tile[0], b.chip[0], b.tile[0], mesh[0]);
    let (ns, chip_y) = axis_hops(a.chip[1], a.tile[1], b.chip[1], b.tile[1], mesh[1]);
    Hops { ew, ns, chip: chip_x + chip_y }
}

/// The links of the XY route from `a` to `b`, in order (X first, then Y).
pub fn xy_route(a: &CoreCoord, b: &CoreCoord, mesh: [u32; 2]) -> Vec<Step> {
    let [mut x, mut y] = a.global_tile(mesh);
    let [tx, ty] = b.global_tile(mesh);
    let mut steps = Vec::with_capacity((x.abs_diff(tx) + y.abs_diff(ty)) as usize);
    // A step from global coordinate g to g±1 crosses a chip boundary when the two
    // coordinates fall in different chips.
    let crosses = |g: u64, next: u64, m: u32| g / m as u64 != next / m as u64;
    while x != tx {
        let (next, dir) = if tx > x { (x + 1, Dir::East) } else { (x - 1, Dir::West) };
        steps.push(Step { from: [x, y], dir, chip_link: crosses(x, next, mesh[0]) });
        x = next;
    }
    while y != ty {
        let (next, dir) = if ty > y { (y + 1, Dir::North) } else { (y - 1, Dir::South) };
        steps.push(Step { from: [x, y], dir, chip_link: crosses(y, next, mesh[1]) });
        y = next;
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(chip: [u32; 2], tile: [u32; 2]) -> CoreCoord {
        CoreCoord { chip, tile, slot: 0 }
    }

    #[test]
    fn core_id_prints_and_parses() {
        assert_eq!(CoreId(12).to_string(), "c12");
        assert_eq!("c12".parse::<CoreId>(), Ok(CoreId(12)));
        assert!("12".parse::<CoreId>().is_err());
        assert!("c".parse::<CoreId>().is_err());
        assert!("c-1".parse::<CoreId>().is_err());
        assert!("c+1".parse::<CoreId>().is_err());
    }

    #[test]
    fn coord_prints() {
        let k = CoreCoord { chip: [1, 0], tile: [3, 2], slot: 1 };
        assert_eq!(k.to_string(), "chip(1,0)/tile(3,2)/1");
    }

    #[test]
    fn on_chip_hops_are_manhattan() {
        let h = xy_hops(&c([0, 0], [0, 0]), &c([0, 0], [3, 2]), [4, 4]);
        assert_eq!(h, Hops { ew: 3, ns: 2, chip: 0 });
        assert_eq!(h.total(), 5);
        let same_tile = CoreCoord { slot: 3, ..c([0, 0], [1, 1]) };
        assert_eq!(xy_hops(&c([0, 0], [1, 1]), &same_tile, [4, 4]).total(), 0);
    }

    #[test]
    fn chip_boundaries_become_chip_hops() {
        // Mesh 4×4: chip 0 tile x=3 → chip 1 tile x=0 is a single chip-to-chip link.
        let h = xy_hops(&c([0, 0], [3, 0]), &c([1, 0], [0, 0]), [4, 4]);
        assert_eq!(h, Hops { ew: 0, ns: 0, chip: 1 });
        // Chip (0,0) tile (0,0) → chip (2,1) tile (1,3): global Δx = 9 with 2 crossings,
        // global Δy = 7 with 1 crossing.
        let h = xy_hops(&c([0, 0], [0, 0]), &c([2, 1], [1, 3]), [4, 4]);
        assert_eq!(h, Hops { ew: 7, ns: 6, chip: 3 });
    }

    #[test]
    fn route_matches_hops_and_goes_x_first() {
        let a = c([1, 1], [2, 0]);
        let b = c([0, 0], [1, 3]);
        let mesh = [4, 4];
        let route = xy_route(&a, &b, mesh);
        let h = xy_hops(&a, &b, mesh);
        assert_eq!(route.len() as u32, h.total());
        assert_eq!(route.iter().filter(|s| s.chip_link).count() as u32, h.chip);
        let first_y = route.iter().position(|s| matches!(s.dir, Dir::North | Dir::South));
        assert!(route[first_y.unwrap()..].iter().all(|s| matches!(s.dir, Dir::North | Dir::South)));
        // a is at global (6, 4); b at (1, 3): five steps west, the one from x=4 to 3 crosses.
        assert_eq!(route[0], Step { from: [6, 4], dir: Dir::West, chip_link: false });
        assert_eq!(route[2], Step { from: [4, 4], dir: Dir::West, chip_link: true });
        assert_eq!(route[5], Step { from: [1, 4], dir: Dir::South, chip_link: true });
    }
}
