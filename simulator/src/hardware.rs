//! Hardware mode: the target's fixed-point weights, state, decay and threshold, through
//! `spikeforge_targets::fixed` (whose docs give every rounding and saturation rule).
//!
//! Set-up quantizes per target population: the scale is the largest `|k·w|` over all
//! synapses into the population, every neuron's coefficients are quantized at that scale,
//! and each stored synapse becomes an integer `round(k·w / scale)`. Event values are real
//! (spikes are 1; a graded population's output is its state × its scale), so populations
//! with different scales compose. Each population updates under its own `NeuronRule`
//! ([`fixed::step_rule`]): the framework's reset timing and multi-spike counts in integers. Synaptic input is summed exactly in 64 bits, then
//! fitted to the state range once per step, so the sum does not depend on arrival order.

use spikeforge_targets::coremap::{NeuronModel, TargetSlice};
use spikeforge_targets::fixed::{self, FixedNeuron, RealNeuron};
use spikeforge_targets::Numerics;

use crate::func::{neuron_flags, Arith};
use crate::layout::Layout;
use crate::SimError;

pub(crate) struct Hardware {
    /// Input factor and population of every flat neuron (quantizing convolution synapses).
    k: Vec<f64>,
    pop_of: Vec<u32>,
    acc: Vec<i64>,
    state: Vec<(i64, i64)>,
    neurons: Vec<FixedNeuron>,
    /// Per core, stored weights in synapse order.
    weights: Vec<Vec<i64>>,
    /// Per population, the real value of one state unit.
    scale: Vec<f64>,
    numerics: Numerics,
    /// Coefficients and weights clamped by quantization.
    pub saturated: u64,
}

fn real(lay: &Layout, c: usize, l: usize) -> RealNeuron {
    RealNeuron::from_params(&lay.map.cores[c].params, l)
}

impl Hardware {
    pub fn new(lay: &Layout) -> Result<Hardware, SimError> {
        let map = lay.map;
        let n = map.target.numerics.clone();
        // Model and input factor of every flat neuron.
        let mut model = vec![NeuronModel::Identity; lay.n_flat];
        let mut pop_of = vec![0u32; lay.n_flat];
        let mut k = vec![1.0f64; lay.n_flat];
        for unit in &lay.units {
            let c = unit.core as usize;
            let m = map.populations[unit.pop as usize].model;
            for &(_, count, off) in &unit.ranges {
                for l in off as usize..(off + count) as usize {
                    let f = lay.core_base[c] as usize + l;
                    model[f] = m;
                    pop_of[f] = unit.pop;
                    k[f] = fixed::input_factor(m, &real(lay, c, l));
                }
            }
        }
        let mut max_abs = vec![0.0f64; map.populations.len()];
        let mut bad = None;
        for (c, core) in map.cores.iter().enumerate() {
            let base = lay.core_base[c] as usize;
            map.for_each_synapse(c, |_, t, w| {
                let f = base + t as usize;
                let x = (k[f] * w).abs();
                if !x.is_finite() {
                    bad.get_or_insert_with(|| format!("core {}: weight {w} × input factor {}", core.core, k[f]));
                }
                let m = &mut max_abs[pop_of[f] as usize];
                *m = m.max(x);
            });
            if let Some(b) = bad.take() {
                return Err(SimError::Quantization(b));
            }
        }
        let scale: Vec<f64> = max_abs.iter().map(|&m| fixed::weight_scale(m, &n)).collect();
        let mut saturated = 0u64;
        // A symbolic convolution's synapses are quantized when delivered; count their
        // saturations once here.
        for (c, core) in map.cores.iter().enumerate() {
            let base = lay.core_base[c] as usize;
            for run in &core.axons.runs {
                if let Some((conv, runs)) = lay.conv_of_run(c, run) {
                    for e in run.first_event..run.first_event + run.count {
                        conv.for_event(e, runs, |t, w| {
                            let f = base + t as usize;
                            saturated +=
                                fixed::quantize_synapse(w, k[f], scale[pop_of[f] as usize], &n).saturated as u64;
                        });
                    }
                }
            }
        }
        let mut weights = Vec::with_capacity(map.cores.len());
        for (c, core) in map.cores.iter().enumerate() {
            let base = lay.core_base[c] as usize;
            let ax = &core.axons;
            let ws = ax.syn_target.iter().enumerate().map(|(i, t)| {
                let f = base + t as usize;
                let q = fixed::quantize_synapse(ax.syn_weight.get(i), k[f], scale[pop_of[f] as usize], &n);
                saturated += q.saturated as u64;
                q.value
            });
            weights.push(ws.collect::<Vec<i64>>());
        }
        let mut neurons = Vec::with_capacity(lay.n_flat);
        for (c, core) in map.cores.iter().enumerate() {
            for l in 0..core.n_neurons() as usize {
                let f = lay.core_base[c] as usize + l;
                let (p, s) = fixed::quantize_neuron(model[f], &real(lay, c, l), scale[pop_of[f] as usize], &n);
                saturated += s as u64;
                neurons.push(p);
            }
        }
        Ok(Hardware {
            k,
            pop_of,
            acc: vec![0; lay.n_flat],
            state: vec![(0, 0); lay.n_flat],
            neurons,
            weights,
            scale,
            numerics: n,
            saturated,
        })
    }
}

impl Arith for Hardware {
    fn reset(&mut self) {
        self.state.fill((0, 0));
    }

    fn begin(&mut self, lay: &Layout, u: usize) {
        let unit = &lay.units[u];
        let base = lay.core_base[unit.core as usize] as usize;
        for &(_, count, off) in &unit.ranges {
            for f in base + off as usize..base + (off + count) as usize {
                self.acc[f] = self.neurons[f].bias;
            }
        }
    }

    fn deliver(&mut self, lay: &Layout, cores: &[u32], batches: &[Vec<(u32, f64)>]) {
        let (k, pop_of, scale, n, weights) = (&self.k, &self.pop_of, &self.scale, &self.numerics, &self.weights);
        crate::func::for_cores(lay, &mut self.acc, cores, batches, |c, acc| {
            let ax = &lay.map.cores[c].axons;
            let base = lay.core_base[c] as usize;
            for &(a, x) in &batches[c] {
                let run = ax.run_of(a);
                let i = a - run.first_axon;
                if let Some((conv, runs)) = lay.conv_of_run(c, run) {
                    conv.for_event(run.first_event + i, runs, |t, w| {
                        let f = base + t as usize;
                        let q = fixed::quantize_synapse(w, k[f], scale[pop_of[f] as usize], n).value;
                        let v = &mut acc[t as usize];
                        *v = v.saturating_add(fixed::contribution(x, q, n));
                    });
                    continue;
                }
                let x_row = (run.first_explicit + i) as usize;
                let (s, e) = (ax.syn_start[x_row] as usize, ax.syn_start[x_row + 1] as usize);
                match ax.syn_target.slice(s..e) {
                    TargetSlice::U16(tg) => add_row_fixed(acc, tg, &weights[c][s..e], x, n),
                    TargetSlice::U32(tg) => add_row_fixed(acc, tg, &weights[c][s..e], x, n),
                }
            }
        });
    }

    fn update(&mut self, lay: &Layout, u: usize, out: &mut [f64], flags: &mut [u32]) -> (u64, u64) {
        let unit = &lay.units[u];
        let base = lay.core_base[unit.core as usize] as usize;
        let scale = self.scale[unit.pop as usize];
        let rule = lay.map.populations[unit.pop as usize].rule;
        let (mut spikes, mut active) = (0, 0);
        for &(first, count, off) in &unit.ranges {
            for k in 0..count as usize {
                let f = base + off as usize + k;
                let p = &self.neurons[f];
                let act = self.state[f] != (0, 0) || self.acc[f] != 0;
                active += act as u64;
                let (y, _) = fixed::step_rule(p, &mut self.state[f], self.acc[f], &rule, &self.numerics);
                out[first as usize + k] =
                    if p.model.is_spiking() { y as f64 } else { fixed::dequantize_state(y, scale, &self.numerics) };
                let s = if p.model.is_spiking() { y as u64 } else { 0 };
                spikes += s;
                flags[first as usize + k] = neuron_flags(act, s);
            }
        }
        (spikes, active)
    }
}

/// `acc[t] += x·q` in the chip's fixed point over one axon's synapses.
#[inline(always)]
fn add_row_fixed<T: Copy + Into<u32>>(acc: &mut [i64], tg: &[T], q: &[i64], x: f64, n: &Numerics) {
    for (t, &q) in tg.iter().zip(q) {
        let v = &mut acc[(*t).into() as usize];
        *v = v.saturating_add(fixed::contribution(x, q, n));
    }
}
