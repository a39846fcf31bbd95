//! Placement on small problems: hand-computed hop traffic, errors, and the optimiser
//! against brute force over every placement.

mod place_common;

use place_common::mesh_target;
use spikeforge_compiler::mapper::place::{hop_traffic, place, PlaceError, PlacementMethod, PlacementProblem};
use spikeforge_compiler::synth::Rng;
use spikeforge_targets::{preset, CoreId, Target};

fn preset_target(name: &str) -> Target {
    preset(name).unwrap().unwrap()
}

fn cores(ids: &[u32]) -> Vec<CoreId> {
    ids.iter().map(|&i| CoreId(i)).collect()
}

#[test]
fn hop_traffic_on_a_2x2_mesh_by_hand() {
    // test_2x2: c0 (0,0), c1 (1,0), c2 (0,1), c3 (1,1), one core per tile.
    let t = preset_target("test_2x2");
    let p = PlacementProblem {
        target: &t,
        piece_core_type: vec![0; 4],
        traffic: vec![(0, 1, 10.0), (1, 2, 5.0), (0, 3, 1.0), (3, 3, 7.0)],
    };
    // Sequential: 0→1 one hop (10), 1→2 diagonal two hops (10), 0→3 two hops (2), 3→3 none.
    let seq = place(&p, PlacementMethod::Sequential).unwrap();
    assert_eq!(seq, cores(&[0, 1, 2, 3]));
    assert_eq!(hop_traffic(&p, &seq), 22.0);
    assert_eq!(hop_traffic(&p, &cores(&[0, 3, 1, 2])), 20.0 + 5.0 + 1.0);
    assert_eq!(hop_traffic(&p, &cores(&[0, 1, 3, 2])), 10.0 + 5.0 + 1.0);
    // The chain 2–1–0–3 fits the mesh's 4-cycle with every edge one hop: 16 is optimal.
    for seed in [0, 1, 99] {
        let opt = place(&p, PlacementMethod::Optimized { seed }).unwrap();
        assert_eq!(hop_traffic(&p, &opt), 16.0, "seed {seed}: {opt:?}");
    }
}

#[test]
fn hop_traffic_counts_chip_hops_and_respects_types_by_hand() {
    // test_grid: 2 chips of 2×2 tiles, 2 cores per tile. Chip 0: c0,c1 big at (0,0);
    // c2,c3 small at (1,0); c4,c5 small at (0,1); tile (1,1) empty. Chip 1 repeats at
    // global x + 2: c6,c7 big at (2,0); c8,c9 small at (3,0); c10,c11 small at (2,1).
    let t = preset_target("test_grid");
    assert_eq!(t.num_cores(), 12);
    let p = PlacementProblem {
        target: &t,
        piece_core_type: vec![0, 1, 0, 1],
        traffic: vec![(0, 1, 1.0), (0, 2, 2.0), (1, 3, 4.0)],
    };
    let seq = place(&p, PlacementMethod::Sequential).unwrap();
    assert_eq!(seq, cores(&[0, 2, 1, 3]));
    // 0→1: (0,0)→(1,0) 1 hop; 0→2 same tile; 1→3 same tile.
    assert_eq!(hop_traffic(&p, &seq), 1.0);
    // Pieces 0 and 2 on the two big tiles (a chip link between them), 1 on (3,0), 3 on (2,1).
    let spread = cores(&[0, 9, 6, 10]);
    // 0→1: 3 hops (one chip-to-chip) ×1; 0→2: 2 hops ×2; 1→3: (3,0)→(2,1) 2 hops ×4.
    assert_eq!(hop_traffic(&p, &spread), 3.0 + 4.0 + 8.0);
    let opt = place(&p, PlacementMethod::Optimized { seed: 5 }).unwrap();
    assert_eq!(hop_traffic(&p, &opt), 1.0);
    for (piece, core) in opt.iter().enumerate() {
        assert_eq!(t.core_type_index(*core), p.piece_core_type[piece]);
    }
}

#[test]
fn not_enough_cores_is_named_for_both_methods() {
    let t = preset_target("test_grid");
    let p = PlacementProblem { target: &t, piece_core_type: vec![0; 5], traffic: vec![(0, 1, 1.0)] };
    let expected = PlaceError::NotEnoughCores { core_type: "big".into(), needed: 5, available: 4 };
    assert_eq!(place(&p, PlacementMethod::Sequential), Err(expected.clone()));
    assert_eq!(place(&p, PlacementMethod::Optimized { seed: 1 }), Err(expected.clone()));
    assert_eq!(expected.to_string(), "5 pieces need core type `big`, but the target has 4 such cores");
    // A core type the target does not have is an error, not a panic.
    let p = PlacementProblem { target: &t, piece_core_type: vec![0, 7], traffic: vec![] };
    assert_eq!(
        place(&p, PlacementMethod::Optimized { seed: 1 }),
        Err(PlaceError::NotEnoughCores { core_type: "7".into(), needed: 1, available: 0 })
    );
}

#[test]
fn empty_and_trafficless_problems() {
    let t = preset_target("test_2x2");
    let p = PlacementProblem { target: &t, piece_core_type: vec![], traffic: vec![] };
    assert_eq!(place(&p, PlacementMethod::Optimized { seed: 3 }), Ok(vec![]));
    let p = PlacementProblem { target: &t, piece_core_type: vec![0; 3], traffic: vec![(1, 1, 4.0)] };
    assert_eq!(place(&p, PlacementMethod::Optimized { seed: 3 }), Ok(cores(&[0, 1, 2])));
}

/// Smallest hop traffic over every type-correct injective placement.
fn brute_force(p: &PlacementProblem) -> f64 {
    fn go(p: &PlacementProblem, i: usize, cur: &mut Vec<CoreId>, used: &mut [bool], best: &mut f64) {
        if i == p.piece_core_type.len() {
            *best = best.min(hop_traffic(p, cur));
            return;
        }
        for c in p.target.core_ids() {
            if !used[c.index()] && p.target.core_type_index(c) == p.piece_core_type[i] {
                used[c.index()] = true;
                cur.push(c);
                go(p, i + 1, cur, used, best);
                cur.pop();
                used[c.index()] = false;
            }
        }
    }
    let mut best = f64::INFINITY;
    go(p, 0, &mut Vec::new(), &mut vec![false; p.target.num_cores() as usize], &mut best);
    best
}

fn random_problem<'a>(t: &'a Target, types: &[usize], rng: &mut Rng) -> PlacementProblem<'a> {
    let n = types.len() as u32;
    let mut traffic = Vec::new();
    for a in 0..n {
        for b in 0..n {
            if a != b && rng.uniform() < 0.35 {
                traffic.push((a, b, (1 + rng.next_u64() % 9) as f64));
            }
        }
    }
    PlacementProblem { target: t, piece_core_type: types.to_vec(), traffic }
}

fn check_optimal(t: &Target, types: &[usize], instances: u64) {
    let mut rng = Rng::new(types.len() as u64 * 1000 + t.num_cores() as u64);
    for i in 0..instances {
        let p = random_problem(t, types, &mut rng);
        let best = brute_force(&p);
        let opt = place(&p, PlacementMethod::Optimized { seed: i }).unwrap();
        assert_eq!(hop_traffic(&p, &opt), best, "{} instance {i}: traffic {:?}", t.name(), p.traffic);
    }
}

#[test]
fn optimizer_matches_brute_force_on_a_2x2_mesh() {
    check_optimal(&preset_target("test_2x2"), &[0; 4], 30);
}

#[test]
fn optimizer_matches_brute_force_on_a_3x3_mesh() {
    let t = mesh_target([1, 1], [3, 3], 1, false);
    check_optimal(&t, &[0; 6], 20);
    check_optimal(&t, &[0; 7], 40);
}

#[test]
fn optimizer_matches_brute_force_with_core_types_and_chips() {
    // test_grid: 4 big and 8 small cores on two chips.
    let t = preset_target("test_grid");
    check_optimal(&t, &[0, 1, 1, 0, 1, 1, 0], 40);
    check_optimal(&t, &[1, 1, 1, 1, 1, 0], 20);
}

#[test]
fn optimizer_matches_brute_force_with_free_cores() {
    // 5 pieces on 16 cores: two chips of 2×2 tiles, two cores per tile.
    let t = mesh_target([2, 1], [2, 2], 2, false);
    check_optimal(&t, &[0; 5], 20);
}
