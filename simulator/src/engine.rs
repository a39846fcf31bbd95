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

use std::collections::VecDeque;

use spikeforge_targets::Cast;

use crate::layout::{Layout, NONE};
use crate::options::SimOptions;
use crate::queue::{EventQueue, CYCLE_SHIFT};
use crate::trace::Recorder;
use crate::SimError;

pub(crate) const EV_ROUTE: u64 = 0;
pub(crate) const EV_OUT: u64 = 1;
pub(crate) const EV_CORE: u64 = 2;
pub(crate) const T_NONE: u64 = u64::MAX;
/// Largest cycle an event key holds (44 bits); steps are cut off before it.
const MAX_CYCLE: u64 = (1 << 44) - 1;
const SEQ_MASK: u64 = (1 << 40) - 1;
/// Routers plus two paths per core must fit the key's 20-bit source field.
pub(crate) const MAX_ENTITIES: usize = 1 << 20;

/// One destination core of a packet (20 bytes: the cycles are two 32-bit halves, so a
/// step's destinations take less memory while several steps are timed at once).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Dest {
    pub core: u32,
    /// Cycles the core spends on this destination's synaptic events (the synapses it reads
    /// × the cycles per event of the projection's kind), low and high halves.
    synop_cycles: [u32; 2],
    /// The unit whose update waits for it, NONE for recurrent projections.
    pub unit: u32,
    /// The projection's target population (the layer charged for the delivery).
    pub pop: u32,
}

impl Dest {
    pub fn new(core: u32, synop_cycles: u64, unit: u32, pop: u32) -> Dest {
        Dest { core, synop_cycles: [synop_cycles as u32, (synop_cycles >> 32) as u32], unit, pop }
    }

    pub fn synop_cycles(&self) -> u64 {
        self.synop_cycles[0] as u64 | (self.synop_cycles[1] as u64) << 32
    }

    pub fn add_synop_cycles(&mut self, cycles: u64) {
        let sum = self.synop_cycles().saturating_add(cycles);
        self.synop_cycles = [sum as u32, (sum >> 32) as u32];
    }
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
    /// Packets processed by destination cores (a multicast packet once per core; host and
    /// loopback packets included): what `message_in` is charged for.
    pub received: u64,
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
    /// A core receives on a path of its own (the target's `timing.split_receive`).
    pub split_receive: bool,
    pub depth: u32,
    pub router_cycles: u64,
    pub eject_ser: u64,
    pub synop: u64,
    /// Cycles per synaptic event by kind (see [`crate::func::kind_index`]).
    pub synop_by_kind: [u64; 4],
    pub message_in: u64,
    pub neuron: u64,
    pub neuron_active: u64,
    pub spike_cycles: u64,
    pub spike_out: u64,
    pub max_cycles: u64,
    pub n_in: usize,
    pub n_out: usize,
    pub slots: usize,
    /// Keys `cycle(44) | source(20) | sequence(40) | kind(2) | port(22)`: one integer
    /// comparison orders events by (cycle, source, sequence).
    pub(crate) queue: EventQueue,
    pub(crate) seq: u64,
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
    /// Cycle each unit finished its neuron update (and sent its packets) this step.
    pub unit_updated: Vec<u64>,
    pub unit_pool_ops: Vec<u64>,
    /// Per unit this step: active-neuron and spike cycles of its update.
    pub unit_extra: Vec<u64>,
    pub out_start: Vec<u32>,
    pub out_pkts: Vec<u32>,
    /// Per outbox entry: its neuron's position in the unit's update order, and the update
    /// cycles run before it is built (see `Engine::load_step`).
    pub out_pos: Vec<u32>,
    pub out_pre: Vec<u64>,
    /// Per outbox entry: the cycle its build started (its neuron's update had ended);
    /// kept only when `track_updates` (for the VCD of spikes).
    pub out_at: Vec<u64>,
    pub track_updates: bool,
    /// Per unit: update cycles after its last packet (all of them for a unit without).
    pub unit_tail: Vec<u64>,
    /// (owner unit, neuron position, packet) in generation order.
    pub(crate) owners: Vec<(u32, u32, u32)>,
    pub outstanding: u64,
    pub link_packets: Vec<u64>,
    pub link_busy: Vec<u64>,
    pub(crate) step_link_busy: Vec<u64>,
    pub st: StepTiming,
    pub rec: Option<Recorder>,
    /// Per core this step: the cycle its last work ended (the critical core's is the
    /// critical path; see [`crate::attribution`]).
    pub core_finish: Vec<u64>,
    /// Run totals per core and population: busy cycles, packets, receptions, hops.
    pub tally: crate::attribution::Tally,
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
        self.received += o.received;
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
            split_receive: spec.timing.split_receive,
            depth: spec.noc.buffer_depth_packets.max(1),
            router_cycles: spec.noc.router_cycles as u64,
            eject_ser: spec.noc.packet_bits.div_ceil(spec.noc.link_bits_per_cycle.max(1)).max(1) as u64,
            synop: spec.timing.synop_cycles as u64,
            synop_by_kind: {
                let s = spec.timing.synop_cycles as u64;
                match spec.timing.synop_cycles_by_kind {
                    Some(k) => [k.dense as u64, k.sparse as u64, k.conv as u64, s],
                    None => [s; 4],
                }
            },
            message_in: spec.timing.message_in_cycles as u64,
            neuron: spec.timing.neuron_update_cycles as u64,
            neuron_active: spec.timing.neuron_active_cycles as u64,
            spike_cycles: spec.timing.spike_cycles as u64,
            spike_out: spec.timing.spike_out_cycles as u64,
            max_cycles: opts.max_cycles_per_step.min(MAX_CYCLE - 1),
            n_in,
            n_out,
            slots,
            queue: EventQueue::new(),
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
            unit_extra: vec![0; lay.units.len()],
            out_start: vec![0; lay.units.len() + 1],
            out_pkts: Vec::new(),
            out_pos: Vec::new(),
            out_pre: Vec::new(),
            out_at: Vec::new(),
            track_updates: opts.trace.vcd,
            unit_tail: vec![0; lay.units.len()],
            owners: Vec::new(),
            outstanding: 0,
            link_packets: vec![0; nr * 4],
            link_busy: vec![0; nr * 4],
            step_link_busy: vec![0; nr * 4],
            st: StepTiming::default(),
            rec: None,
            core_finish: vec![0; lay.map.cores.len()],
            tally: crate::attribution::Tally::new(lay.map.cores.len(), lay.map.populations.len()),
        }
    }

    /// The cycle the update of neuron `pos` (in its unit's update order) of unit `u` ended
    /// this step: the start of its first packet's build, or for a neuron without packets
    /// the start of the next packet's build or the unit's end.
    pub fn neuron_updated(&self, u: usize, pos: u32) -> u64 {
        let (s, e) = (self.out_start[u] as usize, self.out_start[u + 1] as usize);
        let k = s + self.out_pos[s..e].partition_point(|&x| x < pos);
        if k < e {
            self.out_at[k]
        } else {
            self.unit_updated[u]
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
        let key = (cycle.min(MAX_CYCLE) as u128) << CYCLE_SHIFT
            | (src as u128) << 64
            | ((self.seq & SEQ_MASK) as u128) << 24
            | (kind as u128) << 22
            | local;
        self.queue.push(key);
    }

    /// Runs the step to completion; returns the critical path in cycles (barrier excluded).
    pub fn run_step(&mut self, lay: &Layout, sample: usize, step: usize) -> Result<u64, SimError> {
        let mut now = 0;
        while self.outstanding > 0 {
            let Some(key) = self.queue.pop() else {
                return Err(self.deadlock(lay, sample, step, now));
            };
            now = (key >> CYCLE_SHIFT) as u64;
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
