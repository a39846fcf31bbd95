//! The optimiser's view of a placement problem: the traffic as an undirected weighted
//! graph (CSR) and the cores as points on the target-wide tile grid.

use spikeforge_targets::Target;

/// Undirected traffic graph in compressed sparse rows. Parallel edges (both directions,
/// repeats) are merged by summing weights; self-loops and weights that are not finite and
/// positive are dropped (a self-loop never costs hops).
pub(super) struct Graph {
    /// Neighbours of piece `p`: `adj[start[p]..start[p + 1]]`, with weights in `w`.
    pub start: Vec<u32>,
    pub adj: Vec<u32>,
    pub w: Vec<f64>,
}

impl Graph {
    pub fn new(n: usize, traffic: &[(u32, u32, f64)]) -> Graph {
        let mut edges: Vec<(u64, f64)> = traffic
            .iter()
            .filter(|&&(a, b, w)| a != b && w.is_finite() && w > 0.0)
            .map(|&(a, b, w)| (((a.min(b) as u64) << 32) | a.max(b) as u64, w))
            .collect();
        edges.sort_unstable_by_key(|e| e.0);
        let mut merged: Vec<(u32, u32, f64)> = Vec::with_capacity(edges.len());
        for (key, w) in edges {
            let (a, b) = ((key >> 32) as u32, key as u32);
            match merged.last_mut() {
                Some(last) if last.0 == a && last.1 == b => last.2 += w,
                _ => merged.push((a, b, w)),
            }
        }
        let mut start = vec![0u32; n + 1];
        for &(a, b, _) in &merged {
            start[a as usize + 1] += 1;
            start[b as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut adj = vec![0u32; 2 * merged.len()];
        let mut w = vec![0.0; 2 * merged.len()];
        for &(a, b, x) in &merged {
            for (u, v) in [(a, b), (b, a)] {
                let k = fill[u as usize] as usize;
                adj[k] = v;
                w[k] = x;
                fill[u as usize] += 1;
            }
        }
        Graph { start, adj, w }
    }

    pub fn n(&self) -> usize {
        self.start.len() - 1
    }

    /// Neighbours of `p` with their weights.
    pub fn neighbours(&self, p: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let r = self.start[p as usize] as usize..self.start[p as usize + 1] as usize;
        self.adj[r.clone()].iter().copied().zip(self.w[r].iter().copied())
    }

    pub fn degree(&self, p: u32) -> usize {
        (self.start[p as usize + 1] - self.start[p as usize]) as usize
    }

    /// Σ weight × hops over the merged edges for core positions `pos` (piece → core).
    pub fn cost(&self, geo: &Geometry, pos: &[u32]) -> f64 {
        let mut total = 0.0;
        for p in 0..self.n() as u32 {
            for (q, w) in self.neighbours(p) {
                if p < q {
                    total += w * geo.dist(pos[p as usize], pos[q as usize]) as f64;
                }
            }
        }
        total
    }
}

/// Cores as points of the target-wide tile grid (chips side by side), where the XY hop
/// count between two cores is the Manhattan distance of their tiles.
pub(super) struct Geometry {
    pub x: Vec<i32>,
    pub y: Vec<i32>,
    pub kind: Vec<u32>,
    pub width: i32,
    pub height: i32,
    /// Cores on global tile `t = y · width + x`: `tile_cores[tile_start[t]..tile_start[t + 1]]`.
    tile_start: Vec<u32>,
    tile_cores: Vec<u32>,
    /// Chip index (row-major in the grid) of each core.
    chip: Vec<u32>,
    /// Whether the optimiser may use the core (see [`Geometry::keep_chips_for`]).
    allowed: Vec<bool>,
    chips_x: u32,
}

impl Geometry {
    pub fn new(target: &Target) -> Geometry {
        let mesh = target.spec().noc.mesh;
        let chips = target.spec().grid.chips;
        let width = (chips[0] * mesh[0]) as i32;
        let height = (chips[1] * mesh[1]) as i32;
        let n = target.num_cores() as usize;
        let (mut x, mut y, mut kind) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut chip = Vec::with_capacity(n);
        for c in target.core_ids() {
            let coord = target.coord(c);
            let [gx, gy] = coord.global_tile(mesh);
            x.push(gx as i32);
            y.push(gy as i32);
            kind.push(target.core_type_index(c) as u32);
            chip.push(coord.chip[1] * chips[0] + coord.chip[0]);
        }
        let tiles = width as usize * height as usize;
        let mut tile_start = vec![0u32; tiles + 1];
        for c in 0..n {
            tile_start[(y[c] * width + x[c]) as usize + 1] += 1;
        }
        for t in 0..tiles {
            tile_start[t + 1] += tile_start[t];
        }
        let mut fill = tile_start.clone();
        let mut tile_cores = vec![0u32; n];
        for c in 0..n {
            let t = (y[c] * width + x[c]) as usize;
            tile_cores[fill[t] as usize] = c as u32;
            fill[t] += 1;
        }
        let chips_x = chips[0];
        Geometry { x, y, kind, width, height, tile_start, tile_cores, chip, allowed: vec![true; n], chips_x }
    }

    /// On a grid of several chips, keeps only the cores of the fewest whole chips that hold
    /// the pieces (per core type), chips taken in square shells around the grid origin
    /// (`max(cx, cy)`, then `cx + cy`, then chip index): a model that needs 31 chips' worth
    /// of cores is placed on 31 chips, not spread over a 6 × 6 grid. Every other chip stays
    /// idle. Needs enough cores of each type in all.
    pub fn keep_chips_for(&mut self, piece_type: &[u32]) {
        let n_chips = self.chip.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
        if n_chips < 2 {
            return;
        }
        let n_types = self.kind.iter().map(|&k| k as usize + 1).max().unwrap_or(0);
        let mut need = vec![0usize; n_types];
        for &t in piece_type {
            need[t as usize] += 1;
        }
        let mut per_chip = vec![vec![0usize; n_types]; n_chips];
        for c in 0..self.num_cores() {
            per_chip[self.chip[c] as usize][self.kind[c] as usize] += 1;
        }
        let cx = self.chips_x.max(1) as usize;
        let mut order: Vec<usize> = (0..n_chips).collect();
        order.sort_by_key(|&i| {
            let (x, y) = (i % cx, i / cx);
            (x.max(y), x + y, i)
        });
        let mut keep = vec![false; n_chips];
        for i in order {
            if need.iter().all(|&k| k == 0) {
                break;
            }
            if per_chip[i].iter().zip(&need).any(|(&have, &k)| have > 0 && k > 0) {
                keep[i] = true;
                for (k, have) in need.iter_mut().zip(&per_chip[i]) {
                    *k = k.saturating_sub(*have);
                }
            }
        }
        if need.iter().any(|&k| k > 0) {
            return;
        }
        for c in 0..self.num_cores() {
            self.allowed[c] = keep[self.chip[c] as usize];
        }
        // Tiles list only the cores kept.
        let mut tile_cores = Vec::with_capacity(self.tile_cores.len());
        let mut tile_start = vec![0u32; self.tile_start.len()];
        for t in 0..self.tile_start.len() - 1 {
            let r = self.tile_start[t] as usize..self.tile_start[t + 1] as usize;
            tile_cores.extend(self.tile_cores[r].iter().copied().filter(|&c| self.allowed[c as usize]));
            tile_start[t + 1] = tile_cores.len() as u32;
        }
        self.tile_cores = tile_cores;
        self.tile_start = tile_start;
    }

    pub fn num_cores(&self) -> usize {
        self.x.len()
    }

    /// Hops between two cores.
    #[inline]
    pub fn dist(&self, a: u32, b: u32) -> i32 {
        let (a, b) = (a as usize, b as usize);
        (self.x[a] - self.x[b]).abs() + (self.y[a] - self.y[b]).abs()
    }

    /// Cores on the tile at `(x, y)` (in id order); empty outside the grid.
    pub fn cores_on(&self, x: i32, y: i32) -> &[u32] {
        if x < 0 || y < 0 || x >= self.width || y >= self.height {
            return &[];
        }
        let t = (y * self.width + x) as usize;
        &self.tile_cores[self.tile_start[t] as usize..self.tile_start[t + 1] as usize]
    }

    /// Whether every core sits on one tile (all placements then cost the same).
    pub fn single_tile(&self) -> bool {
        self.x.iter().zip(&self.y).all(|(&x, &y)| x == self.x[0] && y == self.y[0])
    }

    /// A compact set of cores for the pieces: for each core type, as many cores of that
    /// type as there are pieces of it, taken in order of square shells around the mesh
    /// origin (`max(x, y)`, then `x + y`, then core id) among the cores kept. Needs enough
    /// such cores of each type.
    pub fn compact_cores(&self, piece_type: &[u32]) -> Vec<u32> {
        let n_types = self.kind.iter().map(|&k| k as usize + 1).max().unwrap_or(0);
        let mut need = vec![0usize; n_types];
        for &t in piece_type {
            need[t as usize] += 1;
        }
        let mut order: Vec<u32> = (0..self.num_cores() as u32).collect();
        order.sort_by_key(|&c| {
            let (x, y) = (self.x[c as usize], self.y[c as usize]);
            (x.max(y), x + y, c)
        });
        let mut out = Vec::with_capacity(piece_type.len());
        for c in order {
            let k = self.kind[c as usize] as usize;
            if need[k] > 0 && self.allowed[c as usize] {
                need[k] -= 1;
                out.push(c);
            }
        }
        debug_assert_eq!(out.len(), piece_type.len());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_targets::preset;

    #[test]
    fn edges_merge_both_directions_and_drop_what_never_costs() {
        let traffic = [(0, 1, 2.0), (1, 0, 3.0), (0, 1, 1.0), (2, 2, 5.0), (0, 2, -1.0), (0, 2, f64::NAN), (1, 2, 0.5)];
        let g = Graph::new(3, &traffic);
        assert_eq!(g.neighbours(0).collect::<Vec<_>>(), vec![(1, 6.0)]);
        assert_eq!(g.neighbours(1).collect::<Vec<_>>(), vec![(0, 6.0), (2, 0.5)]);
        assert_eq!(g.neighbours(2).collect::<Vec<_>>(), vec![(1, 0.5)]);
        assert_eq!(g.degree(1), 2);
    }

    #[test]
    fn geometry_and_cost_use_global_tiles() {
        // test_grid: c0 big at (0,0); c3 small at (1,0); c9 small at (3,0) on the second chip.
        let t = preset("test_grid").unwrap().unwrap();
        let geo = Geometry::new(&t);
        assert_eq!((geo.width, geo.height), (4, 2));
        assert_eq!(geo.dist(0, 9), 3);
        assert_eq!(geo.cores_on(1, 1), &[] as &[u32]);
        assert_eq!(geo.cores_on(2, 0), &[6, 7]);
        assert_eq!(geo.cores_on(-1, 0), &[] as &[u32]);
        let g = Graph::new(3, &[(0, 1, 2.0), (1, 2, 1.0)]);
        assert_eq!(g.cost(&geo, &[0, 3, 9]), 2.0 * 1.0 + 1.0 * 2.0);
        assert!(!geo.single_tile());
        // Compact: the big core and the two small cores of the first shell, lowest ids.
        assert_eq!(geo.compact_cores(&[1, 0, 1]), vec![0, 2, 3]);
    }
}
