//! Placement: assign each piece (a core-sized part of a population) to a distinct core,
//! minimising hop-weighted spike traffic.
//!
//! Needs: every piece names the core type it was sized for; the target has enough cores of
//! each type (else [`PlaceError::NotEnoughCores`]). Establishes: pieces on distinct cores of
//! their type.
//!
//! * [`PlacementMethod::Sequential`] fills cores in id order (the baseline
//!   `--placement sequential`).
//! * [`PlacementMethod::Optimized`] minimises [`hop_traffic`] = Σ weight × XY hops in three
//!   stages:
//!   1. **Min-cut placement by recursive bisection with terminal propagation** (Dunlop &
//!      Kernighan 1985), each bisection **multilevel** (the METIS scheme SNEAP uses to
//!      partition SNNs). A compact set of cores is chosen first (square shells from the
//!      mesh origin, per core type, exactly as many as there are pieces of that type); on a
//!      grid of several chips only the fewest whole chips that hold the pieces (shells of
//!      chips from the grid origin) are used, here and by the annealing, so `chips_used`
//!      is the least the partition allows.
//!      The core set is cut in two across its longer side at the tile line nearest its
//!      middle; the pieces are cut to match, exactly as many of each type on each side as
//!      there are cores. A cut edge costs its weight × the distance between the halves'
//!      centres; an edge to a piece outside the region costs its weight × the distance
//!      from each half to that piece's current region (terminal propagation), so halves
//!      face the pieces they talk to. The region's graph is coarsened by heavy-edge
//!      matching (pieces of one type) to about 48 vertices, bisected there by greedy
//!      growing from 3 seeds (the piece pulled hardest towards the first half, the ends of
//!      a pseudo-diameter) each refined by Fiduccia–Mattheyses, then projected back level
//!      by level with FM refinement; the finest level is rebalanced exactly and refined by
//!      FM moves in pairs of one core type, which keep the balance. Regions are processed
//!      breadth-first until each holds one piece or one tile. On grid-like traffic this
//!      alone usually finds the optimum (an 8×8 grid graph on an 8×8 mesh: every edge one
//!      hop).
//!   2. **Simulated annealing** from the better of that placement and the sequential one:
//!      moves of a piece to a core of its type (free or occupied, then a swap) on a tile
//!      either in a window around it (the window shrinks or grows to keep ~44 % of moves
//!      accepted, as in VPR) or next to the weighted centroid of its neighbours. A move's
//!      cost change is computed in O(degree) from the pieces' current positions.
//!      Temperature starts at a multiple of the mean uphill change of sampled local moves
//!      and cools geometrically by 10³; the last tenth of each run is greedy. When the
//!      budget buys fewer than 250 moves per piece, the start is cooled in proportion
//!      (the bisection's placement is good and there is no time to climb back); when it
//!      buys 1,000 or more, it is split into up to 32 hot runs of 500 moves per piece,
//!      each restarting from the best placement so far — restarts, not longer runs, are
//!      what find the exact optimum of small problems.
//!   3. **Never worse**: the result is kept only if its [`hop_traffic`] is strictly below the
//!      sequential placement's; otherwise the sequential placement is returned.
//!
//! **Effort and time.** P pieces, E traffic edges after merging duplicates. Each depth of
//! the bisection recursion builds its regions' graphs and coarsens them in O(E) (levels
//! shrink geometrically); FM passes end after 40 moves without improvement and cost
//! O(moves × degree × log P); there are O(log P) depths. Annealing work is counted in
//! adjacency visits, not wall time: 150 per adjacency entry plus 5,000 per piece, at least
//! 10^6 and at most 2.5·10^7. Measured on one core (`benches/placement.rs`): 512 pieces
//! and 3·10^3 edges in 0.02 s, 5·10^3 pieces and 4·10^4 edges in 0.19 s, 10^4 pieces and
//! 10^5 edges in 0.33 s, 10^4 pieces and 9·10^5 edges in 0.85 s.
//!
//! **Determinism.** The same problem and seed give the same placement: no wall-clock,
//! hashing of addresses or threads influence the search; ties break by push order, piece
//! and core id, and the matching order is a fixed hash of vertex and level. The seed
//! drives the annealing only.
//!
//! Traffic weights that are negative, NaN or infinite are ignored by the optimiser (they
//! still count in [`hop_traffic`], and the never-worse check uses [`hop_traffic`]).

mod anneal;
mod bisect;
mod graph;
mod multilevel;

use spikeforge_targets::{CoreId, Target};

use graph::{Geometry, Graph};

/// What to place: pieces, their core types, and the traffic between them.
pub struct PlacementProblem<'a> {
    pub target: &'a Target,
    /// Core type index (as `Target::core_type_index` numbers them) each piece needs.
    pub piece_core_type: Vec<usize>,
    /// Traffic between pieces: (source piece, destination piece, weight = expected packets,
    /// from a calibration run's spike counts or from fan-out).
    pub traffic: Vec<(u32, u32, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlacementMethod {
    /// Pieces in order onto cores in id order.
    Sequential,
    /// Minimise hop-weighted traffic; deterministic for a seed.
    Optimized { seed: u64 },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlaceError {
    #[error("{needed} pieces need core type `{core_type}`, but the target has {available} such cores")]
    NotEnoughCores { core_type: String, needed: usize, available: usize },
}

/// Places every piece on its own core of the right type.
///
/// Panics if a traffic entry names a piece `>= piece_core_type.len()` (a caller bug).
pub fn place(p: &PlacementProblem, method: PlacementMethod) -> Result<Vec<CoreId>, PlaceError> {
    let n = p.piece_core_type.len();
    if let Some(&(a, b, _)) = p.traffic.iter().find(|&&(a, b, _)| a as usize >= n || b as usize >= n) {
        panic!("placement traffic ({a} → {b}) names a piece outside the {n} pieces");
    }
    let seq = sequential(p)?;
    match method {
        PlacementMethod::Sequential => Ok(seq),
        PlacementMethod::Optimized { seed } => {
            let opt = optimized(p, &seq, seed);
            if hop_traffic(p, &opt) < hop_traffic(p, &seq) {
                Ok(opt)
            } else {
                Ok(seq)
            }
        }
    }
}

fn sequential(p: &PlacementProblem) -> Result<Vec<CoreId>, PlaceError> {
    let n_types = p.target.cores_per_type().len();
    let mut free: Vec<Vec<CoreId>> = vec![Vec::new(); n_types];
    for c in p.target.core_ids().collect::<Vec<_>>().into_iter().rev() {
        free[p.target.core_type_index(c)].push(c);
    }
    let mut out = Vec::with_capacity(p.piece_core_type.len());
    for &t in &p.piece_core_type {
        match free.get_mut(t).and_then(|f| f.pop()) {
            Some(c) => out.push(c),
            None => {
                let needed = p.piece_core_type.iter().filter(|&&x| x == t).count();
                let core_type = p.target.spec().core_types.get(t).map_or_else(|| t.to_string(), |c| c.name.clone());
                return Err(PlaceError::NotEnoughCores {
                    core_type,
                    needed,
                    available: p.target.cores_per_type().get(t).copied().unwrap_or(0) as usize,
                });
            }
        }
    }
    Ok(out)
}

/// The optimised placement (before the never-worse check). `seq` is the sequential
/// placement, which also proves every type has enough cores.
fn optimized(p: &PlacementProblem, seq: &[CoreId], seed: u64) -> Vec<CoreId> {
    let n = seq.len();
    let mut geo = Geometry::new(p.target);
    let piece_type: Vec<u32> = p.piece_core_type.iter().map(|&t| t as u32).collect();
    geo.keep_chips_for(&piece_type);
    let graph = Graph::new(n, &p.traffic);
    if n < 2 || graph.adj.is_empty() || geo.single_tile() {
        return seq.to_vec();
    }
    let seq_pos: Vec<u32> = seq.iter().map(|c| c.0).collect();

    let compact = geo.compact_cores(&piece_type);
    let bis_pos = bisect::place(&graph, &geo, &piece_type, compact);
    let (seq_cost, bis_cost) = (graph.cost(&geo, &seq_pos), graph.cost(&geo, &bis_pos));
    let mut pos = if bis_cost < seq_cost { bis_pos } else { seq_pos };

    let adj = graph.adj.len() as u64;
    let budget = (150 * adj + 5_000 * n as u64).clamp(1_000_000, 25_000_000);
    anneal::refine(&graph, &geo, &piece_type, &mut pos, seed, budget);
    pos.into_iter().map(CoreId).collect()
}

/// Σ weight × XY hops (chip-to-chip hops included) of a placement.
pub fn hop_traffic(p: &PlacementProblem, placement: &[CoreId]) -> f64 {
    p.traffic
        .iter()
        .map(|&(a, b, w)| w * p.target.hops(placement[a as usize], placement[b as usize]).total() as f64)
        // Start from +0.0: an empty float sum is −0.0, which reports print as "-0".
        .fold(0.0, |acc, x| acc + x)
}
