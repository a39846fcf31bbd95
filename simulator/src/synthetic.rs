//! Synthetic workloads built directly as core maps, for benchmarks and network sweeps:
//! [`layered`] (random sparse layers over consecutive cores), [`dense`] (a fully
//! connected MLP) and [`uniform_traffic`]
//! (every core sends to uniformly random other cores). Deterministic for a seed.

use spikeforge_targets::coremap::*;
use spikeforge_targets::{CoreId, TargetSpec};

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A population to place: model, neurons, the cores it is split evenly over.
struct Layer {
    name: String,
    model: NeuronModel,
    neurons: u32,
    cores: Vec<u32>,
}

/// Builds the map: populations placed evenly over their cores, then the projections given
/// as per-target-neuron source lists `(source, weight)` with uniform LIF coefficients.
/// (source population, target population, per-target-neuron `(source, weight)` lists).
type Wiring = (u32, u32, Vec<Vec<(u32, f64)>>);

fn assemble(target: TargetSpec, layers: Vec<Layer>, projections: Vec<Wiring>) -> CoreMap {
    let mut used: Vec<u32> = layers.iter().flat_map(|l| l.cores.iter().copied()).collect();
    used.sort_unstable();
    used.dedup();
    let index = |c: u32| used.binary_search(&c).expect("placed core");
    let mut cores: Vec<CoreProgram> = used
        .iter()
        .map(|&c| CoreProgram {
            core: CoreId(c),
            groups: vec![],
            params: NeuronParams::default(),
            axons: AxonTable::default(),
            usage: CoreUsage::default(),
        })
        .collect();
    // (core index, local index) of every neuron.
    let mut place: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut populations = Vec::new();
    for (pi, l) in layers.iter().enumerate() {
        let mut pieces = Vec::new();
        let mut at = Vec::with_capacity(l.neurons as usize);
        let k = l.cores.len().max(1) as u32;
        let mut first = 0;
        for (i, &c) in l.cores.iter().enumerate() {
            let count = l.neurons / k + (i < (l.neurons % k) as usize) as u32;
            if count == 0 || l.model == NeuronModel::Input {
                continue;
            }
            let ci = index(c);
            let core = &mut cores[ci];
            let local = core.n_neurons();
            core.groups.push((pi as u32, first, count));
            pieces.push(Piece { core: CoreId(c), first, count, local_offset: local });
            let p = &mut core.params;
            let n = count as usize;
            p.decay.extend(std::iter::repeat_n(0.1, n));
            p.gain.extend(std::iter::repeat_n(1.0, n));
            p.v_leak.extend(std::iter::repeat_n(0.0, n));
            p.v_threshold.extend(std::iter::repeat_n(1.0, n));
            p.v_reset.extend(std::iter::repeat_n(0.0, n));
            p.bias.extend(std::iter::repeat_n(0.0, n));
            at.extend((0..count).map(|x| (ci as u32, local + x)));
            first += count;
        }
        place.push(at);
        populations.push(Population {
            name: l.name.clone(),
            model: l.model,
            shape: vec![l.neurons as usize],
            n_neurons: l.neurons,
            pieces,
            rule: Default::default(),
        });
    }
    let mut out = Vec::new();
    for (j, (src, tgt, lists)) in projections.into_iter().enumerate() {
        let n_src = layers[src as usize].neurons as usize;
        // Invert the per-target lists to per-source rows (targets ascending, so cores too).
        let mut count = vec![0u32; n_src + 1];
        for list in &lists {
            for &(s, _) in list {
                count[s as usize + 1] += 1;
            }
        }
        for i in 0..n_src {
            count[i + 1] += count[i];
        }
        let total = count[n_src] as usize;
        let mut rows = vec![(0u32, 0.0f64); total];
        let mut fill = count.clone();
        for (t, list) in lists.iter().enumerate() {
            for &(s, w) in list {
                rows[fill[s as usize] as usize] = (t as u32, w);
                fill[s as usize] += 1;
            }
        }
        let (mut fanout_start, mut fanout) = (vec![0u32], Vec::new());
        for e in 0..n_src {
            let row = &rows[count[e] as usize..count[e + 1] as usize];
            let mut k = 0;
            while k < row.len() {
                let (c, _) = place[tgt as usize][row[k].0 as usize];
                let core = &mut cores[c as usize];
                let mut end = k;
                while end < row.len() && place[tgt as usize][row[end].0 as usize].0 == c {
                    end += 1;
                }
                let axon = core.axons.push(j as u32, e as u32, Some((end - k) as u32));
                for &(t, w) in &row[k..end] {
                    core.axons.syn_target.as_u32_mut().push(place[tgt as usize][t as usize].1);
                    core.axons.syn_weight.as_f64_mut().push(w);
                }
                k = end;
                fanout.push(Destination { core: core.core, axon });
            }
            fanout_start.push(fanout.len() as u32);
        }
        out.push(Projection {
            name: format!("{}->{}", layers[src as usize].name, layers[tgt as usize].name),
            kind: ProjectionKind::Sparse,
            source: src,
            target: tgt,
            recurrent: false,
            n_events: n_src as u32,
            pool: None,
            fanout_start,
            fanout,
            conv: None,
        });
    }
    let bits = target.numerics.weight_bits as u64 + 10;
    for c in &mut cores {
        c.axons.syn_weight = SynapseWeights::from_f64(std::mem::take(c.axons.syn_weight.as_f64_mut()));
        c.axons.syn_target.compact();
        c.usage = CoreUsage {
            neurons: c.n_neurons(),
            synapse_bits: c.n_synapses() as u64 * bits,
            neuron_state_bits: c.n_neurons() as u64 * 48,
            in_axons: c.axons.len() as u32,
            out_axons: 0,
            routing_entries: 0,
        };
    }
    let n = layers.len() as u32;
    CoreMap {
        version: CORE_MAP_VERSION,
        target,
        model: "synthetic".into(),
        dynamics: MapDynamics {
            dt_s: 1e-3,
            reset: ResetRule::ToVReset,
            spike_test: SpikeTest::Strict,
            semantics: Default::default(),
        },
        populations,
        projections: out,
        cores,
        input: 0,
        output: n - 1,
    }
}

/// An input of `input` neurons, then LIF layers `(neurons, cores)` named `{prefix}1`, … on
/// consecutive cores from core 0.
fn chain(input: u32, layers: &[(u32, u32)], prefix: &str) -> Vec<Layer> {
    let mut defs = vec![Layer { name: "in".into(), model: NeuronModel::Input, neurons: input, cores: vec![] }];
    let mut next_core = 0;
    for (i, &(n, k)) in layers.iter().enumerate() {
        defs.push(Layer {
            name: format!("{prefix}{}", i + 1),
            model: NeuronModel::LIF,
            neurons: n,
            cores: (next_core..next_core + k).collect(),
        });
        next_core += k;
    }
    defs
}

/// An input of `input` neurons, then LIF layers `(neurons, cores)` on consecutive cores
/// from core 0; every neuron of a layer draws `fan_in` random sources (with repetition
/// removed) from the previous layer, weights uniform in `[−0.2, 0.6]·scale` and rounded to
/// `f32` (as a model exported in single precision holds them).
pub fn layered(target: TargetSpec, input: u32, layers: &[(u32, u32)], fan_in: u32, scale: f64, seed: u64) -> CoreMap {
    let mut r = Rng(seed);
    let defs = chain(input, layers, "l");
    let mut projections = Vec::new();
    for l in 1..defs.len() {
        let n_src = defs[l - 1].neurons;
        let lists = (0..defs[l].neurons)
            .map(|_| {
                let mut list: Vec<(u32, f64)> = (0..fan_in.min(n_src))
                    .map(|_| (r.below(n_src as u64) as u32, ((0.8 * r.f() - 0.2) * scale) as f32 as f64))
                    .collect();
                list.sort_unstable_by_key(|s| s.0);
                list.dedup_by_key(|s| s.0);
                list
            })
            .collect();
        projections.push(((l - 1) as u32, l as u32, lists));
    }
    assemble(target, defs, projections)
}

/// A fully connected MLP: an input of `input` neurons, then LIF layers `(neurons, cores)`
/// on consecutive cores from core 0, every neuron fed by every neuron of the layer before,
/// weights uniform in `[−0.2, 0.6]·scale` and rounded to `f32` (stored as `f32`).
pub fn dense(target: TargetSpec, input: u32, layers: &[(u32, u32)], scale: f64, seed: u64) -> CoreMap {
    let mut r = Rng(seed);
    let defs = chain(input, layers, "fc");
    let mut projections = Vec::new();
    for l in 1..defs.len() {
        let n_src = defs[l - 1].neurons;
        let lists = (0..defs[l].neurons)
            .map(|_| (0..n_src).map(|s| (s, ((0.8 * r.f() - 0.2) * scale) as f32 as f64)).collect())
            .collect();
        projections.push(((l - 1) as u32, l as u32, lists));
    }
    assemble(target, defs, projections)
}

/// Uniform random traffic: `per_core` always-spiking sources on each of the first
/// `n_cores` (at least 2) cores, each sending one packet per step (when its input is 1) to one
/// receiver neuron on a uniformly random other core.
pub fn uniform_traffic(target: TargetSpec, n_cores: u32, per_core: u32, seed: u64) -> CoreMap {
    let n_cores = n_cores.max(2);
    let mut r = Rng(seed);
    let cores: Vec<u32> = (0..n_cores).collect();
    let n_src = n_cores * per_core;
    let defs = vec![
        Layer { name: "in".into(), model: NeuronModel::Input, neurons: n_src, cores: vec![] },
        Layer { name: "src".into(), model: NeuronModel::LIF, neurons: n_src, cores: cores.clone() },
        Layer { name: "dst".into(), model: NeuronModel::LIF, neurons: n_cores, cores },
    ];
    let one_to_one = (0..n_src).map(|i| vec![(i, 2.0)]).collect();
    let mut to_dst: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_cores as usize];
    for s in 0..n_src {
        let own = s / per_core;
        let mut d = r.below(n_cores as u64 - 1) as u32;
        if d >= own {
            d += 1;
        }
        to_dst[d as usize].push((s, 0.01));
    }
    assemble(target, defs, vec![(0, 1, one_to_one), (1, 2, to_dst)])
}
