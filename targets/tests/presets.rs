//! Every preset file loads cleanly, has its documented key numbers, round-trips through
//! RON, and renders the `show` report captured in the snapshots.

use spikeforge_targets::{
    load_target, memory, parse_spec, parse_target, preset, preset_text, show, to_ron, CoreCoord, CoreId, Hops, Target,
    PRESETS,
};

fn root(file: &str) -> String {
    format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn builtin(name: &str) -> Target {
    preset(name).expect("known preset").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_preset_file_loads_from_disk() {
    // Boards have no file of their own: they are a chip preset on a grid (below).
    for name in PRESETS.iter().filter(|n| preset_text(n).is_some()) {
        let path = root(&format!("{name}.ron"));
        let t = load_target(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.name(), *name);
        assert!(t.file().ends_with(&format!("{name}.ron")));
        // The built-in copy is the same file.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), preset_text(name).unwrap());
    }
    assert!(preset("no_such_chip").is_none());
}

#[test]
fn every_preset_cites_sources() {
    for name in PRESETS {
        let t = builtin(name);
        assert!(!t.spec().sources.is_empty(), "{name} has no sources");
        if let Some(text) = preset_text(name) {
            assert!(text.starts_with("//"), "{name} lacks its header comment");
        }
    }
}

#[test]
fn boards_are_their_chip_on_the_boards_grid() {
    for (board, chip, chips) in [
        ("loihi_nahuku32", "loihi", [8, 4]),
        ("loihi2_kapoho8", "loihi2", [4, 2]),
        ("spinnaker2_board48", "spinnaker2", [8, 6]),
    ] {
        let (b, c) = (builtin(board), builtin(chip));
        assert_eq!((b.name(), b.spec().grid.chips), (board, chips));
        assert_eq!(b.num_cores(), c.num_cores() * chips[0] * chips[1], "{board}");
        assert_eq!(
            (&b.spec().core_types, &b.spec().noc, &b.spec().numerics),
            (&c.spec().core_types, &c.spec().noc, &c.spec().numerics)
        );
        assert!(b.spec().sources.len() > c.spec().sources.len(), "{board} cites the board");
        assert!(preset_text(board).is_none());
    }
}

#[test]
fn presets_round_trip_through_ron() {
    for name in PRESETS {
        let t = builtin(name);
        let text = to_ron(t.spec());
        let back = parse_spec(&text, "round-trip").unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(&back, t.spec(), "{name}");
    }
}

#[test]
fn loihi_key_numbers() {
    let t = builtin("loihi");
    assert_eq!(t.num_cores(), 128);
    assert_eq!(t.total_neurons(), 131_072);
    assert_eq!(t.total_synapse_memory_bits(), 128 * 1_048_576);
    let core = t.core(CoreId(0));
    assert_eq!((core.in_axons, core.out_axons), (4096, 4096));
    // nengo-loihi's split rule on Loihi's limits: 5000 neurons → 5 cores.
    assert_eq!(memory::min_pieces(core, 5000, 100, 100, 1000), 5);
    let e = &t.spec().energy;
    assert_eq!((e.synop_pj, e.hop_ew_pj, e.hop_ns_pj), (Some(35.5), Some(3.0), Some(4.2)));
    // Four cores per tile: c0..c3 on tile (0,0), c4 on tile (1,0); the last core on (7,3).
    assert_eq!(t.coord(CoreId(3)), CoreCoord { chip: [0, 0], tile: [0, 0], slot: 3 });
    assert_eq!(t.coord(CoreId(4)).tile, [1, 0]);
    assert_eq!(t.coord(CoreId(127)), CoreCoord { chip: [0, 0], tile: [7, 3], slot: 3 });
    assert_eq!(t.hops(CoreId(0), CoreId(127)), Hops { ew: 7, ns: 3, chip: 0 });
    // 11 routers × 2 + 7 E-W × 4 + 3 N-S × 7 cycles; 7 × 3.0 + 3 × 4.2 pJ.
    assert_eq!(t.route_cycles(CoreId(0), CoreId(127)), 22 + 28 + 21);
    assert!((t.route_energy_pj(CoreId(0), CoreId(127)).unwrap() - 33.6).abs() < 1e-9);
}

#[test]
fn truenorth_key_numbers() {
    let t = builtin("truenorth");
    assert_eq!(t.num_cores(), 4096);
    assert_eq!(t.total_neurons(), 1_048_576);
    assert_eq!(t.total_synapse_memory_bits(), 4096 * 65_536);
    let core = t.core(CoreId(0));
    assert_eq!((core.max_neurons, core.in_axons, core.axon_types), (256, 256, 4));
    assert_eq!(core.max_fanout_per_neuron, Some(1));
    // A full crossbar is exactly the core's synapse memory.
    assert_eq!(memory::dense_block_bits(core, 256, 256), Ok(65_536));
    assert_eq!(t.hops(CoreId(0), CoreId(4095)), Hops { ew: 63, ns: 63, chip: 0 });
    // Hop energy is folded into the 26 pJ average, so a multi-hop route has no separate figure.
    assert_eq!(t.spec().energy.synop_pj, Some(26.0));
    assert_eq!(t.route_energy_pj(CoreId(0), CoreId(1)), None);
    assert_eq!(t.route_energy_pj(CoreId(0), CoreId(0)), Some(0.0));
}

#[test]
fn spinnaker2_key_numbers() {
    let t = builtin("spinnaker2");
    assert_eq!(t.num_cores(), 152);
    assert_eq!(t.total_synapse_memory_bits(), 152 * 128 * 1024 * 8);
    assert_eq!(t.spec().grid.chip_routing_entries, Some(16_384));
    // The two empty QPE positions hold no cores; the last core is on tile (5,4).
    assert_eq!(t.core_at(CoreCoord { chip: [0, 0], tile: [6, 4], slot: 0 }), None);
    assert_eq!(t.coord(CoreId(151)), CoreCoord { chip: [0, 0], tile: [5, 4], slot: 3 });
    // sPyNNaker rows: 32-bit synaptic words after a 3-word header.
    assert_eq!(memory::row_bits(t.core(CoreId(0)), 10, 256), Ok(96 + 10 * 32));
}

#[test]
fn speck_key_numbers() {
    let t = builtin("speck");
    assert_eq!(t.num_cores(), 9);
    let kernel_ki: Vec<u64> = t.core_ids().map(|c| t.core(c).synapse_memory_bits / 8 / 1024).collect();
    assert_eq!(kernel_ki, [16, 16, 16, 32, 32, 64, 64, 16, 16]);
    let neuron_ki: Vec<u32> = t.core_ids().map(|c| t.core(c).max_neurons / 1024).collect();
    assert_eq!(neuron_ki, [64, 64, 64, 32, 32, 16, 16, 16, 16]);
    assert!(t.core_ids().all(|c| t.core(c).max_destination_cores == Some(2)));
    // All cores share one router: no hops between any two.
    assert_eq!(t.hops(CoreId(0), CoreId(8)).total(), 0);
    // The sinabs example layer (16 → 32 channels, 3×3, 64×64) needs 8 Ki kernel entries,
    // which fit core 0, and 128 Ki neurons, which fit no core.
    let conv = memory::Conv2d {
        in_channels: 16,
        out_channels: 32,
        input: [64, 64],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
    };
    let core0 = t.core(CoreId(0));
    assert_eq!(memory::conv_kernel_bits(core0, &conv), Ok(8192 * 8));
    let neurons = memory::neuron_entries(core0, 32, conv.output()).unwrap();
    assert_eq!(neurons, 131_072);
    assert!(t.core_ids().all(|c| neurons > t.core(c).max_neurons as u64));
}

#[test]
fn xylo_key_numbers() {
    let t = builtin("xylo");
    assert_eq!(t.num_cores(), 1);
    let core = t.core(CoreId(0));
    assert_eq!((core.max_neurons, core.in_axons, core.out_axons), (1008, 16, 8));
    // The dense matrices of the rockpool mapper fill the modelled memory exactly.
    let bits = memory::dense_block_bits(core, 16, 2000).unwrap()
        + memory::dense_block_bits(core, 1000, 2000).unwrap()
        + memory::dense_block_bits(core, 1000, 8).unwrap();
    assert_eq!(bits, core.synapse_memory_bits);
}

#[test]
fn test_chips_make_limits_bite() {
    let t = builtin("test_2x2");
    assert_eq!(t.num_cores(), 4);
    let core = t.core(CoreId(0));
    // 17 neurons need two cores; a 16×16 dense block takes 16 rows of 2 groups of 8:
    // 4 + 8·8 = 68 → 96 bits per group, 192 per row, 3072 in all > 2048.
    assert_eq!(memory::min_pieces(core, 17, 1, 1, 0), 2);
    assert_eq!(memory::dense_block_bits(core, 16, 16), Ok(3072));
    assert!(memory::dense_block_bits(core, 16, 16).unwrap() > core.synapse_memory_bits);
    // A 4-bit index cannot address 17 targets.
    assert!(memory::row_bits(core, 1, 17).is_err());

    let g = builtin("test_grid");
    assert_eq!(g.num_cores(), 12);
    assert_eq!(g.cores_per_type(), vec![4, 8]);
    // Numbering: chip (0,0): tile (0,0) big c0 c1, (1,0) small c2 c3, (0,1) small c4 c5;
    // chip (1,0) repeats from c6.
    assert_eq!(g.core(CoreId(0)).name, "big");
    assert_eq!(g.core(CoreId(2)).name, "small");
    assert_eq!(g.coord(CoreId(6)), CoreCoord { chip: [1, 0], tile: [0, 0], slot: 0 });
    assert_eq!(g.core_at(CoreCoord { chip: [1, 0], tile: [0, 1], slot: 1 }), Some(CoreId(11)));
    assert_eq!(g.core_at(CoreCoord { chip: [1, 0], tile: [1, 1], slot: 0 }), None);
    assert_eq!(g.core_at(CoreCoord { chip: [2, 0], tile: [0, 0], slot: 0 }), None);
    assert_eq!(g.core_at(CoreCoord { chip: [0, 0], tile: [0, 0], slot: 2 }), None);
    // c2 on chip 0 tile (1,0) → c11 on chip 1 tile (0,1): one chip link east, one hop north.
    assert_eq!(g.hops(CoreId(2), CoreId(11)), Hops { ew: 0, ns: 1, chip: 1 });
    // 3 routers × 1 + 1 N-S × 3 + 1 chip link × 20 cycles; 1.5 + 20 pJ.
    assert_eq!(g.route_cycles(CoreId(2), CoreId(11)), 3 + 3 + 20);
    assert_eq!(g.route_energy_pj(CoreId(2), CoreId(11)), Some(21.5));
    // Same tile, different slot: one router pass, no hop.
    assert_eq!(g.route_cycles(CoreId(0), CoreId(1)), 1);
    assert_eq!(g.route_cycles(CoreId(0), CoreId(0)), 0);
    for id in g.core_ids() {
        assert_eq!(g.core_at(g.coord(id)), Some(id));
    }
}

#[test]
fn core_ids_and_coords_are_a_bijection_on_every_preset() {
    for name in PRESETS {
        let t = builtin(name);
        for id in t.core_ids() {
            assert_eq!(t.core_at(t.coord(id)), Some(id), "{name} {id}");
        }
    }
}

#[test]
fn show_snapshots() {
    for name in PRESETS {
        let t = builtin(name);
        insta::assert_snapshot!(format!("show_{name}"), show::render(&t));
    }
}

#[test]
fn parse_target_names_the_source() {
    let t = parse_target(preset_text("test_2x2").unwrap(), "custom.ron").unwrap();
    assert_eq!(t.file(), "custom.ron");
}
