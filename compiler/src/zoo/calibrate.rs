//! Threshold calibration: sets each LIF layer's threshold so that it fires at the
//! spec's rate on generated input of the spec's input rate.
//!
//! Needs: a graph whose LIF nodes all start silent ([`super::builder::SILENT_THRESHOLD`])
//! and are listed in topological order. Establishes: each listed layer's threshold is
//! the one whose firing rate on the calibration input (run by the reference executor,
//! upstream layers already calibrated) is closest to the target from below.
//!
//! Cost: one executor run per layer (samples in parallel, results in sample order); layers not yet calibrated are silent, so a run
//! only does the work of the layers above the one being calibrated, and the threshold
//! itself is bisected on the recorded input currents without re-running the network.

use rayon::prelude::*;

use crate::exec::{Dynamics, Executor, NeuronCoefficients, Probe};
use crate::ir::{Graph, NodeId, Op};
use crate::limits::Limits;

use super::ZooError;

/// One calibrated layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCalibration {
    pub name: String,
    pub v_threshold: f64,
    /// Firing rate on the calibration input (spikes per neuron and step).
    pub firing_rate: f64,
}

/// Records one node's summed input current at every sample and step.
struct CurrentProbe {
    node: NodeId,
    /// `[samples][steps × n]`.
    currents: Vec<Vec<f64>>,
}

impl Probe for CurrentProbe {
    fn wants(&self, node: NodeId) -> bool {
        node == self.node
    }
    fn record(&mut self, sample: usize, _step: usize, _node: NodeId, input: &[f64], _output: &[f64]) {
        if self.currents.len() <= sample {
            self.currents.resize(sample + 1, Vec::new());
        }
        self.currents[sample].extend_from_slice(input);
    }
}

/// LIF coefficients of one layer (scalar per layer in the zoo's networks).
#[derive(Clone, Copy)]
struct Lif {
    decay: f64,
    gain: f64,
    v_leak: f64,
    v_reset: f64,
}

impl Lif {
    fn potential(&self, v: f64, i: f64) -> f64 {
        v + self.decay * (self.v_leak - v) + self.gain * i
    }

    /// Spikes over all samples, steps and neurons at threshold `th` (strict test, reset to
    /// `v_reset`: the default discretisation).
    fn spikes(&self, currents: &[Vec<f64>], n: usize, th: f64) -> usize {
        let mut count = 0;
        let mut v = vec![0.0; n];
        for sample in currents {
            v.iter_mut().for_each(|x| *x = 0.0);
            for step in sample.chunks_exact(n) {
                for (vi, &i) in v.iter_mut().zip(step) {
                    let x = self.potential(*vi, i);
                    if x > th {
                        count += 1;
                        *vi = self.v_reset;
                    } else {
                        *vi = x;
                    }
                }
            }
        }
        count
    }

    /// The highest potential reached with no threshold at all.
    fn peak(&self, currents: &[Vec<f64>], n: usize) -> f64 {
        let mut peak = f64::NEG_INFINITY;
        let mut v = vec![0.0; n];
        for sample in currents {
            v.iter_mut().for_each(|x| *x = 0.0);
            for step in sample.chunks_exact(n) {
                for (vi, &i) in v.iter_mut().zip(step) {
                    *vi = self.potential(*vi, i);
                    peak = peak.max(*vi);
                }
            }
        }
        peak
    }
}

const BISECTION_STEPS: usize = 48;

/// Calibrates `lifs` in order on `input` (`[samples, steps, input_len]`).
pub fn calibrate(
    graph: &mut Graph,
    lifs: &[NodeId],
    input: &[f64],
    samples: usize,
    steps: usize,
    target_rate: f64,
    limits: &Limits,
) -> Result<Vec<LayerCalibration>, ZooError> {
    let dynamics = Dynamics::default();
    let mut out = Vec::with_capacity(lifs.len());
    for &node in lifs {
        let verified = graph.verify(limits).map_err(|e| ZooError::Verify(e.iter().map(|e| e.to_string()).collect()))?;
        let exec = Executor::new(graph, &verified, dynamics, limits).map_err(|e| ZooError::Internal(e.to_string()))?;
        // Samples are independent: probe them in parallel, kept in sample order.
        let per_sample = input.len() / samples.max(1);
        let currents: Vec<Vec<f64>> = input
            .par_chunks(per_sample.max(1))
            .map(|x| {
                let mut probe = CurrentProbe { node, currents: Vec::with_capacity(1) };
                exec.run_probed(x, 1, steps, &mut probe);
                probe.currents.pop().unwrap_or_default()
            })
            .collect();
        let probe = CurrentProbe { node, currents };
        let n = verified.shape(node).numel();
        let c = NeuronCoefficients::new(graph.op(node), dynamics.dt)
            .ok_or_else(|| ZooError::Internal("not a neuron".into()))?;
        let lif = Lif { decay: c.decay[0], gain: c.gain[0], v_leak: c.v_leak[0], v_reset: c.v_reset[0] };
        let total = (samples * steps * n).max(1) as f64;
        let peak = lif.peak(&probe.currents, n);
        let name = graph.name(node).to_string();
        if !(peak > 0.0) {
            return Err(ZooError::Silent { layer: name });
        }
        // Rate falls as the threshold rises: bisect for the lowest threshold whose rate is
        // at most the target.
        let (mut lo, mut hi) = (0.0, peak);
        for _ in 0..BISECTION_STEPS {
            let mid = 0.5 * (lo + hi);
            if lif.spikes(&probe.currents, n, mid) as f64 / total > target_rate {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // Prefer the threshold just below when it lands nearer the target.
        let rate_hi = lif.spikes(&probe.currents, n, hi) as f64 / total;
        let rate_lo = if lo > 0.0 { lif.spikes(&probe.currents, n, lo) as f64 / total } else { f64::INFINITY };
        let (th, rate) =
            if (rate_lo - target_rate).abs() < (target_rate - rate_hi).abs() { (lo, rate_lo) } else { (hi, rate_hi) };
        if let Op::LIF { v_threshold, .. } = graph.op_mut(node) {
            v_threshold.data_mut().iter_mut().for_each(|t| *t = th);
        }
        out.push(LayerCalibration { name, v_threshold: th, firing_rate: rate });
    }
    Ok(out)
}
