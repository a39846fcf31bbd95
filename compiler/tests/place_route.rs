//! Routing on hand-computed cases: paths, multicast trees, table entries with default
//! routing, chip-to-chip links, utilisation and table-overflow errors.

mod place_common;

use std::collections::HashMap;

use place_common::mesh_target;
use spikeforge_compiler::mapper::route::{
    is_chip_link, link_packets_per_cycle, link_utilisation, max_link_utilisation, route, Flow, RouteError,
};
use spikeforge_targets::mesh::Dir::{East, North, South, West};
use spikeforge_targets::{preset, CoreCoord, CoreId, Target};

fn preset_target(name: &str) -> Target {
    preset(name).unwrap().unwrap()
}

fn ids(n: u32) -> Vec<CoreId> {
    (0..n).map(CoreId).collect()
}

fn flow(source: u32, destinations: &[u32], weight: f64) -> Flow {
    Flow { source, destinations: destinations.to_vec(), weight }
}

#[test]
fn unicast_paths_and_entries_on_a_2x2_mesh() {
    // test_2x2 (unicast): c0 (0,0), c1 (1,0), c2 (0,1), c3 (1,1); piece i on core i.
    let t = preset_target("test_2x2");
    let r = route(&t, &ids(4), &[flow(0, &[3, 1], 2.0)]).unwrap();
    // c0→c1: east; c0→c3: east then north. The shared east link carries both packets.
    assert_eq!(r.link_load, HashMap::from([(([0, 0], East), 4.0), (([1, 0], North), 2.0)]));
    assert_eq!(r.hop_traffic, 6.0);
    assert_eq!(r.flow_links[0], vec![([0, 0], East), ([0, 0], East), ([1, 0], North)]);
    // Each path is a key: source router twice; (1,0) delivers (c1 path) and turns (c3 path);
    // (1,1) delivers.
    assert_eq!(r.router_entries, HashMap::from([([0, 0], 2), ([1, 0], 2), ([1, 1], 1)]));
    assert_eq!(r.core_entries, HashMap::from([(CoreId(0), 2)]));
}

#[test]
fn multicast_tree_shares_links_and_entries() {
    let t = mesh_target([1, 1], [2, 2], 1, true);
    let r = route(&t, &ids(4), &[flow(0, &[3, 1, 1], 2.0)]).unwrap();
    assert_eq!(r.link_load, HashMap::from([(([0, 0], East), 2.0), (([1, 0], North), 2.0)]));
    assert_eq!(r.hop_traffic, 4.0);
    assert_eq!(r.router_entries, HashMap::from([([0, 0], 1), ([1, 0], 1), ([1, 1], 1)]));
    assert_eq!(r.max_router_entries(), 1);
    assert_eq!(r.core_entries, HashMap::from([(CoreId(0), 2)]));
}

#[test]
fn straight_pass_through_is_default_routed() {
    // A 5×3 mesh, one core per tile: core id = y·5 + x.
    let t = mesh_target([1, 1], [5, 3], 1, true);
    // Source (0,1) → (4,1): routers (1,1)…(3,1) pass straight and hold no entry.
    let r = route(&t, &ids(15), &[flow(5, &[9], 1.0)]).unwrap();
    assert_eq!(r.router_entries, HashMap::from([([0, 1], 1), ([4, 1], 1)]));
    assert_eq!(r.hop_traffic, 4.0);
    // Add destinations (2,1) (delivers on the way), (3,2) and (3,0) (a branch north and
    // south at x = 3): entries at the source, (2,1), the branch (3,1), (3,2), (3,0) and
    // the end (4,1); (1,1) still passes straight.
    let r = route(&t, &ids(15), &[flow(5, &[9, 7, 13, 3], 1.0)]).unwrap();
    let expected = HashMap::from([([0, 1], 1), ([2, 1], 1), ([3, 1], 1), ([3, 2], 1), ([3, 0], 1), ([4, 1], 1)]);
    assert_eq!(r.router_entries, expected);
    // Tree: 4 links east, one north, one south.
    assert_eq!(r.hop_traffic, 6.0);
    // Westward (4,1) → (0,1): only the two ends hold entries.
    let r = route(&t, &ids(15), &[flow(9, &[5], 1.0)]).unwrap();
    assert_eq!(r.router_entries.len(), 2);
    assert!(r.flow_links[0].iter().all(|l| l.1 == West));
    // Same tile: the source router delivers locally with one entry and no link.
    let r = route(&t, &ids(15), &[flow(5, &[5], 1.0)]).unwrap();
    assert_eq!(r.router_entries, HashMap::from([([0, 1], 1)]));
    assert!(r.link_load.is_empty());
    assert_eq!(r.core_entries, HashMap::from([(CoreId(5), 1)]));
}

#[test]
fn chip_links_are_distinguished_and_utilisation_uses_their_width() {
    // test_grid: chips side by side along x, each 2×2 tiles; c0 at global (0,0) on chip 0,
    // c6 at global (2,0) on chip 1. On-chip links 32 bits/cycle, chip links 8; packets 32.
    let t = preset_target("test_grid");
    let placement = vec![CoreId(0), CoreId(6)];
    let r = route(&t, &placement, &[flow(0, &[1], 10.0)]).unwrap();
    let on_chip = ([0, 0], East);
    let chip = ([1, 0], East);
    assert_eq!(r.link_load, HashMap::from([(on_chip, 10.0), (chip, 10.0)]));
    assert!(!is_chip_link(&t, &on_chip));
    assert!(is_chip_link(&t, &chip));
    assert!(is_chip_link(&t, &([2, 0], West)));
    assert!(!is_chip_link(&t, &([2, 0], North)));
    assert!(!is_chip_link(&t, &([3, 0], North)));
    // Chips stacked north–south: rows 1 and 2 are on different chips.
    let tall = mesh_target([1, 2], [2, 2], 1, true);
    assert!(is_chip_link(&tall, &([0, 1], North)) && is_chip_link(&tall, &([1, 2], South)));
    assert!(!is_chip_link(&tall, &([0, 0], North)) && !is_chip_link(&tall, &([1, 3], South)));
    assert_eq!(link_packets_per_cycle(&t, &on_chip), 1.0);
    assert_eq!(link_packets_per_cycle(&t, &chip), 0.25);
    assert_eq!(r.chip_link_load(&t), 10.0);
    // 20 cycles per step: the on-chip link is half used, the chip link twice over.
    let uses = link_utilisation(&t, &r, 20.0);
    assert_eq!(uses.len(), 2);
    assert_eq!((uses[0].link, uses[0].chip_link, uses[0].utilisation), (chip, true, 2.0));
    assert_eq!((uses[1].link, uses[1].chip_link, uses[1].utilisation), (on_chip, false, 0.5));
    assert_eq!(max_link_utilisation(&t, &r, 20.0), Some(uses[0]));
    assert_eq!(max_link_utilisation(&t, &route(&t, &placement, &[]).unwrap(), 20.0), None);
}

#[test]
fn a_full_router_table_is_named() {
    // test_grid routers hold 64 entries: 65 keys from c0 to c2 need 65 at (0,0) and (1,0).
    let t = preset_target("test_grid");
    let flows: Vec<Flow> = (0..65).map(|_| flow(0, &[1], 1.0)).collect();
    let placement = vec![CoreId(0), CoreId(2)];
    let err = route(&t, &placement, &flows).unwrap_err();
    assert_eq!(err, RouteError::TableFull { x: 0, y: 0, needed: 65, limit: 64 });
    assert_eq!(
        err.to_string(),
        "the router at global tile (0, 0) needs 65 routing entries; the target's routers hold 64 \
         (grid.chip_routing_entries)"
    );
    assert!(route(&t, &placement, &flows[..64]).is_ok());
}

#[test]
fn a_full_core_table_is_named() {
    // test_2x2's core type holds 8 routing entries; on a 4×4 mesh of it, c0 sends to 9 cores.
    let t = mesh_target([1, 1], [4, 4], 1, false);
    let r = route(&t, &ids(16), &[flow(0, &[1, 2, 3, 4, 5, 6, 7, 8], 1.0), flow(0, &[8, 1], 1.0)]).unwrap();
    assert_eq!(r.core_entries[&CoreId(0)], 8);
    let err = route(&t, &ids(16), &[flow(0, &[1, 2, 3, 4, 5, 6, 7, 8], 1.0), flow(0, &[9], 1.0)]).unwrap_err();
    let at = CoreCoord { chip: [0, 0], tile: [0, 0], slot: 0 };
    assert_eq!(err, RouteError::CoreTableFull { core: CoreId(0), at, core_type: "tiny".into(), needed: 9, limit: 8 });
    assert_eq!(
        err.to_string(),
        "core c0 at chip(0,0)/tile(0,0)/0 (core type `tiny`) sends to 9 destination cores; its routing table \
         holds 8 entries (routing_entries of `tiny`)"
    );
}

#[test]
fn one_tile_targets_route_without_links() {
    let t = preset_target("speck");
    let r = route(&t, &ids(3), &[flow(0, &[1, 2], 5.0), flow(2, &[0], 1.0)]).unwrap();
    assert!(r.link_load.is_empty());
    assert_eq!(r.hop_traffic, 0.0);
    assert_eq!(r.router_entries, HashMap::from([([0, 0], 2)]));
}
