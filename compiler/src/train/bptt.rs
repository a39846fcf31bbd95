//! Backpropagation through time for one sample, and the batch gradient.
//!
//! Forward runs every step of the [`Net`] per time step and writes the tape (weight
//! layers' inputs, neurons' surrogate derivatives and reset factors). Backward walks time
//! and steps in reverse with one gradient buffer per slot for the current step and one for
//! the previous: a back edge's input gradient goes to its source's value at t−1, and what
//! is left after t = 0 reached the rest outputs (an Affine's or Conv's bias).
//!
//! The batch is split into one contiguous chunk per worker; each chunk accumulates its
//! samples in order and chunks are summed in order, so the result depends only on the
//! batch and the worker count.

use rayon::prelude::*;

use super::loss::Loss;
use super::net::{Kernel, Net};
use super::neurons::Threshold;
use super::surrogate::Surrogate;

/// Per-worker buffers, allocated once per batch.
pub struct Workspace {
    slots: Vec<Vec<f64>>,
    state: Vec<f64>,
    insum: Vec<f64>,
    scratch: Vec<f64>,
    tape: Vec<f64>,
    /// `[T, output_len]` of the current sample.
    pub y: Vec<f64>,
    dy: Vec<f64>,
    gcur: Vec<Vec<f64>>,
    gprev: Vec<Vec<f64>>,
    gstate: Vec<f64>,
    gin: Vec<f64>,
}

impl Workspace {
    pub fn new(net: &Net, t_steps: usize) -> Workspace {
        let slots: Vec<Vec<f64>> = net.steps.iter().map(|s| vec![0.0; s.out_len]).collect();
        Workspace {
            gcur: slots.clone(),
            gprev: slots.clone(),
            slots,
            state: vec![0.0; net.state_len],
            insum: vec![0.0; net.scratch_len],
            scratch: vec![0.0; net.scratch_len],
            tape: vec![0.0; net.tape_len * t_steps],
            y: vec![0.0; net.output_len * t_steps],
            dy: vec![0.0; net.output_len * t_steps],
            gstate: vec![0.0; net.state_len],
            gin: vec![0.0; net.scratch_len],
        }
    }
}

/// Runs one sample (`x` is `[T, input_len]`), filling the tape and `ws.y`.
pub fn forward(net: &Net, sg: Surrogate, ws: &mut Workspace, x: &[f64], t_steps: usize) {
    let Workspace { slots, state, insum, scratch, tape, y, .. } = ws;
    for (slot, step) in slots.iter_mut().zip(&net.steps) {
        match &step.kernel {
            Kernel::Dense { bias: Some(b), .. } => slot.copy_from_slice(&net.values[*b]),
            Kernel::Conv { geom, bias, .. } => {
                for (c, plane) in slot.chunks_exact_mut(geom.hw_out).enumerate() {
                    plane.fill(net.values[*bias][c]);
                }
            }
            _ => slot.fill(0.0),
        }
    }
    state.fill(0.0);
    for t in 0..t_steps {
        let tape_t = &mut tape[t * net.tape_len..(t + 1) * net.tape_len];
        for (si, step) in net.steps.iter().enumerate() {
            let mut out = std::mem::take(&mut slots[si]);
            if let Kernel::Input = step.kernel {
                out.copy_from_slice(&x[t * net.input_len..(t + 1) * net.input_len]);
                slots[si] = out;
                continue;
            }
            let input: &[f64] = if step.sources.len() == 1 && step.sources[0].0 != si {
                &slots[step.sources[0].0]
            } else {
                let buf = &mut insum[..step.in_len];
                buf.fill(0.0);
                for &(src, _) in &step.sources {
                    let v: &[f64] = if src == si { &out } else { &slots[src] };
                    buf.iter_mut().zip(v).for_each(|(b, x)| *b += *x);
                }
                buf
            };
            let tp = &mut tape_t[step.tape.0..step.tape.0 + step.tape.1];
            let st = &mut state[step.state.0..step.state.0 + step.state.1];
            match &step.kernel {
                Kernel::Input => unreachable!("handled above"),
                Kernel::Copy => out.copy_from_slice(input),
                Kernel::Dense { geom, weight, bias } => {
                    tp.copy_from_slice(input);
                    geom.forward(&net.values[*weight], bias.map(|b| &net.values[b][..]), input, &mut out);
                }
                Kernel::Conv { geom, weight, bias } => {
                    tp.copy_from_slice(input);
                    let acc = &mut scratch[..geom.scratch_len()];
                    geom.forward(&net.values[*weight], &net.values[*bias], input, &mut out, acc);
                }
                Kernel::Pool(p) => p.forward(input, &mut out),
                Kernel::Scale(s) => out.iter_mut().zip(input).zip(s).for_each(|((o, x), s)| *o = s * x),
                Kernel::Threshold(k) => k.forward(sg, input, &mut out, tp),
                Kernel::Delay(k) => k.forward(t, input, &mut out, st),
                Kernel::Neuron(k) => k.forward(sg, input, &mut out, st, tp),
            }
            slots[si] = out;
        }
        y[t * net.output_len..(t + 1) * net.output_len].copy_from_slice(&slots[net.output_slot]);
    }
}

/// Backpropagates `ws.dy` (∂L/∂y, `[T, output_len]`) through the tape of the last
/// [`forward`], adding parameter gradients (kernel layout) to `grads`.
pub fn backward(net: &Net, ws: &mut Workspace, t_steps: usize, grads: &mut [Vec<f64>]) {
    let Workspace { scratch, tape, dy, gcur, gprev, gstate, gin, .. } = ws;
    for g in gprev.iter_mut() {
        g.fill(0.0);
    }
    gstate.fill(0.0);
    for t in (0..t_steps).rev() {
        std::mem::swap(gcur, gprev);
        for g in gprev.iter_mut() {
            g.fill(0.0);
        }
        gcur[net.output_slot].iter_mut().zip(&dy[t * net.output_len..]).for_each(|(g, d)| *g += *d);
        let tape_t = &tape[t * net.tape_len..(t + 1) * net.tape_len];
        for (si, step) in net.steps.iter().enumerate().rev() {
            if !step.active {
                continue;
            }
            let gout = std::mem::take(&mut gcur[si]);
            // Stateful steps carry gradient across time even when this step's is zero.
            let is_neuron = matches!(step.kernel, Kernel::Neuron(_) | Kernel::Delay(_));
            if !is_neuron && gout.iter().all(|&g| g == 0.0) {
                gcur[si] = gout;
                continue;
            }
            let tp = &tape_t[step.tape.0..step.tape.0 + step.tape.1];
            let gi = &mut gin[..step.in_len];
            match &step.kernel {
                Kernel::Input => {}
                Kernel::Copy => gi.copy_from_slice(&gout),
                Kernel::Dense { geom, weight, bias } => {
                    let (gw, gb) = split_two(grads, *weight, *bias);
                    geom.backward(&net.values[*weight], tp, &gout, gw, gb, step.pass_back.then_some(&mut gi[..]));
                }
                Kernel::Conv { geom, weight, bias } => {
                    let (gw, gb) = split_two(grads, *weight, Some(*bias));
                    let gy_t = &mut scratch[..geom.scratch_len()];
                    let gb = gb.expect("conv has a bias");
                    geom.backward(&net.values[*weight], tp, &gout, gy_t, gw, gb, step.pass_back.then_some(&mut gi[..]));
                }
                Kernel::Pool(p) => p.backward(&gout, gi),
                Kernel::Scale(s) => gi.iter_mut().zip(&gout).zip(s).for_each(|((g, d), s)| *g = s * d),
                Kernel::Threshold(_) => Threshold::backward(&gout, tp, gi),
                Kernel::Delay(k) => k.backward(t, &gout, &mut gstate[step.state.0..step.state.0 + step.state.1], gi),
                Kernel::Neuron(k) => {
                    k.backward(&gout, tp, &mut gstate[step.state.0..step.state.0 + step.state.1], gi);
                }
            }
            gcur[si] = gout;
            if step.pass_back {
                for &(src, back) in &step.sources {
                    if net.steps[src].active {
                        let target = if back { &mut gprev[src] } else { &mut gcur[src] };
                        target.iter_mut().zip(gi.iter()).for_each(|(a, g)| *a += *g);
                    }
                }
            }
        }
    }
    // What reached step −1 fell on rest outputs: biases of weight layers read by back edges.
    for (si, step) in net.steps.iter().enumerate() {
        let g = &gprev[si];
        match &step.kernel {
            Kernel::Dense { bias: Some(b), .. } => grads[*b].iter_mut().zip(g).for_each(|(a, g)| *a += *g),
            Kernel::Conv { geom, bias, .. } => {
                for (a, plane) in grads[*bias].iter_mut().zip(g.chunks_exact(geom.hw_out)) {
                    *a += plane.iter().sum::<f64>();
                }
            }
            _ => {}
        }
    }
}

/// Mutable borrows of two distinct parameter gradients.
fn split_two(grads: &mut [Vec<f64>], w: usize, b: Option<usize>) -> (&mut [f64], Option<&mut [f64]>) {
    match b {
        None => (&mut grads[w], None),
        Some(b) => {
            assert_ne!(w, b);
            if w < b {
                let (lo, hi) = grads.split_at_mut(b);
                (&mut lo[w], Some(&mut hi[0]))
            } else {
                let (lo, hi) = grads.split_at_mut(w);
                (&mut hi[0], Some(&mut lo[b]))
            }
        }
    }
}

/// The training samples of a batch.
pub struct Batch<'a> {
    /// `[N, T, input_len]` of the whole set.
    pub input: &'a [f64],
    /// Class index per sample of the whole set.
    pub labels: &'a [usize],
    pub t_steps: usize,
    /// Which samples of the set form this batch.
    pub samples: &'a [usize],
}

#[derive(Clone, Debug)]
pub struct BatchResult {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Samples predicted correctly.
    pub correct: usize,
    /// ∂(mean loss)/∂parameter, kernel layout, indexed like [`Net::params`].
    pub grads: Vec<Vec<f64>>,
}

impl BatchResult {
    fn zero(net: &Net) -> BatchResult {
        BatchResult { loss: 0.0, correct: 0, grads: net.values.iter().map(|v| vec![0.0; v.len()]).collect() }
    }
    fn add(mut self, other: BatchResult) -> BatchResult {
        self.loss += other.loss;
        self.correct += other.correct;
        for (a, b) in self.grads.iter_mut().zip(other.grads) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self
    }
}

/// Loss and gradient of the mean loss over `batch.samples`, on `workers` contiguous chunks
/// run in parallel on the current rayon pool and summed in chunk order.
pub fn batch_gradient(net: &Net, sg: Surrogate, loss: Loss, batch: &Batch, workers: usize) -> BatchResult {
    let n = batch.samples.len();
    if n == 0 {
        return BatchResult::zero(net);
    }
    let sample_len = batch.t_steps * net.input_len;
    let scale = 1.0 / n as f64;
    let chunk = n.div_ceil(workers.max(1));
    let run_chunk = |samples: &[usize]| {
        let mut ws = Workspace::new(net, batch.t_steps);
        let mut r = BatchResult::zero(net);
        for &s in samples {
            forward(net, sg, &mut ws, &batch.input[s * sample_len..(s + 1) * sample_len], batch.t_steps);
            let (l, ok) = loss.sample(&ws.y, net.output_len, batch.labels[s], scale, &mut ws.dy);
            r.loss += l;
            r.correct += ok as usize;
            backward(net, &mut ws, batch.t_steps, &mut r.grads);
        }
        r
    };
    let parts: Vec<BatchResult> = if workers <= 1 {
        vec![run_chunk(batch.samples)]
    } else {
        batch.samples.par_chunks(chunk).map(run_chunk).collect()
    };
    parts.into_iter().fold(BatchResult::zero(net), BatchResult::add)
}
