//! Convolutional projections kept symbolic: a kernel and its geometry stand for every
//! synapse the convolution would unroll to, so maps and simulators grow with kernels and
//! neurons, not with unrolled synapses.
//!
//! Semantics (PyTorch's, as the reference executor): event `e = ci·H·W + y·W + x` (an
//! input channel and position) reaches target neuron `t = co·Ho·Wo + oy·Wo + ox` through
//! kernel tap `(ky, kx)` when `oy·sy + ky·dy − py = y`, `ox·sx + kx·dx − px = x` and `co` is
//! in `ci`'s group, with weight `weight[((co·cin_pg + ci mod cin_pg)·kh + ky)·kw + kx]`.
//! Zero weights are absent synapses (masks). An event reaches a target neuron through at
//! most one tap, so the order in which one event's synapses are visited never changes a
//! neuron's sum. [`ConvSynapses::check`] is the gate for maps read from disk.

use serde::{Deserialize, Serialize};

/// A convolution's kernel and geometry (1-D convolutions have height 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvSynapses {
    pub c_in: u32,
    pub c_out: u32,
    pub groups: u32,
    /// Input `[h, w]`, output `[ho, wo]`, kernel `[kh, kw]`.
    pub input: [u32; 2],
    pub output: [u32; 2],
    pub kernel: [u32; 2],
    pub stride: [u32; 2],
    pub padding: [u32; 2],
    pub dilation: [u32; 2],
    /// `[c_out, c_in / groups, kh, kw]`, C order.
    pub weight: Vec<f64>,
}

/// The part of a target population one core holds, by channel: neurons at output
/// positions `first_pos..end_pos` of channel `channel` are local neurons `local..`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ChannelRun {
    pub channel: u32,
    pub first_pos: u32,
    pub end_pos: u32,
    pub local: u32,
}

impl ConvSynapses {
    pub fn n_in(&self) -> u64 {
        self.c_in as u64 * self.input[0] as u64 * self.input[1] as u64
    }

    pub fn n_out(&self) -> u64 {
        self.c_out as u64 * self.output[0] as u64 * self.output[1] as u64
    }

    fn out_plane(&self) -> u32 {
        self.output[0] * self.output[1]
    }

    /// Checks the geometry against the projection's event and target counts; the reason
    /// for the first inconsistency. After it, every index computed below is in range.
    pub fn check(&self, n_events: u32, n_targets: u32) -> Result<(), String> {
        let pos = |v: [u32; 2], what: &str| {
            if v[0] == 0 || v[1] == 0 {
                Err(format!("convolution {what} {v:?} has a zero"))
            } else {
                Ok(())
            }
        };
        pos(self.kernel, "kernel")?;
        pos(self.stride, "stride")?;
        pos(self.dilation, "dilation")?;
        pos(self.input, "input size")?;
        pos(self.output, "output size")?;
        if self.groups == 0
            || self.c_in == 0
            || self.c_out == 0
            || self.c_in % self.groups != 0
            || self.c_out % self.groups != 0
        {
            return Err(format!(
                "convolution of {} → {} channels in {} groups: channels must be positive multiples of groups",
                self.c_in, self.c_out, self.groups
            ));
        }
        if self.n_in() != n_events as u64 {
            return Err(format!("convolution input {}×{:?} is not its {n_events} events", self.c_in, self.input));
        }
        if self.n_out() != n_targets as u64 {
            return Err(format!(
                "convolution output {}×{:?} is not its {n_targets} target neurons",
                self.c_out, self.output
            ));
        }
        for d in 0..2 {
            // The output size PyTorch computes for this geometry.
            let span = self.dilation[d] as u64 * (self.kernel[d] as u64 - 1) + 1;
            let padded = self.input[d] as u64 + 2 * self.padding[d] as u64;
            let expect = if padded < span { 0 } else { (padded - span) / self.stride[d] as u64 + 1 };
            if expect != self.output[d] as u64 {
                return Err(format!(
                    "convolution output size {} along axis {d} should be {expect} for input {}, kernel {}, stride {}, \
                     padding {}, dilation {}",
                    self.output[d], self.input[d], self.kernel[d], self.stride[d], self.padding[d], self.dilation[d]
                ));
            }
        }
        let len = self.c_out as u64 * (self.c_in / self.groups) as u64 * self.kernel[0] as u64 * self.kernel[1] as u64;
        if self.weight.len() as u64 != len {
            return Err(format!("convolution kernel holds {} weights, its shape needs {len}", self.weight.len()));
        }
        if let Some(w) = self.weight.iter().find(|w| !w.is_finite()) {
            return Err(format!("convolution weight {w}"));
        }
        Ok(())
    }

    /// Splits a core's ranges of the target population `(first, count, local_offset)`
    /// into per-channel runs (checked geometry and ranges inside the population).
    pub fn channel_runs(&self, ranges: &[(u32, u32, u32)]) -> Vec<ChannelRun> {
        let plane = self.out_plane();
        let mut runs = Vec::new();
        for &(first, count, local) in ranges {
            let mut t = first;
            let end = first + count;
            while t < end {
                let channel = t / plane;
                let stop = end.min((channel + 1) * plane);
                runs.push(ChannelRun {
                    channel,
                    first_pos: t % plane,
                    end_pos: stop - channel * plane,
                    local: local + (t - first),
                });
                t = stop;
            }
        }
        runs.sort_by_key(|r| (r.channel, r.first_pos));
        runs
    }

    /// Calls `f(tap, output position)` for every kernel tap of input position `p`
    /// (`y·W + x`) that lands inside the output.
    #[inline]
    pub fn for_taps(&self, p: u32, mut f: impl FnMut(u32, u32)) {
        let [h, w] = self.input;
        let _ = h;
        let (y, x) = ((p / w) as i64, (p % w) as i64);
        let [kh, kw] = self.kernel;
        let [ho, wo] = self.output;
        for ky in 0..kh {
            let ny = y + self.padding[0] as i64 - (ky * self.dilation[0]) as i64;
            if ny < 0 || ny % self.stride[0] as i64 != 0 {
                continue;
            }
            let oy = (ny / self.stride[0] as i64) as u32;
            if oy >= ho {
                continue;
            }
            for kx in 0..kw {
                let nx = x + self.padding[1] as i64 - (kx * self.dilation[1]) as i64;
                if nx < 0 || nx % self.stride[1] as i64 != 0 {
                    continue;
                }
                let ox = (nx / self.stride[1] as i64) as u32;
                if ox >= wo {
                    continue;
                }
                f(ky * kw + kx, oy * wo + ox);
            }
        }
    }

    /// Calls `f(local neuron, weight)` for every nonzero synapse of event `e` into the
    /// neurons of `runs` (from [`ConvSynapses::channel_runs`]).
    #[inline]
    pub fn for_event(&self, e: u32, runs: &[ChannelRun], mut f: impl FnMut(u32, f64)) {
        let hw = self.input[0] * self.input[1];
        let (ci, p) = (e / hw, e % hw);
        let cin_pg = self.c_in / self.groups;
        let cout_pg = self.c_out / self.groups;
        let g = ci / cin_pg;
        let (c_lo, c_hi) = (g * cout_pg, (g + 1) * cout_pg);
        let taps = (self.kernel[0] * self.kernel[1]) as usize;
        let wbase = (ci - g * cin_pg) as usize * taps;
        let stride = cin_pg as usize * taps;
        let lo = runs.partition_point(|r| r.channel < c_lo);
        let hi = runs.partition_point(|r| r.channel < c_hi);
        let runs = &runs[lo..hi];
        if runs.is_empty() {
            return;
        }
        self.for_taps(p, |k, op| {
            for r in runs {
                if op >= r.first_pos && op < r.end_pos {
                    let v = self.weight[r.channel as usize * stride + wbase + k as usize];
                    if v != 0.0 {
                        f(r.local + op - r.first_pos, v);
                    }
                }
            }
        });
    }

    /// Nonzero synapses of event `e` into `runs`.
    pub fn count_event(&self, e: u32, runs: &[ChannelRun]) -> u32 {
        let mut n = 0;
        self.for_event(e, runs, |_, _| n += 1);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A naive unrolling: every (target, input, tap) triple tested against the formula.
    fn naive(c: &ConvSynapses) -> Vec<(u32, u32, u64)> {
        let mut out = Vec::new();
        let (cin_pg, cout_pg) = (c.c_in / c.groups, c.c_out / c.groups);
        for co in 0..c.c_out {
            for oy in 0..c.output[0] {
                for ox in 0..c.output[1] {
                    let t = (co * c.output[0] + oy) * c.output[1] + ox;
                    for cl in 0..cin_pg {
                        let ci = (co / cout_pg) * cin_pg + cl;
                        for ky in 0..c.kernel[0] {
                            for kx in 0..c.kernel[1] {
                                let y = (oy * c.stride[0] + ky * c.dilation[0]) as i64 - c.padding[0] as i64;
                                let x = (ox * c.stride[1] + kx * c.dilation[1]) as i64 - c.padding[1] as i64;
                                if y < 0 || x < 0 || y >= c.input[0] as i64 || x >= c.input[1] as i64 {
                                    continue;
                                }
                                let w = c.weight[(((co * cin_pg + cl) * c.kernel[0] + ky) * c.kernel[1] + kx) as usize];
                                if w != 0.0 {
                                    let e = (ci * c.input[0] + y as u32) * c.input[1] + x as u32;
                                    out.push((e, t, w.to_bits()));
                                }
                            }
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn events_reach_exactly_the_unrolled_synapses_on_any_split() {
        for (groups, stride, padding, dilation) in [(1, [1, 1], [1, 1], [1, 1]), (2, [2, 1], [0, 2], [1, 2])] {
            let (c_in, c_out, input, kernel) = (4u32, 6u32, [5u32, 6u32], [3u32, 2u32]);
            let mut output = [0; 2];
            for d in 0..2 {
                output[d] = (input[d] + 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1) / stride[d] + 1;
            }
            let n_w = (c_out * c_in / groups * kernel[0] * kernel[1]) as usize;
            let weight = (0..n_w).map(|i| if i % 7 == 3 { 0.0 } else { i as f64 * 0.5 - 3.0 }).collect();
            let c = ConvSynapses { c_in, c_out, groups, input, output, kernel, stride, padding, dilation, weight };
            c.check(c.n_in() as u32, c.n_out() as u32).unwrap();
            let n_out = c.n_out() as u32;
            let want = naive(&c);
            // Two "cores": a split in the middle of a channel, local offsets shuffled.
            let cut = n_out / 2 + 1;
            let cores = [vec![(0, 3, cut - 3), (3, cut - 3, 0)], vec![(cut, n_out - cut, 0)]];
            let mut got = Vec::new();
            for ranges in &cores {
                let runs = c.channel_runs(ranges);
                let global = |l: u32| {
                    let &(f, _, off) = ranges.iter().find(|r| l >= r.2 && l < r.2 + r.1).unwrap();
                    f + l - off
                };
                for e in 0..c.n_in() as u32 {
                    c.for_event(e, &runs, |l, w| got.push((e, global(l), w.to_bits())));
                }
            }
            got.sort_unstable();
            assert_eq!(got.len(), want.len());
            assert!(got == want, "synapses differ");
        }
    }

    #[test]
    fn check_refuses_inconsistent_geometry() {
        let c = ConvSynapses {
            c_in: 2,
            c_out: 2,
            groups: 1,
            input: [4, 4],
            output: [4, 4],
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
            weight: vec![1.0; 36],
        };
        assert!(c.check(32, 32).is_ok());
        assert!(c.check(31, 32).is_err());
        let mut bad = c.clone();
        bad.output = [5, 4];
        assert!(bad.check(32, 40).is_err());
        let mut bad = c.clone();
        bad.stride = [0, 1];
        assert!(bad.check(32, 32).is_err());
        let mut bad = c.clone();
        bad.weight.pop();
        assert!(bad.check(32, 32).is_err());
        let mut bad = c;
        bad.groups = 3;
        assert!(bad.check(32, 32).is_err());
    }
}
