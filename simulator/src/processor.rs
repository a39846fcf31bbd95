//! The core model: a sequential processor per core, driven by the timing engine.
//!
//! A core does one thing at a time, chosen in this order whenever it is free:
//!
//! 1. inject the packet it has built, if its router's injection port has a free slot
//!    (takes no further time); if not, it *stalls* — and keeps consuming incoming packets
//!    while it waits (separate input and output paths). With
//!    `SimOptions::consume_while_stalled` off the core is strictly sequential instead: a
//!    stalled core waits, and a unit's update and packets are finished before any input is
//!    read (step 3 before step 2), which can deadlock with small buffers;
//! 2. process an incoming packet, loopback packets and the router's ejection queue (of
//!    `buffer_depth_packets`) in order of arrival, a loopback packet first on a tie: `message_in_cycles + Σ synop_cycles × synapses on the
//!    packet's axons` (`synop_cycles_by_kind` of each projection's kind where given);
//! 3. go on with the unit it is updating: update its neurons up to the next one that
//!    sends packets, then build that neuron's packets one by one (`spike_out_cycles`
//!    each), then the next neurons; a neuron costs `neuron_update_cycles`, plus
//!    `neuron_active_cycles` when active, `spike_cycles` per spike and `synop_cycles` per
//!    pooling operation it feeds (source-side pooling is done by the source core). A
//!    neuron's packets leave right after its own update, as on Loihi (and in SANA-FE's
//!    model, which sends a neuron's messages before it updates the next neuron): the
//!    first packets do not wait for the whole unit's update;
//! 4. start updating a ready unit (lowest population first), in its neurons' order on
//!    the core.
//!
//! With the target's `timing.split_receive` (SANA-FE's Loihi model: a core's receive and
//! send timelines are separate), step 2 runs on a receive path of its own, alongside
//! steps 1, 3 and 4.
//!
//! A unit is *ready* when every forward packet addressed to it this step has been
//! processed and every unit it depends on (see [`crate::layout`]) is done; it is *done*
//! when it has updated all its neurons and injected all its packets. The step's critical path ends when
//! every unit is done and every delivery processed; the barrier follows.

use std::collections::VecDeque;

use crate::engine::{Engine, EV_CORE, T_NONE};
use crate::layout::{Layout, NONE};

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Work {
    #[default]
    Idle,
    /// Processing deliveries `dests[start..start+len]`.
    Packet(u32, u32),
    Update(u32),
    Build(u32),
}

#[derive(Clone, Debug)]
pub(crate) struct CoreRt {
    /// Ejected network packets and loopback packets as destination ranges, with the
    /// cycle each arrived.
    pub inq: VecDeque<(u32, u32, u64)>,
    pub loopq: VecDeque<(u32, u32, u64)>,
    /// Per path (0: the core, or its send path when receiving is split; 1: its receive
    /// path): what it does and when it ends.
    pub work: [Work; 2],
    pub wake_at: [u64; 2],
    /// A built packet waiting for an injection slot, or NONE.
    pub holding: u32,
    pub stall_since: u64,
    /// The unit being updated and emitted, NONE when none.
    pub emit_unit: u32,
    /// Its next outbox entry, and whether the update cycles before that entry (or, past
    /// the last entry, the unit's tail) have run.
    pub emit_pos: u32,
    pub emit_pre_done: bool,
    pub ready: Vec<u32>,
}

impl Default for CoreRt {
    fn default() -> Self {
        CoreRt {
            inq: VecDeque::new(),
            loopq: VecDeque::new(),
            work: [Work::Idle; 2],
            wake_at: [T_NONE; 2],
            holding: NONE,
            stall_since: T_NONE,
            emit_unit: NONE,
            emit_pos: 0,
            emit_pre_done: false,
            ready: Vec::new(),
        }
    }
}

impl CoreRt {
    pub fn reset(&mut self) {
        *self =
            CoreRt { inq: std::mem::take(&mut self.inq), loopq: std::mem::take(&mut self.loopq), ..Default::default() };
        self.inq.clear();
        self.loopq.clear();
    }
}

impl Engine {
    /// The event source of core `c`'s path: the core, or its receive path after all cores.
    fn path_entity(&self, lay: &Layout, c: usize, path: usize) -> usize {
        lay.n_routers() + c + path * self.cores.len()
    }

    /// Wakes a core's idle paths at `t` (a busy path wakes itself when its work ends).
    pub fn schedule_core(&mut self, lay: &Layout, c: usize, t: u64) {
        for path in 0..1 + self.split_receive as usize {
            let core = &mut self.cores[c];
            if core.work[path] != Work::Idle || core.wake_at[path] == t {
                continue;
            }
            core.wake_at[path] = t;
            let e = self.path_entity(lay, c, path);
            self.push(t, e as u64, EV_CORE, e);
        }
    }

    fn start(&mut self, lay: &Layout, c: usize, path: usize, w: Work, now: u64, cycles: u64) {
        let pop = match w {
            Work::Idle => NONE,
            Work::Packet(s, _) => self.dests[s as usize].pop,
            Work::Update(u) => lay.units[u as usize].pop,
            Work::Build(_) => lay.units[self.cores[c].emit_unit as usize].pop,
        };
        if pop != NONE {
            self.tally.pop_busy[pop as usize] += cycles;
        }
        self.tally.core_busy[c] += cycles;
        self.core_finish[c] = self.core_finish[c].max(now + cycles);
        let core = &mut self.cores[c];
        core.work[path] = w;
        core.wake_at[path] = now + cycles;
        let e = self.path_entity(lay, c, path);
        self.push(now + cycles, e as u64, EV_CORE, e);
        if let Some(rec) = &mut self.rec {
            rec.core(c as u32, w, now, cycles);
        }
    }

    pub fn check_ready(&mut self, lay: &Layout, u: usize, now: u64) {
        if self.unit_state[u] == 0 && self.pending[u] == 0 && self.upstream_left[u] == 0 {
            self.unit_state[u] = 1;
            let c = lay.units[u].core as usize;
            self.cores[c].ready.push(u as u32);
            self.schedule_core(lay, c, now);
        }
    }

    fn unit_done(&mut self, lay: &Layout, u: usize, now: u64) {
        self.unit_state[u] = 2;
        self.outstanding -= 1;
        for k in lay.down_start[u] as usize..lay.down_start[u + 1] as usize {
            let v = lay.downstream[k] as usize;
            self.upstream_left[v] -= 1;
            self.check_ready(lay, v, now);
        }
    }

    /// `entity`: a core path's event source less the routers (see `path_entity`).
    pub fn core_wake(&mut self, lay: &Layout, entity: usize, now: u64) {
        let (path, c) = (entity / self.cores.len(), entity % self.cores.len());
        if self.cores[c].wake_at[path] != now {
            return;
        }
        self.cores[c].wake_at[path] = T_NONE;
        match std::mem::take(&mut self.cores[c].work[path]) {
            Work::Idle => {}
            Work::Packet(s, n) => {
                for k in s..s + n {
                    let u = self.dests[k as usize].unit;
                    if u != NONE {
                        self.pending[u as usize] -= 1;
                        self.check_ready(lay, u as usize, now);
                    }
                }
                self.st.delivered += n as u64;
                self.outstanding -= n as u64;
            }
            // A stretch of a unit's update ended; `emit_next` goes on.
            Work::Update(_) => {}
            Work::Build(p) => self.cores[c].holding = p,
        }
        if path == 1 {
            self.take_input(lay, c, 1, now);
        } else {
            self.core_next(lay, c, now);
            // The send path may have queued loopback packets for the receive path.
            let core = &mut self.cores[c];
            if self.split_receive && core.work[1] == Work::Idle && core.wake_at[1] != now && !core.loopq.is_empty() {
                core.wake_at[1] = now;
                let e = self.path_entity(lay, c, 1);
                self.push(now, e as u64, EV_CORE, e);
            }
        }
    }

    /// Starts processing the next incoming packet on `path`; false when there is none.
    fn take_input(&mut self, lay: &Layout, c: usize, path: usize, now: u64) -> bool {
        let core = &mut self.cores[c];
        // In order of arrival; a loopback packet first when both arrived together.
        let looped = match (core.loopq.front(), core.inq.front()) {
            (Some(l), Some(i)) => l.2 <= i.2,
            (l, _) => l.is_some(),
        };
        let input = match looped {
            true => core.loopq.pop_front(),
            false => {
                let x = core.inq.pop_front();
                if x.is_some() {
                    // A slot of the ejection queue freed: the router may send again.
                    let o = lay.core_router[c] as usize * self.n_out + 4 + lay.core_slot[c] as usize;
                    if self.outp[o].blocked_since != T_NONE {
                        self.schedule_out(o, now);
                    }
                }
                x
            }
        };
        let Some((s, n, _)) = input else { return false };
        let syn: u64 = self.dests[s as usize..(s + n) as usize].iter().map(|d| d.synop_cycles()).sum();
        self.st.received += 1;
        self.tally.pop_received[self.dests[s as usize].pop as usize] += 1;
        self.start(lay, c, path, Work::Packet(s, n), now, self.message_in + syn);
        true
    }

    /// The next work of core `c`'s only path, or of its send path when receiving is split.
    fn core_next(&mut self, lay: &Layout, c: usize, now: u64) {
        let holding = self.cores[c].holding;
        if holding != NONE {
            if self.try_inject(lay, c, holding, now) {
                self.core_finish[c] = self.core_finish[c].max(now);
                let core = &mut self.cores[c];
                core.holding = NONE;
                if core.stall_since != T_NONE {
                    self.st.core_stall_cycles += now - core.stall_since;
                    core.stall_since = T_NONE;
                }
                core.emit_pos += 1;
                core.emit_pre_done = false;
            } else {
                let core = &mut self.cores[c];
                if core.stall_since == T_NONE {
                    core.stall_since = now;
                }
                if !self.consume_while_stalled {
                    return;
                }
            }
        }
        // A strictly sequential core finishes a unit's update and packets before reading input.
        if !self.consume_while_stalled && self.cores[c].emit_unit != NONE && self.emit_next(lay, c, now) {
            return;
        }
        if !self.split_receive && self.take_input(lay, c, 0, now) {
            return;
        }
        if self.cores[c].holding != NONE || self.emit_next(lay, c, now) {
            return;
        }
        let core = &mut self.cores[c];
        if core.ready.is_empty() {
            return;
        }
        // Lowest population first (update order), then unit id.
        let (k, _) =
            core.ready.iter().enumerate().min_by_key(|(_, &u)| (lay.units[u as usize].pop, u)).expect("not empty");
        let u = core.ready.swap_remove(k);
        core.emit_unit = u;
        core.emit_pos = self.out_start[u as usize];
        core.emit_pre_done = false;
        self.emit_next(lay, c, now);
    }

    /// Starts the next work of the unit core `c` is updating: the update of its neurons up
    /// to the next packet's, that packet's build, or the neurons after its last packet.
    /// When all are done the unit is done; false when no work was started.
    fn emit_next(&mut self, lay: &Layout, c: usize, now: u64) -> bool {
        let u = self.cores[c].emit_unit;
        if u == NONE {
            return false;
        }
        let (pos, end) = (self.cores[c].emit_pos, self.out_start[u as usize + 1]);
        let pre = if pos < end { self.out_pre[pos as usize] } else { self.unit_tail[u as usize] };
        if !self.cores[c].emit_pre_done {
            self.cores[c].emit_pre_done = true;
            if pre > 0 {
                self.start(lay, c, 0, Work::Update(u), now, pre);
                return true;
            }
        }
        if pos < end {
            if self.track_updates {
                self.out_at[pos as usize] = now;
            }
            let p = self.out_pkts[pos as usize];
            self.start(lay, c, 0, Work::Build(p), now, self.spike_out);
            return true;
        }
        self.cores[c].emit_unit = NONE;
        self.unit_updated[u as usize] = now;
        self.unit_done(lay, u as usize, now);
        false
    }
}
