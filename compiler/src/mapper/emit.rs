//! Emission: a placed partition → the [`CoreMap`] the simulator runs.
//!
//! Needs: the network, its partition (bins, pieces, each event's destination bins, exact
//! usage) and a placement of bins on distinct cores. Establishes everything
//! [`CoreMap::validate`] checks: cores ascending by id; per core its population ranges
//! (`groups`, in fill order), neuron coefficients per local neuron (a vector is present when
//! some neuron on the core uses it, 0 for the others; `bias` when some bias is nonzero),
//! one axon per (projection, event) with synapses on the core, ordered by projection then
//! event (stored as runs of consecutive events), its synapses ordered by target, weights
//! `f32` where lossless (a convolution's axons list none: the projection
//! carries its kernel and geometry, [`coremap::Projection::conv`]); each event's fan-out lists (core, axon) for every
//! core holding one of its targets, by core id. `usage.neurons` counts neuron-memory
//! entries (padded for a power-of-two layout), as the limit does.

use spikeforge_targets::coremap::{
    self, AxonTable, CoreMap, CoreProgram, Destination, NeuronModel, NeuronParams, Piece, SynapseTargets,
    CORE_MAP_VERSION,
};
use spikeforge_targets::{CoreId, Target};

use super::counting::Counting;
use super::lower::{Network, Synapses};
use super::partition::{Partition, Segment};
use super::sparse::Csr;
use crate::exec::Dynamics;

/// Which coefficient vectors a model reads.
fn uses(model: NeuronModel) -> [bool; 8] {
    // decay, gain, v_leak, v_threshold, v_reset, bias (decided separately), syn_decay, w_in
    match model {
        NeuronModel::Input | NeuronModel::Identity => [false; 8],
        NeuronModel::LIF => [true, true, true, true, true, false, false, false],
        NeuronModel::LI => [true, true, true, false, false, false, false, false],
        NeuronModel::IF => [false, true, false, true, true, false, false, false],
        NeuronModel::I => [false, true, false, false, false, false, false, false],
        NeuronModel::CubaLIF => [true, true, true, true, true, false, true, true],
        NeuronModel::CubaLI => [true, true, true, false, false, false, true, true],
    }
}

fn fields(p: &NeuronParams) -> [&Vec<f64>; 8] {
    [&p.decay, &p.gain, &p.v_leak, &p.v_threshold, &p.v_reset, &p.bias, &p.syn_decay, &p.w_in]
}

fn fields_mut(p: &mut NeuronParams) -> [&mut Vec<f64>; 8] {
    [
        &mut p.decay,
        &mut p.gain,
        &mut p.v_leak,
        &mut p.v_threshold,
        &mut p.v_reset,
        &mut p.bias,
        &mut p.syn_decay,
        &mut p.w_in,
    ]
}

/// Builds the core map. `placement[b]` is the core of bin `b`. Bins are emitted in fill
/// order and each projection's synapses are released (`net` keeps its populations and
/// projection headers, not their synapses) once the last bin holding its targets is done,
/// so the explicit synapses and the emitted map do not both peak at full size.
pub fn emit(
    net: &mut Network,
    part: &Partition,
    placement: &[CoreId],
    target: &Target,
    dynamics: &Dynamics,
    model: &str,
) -> CoreMap {
    let incoming = net.incoming();
    // Local offset of each bin's segments.
    let offsets: Vec<Vec<u32>> = part
        .bins
        .iter()
        .map(|b| {
            let mut off = 0;
            b.segments
                .iter()
                .map(|s| {
                    let o = off;
                    off += s.count;
                    o
                })
                .collect()
        })
        .collect();
    let populations = net
        .populations
        .iter()
        .enumerate()
        .map(|(pi, p)| coremap::Population {
            name: p.name.clone(),
            model: p.model,
            rule: p.rule,
            shape: p.shape.clone(),
            n_neurons: p.n as u32,
            pieces: part.pieces[pi]
                .iter()
                .map(|&(b, first, count)| {
                    let bin = &part.bins[b as usize];
                    let k = bin.segments.iter().position(|s| s.pop as usize == pi && s.first == first);
                    Piece {
                        core: placement[b as usize],
                        first,
                        count,
                        local_offset: offsets[b as usize][k.expect("a piece is a segment of its bin")],
                    }
                })
                .collect(),
        })
        .collect();
    let mut projections: Vec<coremap::Projection> = net
        .projections
        .iter()
        .zip(&part.dests)
        .map(|(p, d)| {
            // Per-event fan-out offsets from the destinations (stored per slot).
            let mut fanout_start = Vec::with_capacity(p.n_events + 1);
            fanout_start.push(0u32);
            let mut n = 0u32;
            for e in 0..p.n_events as u32 {
                if !d.start.is_empty() {
                    n += d.of(e).len() as u32;
                }
                fanout_start.push(n);
            }
            coremap::Projection {
                name: p.name.clone(),
                kind: p.kind,
                source: p.source as u32,
                target: p.target as u32,
                recurrent: p.recurrent,
                n_events: p.n_events as u32,
                pool: p.pool.clone(),
                fanout: vec![Destination { core: CoreId(0), axon: 0 }; n as usize],
                fanout_start,
                conv: p.synapses.conv().map(|g| g.to_map()),
            }
        })
        .collect();
    let mut cursor: Vec<Vec<u32>> =
        projections.iter().map(|p| p.fanout_start[..p.n_events as usize].to_vec()).collect();
    let mut scratch: Vec<Vec<u32>> = vec![Vec::new(); net.projections.len()];
    let mut touched: Vec<u32> = Vec::new();
    // Projections to release after each bin: those whose targets end there.
    let mut release: Vec<Vec<usize>> = vec![Vec::new(); part.bins.len()];
    for (q, p) in net.projections.iter().enumerate() {
        if let Some(last) = part.pieces[p.target].iter().map(|x| x.0 as usize).max() {
            release[last].push(q);
        }
    }
    // Which projections are counted per position (decided once: it reads the kernel).
    let positions: Vec<bool> = net
        .projections
        .iter()
        .map(|p| matches!(Counting::of(&p.synapses, p.n_events), Counting::Positions(_)))
        .collect();
    let mut cores = Vec::with_capacity(part.bins.len());
    for b in 0..part.bins.len() {
        let bin = &part.bins[b];
        let core = placement[b];
        let mut groups = Vec::with_capacity(bin.segments.len());
        let mut params = NeuronParams::default();
        let mut axons = AxonTable::default();
        // Weights in f64 while the core is filled; stored as f32 where lossless at the end.
        let mut weights: Vec<f64> = Vec::new();
        let mut targets: Vec<u32> = Vec::new();
        let n_local: usize = bin.segments.iter().map(|s| s.count as usize).sum();
        // Which vectors this core needs.
        let mut need = [false; 8];
        for s in &bin.segments {
            let p = &net.populations[s.pop as usize];
            for (k, u) in uses(p.model).into_iter().enumerate() {
                need[k] |= u;
            }
            let bias = &p.params.bias;
            need[5] |=
                !bias.is_empty() && bias[s.first as usize..(s.first + s.count) as usize].iter().any(|&v| v != 0.0);
        }
        for (k, v) in fields_mut(&mut params).into_iter().enumerate() {
            if need[k] {
                v.reserve(n_local);
            }
        }
        for s in &bin.segments {
            let pi = s.pop as usize;
            let pop = &net.populations[pi];
            groups.push((s.pop, s.first, s.count));
            let range = s.first as usize..(s.first + s.count) as usize;
            let src = fields(&pop.params);
            for (k, dst) in fields_mut(&mut params).into_iter().enumerate() {
                if !need[k] {
                    continue;
                }
                if src[k].is_empty() {
                    dst.resize(dst.len() + s.count as usize, 0.0);
                } else {
                    dst.extend_from_slice(&src[k][range.clone()]);
                }
            }
        }
        // Axons per population on the core (its segments together: one axon per event).
        let mut done_pops: Vec<u32> = Vec::new();
        for s0 in &bin.segments {
            if done_pops.contains(&s0.pop) {
                continue;
            }
            done_pops.push(s0.pop);
            let pi = s0.pop as usize;
            let segs: Vec<(usize, &Segment)> =
                bin.segments.iter().enumerate().filter(|(_, s)| s.pop == s0.pop).collect();
            for &q in &incoming[pi] {
                let syn = &net.projections[q].synapses;
                if scratch[q].is_empty() {
                    scratch[q] = vec![0; net.projections[q].n_events];
                }
                let cnt = &mut scratch[q];
                // A convolution's synapses stay in its kernel: its axons list none, and
                // only which events reach the core is needed, found per slot.
                let symbolic = syn.conv().is_some();
                let counting = match (syn.conv(), positions[q]) {
                    (Some(g), true) => Counting::Positions(g),
                    _ => Counting::Events { synapses: syn, n_events: net.projections[q].n_events },
                };
                match (symbolic, counting) {
                    (true, Counting::Positions(_)) => {
                        let mut slots: Vec<u32> = Vec::new();
                        for (_, s) in &segs {
                            for t in s.first as usize..(s.first + s.count) as usize {
                                counting.for_slots(t, |sl| {
                                    if cnt[sl as usize] == 0 {
                                        slots.push(sl);
                                        cnt[sl as usize] = 1;
                                    }
                                });
                            }
                        }
                        for &sl in &slots {
                            cnt[sl as usize] = 0;
                        }
                        for &sl in &slots {
                            counting.for_events_of_slot(sl, |e| touched.push(e));
                        }
                        touched.sort_unstable();
                        for &e in &touched {
                            cnt[e as usize] = 1;
                        }
                    }
                    _ => {
                        for (_, s) in &segs {
                            for t in s.first as usize..(s.first + s.count) as usize {
                                syn.for_target(t, |e, _| {
                                    if cnt[e as usize] == 0 {
                                        touched.push(e);
                                    }
                                    cnt[e as usize] += 1;
                                });
                            }
                        }
                        touched.sort_unstable();
                    }
                }
                let mut pos = targets.len() as u32;
                for &e in &touched {
                    let c = cnt[e as usize];
                    let a = axons.push(q as u32, e, (!symbolic).then_some(c));
                    cnt[e as usize] = pos;
                    if !symbolic {
                        pos += c;
                    }
                    let slot = &mut cursor[q][e as usize];
                    projections[q].fanout[*slot as usize] = Destination { core, axon: a };
                    *slot += 1;
                }
                if symbolic {
                    for &e in &touched {
                        cnt[e as usize] = 0;
                    }
                    touched.clear();
                    continue;
                }
                targets.resize(pos as usize, 0);
                weights.resize(pos as usize, 0.0);
                let (tg, wt) = (&mut targets, &mut weights);
                // Targets ascending by local index within each axon: segments in local order.
                for &(si, s) in &segs {
                    let local0 = offsets[b][si];
                    for t in s.first as usize..(s.first + s.count) as usize {
                        let local = local0 + (t - s.first as usize) as u32;
                        syn.for_target(t, |e, w| {
                            let p = &mut cnt[e as usize];
                            tg[*p as usize] = local;
                            wt[*p as usize] = w;
                            *p += 1;
                        });
                    }
                }
                for &e in &touched {
                    cnt[e as usize] = 0;
                }
                touched.clear();
            }
        }
        axons.syn_target = SynapseTargets::from_u32(targets);
        axons.syn_weight = coremap::SynapseWeights::from_f64(weights);
        cores.push(CoreProgram { core, groups, params, axons, usage: bin.usage });
        for &q in &release[b] {
            net.projections[q].synapses = Synapses::Rows(Csr::empty(0, 0));
            scratch[q] = Vec::new();
        }
    }
    cores.sort_by_key(|c| c.core);
    for p in projections.iter_mut() {
        for e in 0..p.n_events as usize {
            let (a, z) = (p.fanout_start[e] as usize, p.fanout_start[e + 1] as usize);
            p.fanout[a..z].sort_by_key(|d| d.core);
        }
    }
    CoreMap {
        version: CORE_MAP_VERSION,
        target: target.spec().clone(),
        model: model.to_string(),
        dynamics: dynamics.to_map(),
        populations,
        projections,
        cores,
        input: net.input as u32,
        output: net.output as u32,
    }
}
