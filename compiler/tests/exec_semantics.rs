//! The executor's fast kernels against naive implementations written from the definitions
//! (PyTorch convolution/pooling formulas, the Euler rules in `exec::dynamics`, NeuroBench's
//! Effective_ACs counted by brute force over every output and weight).

use std::collections::BTreeMap;

use spikeforge_compiler::exec::{Dynamics, Executor, ResetRule, RunResult};
use spikeforge_compiler::ir::{Attr, Graph, Op, OpKind, Shape, Tensor};
use spikeforge_compiler::limits::Limits;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
    /// Sparse values: zero with probability 1 − p, else 1.0 or a random float.
    fn sparse(&mut self, n: usize, p: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                if self.next() < p {
                    if self.next() < 0.5 {
                        1.0
                    } else {
                        self.next() * 2.0 - 1.0
                    }
                } else {
                    0.0
                }
            })
            .collect()
    }
    fn weights(&mut self, n: usize, zero_fraction: f64) -> Vec<f64> {
        (0..n).map(|_| if self.next() < zero_fraction { 0.0 } else { self.next() * 2.0 - 1.0 }).collect()
    }
}

fn op(kind: OpKind, attrs: Vec<(&str, Attr)>) -> Op {
    let map: BTreeMap<String, Attr> = attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Op::from_attrs(kind, map, None).unwrap()
}
fn t(shape: &[usize], data: Vec<f64>) -> Attr {
    Attr::Tensor(Tensor::new(shape.to_vec(), data).unwrap())
}
fn ints(v: &[i64]) -> Attr {
    Attr::Ints(v.to_vec())
}

/// Input → op → Output, run for `steps` steps.
fn run_single(in_shape: &[usize], node: Op, x: &[f64], steps: usize, d: Dynamics) -> (RunResult, Shape) {
    let mut g = Graph::new();
    let i = g
        .add_node(
            "in",
            op(OpKind::Input, vec![("shape", ints(&in_shape.iter().map(|&v| v as i64).collect::<Vec<_>>()))]),
        )
        .unwrap();
    let probe_shape = node.output_shape(&Shape(in_shape.to_vec())).unwrap();
    let n = g.add_node("n", node).unwrap();
    let out_dims: Vec<i64> = probe_shape.dims().iter().map(|&v| v as i64).collect();
    let o = g.add_node("out", op(OpKind::Output, vec![("shape", ints(&out_dims))])).unwrap();
    g.add_edge(i, n).unwrap();
    g.add_edge(n, o).unwrap();
    let limits = Limits::default();
    let v = g.verify(&limits).unwrap();
    let e = Executor::new(&g, &v, d, &limits).unwrap();
    (e.run(x, 1, steps, 1), probe_shape)
}

#[allow(clippy::too_many_arguments)]
fn naive_conv2d(
    x: &[f64],
    (c_in, h, w): (usize, usize, usize),
    wt: &[f64],
    (c_out, kh, kw): (usize, usize, usize),
    bias: &[f64],
    stride: [usize; 2],
    pad: [usize; 2],
    dil: [usize; 2],
    groups: usize,
) -> (Vec<f64>, usize, usize, u64) {
    let ho = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) / stride[0] + 1;
    let wo = (w + 2 * pad[1] - dil[1] * (kw - 1) - 1) / stride[1] + 1;
    let (cin_pg, cout_pg) = (c_in / groups, c_out / groups);
    let mut y = vec![0.0; c_out * ho * wo];
    let mut sops = 0u64;
    for co in 0..c_out {
        let g = co / cout_pg;
        for oy in 0..ho {
            for ox in 0..wo {
                let mut acc = 0.0;
                for cl in 0..cin_pg {
                    let ci = g * cin_pg + cl;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * stride[0] + ky * dil[0]) as isize - pad[0] as isize;
                            let ix = (ox * stride[1] + kx * dil[1]) as isize - pad[1] as isize;
                            if iy < 0 || ix < 0 || iy as usize >= h || ix as usize >= w {
                                continue;
                            }
                            let xv = x[(ci * h + iy as usize) * w + ix as usize];
                            let wv = wt[((co * cin_pg + cl) * kh + ky) * kw + kx];
                            acc += xv * wv;
                            sops += (xv != 0.0 && wv != 0.0) as u64;
                        }
                    }
                }
                y[(co * ho + oy) * wo + ox] = acc + bias[co];
            }
        }
    }
    (y, ho, wo, sops)
}

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "element {i}: {x} vs {y}");
    }
}

#[test]
fn conv2d_matches_pytorch_formula_and_brute_force_sops() {
    let mut rng = Lcg(7);
    for &(stride, pad, dil, groups) in &[
        ([1, 1], [1, 1], [1, 1], 1),
        ([2, 1], [1, 2], [1, 1], 2),
        ([2, 2], [0, 3], [2, 1], 4),
        ([3, 2], [2, 0], [1, 2], 1),
    ] {
        let (c_in, h, w, c_out, kh, kw) = (4, 9, 7, 8, 3, 2);
        let wt = rng.weights(c_out * (c_in / groups) * kh * kw, 0.3);
        let bias = rng.weights(c_out, 0.0);
        let x = rng.sparse(c_in * h * w, 0.3);
        let conv = op(
            OpKind::Conv2d,
            vec![
                ("weight", t(&[c_out, c_in / groups, kh, kw], wt.clone())),
                ("bias", t(&[c_out], bias.clone())),
                ("stride", ints(&[stride[0] as i64, stride[1] as i64])),
                ("padding", ints(&[pad[0] as i64, pad[1] as i64])),
                ("dilation", ints(&[dil[0] as i64, dil[1] as i64])),
                ("groups", ints(&[groups as i64])),
            ],
        );
        let (r, shape) = run_single(&[c_in, h, w], conv, &x, 1, Dynamics::default());
        let (want, ho, wo, sops) =
            naive_conv2d(&x, (c_in, h, w), &wt, (c_out, kh, kw), &bias, stride, pad, dil, groups);
        assert_eq!(shape.dims(), &[c_out, ho, wo]);
        assert_close(&r.output, &want);
        assert_eq!(r.sops_weight_layers(), sops, "stride {stride:?} pad {pad:?} dil {dil:?} groups {groups}");
    }
}

#[test]
fn conv1d_is_conv2d_with_unit_height() {
    let mut rng = Lcg(11);
    let (c_in, l, c_out, k) = (3, 10, 6, 3);
    let wt = rng.weights(c_out * c_in * k, 0.2);
    let bias = rng.weights(c_out, 0.0);
    let x = rng.sparse(c_in * l, 0.5);
    let conv = op(
        OpKind::Conv1d,
        vec![
            ("weight", t(&[c_out, c_in, k], wt.clone())),
            ("bias", t(&[c_out], bias.clone())),
            ("stride", ints(&[2])),
            ("padding", ints(&[1])),
        ],
    );
    let (r, _) = run_single(&[c_in, l], conv, &x, 1, Dynamics::default());
    let (want, _, _, sops) = naive_conv2d(&x, (c_in, 1, l), &wt, (c_out, 1, k), &bias, [1, 2], [0, 1], [1, 1], 1);
    assert_close(&r.output, &want);
    assert_eq!(r.sops_weight_layers(), sops);
}

#[test]
fn pooling_sums_and_averages_with_padding() {
    let mut rng = Lcg(3);
    let (c, h, w) = (2, 5, 6);
    let x = rng.sparse(c * h * w, 0.6);
    for avg in [false, true] {
        let kind = if avg { OpKind::AvgPool2d } else { OpKind::SumPool2d };
        let p = op(kind, vec![("kernel_size", ints(&[3, 2])), ("stride", ints(&[2, 2])), ("padding", ints(&[1, 0]))]);
        let (r, shape) = run_single(&[c, h, w], p, &x, 1, Dynamics::default());
        let (ho, wo) = (shape.dims()[1], shape.dims()[2]);
        let mut want = vec![0.0; c * ho * wo];
        let mut sops = 0;
        for ch in 0..c {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut s = 0.0;
                    for ky in 0..3 {
                        for kx in 0..2 {
                            let (iy, ix) = ((oy * 2 + ky) as isize - 1, (ox * 2 + kx) as isize);
                            if iy >= 0 && (iy as usize) < h && (ix as usize) < w {
                                let v = x[(ch * h + iy as usize) * w + ix as usize];
                                s += v;
                                sops += (v != 0.0) as u64;
                            }
                        }
                    }
                    want[(ch * ho + oy) * wo + ox] = if avg { s / 6.0 } else { s };
                }
            }
        }
        assert_close(&r.output, &want);
        assert_eq!(r.sops_pooling(), sops);
        assert_eq!(r.sops_weight_layers(), 0);
    }
}

#[test]
fn lif_follows_the_documented_euler_rule_with_both_resets() {
    let (tau, r, vl, thr, vr) = (3e-4, 1.7, 0.1, 1.0, -0.2);
    let inputs = [0.3, 0.9, 0.0, 1.2, 0.5, 0.5, 0.0, 2.5];
    for reset in [ResetRule::ToVReset, ResetRule::Subtract] {
        let lif = op(
            OpKind::LIF,
            vec![
                ("tau", t(&[1], vec![tau])),
                ("r", t(&[1], vec![r])),
                ("v_leak", t(&[1], vec![vl])),
                ("v_threshold", t(&[1], vec![thr])),
                ("v_reset", t(&[1], vec![vr])),
            ],
        );
        let d = Dynamics { reset, ..Dynamics::default() };
        let (res, _) = run_single(&[1], lif, &inputs, inputs.len(), d);
        let a = 1e-4 / tau;
        let mut v: f64 = 0.0;
        let want: Vec<f64> = inputs
            .iter()
            .map(|&i| {
                v = v + a * (vl - v) + a * r * i;
                if v > thr {
                    v = if reset == ResetRule::ToVReset { vr } else { v - thr };
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        assert_eq!(res.output, want, "{reset}");
        assert!(want.iter().sum::<f64>() >= 2.0, "the test input must make it spike");
    }
}

#[test]
fn cuba_lif_uses_the_updated_synaptic_current() {
    let (ts, tm, r, w_in, thr) = (2e-4, 5e-4, 5.0, 2.0, 0.6);
    let inputs = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let n = op(
        OpKind::CubaLIF,
        vec![
            ("tau_syn", t(&[], vec![ts])),
            ("tau_mem", t(&[], vec![tm])),
            ("r", t(&[], vec![r])),
            ("v_leak", t(&[], vec![0.0])),
            ("v_threshold", t(&[1], vec![thr])),
            ("w_in", t(&[], vec![w_in])),
        ],
    );
    let (res, _) = run_single(&[1], n, &inputs, inputs.len(), Dynamics::default());
    let (a_s, a_m) = (1e-4 / ts, 1e-4 / tm);
    let (mut i, mut v) = (0.0f64, 0.0f64);
    let want: Vec<f64> = inputs
        .iter()
        .map(|&x| {
            i = i + a_s * (w_in * x - i);
            v = v + a_m * (0.0 - v) + a_m * r * i;
            if v > thr {
                v = 0.0;
                1.0
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(res.output, want);
    assert!(want.contains(&1.0));
}

#[test]
fn delay_shifts_by_whole_steps() {
    let d = op(OpKind::Delay, vec![("delay", t(&[2], vec![2e-4, 0.0]))]);
    let x = [1.0, 0.5, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0];
    let (r, _) = run_single(&[2], d, &x, 5, Dynamics::default());
    // element 0 delayed by 2 steps, element 1 passes through
    assert_eq!(r.output, vec![0.0, 0.5, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 3.0]);
}

#[test]
fn recurrent_affine_delivers_its_bias_before_the_first_step() {
    // in → lif ⇄ rec, lif → out; rec's value reaches lif one step late.
    let mut g = Graph::new();
    let i = g.add_node("in", op(OpKind::Input, vec![("shape", ints(&[1]))])).unwrap();
    let lif = g
        .add_node(
            "lif",
            op(
                OpKind::LIF,
                vec![
                    ("tau", t(&[], vec![1e-4])),
                    ("r", t(&[], vec![1.0])),
                    ("v_leak", t(&[], vec![0.0])),
                    ("v_threshold", t(&[1], vec![0.5])),
                ],
            ),
        )
        .unwrap();
    let rec = g
        .add_node("rec", op(OpKind::Affine, vec![("weight", t(&[1, 1], vec![0.4])), ("bias", t(&[1], vec![0.3]))]))
        .unwrap();
    let o = g.add_node("out", op(OpKind::Output, vec![("shape", ints(&[1]))])).unwrap();
    g.add_edge(i, lif).unwrap();
    g.add_edge(lif, rec).unwrap();
    g.add_edge(rec, lif).unwrap();
    g.add_edge(lif, o).unwrap();
    let limits = Limits::default();
    let v = g.verify(&limits).unwrap();
    assert!(v.schedule.is_back_edge(rec, lif));
    let e = Executor::new(&g, &v, Dynamics::default(), &limits).unwrap();
    let x = [0.0, 0.1, 0.0, 0.0, 0.0];
    let r = e.run(&x, 1, 5, 1);
    // a = 1 so v = I each step (no memory): I[t] = x[t] + rec[t-1], rec[-1] = 0.3,
    // rec[t] = 0.4·s[t] + 0.3.
    let mut prev_rec = 0.3;
    let want: Vec<f64> = x
        .iter()
        .map(|&xi| {
            let s = if xi + prev_rec > 0.5 { 1.0 } else { 0.0 };
            prev_rec = 0.4 * s + 0.3;
            s
        })
        .collect();
    assert_eq!(r.output, want);
    assert_eq!(want, vec![0.0, 0.0, 0.0, 0.0, 0.0]);
    let x = [0.0, 0.3, 0.0, 0.0, 0.0];
    let r = e.run(&x, 1, 5, 1);
    assert_eq!(r.output, vec![0.0, 1.0, 1.0, 1.0, 1.0], "0.3+0.3 fires, then 0.7 keeps it firing");
    // SOPs: the recurrent Affine counts one op per spike it receives.
    assert_eq!(r.sops_weight_layers(), 4);
}
