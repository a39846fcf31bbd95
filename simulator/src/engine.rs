//! The timing engine: one time step as a discrete-event simulation of cores and routers.
//!
//! Events are ordered by (cycle, source, sequence) — source is the router or core that
//! scheduled the event, sequence a per-step counter — so a run is deterministic. Time
//! jumps from event to event: a quiet core or link costs nothing to simulate.
//!
//! **Packets.** After the functional pass, every nonzero event of every projection becomes
//! packets: unicast targets send one packet per fan-out entry (destination core, axon);
//! multicast targets send one packet per event to all its destination cores, replicated
//! by the routers along the XY tree. A destination on the sending core itself is a
//! loopback packet that never enters the network. Input events come from the host, which
//! injects one packet per fan-out entry through a host port at the *destination core's
//! router* (an unbounded host queue; no mesh links, one router pass and the ejection).
//!
//! **Routers** are input-queued with one FIFO per input port (four mesh directions, one
//! injection port per core slot, the host port), each `buffer_depth_packets` deep, with
//! credit flow control: a packet leaves only when a slot downstream is free (back-pressure).
//! A packet at the head of an input FIFO is routed `router_cycles` after it arrived, then
//! queues for its output port; an output port serves its requests in order, one packet
//! per `⌈packet_bits / link_bits_per_cycle⌉` cycles (chip links: their own width), and the
//! packet reaches the next router after the link latency (`link_cycles_ew`,
//! `link_cycles_ns` or `chip_link_cycles`). On an idle network a packet over `h` links thus
//! takes `(h + 1)·router_cycles + Σ link latencies` from injection to its destination
//! core's input queue, exactly `Target::route_cycles`. Multicast copies branch at the
//! router where destinations part; the input slot frees when every branch has left.
//! The core model is in [`crate::processor`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use spikeforge_targets::Cast;

use crate::layout::{Layout, NONE};
use crate::options::SimOptions;
use crate::trace::Recorder;
use crate::SimError;

pub(crate) const EV_ROUTE: u64 = 0;
pub(crate) const EV_OUT: u64 = 1;
pub(crate) const EV_CORE: u64 = 2;
pub(crate) const T_NONE: u64 = u64::MAX;
/// Largest cycle an event key holds (44 bits); steps are cut off before it.
const MAX_CYCLE: u64 = (1 << 44) - 1;
const SEQ_MASK: u64 = (1 << 40) - 1;
/// Routers plus cores must fit the key's 20-bit source field.
pub(crate) const MAX_ENTITIES: usize = 1 << 20;

/// One destination core of a packet.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Dest {
    pub core: u32,
    /// Synapses the core reads for this packet.
    pub synapses: u32,
    /// The unit whose update waits for it, NONE for recurrent projections.
    pub unit: u32,
}

#[derive(Copy, Clone, Debug)]
pub(crate) struct Packet {
    pub dest_start: u32,
    pub dest_len: u32,
    pub loopback: bool,
}

#[derive(Copy, Clone, Debug)]
pub(crate) struct Copy {
    pub dest_start: u32,
    pub dest_len: u32,
    pub arrive: u64,
    /// Cycle the packet entered the network (for its latency).
    pub born: u64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct InPort {
    pub fifo: VecDeque<u32>,
    pub reserved: u32,
    pub head_branches: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct OutPort {
    pub queue: VecDeque<(u32, u32)>,
    pub busy_until: u64,
    pub try_at: u64,
    pub blocked_since: u64,
}

/// Timing counters of one step.
#[derive(Clone, Debug, Default)]
pub(crate) struct StepTiming {
    /// Critical path: cycle at which the last delivery was processed / unit finished.
    pub makespan: u64,
    pub packets: u64,
    pub loopback_packets: u64,
    pub host_packets: u64,
    pub hops: [u64; 3],
    pub core_stall_cycles: u64,
    pub link_stall_cycles: u64,
    pub destinations: u64,
    pub delivered: u64,
    /// Busiest link's busy cycles this step.
    pub max_link_busy: u64,
    /// Σ (ejection − injection cycle) over network packets ejected to cores (multicast:
    /// per branch; host packets excluded), and their number.
    pub latency_sum: u64,
    pub ejected: u64,
    /// First core injection and last ejection of a network packet this step.
    pub first_inject: Option<u64>,
    pub last_eject: u64,
}

pub(crate) struct Engine {
    pub multicast: bool,
    pub consume_while_stalled: bool,
    pub depth: u32,
    pub router_cycles: u64,
    pub eject_ser: u64,
    pub synop: u64,
    pub neuron: u64,
    pub spike_out: u64,
    pub max_cycles: u64,
    pub n_in: usize,
    pub n_out: usize,
    pub slots: usize,
    /// Keys `cycle(44) | source(20) | sequence(40) | kind(2) | port(22)`: one integer
    /// comparison orders events by (cycle, source, sequence).
    heap: BinaryHeap<Reverse<u128>>,
    seq: u64,
    pub inp: Vec<InPort>,
    pub outp: Vec<OutPort>,
    pub dests: Vec<Dest>,
    pub packets: Vec<Packet>,
    pub copies: Vec<Copy>,
    pub cores: Vec<crate::processor::CoreRt>,
    pub pending: Vec<u32>,
    pub upstream_left: Vec<u32>,
    /// 0 waiting, 1 ready, 2 done.
    pub unit_state: Vec<u8>,
    /// Cycle each unit finished its neuron update this step.
    pub unit_updated: Vec<u64>,
    pub unit_pool_ops: Vec<u64>,
    pub out_start: Vec<u32>,
    pub out_pkts: Vec<u32>,
    owners: Vec<(u32, u32)>,
    pub outstanding: u64,
    pub link_packets: Vec<u64>,
    pub link_busy: Vec<u64>,
    step_link_busy: Vec<u64>,
    pub st: StepTiming,
    /// Sums over the run.
    pub totals: StepTiming,
    pub rec: Option<Recorder>,
}

impl StepTiming {
    pub fn add(&mut self, o: &StepTiming) {
        self.packets += o.packets;
        self.loopback_packets += o.loopback_packets;
        self.host_packets += o.host_packets;
        for k in 0..3 {
            self.hops[k] += o.hops[k];
        }
        self.core_stall_cycles += o.core_stall_cycles;
        self.link_stall_cycles += o.link_stall_cycles;
        self.destinations += o.destinations;
        self.delivered += o.delivered;
        self.makespan = self.makespan.max(o.makespan);
        self.max_link_busy = self.max_link_busy.max(o.max_link_busy);
        self.latency_sum += o.latency_sum;
        self.ejected += o.ejected;
    }
}

impl Engine {
    pub fn new(lay: &Layout, opts: &SimOptions) -> Engine {
        let spec = lay.target.spec();
        let slots = lay.slots();
        let (n_in, n_out) = (4 + slots + 1, 4 + slots);
        let nr = lay.n_routers();
        let port = OutPort { queue: VecDeque::new(), busy_until: 0, try_at: T_NONE, blocked_since: T_NONE };
        Engine {
            multicast: spec.noc.cast == Cast::Multicast,
            consume_while_stalled: opts.consume_while_stalled,
            depth: spec.noc.buffer_depth_packets.max(1),
            router_cycles: spec.noc.router_cycles as u64,
            eject_ser: spec.noc.packet_bits.div_ceil(spec.noc.link_bits_per_cycle.max(1)).max(1) as u64,
            synop: spec.timing.synop_cycles as u64,
            neuron: spec.timing.neuron_update_cycles as u64,
            spike_out: spec.timing.spike_out_cycles as u64,
            max_cycles: opts.max_cycles_per_step.min(MAX_CYCLE - 1),
            n_in,
            n_out,
            slots,
            heap: BinaryHeap::new(),
            seq: 0,
            inp: vec![InPort::default(); nr * n_in],
            outp: vec![port; nr * n_out],
            dests: Vec::new(),
            packets: Vec::new(),
            copies: Vec::new(),
            cores: (0..lay.map.cores.len()).map(|_| crate::processor::CoreRt::default()).collect(),
            pending: vec![0; lay.units.len()],
            upstream_left: vec![0; lay.units.len()],
            unit_state: vec![0; lay.units.len()],
            unit_updated: vec![0; lay.units.len()],
            unit_pool_ops: vec![0; lay.units.len()],
            out_start: vec![0; lay.units.len() + 1],
            out_pkts: Vec::new(),
            owners: Vec::new(),
            outstanding: 0,
            link_packets: vec![0; nr * 4],
            link_busy: vec![0; nr * 4],
            step_link_busy: vec![0; nr * 4],
            st: StepTiming::default(),
            totals: StepTiming::default(),
            rec: None,
        }
    }

    /// Schedules an event; `src` is the router or core (offset by the router count) it
    /// belongs to, for the deterministic tie-break.
    #[inline]
    pub fn push(&mut self, cycle: u64, src: u64, kind: u64, idx: usize) {
        self.seq += 1;
        let local = match kind {
            EV_ROUTE => idx % self.n_in,
            EV_OUT => idx % self.n_out,
            _ => 0,
        } as u128;
        let key = (cycle.min(MAX_CYCLE) as u128) << 84
            | (src as u128) << 64
            | ((self.seq & SEQ_MASK) as u128) << 24
            | (kind as u128) << 22
            | local;
        self.heap.push(Reverse(key));
    }

    /// Turns this step's events into packets and schedules what can start at cycle 0.
    pub fn load_step(&mut self, lay: &Layout, events: &[Vec<(u32, f64)>], pool_ops: &[u64]) {
        let m = lay.map;
        self.st = StepTiming::default();
        self.step_link_busy.fill(0);
        self.seq = 0;
        self.heap.clear();
        self.dests.clear();
        self.packets.clear();
        self.copies.clear();
        self.owners.clear();
        self.pending.fill(0);
        self.upstream_left.copy_from_slice(&lay.n_upstream);
        self.unit_state.fill(0);
        self.unit_updated.fill(0);
        self.unit_pool_ops.copy_from_slice(pool_ops);
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
                let dest_of = |d: &spikeforge_targets::coremap::Destination| {
                    let c = lay.core_idx(d.core);
                    let s = &m.cores[c].axons.syn_start;
                    let a = d.axon as usize;
                    let unit = if pr.recurrent { NONE } else { lay.axon_unit[c][a] };
                    Dest { core: c as u32, synapses: s[a + 1] - s[a], unit }
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
                            self.add_packet(owner, start, 1, dest.core == src_core);
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
                                Some(l) => l.synapses += dest.synapses,
                                None => local = Some(dest),
                            }
                        } else if let Some(last) = self.dests[start..].last_mut().filter(|l| l.core == dest.core) {
                            last.synapses += dest.synapses;
                        } else {
                            self.add_dests(&[dest]);
                        }
                    }
                    let n = self.dests.len() - start;
                    if n > 0 {
                        self.add_packet(owner, start as u32, n as u32, false);
                    }
                    if let Some(l) = local {
                        self.add_dests(&[l]);
                        self.add_packet(owner, self.dests.len() as u32 - 1, 1, true);
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

    fn add_dests(&mut self, d: &[Dest]) {
        for x in d {
            if x.unit != NONE {
                self.pending[x.unit as usize] += 1;
            }
        }
        self.st.destinations += d.len() as u64;
        self.dests.extend_from_slice(d);
    }

    fn add_packet(&mut self, owner: u32, dest_start: u32, dest_len: u32, loopback: bool) {
        self.packets.push(Packet { dest_start, dest_len, loopback });
        self.owners.push((owner, self.packets.len() as u32 - 1));
    }

    /// Runs the step to completion; returns the critical path in cycles (barrier excluded).
    pub fn run_step(&mut self, lay: &Layout, sample: usize, step: usize) -> Result<u64, SimError> {
        let mut now = 0;
        while self.outstanding > 0 {
            let Some(Reverse(key)) = self.heap.pop() else {
                return Err(self.deadlock(lay, sample, step, now));
            };
            now = (key >> 84) as u64;
            if now > self.max_cycles {
                return Err(SimError::StepTooLong { sample, step, cycles: now });
            }
            let src = ((key >> 64) as usize) & 0xf_ffff;
            let local = (key as usize) & 0x3f_ffff;
            match (key >> 22) as u64 & 3 {
                EV_ROUTE => self.route(lay, src * self.n_in + local, now),
                EV_OUT => {
                    let idx = src * self.n_out + local;
                    if self.outp[idx].try_at == now {
                        self.outp[idx].try_at = T_NONE;
                    }
                    self.try_out(lay, idx, now)
                }
                _ => self.core_wake(lay, src - lay.n_routers(), now),
            }
        }
        if self.st.delivered != self.st.destinations {
            return Err(SimError::Conservation {
                sample,
                step,
                injected: self.st.destinations,
                delivered: self.st.delivered,
            });
        }
        self.st.makespan = now;
        self.st.max_link_busy = self.step_link_busy.iter().copied().max().unwrap_or(0);
        Ok(now)
    }

    /// Output port of router `r` towards core `c`.
    #[inline]
    fn out_for(&self, lay: &Layout, r: usize, c: u32) -> usize {
        let cr = lay.core_router[c as usize] as usize;
        let port = if cr == r {
            4 + lay.core_slot[c as usize] as usize
        } else {
            let w = lay.grid[0] as usize;
            let (x, y, tx, ty) = (r % w, r / w, cr % w, cr / w);
            if tx > x {
                0
            } else if tx < x {
                1
            } else if ty > y {
                2
            } else {
                3
            }
        };
        r * self.n_out + port
    }

    /// The head of input port `i` is routed: it requests its output port(s).
    fn route(&mut self, lay: &Layout, i: usize, now: u64) {
        let Some(&cp) = self.inp[i].fifo.front() else { return };
        let r = i / self.n_in;
        let c = self.copies[cp as usize];
        if c.dest_len == 1 || !self.multicast {
            let o = self.out_for(lay, r, self.dests[c.dest_start as usize].core);
            self.inp[i].head_branches = 1;
            self.request(lay, o, i as u32, cp, now);
            return;
        }
        let (s, e) = (c.dest_start as usize, (c.dest_start + c.dest_len) as usize);
        let mut branches = 0;
        let mut outs: Vec<usize> = (s..e).map(|k| self.out_for(lay, r, self.dests[k].core)).collect();
        let all = outs.clone();
        outs.sort_unstable();
        outs.dedup();
        let mut reqs = Vec::with_capacity(outs.len());
        for &o in &outs {
            let copy = if outs.len() == 1 {
                cp
            } else {
                let start = self.dests.len() as u32;
                for k in s..e {
                    if all[k - s] == o {
                        let d = self.dests[k];
                        self.dests.push(d);
                    }
                }
                let len = self.dests.len() as u32 - start;
                self.copies.push(Copy { dest_start: start, dest_len: len, arrive: c.arrive, born: c.born });
                self.copies.len() as u32 - 1
            };
            branches += 1;
            reqs.push((o, copy));
        }
        self.inp[i].head_branches = branches;
        for (o, copy) in reqs {
            self.request(lay, o, i as u32, copy, now);
        }
    }

    fn request(&mut self, lay: &Layout, o: usize, from: u32, copy: u32, now: u64) {
        self.outp[o].queue.push_back((from, copy));
        if self.outp[o].queue.len() == 1 {
            self.try_out(lay, o, now);
        }
    }

    pub fn schedule_out(&mut self, o: usize, t: u64) {
        if self.outp[o].try_at != t {
            self.outp[o].try_at = t;
            self.push(t, (o / self.n_out) as u64, EV_OUT, o);
        }
    }

    /// Output port `o` sends its first waiting packet if it is free and has a credit.
    fn try_out(&mut self, lay: &Layout, o: usize, now: u64) {
        let busy_until = self.outp[o].busy_until;
        if busy_until > now {
            self.schedule_out(o, busy_until);
            return;
        }
        let Some(&(from, cp)) = self.outp[o].queue.front() else { return };
        let (r, port) = (o / self.n_out, o % self.n_out);
        let busy;
        if port < 4 {
            let link = lay.links[r * 4 + port];
            let din = link.to as usize * self.n_in + port;
            if self.inp[din].reserved >= self.depth {
                self.block(o, now);
                return;
            }
            self.inp[din].reserved += 1;
            let arrive = now + link.latency as u64;
            self.copies[cp as usize].arrive = arrive;
            self.inp[din].fifo.push_back(cp);
            if self.inp[din].fifo.len() == 1 {
                self.push(arrive + self.router_cycles, link.to as u64, EV_ROUTE, din);
            }
            busy = link.ser as u64;
            self.st.hops[link.kind as usize] += 1;
            self.link_packets[r * 4 + port] += 1;
            self.link_busy[r * 4 + port] += busy;
            self.step_link_busy[r * 4 + port] += busy;
            if let Some(rec) = &mut self.rec {
                rec.link(r as u32, port as u8, now, busy, arrive);
            }
        } else {
            let core = lay.slot_core[r * self.slots + port - 4] as usize;
            if self.cores[core].inq.len() >= self.depth as usize {
                self.block(o, now);
                return;
            }
            let c = self.copies[cp as usize];
            self.cores[core].inq.push_back((c.dest_start, c.dest_len));
            if c.born != T_NONE {
                self.st.latency_sum += now - c.born;
                self.st.ejected += 1;
                self.st.last_eject = now;
            }
            self.schedule_core(lay, core, now);
            busy = self.eject_ser;
        }
        let op = &mut self.outp[o];
        if op.blocked_since != T_NONE {
            self.st.link_stall_cycles += now - op.blocked_since;
            op.blocked_since = T_NONE;
        }
        op.queue.pop_front();
        op.busy_until = now + busy;
        if !op.queue.is_empty() {
            self.schedule_out(o, now + busy);
        }
        self.release(lay, from as usize, now);
    }

    fn block(&mut self, o: usize, now: u64) {
        if self.outp[o].blocked_since == T_NONE {
            self.outp[o].blocked_since = now;
        }
    }

    /// One branch of the head of input port `i` has left; free the slot when all have.
    fn release(&mut self, lay: &Layout, i: usize, now: u64) {
        let p = &mut self.inp[i];
        p.head_branches -= 1;
        if p.head_branches > 0 {
            return;
        }
        p.fifo.pop_front();
        let (r, port) = (i / self.n_in, i % self.n_in);
        if port < 4 {
            p.reserved -= 1;
            // The upstream router is the one this port's traffic came from.
            let back = [1, 0, 3, 2][port];
            let up = lay.links[r * 4 + back].to as usize;
            let uo = up * self.n_out + port;
            if self.outp[uo].blocked_since != T_NONE {
                self.schedule_out(uo, now);
            }
        } else if port < 4 + self.slots {
            p.reserved -= 1;
            let core = lay.slot_core[r * self.slots + port - 4] as usize;
            if core != NONE as usize && self.cores[core].holding != NONE {
                self.schedule_core(lay, core, now);
            }
        }
        if let Some(&next) = self.inp[i].fifo.front() {
            let t = (self.copies[next as usize].arrive + self.router_cycles).max(now);
            self.push(t, r as u64, EV_ROUTE, i);
        }
    }

    /// Injects packet `pk` from core `c` into its router; false when the port is full.
    pub fn try_inject(&mut self, lay: &Layout, c: usize, pk: u32, now: u64) -> bool {
        let p = self.packets[pk as usize];
        if p.loopback {
            self.cores[c].loopq.push_back((p.dest_start, p.dest_len));
            self.st.loopback_packets += 1;
            return true;
        }
        let r = lay.core_router[c] as usize;
        let i = r * self.n_in + 4 + lay.core_slot[c] as usize;
        if self.inp[i].reserved >= self.depth {
            return false;
        }
        self.inp[i].reserved += 1;
        self.copies.push(Copy { dest_start: p.dest_start, dest_len: p.dest_len, arrive: now, born: now });
        self.inp[i].fifo.push_back(self.copies.len() as u32 - 1);
        if self.inp[i].fifo.len() == 1 {
            self.push(now + self.router_cycles, r as u64, EV_ROUTE, i);
        }
        self.st.packets += 1;
        self.st.first_inject.get_or_insert(now);
        true
    }

    fn deadlock(&self, lay: &Layout, sample: usize, step: usize, now: u64) -> SimError {
        let mut blocked = Vec::new();
        let w = lay.grid[0] as usize;
        let names = ["east", "west", "north", "south"];
        for (o, op) in self.outp.iter().enumerate() {
            if op.queue.is_empty() {
                continue;
            }
            let (r, port) = (o / self.n_out, o % self.n_out);
            let out = if port < 4 { names[port].to_string() } else { format!("core slot {}", port - 4) };
            blocked.push(format!(
                "router ({}, {}) output {out}: {} packets waiting for a free buffer slot",
                r % w,
                r / w,
                op.queue.len()
            ));
        }
        for (c, core) in self.cores.iter().enumerate() {
            if core.holding != NONE {
                blocked.push(format!(
                    "core {} waits to inject (its input queue holds {} packets)",
                    lay.map.cores[c].core,
                    core.inq.len()
                ));
            }
        }
        if blocked.is_empty() {
            blocked.push("no packet is buffered; a unit waits for inputs that never come".into());
        }
        SimError::Deadlock {
            sample,
            step,
            cycle: now,
            undelivered: self.st.destinations - self.st.delivered,
            blocked: blocked.join("; "),
        }
    }
}
