//! Property tests of placement and routing on random problems over several targets
//! (homogeneous and heterogeneous, one or several chips, unicast and multicast).

mod place_common;

use std::collections::{HashMap, HashSet};

use place_common::mesh_target;
use proptest::prelude::*;
use spikeforge_compiler::mapper::place::{hop_traffic, place, PlacementMethod, PlacementProblem};
use spikeforge_compiler::mapper::route::{route, Flow, Link, RouteError, Routes};
use spikeforge_compiler::synth::Rng;
use spikeforge_targets::mesh::Dir;
use spikeforge_targets::{preset, Cast, CoreId, Target};

fn targets() -> Vec<Target> {
    let p = |name: &str| preset(name).unwrap().unwrap();
    vec![
        p("test_2x2"),
        p("test_grid"),
        p("speck"),
        p("loihi"),
        mesh_target([2, 2], [3, 3], 1, true),
        mesh_target([1, 1], [6, 5], 2, false),
    ]
}

/// `t` with the given cast and routing-table limits (`None` = no table limit).
fn with_limits(t: &Target, cast: Cast, router: Option<u32>, core: Option<u32>) -> Target {
    let mut spec = t.spec().clone();
    spec.noc.cast = cast;
    spec.grid.chip_routing_entries = router;
    for k in &mut spec.core_types {
        k.routing_entries = core;
    }
    Target::from_spec(spec, "variant").unwrap()
}

/// `t` with the given cast and no routing-table limits.
fn variant(t: &Target, cast: Cast) -> Target {
    with_limits(t, cast, None, None)
}

fn below(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A random problem on `t`: up to `fill` of each core type's cores get pieces (in shuffled
/// type order), with about `density` × pieces traffic edges; weights 0–19, some repeated.
fn problem(t: &Target, seed: u64, fill: f64, density: f64) -> PlacementProblem<'_> {
    let mut rng = Rng::new(seed);
    let mut types = Vec::new();
    for (k, &n) in t.cores_per_type().iter().enumerate() {
        let take = ((n as f64 * fill * rng.uniform()).round() as usize).min(n as usize);
        types.extend(std::iter::repeat_n(k, take));
    }
    for i in (1..types.len()).rev() {
        types.swap(i, below(&mut rng, i + 1));
    }
    let n = types.len();
    let mut traffic = Vec::new();
    if n > 0 {
        for _ in 0..(density * n as f64) as usize {
            let a = below(&mut rng, n) as u32;
            let b = below(&mut rng, n) as u32;
            traffic.push((a, b, below(&mut rng, 20) as f64));
        }
    }
    PlacementProblem { target: t, piece_core_type: types, traffic }
}

fn check_placement(p: &PlacementProblem, placement: &[CoreId]) {
    assert_eq!(placement.len(), p.piece_core_type.len());
    let distinct: HashSet<CoreId> = placement.iter().copied().collect();
    assert_eq!(distinct.len(), placement.len(), "two pieces share a core: {placement:?}");
    for (piece, &core) in placement.iter().enumerate() {
        assert!(core.0 < p.target.num_cores());
        assert_eq!(p.target.core_type_index(core), p.piece_core_type[piece], "piece {piece} on {core}");
    }
}

/// Random flows over `n` pieces: each a source and 1–4 destinations.
fn flows(n: usize, seed: u64, count: usize) -> Vec<Flow> {
    let mut rng = Rng::new(seed ^ 0xF10E);
    (0..if n == 0 { 0 } else { count })
        .map(|_| Flow {
            source: below(&mut rng, n) as u32,
            destinations: (0..1 + below(&mut rng, 4)).map(|_| below(&mut rng, n) as u32).collect(),
            weight: (1 + below(&mut rng, 9)) as f64,
        })
        .collect()
}

fn step(tile: [u64; 2], d: Dir) -> [u64; 2] {
    match d {
        Dir::East => [tile[0] + 1, tile[1]],
        Dir::West => [tile[0] - 1, tile[1]],
        Dir::North => [tile[0], tile[1] + 1],
        Dir::South => [tile[0], tile[1] - 1],
    }
}

/// Walks the XY steps from the source tile to each destination's tile, requiring every
/// link taken to be one of the flow's links.
fn check_reaches(t: &Target, placement: &[CoreId], f: &Flow, links: &[Link]) {
    let mesh = t.spec().noc.mesh;
    let set: HashSet<Link> = links.iter().copied().collect();
    let src = t.coord(placement[f.source as usize]).global_tile(mesh);
    for &d in &f.destinations {
        let dst = t.coord(placement[d as usize]).global_tile(mesh);
        let mut at = src;
        while at != dst {
            let dir = if at[0] < dst[0] {
                Dir::East
            } else if at[0] > dst[0] {
                Dir::West
            } else if at[1] < dst[1] {
                Dir::North
            } else {
                Dir::South
            };
            assert!(set.contains(&(at, dir)), "flow {f:?}: link {at:?} {dir:?} missing from {links:?}");
            at = step(at, dir);
        }
    }
}

fn check_routes(t: &Target, placement: &[CoreId], flows: &[Flow], r: &Routes) {
    assert_eq!(r.flow_links.len(), flows.len());
    for (f, links) in flows.iter().zip(&r.flow_links) {
        check_reaches(t, placement, f, links);
    }
    let total: f64 = r.link_load.values().sum();
    assert!((total - r.hop_traffic).abs() <= 1e-9 * (1.0 + total));
    // Core tables: distinct destination cores per source core.
    let mut dests: HashMap<CoreId, HashSet<CoreId>> = HashMap::new();
    for f in flows {
        let s = placement[f.source as usize];
        dests.entry(s).or_default().extend(f.destinations.iter().map(|&d| placement[d as usize]));
    }
    let expected: HashMap<CoreId, u32> = dests.into_iter().map(|(c, d)| (c, d.len() as u32)).collect();
    assert_eq!(r.core_entries, expected);
    // Every key holds an entry at its source router; no key holds more than one per router.
    let keyed = flows.iter().filter(|f| !f.destinations.is_empty()).count() as u32;
    let entries: u32 = r.router_entries.values().sum();
    assert!(entries >= keyed);
    assert!(r.router_entries.values().all(|&n| n >= 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn placements_are_injective_type_correct_never_worse_and_deterministic(
        which in 0usize..6, seed in any::<u64>(), fill in 0.0f64..1.0, density in 0.0f64..4.0,
    ) {
        let ts = targets();
        let p = problem(&ts[which], seed, fill, density);
        let seq = place(&p, PlacementMethod::Sequential).unwrap();
        check_placement(&p, &seq);
        let opt = place(&p, PlacementMethod::Optimized { seed }).unwrap();
        check_placement(&p, &opt);
        prop_assert!(hop_traffic(&p, &opt) <= hop_traffic(&p, &seq));
        prop_assert_eq!(&place(&p, PlacementMethod::Optimized { seed }).unwrap(), &opt);
    }

    #[test]
    fn routes_reach_every_destination_and_multicast_never_loads_more(
        which in 0usize..6, seed in any::<u64>(), fill in 0.0f64..1.0, count in 0usize..40,
    ) {
        let ts = targets();
        let p = problem(&ts[which], seed, fill, 1.0);
        let placement = place(&p, PlacementMethod::Optimized { seed }).unwrap();
        let fl = flows(placement.len(), seed, count);
        let uni_t = variant(p.target, Cast::Unicast);
        let multi_t = variant(p.target, Cast::Multicast);
        let uni = route(&uni_t, &placement, &fl).unwrap();
        let multi = route(&multi_t, &placement, &fl).unwrap();
        check_routes(&uni_t, &placement, &fl, &uni);
        check_routes(&multi_t, &placement, &fl, &multi);
        prop_assert!(multi.hop_traffic <= uni.hop_traffic);
        for (link, &load) in &multi.link_load {
            prop_assert!(load <= uni.link_load[link], "{:?}: multicast {} > unicast {}", link, load, uni.link_load[link]);
        }
        // A multicast tree uses each link once.
        for links in &multi.flow_links {
            prop_assert_eq!(links.iter().collect::<HashSet<_>>().len(), links.len());
        }
        // With small table limits, routing fails exactly when a count is over a limit, and
        // names the core table before the router tables.
        let cast = p.target.spec().noc.cast;
        let limited = with_limits(p.target, cast, Some(1 + (seed % 5) as u32), Some(1 + (seed % 3) as u32));
        let free = if cast == Cast::Unicast { &uni } else { &multi };
        let core_over = free.core_entries.iter().any(|(&c, &n)| limited.core(c).routing_entries.is_some_and(|l| n > l));
        let router_over = limited.spec().grid.chip_routing_entries.is_some_and(|l| free.max_router_entries() > l);
        match route(&limited, &placement, &fl) {
            Ok(r) => {
                prop_assert!(!core_over && !router_over);
                prop_assert_eq!(&r, free);
            }
            Err(RouteError::CoreTableFull { needed, limit, .. }) => prop_assert!(core_over && needed > limit),
            Err(RouteError::TableFull { needed, limit, .. }) => prop_assert!(!core_over && router_over && needed > limit),
        }
    }

    #[test]
    fn unicast_route_hop_traffic_equals_placement_hop_traffic(
        which in 0usize..6, seed in any::<u64>(), fill in 0.0f64..1.0, density in 0.0f64..3.0,
    ) {
        let ts = targets();
        let p = problem(&ts[which], seed, fill, density);
        let placement = place(&p, PlacementMethod::Optimized { seed }).unwrap();
        let fl: Vec<Flow> = p.traffic.iter().map(|&(a, b, w)| Flow { source: a, destinations: vec![b], weight: w }).collect();
        let r = route(&variant(p.target, Cast::Unicast), &placement, &fl).unwrap();
        prop_assert_eq!(r.hop_traffic, hop_traffic(&p, &placement));
    }
}
