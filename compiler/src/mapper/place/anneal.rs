//! Simulated-annealing refinement of a placement (see the parent module's docs).

use crate::synth::Rng;

use super::graph::{Geometry, Graph};

const NONE: u32 = u32::MAX;
/// Share of moves aimed at the weighted centroid of the piece's neighbours.
const CENTROID_MOVES: f64 = 0.3;
/// Start temperature as a share of the mean uphill change of local moves.
const T_START: f64 = 0.5;
/// Moves per piece below which the start temperature is scaled down in proportion.
const FULL_MOVES_PER_PIECE: u64 = 250;
/// Start temperature of each run when the budget is split into several runs.
const T_START_HOT: f64 = 2.0;
/// Moves per piece of one run when the budget allows several.
const HOT_MOVES_PER_PIECE: u64 = 500;
/// Most annealing runs.
const MAX_RUNS: u64 = 32;
/// End temperature of the cooling phase, relative to the start.
const T_END: f64 = 1e-3;
/// Share of the budget spent cooling; the rest is greedy (temperature zero).
const COOLING: f64 = 0.9;
/// Acceptance rate the move window is steered towards (VPR).
const TARGET_ACCEPT: f64 = 0.44;
/// Proposals between temperature and window updates.
const EPOCH: u32 = 256;

struct Annealer<'a> {
    g: &'a Graph,
    geo: &'a Geometry,
    ty: &'a [u32],
    pos: Vec<u32>,
    px: Vec<i32>,
    py: Vec<i32>,
    occ: Vec<u32>,
    movable: &'a [u32],
    rng: Rng,
    visits: u64,
}

/// A proposed move: piece `p` to core `to`, swapping with `q` (or `NONE`), changing the
/// cost by `delta`.
struct Move {
    p: u32,
    to: u32,
    q: u32,
    delta: f64,
}

/// Improves `pos` (piece → core) in place, spending about `budget` adjacency visits.
/// Never returns a placement of higher cost than it was given.
///
/// When the budget allows many moves per piece (small problems), it is split into up to
/// [`MAX_RUNS`] runs, each reheating from the best placement so far and starting hotter
/// ([`T_START_HOT`]); large problems get one run that starts cool ([`T_START`]), since
/// their start is already good and they cannot afford to climb out of it.
pub(super) fn refine(g: &Graph, geo: &Geometry, ty: &[u32], pos: &mut Vec<u32>, seed: u64, budget: u64) {
    let mut best_cost = g.cost(geo, pos);
    let movable: Vec<u32> = (0..g.n() as u32).filter(|&p| g.degree(p) > 0).collect();
    if best_cost <= 0.0 || movable.is_empty() {
        return;
    }
    let per_move = 2 * g.adj.len() as u64 / movable.len() as u64 + 3;
    let moves_per_piece = budget / per_move / movable.len() as u64;
    let runs = (moves_per_piece / HOT_MOVES_PER_PIECE).clamp(1, MAX_RUNS);
    let t_start = if runs > 1 {
        T_START_HOT
    } else {
        T_START * (moves_per_piece as f64 / FULL_MOVES_PER_PIECE as f64).clamp(0.02, 1.0)
    };
    let mut rng = Rng::new(seed ^ 0x5EED_0FA1_1EA1);
    for _ in 0..runs {
        let mut a = Annealer::new(g, geo, ty, pos, &movable, Rng::new(rng.next_u64()));
        a.run(budget / runs, t_start);
        let cost = g.cost(geo, &a.pos);
        if cost < best_cost {
            best_cost = cost;
            *pos = a.pos;
        }
    }
}

impl<'a> Annealer<'a> {
    fn new(g: &'a Graph, geo: &'a Geometry, ty: &'a [u32], pos: &[u32], movable: &'a [u32], rng: Rng) -> Self {
        let mut occ = vec![NONE; geo.num_cores()];
        for (p, &c) in pos.iter().enumerate() {
            occ[c as usize] = p as u32;
        }
        Annealer {
            g,
            geo,
            ty,
            px: pos.iter().map(|&c| geo.x[c as usize]).collect(),
            py: pos.iter().map(|&c| geo.y[c as usize]).collect(),
            pos: pos.to_vec(),
            occ,
            movable,
            rng,
            visits: 0,
        }
    }

    /// One annealing run of about `budget` visits, starting at `t_start` × the mean uphill
    /// change of sampled local moves.
    fn run(&mut self, budget: u64, t_start: f64) {
        let span = self.geo.width.max(self.geo.height);
        let mut radius = (span / 8).max(1) as f64;
        let samples = (20 * self.movable.len()).clamp(200, 2_000);
        let (mut up_sum, mut up_n) = (0.0, 0u32);
        for _ in 0..samples {
            if let Some(m) = self.propose(radius as i32) {
                if m.delta > 0.0 {
                    up_sum += m.delta;
                    up_n += 1;
                }
            }
        }
        let t0 = if up_n > 0 { t_start * up_sum / up_n as f64 } else { 0.0 };
        self.visits = 0;
        let (mut proposed, mut accepted) = (0u32, 0u32);
        let mut temp = t0;
        while self.visits < budget {
            if let Some(m) = self.propose(radius.round() as i32) {
                if m.delta <= 0.0 || (temp > 0.0 && self.rng.uniform() < (-m.delta / temp).exp()) {
                    self.apply(&m);
                    accepted += 1;
                }
            }
            proposed += 1;
            if proposed == EPOCH {
                let rate = accepted as f64 / proposed as f64;
                radius = (radius * (1.0 - TARGET_ACCEPT + rate)).clamp(1.0, span as f64);
                let f = self.visits as f64 / budget as f64;
                temp = if f < COOLING { t0 * T_END.powf(f / COOLING) } else { 0.0 };
                proposed = 0;
                accepted = 0;
            }
        }
    }

    /// Cost change of moving `p` to tile `(x, y)`, ignoring its edge to `skip` (whose
    /// length a swap leaves unchanged).
    fn delta(&mut self, p: u32, x: i32, y: i32, skip: u32) -> f64 {
        let (ox, oy) = (self.px[p as usize], self.py[p as usize]);
        let mut d = 0.0;
        for (r, w) in self.g.neighbours(p) {
            if r == skip {
                continue;
            }
            let (rx, ry) = (self.px[r as usize], self.py[r as usize]);
            let change = (x - rx).abs() + (y - ry).abs() - (ox - rx).abs() - (oy - ry).abs();
            d += w * change as f64;
        }
        self.visits += self.g.degree(p) as u64 + 1;
        d
    }

    fn below(&mut self, n: u32) -> u32 {
        (((self.rng.next_u64() >> 32) * n as u64) >> 32) as u32
    }

    /// Offset in `-r..=r`.
    fn offset(&mut self, r: i32) -> i32 {
        self.below(2 * r as u32 + 1) as i32 - r
    }

    fn propose(&mut self, radius: i32) -> Option<Move> {
        let i = self.below(self.movable.len() as u32) as usize;
        let p = self.movable[i];
        let pu = p as usize;
        let (tx, ty) = if self.rng.uniform() < CENTROID_MOVES {
            let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
            for (r, w) in self.g.neighbours(p) {
                sx += w * self.px[r as usize] as f64;
                sy += w * self.py[r as usize] as f64;
                sw += w;
            }
            self.visits += self.g.degree(p) as u64;
            let (cx, cy) = ((sx / sw).round() as i32, (sy / sw).round() as i32);
            (cx + self.offset(1), cy + self.offset(1))
        } else {
            (self.px[pu] + self.offset(radius), self.py[pu] + self.offset(radius))
        };
        self.visits += 1;
        let cores = self.geo.cores_on(tx, ty);
        if cores.is_empty() {
            return None;
        }
        let to = cores[self.below(cores.len() as u32) as usize];
        if to == self.pos[pu] || self.geo.kind[to as usize] != self.ty[pu] {
            return None;
        }
        let q = self.occ[to as usize];
        let mut delta = self.delta(p, tx, ty, q);
        if q != NONE {
            let (x, y) = (self.px[pu], self.py[pu]);
            delta += self.delta(q, x, y, p);
        }
        Some(Move { p, to, q, delta })
    }

    fn apply(&mut self, m: &Move) {
        let (p, q) = (m.p as usize, m.q);
        let from = self.pos[p];
        let (fx, fy) = (self.px[p], self.py[p]);
        self.pos[p] = m.to;
        self.px[p] = self.geo.x[m.to as usize];
        self.py[p] = self.geo.y[m.to as usize];
        self.occ[m.to as usize] = m.p;
        self.occ[from as usize] = q;
        if q != NONE {
            let q = q as usize;
            self.pos[q] = from;
            self.px[q] = fx;
            self.py[q] = fy;
        }
    }
}
