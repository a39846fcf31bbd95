//! Sparse linear maps: the IR's linear ops (Affine, Linear, Conv, pooling, Scale) as
//! matrices, their products, and convolutions kept implicit.
//!
//! Needs: verified shapes (each op's input and output shape). Establishes: [`Csr`] rows are
//! outputs and columns inputs, column indices ascending within a row, no stored zero
//! (products drop exact zeros, including cancellations); a convolution's unrolled synapses
//! are exactly the executor's (PyTorch semantics, borders exact, zero weights dropped).

use crate::ir::{Conv, Op, Pool, Shape};

/// A sparse matrix in compressed rows: row `i` holds `(col[k], val[k])` for
/// `k in start[i]..start[i+1]`, columns ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    pub n_rows: usize,
    pub n_cols: usize,
    pub start: Vec<usize>,
    pub col: Vec<u32>,
    pub val: Vec<f64>,
}

impl Csr {
    pub fn identity(n: usize) -> Csr {
        Csr { n_rows: n, n_cols: n, start: (0..=n).collect(), col: (0..n as u32).collect(), val: vec![1.0; n] }
    }

    /// An all-zero matrix.
    pub fn empty(n_rows: usize, n_cols: usize) -> Csr {
        Csr { n_rows, n_cols, start: vec![0; n_rows + 1], col: Vec::new(), val: Vec::new() }
    }

    /// Builds row by row: `row(i, push)` pushes `(column, value)` pairs in ascending column
    /// order; zeros are dropped.
    pub fn from_rows(n_rows: usize, n_cols: usize, mut row: impl FnMut(usize, &mut dyn FnMut(u32, f64))) -> Csr {
        let mut m = Csr { n_rows, n_cols, start: Vec::with_capacity(n_rows + 1), col: Vec::new(), val: Vec::new() };
        m.start.push(0);
        for i in 0..n_rows {
            let (col, val) = (&mut m.col, &mut m.val);
            row(i, &mut |c, v| {
                if v != 0.0 {
                    col.push(c);
                    val.push(v);
                }
            });
            m.start.push(m.col.len());
        }
        m.col.shrink_to_fit();
        m.val.shrink_to_fit();
        m
    }

    pub fn nnz(&self) -> usize {
        self.col.len()
    }

    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (s, e) = (self.start[i], self.start[i + 1]);
        (&self.col[s..e], &self.val[s..e])
    }

    /// The transpose (rows become columns), columns ascending.
    pub fn transpose(&self) -> Csr {
        let mut count = vec![0usize; self.n_cols + 1];
        for &c in &self.col {
            count[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            count[i + 1] += count[i];
        }
        let start = count.clone();
        let mut col = vec![0u32; self.nnz()];
        let mut val = vec![0.0; self.nnz()];
        for i in 0..self.n_rows {
            let (cs, vs) = self.row(i);
            for (&c, &v) in cs.iter().zip(vs) {
                let p = &mut count[c as usize];
                col[*p] = i as u32;
                val[*p] = v;
                *p += 1;
            }
        }
        Csr { n_rows: self.n_cols, n_cols: self.n_rows, start, col, val }
    }

    /// `self · a`: apply `a`, then `self`. Exact zeros of the product are dropped.
    pub fn mul(&self, a: &Csr) -> Csr {
        debug_assert_eq!(self.n_cols, a.n_rows);
        let mut acc = vec![0.0f64; a.n_cols];
        let mut mark = vec![false; a.n_cols];
        let mut touched: Vec<u32> = Vec::new();
        Csr::from_rows(self.n_rows, a.n_cols, |i, push| {
            let (ks, bs) = self.row(i);
            for (&k, &b) in ks.iter().zip(bs) {
                let (cs, vs) = a.row(k as usize);
                for (&c, &v) in cs.iter().zip(vs) {
                    if !mark[c as usize] {
                        mark[c as usize] = true;
                        touched.push(c);
                    }
                    acc[c as usize] += b * v;
                }
            }
            touched.sort_unstable();
            for &c in &touched {
                push(c, acc[c as usize]);
                acc[c as usize] = 0.0;
                mark[c as usize] = false;
            }
            touched.clear();
        })
    }

    /// `y = self · x`.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        (0..self.n_rows)
            .map(|i| {
                let (cs, vs) = self.row(i);
                cs.iter().zip(vs).map(|(&c, &v)| v * x[c as usize]).sum()
            })
            .collect()
    }
}

/// A 1-D or 2-D convolution unrolled on demand (1-D is a 2-D one of height 1).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvGeom {
    pub c_in: usize,
    pub c_out: usize,
    pub groups: usize,
    /// Input `[h, w]`, output `[ho, wo]`, kernel `[kh, kw]`.
    pub input: [usize; 2],
    pub output: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    /// `[c_out, c_in / groups, kh, kw]`, C order.
    pub weight: Vec<f64>,
    /// The input channels `[lo, hi)` whose synapses this projection holds: all of them,
    /// or a slice of a neuron's input chain (see `split`).
    pub in_channels: [usize; 2],
}

impl ConvGeom {
    /// `in_shape` is `[C, L]` or `[C, H, W]` (as verified), `out_shape` likewise.
    pub fn new(conv: &Conv, in_shape: &Shape, out_shape: &Shape) -> ConvGeom {
        let (i, o) = (in_shape.dims(), out_shape.dims());
        let two_d = i.len() == 3;
        let pair = |v: &[usize], one: usize| if two_d { [v[0], v[1]] } else { [one, v[0]] };
        ConvGeom {
            c_in: conv.in_channels(),
            c_out: conv.out_channels(),
            groups: conv.groups,
            input: if two_d { [i[1], i[2]] } else { [1, i[1]] },
            output: if two_d { [o[1], o[2]] } else { [1, o[1]] },
            kernel: pair(conv.kernel(), 1),
            stride: pair(&conv.stride, 1),
            padding: pair(&conv.padding, 0),
            dilation: pair(&conv.dilation, 1),
            weight: conv.weight.data().to_vec(),
            in_channels: [0, conv.in_channels()],
        }
    }

    pub fn n_in(&self) -> usize {
        self.c_in * self.input[0] * self.input[1]
    }

    pub fn n_out(&self) -> usize {
        self.c_out * self.output[0] * self.output[1]
    }

    pub fn cin_per_group(&self) -> usize {
        self.c_in / self.groups
    }

    /// Output channel of output neuron `t`.
    pub fn channel_of(&self, t: usize) -> usize {
        t / (self.output[0] * self.output[1])
    }

    /// Calls `f(input, weight)` for every nonzero synapse into output neuron `t`, inputs
    /// ascending.
    #[inline]
    pub fn for_target(&self, t: usize, mut f: impl FnMut(u32, f64)) {
        let [h, w] = self.input;
        let [ho, wo] = self.output;
        let [kh, kw] = self.kernel;
        let co = t / (ho * wo);
        let p = t % (ho * wo);
        let (oy, ox) = (p / wo, p % wo);
        let cin_pg = self.cin_per_group();
        let g = co / (self.c_out / self.groups);
        let [lo, hi] = self.in_channels;
        let (g0, g1) = (g * cin_pg, (g + 1) * cin_pg);
        if hi <= g0 || lo >= g1 {
            return;
        }
        for cl in lo.max(g0) - g0..hi.min(g1) - g0 {
            let ci = g * cin_pg + cl;
            let wbase = (co * cin_pg + cl) * kh * kw;
            for ky in 0..kh {
                let y = (oy * self.stride[0] + ky * self.dilation[0]) as isize - self.padding[0] as isize;
                if y < 0 || y as usize >= h {
                    continue;
                }
                let row = (ci * h + y as usize) * w;
                for kx in 0..kw {
                    let x = (ox * self.stride[1] + kx * self.dilation[1]) as isize - self.padding[1] as isize;
                    if x < 0 || x as usize >= w {
                        continue;
                    }
                    let v = self.weight[wbase + ky * kw + kx];
                    if v != 0.0 {
                        f((row + x as usize) as u32, v);
                    }
                }
            }
        }
    }

    /// The kernel and geometry as the core map stores them.
    pub fn to_map(&self) -> spikeforge_targets::conv_synapses::ConvSynapses {
        let u = |v: [usize; 2]| [v[0] as u32, v[1] as u32];
        spikeforge_targets::conv_synapses::ConvSynapses {
            c_in: self.c_in as u32,
            c_out: self.c_out as u32,
            groups: self.groups as u32,
            input: u(self.input),
            output: u(self.output),
            kernel: u(self.kernel),
            stride: u(self.stride),
            padding: u(self.padding),
            dilation: u(self.dilation),
            weight: self.weight.clone(),
        }
    }

    /// The unrolled matrix (rows = outputs).
    pub fn to_csr(&self) -> Csr {
        Csr::from_rows(self.n_out(), self.n_in(), |t, push| self.for_target(t, &mut *push))
    }

    /// The input channels of the projection's slice in one group, at most: the weights per
    /// output channel and position a core stores (`c_in / groups` unless the projection is
    /// a slice of a neuron's input chain).
    pub fn slice_channels_per_group(&self) -> usize {
        let cin_pg = self.cin_per_group();
        let [lo, hi] = self.in_channels;
        (0..self.groups).map(|g| hi.min((g + 1) * cin_pg).saturating_sub(lo.max(g * cin_pg))).max().unwrap_or(0)
    }

    /// The shape targets' memory formulas take for a kernel stored once: `in_channels` is
    /// the weights per output channel and position the projection holds
    /// ([`ConvGeom::slice_channels_per_group`]).
    pub fn memory_shape(&self, out_channels: u64) -> spikeforge_targets::memory::Conv2d {
        let u = |v: [usize; 2]| [v[0] as u64, v[1] as u64];
        spikeforge_targets::memory::Conv2d {
            in_channels: self.slice_channels_per_group() as u64,
            out_channels,
            input: u(self.input),
            kernel: u(self.kernel),
            stride: u(self.stride),
            padding: u(self.padding),
        }
    }
}

/// Sum or average pooling as a matrix (rows = outputs): each output sums the inputs of
/// its window inside the borders; averages divide by the full window area (PyTorch's
/// `count_include_pad=True`, as the executor).
pub fn pool_csr(pool: &Pool, average: bool, in_shape: &Shape, out_shape: &Shape) -> Csr {
    let (i, o) = (in_shape.dims(), out_shape.dims());
    let (c, h, w) = (i[0], i[1], i[2]);
    let (ho, wo) = (o[1], o[2]);
    let [kh, kw] = pool.kernel_size;
    let f = if average { 1.0 / (kh * kw) as f64 } else { 1.0 };
    Csr::from_rows(c * ho * wo, c * h * w, |t, push| {
        let ch = t / (ho * wo);
        let (oy, ox) = ((t % (ho * wo)) / wo, t % wo);
        for ky in 0..kh {
            let y = (oy * pool.stride[0] + ky) as isize - pool.padding[0] as isize;
            if y < 0 || y as usize >= h {
                continue;
            }
            for kx in 0..kw {
                let x = (ox * pool.stride[1] + kx) as isize - pool.padding[1] as isize;
                if x < 0 || x as usize >= w {
                    continue;
                }
                push(((ch * h + y as usize) * w + x as usize) as u32, f);
            }
        }
    })
}

/// The matrix of a linear op (rows = outputs). `None` for ops that are not linear maps
/// (Flatten is the identity on flat indices and has none either).
pub fn op_csr(op: &Op, in_shape: &Shape, out_shape: &Shape) -> Option<Csr> {
    Some(match op {
        Op::Affine { weight, .. } | Op::Linear { weight } => {
            let (n_out, n_in) = (weight.dims()[0], weight.dims()[1]);
            let w = weight.data();
            // Sized exactly: the matrix may hold most of a model's synapses.
            let nnz = w.iter().filter(|&&v| v != 0.0).count();
            let mut m = Csr {
                n_rows: n_out,
                n_cols: n_in,
                start: Vec::with_capacity(n_out + 1),
                col: Vec::with_capacity(nnz),
                val: Vec::with_capacity(nnz),
            };
            m.start.push(0);
            for i in 0..n_out {
                for (j, &v) in w[i * n_in..(i + 1) * n_in].iter().enumerate() {
                    if v != 0.0 {
                        m.col.push(j as u32);
                        m.val.push(v);
                    }
                }
                m.start.push(m.col.len());
            }
            m
        }
        Op::Conv1d(c) | Op::Conv2d(c) => ConvGeom::new(c, in_shape, out_shape).to_csr(),
        Op::SumPool2d(p) => pool_csr(p, false, in_shape, out_shape),
        Op::AvgPool2d(p) => pool_csr(p, true, in_shape, out_shape),
        Op::Scale { scale } => {
            let s = scale.data();
            Csr::from_rows(s.len(), s.len(), |i, push| push(i as u32, s[i]))
        }
        _ => return None,
    })
}

/// The constant an op adds to its output whatever its input (Affine and conv biases).
pub fn op_bias(op: &Op, out_shape: &Shape) -> Option<Vec<f64>> {
    match op {
        Op::Affine { bias, .. } => Some(bias.data().to_vec()),
        Op::Conv1d(c) | Op::Conv2d(c) => {
            let per = out_shape.numel() / c.out_channels().max(1);
            Some(c.bias.data().iter().flat_map(|&b| std::iter::repeat_n(b, per)).collect())
        }
        _ => None,
    }
    .filter(|b| b.iter().any(|&v| v != 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(m: &Csr) -> Vec<Vec<f64>> {
        let mut d = vec![vec![0.0; m.n_cols]; m.n_rows];
        for (i, row) in d.iter_mut().enumerate() {
            let (cs, vs) = m.row(i);
            for (&c, &v) in cs.iter().zip(vs) {
                row[c as usize] = v;
            }
        }
        d
    }

    #[test]
    fn product_matches_dense_and_drops_cancellations() {
        let a = Csr::from_rows(2, 3, |i, push| {
            if i == 0 {
                push(0, 1.0);
                push(2, 2.0);
            } else {
                push(1, 3.0);
            }
        });
        let b = Csr::from_rows(2, 2, |i, push| {
            if i == 0 {
                push(0, 1.0);
                push(1, 1.0);
            } else {
                push(0, 2.0);
            }
        });
        let c = b.mul(&a);
        assert_eq!(dense(&c), vec![vec![1.0, 3.0, 2.0], vec![2.0, 0.0, 4.0]]);
        let neg = Csr::from_rows(1, 2, |_, push| {
            push(0, 1.0);
            push(1, -1.0);
        });
        let ones = Csr::from_rows(2, 1, |_, push| push(0, 1.0));
        assert_eq!(neg.mul(&ones).nnz(), 0, "1 − 1 is an exact zero and is dropped");
        assert_eq!(dense(&a.transpose().transpose()), dense(&a));
    }
}
