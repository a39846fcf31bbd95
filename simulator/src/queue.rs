//! The timing engine's event queue: a calendar of the next [`WINDOW`] cycles in front of a
//! binary heap.
//!
//! Needs: 128-bit event keys whose top bits (from bit [`CYCLE_SHIFT`]) are the cycle.
//! Establishes: [`EventQueue::pop`] returns the smallest key held, exactly as one binary
//! heap of every key would. Events of the cycle being processed sit in a small heap;
//! events of the next `WINDOW − 1` cycles in one unsorted bucket per cycle (found through
//! a bitmap); later ones in a heap. Advancing to the next cycle takes its bucket and the
//! far heap's events of that cycle, so a push costs O(1) for nearly every event and a pop
//! orders only the events of one cycle.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Bit of a key where its cycle starts.
pub(crate) const CYCLE_SHIFT: u32 = 84;
/// Cycles ahead held in buckets (a power of two; 64 cycles per bitmap word).
const WINDOW: usize = 1024;
const WORDS: usize = WINDOW / 64;

pub(crate) struct EventQueue {
    /// The cycle whose events `current` holds.
    now: u64,
    current: BinaryHeap<Reverse<u128>>,
    /// `buckets[c % WINDOW]`: the events of cycle `c`, for `now < c < now + WINDOW`.
    buckets: Vec<Vec<u128>>,
    /// Bit `c % WINDOW` set when `buckets[c % WINDOW]` is not empty.
    occupied: [u64; WORDS],
    in_buckets: usize,
    far: BinaryHeap<Reverse<u128>>,
}

fn cycle_of(key: u128) -> u64 {
    (key >> CYCLE_SHIFT) as u64
}

impl EventQueue {
    pub fn new() -> EventQueue {
        EventQueue {
            now: 0,
            current: BinaryHeap::new(),
            buckets: vec![Vec::new(); WINDOW],
            occupied: [0; WORDS],
            in_buckets: 0,
            far: BinaryHeap::new(),
        }
    }

    /// Empties the queue and starts at cycle 0.
    pub fn clear(&mut self) {
        self.now = 0;
        self.current.clear();
        if self.in_buckets > 0 {
            for b in &mut self.buckets {
                b.clear();
            }
        }
        self.occupied = [0; WORDS];
        self.in_buckets = 0;
        self.far.clear();
    }

    #[inline]
    pub fn push(&mut self, key: u128) {
        let c = cycle_of(key);
        if c <= self.now {
            self.current.push(Reverse(key));
        } else if c - self.now < WINDOW as u64 {
            let i = c as usize % WINDOW;
            self.buckets[i].push(key);
            self.occupied[i / 64] |= 1 << (i % 64);
            self.in_buckets += 1;
        } else {
            self.far.push(Reverse(key));
        }
    }

    /// The smallest key held.
    #[inline]
    pub fn pop(&mut self) -> Option<u128> {
        if let Some(Reverse(k)) = self.current.pop() {
            return Some(k);
        }
        self.advance()?;
        self.current.pop().map(|Reverse(k)| k)
    }

    /// Moves to the next cycle holding events and gathers them into `current`.
    fn advance(&mut self) -> Option<()> {
        let from_buckets = self.next_bucket_cycle();
        let from_far = self.far.peek().map(|Reverse(k)| cycle_of(*k));
        let next = match (from_buckets, from_far) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return None,
        };
        self.now = next;
        let mut keys = std::mem::take(&mut self.current).into_vec();
        if from_buckets == Some(next) {
            let i = next as usize % WINDOW;
            self.in_buckets -= self.buckets[i].len();
            self.occupied[i / 64] &= !(1 << (i % 64));
            keys.extend(self.buckets[i].drain(..).map(Reverse));
        }
        while let Some(&Reverse(k)) = self.far.peek() {
            if cycle_of(k) != next {
                break;
            }
            self.far.pop();
            keys.push(Reverse(k));
        }
        self.current = BinaryHeap::from(keys);
        Some(())
    }

    /// The earliest cycle after `now` with a non-empty bucket.
    fn next_bucket_cycle(&self) -> Option<u64> {
        if self.in_buckets == 0 {
            return None;
        }
        let start = (self.now as usize + 1) % WINDOW;
        // Bits at or after `start`, then (wrapping) the ones before it.
        for step in 0..=WORDS {
            let w = (start / 64 + step) % WORDS;
            let mut bits = self.occupied[w];
            if step == 0 {
                bits &= !0u64 << (start % 64);
            } else if step == WORDS {
                bits &= (1u64 << (start % 64)).wrapping_sub(1);
            }
            if bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                let ahead = (i + WINDOW - start) % WINDOW;
                return Some(self.now + 1 + ahead as u64);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cycle: u64, tie: u64) -> u128 {
        (cycle as u128) << CYCLE_SHIFT | tie as u128
    }

    /// Pops agree with one binary heap under interleaved pushes at, near and far after
    /// the current cycle (seeded).
    #[test]
    fn pops_in_heap_order() {
        let mut q = EventQueue::new();
        let mut reference = BinaryHeap::new();
        let mut s = 7u64;
        let mut rnd = |n: u64| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) % n
        };
        let mut now = 0;
        let mut tie = 0;
        for round in 0..20_000 {
            for _ in 0..rnd(4) {
                let ahead = match rnd(10) {
                    0 => 0,
                    1 => WINDOW as u64 + rnd(5000),
                    2 => WINDOW as u64 - 1 - rnd(3),
                    _ => rnd(40),
                };
                tie += 1;
                let k = key(now + ahead, tie);
                q.push(k);
                reference.push(Reverse(k));
            }
            if round % 3 != 0 {
                let a = q.pop();
                let b = reference.pop().map(|Reverse(k)| k);
                assert_eq!(a, b);
                if let Some(k) = a {
                    now = cycle_of(k);
                }
            }
            if round == 10_000 {
                q.clear();
                reference.clear();
                now = 0;
            }
        }
        while let Some(Reverse(k)) = reference.pop() {
            assert_eq!(q.pop(), Some(k));
        }
        assert_eq!(q.pop(), None);
    }
}
