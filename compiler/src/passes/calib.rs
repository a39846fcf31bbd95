//! Calibration statistics from the reference executor: per weight layer, the Hessian of the
//! layer-wise reconstruction loss under SBC's leaky spike-trace kernel,
//! `H = 2·E[x̃ x̃ᵀ]`, `x̃[t] = β·x̃[t−1] + x[t]` (x = the layer's input at step t,
//! reset per sample), with β = 1 − dt/τ of the neurons the layer feeds (mean over them;
//! 1 for IF/I, 0 when no neuron follows). Conv layers contribute one im2col patch per
//! output position (per group), so H is fan-in × fan-in.

use std::collections::HashMap;

use crate::exec::{Dynamics, Executor, NeuronCoefficients, Probe};
use crate::ir::{Graph, NodeId, Op, Verified};
use crate::limits::Limits;

/// Calibration input: `[N, T, *input_shape]` as f64.
#[derive(Clone, Debug)]
pub struct Calibration {
    pub data: Vec<f64>,
    pub n_samples: usize,
    pub n_steps: usize,
}

/// Accumulated statistics of one weight layer.
#[derive(Clone, Debug)]
pub struct LayerHessian {
    /// Fan-in per group (`n_in`, or `C_in/groups · k…` for conv).
    pub d: usize,
    /// One `d × d` matrix per group, row-major, already `2·E[·]`.
    pub h: Vec<Vec<f64>>,
    pub beta: f64,
    /// Patches accumulated per group.
    pub count: u64,
}

/// Geometry of a layer's input patches.
#[derive(Clone, Debug)]
enum Patches {
    Dense,
    /// Conv as 2-D (1-D has h = 1): input `[c, h, w]`, output `[ho, wo]`.
    Conv {
        c_in: usize,
        h: usize,
        w: usize,
        ho: usize,
        wo: usize,
        k: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
        dil: [usize; 2],
        groups: usize,
    },
}

struct LayerState {
    patches: Patches,
    beta: f64,
    trace: Vec<f64>,
    last_sample: usize,
    acc: LayerHessian,
    scratch: Vec<f64>,
}

struct HessianProbe {
    layers: HashMap<NodeId, LayerState>,
}

fn beta_of(graph: &Graph, node: NodeId, dt: f64) -> f64 {
    for out in graph.outputs(node) {
        if let Some(c) = NeuronCoefficients::new(graph.op(out), dt) {
            if c.decay.is_empty() {
                return 1.0;
            }
            return 1.0 - c.decay.iter().sum::<f64>() / c.decay.len() as f64;
        }
    }
    0.0
}

fn add_outer(h: &mut [f64], d: usize, x: &[f64], nz: &mut Vec<usize>) {
    nz.clear();
    nz.extend(x.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(i, _)| i));
    for &i in nz.iter() {
        let xi = x[i];
        let row = &mut h[i * d..(i + 1) * d];
        for &j in nz.iter() {
            row[j] += xi * x[j];
        }
    }
}

impl Probe for HessianProbe {
    fn wants(&self, node: NodeId) -> bool {
        self.layers.contains_key(&node)
    }

    fn record(&mut self, sample: usize, _step: usize, node: NodeId, input: &[f64], _output: &[f64]) {
        let s = self.layers.get_mut(&node).expect("wants() said so");
        if s.last_sample != sample {
            s.trace.fill(0.0);
            s.last_sample = sample;
        }
        for (t, x) in s.trace.iter_mut().zip(input) {
            *t = s.beta * *t + x;
        }
        let d = s.acc.d;
        let mut nz = Vec::new();
        match s.patches {
            Patches::Dense => {
                add_outer(&mut s.acc.h[0], d, &s.trace, &mut nz);
                s.acc.count += 1;
            }
            Patches::Conv { c_in, h, w, ho, wo, k, stride, pad, dil, groups } => {
                let cpg = c_in / groups;
                for g in 0..groups {
                    for oy in 0..ho {
                        for ox in 0..wo {
                            let p = &mut s.scratch;
                            p.clear();
                            for cl in 0..cpg {
                                let c = g * cpg + cl;
                                for ky in 0..k[0] {
                                    for kx in 0..k[1] {
                                        let iy = (oy * stride[0] + ky * dil[0]) as isize - pad[0] as isize;
                                        let ix = (ox * stride[1] + kx * dil[1]) as isize - pad[1] as isize;
                                        let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                                        p.push(if inside {
                                            s.trace[(c * h + iy as usize) * w + ix as usize]
                                        } else {
                                            0.0
                                        });
                                    }
                                }
                            }
                            add_outer(&mut s.acc.h[g], d, p, &mut nz);
                        }
                    }
                }
                s.acc.count += (ho * wo) as u64;
            }
        }
    }
}

/// Runs the calibration input and returns the Hessian of every listed weight layer.
pub fn layer_hessians(
    graph: &Graph,
    verified: &Verified,
    layers: &[NodeId],
    calib: &Calibration,
    dynamics: Dynamics,
    limits: &Limits,
) -> Result<HashMap<NodeId, LayerHessian>, String> {
    let exec = Executor::new(graph, verified, dynamics, limits).map_err(|e| e.to_string())?;
    let mut probe = HessianProbe { layers: HashMap::new() };
    for &n in layers {
        let in_shape = verified.shape(graph.inputs(n)[0]).dims().to_vec();
        let out_shape = verified.shape(n).dims().to_vec();
        let (patches, d, groups) = match graph.op(n) {
            Op::Affine { weight, .. } | Op::Linear { weight } => (Patches::Dense, weight.dims()[1], 1),
            Op::Conv1d(c) | Op::Conv2d(c) => {
                let two = in_shape.len() == 3;
                let (h, w, ho, wo) = if two {
                    (in_shape[1], in_shape[2], out_shape[1], out_shape[2])
                } else {
                    (1, in_shape[1], 1, out_shape[1])
                };
                let kern = c.kernel();
                let pair = |v: &[usize], one: usize| if two { [v[0], v[1]] } else { [one, v[0]] };
                let k = if two { [kern[0], kern[1]] } else { [1, kern[0]] };
                let d = c.weight.dims()[1] * k[0] * k[1];
                let p = Patches::Conv {
                    c_in: c.in_channels(),
                    h,
                    w,
                    ho,
                    wo,
                    k,
                    stride: pair(&c.stride, 1),
                    pad: pair(&c.padding, 0),
                    dil: pair(&c.dilation, 1),
                    groups: c.groups,
                };
                (p, d, c.groups)
            }
            op => return Err(format!("node `{}` ({}) is not a weight layer", graph.name(n), op.kind())),
        };
        let n_in: usize = in_shape.iter().product();
        probe.layers.insert(
            n,
            LayerState {
                patches,
                beta: beta_of(graph, n, dynamics.dt),
                trace: vec![0.0; n_in],
                last_sample: usize::MAX,
                acc: LayerHessian { d, h: vec![vec![0.0; d * d]; groups], beta: 0.0, count: 0 },
                scratch: Vec::with_capacity(d),
            },
        );
    }
    exec.run_probed(&calib.data, calib.n_samples, calib.n_steps, &mut probe);
    Ok(probe
        .layers
        .into_iter()
        .map(|(n, mut s)| {
            let scale = if s.acc.count > 0 { 2.0 / s.acc.count as f64 } else { 0.0 };
            for h in &mut s.acc.h {
                h.iter_mut().for_each(|v| *v *= scale);
            }
            s.acc.beta = s.beta;
            (n, s.acc)
        })
        .collect())
}
