//! The Pareto front of points whose objectives are all minimised.
//!
//! Point `q` dominates `p` when `q ≤ p` in every objective and `q < p` in at least one; the
//! front is the points no other point dominates. Identical points are all on it. A point
//! with a non-finite objective is never on the front and dominates nothing.

use std::cmp::Ordering;

fn dominates<const D: usize>(q: &[f64; D], p: &[f64; D]) -> bool {
    q.iter().zip(p).all(|(a, b)| a <= b) && q.iter().zip(p).any(|(a, b)| a < b)
}

/// For each point, whether it is on the front. A dominator sorts lexicographically before
/// what it dominates, and domination is transitive, so after sorting each point is checked
/// against the front found so far only: O(n log n + n · front size).
pub fn front<const D: usize>(points: &[[f64; D]]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..points.len()).filter(|&i| points[i].iter().all(|x| x.is_finite())).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .iter()
            .zip(&points[b])
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(a.cmp(&b))
    });
    let mut on = vec![false; points.len()];
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if !kept.iter().any(|&k| dominates(&points[k], &points[i])) {
            on[i] = true;
            kept.push(i);
        }
    }
    on
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, quadratically.
    fn naive<const D: usize>(points: &[[f64; D]]) -> Vec<bool> {
        let finite = |p: &[f64; D]| p.iter().all(|x| x.is_finite());
        points.iter().map(|p| finite(p) && !points.iter().any(|q| finite(q) && dominates(q, p))).collect()
    }

    #[test]
    fn hand_made_points() {
        // (energy, latency, cost)
        let pts = [
            [1.0, 9.0, 5.0],           // 0: best energy
            [9.0, 1.0, 5.0],           // 1: best latency
            [5.0, 5.0, 1.0],           // 2: best cost
            [5.0, 5.0, 2.0],           // 3: dominated by 2 (worse cost only)
            [2.0, 9.0, 5.0],           // 4: dominated by 0 (worse energy only)
            [4.0, 4.0, 4.0],           // 5: trade-off, on the front
            [4.0, 4.0, 4.0],           // 6: equal to 5, on the front too
            [9.0, 9.0, 9.0],           // 7: dominated by everything on the front
            [f64::NAN, 0.0, 0.0],      // 8: incomplete: never on the front
            [0.5, f64::INFINITY, 0.0], // 9: incomplete
        ];
        let f = front(&pts);
        assert_eq!(f, [true, true, true, false, false, true, true, false, false, false]);
        assert_eq!(f, naive(&pts));
    }

    #[test]
    fn small_cases() {
        assert!(front::<3>(&[]).is_empty());
        assert_eq!(front(&[[3.0, 1.0]]), [true]);
        // A chain: each dominates the next.
        assert_eq!(front(&[[3.0, 3.0], [1.0, 1.0], [2.0, 2.0]]), [false, true, false]);
        // An anti-chain: all on the front.
        assert_eq!(front(&[[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]), [true, true, true]);
    }

    #[test]
    fn agrees_with_the_definition_on_grids_with_ties() {
        // Deterministic pseudo-random points on a coarse lattice (many ties).
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 5) as f64
        };
        for _ in 0..50 {
            let pts: Vec<[f64; 3]> = (0..40).map(|_| [next(), next(), next()]).collect();
            assert_eq!(front(&pts), naive(&pts));
        }
    }
}
