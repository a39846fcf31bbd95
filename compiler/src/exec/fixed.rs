//! The fixed-point reference: the model as the chip computes it in hardware mode, without
//! timing. It evaluates the mapper's lowered network (populations, projections with
//! source-side pooling, composed synapses) with the target's integer arithmetic from
//! `spikeforge_targets::fixed` — the one definition the simulator's hardware mode also
//! uses — so the two must agree bit for bit.
//!
//! Per population: scale = largest `|k·w|` over its incoming synapses ([`fixed::weight_scale`]);
//! each synapse stores `quantize_synapse(w, k, scale)`; neurons are quantized at that
//! scale. An event of value `x` adds `contribution(x, q)`; the sum starts at the quantized
//! bias and is exact in 64 bits; [`fixed::step_rule`] updates the neuron under its population's
//! rule. Spikes are counts (1, or more for a multi-spike rule); a graded
//! population's value is its state × its scale. Pooled event values are summed in f64 over
//! source neurons in ascending order, as on the chip.

use spikeforge_targets::coremap::{NeuronModel, NeuronParams};
use spikeforge_targets::fixed::{self, FixedNeuron, RealNeuron};
use spikeforge_targets::Numerics;

use crate::mapper::lower::Network;

fn real(p: &NeuronParams, i: usize) -> RealNeuron {
    RealNeuron::from_params(p, i)
}

/// A projection's stored weights by event: `(target, q)` for events `start[e]..start[e+1]`.
struct Stored {
    start: Vec<usize>,
    entries: Vec<(u32, i64)>,
}

pub struct FixedRun {
    pub output: Vec<f64>,
    pub output_len: usize,
    /// `[N, T, n_spiking_populations]`.
    pub layer_spikes: Vec<i64>,
    /// Coefficients and weights clamped by quantization.
    pub saturated: u64,
}

/// Runs `[N, T, n_input]` through the lowered network in the target's fixed point.
pub fn run_fixed(net: &Network, numerics: &Numerics, input: &[f64], n: usize, t: usize) -> FixedRun {
    let pops = &net.populations;
    let k: Vec<Vec<f64>> =
        pops.iter().map(|p| (0..p.n).map(|i| fixed::input_factor(p.model, &real(&p.params, i))).collect()).collect();
    let mut max_abs = vec![0.0f64; pops.len()];
    for pr in &net.projections {
        let kt = &k[pr.target];
        for tgt in 0..pops[pr.target].n {
            pr.synapses.for_target(tgt, |_, w| max_abs[pr.target] = max_abs[pr.target].max((kt[tgt] * w).abs()));
        }
    }
    let scale: Vec<f64> = max_abs.iter().map(|&m| fixed::weight_scale(m, numerics)).collect();
    let mut saturated = 0u64;
    let stored: Vec<Stored> = net
        .projections
        .iter()
        .map(|pr| {
            let mut triples: Vec<(u32, u32, i64)> = Vec::new();
            for tgt in 0..pops[pr.target].n {
                pr.synapses.for_target(tgt, |e, w| {
                    let q = fixed::quantize_synapse(w, k[pr.target][tgt], scale[pr.target], numerics);
                    saturated += q.saturated as u64;
                    triples.push((e, tgt as u32, q.value));
                });
            }
            triples.sort_by_key(|&(e, tgt, _)| (e, tgt));
            let mut start = vec![0usize; pr.n_events + 1];
            for &(e, _, _) in &triples {
                start[e as usize + 1] += 1;
            }
            for e in 0..pr.n_events {
                start[e + 1] += start[e];
            }
            Stored { start, entries: triples.into_iter().map(|(_, tgt, q)| (tgt, q)).collect() }
        })
        .collect();
    let neurons: Vec<Vec<FixedNeuron>> = pops
        .iter()
        .enumerate()
        .map(|(p, pop)| {
            (0..pop.n)
                .map(|i| {
                    let (f, s) = fixed::quantize_neuron(pop.model, &real(&pop.params, i), scale[p], numerics);
                    saturated += s as u64;
                    f
                })
                .collect()
        })
        .collect();
    let incoming = net.incoming();
    let spiking: Vec<usize> = (0..pops.len()).filter(|&p| pops[p].model.is_spiking()).collect();
    let out_len = pops[net.output].n;
    let mut output = Vec::with_capacity(n * t * out_len);
    let mut layer_spikes = Vec::with_capacity(n * t * spiking.len());
    let n_in = pops[net.input].n;
    for s in 0..n {
        let mut values: Vec<Vec<f64>> = pops.iter().map(|p| vec![0.0; p.n]).collect();
        let mut state: Vec<Vec<(i64, i64)>> = pops.iter().map(|p| vec![(0, 0); p.n]).collect();
        let mut cur: Vec<Vec<f64>> = net.projections.iter().map(|pr| vec![0.0; pr.n_events]).collect();
        let mut prev = cur.clone();
        for step in 0..t {
            let mut spikes_row = vec![0i64; spiking.len()];
            for p in 0..pops.len() {
                if p == net.input {
                    values[p].copy_from_slice(&input[(s * t + step) * n_in..(s * t + step + 1) * n_in]);
                } else if pops[p].model != NeuronModel::Input {
                    let mut acc: Vec<i64> = neurons[p].iter().map(|f| f.bias).collect();
                    for &j in &incoming[p] {
                        let ev = if net.projections[j].recurrent { &prev[j] } else { &cur[j] };
                        let st = &stored[j];
                        for (e, &x) in ev.iter().enumerate() {
                            if x == 0.0 {
                                continue;
                            }
                            for &(tgt, q) in &st.entries[st.start[e]..st.start[e + 1]] {
                                let a = &mut acc[tgt as usize];
                                *a = a.saturating_add(fixed::contribution(x, q, numerics));
                            }
                        }
                    }
                    let mut n_spikes = 0;
                    for i in 0..pops[p].n {
                        let f = &neurons[p][i];
                        let (y, _) = fixed::step_rule(f, &mut state[p][i], acc[i], &pops[p].rule, numerics);
                        values[p][i] = if f.model.is_spiking() {
                            y as f64
                        } else {
                            fixed::dequantize_state(y, scale[p], numerics)
                        };
                        n_spikes += if f.model.is_spiking() { y } else { 0 };
                    }
                    if let Some(l) = spiking.iter().position(|&q| q == p) {
                        spikes_row[l] = n_spikes;
                    }
                }
                for (j, pr) in net.projections.iter().enumerate() {
                    if pr.source != p {
                        continue;
                    }
                    let ev = &mut cur[j];
                    match &pr.pool {
                        None => ev.copy_from_slice(&values[p]),
                        Some(pool) => {
                            ev.fill(0.0);
                            for (i, &v) in values[p].iter().enumerate() {
                                if v == 0.0 {
                                    continue;
                                }
                                for k in pool.start[i] as usize..pool.start[i + 1] as usize {
                                    ev[pool.event[k] as usize] += pool.factor[k] * v;
                                }
                            }
                        }
                    }
                }
            }
            output.extend_from_slice(&values[net.output]);
            layer_spikes.extend(spikes_row);
            for (j, pr) in net.projections.iter().enumerate() {
                if pr.recurrent {
                    std::mem::swap(&mut cur[j], &mut prev[j]);
                }
            }
        }
    }
    FixedRun { output, output_len: out_len, layer_spikes, saturated }
}
