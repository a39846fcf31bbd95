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
//!
//! On cores that share convolution weights and chain partial sums, a convolution may be
//! chained below the hard limit: a core's in-axons are its input patch times the input
//! channels per link, so with hundreds of channels a core holds a tile of a few positions,
//! and its sources reach many cores. [`preferred_budget`] picks the link width that a tile
//! model says needs the fewest cores (the same chain, so results stay exact): links of
//! even width, each a block of output channels (an even share whose kernels fit) × a tile,
//! a chained link also receiving one partial sum per neuron, plus the out-axons that the
//! links' inputs take on the source's cores.

use spikeforge_targets::coremap::{NeuronModel, NeuronParams, ProjectionKind, SourcePool};
use spikeforge_targets::memory;
use spikeforge_targets::{CoreSpec, NeuronLayout, Target};

use super::error::{MapError, Resource};
use super::lower::{Network, Population, Projection, Synapses};
use super::sparse::{ConvGeom, Csr};

/// A slice of one projection's inputs: input channels of a convolution or columns of a
/// matrix, `[lo, hi)`.
#[derive(Clone, Copy, Debug)]
struct Part {
    q: usize,
    lo: usize,
    hi: usize,
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

/// The running fan-in of one neuron chain's current slice: a bound every neuron shares
/// (a convolution's full window per input channel) plus exact per-neuron counts (matrix
/// columns), so a matrix whose rows are short (an identity shortcut) is cut by what each
/// neuron receives, not by its column count.
struct SliceFill {
    uniform: u64,
    per_neuron: Vec<u32>,
    touched: Vec<u32>,
    max_neuron: u64,
    parts: Vec<Vec<Part>>,
}

impl SliceFill {
    fn used(&self) -> u64 {
        self.uniform + self.max_neuron
    }

    /// Closes the current slice (if it holds anything) and starts an empty one.
    fn cut(&mut self) {
        for &t in &self.touched {
            self.per_neuron[t as usize] = 0;
        }
        self.touched.clear();
        (self.uniform, self.max_neuron) = (0, 0);
        if self.parts.last().is_some_and(|s| !s.is_empty()) {
            self.parts.push(Vec::new());
        }
    }

    /// Appends unit `u` of projection `q` to the current slice.
    fn push(&mut self, q: usize, u: usize) {
        let last = self.parts.last_mut().expect("non-empty");
        match last.last_mut() {
            Some(p) if p.q == q && p.hi == u => p.hi = u + 1,
            _ => last.push(Part { q, lo: u, hi: u + 1 }),
        }
    }
}

/// Cuts the inputs of a population into slices of at most `budget` inputs per neuron, in
/// the executor's order: a convolution by input channels (`kh·kw` inputs to every neuron
/// each), a matrix by columns (counted per neuron from its rows). A unit over the budget
/// on its own still gets a slice by itself.
fn slices(net: &Network, incoming: &[usize], n_neurons: usize, budget: u64) -> Vec<Vec<Part>> {
    let mut f = SliceFill {
        uniform: 0,
        per_neuron: vec![0; n_neurons],
        touched: Vec::new(),
        max_neuron: 0,
        parts: vec![Vec::new()],
    };
    for &q in incoming {
        match &net.projections[q].synapses {
            Synapses::Conv(g) => {
                let per_unit = (g.kernel[0] * g.kernel[1]) as u64;
                for c in 0..g.c_in {
                    if f.used() + per_unit > budget {
                        f.cut();
                    }
                    f.uniform += per_unit;
                    f.push(q, c);
                }
            }
            Synapses::Rows(m) => {
                let by_column = m.transpose();
                for c in 0..m.n_cols {
                    let (rows, _) = by_column.row(c);
                    let over =
                        |f: &SliceFill| rows.iter().any(|&t| f.uniform + f.per_neuron[t as usize] as u64 + 1 > budget);
                    if over(&f) {
                        f.cut();
                    }
                    for &t in rows {
                        let n = &mut f.per_neuron[t as usize];
                        if *n == 0 {
                            f.touched.push(t);
                        }
                        *n += 1;
                        f.max_neuron = f.max_neuron.max(*n as u64);
                    }
                    f.push(q, c);
                }
            }
        }
    }
    let mut out = f.parts;
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

/// Output neurons one core holds of a convolution `g` fed `c_s` input channels per neuron,
/// by a tile model of a weight-sharing core: a block of `B` output channels × a tile of
/// output positions whose input patch, times `c_s`, fits the in-axons; `B` kernels fit the
/// synapse memory (`B` an even share of the channels) and `B` × tile the neurons. A
/// `chained` link also receives the previous link's partial sum, one in-axon per neuron it
/// holds. Returns the neurons and the patch (input events the core receives from `g`).
fn tile_neurons(spec: &CoreSpec, g: &ConvGeom, c_s: usize, chained: bool) -> (u64, u64) {
    let [ho, wo] = g.output;
    let reach = |t: usize, d: usize| ((t - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1).min(g.input[d]);
    let kernel_fits = |b: u64| {
        let shape = memory::Conv2d {
            in_channels: c_s as u64,
            out_channels: b,
            input: [g.input[0] as u64, g.input[1] as u64],
            kernel: [g.kernel[0] as u64, g.kernel[1] as u64],
            stride: [g.stride[0] as u64, g.stride[1] as u64],
            padding: [g.padding[0] as u64, g.padding[1] as u64],
        };
        memory::conv_kernel_bits_shared(spec, &shape).is_ok_and(|bits| bits <= spec.synapse_memory_bits)
    };
    // The most output channels whose kernels fit (bisection on a monotone test).
    let (mut lo, mut hi) = (0u64, g.c_out as u64);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if kernel_fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    // Channels are cut into even blocks (as the fill's tilings do).
    let by_memory = match lo {
        0 => 0,
        _ => (g.c_out as u64).div_ceil((g.c_out as u64).div_ceil(lo)),
    };
    let mut best = (0u64, 0u64);
    for th in 1..=ho {
        for tw in 1..=wo {
            let patch = (c_s * reach(th, 0) * reach(tw, 1)) as u64;
            if patch > spec.in_axons as u64 {
                break;
            }
            let t = (th * tw) as u64;
            let by_axons = if chained { (spec.in_axons as u64 - patch) / t } else { u64::MAX };
            let b = by_memory.min(spec.max_neurons as u64 / t).min(by_axons);
            if b * t > best.0 || (b * t == best.0 && patch < best.1) {
                best = (b * t, patch);
            }
        }
    }
    best
}

/// On cores that share convolution weights and chain partial sums, the input channels per
/// neuron chain link that need the fewest cores for population `p` by [`tile_neurons`]
/// (links × cores per link), when that is fewer than a core's input allows: many input
/// channels make each core's input patch — and so its tile — tiny, while a narrower link
/// lets a core hold a whole block of channels over a wide tile (and a source event reach
/// few cores). The budget in inputs per neuron; None to leave `p` as the hard limit needs.
fn preferred_budget(net: &Network, incoming: &[usize], spec: &CoreSpec, limit: u64) -> Option<u64> {
    if !(spec.weight_sharing && spec.partial_sums && spec.neuron_layout == NeuronLayout::Exact) {
        return None;
    }
    // The convolution with the most inputs per neuron sets the model.
    let g = incoming
        .iter()
        .filter_map(|&q| net.projections[q].synapses.conv())
        .filter(|g| g.kernel[0] * g.kernel[1] > 1 && g.groups == 1)
        .max_by_key(|g| g.c_in * g.kernel[0] * g.kernel[1])?;
    let area = (g.kernel[0] * g.kernel[1]) as u64;
    let widest = ((limit / 2).max(1) / area).max(1).min(g.c_in as u64) as usize;
    // Links of at most `c_s` channels are cut evenly: `links` links of `even` channels.
    let even = |c_s: usize| g.c_in.div_ceil(g.c_in.div_ceil(c_s));
    // Cores of the links, plus the out-axons their inputs take on the source's cores
    // (every patch event is sent to the core, every partial sum once) in cores.
    let cores = |c_s: usize| {
        let (links, c_e) = (g.c_in.div_ceil(c_s) as u64, even(c_s));
        let n = g.n_out() as u64;
        let link = |chained: bool| {
            let (per_core, patch) = tile_neurons(spec, g, c_e, chained);
            let k = n.div_ceil(per_core.max(1));
            (k, k.saturating_mul(patch))
        };
        let ((k1, sent1), (kc, sentc)) = (link(false), link(true));
        let chained = links.saturating_sub(1);
        let sent = sent1.saturating_add(chained.saturating_mul(sentc.saturating_add(n)));
        k1.saturating_add(chained.saturating_mul(kc)).saturating_add(sent.div_ceil((spec.out_axons as u64).max(1)))
    };
    // Whole input (no chain) when it fits, else the widest slice the hard limit allows.
    let mut best_c = if g.c_in as u64 * area <= limit { g.c_in } else { widest };
    let mut best = cores(best_c);
    let mut c_s = best_c;
    while c_s > 1 {
        c_s = c_s.div_ceil(2);
        let n = cores(c_s);
        // A narrower link must save a tenth of the cores: links add relay traffic.
        if n * 10 < best * 9 {
            (best_c, best) = (c_s, n);
        }
    }
    let best_c = even(best_c);
    (best_c < g.c_in && best_c as u64 * area < limit).then_some((best_c as u64 * area).max(1))
}

/// Splits every population whose fan-in exceeds a core (see the module docs), and on
/// weight-sharing cores with partial sums, a convolution whose cores a narrower chain link
/// would cut ([`preferred_budget`]).
pub fn split_fan_in(net: Network, target: &Target) -> Result<Network, MapError> {
    let (limit, resource, core_type, can_split) = fan_in_limit(target);
    let spec = target.spec().core_types.iter().find(|t| t.name == core_type).expect("the limit's core type");
    let incoming = net.incoming();
    let mut plans: Vec<Option<Vec<Vec<Part>>>> = vec![None; net.populations.len()];
    for (p, inc) in incoming.iter().enumerate() {
        if inc.is_empty() {
            continue;
        }
        let fan_in = max_fan_in(&net, inc);
        if let Some(budget) = preferred_budget(&net, inc, spec, limit).filter(|_| can_split) {
            plans[p] = Some(slices(&net, inc, net.populations[p].n, budget));
            continue;
        }
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
        plans[p] = Some(slices(&net, inc, net.populations[p].n, (limit / 2).max(1)));
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
