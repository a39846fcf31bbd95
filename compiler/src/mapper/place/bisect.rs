//! Min-cut placement: recursive bisection of the core region and the pieces, with terminal
//! propagation (see the parent module's docs for the method).
//!
//! Every region holds exactly as many pieces of each core type as it has cores of that
//! type, so the leaves (one piece, or one tile) can be assigned by type directly.

use std::collections::VecDeque;

use super::graph::{Geometry, Graph};
use super::multilevel::{self, LocalGraph};

/// Growing seeds tried on each bisection's coarsest graph.
const SEEDS: usize = 3;

struct Task {
    id: u32,
    pieces: Vec<u32>,
    cores: Vec<u32>,
}

struct State<'a> {
    g: &'a Graph,
    ty: &'a [u32],
    /// Region (task id) each piece currently belongs to.
    task_of: Vec<u32>,
    /// Centre of each piece's current region.
    center: Vec<[f64; 2]>,
    /// Index of each piece among its region's pieces (scratch).
    local: Vec<u32>,
}

/// Places the pieces (`ty` = core type of each) on `cores`, which must hold exactly as many
/// cores of each type as there are pieces of it. Returns the core of each piece.
pub(super) fn place(g: &Graph, geo: &Geometry, ty: &[u32], cores: Vec<u32>) -> Vec<u32> {
    let n = g.n();
    let n_types = geo.kind.iter().map(|&k| k as usize + 1).max().unwrap_or(1);
    let mut st = State { g, ty, task_of: vec![0; n], center: vec![center_of(geo, &cores); n], local: vec![0; n] };
    let mut out = vec![u32::MAX; n];
    let mut queue = VecDeque::from([Task { id: 0, pieces: (0..n as u32).collect(), cores }]);
    let mut next_id = 1u32;
    while let Some(task) = queue.pop_front() {
        if task.pieces.len() <= 1 || on_one_tile(geo, &task.cores) {
            assign_by_type(geo, ty, &task.pieces, &task.cores, &mut out);
            continue;
        }
        let (ca, cb) = split_cores(geo, task.cores);
        let (cen_a, cen_b) = (center_of(geo, &ca), center_of(geo, &cb));
        let mut quota = vec![0i64; n_types];
        for &c in &ca {
            quota[geo.kind[c as usize] as usize] += 1;
        }
        let side = st.bisect(task.id, &task.pieces, &quota, [cen_a, cen_b]);
        let (mut pa, mut pb) = (Vec::with_capacity(ca.len()), Vec::with_capacity(cb.len()));
        for (&p, s) in task.pieces.iter().zip(side) {
            if s == 0 {
                pa.push(p)
            } else {
                pb.push(p)
            }
        }
        debug_assert_eq!(pa.len(), ca.len());
        for (pieces, cores, cen) in [(pa, ca, cen_a), (pb, cb, cen_b)] {
            let id = next_id;
            next_id += 1;
            for &p in &pieces {
                st.task_of[p as usize] = id;
                st.center[p as usize] = cen;
            }
            queue.push_back(Task { id, pieces, cores });
        }
    }
    out
}

fn center_of(geo: &Geometry, cores: &[u32]) -> [f64; 2] {
    let (mut sx, mut sy) = (0.0, 0.0);
    for &c in cores {
        sx += geo.x[c as usize] as f64;
        sy += geo.y[c as usize] as f64;
    }
    let n = cores.len().max(1) as f64;
    [sx / n, sy / n]
}

fn manhattan(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).abs() + (a[1] - b[1]).abs()
}

fn on_one_tile(geo: &Geometry, cores: &[u32]) -> bool {
    let c0 = cores[0] as usize;
    cores.iter().all(|&c| geo.x[c as usize] == geo.x[c0] && geo.y[c as usize] == geo.y[c0])
}

/// Each piece takes the first unused core of its type (all cores of a leaf are equivalent).
fn assign_by_type(geo: &Geometry, ty: &[u32], pieces: &[u32], cores: &[u32], out: &mut [u32]) {
    let mut used = vec![false; cores.len()];
    for &p in pieces {
        let k = (0..cores.len())
            .find(|&i| !used[i] && geo.kind[cores[i] as usize] == ty[p as usize])
            .expect("a region holds a core of each of its pieces' types");
        used[k] = true;
        out[p as usize] = cores[k];
    }
}

/// Cuts a region across its longer side at the tile line nearest its middle.
fn split_cores(geo: &Geometry, mut cores: Vec<u32>) -> (Vec<u32>, Vec<u32>) {
    let xs = cores.iter().map(|&c| geo.x[c as usize]);
    let ys = cores.iter().map(|&c| geo.y[c as usize]);
    let wx = xs.clone().max().unwrap() - xs.min().unwrap();
    let wy = ys.clone().max().unwrap() - ys.min().unwrap();
    let along_x = wx >= wy;
    let key = |c: u32| {
        let (x, y) = (geo.x[c as usize], geo.y[c as usize]);
        if along_x {
            (x, y, c)
        } else {
            (y, x, c)
        }
    };
    cores.sort_by_key(|&c| key(c));
    let len = cores.len();
    let k = (1..len)
        .filter(|&k| key(cores[k - 1]).0 != key(cores[k]).0)
        .min_by_key(|&k| (2 * k).abs_diff(len))
        .expect("a region spanning more than one tile has a tile line to cut");
    let b = cores.split_off(k);
    (cores, b)
}

impl State<'_> {
    /// Splits a region's pieces between halves whose centres are `centers`, side 0 getting
    /// `quota[t]` pieces of each type `t`: builds the region's graph (edges to pieces of
    /// other regions become each piece's cost on either side, by terminal propagation) and
    /// bisects it. Returns the side of each piece, in `pieces` order.
    fn bisect(&mut self, task: u32, pieces: &[u32], quota: &[i64], centers: [[f64; 2]; 2]) -> Vec<u8> {
        for (i, &p) in pieces.iter().enumerate() {
            self.local[p as usize] = i as u32;
        }
        let m = pieces.len();
        let mut lg = LocalGraph {
            ty: pieces.iter().map(|&p| self.ty[p as usize]).collect(),
            wt: vec![1; m],
            ext: Vec::with_capacity(m),
            start: Vec::with_capacity(m + 1),
            adj: Vec::new(),
            w: Vec::new(),
        };
        lg.start.push(0);
        for &p in pieces {
            let mut ext = [0.0; 2];
            for (q, w) in self.g.neighbours(p) {
                if self.task_of[q as usize] == task {
                    lg.adj.push(self.local[q as usize]);
                    lg.w.push(w);
                } else {
                    let c = self.center[q as usize];
                    ext[0] += w * manhattan(centers[0], c);
                    ext[1] += w * manhattan(centers[1], c);
                }
            }
            lg.ext.push(ext);
            lg.start.push(lg.adj.len() as u32);
        }
        multilevel::bisect(lg, quota, manhattan(centers[0], centers[1]), SEEDS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spikeforge_targets::{preset, Layout, Target};

    fn grid_target(w: u32, h: u32, per_tile: u32, layout: Option<Layout>) -> Target {
        let mut spec = preset("test_2x2").unwrap().unwrap().spec().clone();
        spec.noc.mesh = [w, h];
        spec.noc.cores_per_tile = per_tile;
        if let Some(l) = layout {
            let mut other = spec.core_types[0].clone();
            other.name = "other".into();
            spec.core_types.push(other);
            spec.layout = l;
        }
        Target::from_spec(spec, "grid").unwrap()
    }

    /// Traffic of a `w`×`h` grid graph, pieces numbered column-major (so the sequential
    /// order is not the mesh's row-major order).
    fn grid_traffic(w: u32, h: u32) -> Vec<(u32, u32, f64)> {
        let id = |x: u32, y: u32| x * h + y;
        let mut t = Vec::new();
        for y in 0..h {
            for x in 0..w {
                if x + 1 < w {
                    t.push((id(x, y), id(x + 1, y), 1.0));
                }
                if y + 1 < h {
                    t.push((id(x, y), id(x, y + 1), 1.0));
                }
            }
        }
        t
    }

    #[test]
    fn a_grid_graph_lands_near_its_optimum() {
        // 8×8 grid graph on an 8×8 mesh: the optimum puts every edge on one hop (112).
        let t = grid_target(8, 8, 1, None);
        let geo = Geometry::new(&t);
        let g = Graph::new(64, &grid_traffic(8, 8));
        let ty = vec![0; 64];
        let pos = place(&g, &geo, &ty, geo.compact_cores(&ty));
        let cost = g.cost(&geo, &pos);
        assert!(cost <= 1.3 * 112.0, "cost {cost}");
    }

    #[test]
    fn regions_keep_types_exact_on_a_mixed_layout() {
        // Per-core layout alternating types within each tile of a 4×4 mesh, 2 per tile.
        let layout = Layout::PerCore((0..32).map(|i| Some(["tiny", "other"][i % 2].to_string())).collect());
        let t = grid_target(4, 4, 2, Some(layout));
        let geo = Geometry::new(&t);
        let traffic = grid_traffic(4, 5);
        let g = Graph::new(20, &traffic);
        let ty: Vec<u32> = (0..20).map(|i| (i % 3 == 0) as u32).collect();
        let pos = place(&g, &geo, &ty, geo.compact_cores(&ty));
        let mut seen = std::collections::HashSet::new();
        for (p, &c) in pos.iter().enumerate() {
            assert!(seen.insert(c), "core {c} used twice");
            assert_eq!(geo.kind[c as usize], ty[p]);
        }
    }
}
