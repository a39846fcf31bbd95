//! Fan-in splitting: a neuron whose inputs exceed what one core can receive is computed by
//! a chain of partial sums over several cores.
//!
//! Needs: a lowered [`Network`] and the target. Establishes: every population's largest
//! per-neuron fan-in (distinct input events, and the synapse memory of one neuron's rows)
//! fits the most capable core type — or, where no core type has `partial_sums`, the
//! error [`MapError::FanInTooLarge`] naming the layer, the limit and the remedy.
//!
//! A population `P` whose fan-in `F` exceeds a core's limit `L` becomes `K` populations
//! `P.partial1 … P.partial(K−1), P`. The inputs of `P`, in the order the reference
//! executor sums them (projections in order; events ascending: input channels for a
//! convolution, columns for a matrix), are cut into `K` contiguous slices of at most `L/2`
//! each (half a core, so several neurons share one). Slice 1 goes to `P.partial1`, an
//! `Identity` population holding `P`'s bias, whose output is its input sum; slice `k`
//! goes to the `k`-th population together with a `PartialSum` projection (one to one,
//! weight 1) from the previous one, ordered first. Since `0 + s = s` and `1·s = s`
//! exactly, every link continues the sum where the previous stopped, and `P` ends with
//! the executor's value bit for bit. Source-side pooling tables are cut with their
//! events, so pooling operations are counted once.

use spikeforge_targets::coremap::{NeuronModel, NeuronParams, ProjectionKind, SourcePool};
use spikeforge_targets::memory;
use spikeforge_targets::Target;

use super::error::{MapError, Resource};
use super::lower::{Network, Population, Projection, Synapses};
use super::sparse::Csr;

/// A slice of one projection's inputs: input channels of a convolution or columns of a
/// matrix, `[lo, hi)`.
#[derive(Clone, Copy, Debug)]
struct Part {
    q: usize,
    lo: usize,
    hi: usize,
}

/// Inputs one neuron of `p` receives at most, per unit of each incoming projection
/// (an input channel of a convolution: `kh·kw`; a column: 1), with the unit counts.
fn units(net: &Network, incoming: &[usize]) -> Vec<(usize, usize, u64)> {
    incoming
        .iter()
        .map(|&q| match &net.projections[q].synapses {
            Synapses::Conv(g) => (q, g.c_in, (g.kernel[0] * g.kernel[1]) as u64),
            Synapses::Rows(m) => (q, m.n_cols, 1),
        })
        .collect()
}

/// The largest number of synapses into one neuron of `p`.
fn max_fan_in(net: &Network, incoming: &[usize]) -> u64 {
    let n = net.populations[net.projections[incoming[0]].target].n;
    let mut per = vec![0u64; n];
    for &q in incoming {
        match &net.projections[q].synapses {
            Synapses::Conv(g) => {
                // Every neuron of the layer has at most the full window per input channel
                // of its group; an interior one has exactly that (kernel zeros aside).
                let bound = (g.cin_per_group() * g.kernel[0] * g.kernel[1]) as u64;
                per.iter_mut().for_each(|x| *x += bound);
            }
            Synapses::Rows(m) => {
                for (t, x) in per.iter_mut().enumerate() {
                    *x += (m.start[t + 1] - m.start[t]) as u64;
                }
            }
        }
    }
    per.into_iter().max().unwrap_or(0)
}

/// The fan-in one neuron may have on the most capable core type, the resource that sets
/// it, and that type's name: distinct input events, and rows of one synapse each.
fn fan_in_limit(target: &Target) -> (u64, Resource, String, bool) {
    let mut best: Option<(u64, Resource, String, bool)> = None;
    for spec in &target.spec().core_types {
        let per_row = memory::row_bits(spec, 1, 1).unwrap_or(u64::MAX).max(1);
        let by_memory = spec.synapse_memory_bits / per_row;
        let (limit, resource) = if (spec.in_axons as u64) <= by_memory {
            (spec.in_axons as u64, Resource::InAxons)
        } else {
            (by_memory, Resource::SynapseMemory)
        };
        if best.as_ref().is_none_or(|b| limit > b.0 || (limit == b.0 && spec.partial_sums && !b.3)) {
            best = Some((limit, resource, spec.name.clone(), spec.partial_sums));
        }
    }
    best.expect("a target has a core type")
}

/// Cuts the inputs of a population into slices of at most `budget` inputs per neuron.
fn slices(unit_list: &[(usize, usize, u64)], budget: u64) -> Vec<Vec<Part>> {
    let mut out: Vec<Vec<Part>> = vec![Vec::new()];
    let mut used = 0u64;
    for &(q, n_units, per_unit) in unit_list {
        let mut lo = 0;
        while lo < n_units {
            let room = budget.saturating_sub(used) / per_unit.max(1);
            if room == 0 {
                if used == 0 {
                    // One unit alone is over the budget: it still goes in a slice by itself.
                    out.last_mut().expect("non-empty").push(Part { q, lo, hi: lo + 1 });
                    lo += 1;
                }
                out.push(Vec::new());
                used = 0;
                continue;
            }
            let hi = n_units.min(lo + room as usize);
            out.last_mut().expect("non-empty").push(Part { q, lo, hi });
            used += (hi - lo) as u64 * per_unit;
            lo = hi;
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The part of projection `p` carrying inputs `[lo, hi)`, into population `target`.
fn cut(p: &Projection, lo: usize, hi: usize, target: usize, whole: bool) -> Projection {
    if whole {
        return Projection { target, ..p.clone() };
    }
    let (synapses, ev_lo, ev_hi) = match &p.synapses {
        Synapses::Conv(g) => {
            let mut g = g.clone();
            g.in_channels = [lo, hi];
            let plane = g.input[0] * g.input[1];
            (Synapses::Conv(g), lo * plane, hi * plane)
        }
        Synapses::Rows(m) => {
            let r = Csr::from_rows(m.n_rows, m.n_cols, |t, push| {
                let (cs, vs) = m.row(t);
                for (&c, &v) in cs.iter().zip(vs) {
                    if (lo..hi).contains(&(c as usize)) {
                        push(c, v);
                    }
                }
            });
            (Synapses::Rows(r), lo, hi)
        }
    };
    let n_synapses = super::counting::synapse_count(&synapses, p.n_events);
    // Pooling entries of events outside the slice belong to the other slices.
    let pool = p.pool.as_ref().map(|pool| {
        let mut start = Vec::with_capacity(pool.start.len());
        let (mut event, mut factor) = (Vec::new(), Vec::new());
        start.push(0);
        for j in 0..pool.start.len() - 1 {
            for k in pool.start[j] as usize..pool.start[j + 1] as usize {
                if (ev_lo..ev_hi).contains(&(pool.event[k] as usize)) {
                    event.push(pool.event[k]);
                    factor.push(pool.factor[k]);
                }
            }
            start.push(event.len() as u32);
        }
        SourcePool { start, event, factor }
    });
    Projection { name: format!("{}[{lo}..{hi})", p.name), target, pool, synapses, n_synapses, ..p.clone() }
}

/// Splits every population whose fan-in exceeds a core (see the module docs).
pub fn split_fan_in(net: Network, target: &Target) -> Result<Network, MapError> {
    let (limit, resource, core_type, can_split) = fan_in_limit(target);
    let incoming = net.incoming();
    let mut plans: Vec<Option<Vec<Vec<Part>>>> = vec![None; net.populations.len()];
    for (p, inc) in incoming.iter().enumerate() {
        if inc.is_empty() {
            continue;
        }
        let fan_in = max_fan_in(&net, inc);
        if fan_in <= limit {
            continue;
        }
        if !can_split {
            return Err(MapError::FanInTooLarge {
                layer: net.populations[p].name.clone(),
                fan_in,
                limit,
                resource,
                core_type,
            });
        }
        plans[p] = Some(slices(&units(&net, inc), (limit / 2).max(1)));
    }
    if plans.iter().all(Option::is_none) {
        return Ok(net);
    }
    // New populations in order; `last[p]` is where old population p ends up.
    let mut populations: Vec<Population> = Vec::new();
    let mut first = vec![0usize; net.populations.len()];
    let mut last = vec![0usize; net.populations.len()];
    for (p, pop) in net.populations.iter().enumerate() {
        first[p] = populations.len();
        if let Some(plan) = &plans[p] {
            for k in 1..plan.len() {
                let params = NeuronParams {
                    bias: if k == 1 { pop.params.bias.clone() } else { Vec::new() },
                    ..NeuronParams::default()
                };
                populations.push(Population {
                    name: format!("{}.partial{k}", pop.name),
                    model: NeuronModel::Identity,
                    params,
                    ..pop.clone()
                });
            }
            let mut fin = pop.clone();
            fin.params.bias = Vec::new();
            populations.push(fin);
        } else {
            populations.push(pop.clone());
        }
        last[p] = populations.len() - 1;
    }
    let mut projections: Vec<Projection> = Vec::new();
    for (p, inc) in incoming.iter().enumerate() {
        let remap = |q: &Projection| Projection { source: last[q.source], target: last[q.target], ..q.clone() };
        match &plans[p] {
            None => projections.extend(inc.iter().map(|&q| remap(&net.projections[q]))),
            Some(plan) => {
                for (k, slice) in plan.iter().enumerate() {
                    let into = first[p] + k;
                    if k > 0 {
                        let n = net.populations[p].n;
                        projections.push(Projection {
                            name: format!("{}.partial{k}", net.populations[p].name),
                            nodes: Vec::new(),
                            kind: ProjectionKind::PartialSum,
                            source: into - 1,
                            target: into,
                            recurrent: false,
                            n_events: n,
                            pool: None,
                            synapses: Synapses::Rows(Csr::identity(n)),
                            n_synapses: n as u64,
                        });
                    }
                    for part in slice {
                        let q = &net.projections[part.q];
                        let whole = part.lo == 0
                            && part.hi
                                == match &q.synapses {
                                    Synapses::Conv(g) => g.c_in,
                                    Synapses::Rows(m) => m.n_cols,
                                };
                        let mut c = cut(q, part.lo, part.hi, into, whole);
                        c.source = last[q.source];
                        projections.push(c);
                    }
                }
            }
        }
    }
    Ok(Network { populations, projections, input: last[net.input], output: last[net.output] })
}
