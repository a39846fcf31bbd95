//! Placement quality on layered, conv-like problems: the optimised placement's hop
//! traffic is at most 0.70 of the sequential baseline's (the mapper's goal), on one and
//! several chips, with one and several core types.

mod place_common;

use place_common::{conv_traffic, mesh_target};
use spikeforge_compiler::mapper::place::{hop_traffic, place, PlacementMethod, PlacementProblem};
use spikeforge_targets::{preset, Target};

fn ratio(t: &Target, types: Vec<usize>, traffic: Vec<(u32, u32, f64)>, seed: u64) -> f64 {
    let p = PlacementProblem { target: t, piece_core_type: types, traffic };
    let seq = place(&p, PlacementMethod::Sequential).unwrap();
    let opt = place(&p, PlacementMethod::Optimized { seed }).unwrap();
    let (ho, hs) = (hop_traffic(&p, &opt), hop_traffic(&p, &seq));
    eprintln!("{}: {} pieces, optimized {ho} / sequential {hs} = {:.3}", t.name(), p.piece_core_type.len(), ho / hs);
    ho / hs
}

#[test]
fn conv2d_layers_on_a_16x16_mesh() {
    let t = mesh_target([1, 1], [16, 16], 2, false);
    let (traffic, n) = conv_traffic(&[[8, 8]; 8], 0.5, 100.0);
    let r = ratio(&t, vec![0; n], traffic, 7);
    assert!(r <= 0.70, "ratio {r}");
}

#[test]
fn conv1d_row_bands_on_a_16x16_mesh() {
    let t = mesh_target([1, 1], [16, 16], 2, false);
    let (traffic, n) = conv_traffic(&[[64, 1]; 8], 1.0, 100.0);
    let r = ratio(&t, vec![0; n], traffic, 7);
    assert!(r <= 0.70, "ratio {r}");
}

#[test]
fn pooling_pyramid_across_two_chips_with_free_cores() {
    let t = mesh_target([2, 1], [8, 8], 4, true);
    let (traffic, n) = conv_traffic(&[[16, 8], [16, 8], [8, 8], [8, 8], [8, 4], [4, 4], [2, 2], [1, 1]], 0.5, 100.0);
    assert!(n < t.num_cores() as usize);
    let r = ratio(&t, vec![0; n], traffic, 3);
    assert!(r <= 0.70, "ratio {r}");
}

#[test]
fn conv_layers_on_loihi() {
    // 128 cores on an 8×4 mesh, 4 per tile: 6 layers of 4×5 blocks.
    let t = preset("loihi").unwrap().unwrap();
    let (traffic, n) = conv_traffic(&[[5, 4]; 6], 0.5, 100.0);
    let r = ratio(&t, vec![0; n], traffic, 11);
    assert!(r <= 0.70, "ratio {r}");
}

#[test]
fn heterogeneous_core_types_alternate_by_layer() {
    // Two core types in a checkerboard of tiles on a 12×12 mesh of two cores per tile;
    // even layers need type 0, odd layers type 1.
    let mut spec = mesh_target([1, 1], [12, 12], 2, false).spec().clone();
    let mut other = spec.core_types[0].clone();
    other.name = "other".into();
    spec.core_types.push(other);
    let names = ["tiny", "other"];
    let tiles: Vec<Option<String>> = (0..144).map(|i| Some(names[(i % 12 + i / 12) % 2].to_string())).collect();
    spec.layout = spikeforge_targets::Layout::PerTile(tiles);
    let t = Target::from_spec(spec, "checkerboard").unwrap();
    let blocks = [[6, 6]; 6];
    let (traffic, n) = conv_traffic(&blocks, 0.5, 100.0);
    let types: Vec<usize> = (0..n).map(|i| (i / 36) % 2).collect();
    let r = ratio(&t, types, traffic, 5);
    assert!(r <= 0.70, "ratio {r}");
}
