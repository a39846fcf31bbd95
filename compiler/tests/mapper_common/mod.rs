//! Shared helpers of the mapper tests: loading models and targets, a small f64 interpreter
//! of core maps (the semantics documented in `spikeforge_targets::coremap`), and checks that
//! recompute every core's usage independently of the mapper.
#![allow(dead_code)] // each test crate uses a different part
#![allow(clippy::needless_range_loop)] // event indices index several tables

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use spikeforge_compiler::ir::{Graph, Verified};
use spikeforge_compiler::limits::Limits;
use spikeforge_compiler::nir::read_nir;
use spikeforge_targets::coremap::{CoreMap, NeuronModel, ProjectionKind, ResetRule, SpikeTest};
use spikeforge_targets::memory;
use spikeforge_targets::{load_target, Cast, Target};

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden")
}

pub fn golden(case: &str) -> (Graph, Verified) {
    let limits = Limits::default();
    let g = read_nir(&golden_dir().join(case).join("model.nir"), &limits).expect("golden model imports");
    let v = g.verify(&limits).expect("golden model verifies");
    (g, v)
}

/// A preset by name, or a `.ron` file in the targets crate (`test_4x4`).
pub fn target(name: &str) -> Target {
    match spikeforge_targets::preset(name) {
        Some(t) => t.expect("presets are valid"),
        None => load_target(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../targets/{name}.ron")))
            .expect("test target loads"),
    }
}

/// Validates and round-trips a map through its file encoding.
pub fn check_map(map: &CoreMap) {
    map.validate().unwrap_or_else(|e| panic!("emitted map is invalid: {e}"));
    let back = CoreMap::from_bytes(&map.to_bytes(), "roundtrip").expect("map round-trips");
    assert_eq!(&back, map, "map changes through to_bytes/from_bytes");
}

/// Result of running a map.
pub struct MapRun {
    /// `[N, T, output_len]`.
    pub output: Vec<f64>,
    /// Synaptic events delivered by weight projections (Dense, Sparse, Conv).
    pub weight_sops: u64,
    /// Pooling ops: source-side pool entries of nonzero sources, plus synaptic events of
    /// `Pooling` projections.
    pub pool_sops: u64,
}

/// Runs `map` on `x` (`[N, T, input_len]`) in f64.
pub fn run_map(map: &CoreMap, x: &[f64], n: usize, t: usize) -> MapRun {
    let pops = &map.populations;
    let in_len = pops[map.input as usize].n_neurons as usize;
    let out_len = pops[map.output as usize].n_neurons as usize;
    // Population neuron → (core index, local index).
    let mut place: Vec<Vec<(usize, usize)>> = pops.iter().map(|p| vec![(0, 0); p.n_neurons as usize]).collect();
    let mut owner: HashMap<(usize, usize), (usize, usize)> = HashMap::new(); // (core idx, local) → (pop, neuron)
    for (ci, c) in map.cores.iter().enumerate() {
        let mut off = 0usize;
        for &(p, f, k) in &c.groups {
            for i in 0..k as usize {
                place[p as usize][f as usize + i] = (ci, off + i);
                owner.insert((ci, off + i), (p as usize, f as usize + i));
            }
            off += k as usize;
        }
    }
    let core_index: HashMap<_, _> = map.cores.iter().enumerate().map(|(i, c)| (c.core, i)).collect();
    let syns = axon_synapses(map);
    let has_conv: Vec<bool> = (0..pops.len())
        .map(|p| map.projections.iter().any(|q| q.target as usize == p && q.kind == ProjectionKind::Conv))
        .collect();
    let mut out = vec![0.0; n * t * out_len];
    let (mut wsops, mut psops) = (0u64, 0u64);
    let d = &map.dynamics;
    for s in 0..n {
        let mut cur: Vec<Vec<f64>> = pops.iter().map(|p| vec![0.0; p.n_neurons as usize]).collect();
        let mut prev = cur.clone();
        let mut v: Vec<Vec<f64>> = cur.clone();
        let mut isyn: Vec<Vec<f64>> = cur.clone();
        for step in 0..t {
            let xs = &x[(s * t + step) * in_len..(s * t + step + 1) * in_len];
            cur[map.input as usize].copy_from_slice(xs);
            for p in 0..pops.len() {
                if p == map.input as usize {
                    continue;
                }
                let np = pops[p].n_neurons as usize;
                let bias: Vec<f64> = (0..np)
                    .map(|i| {
                        let (ci, l) = place[p][i];
                        map.cores[ci].params.bias.get(l).copied().unwrap_or(0.0)
                    })
                    .collect();
                let mut current = if has_conv[p] { vec![0.0; np] } else { bias.clone() };
                for q in map.projections.iter().filter(|q| q.target as usize == p) {
                    let src = if q.recurrent { &prev[q.source as usize] } else { &cur[q.source as usize] };
                    let events: Vec<f64> = match &q.pool {
                        None => src.clone(),
                        Some(pool) => {
                            let mut ev = vec![0.0; q.n_events as usize];
                            for (j, &val) in src.iter().enumerate() {
                                if val == 0.0 {
                                    continue;
                                }
                                let (a, b) = (pool.start[j] as usize, pool.start[j + 1] as usize);
                                psops += (b - a) as u64;
                                for k in a..b {
                                    ev[pool.event[k] as usize] += pool.factor[k] * val;
                                }
                            }
                            ev
                        }
                    };
                    for (e, &val) in events.iter().enumerate() {
                        if val == 0.0 {
                            continue;
                        }
                        for dst in &q.fanout[q.fanout_start[e] as usize..q.fanout_start[e + 1] as usize] {
                            let ci = core_index[&dst.core];
                            for &(local, w) in &syns[ci][dst.axon as usize] {
                                let (tp, tn) = owner[&(ci, local as usize)];
                                assert_eq!(tp, p, "synapse of `{}` lands outside its target", q.name);
                                current[tn] += val * w;
                                match q.kind {
                                    ProjectionKind::Pooling => psops += 1,
                                    ProjectionKind::PartialSum | ProjectionKind::Weightless => {}
                                    _ => wsops += 1,
                                }
                            }
                        }
                    }
                }
                if has_conv[p] {
                    for (c, b) in current.iter_mut().zip(&bias) {
                        *c += b;
                    }
                }
                let model = pops[p].model;
                for i in 0..np {
                    let (ci, l) = place[p][i];
                    let c = &map.cores[ci].params;
                    let get = |v: &Vec<f64>| v.get(l).copied().unwrap_or(0.0);
                    let mut input = current[i];
                    if matches!(model, NeuronModel::CubaLIF | NeuronModel::CubaLI) {
                        let is = &mut isyn[p][i];
                        *is = *is + get(&c.syn_decay) * (get(&c.w_in) * input - *is);
                        input = *is;
                    }
                    let vv = &mut v[p][i];
                    let value = match model {
                        NeuronModel::Identity => input,
                        NeuronModel::I | NeuronModel::IF => {
                            *vv += get(&c.gain) * input;
                            *vv
                        }
                        _ => {
                            *vv = *vv + get(&c.decay) * (get(&c.v_leak) - *vv) + get(&c.gain) * input;
                            *vv
                        }
                    };
                    cur[p][i] = if model.is_spiking() {
                        let th = get(&c.v_threshold);
                        let spike = match d.spike_test {
                            SpikeTest::Strict => value > th,
                            SpikeTest::NonStrict => value >= th,
                        };
                        if spike {
                            *vv = match d.reset {
                                // NIR's immediate rule: a discarding reset is a reset to v_reset.
                                ResetRule::ToVReset | ResetRule::Discard => get(&c.v_reset),
                                ResetRule::Subtract => *vv - th,
                            };
                        }
                        spike as u8 as f64
                    } else {
                        value
                    };
                }
            }
            let o = &cur[map.output as usize];
            out[(s * t + step) * out_len..(s * t + step + 1) * out_len].copy_from_slice(o);
            prev.clone_from(&cur);
        }
        // Events a recurrent projection produced at the last step are never delivered, but
        // the executor runs the recurrent layer (and counts its ops) at every step.
        for q in map.projections.iter().filter(|q| q.recurrent) {
            let src = &cur[q.source as usize];
            for (e, &val) in src.iter().enumerate() {
                if val == 0.0 || q.pool.is_some() {
                    continue;
                }
                for dst in &q.fanout[q.fanout_start[e] as usize..q.fanout_start[e + 1] as usize] {
                    let n_syn = syns[core_index[&dst.core]][dst.axon as usize].len() as u64;
                    match q.kind {
                        ProjectionKind::Pooling => psops += n_syn,
                        ProjectionKind::PartialSum | ProjectionKind::Weightless => {}
                        _ => wsops += n_syn,
                    }
                }
            }
        }
    }
    MapRun { output: out, weight_sops: wsops, pool_sops: psops }
}

/// Recomputes each core's usage from the map alone and checks it against the core's
/// limits and against the usage the map records. `conv_kernel(projection)` gives, for a
/// convolution whose kernel a weight-sharing core stores once, its memory shape.
pub fn check_limits(map: &CoreMap, conv_kernel: &dyn Fn(usize, u64) -> Option<memory::Conv2d>) {
    let target = Target::from_spec(map.target.clone(), "embedded").expect("embedded target is valid");
    let multicast = target.spec().noc.cast == Cast::Multicast;
    let pops = &map.populations;
    let core_index: HashMap<_, _> = map.cores.iter().enumerate().map(|(i, c)| (c.core, i)).collect();
    // Who sends each event: the cores holding a source neuron that contributes to it.
    let mut senders: Vec<Vec<Vec<usize>>> = Vec::new();
    for q in &map.projections {
        let mut s = vec![Vec::new(); q.n_events as usize];
        let src = &pops[q.source as usize];
        for piece in &src.pieces {
            let ci = core_index[&piece.core];
            for j in piece.first..piece.first + piece.count {
                let evs: Vec<u32> = match &q.pool {
                    None => vec![j],
                    Some(p) => p.event[p.start[j as usize] as usize..p.start[j as usize + 1] as usize].to_vec(),
                };
                for e in evs {
                    if !s[e as usize].contains(&ci) {
                        s[e as usize].push(ci);
                    }
                }
            }
        }
        senders.push(s);
    }
    let mut out_axons = vec![0u64; map.cores.len()];
    let mut routing = vec![0u64; map.cores.len()];
    let mut dests: Vec<Vec<usize>> = vec![Vec::new(); map.cores.len()];
    let mut fanout_neuron: HashMap<(usize, u32), u64> = HashMap::new();
    for (qi, q) in map.projections.iter().enumerate() {
        for e in 0..q.n_events as usize {
            let fo = &q.fanout[q.fanout_start[e] as usize..q.fanout_start[e + 1] as usize];
            if fo.is_empty() {
                continue;
            }
            for &ci in &senders[qi][e] {
                out_axons[ci] += fo.len() as u64;
                routing[ci] += if multicast { 1 } else { fo.len() as u64 };
                for d in fo {
                    let di = core_index[&d.core];
                    if !dests[ci].contains(&di) {
                        dests[ci].push(di);
                    }
                }
            }
            if q.source != map.input {
                // Fan-out per source neuron: every neuron contributing to the event.
                let src = &pops[q.source as usize];
                for j in 0..src.n_neurons {
                    let contributes = match &q.pool {
                        None => j as usize == e,
                        Some(p) => p.event[p.start[j as usize] as usize..p.start[j as usize + 1] as usize]
                            .contains(&(e as u32)),
                    };
                    if contributes {
                        *fanout_neuron.entry((qi, j)).or_default() += fo.len() as u64;
                    }
                }
            }
        }
    }
    let mut per_neuron: HashMap<(u32, u32), u64> = HashMap::new();
    for (&(qi, j), &f) in &fanout_neuron {
        *per_neuron.entry((map.projections[qi].source, j)).or_default() += f;
    }
    for (ci, c) in map.cores.iter().enumerate() {
        let spec = target.core(c.core);
        let mut entries = 0u64;
        let mut seg_len: HashMap<u32, u64> = HashMap::new();
        for &(p, f, k) in &c.groups {
            // A row's targets: every neuron of the population on the core.
            *seg_len.entry(p).or_default() += k as u64;
            let pop = &pops[p as usize];
            let sh = &pop.shape;
            let (hh, ww) = match sh.len() {
                0 | 1 => (1, 1),
                2 => (1, sh[1]),
                r => (sh[1..r - 1].iter().product(), sh[r - 1]),
            };
            let plane = (hh * ww) as u64;
            let channels = (f as u64 + k as u64 - 1) / plane - f as u64 / plane + 1;
            entries += match spec.neuron_layout {
                spikeforge_targets::NeuronLayout::Exact => k as u64,
                spikeforge_targets::NeuronLayout::PowerOfTwo => {
                    memory::neuron_entries(spec, channels, [hh as u64, ww as u64]).unwrap()
                }
            };
        }
        let mut bits = 0u64;
        let mut shared_done: Vec<usize> = Vec::new();
        let core_syns = axon_synapses_of(map, ci);
        for a in 0..c.axons.len() {
            let q = c.axons.axon(a as u32).projection as usize;
            let tpop = map.projections[q].target;
            let syn = core_syns[a].len() as u64;
            if spec.weight_sharing {
                // The distinct output channels of the target population on the core (a
                // tile of several channels is one range per channel).
                let plane: u64 = pops[tpop as usize].shape[1..].iter().product::<usize>().max(1) as u64;
                let mut held: Vec<u64> = c
                    .groups
                    .iter()
                    .filter(|g| g.0 == tpop)
                    .flat_map(|g| g.1 as u64 / plane..=(g.1 as u64 + g.2 as u64 - 1) / plane)
                    .collect();
                held.sort_unstable();
                held.dedup();
                let channels = held.len() as u64;
                if let Some(k) = conv_kernel(q, channels) {
                    if !shared_done.contains(&q) {
                        shared_done.push(q);
                        bits += memory::conv_kernel_bits_shared(spec, &k).unwrap();
                    }
                    continue;
                }
            }
            bits += memory::row_bits(spec, syn, seg_len[&tpop]).unwrap();
        }
        let u = &c.usage;
        let tag = format!("core {}", c.core);
        assert_eq!(u.neurons as u64, entries, "{tag}: neuron entries");
        assert_eq!(u.synapse_bits, bits, "{tag}: synapse bits");
        assert_eq!(u.in_axons as usize, c.axons.len(), "{tag}: in-axons");
        assert_eq!(u.out_axons as u64, out_axons[ci], "{tag}: out-axons");
        assert_eq!(u.routing_entries as u64, routing[ci], "{tag}: routing entries");
        assert_eq!(u.neuron_state_bits, entries * spec.neuron_state_bits as u64, "{tag}: state bits");
        assert!(entries <= spec.max_neurons as u64, "{tag}: {entries} neuron entries > {}", spec.max_neurons);
        assert!(bits <= spec.synapse_memory_bits, "{tag}: {bits} synapse bits > {}", spec.synapse_memory_bits);
        assert!(u.in_axons <= spec.in_axons, "{tag}: in-axons");
        assert!(u.out_axons <= spec.out_axons, "{tag}: out-axons");
        if let Some(m) = spec.max_destination_cores {
            assert!(dests[ci].len() as u32 <= m, "{tag}: {} destination cores > {m}", dests[ci].len());
        }
        if let Some(m) = spec.routing_entries {
            assert!(u.routing_entries <= m, "{tag}: routing entries");
        }
        if let Some(m) = spec.max_fanout_per_neuron {
            for &(p, f, k) in &c.groups {
                for j in f..f + k {
                    let fo = per_neuron.get(&(p, j)).copied().unwrap_or(0);
                    assert!(fo <= m as u64, "{tag}: neuron {j} of `{}` fans out to {fo} > {m}", pops[p as usize].name);
                }
            }
        }
    }
    // Every fan-out destination holds a target of its event, and every core holding a
    // target of an event is among its destinations.
    for (qi, q) in map.projections.iter().enumerate() {
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); q.n_events as usize];
        for (ci, c) in map.cores.iter().enumerate() {
            let core_syns = axon_synapses_of(map, ci);
            for (a, axon) in c.axons.iter() {
                if axon.projection as usize == qi && !core_syns[a as usize].is_empty() {
                    holders[axon.event as usize].push(ci);
                }
            }
        }
        for e in 0..q.n_events as usize {
            let mut to: Vec<usize> = q.fanout[q.fanout_start[e] as usize..q.fanout_start[e + 1] as usize]
                .iter()
                .map(|d| core_index[&d.core])
                .collect();
            to.sort_unstable();
            let mut h = holders[e].clone();
            h.sort_unstable();
            assert_eq!(to, h, "projection `{}` event {e}: fan-out and target cores differ", q.name);
            for d in &q.fanout[q.fanout_start[e] as usize..q.fanout_start[e + 1] as usize] {
                let src_cores = &senders[qi][e];
                for &s in src_cores {
                    let path = spikeforge_targets::mesh::xy_route(
                        &target.coord(map.cores[s].core),
                        &target.coord(d.core),
                        target.spec().noc.mesh,
                    );
                    let mut at = target.coord(map.cores[s].core).global_tile(target.spec().noc.mesh);
                    for st in &path {
                        assert_eq!(st.from, at, "route steps are contiguous");
                        use spikeforge_targets::mesh::Dir;
                        match st.dir {
                            Dir::East => at[0] += 1,
                            Dir::West => at[0] -= 1,
                            Dir::North => at[1] += 1,
                            Dir::South => at[1] -= 1,
                        }
                    }
                    assert_eq!(at, target.coord(d.core).global_tile(target.spec().noc.mesh), "route ends at its core");
                }
            }
        }
    }
}

/// Parses and verifies `.snn` source.
pub fn snn(source: &str) -> (Graph, Verified) {
    let limits = Limits::default();
    let g = spikeforge_compiler::text::parse_snn(source, "test.snn", Path::new("."), &limits)
        .unwrap_or_else(|e| panic!("test model parses: {e}"));
    let v = g.verify(&limits).expect("test model verifies");
    (g, v)
}

/// For `check_limits`: the memory shape of a projection's kernel when the projection is
/// exactly one convolution (its name's last node), with `channels` output channels.
pub fn conv_kernels(graph: &Graph, map: &CoreMap) -> impl Fn(usize, u64) -> Option<memory::Conv2d> {
    use spikeforge_compiler::ir::Op;
    let shapes: Vec<Option<(u64, [u64; 2])>> = map
        .projections
        .iter()
        .map(|p| {
            // A slice of a split neuron's input chain is named `conv[lo..hi)`.
            let last = p.name.rsplit('+').next()?;
            let (name, slice) = match last.strip_suffix(')').and_then(|s| s.rsplit_once('[')) {
                Some((n, range)) => {
                    let (lo, hi) = range.split_once("..")?;
                    (n, Some((lo.parse::<usize>().ok()?, hi.parse::<usize>().ok()?)))
                }
                None => (last, None),
            };
            let node = graph.find(name)?;
            match graph.op(node) {
                Op::Conv1d(c) | Op::Conv2d(c) if p.kind == ProjectionKind::Conv => {
                    let k = c.kernel();
                    let kernel = if k.len() == 2 { [k[0] as u64, k[1] as u64] } else { [1, k[0] as u64] };
                    let pg = c.in_channels() / c.groups;
                    let (lo, hi) = slice.unwrap_or((0, c.in_channels()));
                    let held = (0..c.groups).map(|g| hi.min((g + 1) * pg).saturating_sub(lo.max(g * pg))).max();
                    Some((held.unwrap_or(0) as u64, kernel))
                }
                _ => None,
            }
        })
        .collect();
    move |q, channels| {
        shapes[q].map(|(c, k)| memory::Conv2d {
            in_channels: c,
            out_channels: channels,
            input: [1, 1],
            kernel: k,
            stride: [1, 1],
            padding: [0, 0],
        })
    }
}

/// Every synapse of every axon of core `ci`, explicit or symbolic: `(local target, weight)`.
pub fn axon_synapses_of(map: &CoreMap, ci: usize) -> Vec<Vec<(u32, f64)>> {
    let mut v = vec![Vec::new(); map.cores[ci].axons.len()];
    map.for_each_synapse(ci, |a, t, w| v[a].push((t, w)));
    v
}

/// [`axon_synapses_of`] for every core.
pub fn axon_synapses(map: &CoreMap) -> Vec<Vec<Vec<(u32, f64)>>> {
    (0..map.cores.len()).map(|ci| axon_synapses_of(map, ci)).collect()
}
