//! Weight-layer and pooling kernels: event-driven scatter.
//!
//! Each nonzero input adds its column of weights (stored transposed, so the column is
//! contiguous) to the output: the cost grows with the events received, not with the dense
//! size of the layer. Synaptic operations are counted per event from precomputed tables
//! under NeuroBench's Effective_ACs convention: a nonzero input counts once per nonzero
//! weight it reaches, borders exact.

use crate::ir::{Conv, Pool, Tensor};

/// `y = W x (+ b)`: Affine and Linear.
#[derive(Clone, Debug)]
pub struct Dense {
    pub n_out: usize,
    /// `wt[j * n_out + i] = W[i, j]`.
    wt: Vec<f64>,
    bias: Option<Vec<f64>>,
    /// Nonzero weights in column j.
    sops_per_input: Vec<u64>,
}

impl Dense {
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Dense {
        let (n_out, n_in) = (weight.dims()[0], weight.dims()[1]);
        let w = weight.data();
        let mut wt = vec![0.0; n_in * n_out];
        let mut sops_per_input = vec![0u64; n_in];
        for i in 0..n_out {
            for j in 0..n_in {
                let v = w[i * n_in + j];
                wt[j * n_out + i] = v;
                sops_per_input[j] += (v != 0.0) as u64;
            }
        }
        Dense { n_out, wt, bias: bias.map(|b| b.data().to_vec()), sops_per_input }
    }

    /// The output for an all-zero input (what a recurrent edge carries before step 0).
    pub fn rest_output(&self) -> Vec<f64> {
        self.bias.clone().unwrap_or_else(|| vec![0.0; self.n_out])
    }

    #[inline]
    pub fn run(&self, input: &[f64], out: &mut [f64]) -> u64 {
        match &self.bias {
            Some(b) => out.copy_from_slice(b),
            None => out.fill(0.0),
        }
        let mut sops = 0;
        for (j, &x) in input.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            sops += self.sops_per_input[j];
            let col = &self.wt[j * self.n_out..(j + 1) * self.n_out];
            if x == 1.0 {
                for (o, w) in out.iter_mut().zip(col) {
                    *o += *w;
                }
            } else {
                for (o, w) in out.iter_mut().zip(col) {
                    *o += x * *w;
                }
            }
        }
        sops
    }
}

/// Input position → output positions it reaches, as compressed rows.
#[derive(Clone, Debug)]
struct Taps {
    start: Vec<u32>,
    /// (kernel tap index, output position).
    list: Vec<(u32, u32)>,
}

/// For a 2-D sliding window (1-D is H = 1), which (tap, output) pairs each input reaches.
#[allow(clippy::too_many_arguments)]
fn window_taps(
    (h, w): (usize, usize),
    (kh, kw): (usize, usize),
    stride: [usize; 2],
    pad: [usize; 2],
    dil: [usize; 2],
    (ho, wo): (usize, usize),
) -> Taps {
    let mut start = Vec::with_capacity(h * w + 1);
    let mut list = Vec::new();
    for y in 0..h {
        for x in 0..w {
            start.push(list.len() as u32);
            for ky in 0..kh {
                let ny = (y + pad[0]) as isize - (ky * dil[0]) as isize;
                if ny < 0 || ny as usize % stride[0] != 0 {
                    continue;
                }
                let oy = ny as usize / stride[0];
                if oy >= ho {
                    continue;
                }
                for kx in 0..kw {
                    let nx = (x + pad[1]) as isize - (kx * dil[1]) as isize;
                    if nx < 0 || nx as usize % stride[1] != 0 {
                        continue;
                    }
                    let ox = nx as usize / stride[1];
                    if ox >= wo {
                        continue;
                    }
                    list.push(((ky * kw + kx) as u32, (oy * wo + ox) as u32));
                }
            }
        }
    }
    start.push(list.len() as u32);
    Taps { start, list }
}

/// Conv1d / Conv2d with PyTorch semantics (stride, padding, dilation, groups).
#[derive(Clone, Debug)]
pub struct ConvKernel {
    c_in: usize,
    c_out: usize,
    hw_in: usize,
    hw_out: usize,
    n_taps: usize,
    cin_per_group: usize,
    cout_per_group: usize,
    taps: Taps,
    /// `wt[(ci * n_taps + k) * cout_per_group + co_local]`.
    wt: Vec<f64>,
    bias: Vec<f64>,
    /// Per input element `ci * hw_in + p`.
    sops_per_input: Vec<u64>,
}

impl ConvKernel {
    /// `in_shape` is `[C, L]` or `[C, H, W]`; `out_shape` likewise (verified by the gate).
    pub fn new(conv: &Conv, in_shape: &[usize], out_shape: &[usize]) -> ConvKernel {
        let two_d = in_shape.len() == 3;
        let (h, w, ho, wo) = if two_d {
            (in_shape[1], in_shape[2], out_shape[1], out_shape[2])
        } else {
            (1, in_shape[1], 1, out_shape[1])
        };
        let k = conv.kernel();
        let (kh, kw) = if two_d { (k[0], k[1]) } else { (1, k[0]) };
        let pair = |v: &[usize], one: usize| if two_d { [v[0], v[1]] } else { [one, v[0]] };
        let taps = window_taps(
            (h, w),
            (kh, kw),
            pair(&conv.stride, 1),
            pair(&conv.padding, 0),
            pair(&conv.dilation, 1),
            (ho, wo),
        );
        let (c_in, c_out) = (conv.in_channels(), conv.out_channels());
        let cin_pg = c_in / conv.groups;
        let cout_pg = c_out / conv.groups;
        let n_taps = kh * kw;
        let wd = conv.weight.data();
        let mut wt = vec![0.0; c_in * n_taps * cout_pg];
        // nnz over output channels for each (ci, tap)
        let mut nnz_tap = vec![0u64; c_in * n_taps];
        for co in 0..c_out {
            let g = co / cout_pg;
            for cl in 0..cin_pg {
                let ci = g * cin_pg + cl;
                for t in 0..n_taps {
                    let v = wd[(co * cin_pg + cl) * n_taps + t];
                    wt[(ci * n_taps + t) * cout_pg + (co - g * cout_pg)] = v;
                    nnz_tap[ci * n_taps + t] += (v != 0.0) as u64;
                }
            }
        }
        let hw_in = h * w;
        let mut sops_per_input = vec![0u64; c_in * hw_in];
        for ci in 0..c_in {
            for p in 0..hw_in {
                let (s, e) = (taps.start[p] as usize, taps.start[p + 1] as usize);
                sops_per_input[ci * hw_in + p] =
                    taps.list[s..e].iter().map(|&(t, _)| nnz_tap[ci * n_taps + t as usize]).sum();
            }
        }
        ConvKernel {
            c_in,
            c_out,
            hw_in,
            hw_out: ho * wo,
            n_taps,
            cin_per_group: cin_pg,
            cout_per_group: cout_pg,
            taps,
            wt,
            bias: conv.bias.data().to_vec(),
            sops_per_input,
        }
    }

    pub fn rest_output(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.c_out * self.hw_out];
        for co in 0..self.c_out {
            out[co * self.hw_out..(co + 1) * self.hw_out].fill(self.bias[co]);
        }
        out
    }

    /// Scratch size: the channels-last accumulator.
    pub fn scratch_len(&self) -> usize {
        self.c_out * self.hw_out
    }

    #[inline]
    pub fn run(&self, input: &[f64], out: &mut [f64], acc: &mut [f64]) -> u64 {
        acc.fill(0.0);
        let mut sops = 0;
        let cpg = self.cout_per_group;
        for ci in 0..self.c_in {
            let g = ci / self.cin_per_group;
            let plane = &input[ci * self.hw_in..(ci + 1) * self.hw_in];
            for (p, &x) in plane.iter().enumerate() {
                if x == 0.0 {
                    continue;
                }
                sops += self.sops_per_input[ci * self.hw_in + p];
                let (s, e) = (self.taps.start[p] as usize, self.taps.start[p + 1] as usize);
                for &(t, q) in &self.taps.list[s..e] {
                    let w0 = (ci * self.n_taps + t as usize) * cpg;
                    let w = &self.wt[w0..w0 + cpg];
                    let a0 = q as usize * self.c_out + g * cpg;
                    let a = &mut acc[a0..a0 + cpg];
                    if x == 1.0 {
                        for (o, wv) in a.iter_mut().zip(w) {
                            *o += *wv;
                        }
                    } else {
                        for (o, wv) in a.iter_mut().zip(w) {
                            *o += x * *wv;
                        }
                    }
                }
            }
        }
        for co in 0..self.c_out {
            let b = self.bias[co];
            let row = &mut out[co * self.hw_out..(co + 1) * self.hw_out];
            for (q, o) in row.iter_mut().enumerate() {
                *o = b + acc[q * self.c_out + co];
            }
        }
        sops
    }
}

/// SumPool2d / AvgPool2d (average over the full window area, padding included).
#[derive(Clone, Debug)]
pub struct PoolKernel {
    channels: usize,
    hw_in: usize,
    hw_out: usize,
    taps: Taps,
    /// 1 / area for AvgPool2d, None for SumPool2d.
    divisor: Option<f64>,
}

impl PoolKernel {
    pub fn new(pool: &Pool, average: bool, in_shape: &[usize], out_shape: &[usize]) -> PoolKernel {
        let taps = window_taps(
            (in_shape[1], in_shape[2]),
            (pool.kernel_size[0], pool.kernel_size[1]),
            pool.stride,
            pool.padding,
            [1, 1],
            (out_shape[1], out_shape[2]),
        );
        PoolKernel {
            channels: in_shape[0],
            hw_in: in_shape[1] * in_shape[2],
            hw_out: out_shape[1] * out_shape[2],
            taps,
            divisor: average.then(|| (pool.kernel_size[0] * pool.kernel_size[1]) as f64),
        }
    }

    #[inline]
    pub fn run(&self, input: &[f64], out: &mut [f64]) -> u64 {
        out.fill(0.0);
        let mut sops = 0;
        for c in 0..self.channels {
            let plane = &input[c * self.hw_in..(c + 1) * self.hw_in];
            let o = &mut out[c * self.hw_out..(c + 1) * self.hw_out];
            for (p, &x) in plane.iter().enumerate() {
                if x == 0.0 {
                    continue;
                }
                let (s, e) = (self.taps.start[p] as usize, self.taps.start[p + 1] as usize);
                sops += (e - s) as u64;
                for &(_, q) in &self.taps.list[s..e] {
                    o[q as usize] += x;
                }
            }
        }
        if let Some(d) = self.divisor {
            for v in out.iter_mut() {
                *v /= d;
            }
        }
        sops
    }
}

/// Nonzero connections of a weight layer, unrolled (conv: over positions, borders exact):
/// the synaptic operations one step would count if every input were nonzero.
pub fn synapse_count(op: &crate::ir::Op, in_shape: &crate::ir::Shape, out_shape: &crate::ir::Shape) -> u64 {
    use crate::ir::Op;
    match op {
        Op::Affine { weight, .. } | Op::Linear { weight } => weight.nnz() as u64,
        Op::Conv1d(c) | Op::Conv2d(c) => {
            ConvKernel::new(c, in_shape.dims(), out_shape.dims()).sops_per_input.iter().sum()
        }
        _ => 0,
    }
}
