//! Multilevel bisection of one region's pieces (the METIS scheme, as in SNEAP): coarsen
//! by heavy-edge matching, grow an initial bisection of the coarsest graph from several
//! seeds, then project it back level by level with Fiduccia–Mattheyses refinement.
//!
//! The graph is local to a region: vertex `v` stands for `wt[v]` pieces of core type
//! `ty[v]`. Side 0 must end with exactly `quota[t]` pieces of each type `t`. A cut edge
//! costs its weight × `d` (the distance between the two halves' centres); vertex `v` on
//! side `s` costs `ext[v][s]` (its edges to pieces outside the region, by terminal
//! propagation). Coarse levels allow each type's side-0 weight to miss its quota by the
//! heaviest vertex of that type; the finest level is rebalanced exactly, then refined
//! with FM moves in pairs of one type, which keep the balance.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

/// Coarsening stops at this many vertices (or when a level shrinks by under 10 %).
const COARSEST: usize = 48;
/// FM stops a pass after this many moves without a better state.
const FM_STALL_MOVES: usize = 40;
/// At most this many FM passes per level.
const FM_PASSES: usize = 6;

/// A region's graph at one level.
pub(super) struct LocalGraph {
    pub ty: Vec<u32>,
    pub wt: Vec<u32>,
    pub ext: Vec<[f64; 2]>,
    /// Neighbours of `v`: `adj[start[v]..start[v + 1]]`, weights in `w`; no self-loops.
    pub start: Vec<u32>,
    pub adj: Vec<u32>,
    pub w: Vec<f64>,
}

impl LocalGraph {
    fn n(&self) -> usize {
        self.ty.len()
    }

    fn neighbours(&self, v: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        let r = self.start[v as usize] as usize..self.start[v as usize + 1] as usize;
        self.adj[r.clone()].iter().copied().zip(self.w[r].iter().copied())
    }
}

/// A gain with a total order.
#[derive(Clone, Copy, PartialEq)]
struct Gain(f64);
impl Eq for Gain {}
impl PartialOrd for Gain {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Gain {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Heap entry: best gain first, then the earliest pushed (ties grow breadth-first), then
/// the vertex. Entries are lazy: a vertex's gain may have dropped since it was queued
/// (it is then queued again when it reaches the top), but every rise is queued at once,
/// so a vertex's best entry is never below its gain.
type Entry = (Gain, Reverse<u64>, u32);

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Bisects `g0` (all weights 1) with exactly `quota[t]` pieces of type `t` on side 0.
/// Returns the side of each vertex.
pub(super) fn bisect(g0: LocalGraph, quota: &[i64], d: f64, seeds: usize) -> Vec<u8> {
    let nt = quota.len();
    let mut total = vec![0i64; nt];
    for v in 0..g0.n() {
        total[g0.ty[v] as usize] += g0.wt[v] as i64;
    }
    // A coarse vertex may hold at most a quarter of the smaller side's share of its type.
    let cap: Vec<u32> = (0..nt)
        .map(|t| {
            let m = quota[t].min(total[t] - quota[t]);
            if m <= 0 {
                u32::MAX
            } else {
                (m / 4).max(2) as u32
            }
        })
        .collect();
    let scale: f64 = g0.ext.iter().map(|e| e[0] + e[1]).sum::<f64>() + d * g0.w.iter().sum::<f64>();
    let eps = 1e-12 * scale;

    let mut levels = vec![g0];
    let mut maps: Vec<Vec<u32>> = Vec::new();
    while levels.last().unwrap().n() > COARSEST {
        let fine = levels.last().unwrap();
        let (coarse, map) = coarsen(fine, &cap, levels.len() as u64);
        if coarse.n() * 10 > fine.n() * 9 {
            break;
        }
        levels.push(coarse);
        maps.push(map);
    }

    let top = levels.len() - 1;
    let mut side = initial(&levels[top], quota, d, seeds, eps);
    for l in (0..top).rev() {
        side = maps[l].iter().map(|&c| side[c as usize]).collect();
        let g = &levels[l];
        let mut part = Part::new(g, d, side, nt);
        part.fm(quota, &tolerance(g, nt), eps);
        side = part.side;
    }
    let mut part = Part::new(&levels[0], d, side, nt);
    part.rebalance(quota);
    for _ in 0..FM_PASSES {
        if !part.fm_paired_pass(eps) {
            break;
        }
    }
    part.side
}

/// Per type, the heaviest vertex (at least 1): how far a level may miss the quota.
fn tolerance(g: &LocalGraph, nt: usize) -> Vec<i64> {
    let mut tol = vec![1i64; nt];
    for v in 0..g.n() {
        let t = g.ty[v] as usize;
        tol[t] = tol[t].max(g.wt[v] as i64);
    }
    tol
}

/// Heavy-edge matching of vertices of one type (visited in a pseudo-random order fixed by
/// `salt`, each matched with its unmatched neighbour of heaviest edge while the pair stays
/// within `cap`), then the contracted graph. Returns it and the fine → coarse map.
fn coarsen(g: &LocalGraph, cap: &[u32], salt: u64) -> (LocalGraph, Vec<u32>) {
    let n = g.n();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&v| (mix(v as u64 ^ (salt << 40)), v));
    const NONE: u32 = u32::MAX;
    let mut map = vec![NONE; n];
    let mut members: Vec<[u32; 2]> = Vec::with_capacity(n / 2 + 1);
    for &v in &order {
        if map[v as usize] != NONE {
            continue;
        }
        let (t, wv) = (g.ty[v as usize], g.wt[v as usize]);
        let mut best: Option<(f64, u32)> = None;
        for (u, w) in g.neighbours(v) {
            let uu = u as usize;
            let free = map[uu] == NONE && g.ty[uu] == t && wv.saturating_add(g.wt[uu]) <= cap[t as usize];
            if free && best.is_none_or(|(bw, bu)| w > bw || (w == bw && u < bu)) {
                best = Some((w, u));
            }
        }
        let c = members.len() as u32;
        map[v as usize] = c;
        match best {
            Some((_, u)) => {
                map[u as usize] = c;
                members.push([v, u]);
            }
            None => members.push([v, NONE]),
        }
    }
    let nc = members.len();
    let mut cg = LocalGraph {
        ty: Vec::with_capacity(nc),
        wt: Vec::with_capacity(nc),
        ext: Vec::with_capacity(nc),
        start: Vec::with_capacity(nc + 1),
        adj: Vec::new(),
        w: Vec::new(),
    };
    cg.start.push(0);
    let mut slot = vec![NONE; nc];
    for (c, m) in members.iter().enumerate() {
        let (mut wt, mut ext) = (0u32, [0.0; 2]);
        let begin = cg.adj.len();
        for &v in m.iter().filter(|&&v| v != NONE) {
            wt += g.wt[v as usize];
            ext[0] += g.ext[v as usize][0];
            ext[1] += g.ext[v as usize][1];
            for (u, w) in g.neighbours(v) {
                let cu = map[u as usize];
                if cu as usize == c {
                    continue;
                }
                match slot[cu as usize] {
                    NONE => {
                        slot[cu as usize] = cg.adj.len() as u32;
                        cg.adj.push(cu);
                        cg.w.push(w);
                    }
                    k => cg.w[k as usize] += w,
                }
            }
        }
        for &cu in &cg.adj[begin..] {
            slot[cu as usize] = NONE;
        }
        cg.ty.push(g.ty[m[0] as usize]);
        cg.wt.push(wt);
        cg.ext.push(ext);
        cg.start.push(cg.adj.len() as u32);
    }
    (cg, map)
}

/// The best of growing side 0 from each seed and refining with FM, on the coarsest graph.
fn initial(g: &LocalGraph, quota: &[i64], d: f64, seeds: usize, eps: f64) -> Vec<u8> {
    let tol = tolerance(g, quota.len());
    let mut best: Option<((i64, f64), Vec<u8>)> = None;
    for seed in seed_vertices(g, seeds) {
        let mut part = Part::new(g, d, vec![1; g.n()], quota.len());
        part.grow(quota, seed);
        part.fm(quota, &tol, eps);
        let score = (part.badness(quota, &tol), part.cost);
        if best.as_ref().is_none_or(|(b, _)| score.0 < b.0 || (score.0 == b.0 && score.1 < b.1 - eps)) {
            best = Some((score, part.side));
        }
    }
    best.expect("at least one seed").1
}

/// Seeds for growing side 0: the vertex whose outside edges pull it hardest towards side
/// 0 (if any does), the two ends of a pseudo-diameter (breadth-first search from vertex
/// 0, then from the farthest vertex found), then vertices spread by index.
fn seed_vertices(g: &LocalGraph, count: usize) -> Vec<u32> {
    let n = g.n() as u32;
    let mut seeds: Vec<u32> = Vec::with_capacity(count);
    let pull = |v: u32| g.ext[v as usize][1] - g.ext[v as usize][0];
    if let Some(v) = (0..n).filter(|&v| pull(v) > 0.0).max_by(|&a, &b| pull(a).total_cmp(&pull(b)).then(b.cmp(&a))) {
        seeds.push(v);
    }
    let u = farthest(g, 0);
    let v = farthest(g, u);
    let spread = (0..count as u32).map(|i| i * n / count as u32);
    for s in [u, v].into_iter().chain(spread) {
        if seeds.len() < count && !seeds.contains(&s) {
            seeds.push(s);
        }
    }
    seeds
}

/// The last vertex reached by a breadth-first search from `from`.
fn farthest(g: &LocalGraph, from: u32) -> u32 {
    let mut seen = vec![false; g.n()];
    let mut queue = VecDeque::from([from]);
    seen[from as usize] = true;
    let mut last = from;
    while let Some(v) = queue.pop_front() {
        last = v;
        for (u, _) in g.neighbours(v) {
            if !seen[u as usize] {
                seen[u as usize] = true;
                queue.push_back(u);
            }
        }
    }
    last
}

/// A bisection of one level with incremental gains.
struct Part<'g> {
    g: &'g LocalGraph,
    d: f64,
    side: Vec<u8>,
    /// Edge weight to the other side minus edge weight to its own side.
    wdiff: Vec<f64>,
    locked: Vec<bool>,
    /// Cut weight × `d` plus the vertices' external costs.
    cost: f64,
    /// Weight on side 0 per type.
    aw: Vec<i64>,
    pushes: u64,
    touched: Vec<u32>,
}

impl<'g> Part<'g> {
    /// The bisection `side` of `g`, with `nt` core types.
    fn new(g: &'g LocalGraph, d: f64, side: Vec<u8>, nt: usize) -> Self {
        let n = g.n();
        let mut wdiff = vec![0.0; n];
        let mut cost = 0.0;
        let mut aw = vec![0i64; nt];
        for v in 0..n {
            let s = side[v];
            for (u, w) in g.neighbours(v as u32) {
                if side[u as usize] != s {
                    wdiff[v] += w;
                    cost += 0.5 * d * w;
                } else {
                    wdiff[v] -= w;
                }
            }
            cost += g.ext[v][s as usize];
            if s == 0 {
                aw[g.ty[v] as usize] += g.wt[v] as i64;
            }
        }
        Part { g, d, side, wdiff, locked: vec![false; n], cost, aw, pushes: 0, touched: Vec::new() }
    }

    fn gain(&self, v: u32) -> f64 {
        let v = v as usize;
        let s = self.side[v] as usize;
        self.d * self.wdiff[v] + self.g.ext[v][s] - self.g.ext[v][1 - s]
    }

    fn entry(&mut self, v: u32) -> Entry {
        self.pushes += 1;
        (Gain(self.gain(v)), Reverse(self.pushes), v)
    }

    /// Brings a heap of side-`side` vertices to a top entry that is current: drops
    /// entries of locked vertices and of vertices now on the other side, and requeues
    /// entries whose gain has changed.
    fn clean(&mut self, heap: &mut BinaryHeap<Entry>, side: u8) {
        while let Some(&(g, _, v)) = heap.peek() {
            let vu = v as usize;
            if self.locked[vu] || self.side[vu] != side {
                heap.pop();
            } else if g.0 != self.gain(v) {
                heap.pop();
                let e = self.entry(v);
                heap.push(e);
            } else {
                break;
            }
        }
    }

    /// Moves `v` to the other side, updating the cost, balance and its neighbours' gains;
    /// the neighbours whose gain rose (those on `v`'s former side) are left in `touched`.
    fn flip(&mut self, v: u32) {
        self.cost -= self.gain(v);
        let vu = v as usize;
        let from = self.side[vu];
        let t = self.g.ty[vu] as usize;
        self.aw[t] += if from == 0 { -(self.g.wt[vu] as i64) } else { self.g.wt[vu] as i64 };
        self.side[vu] = 1 - from;
        self.wdiff[vu] = -self.wdiff[vu];
        self.touched.clear();
        for (u, w) in self.g.neighbours(v) {
            let uu = u as usize;
            if self.side[uu] == from {
                // `v` left `u`'s side: `u`'s gain rises (listed in `touched`).
                self.wdiff[uu] += 2.0 * w;
                self.touched.push(u);
            } else {
                self.wdiff[uu] -= 2.0 * w;
            }
        }
    }

    /// Total weight by which the types miss their quotas beyond `tol`.
    fn badness(&self, quota: &[i64], tol: &[i64]) -> i64 {
        (0..quota.len()).map(|t| ((self.aw[t] - quota[t]).abs() - tol[t]).max(0)).sum()
    }

    /// Greedy growing of side 0 from `seed` (every vertex starts on side 1): repeatedly
    /// the best-gain vertex that fits its type's remaining quota.
    fn grow(&mut self, quota: &[i64], seed: u32) {
        let mut need: Vec<i64> = quota.iter().zip(&self.aw).map(|(q, a)| q - a).collect();
        let fits = |need: &[i64], g: &LocalGraph, v: u32| g.wt[v as usize] as i64 <= need[g.ty[v as usize] as usize];
        let mut heap: BinaryHeap<Entry> = BinaryHeap::new();
        let take = |part: &mut Self, need: &mut Vec<i64>, heap: &mut BinaryHeap<Entry>, v: u32| {
            part.flip(v);
            need[part.g.ty[v as usize] as usize] -= part.g.wt[v as usize] as i64;
            for i in 0..part.touched.len() {
                let u = part.touched[i];
                if fits(need, part.g, u) {
                    let e = part.entry(u);
                    heap.push(e);
                }
            }
        };
        if fits(&need, self.g, seed) {
            take(self, &mut need, &mut heap, seed);
        }
        for v in 0..self.g.n() as u32 {
            if self.side[v as usize] == 1 && fits(&need, self.g, v) {
                let e = self.entry(v);
                heap.push(e);
            }
        }
        while need.iter().any(|&x| x > 0) {
            self.clean(&mut heap, 1);
            let Some((_, _, v)) = heap.pop() else { break };
            if fits(&need, self.g, v) {
                take(self, &mut need, &mut heap, v);
            }
        }
    }

    /// FM passes with single moves that keep each type within `tol` of its quota (or
    /// bring it closer); each pass keeps its best prefix by (badness, cost).
    fn fm(&mut self, quota: &[i64], tol: &[i64], eps: f64) {
        for _ in 0..FM_PASSES {
            if !self.fm_pass(quota, tol, eps) {
                break;
            }
        }
    }

    fn heaps(&mut self) -> (Vec<BinaryHeap<Entry>>, Vec<usize>) {
        let nt = self.aw.len();
        let mut heaps: Vec<BinaryHeap<Entry>> = vec![BinaryHeap::new(); 2 * nt];
        let mut unlocked = vec![0usize; 2 * nt];
        for v in 0..self.g.n() as u32 {
            let vu = v as usize;
            self.locked[vu] = false;
            let h = 2 * self.g.ty[vu] as usize + self.side[vu] as usize;
            let e = self.entry(v);
            heaps[h].push(e);
            unlocked[h] += 1;
        }
        (heaps, unlocked)
    }

    fn lock_and_flip(&mut self, v: u32, heaps: &mut [BinaryHeap<Entry>]) {
        self.locked[v as usize] = true;
        self.flip(v);
        for i in 0..self.touched.len() {
            let u = self.touched[i];
            let uu = u as usize;
            if !self.locked[uu] {
                let e = self.entry(u);
                heaps[2 * self.g.ty[uu] as usize + self.side[uu] as usize].push(e);
            }
        }
    }

    fn fm_pass(&mut self, quota: &[i64], tol: &[i64], eps: f64) -> bool {
        let (mut heaps, _) = self.heaps();
        let mut moves: Vec<u32> = Vec::new();
        let mut best = (self.badness(quota, tol), self.cost);
        let (mut best_len, mut stall) = (0usize, 0usize);
        loop {
            let mut pick: Option<Entry> = None;
            for (h, heap) in heaps.iter_mut().enumerate() {
                self.clean(heap, (h % 2) as u8);
                let Some(&e) = heap.peek() else { continue };
                let (t, s) = (h / 2, h % 2);
                let wv = self.g.wt[e.2 as usize] as i64;
                let after = self.aw[t] + if s == 0 { -wv } else { wv };
                let (miss_now, miss_after) = ((self.aw[t] - quota[t]).abs(), (after - quota[t]).abs());
                if (miss_after <= tol[t] || miss_after < miss_now) && pick.is_none_or(|b| e > b) {
                    pick = Some(e);
                }
            }
            let Some(e) = pick else { break };
            let v = e.2;
            let h = 2 * self.g.ty[v as usize] as usize + self.side[v as usize] as usize;
            heaps[h].pop();
            self.lock_and_flip(v, &mut heaps);
            moves.push(v);
            let now = (self.badness(quota, tol), self.cost);
            if now.0 < best.0 || (now.0 == best.0 && now.1 < best.1 - eps) {
                best = now;
                best_len = moves.len();
                stall = 0;
            } else {
                stall += 1;
                if stall >= FM_STALL_MOVES {
                    break;
                }
            }
        }
        for &v in moves[best_len..].iter().rev() {
            self.flip(v);
        }
        best_len > 0
    }

    /// Moves the best-gain vertices (weights must be 1) of each type from its over-full
    /// side until side 0 holds exactly its quota.
    fn rebalance(&mut self, quota: &[i64]) {
        for (t, &q) in quota.iter().enumerate() {
            let from: u8 = if self.aw[t] > q { 0 } else { 1 };
            let mut heap: BinaryHeap<Entry> = BinaryHeap::new();
            for v in 0..self.g.n() as u32 {
                if self.g.ty[v as usize] as usize == t && self.side[v as usize] == from {
                    let e = self.entry(v);
                    heap.push(e);
                }
            }
            while self.aw[t] != q {
                self.clean(&mut heap, from);
                let (_, _, v) = heap.pop().expect("enough vertices of the type to rebalance");
                self.flip(v);
                for i in 0..self.touched.len() {
                    let u = self.touched[i];
                    if self.g.ty[u as usize] as usize == t {
                        let e = self.entry(u);
                        heap.push(e);
                    }
                }
            }
        }
    }

    /// One FM pass with paired moves (weights must be 1): a free move of type `t` is
    /// followed by the best move of type `t` back, so the balance is exact every two moves;
    /// the best balanced prefix is kept. Returns whether the cost improved.
    fn fm_paired_pass(&mut self, eps: f64) -> bool {
        let (mut heaps, mut unlocked) = self.heaps();
        let mut moves: Vec<u32> = Vec::new();
        let start = self.cost;
        let (mut best, mut best_len, mut stall) = (start, 0usize, 0usize);
        let mut pending: Option<usize> = None;
        loop {
            let h = match pending {
                Some(h) => {
                    self.clean(&mut heaps[h], (h % 2) as u8);
                    if heaps[h].is_empty() {
                        break;
                    }
                    h
                }
                None => {
                    let mut pick: Option<(Entry, usize)> = None;
                    for h in 0..heaps.len() {
                        if unlocked[h ^ 1] == 0 {
                            continue;
                        }
                        self.clean(&mut heaps[h], (h % 2) as u8);
                        if let Some(&e) = heaps[h].peek() {
                            if pick.is_none_or(|(b, _)| e > b) {
                                pick = Some((e, h));
                            }
                        }
                    }
                    match pick {
                        Some((_, h)) => h,
                        None => break,
                    }
                }
            };
            let v = heaps[h].pop().expect("cleaned heap is non-empty").2;
            unlocked[h] -= 1;
            self.lock_and_flip(v, &mut heaps);
            moves.push(v);
            pending = if pending.is_some() { None } else { Some(h ^ 1) };
            if pending.is_none() {
                if self.cost < best - eps {
                    best = self.cost;
                    best_len = moves.len();
                    stall = 0;
                } else {
                    stall += 2;
                    if stall >= FM_STALL_MOVES {
                        break;
                    }
                }
            }
        }
        for &v in moves[best_len..].iter().rev() {
            self.flip(v);
        }
        best_len > 0
    }
}
