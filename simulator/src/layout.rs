//! Set-up: the static tables the functional pass and the timing engine index into.
//!
//! Built once per run from a validated core map, borrowing its synapse arrays (no copy):
//!
//! * **Units.** A unit is the part of one population held by one core (one or more of the
//!   core's local groups). It is the grain of scheduling: a unit updates its neurons once
//!   per step, in the order of its ranges, injecting each neuron's packets right after
//!   the neuron's update (see [`crate::processor`]).
//! * **Event owners.** The unit that emits an event: the unit of the source neuron, or for
//!   source-side pooling the unit of the highest-numbered source neuron pooled into it
//!   (the pooled value is charged to that unit; a mapper should align pooling windows with
//!   pieces, as Speck does, since partial sums crossing cores are not modelled).
//! * **Dependencies.** Unit `v` depends on unit `u` when a forward projection carries an
//!   event owned by `u` to `v`'s core: `v` may update only after `u` has injected all its
//!   packets (the wave order of a time step).
//! * **Delayed projections.** A projection whose events reach their target in the next
//!   step: a recurrent one, or in pipelined timing ([`TimingMode::Pipelined`]) every one
//!   but a partial sum (which chains a neuron's input within the step). Delayed
//!   projections create no dependencies.
//! * **Geometry.** Global router (tile) of each used core and the links between routers.

use std::collections::HashMap;

use rayon::prelude::*;

use spikeforge_targets::conv_synapses::{ChannelRun, ConvSynapses};
use spikeforge_targets::coremap::{AxonRun, CoreMap, CoreProgram, NeuronModel, ProjectionKind};
use spikeforge_targets::mesh::CoreId;
use spikeforge_targets::{Target, TimingMode};

use crate::conv_event::{for_conv_event, TapTable};
use crate::SimError;

pub(crate) const NONE: u32 = u32::MAX;

/// A population's neurons on one core.
#[derive(Clone, Debug)]
pub(crate) struct Unit {
    /// Index into `map.cores`.
    pub core: u32,
    pub pop: u32,
    /// (first population neuron, count, local offset on the core).
    pub ranges: Vec<(u32, u32, u32)>,
    pub neurons: u32,
}

/// A directed link leaving a router, by direction 0 = east, 1 = west, 2 = north, 3 = south.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Link {
    /// The router it reaches, or NONE at the edge of the mesh.
    pub to: u32,
    pub latency: u32,
    /// Cycles the link is occupied by one packet: ⌈packet_bits / bits_per_cycle⌉.
    pub ser: u32,
    /// 0 east-west, 1 north-south, 2 chip-to-chip.
    pub kind: u8,
}

pub(crate) struct Layout<'m> {
    pub map: &'m CoreMap,
    pub target: Target,
    /// Per projection: its events reach the target in the next step (see the module docs).
    pub delayed: Vec<bool>,
    /// Tiles (routers) holding at least one used core.
    pub tiles_used: u32,
    /// Flat neuron index of each core's local neuron 0.
    pub core_base: Vec<u32>,
    pub n_flat: usize,
    /// Index into `map.cores` of each target core id, NONE when unused.
    pub core_index: Vec<u32>,
    pub units: Vec<Unit>,
    pub pop_units: Vec<Vec<u32>>,
    /// Per population, the unit of each neuron (empty for the input population).
    pub unit_of_neuron: Vec<Vec<u32>>,
    pub proj_into: Vec<Vec<u32>>,
    pub proj_from: Vec<Vec<u32>>,
    /// Per population, each neuron's position in its unit's update order (the order of
    /// the unit's ranges; empty for the input population).
    pub pos_of_neuron: Vec<Vec<u32>>,
    /// Per pooled projection, the owner unit of each event (empty when unpooled).
    pub event_owner: Vec<Vec<u32>>,
    /// Per pooled projection, the position in its owner unit of the neuron that completes
    /// each event (the highest-numbered source neuron pooled into it).
    pub event_pos: Vec<Vec<u32>>,
    /// Per core, per axon: the unit its synapses feed.
    pub axon_unit: Vec<Vec<u32>>,
    /// Per core, per axon: synapses with a nonzero weight (NeuroBench counting).
    pub axon_nnz: Vec<Vec<u32>>,
    /// Per core, per axon: stored synapses (explicit ones, or a symbolic convolution's
    /// nonzero kernel synapses into the core's neurons).
    pub axon_len: Vec<Vec<u32>>,
    /// Per core: for each symbolic convolution with axons there, its target neurons on the
    /// core by channel (see `ConvSynapses::channel_runs`).
    pub conv_runs: Vec<Vec<(u32, Vec<ChannelRun>)>>,
    /// Per projection: the kernel taps of each input position (symbolic convolutions only).
    pub conv_taps: Vec<Option<TapTable>>,
    /// Dependencies as CSR: `downstream[down_start[u]..down_start[u+1]]`.
    pub down_start: Vec<u32>,
    pub downstream: Vec<u32>,
    pub n_upstream: Vec<u32>,
    /// Spiking populations in order (the columns of per-layer spike counts).
    pub spiking: Vec<u32>,
    /// Global tile grid size and, per used core, its router and slot.
    pub grid: [u32; 2],
    pub core_router: Vec<u32>,
    pub core_slot: Vec<u32>,
    /// Per router × 4 directions.
    pub links: Vec<Link>,
    /// Core index at (router, slot), NONE when unused.
    pub slot_core: Vec<u32>,
}

impl<'m> Layout<'m> {
    pub fn new(map: &'m CoreMap, timing: TimingMode) -> Result<Layout<'m>, SimError> {
        map.validate().map_err(SimError::InvalidMap)?;
        let target = Target::from_spec(map.target.clone(), "embedded target")
            .map_err(|e| SimError::InvalidMap(e.to_string()))?;
        for pr in &map.projections {
            if !pr.recurrent && pr.source >= pr.target {
                return Err(SimError::BackwardProjection { name: pr.name.clone(), from: pr.source, to: pr.target });
            }
            if pr.target == map.input {
                return Err(SimError::InvalidMap(format!("projection `{}` targets the input population", pr.name)));
            }
        }
        let delayed: Vec<bool> = map
            .projections
            .iter()
            .map(|pr| pr.recurrent || (timing == TimingMode::Pipelined && pr.kind != ProjectionKind::PartialSum))
            .collect();
        let n_pops = map.populations.len();
        let mut core_index = vec![NONE; target.num_cores() as usize];
        let mut core_base = Vec::with_capacity(map.cores.len());
        let mut n_flat = 0usize;
        for (i, c) in map.cores.iter().enumerate() {
            core_index[c.core.index()] = i as u32;
            core_base.push(n_flat as u32);
            n_flat += c.n_neurons() as usize;
        }
        if n_flat > u32::MAX as usize / 2 {
            return Err(SimError::InvalidMap(format!("{n_flat} neurons exceed the simulator's 2^31 limit")));
        }
        // Units: one per (core, population), in core order then first appearance.
        let mut units: Vec<Unit> = Vec::new();
        let mut unit_at: HashMap<(u32, u32), u32> = HashMap::new();
        for (ci, c) in map.cores.iter().enumerate() {
            let mut off = 0u32;
            for &(pop, first, count) in &c.groups {
                let u = *unit_at.entry((ci as u32, pop)).or_insert_with(|| {
                    units.push(Unit { core: ci as u32, pop, ranges: Vec::new(), neurons: 0 });
                    units.len() as u32 - 1
                });
                let unit = &mut units[u as usize];
                unit.ranges.push((first, count, off));
                unit.neurons += count;
                off += count;
            }
        }
        let mut pop_units = vec![Vec::new(); n_pops];
        for (u, unit) in units.iter().enumerate() {
            pop_units[unit.pop as usize].push(u as u32);
        }
        let mut unit_of_neuron = Vec::with_capacity(n_pops);
        for (pi, pop) in map.populations.iter().enumerate() {
            if pop.model == NeuronModel::Input {
                unit_of_neuron.push(Vec::new());
                continue;
            }
            let mut of = vec![NONE; pop.n_neurons as usize];
            for piece in &pop.pieces {
                let ci = core_index[piece.core.index()];
                let u = unit_at[&(ci, pi as u32)];
                of[piece.first as usize..(piece.first + piece.count) as usize].fill(u);
            }
            unit_of_neuron.push(of);
        }
        let mut pos_of_neuron: Vec<Vec<u32>> = unit_of_neuron.iter().map(|of| vec![0; of.len()]).collect();
        for unit in &units {
            let mut pos = 0;
            for &(first, count, _) in &unit.ranges {
                for n in first..first + count {
                    pos_of_neuron[unit.pop as usize][n as usize] = pos;
                    pos += 1;
                }
            }
        }
        let mut proj_into = vec![Vec::new(); n_pops];
        let mut proj_from = vec![Vec::new(); n_pops];
        for (j, pr) in map.projections.iter().enumerate() {
            proj_into[pr.target as usize].push(j as u32);
            proj_from[pr.source as usize].push(j as u32);
        }
        let (event_owner, event_pos): (Vec<Vec<u32>>, Vec<Vec<u32>>) = map
            .projections
            .iter()
            .map(|pr| match &pr.pool {
                Some(pool) if pr.source != map.input => {
                    let of = &unit_of_neuron[pr.source as usize];
                    let at = &pos_of_neuron[pr.source as usize];
                    let mut owner = vec![NONE; pr.n_events as usize];
                    let mut pos = vec![0; pr.n_events as usize];
                    for (j, w) in pool.start.windows(2).enumerate() {
                        for &e in &pool.event[w[0] as usize..w[1] as usize] {
                            owner[e as usize] = of[j];
                            pos[e as usize] = at[j];
                        }
                    }
                    (owner, pos)
                }
                _ => (Vec::new(), Vec::new()),
            })
            .unzip();
        let conv_taps: Vec<Option<TapTable>> =
            map.projections.iter().map(|pr| pr.conv.as_ref().map(TapTable::new)).collect();
        // Per core and axon: the unit it drives, its synapses (non-zero and stored), and
        // the channel runs of its conv projections; cores in parallel (independent).
        let per_core: Vec<AxonTables> =
            map.cores.par_iter().enumerate().map(|(ci, c)| axon_tables(map, ci, c, &unit_at, &conv_taps)).collect();
        let mut axon_unit = Vec::with_capacity(map.cores.len());
        let mut axon_nnz = Vec::with_capacity(map.cores.len());
        let mut axon_len = Vec::with_capacity(map.cores.len());
        let mut conv_runs = Vec::with_capacity(map.cores.len());
        for (units_of, nnz, len, runs) in per_core {
            axon_unit.push(units_of);
            axon_nnz.push(nnz);
            axon_len.push(len);
            conv_runs.push(runs);
        }
        // Dependencies over forward projections between placed populations.
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for (j, pr) in map.projections.iter().enumerate() {
            if delayed[j] || pr.source == map.input {
                continue;
            }
            let owner_of = |e: usize| match &pr.pool {
                Some(_) => event_owner[j][e],
                None => unit_of_neuron[pr.source as usize][e],
            };
            let mut last = (NONE, NONE);
            for e in 0..pr.n_events as usize {
                let u = owner_of(e);
                if u == NONE {
                    continue;
                }
                for d in &pr.fanout[pr.fanout_start[e] as usize..pr.fanout_start[e + 1] as usize] {
                    let ci = core_index[d.core.index()];
                    let v = axon_unit[ci as usize][d.axon as usize];
                    if v != NONE && (u, v) != last {
                        edges.push((u, v));
                        last = (u, v);
                    }
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        let mut down_start = vec![0u32; units.len() + 1];
        let mut n_upstream = vec![0u32; units.len()];
        for &(u, v) in &edges {
            down_start[u as usize + 1] += 1;
            n_upstream[v as usize] += 1;
        }
        for i in 0..units.len() {
            down_start[i + 1] += down_start[i];
        }
        let downstream = edges.iter().map(|e| e.1).collect();
        let spiking = (0..n_pops as u32).filter(|&p| map.populations[p as usize].model.is_spiking()).collect();
        let (grid, core_router, core_slot, links, slot_core) = geometry(&target, map);
        let routers = grid[0] as usize * grid[1] as usize;
        if routers + 2 * map.cores.len() >= crate::engine::MAX_ENTITIES {
            return Err(SimError::InvalidMap(format!(
                "{routers} routers and {} cores exceed the simulator's {} entities",
                map.cores.len(),
                crate::engine::MAX_ENTITIES
            )));
        }
        let mut routers_used = core_router.clone();
        routers_used.sort_unstable();
        routers_used.dedup();
        Ok(Layout {
            map,
            target,
            delayed,
            tiles_used: routers_used.len() as u32,
            core_base,
            n_flat,
            core_index,
            units,
            pop_units,
            unit_of_neuron,
            proj_into,
            proj_from,
            pos_of_neuron,
            event_owner,
            event_pos,
            axon_unit,
            axon_nnz,
            axon_len,
            conv_runs,
            conv_taps,
            down_start,
            downstream,
            n_upstream,
            spiking,
            grid,
            core_router,
            core_slot,
            links,
            slot_core,
        })
    }

    /// Index into `map.cores` of a core the map uses (validated: fan-out only names used cores).
    #[inline]
    pub fn core_idx(&self, c: CoreId) -> usize {
        self.core_index[c.index()] as usize
    }

    /// The unit emitting event `e` of projection `j` (NONE for host input).
    #[inline]
    pub fn owner(&self, j: usize, e: usize) -> u32 {
        let pr = &self.map.projections[j];
        if pr.source == self.map.input {
            NONE
        } else if pr.pool.is_some() {
            self.event_owner[j][e]
        } else {
            self.unit_of_neuron[pr.source as usize][e]
        }
    }

    /// The position in its owner unit's update order of the neuron that emits event `e`
    /// of projection `j` (see [`Layout::owner`]; 0 for host input).
    #[inline]
    pub fn owner_pos(&self, j: usize, e: usize) -> u32 {
        let pr = &self.map.projections[j];
        if pr.source == self.map.input {
            0
        } else if pr.pool.is_some() {
            self.event_pos[j][e]
        } else {
            self.pos_of_neuron[pr.source as usize][e]
        }
    }

    /// The symbolic convolution of `run` (an axon run of core `c`), with the core's runs
    /// of its target neurons; None for a run with explicit synapses.
    #[inline]
    pub fn conv_of_run(&self, c: usize, run: &AxonRun) -> Option<(&ConvSynapses, &[ChannelRun])> {
        if !run.symbolic {
            return None;
        }
        let j = run.projection;
        let conv = self.map.projections[j as usize].conv.as_ref()?;
        let runs = &self.conv_runs[c].iter().find(|r| r.0 == j).expect("runs of every convolution on the core").1;
        Some((conv, runs))
    }

    /// Flat neuron indices `[start, end)` of core `c` (index into `map.cores`).
    #[inline]
    pub fn core_span(&self, c: usize) -> (usize, usize) {
        let s = self.core_base[c] as usize;
        (s, s + self.map.cores[c].n_neurons() as usize)
    }

    pub fn n_routers(&self) -> usize {
        (self.grid[0] * self.grid[1]) as usize
    }

    pub fn slots(&self) -> usize {
        self.target.spec().noc.cores_per_tile as usize
    }
}

type Geometry = ([u32; 2], Vec<u32>, Vec<u32>, Vec<Link>, Vec<u32>);

fn geometry(target: &Target, map: &CoreMap) -> Geometry {
    let spec = target.spec();
    let mesh = spec.noc.mesh;
    let grid = [spec.grid.chips[0] * mesh[0], spec.grid.chips[1] * mesh[1]];
    let slots = spec.noc.cores_per_tile;
    let n_routers = (grid[0] * grid[1]) as usize;
    let (mut core_router, mut core_slot) = (Vec::new(), Vec::new());
    let mut slot_core = vec![NONE; n_routers * slots as usize];
    for (ci, c) in map.cores.iter().enumerate() {
        let k = target.coord(c.core);
        let [x, y] = k.global_tile(mesh);
        let r = (y * grid[0] as u64 + x) as u32;
        core_router.push(r);
        core_slot.push(k.slot);
        slot_core[r as usize * slots as usize + k.slot as usize] = ci as u32;
    }
    let ser = |bits_per_cycle: u32| spec.noc.packet_bits.div_ceil(bits_per_cycle.max(1)).max(1);
    let mut links = Vec::with_capacity(n_routers * 4);
    for r in 0..n_routers as u32 {
        let (x, y) = (r % grid[0], r / grid[0]);
        for dir in 0..4 {
            let (nx, ny, along, m) = match dir {
                0 => (x as i64 + 1, y as i64, x, mesh[0]),
                1 => (x as i64 - 1, y as i64, x, mesh[0]),
                2 => (x as i64, y as i64 + 1, y, mesh[1]),
                _ => (x as i64, y as i64 - 1, y, mesh[1]),
            };
            if nx < 0 || ny < 0 || nx >= grid[0] as i64 || ny >= grid[1] as i64 {
                links.push(Link { to: NONE, latency: 0, ser: 1, kind: 0 });
                continue;
            }
            let next = if dir < 2 { nx as u32 } else { ny as u32 };
            let chip = along / m != next / m;
            let link = if chip {
                Link {
                    to: ny as u32 * grid[0] + nx as u32,
                    latency: spec.grid.chip_link_cycles,
                    ser: ser(spec.grid.chip_link_bits_per_cycle),
                    kind: 2,
                }
            } else if dir < 2 {
                Link {
                    to: ny as u32 * grid[0] + nx as u32,
                    latency: spec.noc.link_cycles_ew,
                    ser: ser(spec.noc.link_bits_per_cycle),
                    kind: 0,
                }
            } else {
                Link {
                    to: ny as u32 * grid[0] + nx as u32,
                    latency: spec.noc.link_cycles_ns,
                    ser: ser(spec.noc.link_bits_per_cycle),
                    kind: 1,
                }
            };
            links.push(link);
        }
    }
    (grid, core_router, core_slot, links, slot_core)
}

/// One core's axon tables: per axon the unit it drives, its non-zero and stored synapses,
/// and the channel runs of the core's conv projections.
type AxonTables = (Vec<u32>, Vec<u32>, Vec<u32>, Vec<(u32, Vec<ChannelRun>)>);

fn axon_tables(
    map: &CoreMap,
    ci: usize,
    c: &CoreProgram,
    unit_at: &HashMap<(u32, u32), u32>,
    conv_taps: &[Option<TapTable>],
) -> AxonTables {
    let a = &c.axons;
    let n_ax = a.len();
    let mut units_of = vec![NONE; n_ax];
    let mut runs: Vec<(u32, Vec<ChannelRun>)> = Vec::new();
    let mut nnz = vec![0u32; n_ax];
    let mut len = vec![0u32; n_ax];
    for (ax, axon) in a.iter() {
        let ax = ax as usize;
        let j = axon.projection;
        let pr = &map.projections[j as usize];
        units_of[ax] = unit_at.get(&(ci as u32, pr.target)).copied().unwrap_or(NONE);
        match (&pr.conv, &conv_taps[j as usize], axon.synapses) {
            (Some(conv), Some(taps), None) => {
                let k = match runs.iter().position(|r| r.0 == j) {
                    Some(k) => k,
                    None => {
                        runs.push((j, conv.channel_runs(&c.ranges_of(pr.target))));
                        runs.len() - 1
                    }
                };
                let mut n = 0;
                for_conv_event(conv, taps, &runs[k].1, axon.event, |_, _| n += 1);
                (nnz[ax], len[ax]) = (n, n);
            }
            (_, _, syn) => {
                let syn = syn.unwrap_or(0..0);
                nnz[ax] = syn.clone().filter(|&k| a.syn_weight.get(k) != 0.0).count() as u32;
                len[ax] = syn.len() as u32;
            }
        }
    }
    (units_of, nnz, len, runs)
}
