//! A small core-map builder for tests: populations placed as (core, count) pieces,
//! projections given as synapse lists, everything else derived like a mapper would.

#![allow(dead_code)]

mod random;
#[allow(unused_imports)]
pub use random::*;

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
            dynamics: MapDynamics {
                dt_s: 1e-3,
                reset: ResetRule::ToVReset,
                spike_test: SpikeTest::Strict,
                semantics: Default::default(),
            },
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
                axons: AxonTable::default(),
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
                rule: spikeforge_targets::coremap::NeuronRule {
                    reset: self.dynamics.reset,
                    spike_test: self.dynamics.spike_test,
                    ..Default::default()
                },
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
                    let mut end = k;
                    while end < syn.len() && syn[end].0 == e && place[d.target as usize][syn[end].1 as usize].0 == c {
                        end += 1;
                    }
                    let axon = core.axons.push(j as u32, e, Some((end - k) as u32));
                    for s in &syn[k..end] {
                        core.axons.syn_target.as_u32_mut().push(place[d.target as usize][s.1 as usize].1);
                        core.axons.syn_weight.as_f64_mut().push(s.2);
                    }
                    k = end;
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
                conv: None,
            });
        }
        let wbits = self.target.numerics.weight_bits as u64;
        for c in &mut cores {
            c.usage = CoreUsage {
                neurons: c.n_neurons(),
                synapse_bits: c.n_synapses() as u64 * (wbits + 8),
                neuron_state_bits: c.n_neurons() as u64 * 16,
                in_axons: c.axons.len() as u32,
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
