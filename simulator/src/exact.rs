//! Exact mode: f64 state and input, the reference executor's expressions in its order.
//!
//! ```text
//! I = bias + Σ value × weight            (order: see crate::func)
//! LIF, LI   v ← v + decay·(v_leak − v) + gain·I
//! IF, I     v ← v + gain·I
//! Cuba*     i ← i + syn_decay·(w_in·I − i);  v ← v + decay·(v_leak − v) + gain·i
//! spike     v > v_threshold (Strict) or v ≥ v_threshold (NonStrict)
//! reset     v ← v_reset (ToVReset) or v ← v − v_threshold (Subtract)
//! output    spiking models: 1.0 or 0.0; LI, I, CubaLI: v; Identity: I
//! ```
//!
//! No fused multiply-add is used (Rust never contracts), so results are bit-identical to
//! `compiler/src/exec/neuron.rs` for the same coefficients and input.

use spikeforge_targets::coremap::{NeuronModel, ResetRule, SpikeTest};

use crate::func::Arith;
use crate::layout::Layout;

pub(crate) struct Exact {
    acc: Vec<f64>,
    v: Vec<f64>,
    i: Vec<f64>,
    strict: bool,
    subtract: bool,
}

impl Exact {
    pub fn new(lay: &Layout) -> Self {
        Exact {
            acc: vec![0.0; lay.n_flat],
            v: vec![0.0; lay.n_flat],
            i: vec![0.0; lay.n_flat],
            strict: lay.map.dynamics.spike_test == SpikeTest::Strict,
            subtract: lay.map.dynamics.reset == ResetRule::Subtract,
        }
    }

    #[inline(always)]
    fn fire(&self, x: f64, th: f64, vr: f64) -> (f64, f64) {
        let s = if self.strict { x > th } else { x >= th };
        let after = if self.subtract { x - th } else { vr };
        (if s { after } else { x }, s as u8 as f64)
    }
}

impl Arith for Exact {
    fn reset(&mut self) {
        self.v.fill(0.0);
        self.i.fill(0.0);
    }

    fn begin(&mut self, lay: &Layout, u: usize) {
        let unit = &lay.units[u];
        let c = unit.core as usize;
        let bias = &lay.map.cores[c].params.bias;
        let base = lay.core_base[c] as usize;
        for &(_, count, off) in &unit.ranges {
            let (s, e) = (off as usize, (off + count) as usize);
            let acc = &mut self.acc[base + s..base + e];
            if bias.is_empty() {
                acc.fill(0.0);
            } else {
                acc.copy_from_slice(&bias[s..e]);
            }
        }
    }

    fn deliver(&mut self, lay: &Layout, cores: &[u32], batches: &[Vec<(u32, f64)>]) {
        crate::func::for_cores(lay, &mut self.acc, cores, batches, |c, acc| {
            for &(a, x) in &batches[c] {
                deliver_one(lay, acc, c, a as usize, x);
            }
        });
    }

    fn update(&mut self, lay: &Layout, u: usize, out: &mut [f64]) -> u64 {
        let unit = &lay.units[u];
        let c = unit.core as usize;
        let p = &lay.map.cores[c].params;
        let base = lay.core_base[c] as usize;
        let model = lay.map.populations[unit.pop as usize].model;
        let mut spikes = 0u64;
        for &(first, count, off) in &unit.ranges {
            for k in 0..count as usize {
                let l = off as usize + k;
                let f = base + l;
                let input = self.acc[f];
                let o = &mut out[first as usize + k];
                match model {
                    NeuronModel::Input => {}
                    NeuronModel::Identity => *o = input,
                    NeuronModel::LIF => {
                        let v = self.v[f];
                        let x = v + p.decay[l] * (p.v_leak[l] - v) + p.gain[l] * input;
                        let (nv, s) = self.fire(x, p.v_threshold[l], p.v_reset[l]);
                        self.v[f] = nv;
                        *o = s;
                        spikes += s as u64;
                    }
                    NeuronModel::LI => {
                        let v = self.v[f];
                        let x = v + p.decay[l] * (p.v_leak[l] - v) + p.gain[l] * input;
                        self.v[f] = x;
                        *o = x;
                    }
                    NeuronModel::IF => {
                        let (nv, s) = self.fire(self.v[f] + p.gain[l] * input, p.v_threshold[l], p.v_reset[l]);
                        self.v[f] = nv;
                        *o = s;
                        spikes += s as u64;
                    }
                    NeuronModel::I => {
                        let x = self.v[f] + p.gain[l] * input;
                        self.v[f] = x;
                        *o = x;
                    }
                    NeuronModel::CubaLIF | NeuronModel::CubaLI => {
                        let c = self.i[f];
                        let c = c + p.syn_decay[l] * (p.w_in[l] * input - c);
                        self.i[f] = c;
                        let v = self.v[f];
                        let x = v + p.decay[l] * (p.v_leak[l] - v) + p.gain[l] * c;
                        if model == NeuronModel::CubaLIF {
                            let (nv, s) = self.fire(x, p.v_threshold[l], p.v_reset[l]);
                            self.v[f] = nv;
                            *o = s;
                            spikes += s as u64;
                        } else {
                            self.v[f] = x;
                            *o = x;
                        }
                    }
                }
            }
        }
        spikes
    }
}

/// Adds axon `a`'s synapses on core `c`, times `x`, to the core's accumulators.
#[inline]
fn deliver_one(lay: &Layout, acc: &mut [f64], c: usize, a: usize, x: f64) {
    let ax = &lay.map.cores[c].axons;
    if let Some((conv, runs)) = lay.conv_axon(c, a) {
        // One synapse per target neuron and event: the visiting order keeps every sum.
        if x == 1.0 {
            conv.for_event(ax.event[a], runs, |t, w| acc[t as usize] += w);
        } else {
            conv.for_event(ax.event[a], runs, |t, w| acc[t as usize] += x * w);
        }
        return;
    }
    let (s, e) = (ax.syn_start[a] as usize, ax.syn_start[a + 1] as usize);
    let (tg, w) = (&ax.syn_target[s..e], &ax.syn_weight[s..e]);
    if x == 1.0 {
        for (t, w) in tg.iter().zip(w) {
            acc[*t as usize] += *w;
        }
    } else {
        for (t, w) in tg.iter().zip(w) {
            acc[*t as usize] += x * *w;
        }
    }
}
