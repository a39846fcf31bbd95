//! Routing: XY paths for every flow (one source piece to the pieces it sends to), multicast
//! trees where the target has multicast, per-router table entries and per-link load.
//!
//! Needs: a placement. Establishes: every flow reaches each destination core along XY
//! links; router tables within the target's limits (else a named error).

use std::collections::{HashMap, HashSet};

use spikeforge_targets::mesh::{xy_route, Dir};
use spikeforge_targets::{Cast, CoreId, Target};

/// One source piece sending to a set of destination pieces; `weight` = expected packets.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub source: u32,
    pub destinations: Vec<u32>,
    pub weight: f64,
}

/// A directed link: leaving global tile `from` in direction `dir`.
pub type Link = ([u64; 2], Dir);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routes {
    /// Routing table entries used per global tile (router).
    pub router_entries: HashMap<[u64; 2], u32>,
    /// Expected packets over each link (multicast trees count a shared link once).
    pub link_load: HashMap<Link, f64>,
    /// Σ over flows of weight × links used (tree edges for multicast, paths for unicast).
    pub hop_traffic: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RouteError {
    #[error("the router at tile ({x}, {y}) needs {needed} routing entries; the chip's routers hold {limit}")]
    TableFull { x: u64, y: u64, needed: u32, limit: u32 },
}

/// Routes every flow with dimension-ordered (XY) routing.
pub fn route(target: &Target, placement: &[CoreId], flows: &[Flow]) -> Result<Routes, RouteError> {
    let mesh = target.spec().noc.mesh;
    let multicast = target.spec().noc.cast == Cast::Multicast;
    let mut r = Routes::default();
    for f in flows {
        let src = target.coord(placement[f.source as usize]);
        let mut tree: HashSet<Link> = HashSet::new();
        let mut dest_cores: Vec<CoreId> = f.destinations.iter().map(|&d| placement[d as usize]).collect();
        dest_cores.sort();
        dest_cores.dedup();
        for d in dest_cores {
            let path = xy_route(&src, &target.coord(d), mesh);
            if multicast {
                tree.extend(path.iter().map(|s| (s.from, s.dir)));
            } else {
                for s in &path {
                    *r.link_load.entry((s.from, s.dir)).or_default() += f.weight;
                    r.hop_traffic += f.weight;
                }
            }
        }
        // One table entry per router a flow's tree passes through (unicast: per path).
        let routers: HashSet<[u64; 2]> = tree.iter().map(|l| l.0).collect();
        for l in &tree {
            *r.link_load.entry(*l).or_default() += f.weight;
            r.hop_traffic += f.weight;
        }
        for router in routers {
            *r.router_entries.entry(router).or_default() += 1;
        }
    }
    if let Some(limit) = target.spec().grid.chip_routing_entries {
        if let Some((&[x, y], &needed)) = r.router_entries.iter().filter(|(_, &n)| n > limit).max_by_key(|(_, &n)| n) {
            return Err(RouteError::TableFull { x, y, needed, limit });
        }
    }
    Ok(r)
}
