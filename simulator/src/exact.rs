//! Exact mode: f64 state and input, the reference executor's expressions in its order.
//!
//! ```text
//! I = bias + Σ value × weight            (order: see crate::func)
//! I = (Σ value × weight) + bias          a population whose one input is a convolution:
//!                                        the executor's conv kernel adds its bias last
//! neuron    spikeforge_targets::real::step_real under the population's NeuronRule
//!           (NIR: v ← v + decay·(v_leak − v) + gain·I; spike v > θ; v ← v_reset)
//! output    spiking models: the spike count (1.0 or 0.0 unless multi-spike);
//!           LI, I, CubaLI: v; Identity: I
//! ```
//!
//! The neuron update is the function the reference executor uses for every rule but NIR's,
//! and NIR's fast path there computes the same expressions, so results are bit-identical
//! to `compiler/src/exec/neuron.rs` for the same coefficients and input.

use spikeforge_targets::axons::AxonRun;
use spikeforge_targets::coremap::{NeuronModel, ProjectionKind, SynapseWeights, TargetSlice};
use spikeforge_targets::fixed::RealNeuron;
use spikeforge_targets::real::step_real;

use crate::conv_event::for_conv_event;
use crate::func::{neuron_flags, Arith};
use crate::layout::Layout;

pub(crate) struct Exact {
    acc: Vec<f64>,
    v: Vec<f64>,
    i: Vec<f64>,
    /// Per population: its bias is added after the synaptic sum (see the module docs).
    bias_last: Vec<bool>,
}

impl Exact {
    pub fn new(lay: &Layout) -> Self {
        let map = &lay.map;
        let bias_last = (0..map.populations.len())
            .map(|p| {
                let mut into = map.projections.iter().filter(|pr| pr.target as usize == p);
                matches!((into.next(), into.next()), (Some(pr), None) if pr.kind == ProjectionKind::Conv)
            })
            .collect();
        Exact { acc: vec![0.0; lay.n_flat], v: vec![0.0; lay.n_flat], i: vec![0.0; lay.n_flat], bias_last }
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
        let late = self.bias_last[unit.pop as usize];
        for &(_, count, off) in &unit.ranges {
            let (s, e) = (off as usize, (off + count) as usize);
            let acc = &mut self.acc[base + s..base + e];
            if bias.is_empty() || late {
                acc.fill(0.0);
            } else {
                acc.copy_from_slice(&bias[s..e]);
            }
        }
    }

    fn deliver(&mut self, lay: &Layout, cores: &[u32], batches: &[Vec<(u32, f64)>]) {
        crate::func::for_cores(lay, &mut self.acc, cores, batches, |c, acc| deliver_core(lay, acc, c, &batches[c]));
    }

    fn update(&mut self, lay: &Layout, u: usize, out: &mut [f64], flags: &mut [u32]) -> (u64, u64) {
        let unit = &lay.units[u];
        let c = unit.core as usize;
        let params = &lay.map.cores[c].params;
        let base = lay.core_base[c] as usize;
        let pop = &lay.map.populations[unit.pop as usize];
        let (model, rule) = (pop.model, pop.rule);
        let late = self.bias_last[unit.pop as usize] && !params.bias.is_empty();
        let (mut spikes, mut active) = (0u64, 0u64);
        for &(first, count, off) in &unit.ranges {
            for k in 0..count as usize {
                let l = off as usize + k;
                let f = base + l;
                let o = &mut out[first as usize + k];
                let fl = &mut flags[first as usize + k];
                *fl = 0;
                if model == NeuronModel::Input {
                    continue;
                }
                let p = RealNeuron::from_params(params, l);
                let mut st = (self.v[f], self.i[f]);
                let input = if late { self.acc[f] + params.bias[l] } else { self.acc[f] };
                let act = st != (0.0, 0.0) || input != 0.0;
                active += act as u64;
                let (y, s) = step_real(model, &rule, &p, &mut st, input);
                (self.v[f], self.i[f]) = st;
                *o = y;
                spikes += s;
                *fl = neuron_flags(act, s);
            }
        }
        (spikes, active)
    }
}

/// Adds the synapses of every `(axon, value)` of `batch`, in order, times the value, to
/// core `c`'s accumulators. Consecutive deliveries usually share an axon run, so the run
/// and its convolution are looked up only when the axon leaves the current run.
fn deliver_core(lay: &Layout, acc: &mut [f64], c: usize, batch: &[(u32, f64)]) {
    let ax = &lay.map.cores[c].axons;
    let mut run = None;
    let mut conv = None;
    for &(a, x) in batch {
        let r = match run {
            Some(r) if in_run(r, a) => r,
            _ => {
                let r = ax.run_of(a);
                run = Some(r);
                conv = lay.conv_of_run(c, r).map(|(conv, runs)| {
                    (conv, lay.conv_taps[r.projection as usize].as_ref().expect("tabulated convolution"), runs)
                });
                r
            }
        };
        let i = a - r.first_axon;
        if let Some((conv, taps, runs)) = conv {
            let e = r.first_event + i;
            if x == 1.0 {
                for_conv_event(conv, taps, runs, e, |t, w| acc[t as usize] += w);
            } else {
                for_conv_event(conv, taps, runs, e, |t, w| acc[t as usize] += x * w);
            }
            continue;
        }
        let k = (r.first_explicit + i) as usize;
        let (s, e) = (ax.syn_start[k] as usize, ax.syn_start[k + 1] as usize);
        match (ax.syn_target.slice(s..e), &ax.syn_weight) {
            (TargetSlice::U16(tg), SynapseWeights::F32(w)) => add_row(acc, tg, &w[s..e], x),
            (TargetSlice::U16(tg), SynapseWeights::F64(w)) => add_row(acc, tg, &w[s..e], x),
            (TargetSlice::U32(tg), SynapseWeights::F32(w)) => add_row(acc, tg, &w[s..e], x),
            (TargetSlice::U32(tg), SynapseWeights::F64(w)) => add_row(acc, tg, &w[s..e], x),
        }
    }
}

#[inline]
fn in_run(r: &AxonRun, a: u32) -> bool {
    a >= r.first_axon && a - r.first_axon < r.count
}

/// `acc[t] += x·w` over one axon's synapses (f32 weights widen exactly to f64).
#[inline(always)]
fn add_row<T: Copy + Into<u32>, W: Copy + Into<f64>>(acc: &mut [f64], tg: &[T], w: &[W], x: f64) {
    if x == 1.0 {
        for (t, w) in tg.iter().zip(w) {
            acc[(*t).into() as usize] += (*w).into();
        }
    } else {
        for (t, w) in tg.iter().zip(w) {
            acc[(*t).into() as usize] += x * (*w).into();
        }
    }
}
