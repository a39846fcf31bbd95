//! Chips: whether a partition fits the target's cores, and if not, how many chips of the
//! target's kind would hold it; `--chips auto`, the smallest grid a model maps onto.
//!
//! Needs: a partition ([`super::partition`]) and the target it was made for. Establishes:
//! a partition that passes [`check_core_counts`] has no more cores of any type than the
//! target; one that fails gets a [`CoreShortfall`] whose per-layer list adds up to the total
//! and names the chips needed. [`compile_auto`] maps onto a near-square grid of the target's
//! chips, starting from the chips lower bound and growing to what the partition needs.

use std::time::Instant;

use spikeforge_targets::{Target, TargetError, TargetSpec};

use super::error::{CoreShortfall, MapError};
use super::lower::Network;
use super::partition::Partition;
use super::report::{MapReport, PhaseSeconds};
use super::CompileOptions;
use crate::exec::Dynamics;
use crate::ir::{Graph, Verified};
use crate::limits::{LimitError, Limits};
use spikeforge_targets::coremap::CoreMap;

/// A near-square grid `[x, y]` of at least `chips` chips: `x = ⌈√chips⌉`, `y = ⌈chips/x⌉`
/// (11 → 4 × 3, 16 → 4 × 4, 17 → 5 × 4).
pub fn near_square(chips: u64) -> [u32; 2] {
    let chips = chips.max(1);
    let mut x = (chips as f64).sqrt().ceil() as u64;
    while x * x < chips {
        x += 1;
    }
    while x > 1 && (x - 1) * (x - 1) >= chips {
        x -= 1;
    }
    let y = chips.div_ceil(x);
    [x.min(u32::MAX as u64) as u32, y.min(u32::MAX as u64) as u32]
}

/// Checks the partition's cores per type against the target's; the error counts every
/// core once (see [`CoreShortfall`]).
pub fn check_core_counts(net: &Network, part: &Partition, target: &Target) -> Result<(), MapError> {
    let available = target.cores_per_type();
    let types = &target.spec().core_types;
    let mut used = vec![0usize; types.len()];
    for b in &part.bins {
        used[b.core_type] += 1;
    }
    let over: Vec<usize> = (0..types.len()).filter(|&t| used[t] > available[t] as usize).collect();
    let Some(&short) = over.iter().max_by_key(|&&t| (used[t] - available[t] as usize, std::cmp::Reverse(t))) else {
        return Ok(());
    };
    // Which populations each core holds: one population → that layer's own core.
    let mut holders: Vec<Option<usize>> = vec![None; part.bins.len()];
    let mut shared = vec![false; part.bins.len()];
    for (pop, pieces) in part.pieces.iter().enumerate() {
        for &(bin, _, _) in pieces {
            let b = bin as usize;
            match holders[b] {
                None => holders[b] = Some(pop),
                Some(p) if p != pop => shared[b] = true,
                Some(_) => {}
            }
        }
    }
    let mut own = vec![0usize; net.populations.len()];
    let mut shared_cores = 0;
    for (b, h) in holders.iter().enumerate() {
        match (h, shared[b]) {
            (Some(_), true) => shared_cores += 1,
            (Some(p), false) => own[*p] += 1,
            (None, _) => {}
        }
    }
    let mut layers: Vec<(String, usize)> = part
        .pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, _)| (net.populations[i].name.clone(), own[i]))
        .collect();
    layers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let [gx, gy] = target.spec().grid.chips;
    let chips = (gx as u64 * gy as u64).max(1);
    let per_chip = (available[short] as u64 / chips).max(1);
    let chips_needed = (used[short] as u64).div_ceil(per_chip);
    let single_type = types.len() == 1;
    Err(MapError::NotEnoughCores(Box::new(CoreShortfall {
        needed: used[short],
        available: available[short] as usize,
        core_type: (!single_type).then(|| types[short].name.clone()),
        total_cores: part.bins.len(),
        target: target.name().to_string(),
        grid: [gx, gy],
        cores_per_chip: per_chip,
        chips_needed,
        suggested_grid: near_square(chips_needed),
        layers,
        shared_cores,
        also_short: over
            .iter()
            .filter(|&&t| t != short)
            .map(|&t| (types[t].name.clone(), used[t], available[t] as usize))
            .collect(),
    })))
}

/// Why `--chips auto` found no grid.
#[derive(Debug, thiserror::Error)]
pub enum AutoChipsError {
    /// The target with a grid of `chips` breaks the target's rules.
    #[error("--chips auto: a grid of {}x{} chips: {source}", chips[0], chips[1])]
    Target { chips: [u32; 2], source: TargetError },
    /// The grid grew past the limits on core positions.
    #[error("--chips auto: a grid of {}x{} chips: {source}", chips[0], chips[1])]
    Limit { chips: [u32; 2], source: LimitError },
    /// The mapper refused the model on a grid with enough cores (a limit more chips do not
    /// lift: a layer too large for any core, routing tables, …).
    #[error("{0}")]
    Map(#[from] MapError),
}

/// Where `--chips auto` landed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChipsChoice {
    pub grid: [u32; 2],
    pub chips_lower_bound: u64,
    /// Grids tried, in order (the last one fits).
    pub tried: Vec<[u32; 2]>,
}

/// Most grids tried: each try after the first sizes the grid from the cores the previous
/// partition needed, so two usually suffice (one partition on single-type targets).
const MAX_TRIES: usize = 8;

fn with_grid(spec: &TargetSpec, grid: [u32; 2], file: &str, limits: &Limits) -> Result<Target, AutoChipsError> {
    let mut s = spec.clone();
    s.grid.chips = grid;
    limits.check_target(&s, file).map_err(|source| AutoChipsError::Limit { chips: grid, source })?;
    Target::from_spec(s, file).map_err(|source| AutoChipsError::Target { chips: grid, source })
}

/// Compiles onto the smallest near-square grid of `spec`'s chips that the mapper fits the
/// model on: from the chips lower bound, then from the cores each failed partition needed.
/// The model is lowered once; on a target of one core type the partition does not depend
/// on the number of chips, so it is made once too and only the grid grows.
pub fn compile_auto(
    graph: &Graph,
    verified: &Verified,
    spec: &TargetSpec,
    file: &str,
    dynamics: Dynamics,
    opts: &CompileOptions,
    limits: &Limits,
) -> Result<(Target, CoreMap, MapReport, ChipsChoice), AutoChipsError> {
    let start = Instant::now();
    super::check_calibration(graph, opts)?;
    let one_chip = with_grid(spec, [1, 1], file, limits)?;
    let mut phases = PhaseSeconds::default();
    let t = Instant::now();
    let net = super::split::split_fan_in(super::lower::lower(graph, verified, &dynamics)?, &one_chip)?;
    phases.lower = t.elapsed().as_secs_f64();
    let demands = super::bound::demands(&net, &one_chip);
    let (cores_lb, _) = super::bound::lower_bound(&demands, net.n_neurons() > 0);
    let chips_lower_bound = super::bound::chips_lower_bound(cores_lb, &one_chip).max(1);
    let single_type = spec.core_types.len() == 1;
    let mut grid = near_square(chips_lower_bound);
    let mut tried = vec![grid];
    let mut target = with_grid(spec, grid, file, limits)?;
    let t = Instant::now();
    let mut part = super::partition::partition(&net, &target)?;
    loop {
        match check_core_counts(&net, &part, &target) {
            Ok(()) => {
                phases.partition = t.elapsed().as_secs_f64();
                let (map, report) = super::finish(net, &part, &target, &dynamics, opts, phases, start)?;
                return Ok((target, map, report, ChipsChoice { grid, chips_lower_bound, tried }));
            }
            Err(MapError::NotEnoughCores(s)) if tried.len() < MAX_TRIES => {
                let have = grid[0] as u64 * grid[1] as u64;
                grid = near_square(s.chips_needed.max(have + 1));
                tried.push(grid);
                target = with_grid(spec, grid, file, limits)?;
                if !single_type {
                    part = super::partition::partition(&net, &target)?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::near_square;

    #[test]
    fn near_square_grids_hold_the_chips_and_are_the_squarest() {
        assert_eq!(near_square(0), [1, 1]);
        assert_eq!(near_square(1), [1, 1]);
        assert_eq!(near_square(2), [2, 1]);
        assert_eq!(near_square(11), [4, 3]);
        assert_eq!(near_square(16), [4, 4]);
        assert_eq!(near_square(17), [5, 4]);
        for n in 1..2000u64 {
            let [x, y] = near_square(n);
            let (x, y) = (x as u64, y as u64);
            assert!(x * y >= n && x >= y && x - y <= 1 + x / 2, "{n}: {x}x{y}");
            // One row fewer would not hold them.
            assert!(x * (y - 1) < n, "{n}: {x}x{y}");
        }
    }
}
