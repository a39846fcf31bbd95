//! Random maps and inputs, and a straightforward f64 reference of the core-map semantics.

use super::{Coeffs, MapBuilder, Rng};
use spikeforge_targets::coremap::*;

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
        // The last step's recurrent events are still sent and their synapses processed
        // (the chip does not know the run ends): they count as synaptic operations.
        for (j, d) in b.projs.iter().enumerate() {
            if d.recurrent {
                for &(e, _) in &prev[j] {
                    let n = dense[j][e].iter().filter(|w| **w != 0.0).count() as u64;
                    if d.kind == ProjectionKind::Pooling {
                        out.sops_pool += n;
                    } else {
                        out.sops_weight += n;
                    }
                }
            }
        }
    }
    out
}
