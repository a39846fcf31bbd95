//! Shared by the placement tests and the placement bench: targets of a given mesh and
//! synthetic layered, conv-like traffic.
#![allow(dead_code)]

use spikeforge_targets::{preset, Layout, Target};

/// A target of `chips` chips, each a `mesh` of tiles with `cores_per_tile` identical cores
/// (the `test_2x2` core type), with the given cast.
pub fn mesh_target(chips: [u32; 2], mesh: [u32; 2], cores_per_tile: u32, multicast: bool) -> Target {
    let mut spec = preset("test_2x2").unwrap().unwrap().spec().clone();
    spec.grid.chips = chips;
    spec.noc.mesh = mesh;
    spec.noc.cores_per_tile = cores_per_tile;
    spec.noc.cast = if multicast { spikeforge_targets::Cast::Multicast } else { spikeforge_targets::Cast::Unicast };
    spec.layout = Layout::Uniform(spec.core_types[0].name.clone());
    Target::from_spec(spec, "generated").unwrap()
}

/// Traffic of a layered network whose layers are feature maps cut into `blocks[l] =
/// [bx, by]` rectangular pieces (numbered layer by layer, row-major within a layer). A
/// piece sends to every piece of the next layer whose block, widened by `halo` (in units of
/// the next layer's block size: a convolution's receptive field), overlaps its own block;
/// the weight is the overlap area × `rate` (spikes per unit area). Returns the traffic and
/// the number of pieces.
pub fn conv_traffic(blocks: &[[usize; 2]], halo: f64, rate: f64) -> (Vec<(u32, u32, f64)>, usize) {
    let mut first = Vec::with_capacity(blocks.len());
    let mut n = 0usize;
    for b in blocks {
        first.push(n);
        n += b[0] * b[1];
    }
    let overlap = |a0: f64, a1: f64, b0: f64, b1: f64| (a1.min(b1) - a0.max(b0)).max(0.0);
    let mut traffic = Vec::new();
    for l in 0..blocks.len().saturating_sub(1) {
        let [ax, ay] = blocks[l];
        let [bx, by] = blocks[l + 1];
        for sy in 0..ay {
            for sx in 0..ax {
                let (x0, x1) = (sx as f64 / ax as f64, (sx + 1) as f64 / ax as f64);
                let (y0, y1) = (sy as f64 / ay as f64, (sy + 1) as f64 / ay as f64);
                for ty in 0..by {
                    for tx in 0..bx {
                        let hx = halo / bx as f64;
                        let hy = halo / by as f64;
                        let ox = overlap(x0, x1, tx as f64 / bx as f64 - hx, (tx + 1) as f64 / bx as f64 + hx);
                        let oy = overlap(y0, y1, ty as f64 / by as f64 - hy, (ty + 1) as f64 / by as f64 + hy);
                        if ox > 0.0 && oy > 0.0 {
                            let s = first[l] + sy * ax + sx;
                            let t = first[l + 1] + ty * bx + tx;
                            traffic.push((s as u32, t as u32, ox * oy * rate));
                        }
                    }
                }
            }
        }
    }
    (traffic, n)
}
