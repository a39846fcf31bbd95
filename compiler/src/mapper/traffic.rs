//! Expected spike traffic between bins: what placement minimises and routing carries.
//!
//! Needs: a partition (bins and each event's destination bins). Establishes: per source bin,
//! flows grouped by destination set, each weighted by the spikes its neurons send: from a
//! calibration run (a population's spikes spread uniformly over its neurons) or 1 per
//! neuron without one. A neuron's packet reaches each destination bin once, however many
//! of its events go there; deliveries to its own bin cost no traffic and are left out.

use std::collections::BTreeMap;

use super::lower::{for_events, Network};
use super::partition::Partition;
use super::route::Flow;
use crate::exec::RunResult;
use crate::ir::Graph;

pub struct Traffic {
    /// `(source bin, destination bin, expected packets)`, each pair once.
    pub pairs: Vec<(u32, u32, f64)>,
    pub flows: Vec<Flow>,
}

/// Events per IR node (indexed by `NodeId::index`) from an executor run, as
/// [`super::CompileOptions::calibration`] takes them: spikes for spiking nodes; for
/// neuron nodes with graded output (LI, I, CubaLI), one value per neuron, sample and
/// step (they send whenever their value is nonzero, nearly always); 0 for other nodes.
pub fn calibration_from_run(graph: &Graph, run: &RunResult) -> Vec<u64> {
    let mut out = vec![0u64; graph.id_bound()];
    let steps = (run.n_samples * run.n_steps) as u64;
    for s in &run.nodes {
        let Some(n) = graph.find(&s.name) else { continue };
        out[n.index()] = if s.kind.is_spiking() {
            s.spikes
        } else if s.kind.is_neuron() {
            s.n_outputs as u64 * steps
        } else {
            0
        };
    }
    out
}

/// Flows and pair weights of a partition.
pub fn traffic(net: &Network, part: &Partition, calibration: Option<&[u64]>) -> Traffic {
    let outgoing = net.outgoing();
    let n_bins = part.bins.len();
    let mut pair_w = vec![0.0f64; n_bins];
    let mut pair_touched: Vec<u32> = Vec::new();
    let mut pairs = Vec::new();
    let mut flows = Vec::new();
    let mut set: Vec<u32> = Vec::new();
    for (a, bin) in part.bins.iter().enumerate() {
        let a = a as u32;
        let mut by_set: BTreeMap<Vec<u32>, f64> = BTreeMap::new();
        for s in &bin.segments {
            let pop = &net.populations[s.pop as usize];
            let rate = match calibration {
                Some(c) => c.get(pop.node.index()).copied().unwrap_or(0) as f64 / pop.n.max(1) as f64,
                None => 1.0,
            };
            for j in s.first as usize..(s.first + s.count) as usize {
                set.clear();
                for &q in &outgoing[s.pop as usize] {
                    let d = &part.dests[q];
                    for_events(&net.projections[q], j, |e| set.extend(d.of(e).iter().filter(|&&b| b != a)));
                }
                if set.is_empty() || rate == 0.0 {
                    continue;
                }
                set.sort_unstable();
                set.dedup();
                for &b in &set {
                    if pair_w[b as usize] == 0.0 {
                        pair_touched.push(b);
                    }
                    pair_w[b as usize] += rate;
                }
                match by_set.get_mut(set.as_slice()) {
                    Some(w) => *w += rate,
                    None => {
                        by_set.insert(set.clone(), rate);
                    }
                }
            }
        }
        pair_touched.sort_unstable();
        for &b in &pair_touched {
            pairs.push((a, b, pair_w[b as usize]));
            pair_w[b as usize] = 0.0;
        }
        pair_touched.clear();
        flows.extend(by_set.into_iter().map(|(destinations, weight)| Flow { source: a, destinations, weight }));
    }
    Traffic { pairs, flows }
}
