//! Packets of a step: this step's events turned into packets, destinations and the
//! per-unit outboxes (see [`crate::engine`] for unicast, multicast, loopback and host
//! packets).

use crate::engine::{Copy, Dest, Engine, Packet, StepTiming, EV_ROUTE, T_NONE};
use crate::layout::{Layout, NONE};

impl Engine {
    /// Turns this step's events into packets and schedules what can start at cycle 0.
    /// `pool_ops`, `active` and `spikes`: per unit, the pooling operations, active neurons
    /// and spikes of this step's functional pass (charged to the unit's update).
    pub fn load_step(
        &mut self,
        lay: &Layout,
        events: &[Vec<(u32, f64)>],
        pool_ops: &[u64],
        active: &[u64],
        spikes: &[u64],
    ) {
        let m = lay.map;
        self.st = StepTiming::default();
        self.step_link_busy.fill(0);
        self.seq = 0;
        self.heap.clear();
        self.dests.clear();
        self.packets.clear();
        self.copies.clear();
        self.owners.clear();
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
        for (j, pr) in m.projections.iter().enumerate() {
            let from_host = pr.source == m.input;
            for &(e, _) in &events[j] {
                let e = e as usize;
                let fo = &pr.fanout[pr.fanout_start[e] as usize..pr.fanout_start[e + 1] as usize];
                let owner = if from_host { NONE } else { lay.owner(j, e) };
                let src_core = if owner == NONE { NONE } else { lay.units[owner as usize].core };
                let synop = self.synop_by_kind[crate::func::kind_index(pr.kind)];
                let dest_of = |d: &spikeforge_targets::coremap::Destination| {
                    let c = lay.core_idx(d.core);
                    let a = d.axon as usize;
                    let unit = if lay.delayed[j] { NONE } else { lay.axon_unit[c][a] };
                    Dest { core: c as u32, synop_cycles: synop * lay.axon_len[c][a] as u64, unit, pop: pr.target }
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
                            self.add_packet(lay, owner, start, 1, dest.core == src_core);
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
                                Some(l) => l.synop_cycles += dest.synop_cycles,
                                None => local = Some(dest),
                            }
                        } else if let Some(last) = self.dests[start..].last_mut().filter(|l| l.core == dest.core) {
                            last.synop_cycles += dest.synop_cycles;
                        } else {
                            self.add_dests(&[dest]);
                        }
                    }
                    let n = self.dests.len() - start;
                    if n > 0 {
                        self.add_packet(lay, owner, start as u32, n as u32, false);
                    }
                    if let Some(l) = local {
                        self.add_dests(&[l]);
                        self.add_packet(lay, owner, self.dests.len() as u32 - 1, 1, true);
                    }
                }
            }
        }
        // Outboxes: packets grouped by owner unit, in generation order (stable).
        let n_units = lay.units.len();
        self.out_start.fill(0);
        for &(u, _) in &self.owners {
            self.out_start[u as usize + 1] += 1;
        }
        for i in 0..n_units {
            self.out_start[i + 1] += self.out_start[i];
        }
        self.out_pkts.resize(self.owners.len(), 0);
        let mut fill = self.out_start.clone();
        for &(u, p) in &self.owners {
            self.out_pkts[fill[u as usize] as usize] = p;
            fill[u as usize] += 1;
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

    /// A packet of unit `owner` (counted for its core and layer: every packet a step
    /// builds is injected in that step).
    pub(crate) fn add_packet(&mut self, lay: &Layout, owner: u32, dest_start: u32, dest_len: u32, loopback: bool) {
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
        self.owners.push((owner, self.packets.len() as u32 - 1));
    }
}
