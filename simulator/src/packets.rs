//! Packets of a step: this step's events turned into packets, destinations and the
//! per-unit outboxes (see [`crate::engine`] for unicast, multicast, loopback and host
//! packets).

use crate::engine::{Copy, Dest, Engine, Packet, StepTiming, EV_ROUTE, T_NONE};
use crate::layout::{Layout, NONE};

impl Engine {
    /// Turns this step's events into packets and schedules what can start at cycle 0.
    /// `pool_ops`, `active` and `spikes`: per unit, the pooling operations, active neurons
    /// and spikes of this step's functional pass (charged to the unit's update);
    /// `flags` and `neuron_pool_ops` the same per population and neuron (see
    /// [`crate::func::Functional`]), which place each packet in its unit's update.
    #[allow(clippy::too_many_arguments)]
    pub fn load_step(
        &mut self,
        lay: &Layout,
        events: &[Vec<(u32, f64)>],
        pool_ops: &[u64],
        active: &[u64],
        spikes: &[u64],
        flags: &[Vec<u32>],
        neuron_pool_ops: &[Vec<u32>],
    ) {
        let m = lay.map;
        self.st = StepTiming::default();
        self.step_link_busy.fill(0);
        self.seq = 0;
        self.queue.clear();
        self.dests.clear();
        self.packets.clear();
        // Copies and owners are freed each step (see below), so an engine holds one of
        // them at a time.
        self.copies = Vec::new();
        self.owners = Vec::new();
        self.core_finish.fill(0);
        self.pending.fill(0);
        self.upstream_left.copy_from_slice(&lay.n_upstream);
        self.unit_state.fill(0);
        self.unit_updated.fill(0);
        self.unit_pool_ops.copy_from_slice(pool_ops);
        for (u, x) in self.unit_extra.iter_mut().enumerate() {
            *x = self.neuron_active * active[u] + self.spike_cycles * spikes[u];
        }
        for c in &mut self.cores {
            c.reset();
        }
        for p in &mut self.outp {
            p.busy_until = 0;
            p.try_at = T_NONE;
            p.blocked_since = T_NONE;
        }
        // Vectors sized exactly (at most one packet and one destination per fan-out
        // entry): they keep their capacity from step to step, and one engine per step of
        // a round holds them.
        let entries: usize = m
            .projections
            .iter()
            .zip(events)
            .map(|(pr, ev)| {
                ev.iter()
                    .map(|&(e, _)| (pr.fanout_start[e as usize + 1] - pr.fanout_start[e as usize]) as usize)
                    .sum::<usize>()
            })
            .sum();
        self.dests.reserve_exact(entries);
        self.packets.reserve_exact(entries);
        self.owners.reserve_exact(entries);
        for (j, pr) in m.projections.iter().enumerate() {
            let from_host = pr.source == m.input;
            for &(e, _) in &events[j] {
                let e = e as usize;
                let fo = &pr.fanout[pr.fanout_start[e] as usize..pr.fanout_start[e + 1] as usize];
                let owner = if from_host { NONE } else { lay.owner(j, e) };
                let pos = if from_host { 0 } else { lay.owner_pos(j, e) };
                let src_core = if owner == NONE { NONE } else { lay.units[owner as usize].core };
                let synop = self.synop_by_kind[crate::func::kind_index(pr.kind)];
                let dest_of = |d: &spikeforge_targets::coremap::Destination| {
                    let c = lay.core_idx(d.core);
                    let a = d.axon as usize;
                    let unit = if lay.delayed[j] { NONE } else { lay.axon_unit[c][a] };
                    Dest::new(c as u32, synop * lay.axon_len[c][a] as u64, unit, pr.target)
                };
                if from_host || !self.multicast {
                    for d in fo {
                        let dest = dest_of(d);
                        self.add_dests(&[dest]);
                        let start = self.dests.len() as u32 - 1;
                        if from_host {
                            let r = lay.core_router[dest.core as usize] as usize;
                            let port = r * self.n_in + self.n_in - 1;
                            self.copies.push(Copy { dest_start: start, dest_len: 1, arrive: 0, born: T_NONE });
                            self.inp[port].fifo.push_back(self.copies.len() as u32 - 1);
                            if self.inp[port].fifo.len() == 1 {
                                self.push(self.router_cycles, r as u64, EV_ROUTE, port);
                            }
                            self.st.host_packets += 1;
                        } else {
                            self.add_packet(lay, owner, pos, start, 1, dest.core == src_core);
                        }
                    }
                } else {
                    // Multicast: one network packet for the other cores (adjacent entries
                    // for one core merged), one loopback packet for the sending core.
                    let start = self.dests.len();
                    let mut local: Option<Dest> = None;
                    for d in fo {
                        let dest = dest_of(d);
                        if dest.core == src_core {
                            match &mut local {
                                Some(l) => l.add_synop_cycles(dest.synop_cycles()),
                                None => local = Some(dest),
                            }
                        } else if let Some(last) = self.dests[start..].last_mut().filter(|l| l.core == dest.core) {
                            last.add_synop_cycles(dest.synop_cycles());
                        } else {
                            self.add_dests(&[dest]);
                        }
                    }
                    let n = self.dests.len() - start;
                    if n > 0 {
                        self.add_packet(lay, owner, pos, start as u32, n as u32, false);
                    }
                    if let Some(l) = local {
                        self.add_dests(&[l]);
                        self.add_packet(lay, owner, pos, self.dests.len() as u32 - 1, 1, true);
                    }
                }
            }
        }
        // Outboxes: packets grouped by owner unit, in the unit's update order of their
        // neurons, then generation order (stable).
        let n_units = lay.units.len();
        self.out_start.fill(0);
        for &(u, _, _) in &self.owners {
            self.out_start[u as usize + 1] += 1;
        }
        for i in 0..n_units {
            self.out_start[i + 1] += self.out_start[i];
        }
        let n_out = self.owners.len();
        for v in [&mut self.out_pkts, &mut self.out_pos] {
            v.reserve_exact(n_out.saturating_sub(v.len()));
            v.resize(n_out, 0);
        }
        let mut fill = self.out_start.clone();
        for &(u, pos, p) in &self.owners {
            let k = fill[u as usize] as usize;
            (self.out_pkts[k], self.out_pos[k]) = (p, pos);
            fill[u as usize] += 1;
        }
        // The packets in flight take the owners' place (host packets are already there).
        self.owners = Vec::new();
        self.copies.reserve_exact(entries.saturating_sub(self.copies.len()));
        for u in 0..n_units {
            let (s, e) = (self.out_start[u] as usize, self.out_start[u + 1] as usize);
            if !self.out_pos[s..e].is_sorted() {
                let mut both: Vec<(u32, u32)> =
                    self.out_pos[s..e].iter().copied().zip(self.out_pkts[s..e].iter().copied()).collect();
                both.sort_by_key(|&(pos, _)| pos);
                for (k, (pos, p)) in both.into_iter().enumerate() {
                    (self.out_pos[s + k], self.out_pkts[s + k]) = (pos, p);
                }
            }
        }
        self.out_pre.reserve_exact(n_out.saturating_sub(self.out_pre.len()));
        self.out_pre.resize(n_out, 0);
        if self.track_updates {
            self.out_at.resize(n_out, 0);
        }
        for u in 0..n_units {
            let unit = &lay.units[u];
            let total = self.neuron * unit.neurons as u64 + self.unit_extra[u] + self.synop * self.unit_pool_ops[u];
            self.unit_tail[u] = total.saturating_sub(self.update_segments(
                lay,
                u,
                &flags[unit.pop as usize],
                &neuron_pool_ops[unit.pop as usize],
            ));
        }
        self.outstanding = self.st.destinations + n_units as u64;
        for u in 0..n_units {
            self.check_ready(lay, u, 0);
        }
    }

    pub(crate) fn add_dests(&mut self, d: &[Dest]) {
        for x in d {
            if x.unit != NONE {
                self.pending[x.unit as usize] += 1;
            }
        }
        self.st.destinations += d.len() as u64;
        self.dests.extend_from_slice(d);
    }

    /// Splits unit `u`'s update at its packets (a neuron's packets are built right after
    /// the neuron is updated, as on Loihi and in SANA-FE, whose cores send a neuron's
    /// spike messages before updating the next neuron): `out_pre[k]` the update cycles
    /// run before building packet `k`, the neurons after the previous packet's neuron up
    /// to its own. Returns the cycles so placed (the rest is the unit's tail).
    fn update_segments(&mut self, lay: &Layout, u: usize, flags: &[u32], pool_ops: &[u32]) -> u64 {
        let (s, e) = (self.out_start[u] as usize, self.out_start[u + 1] as usize);
        if s == e {
            return 0;
        }
        let (mut k, mut pos, mut cum, mut placed) = (s, 0u32, 0u64, 0u64);
        'scan: for &(first, count, _) in &lay.units[u].ranges {
            let (a, b) = (first as usize, (first + count) as usize);
            for (n, &f) in (a..b).zip(&flags[a..b]) {
                let f = f as u64;
                cum += self.neuron + self.neuron_active * (f & 1) + self.spike_cycles * (f >> 1);
                if let Some(&ops) = pool_ops.get(n) {
                    cum += self.synop * ops as u64;
                }
                while k < e && self.out_pos[k] == pos {
                    self.out_pre[k] = cum - placed;
                    placed = cum;
                    k += 1;
                }
                if k == e {
                    break 'scan;
                }
                pos += 1;
            }
        }
        self.out_pre[k..e].fill(0);
        placed
    }

    /// A packet of unit `owner` (counted for its core and layer: every packet a step
    /// builds is injected in that step), emitted by the neuron at `pos` in the unit's
    /// update order.
    pub(crate) fn add_packet(
        &mut self,
        lay: &Layout,
        owner: u32,
        pos: u32,
        dest_start: u32,
        dest_len: u32,
        loopback: bool,
    ) {
        let unit = &lay.units[owner as usize];
        let (core, pop) = (unit.core as usize, unit.pop as usize);
        if loopback {
            self.tally.core_loopback[core] += 1;
            self.tally.pop_loopback[pop] += 1;
        } else {
            self.tally.core_packets[core] += 1;
            self.tally.pop_packets[pop] += 1;
        }
        self.packets.push(Packet { dest_start, dest_len, loopback });
        self.owners.push((owner, pos, self.packets.len() as u32 - 1));
    }
}
