//! Routers and links: XY output selection, multicast branching, output arbitration with
//! credit flow control, and injection from cores (see [`crate::engine`] for the model).

use crate::engine::{Copy, Engine, EV_OUT, EV_ROUTE, T_NONE};
use crate::layout::{Layout, NONE};

impl Engine {
    /// Output port of router `r` towards core `c`.
    #[inline]
    pub(crate) fn out_for(&self, lay: &Layout, r: usize, c: u32) -> usize {
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
    pub(crate) fn route(&mut self, lay: &Layout, i: usize, now: u64) {
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

    pub(crate) fn request(&mut self, lay: &Layout, o: usize, from: u32, copy: u32, now: u64) {
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
    pub(crate) fn try_out(&mut self, lay: &Layout, o: usize, now: u64) {
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
            let pop = self.dests[self.copies[cp as usize].dest_start as usize].pop as usize;
            self.tally.pop_hops[pop][link.kind as usize] += 1;
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
            self.cores[core].inq.push_back((c.dest_start, c.dest_len, now));
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

    pub(crate) fn block(&mut self, o: usize, now: u64) {
        if self.outp[o].blocked_since == T_NONE {
            self.outp[o].blocked_since = now;
        }
    }

    /// One branch of the head of input port `i` has left; free the slot when all have.
    pub(crate) fn release(&mut self, lay: &Layout, i: usize, now: u64) {
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
            self.cores[c].loopq.push_back((p.dest_start, p.dest_len, now));
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
}
