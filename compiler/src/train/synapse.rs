//! Weight-layer and pooling kernels with their backward passes.
//!
//! Forward is event-driven like the reference executor's (each nonzero input adds its
//! weight column), in the same summation order, so the trained network's spikes are the
//! executor's. Backward of `y = W x + b` at one step: `∂b += ∂y`, `∂W[:, j] += x_j·∂y` for
//! the nonzero inputs only (binary spikes: the active rows of the transposed gradient
//! receive `∂y` as is — no multiply, no work for silent inputs), and `∂x = Wᵀ ∂y` only when
//! something upstream has parameters. Weights are stored transposed (`wt[j·n_out + i] =
//! W[i, j]`) so both the forward gather and the weight-gradient update walk contiguous rows.

use crate::ir::{Conv, Pool};

/// `y = W x (+ b)` geometry (Affine, Linear).
#[derive(Clone, Debug)]
pub struct DenseGeom {
    pub n_in: usize,
    pub n_out: usize,
}

impl DenseGeom {
    /// `W[i, j]` (NIR, row-major) of the internal index `j·n_out + i`.
    pub fn nir_index(&self) -> Vec<u32> {
        let mut idx = vec![0u32; self.n_in * self.n_out];
        for j in 0..self.n_in {
            for i in 0..self.n_out {
                idx[j * self.n_out + i] = (i * self.n_in + j) as u32;
            }
        }
        idx
    }

    #[inline]
    pub fn forward(&self, wt: &[f64], bias: Option<&[f64]>, x: &[f64], y: &mut [f64]) {
        match bias {
            Some(b) => y.copy_from_slice(b),
            None => y.fill(0.0),
        }
        let n = self.n_out;
        for (j, &xj) in x.iter().enumerate() {
            if xj == 0.0 {
                continue;
            }
            axpy(y, &wt[j * n..(j + 1) * n], xj);
        }
    }

    /// Accumulates `∂W` (transposed), `∂b`, and writes `∂x` when `gx` is given.
    #[inline]
    pub fn backward(
        &self,
        wt: &[f64],
        x: &[f64],
        gy: &[f64],
        gwt: &mut [f64],
        gb: Option<&mut [f64]>,
        gx: Option<&mut [f64]>,
    ) {
        let n = self.n_out;
        if let Some(gb) = gb {
            gb.iter_mut().zip(gy).for_each(|(g, d)| *g += *d);
        }
        for (j, &xj) in x.iter().enumerate() {
            if xj == 0.0 {
                continue;
            }
            axpy(&mut gwt[j * n..(j + 1) * n], gy, xj);
        }
        if let Some(gx) = gx {
            for (j, g) in gx.iter_mut().enumerate() {
                *g = dot(&wt[j * n..(j + 1) * n], gy);
            }
        }
    }
}

/// `y += x·v`; a spike (x = 1) adds `v` as is, as the executor does.
#[inline]
fn axpy(y: &mut [f64], v: &[f64], x: f64) {
    if x == 1.0 {
        y.iter_mut().zip(v).for_each(|(o, w)| *o += *w);
    } else {
        y.iter_mut().zip(v).for_each(|(o, w)| *o += x * *w);
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four partial sums: independent chains the compiler vectorises.
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// For each input position, the (kernel tap, output position) pairs it reaches, in
/// compressed rows: built by walking output positions and taps (the gather view) and
/// inverting it, so each input's list is ordered by output position.
#[derive(Clone, Debug)]
pub struct Window {
    start: Vec<u32>,
    pairs: Vec<(u32, u32)>,
}

/// A 2-D sliding window (1-D: height 1).
#[derive(Clone, Copy, Debug)]
pub struct WindowSpec {
    pub in_hw: [usize; 2],
    pub out_hw: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl Window {
    pub fn new(s: &WindowSpec) -> Window {
        let n_in = s.in_hw[0] * s.in_hw[1];
        let mut gather: Vec<(u32, u32, u32)> = Vec::new(); // (input, tap, output)
        for oy in 0..s.out_hw[0] {
            for ox in 0..s.out_hw[1] {
                for ky in 0..s.kernel[0] {
                    for kx in 0..s.kernel[1] {
                        let iy = (oy * s.stride[0] + ky * s.dilation[0]) as isize - s.padding[0] as isize;
                        let ix = (ox * s.stride[1] + kx * s.dilation[1]) as isize - s.padding[1] as isize;
                        if iy < 0 || ix < 0 || iy as usize >= s.in_hw[0] || ix as usize >= s.in_hw[1] {
                            continue;
                        }
                        let p = iy as usize * s.in_hw[1] + ix as usize;
                        let q = oy * s.out_hw[1] + ox;
                        gather.push((p as u32, (ky * s.kernel[1] + kx) as u32, q as u32));
                    }
                }
            }
        }
        // Stable sort by input keeps each input's pairs in output order.
        gather.sort_by_key(|&(p, _, _)| p);
        let mut start = vec![0u32; n_in + 1];
        for &(p, _, _) in &gather {
            start[p as usize + 1] += 1;
        }
        for i in 0..n_in {
            start[i + 1] += start[i];
        }
        Window { start, pairs: gather.into_iter().map(|(_, t, q)| (t, q)).collect() }
    }

    #[inline]
    fn of(&self, p: usize) -> &[(u32, u32)] {
        &self.pairs[self.start[p] as usize..self.start[p + 1] as usize]
    }
}

/// Conv1d / Conv2d, PyTorch semantics. Weights internal: `wt[(ci·taps + k)·cpg + co_local]`.
#[derive(Clone, Debug)]
pub struct ConvGeom {
    pub c_in: usize,
    pub c_out: usize,
    pub hw_in: usize,
    pub hw_out: usize,
    pub n_taps: usize,
    pub cin_per_group: usize,
    pub cout_per_group: usize,
    window: Window,
}

impl ConvGeom {
    /// `in_dims` / `out_dims` are `[C, L]` or `[C, H, W]` (verified).
    pub fn new(conv: &Conv, in_dims: &[usize], out_dims: &[usize]) -> ConvGeom {
        let two_d = in_dims.len() == 3;
        let pair = |v: &[usize], one: usize| if two_d { [v[0], v[1]] } else { [one, v[0]] };
        let spec = WindowSpec {
            in_hw: pair(&in_dims[1..], 1),
            out_hw: pair(&out_dims[1..], 1),
            kernel: pair(conv.kernel(), 1),
            stride: pair(&conv.stride, 1),
            padding: pair(&conv.padding, 0),
            dilation: pair(&conv.dilation, 1),
        };
        ConvGeom {
            c_in: conv.in_channels(),
            c_out: conv.out_channels(),
            hw_in: spec.in_hw[0] * spec.in_hw[1],
            hw_out: spec.out_hw[0] * spec.out_hw[1],
            n_taps: spec.kernel[0] * spec.kernel[1],
            cin_per_group: conv.in_channels() / conv.groups,
            cout_per_group: conv.out_channels() / conv.groups,
            window: Window::new(&spec),
        }
    }

    /// NIR index `[co, cl, k]` of each internal weight index.
    pub fn nir_index(&self) -> Vec<u32> {
        let cpg = self.cout_per_group;
        let mut idx = vec![0u32; self.c_in * self.n_taps * cpg];
        for ci in 0..self.c_in {
            let (g, cl) = (ci / self.cin_per_group, ci % self.cin_per_group);
            for k in 0..self.n_taps {
                for col in 0..cpg {
                    let co = g * cpg + col;
                    idx[(ci * self.n_taps + k) * cpg + col] = ((co * self.cin_per_group + cl) * self.n_taps + k) as u32;
                }
            }
        }
        idx
    }

    /// Calls `f(weight offset, channels-last output offset, value)` for every nonzero input
    /// and every tap it reaches, inputs in order (the executor's summation order).
    #[inline]
    fn for_each_event(&self, x: &[f64], mut f: impl FnMut(usize, usize, f64)) {
        let cpg = self.cout_per_group;
        for ci in 0..self.c_in {
            let g = ci / self.cin_per_group;
            for (p, &xv) in x[ci * self.hw_in..(ci + 1) * self.hw_in].iter().enumerate() {
                if xv != 0.0 {
                    for &(k, q) in self.window.of(p) {
                        f((ci * self.n_taps + k as usize) * cpg, q as usize * self.c_out + g * cpg, xv);
                    }
                }
            }
        }
    }

    /// Channels-last accumulator length.
    pub fn scratch_len(&self) -> usize {
        self.c_out * self.hw_out
    }

    #[inline]
    pub fn forward(&self, wt: &[f64], bias: &[f64], x: &[f64], y: &mut [f64], acc: &mut [f64]) {
        acc.fill(0.0);
        let cpg = self.cout_per_group;
        self.for_each_event(x, |w0, a0, xv| axpy(&mut acc[a0..a0 + cpg], &wt[w0..w0 + cpg], xv));
        for co in 0..self.c_out {
            for (q, o) in y[co * self.hw_out..(co + 1) * self.hw_out].iter_mut().enumerate() {
                *o = bias[co] + acc[q * self.c_out + co];
            }
        }
    }

    /// `gy_t` is scratch of [`Self::scratch_len`] for ∂y channels-last.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn backward(
        &self,
        wt: &[f64],
        x: &[f64],
        gy: &[f64],
        gy_t: &mut [f64],
        gwt: &mut [f64],
        gb: &mut [f64],
        gx: Option<&mut [f64]>,
    ) {
        let cpg = self.cout_per_group;
        for co in 0..self.c_out {
            let plane = &gy[co * self.hw_out..(co + 1) * self.hw_out];
            gb[co] += plane.iter().sum::<f64>();
            for (q, &g) in plane.iter().enumerate() {
                gy_t[q * self.c_out + co] = g;
            }
        }
        self.for_each_event(x, |w0, a0, xv| axpy(&mut gwt[w0..w0 + cpg], &gy_t[a0..a0 + cpg], xv));
        if let Some(gx) = gx {
            for ci in 0..self.c_in {
                let g = ci / self.cin_per_group;
                for p in 0..self.hw_in {
                    let mut s = 0.0;
                    for &(k, q) in self.window.of(p) {
                        let w0 = (ci * self.n_taps + k as usize) * cpg;
                        let a0 = q as usize * self.c_out + g * cpg;
                        s += dot(&wt[w0..w0 + cpg], &gy_t[a0..a0 + cpg]);
                    }
                    gx[ci * self.hw_in + p] = s;
                }
            }
        }
    }
}

/// SumPool2d / AvgPool2d (average over the full window, padding included).
#[derive(Clone, Debug)]
pub struct PoolGeom {
    channels: usize,
    hw_in: usize,
    hw_out: usize,
    window: Window,
    /// Window area for AvgPool2d.
    divisor: Option<f64>,
}

impl PoolGeom {
    pub fn new(pool: &Pool, average: bool, in_dims: &[usize], out_dims: &[usize]) -> PoolGeom {
        let spec = WindowSpec {
            in_hw: [in_dims[1], in_dims[2]],
            out_hw: [out_dims[1], out_dims[2]],
            kernel: pool.kernel_size,
            stride: pool.stride,
            padding: pool.padding,
            dilation: [1, 1],
        };
        PoolGeom {
            channels: in_dims[0],
            hw_in: in_dims[1] * in_dims[2],
            hw_out: out_dims[1] * out_dims[2],
            window: Window::new(&spec),
            divisor: average.then(|| (pool.kernel_size[0] * pool.kernel_size[1]) as f64),
        }
    }

    #[inline]
    pub fn forward(&self, x: &[f64], y: &mut [f64]) {
        y.fill(0.0);
        for c in 0..self.channels {
            let out = &mut y[c * self.hw_out..(c + 1) * self.hw_out];
            for (p, &xv) in x[c * self.hw_in..(c + 1) * self.hw_in].iter().enumerate() {
                if xv != 0.0 {
                    for &(_, q) in self.window.of(p) {
                        out[q as usize] += xv;
                    }
                }
            }
        }
        if let Some(d) = self.divisor {
            y.iter_mut().for_each(|v| *v /= d);
        }
    }

    #[inline]
    pub fn backward(&self, gy: &[f64], gx: &mut [f64]) {
        let d = self.divisor.unwrap_or(1.0);
        for c in 0..self.channels {
            let g = &gy[c * self.hw_out..(c + 1) * self.hw_out];
            for p in 0..self.hw_in {
                gx[c * self.hw_in + p] = self.window.of(p).iter().map(|&(_, q)| g[q as usize]).sum::<f64>() / d;
            }
        }
    }
}
