//! A small core-map builder for tests: populations placed as (core, count) pieces,
//! projections given as synapse lists, everything else derived like a mapper would.

#![allow(dead_code)]

use spikeforge_targets::coremap::*;
use spikeforge_targets::{CoreId, TargetSpec};

/// Per-neuron coefficients (one value per neuron of the population).
#[derive(Clone, Debug, Default)]
pub struct Coeffs {
    pub decay: Vec<f64>,
    pub gain: Vec<f64>,
    pub v_leak: Vec<f64>,
    pub v_threshold: Vec<f64>,
    pub v_reset: Vec<f64>,
    pub bias: Vec<f64>,
    pub syn_decay: Vec<f64>,
    pub w_in: Vec<f64>,
}

impl Coeffs {
    /// The same coefficients for `n` neurons.
    pub fn uniform(n: usize, decay: f64, gain: f64, threshold: f64) -> Coeffs {
        Coeffs {
            decay: vec![decay; n],
            gain: vec![gain; n],
            v_leak: vec![0.0; n],
            v_threshold: vec![threshold; n],
            v_reset: vec![0.0; n],
            bias: vec![0.0; n],
            syn_decay: vec![0.5; n],
            w_in: vec![1.0; n],
        }
    }
}

pub struct PopDef {
    pub name: String,
    pub model: NeuronModel,
    pub n: u32,
    pub coeffs: Coeffs,
    /// (core, neuron count) pieces in order.
    pub pieces: Vec<(u32, u32)>,
}

pub struct ProjDef {
    pub kind: ProjectionKind,
    pub source: u32,
    pub target: u32,
    pub recurrent: bool,
    pub n_events: u32,
    pub pool: Option<SourcePool>,
    /// (event, target neuron, weight), any order.
    pub synapses: Vec<(u32, u32, f64)>,
}

pub struct MapBuilder {
    pub target: TargetSpec,
    pub dynamics: MapDynamics,
    pub pops: Vec<PopDef>,
    pub projs: Vec<ProjDef>,
    pub output: u32,
}

impl MapBuilder {
    pub fn new(target: &str) -> MapBuilder {
        let t = spikeforge_targets::preset(target).expect("preset").expect("valid");
        MapBuilder {
            target: t.spec().clone(),
            dynamics: MapDynamics { dt_s: 1e-3, reset: ResetRule::ToVReset, spike_test: SpikeTest::Strict },
            pops: Vec::new(),
            projs: Vec::new(),
            output: 0,
        }
    }

    pub fn input(&mut self, n: u32) -> u32 {
        self.pops.push(PopDef {
            name: "in".into(),
            model: NeuronModel::Input,
            n,
            coeffs: Coeffs::default(),
            pieces: vec![],
        });
        self.pops.len() as u32 - 1
    }

    pub fn pop(&mut self, name: &str, model: NeuronModel, coeffs: Coeffs, pieces: &[(u32, u32)]) -> u32 {
        let n = pieces.iter().map(|p| p.1).sum();
        self.pops.push(PopDef { name: name.into(), model, n, coeffs, pieces: pieces.to_vec() });
        self.output = self.pops.len() as u32 - 1;
        self.output
    }

    pub fn proj(&mut self, kind: ProjectionKind, source: u32, target: u32, synapses: Vec<(u32, u32, f64)>) -> usize {
        let n_events = self.pops[source as usize].n;
        self.projs.push(ProjDef { kind, source, target, recurrent: false, n_events, pool: None, synapses });
        self.projs.len() - 1
    }

    /// Dense weights `w[event][target]`, zeros skipped.
    pub fn dense(&mut self, source: u32, target: u32, w: &[Vec<f64>]) -> usize {
        let syn = w
            .iter()
            .enumerate()
            .flat_map(|(e, row)| {
                row.iter().enumerate().filter(|(_, &x)| x != 0.0).map(move |(t, &x)| (e as u32, t as u32, x))
            })
            .collect();
        self.proj(ProjectionKind::Dense, source, target, syn)
    }

    pub fn build(&self) -> CoreMap {
        let mut core_ids: Vec<u32> = self.pops.iter().flat_map(|p| p.pieces.iter().map(|x| x.0)).collect();
        core_ids.sort_unstable();
        core_ids.dedup();
        let ci = |c: u32| core_ids.binary_search(&c).unwrap();
        let mut cores: Vec<CoreProgram> = core_ids
            .iter()
            .map(|&c| CoreProgram {
                core: CoreId(c),
                groups: vec![],
                params: NeuronParams::default(),
                axons: AxonTable { syn_start: vec![0], ..Default::default() },
                usage: CoreUsage::default(),
            })
            .collect();
        // Where each population neuron lives: (core index, local index).
        let mut place: Vec<Vec<(usize, u32)>> = Vec::new();
        let mut populations = Vec::new();
        for (pi, p) in self.pops.iter().enumerate() {
            let mut first = 0;
            let mut pieces = Vec::new();
            let mut at = Vec::new();
            for &(c, count) in &p.pieces {
                let core = &mut cores[ci(c)];
                let local = core.n_neurons();
                core.groups.push((pi as u32, first, count));
                pieces.push(Piece { core: CoreId(c), first, count, local_offset: local });
                let k = &p.coeffs;
                let pr = &mut core.params;
                for i in first as usize..(first + count) as usize {
                    let g = |v: &Vec<f64>| v.get(i).copied().unwrap_or(0.0);
                    pr.decay.push(g(&k.decay));
                    pr.gain.push(g(&k.gain));
                    pr.v_leak.push(g(&k.v_leak));
                    pr.v_threshold.push(g(&k.v_threshold));
                    pr.v_reset.push(g(&k.v_reset));
                    pr.bias.push(g(&k.bias));
                    pr.syn_decay.push(g(&k.syn_decay));
                    pr.w_in.push(g(&k.w_in));
                }
                for l in 0..count {
                    at.push((ci(c), local + l));
                }
                first += count;
            }
            place.push(at);
            populations.push(Population {
                name: p.name.clone(),
                model: p.model,
                shape: vec![p.n as usize],
                n_neurons: p.n,
                pieces,
            });
        }
        let mut projections = Vec::new();
        for (j, d) in self.projs.iter().enumerate() {
            let mut syn = d.synapses.clone();
            syn.sort_by_key(|s| (s.0, place[d.target as usize][s.1 as usize].0, s.1));
            let mut fanout_start = vec![0u32];
            let mut fanout = Vec::new();
            let mut k = 0;
            for e in 0..d.n_events {
                while k < syn.len() && syn[k].0 == e {
                    let c = place[d.target as usize][syn[k].1 as usize].0;
                    let core = &mut cores[c];
                    let axon = core.axons.projection.len() as u32;
                    core.axons.projection.push(j as u32);
                    core.axons.event.push(e);
                    while k < syn.len() && syn[k].0 == e && place[d.target as usize][syn[k].1 as usize].0 == c {
                        core.axons.syn_target.push(place[d.target as usize][syn[k].1 as usize].1);
                        core.axons.syn_weight.push(syn[k].2);
                        k += 1;
                    }
                    core.axons.syn_start.push(core.axons.syn_target.len() as u32);
                    fanout.push(Destination { core: core.core, axon });
                }
                fanout_start.push(fanout.len() as u32);
            }
            projections.push(Projection {
                name: format!("p{j}"),
                kind: d.kind,
                source: d.source,
                target: d.target,
                recurrent: d.recurrent,
                n_events: d.n_events,
                pool: d.pool.clone(),
                fanout_start,
                fanout,
            });
        }
        let wbits = self.target.numerics.weight_bits as u64;
        for c in &mut cores {
            c.usage = CoreUsage {
                neurons: c.n_neurons(),
                synapse_bits: c.n_synapses() as u64 * (wbits + 8),
                neuron_state_bits: c.n_neurons() as u64 * 16,
                in_axons: c.axons.projection.len() as u32,
                out_axons: 0,
                routing_entries: 0,
            };
        }
        let map = CoreMap {
            version: CORE_MAP_VERSION,
            target: self.target.clone(),
            model: "test".into(),
            dynamics: self.dynamics,
            populations,
            projections,
            cores,
            input: 0,
            output: self.output,
        };
        map.validate().expect("builder makes valid maps");
        map
    }
}

/// A deterministic generator (splitmix64) for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random map on `target`: an input, 2–4 populations of random models placed in 1–3
/// pieces on random cores, forward projections (some with source-side pooling, some of
/// kind `Pooling`) and recurrent projections.
pub fn random_map(seed: u64, target: &str, n_cores: u32) -> MapBuilder {
    let mut r = Rng(seed);
    let mut b = MapBuilder::new(target);
    b.dynamics.reset = if r.below(2) == 0 { ResetRule::ToVReset } else { ResetRule::Subtract };
    b.dynamics.spike_test = if r.below(2) == 0 { SpikeTest::Strict } else { SpikeTest::NonStrict };
    b.input(4 + r.below(7) as u32);
    let models = [
        NeuronModel::LIF,
        NeuronModel::IF,
        NeuronModel::LI,
        NeuronModel::CubaLIF,
        NeuronModel::CubaLI,
        NeuronModel::I,
        NeuronModel::Identity,
    ];
    let k = 2 + r.below(3);
    for p in 0..k {
        let model = if p == 0 { NeuronModel::LIF } else { models[r.below(models.len() as u64) as usize] };
        let n = 2 + r.below(7) as u32;
        let n_pieces = (1 + r.below(3) as u32).min(n);
        let mut pieces = Vec::new();
        let mut left = n;
        for i in 0..n_pieces {
            let count = if i + 1 == n_pieces { left } else { 1 + r.below((left - (n_pieces - i - 1)) as u64) as u32 };
            let count = count.min(left - (n_pieces - i - 1));
            left -= count;
            let core = r.below(n_cores as u64) as u32;
            pieces.push((core, count));
        }
        let nn = n as usize;
        let mut f = |lo: f64, hi: f64| (0..nn).map(|_| lo + (hi - lo) * r.f()).collect::<Vec<f64>>();
        let coeffs = Coeffs {
            decay: f(0.05, 0.5),
            gain: f(0.5, 1.5),
            v_leak: f(-0.2, 0.2),
            v_threshold: f(0.3, 1.2),
            v_reset: f(-0.1, 0.1),
            bias: f(-0.1, 0.3),
            syn_decay: f(0.2, 0.8),
            w_in: f(0.5, 1.5),
        };
        b.pop(&format!("pop{p}"), model, coeffs, &pieces);
    }
    let n_pops = b.pops.len() as u32;
    for p in 1..n_pops {
        let n_fwd = 1 + r.below(2);
        for _ in 0..n_fwd {
            let src = r.below(p as u64) as u32;
            let n_src = b.pops[src as usize].n;
            let n_tgt = b.pops[p as usize].n;
            let pooled = r.below(2) == 0;
            let n_events = if pooled { n_src.div_ceil(2) } else { n_src };
            let mut syn = Vec::new();
            for e in 0..n_events {
                for t in 0..n_tgt {
                    if r.f() < 0.6 {
                        syn.push((e, t, 2.0 * r.f() - 1.0));
                    }
                }
            }
            let kind = [ProjectionKind::Dense, ProjectionKind::Sparse, ProjectionKind::Conv, ProjectionKind::Pooling]
                [r.below(4) as usize];
            let j = b.proj(kind, src, p, syn);
            if pooled {
                let (mut start, mut event, mut factor) = (vec![0u32], Vec::new(), Vec::new());
                for s in 0..n_src {
                    event.push(s / 2);
                    factor.push(0.25 + 0.5 * r.f());
                    if r.below(3) == 0 && s / 2 + 1 < n_events {
                        event.push(s / 2 + 1);
                        factor.push(0.5);
                    }
                    start.push(event.len() as u32);
                }
                b.projs[j].n_events = n_events;
                b.projs[j].pool = Some(SourcePool { start, event, factor });
            }
        }
        if r.below(10) < 4 {
            let src = 1 + r.below((n_pops - 1) as u64) as u32;
            let (n_src, n_tgt) = (b.pops[src as usize].n, b.pops[p as usize].n);
            let mut syn = Vec::new();
            for e in 0..n_src {
                for t in 0..n_tgt {
                    if r.f() < 0.5 {
                        syn.push((e, t, r.f() - 0.5));
                    }
                }
            }
            let j = b.proj(ProjectionKind::Dense, src, p, syn);
            b.projs[j].recurrent = true;
        }
    }
    b
}

/// Random input `[N, T, n]`: mostly 0 and 1, some graded values.
pub fn random_input(seed: u64, len: usize) -> Vec<f64> {
    let mut r = Rng(seed);
    (0..len)
        .map(|_| match r.below(10) {
            0..=4 => 0.0,
            5..=8 => 1.0,
            _ => r.f() - 0.3,
        })
        .collect()
}

/// What the straightforward reference computes.
pub struct Reference {
    pub outputs: Vec<f64>,
    /// Every population's values, `[N, T, n]` each.
    pub values: Vec<Vec<f64>>,
    pub layer_spikes: Vec<u64>,
    pub sops_weight: u64,
    pub sops_pool: u64,
}

/// A straightforward f64 reference of the core-map semantics, written from the builder's
/// definitions (dense weight matrices), not from the core map.
pub fn reference(b: &MapBuilder, input: &[f64], n_samples: usize, n_steps: usize) -> Reference {
    let pops = &b.pops;
    let n_in = pops[0].n as usize;
    // Dense weights per projection: w[e][t] (0 = no synapse).
    let dense: Vec<Vec<Vec<f64>>> = b
        .projs
        .iter()
        .map(|d| {
            let mut w = vec![vec![0.0; pops[d.target as usize].n as usize]; d.n_events as usize];
            for &(e, t, x) in &d.synapses {
                w[e as usize][t as usize] = x;
            }
            w
        })
        .collect();
    let strict = b.dynamics.spike_test == SpikeTest::Strict;
    let subtract = b.dynamics.reset == ResetRule::Subtract;
    let mut out = Reference {
        outputs: Vec::new(),
        values: vec![Vec::new(); pops.len()],
        layer_spikes: Vec::new(),
        sops_weight: 0,
        sops_pool: 0,
    };
    for s in 0..n_samples {
        let mut v: Vec<Vec<f64>> = pops.iter().map(|p| vec![0.0; p.n as usize]).collect();
        let mut isyn = v.clone();
        let mut val = v.clone();
        let mut cur: Vec<Vec<(usize, f64)>> = vec![Vec::new(); b.projs.len()];
        let mut prev = cur.clone();
        for t in 0..n_steps {
            let mut spikes_row = Vec::new();
            for p in 0..pops.len() {
                let pd = &pops[p];
                if p == 0 {
                    val[0].copy_from_slice(&input[(s * n_steps + t) * n_in..(s * n_steps + t + 1) * n_in]);
                } else {
                    let k = &pd.coeffs;
                    let mut i_in: Vec<f64> = (0..pd.n as usize).map(|i| k.bias[i]).collect();
                    for (j, d) in b.projs.iter().enumerate() {
                        if d.target as usize != p {
                            continue;
                        }
                        let evs = if d.recurrent { &prev[j] } else { &cur[j] };
                        for &(e, x) in evs {
                            for (ti, &w) in dense[j][e].iter().enumerate() {
                                if w != 0.0 {
                                    i_in[ti] += x * w;
                                    if d.kind == ProjectionKind::Pooling {
                                        out.sops_pool += 1;
                                    } else {
                                        out.sops_weight += 1;
                                    }
                                }
                            }
                        }
                    }
                    let mut n_spk = 0;
                    for i in 0..pd.n as usize {
                        let x = i_in[i];
                        let fire = |u: f64| {
                            let sp = if strict { u > k.v_threshold[i] } else { u >= k.v_threshold[i] };
                            let after = if subtract { u - k.v_threshold[i] } else { k.v_reset[i] };
                            (if sp { after } else { u }, sp)
                        };
                        match pd.model {
                            NeuronModel::Identity => val[p][i] = x,
                            NeuronModel::LIF | NeuronModel::LI => {
                                let u = v[p][i] + k.decay[i] * (k.v_leak[i] - v[p][i]) + k.gain[i] * x;
                                if pd.model == NeuronModel::LIF {
                                    let (nv, sp) = fire(u);
                                    v[p][i] = nv;
                                    val[p][i] = sp as u8 as f64;
                                    n_spk += sp as u64;
                                } else {
                                    v[p][i] = u;
                                    val[p][i] = u;
                                }
                            }
                            NeuronModel::IF | NeuronModel::I => {
                                let u = v[p][i] + k.gain[i] * x;
                                if pd.model == NeuronModel::IF {
                                    let (nv, sp) = fire(u);
                                    v[p][i] = nv;
                                    val[p][i] = sp as u8 as f64;
                                    n_spk += sp as u64;
                                } else {
                                    v[p][i] = u;
                                    val[p][i] = u;
                                }
                            }
                            NeuronModel::CubaLIF | NeuronModel::CubaLI => {
                                let c = isyn[p][i] + k.syn_decay[i] * (k.w_in[i] * x - isyn[p][i]);
                                isyn[p][i] = c;
                                let u = v[p][i] + k.decay[i] * (k.v_leak[i] - v[p][i]) + k.gain[i] * c;
                                if pd.model == NeuronModel::CubaLIF {
                                    let (nv, sp) = fire(u);
                                    v[p][i] = nv;
                                    val[p][i] = sp as u8 as f64;
                                    n_spk += sp as u64;
                                } else {
                                    v[p][i] = u;
                                    val[p][i] = u;
                                }
                            }
                            NeuronModel::Input => {}
                        }
                    }
                    if pd.model.is_spiking() {
                        spikes_row.push(n_spk);
                    }
                }
                for (j, d) in b.projs.iter().enumerate() {
                    if d.source as usize != p {
                        continue;
                    }
                    cur[j].clear();
                    match &d.pool {
                        None => {
                            for (e, &x) in val[p].iter().enumerate() {
                                if x != 0.0 {
                                    cur[j].push((e, x));
                                }
                            }
                        }
                        Some(pool) => {
                            let mut ev = vec![0.0; d.n_events as usize];
                            for (src, &x) in val[p].iter().enumerate() {
                                if x == 0.0 {
                                    continue;
                                }
                                for k in pool.start[src] as usize..pool.start[src + 1] as usize {
                                    ev[pool.event[k] as usize] += pool.factor[k] * x;
                                    out.sops_pool += 1;
                                }
                            }
                            cur[j].extend(ev.iter().enumerate().filter(|(_, &x)| x != 0.0).map(|(e, &x)| (e, x)));
                        }
                    }
                }
            }
            out.outputs.extend_from_slice(&val[b.output as usize]);
            for (p, v) in val.iter().enumerate() {
                out.values[p].extend_from_slice(v);
            }
            out.layer_spikes.extend(spikes_row);
            for (j, d) in b.projs.iter().enumerate() {
                if d.recurrent {
                    std::mem::swap(&mut cur[j], &mut prev[j]);
                }
            }
        }
    }
    out
}
