//! Calibration statistics from the reference executor: per weight layer, the Hessian of the
//! layer-wise reconstruction loss under SBC's leaky spike-trace kernel,
//! `H = 2·E[x̃ x̃ᵀ]`, `x̃[t] = β·x̃[t−1] + x[t]` (x = the layer's input at step t,
//! reset per sample). The kernel is the causal leak of the postsynaptic neuron a row
//! drives, so β belongs to the row: β_r = 1 − dt/τ_r of the neuron that row r feeds (for a
//! conv filter, the mean over its channel's positions; 1 for IF/I; 0 when no neuron
//! follows). Rows with equal β share one Hessian; a layer with more than
//! [`MAX_LEAK_CLASSES`] distinct leaks is split into that many classes of rows by sorted β
//! (equal counts), each with its members' mean β. Conv layers contribute one im2col patch
//! per output position (per group), so each H is fan-in × fan-in.

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

/// At most this many leak-kernel Hessians per group of a layer (memory: each is `d × d`).
pub const MAX_LEAK_CLASSES: usize = 8;

/// Accumulated statistics of one weight layer.
#[derive(Clone, Debug)]
pub struct LayerHessian {
    /// Fan-in per group (`n_in`, or `C_in/groups · k…` for conv).
    pub d: usize,
    /// One `d × d` matrix per (group, leak class) that some row uses, row-major, already
    /// `2·E[·]`.
    pub h: Vec<Vec<f64>>,
    /// The leak β of each matrix's kernel.
    pub betas: Vec<f64>,
    /// For each output row (neuron or filter), the index of its matrix in `h`.
    pub row_matrix: Vec<usize>,
    /// Patches accumulated per matrix.
    pub count: u64,
}

impl LayerHessian {
    /// The Hessian of output row `r`.
    pub fn of_row(&self, r: usize) -> &[f64] {
        &self.h[self.row_matrix[r]]
    }
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

/// One leak class of a layer: its kernel's β, its trace, and its matrix per group
/// (`None` for a group with no row in the class).
struct Class {
    beta: f64,
    trace: Vec<f64>,
    matrix_of_group: Vec<Option<usize>>,
}

struct LayerState {
    patches: Patches,
    classes: Vec<Class>,
    last_sample: usize,
    acc: LayerHessian,
    scratch: Vec<f64>,
}

struct HessianProbe {
    layers: HashMap<NodeId, LayerState>,
}

/// β of every output row of layer `node` (`rows` rows): the leak of the neuron it feeds.
fn row_betas(graph: &Graph, node: NodeId, rows: usize, dt: f64) -> Vec<f64> {
    for out in graph.outputs(node) {
        if let Some(c) = NeuronCoefficients::new(graph.op(out), dt) {
            let decay = &c.decay;
            return match decay.len() {
                0 => vec![1.0; rows],
                1 => vec![1.0 - decay[0]; rows],
                n => {
                    let per = (n / rows.max(1)).max(1);
                    (0..rows)
                        .map(|r| {
                            let part = &decay[(r * per).min(n)..((r + 1) * per).min(n)];
                            1.0 - part.iter().sum::<f64>() / part.len().max(1) as f64
                        })
                        .collect()
                }
            };
        }
    }
    vec![0.0; rows]
}

/// Leak classes of rows: `(β per class, class per row)`. Distinct β values each get a
/// class up to [`MAX_LEAK_CLASSES`]; beyond that, rows sorted by β are cut into that many
/// runs of equal size (ties kept together), each with its mean β.
fn leak_classes(betas: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut distinct: Vec<f64> = betas.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if distinct.len() <= MAX_LEAK_CLASSES {
        let class = betas.iter().map(|b| distinct.iter().position(|d| d == b).expect("listed")).collect();
        return (distinct, class);
    }
    let mut order: Vec<usize> = (0..betas.len()).collect();
    order.sort_by(|&a, &b| betas[a].total_cmp(&betas[b]).then(a.cmp(&b)));
    let mut class = vec![0; betas.len()];
    let (mut sums, mut counts) = (vec![0.0; MAX_LEAK_CLASSES], vec![0usize; MAX_LEAK_CLASSES]);
    let mut k = 0;
    for (pos, &r) in order.iter().enumerate() {
        let boundary = (k + 1) * betas.len() / MAX_LEAK_CLASSES;
        if pos >= boundary && k + 1 < MAX_LEAK_CLASSES && betas[r] != betas[order[pos - 1]] {
            k += 1;
        }
        class[r] = k;
        sums[k] += betas[r];
        counts[k] += 1;
    }
    let used = k + 1;
    ((0..used).map(|k| sums[k] / counts[k].max(1) as f64).collect(), class)
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
            for c in &mut s.classes {
                c.trace.fill(0.0);
            }
            s.last_sample = sample;
        }
        let d = s.acc.d;
        let mut nz = Vec::new();
        for class in &mut s.classes {
            for (t, x) in class.trace.iter_mut().zip(input) {
                *t = class.beta * *t + x;
            }
            match s.patches {
                Patches::Dense => {
                    if let Some(m) = class.matrix_of_group[0] {
                        add_outer(&mut s.acc.h[m], d, &class.trace, &mut nz);
                    }
                }
                Patches::Conv { c_in, h, w, ho, wo, k, stride, pad, dil, groups } => {
                    let cpg = c_in / groups;
                    for g in 0..groups {
                        let Some(m) = class.matrix_of_group[g] else { continue };
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
                                                class.trace[(c * h + iy as usize) * w + ix as usize]
                                            } else {
                                                0.0
                                            });
                                        }
                                    }
                                }
                                add_outer(&mut s.acc.h[m], d, p, &mut nz);
                            }
                        }
                    }
                }
            }
        }
        s.acc.count += match s.patches {
            Patches::Dense => 1,
            Patches::Conv { ho, wo, .. } => (ho * wo) as u64,
        };
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
        let rows = graph.op(n).weight().expect("a weight layer").dims()[0];
        let (class_betas, class_of_row) = leak_classes(&row_betas(graph, n, rows, dynamics.dt));
        let rows_per_group = (rows / groups).max(1);
        let mut classes: Vec<Class> = class_betas
            .iter()
            .map(|&beta| Class { beta, trace: vec![0.0; n_in], matrix_of_group: vec![None; groups] })
            .collect();
        let (mut betas, mut row_matrix) = (Vec::new(), Vec::with_capacity(rows));
        for (r, &k) in class_of_row.iter().enumerate() {
            let g = (r / rows_per_group).min(groups - 1);
            let m = *classes[k].matrix_of_group[g].get_or_insert_with(|| {
                betas.push(class_betas[k]);
                betas.len() - 1
            });
            row_matrix.push(m);
        }
        let acc = LayerHessian { d, h: vec![vec![0.0; d * d]; betas.len()], betas, row_matrix, count: 0 };
        probe
            .layers
            .insert(n, LayerState { patches, classes, last_sample: usize::MAX, acc, scratch: Vec::with_capacity(d) });
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
            (n, s.acc)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::parse_snn;

    /// Two LIF neurons with different leaks (β = 1 − dt/τ = 0.5 and 0.9) behind one Affine:
    /// each row's Hessian is built with its own neuron's kernel. One sample, x = [1, 0] then
    /// [0, 1]: traces [1, 0] and [β, 1], so H = [[1 + β², β], [β, 1]].
    #[test]
    fn each_row_uses_its_own_neurons_leak() {
        let src = "snn 1\n\
            input = Input<shape=[2]>()\n\
            fc = Affine<weight=[[1.0, 0.5], [0.25, 1.0]], bias=[0.0, 0.0]>(input)\n\
            lif = LIF<tau=[0.0002, 0.001], r=[1.0, 1.0], v_leak=[0.0, 0.0], v_threshold=[1.0, 1.0], v_reset=[0.0, 0.0]>(fc)\n\
            output = Output<shape=[2]>(lif)\n";
        let limits = Limits::default();
        let g = parse_snn(src, "t.snn", std::path::Path::new("."), &limits).unwrap();
        let v = g.verify(&limits).unwrap();
        let fc = g.find("fc").unwrap();
        let calib = Calibration { data: vec![1.0, 0.0, 0.0, 1.0], n_samples: 1, n_steps: 2 };
        let hs = layer_hessians(&g, &v, &[fc], &calib, Dynamics::default(), &limits).unwrap();
        let h = &hs[&fc];
        for (r, beta) in [(0, 0.5), (1, 0.9)] {
            let want = [1.0 + beta * beta, beta, beta, 1.0];
            let got = h.of_row(r);
            assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "row {r}: {got:?} vs {want:?}");
        }
        assert_eq!(h.h.len(), 2);
    }

    #[test]
    fn many_leaks_fall_into_bounded_classes() {
        let betas: Vec<f64> = (0..100).map(|i| 0.5 + i as f64 / 400.0).collect();
        let (class_betas, class) = leak_classes(&betas);
        assert_eq!(class_betas.len(), MAX_LEAK_CLASSES);
        assert!(class.windows(2).all(|w| w[0] <= w[1]), "sorted betas get ordered classes");
        assert!(class_betas.windows(2).all(|w| w[0] < w[1]));
        // equal leaks: one class
        assert_eq!(leak_classes(&[0.9, 0.9, 0.9]), (vec![0.9], vec![0, 0, 0]));
    }
}
