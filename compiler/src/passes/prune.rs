//! `prune(method=magnitude|lamp|slamp|sbc, sparsity=0.8 | [s₁, s₂, …], scope=layer|global,
//! allocate=weights|sops, layers=[…])`: unstructured weight pruning of weight layers
//! (Affine, Linear, Conv). `method=svs|sca|criticality` prune channels
//! ([`super::channel`]); `method=criticality, granularity=weight` prunes single weights with a
//! margin and regenerates the most critical ([`super::weight_crit`]).
//!
//! Needs: a verified graph; calibration input (`--calib`) for `slamp` and `sbc`.
//! Establishes: in every selected layer at least `round(s·N)` weights are exactly 0 (weights
//! that were already 0 count as pruned, so a layer never loses more than it must); biases and
//! neuron parameters are untouched; only `sbc` changes surviving weights; the graph still
//! verifies. A report line per layer gives its sparsity before and after.
//!
//! `sparsity` is one fraction, or one per selected layer (in `layers=` order, else graph
//! order); a list implies `scope=layer`. `scope` defaults to `layer` for `magnitude` and to
//! `global` for the others.
//!
//! Methods (scores are ranked ascending; the lowest go):
//! - `magnitude`: score |w|, per layer or over all selected layers at once.
//! - `lamp` (Lee et al. 2021): in a layer sorted by |w| ascending,
//!   `score(u) = w_u² / Σ_{v≥u} w_v²`; with `scope=global` the global lowest `s·N` scores
//!   go, which allocates sparsity per layer. (Per layer, LAMP ranks like magnitude.)
//! - `slamp` — **our derivation** (the SLAMP paper's exact formula is not public): a pruned
//!   weight `w_ij` perturbs neuron i's input by `Δw_ij·x_j[t]` at every step, so over `T`
//!   steps the accumulated distortion is bounded by `Σ_j |Δw_ij| · a_j` with
//!   `a_j = Σ_t x_j[t]` the presynaptic spike count. SLAMP therefore runs LAMP on the
//!   activity-weighted magnitudes `w̃_ij = w_ij · a_j` (`a_j` summed over the calibration
//!   samples, normalised by its mean; for conv, the count of the input channel over all
//!   positions). LAMP scores are invariant to a per-layer scale, so uniform activity gives
//!   exactly LAMP; in the single-timestep limit (`T = 1`) there is no temporal accumulation
//!   and, as the paper states, the score reduces to LAMP: we then use `a_j = 1`.
//! - `sbc` (Spiking Brain Compression, one-shot OBS): per row the calibration Hessian `H`
//!   of [`super::calib`] (spike traces under the leak of the neuron the row feeds, damped by
//!   1 % of its mean diagonal), per-layer
//!   sparsity from LAMP (`scope=global`) or as given; then per row, repeatedly prune the
//!   weight q with least loss `w_q² / (2 [H⁻¹]_qq)`, update the row by
//!   `δ = −(w_q / [H⁻¹]_qq) · H⁻¹[:, q]`, and downdate
//!   `H⁻¹ ← H⁻¹ − H⁻¹[:, q] H⁻¹[q, :] / [H⁻¹]_qq`, until the row reaches its target.
//!
//! **Allocation.** With `scope=global`, `allocate=weights` (the default) removes `s·N`
//! weights in the global order of the scores above (LAMP's allocation, or global magnitude),
//! which counts parameters: on conv nets it prunes the many cheap weights of late layers and
//! keeps the few busy ones of early layers, and 70 % of the weights removes only 42–45 % of
//! the synaptic operations. `allocate=sops` (needs `--calib`) makes the budget synaptic
//! operations instead (**our derivation**): each weight's cost `c_w` is the SOPs it performs
//! per calibration sample, presynaptic activity × reuse over conv positions
//! ([`super::sop_cost`]), so that the layer's SOPs are `Σ c_w` over its nonzero weights.
//! Pruning is a knapsack: remove the most SOPs for the least importance. Its greedy
//! solution ranks weights by importance per SOP saved, `score_w / c_w` (the method's score:
//! LAMP's for lamp/slamp/sbc, |w| for magnitude), and removes them in that order until
//! `s` of the calibration SOPs are gone; the layer sparsities follow from where the weights
//! fell. Weights whose input never fired cost nothing and stay. `sbc` takes each row's count
//! from this selection and, within the row, prunes by OBS loss per SOP saved.
use std::collections::HashMap;

use rayon::prelude::*;

use super::args::Args;
use super::calib::layer_hessians;
use super::quantize::select_layers;
use super::sop_cost::{input_totals, select_by_sops, sop_costs, InputTotals};
use super::spec::{PassSpec, SpecError};
use super::{Pass, PassContext, PassError, PassReport};
use crate::ir::{Graph, NodeId, Op};
use crate::linalg::{cholesky, damp, inverse_from_cholesky};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Magnitude,
    Lamp,
    Slamp,
    Sbc,
    /// Structured: see [`super::channel`].
    Svs,
    Sca,
    Criticality,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prune {
    pub method: Method,
    /// One fraction for all layers, or one per selected layer.
    pub sparsity: Vec<f64>,
    /// True: every layer at its own sparsity; false: one allocation over all layers.
    pub per_layer: bool,
    pub layers: Option<Vec<String>>,
    /// Extra fraction of channels pruned by magnitude then regenerated (`criticality`).
    pub margin: f64,
    /// With a global scope: the budget counts synaptic operations, not weights.
    pub allocate_sops: bool,
    /// `criticality` only: per weight (`granularity=weight`, [`super::weight_crit`]) instead
    /// of per channel (`granularity=channel`, the default).
    pub per_weight: bool,
}

const ACCEPTED: &[&str] = &["method", "sparsity", "scope", "allocate", "layers", "margin", "granularity"];

impl Prune {
    pub fn from_spec(spec: &PassSpec) -> Result<Prune, SpecError> {
        let mut a = Args::new(spec);
        let method = match a.choice(
            "method",
            &["magnitude", "lamp", "slamp", "sbc", "svs", "sca", "criticality"],
            Some("magnitude"),
        )? {
            "magnitude" => Method::Magnitude,
            "lamp" => Method::Lamp,
            "slamp" => Method::Slamp,
            "svs" => Method::Svs,
            "sca" => Method::Sca,
            "criticality" => Method::Criticality,
            _ => Method::Sbc,
        };
        let margin = a.number("margin", Some(0.1), 0.0, 1.0)?;
        let (sparsity, span) = a
            .numbers("sparsity")?
            .ok_or_else(|| SpecError::new("`prune` needs `sparsity=…` (a fraction or a list)", spec.span.clone()))?;
        if sparsity.is_empty() {
            return Err(SpecError::new("`sparsity` lists no fraction", span));
        }
        if let Some(x) = sparsity.iter().find(|x| !(0.0..=1.0).contains(*x)) {
            return Err(SpecError::new(format!("`sparsity` must be between 0 and 1, got {x}"), span));
        }
        let default_granularity =
            if matches!(method, Method::Svs | Method::Sca | Method::Criticality) { "channel" } else { "weight" };
        let granularity = a.choice("granularity", &["channel", "weight"], Some(default_granularity))?;
        if granularity != default_granularity && method != Method::Criticality {
            return Err(SpecError::new(
                format!("`granularity` selects the form of `method=criticality`; this method prunes per {default_granularity} only"),
                spec.span.clone(),
            ));
        }
        let per_weight = method == Method::Criticality && granularity == "weight";
        let structured = matches!(method, Method::Svs | Method::Sca | Method::Criticality) && !per_weight;
        let default_scope = if method == Method::Magnitude || structured || per_weight || sparsity.len() > 1 {
            "layer"
        } else {
            "global"
        };
        let scope = a.choice("scope", &["layer", "global"], Some(default_scope))?;
        if (structured || per_weight) && scope == "global" {
            return Err(SpecError::new(
                "structured methods (svs, sca, criticality) and per-weight criticality prune per layer",
                spec.span.clone(),
            ));
        }
        if scope == "global" && sparsity.len() > 1 {
            return Err(SpecError::new("a per-layer `sparsity` list needs `scope=layer`", span));
        }
        let allocate_sops = a.choice("allocate", &["weights", "sops"], Some("weights"))? == "sops";
        if allocate_sops && (structured || per_weight || scope == "layer") {
            return Err(SpecError::new(
                "`allocate=sops` spreads one budget over layers: it needs an unstructured method with scope=global",
                spec.span.clone(),
            ));
        }
        let layers = a.strings("layers")?;
        if let Some(names) = &layers {
            if sparsity.len() > 1 && sparsity.len() != names.len() {
                return Err(SpecError::new(
                    format!("`sparsity` lists {} fractions for {} layers", sparsity.len(), names.len()),
                    span,
                ));
            }
        }
        a.finish(ACCEPTED)?;
        Ok(Prune { method, sparsity, per_layer: scope == "layer", layers, margin, allocate_sops, per_weight })
    }
}

/// LAMP scores of one layer: `w_u² / Σ_{v≥u} w_v²` in |w|-ascending order (0 for zeros).
pub fn lamp_scores(w: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()));
    let mut scores = vec![0.0; w.len()];
    let mut tail = 0.0;
    for &u in order.iter().rev() {
        tail += w[u] * w[u];
        scores[u] = if tail > 0.0 { w[u] * w[u] / tail } else { 0.0 };
    }
    scores
}

/// Indices of the `k` lowest scores per layer when ranked together (ties: layer, index).
fn lowest_global(scores: &[Vec<f64>], k: usize) -> Vec<Vec<usize>> {
    let mut all: Vec<(f64, usize, usize)> =
        scores.iter().enumerate().flat_map(|(l, s)| s.iter().enumerate().map(move |(i, &v)| (v, l, i))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut out = vec![Vec::new(); scores.len()];
    for &(_, l, i) in all.iter().take(k) {
        out[l].push(i);
    }
    out
}

pub(super) fn count(n: usize, s: f64) -> usize {
    ((s * n as f64).round() as usize).min(n)
}

/// One-shot OBS pruning of one row until `target` of its weights are 0. `hinv` is the
/// row's `H⁻¹`; on return it is the inverse Hessian of the unpruned weights (0 in the rows
/// and columns of pruned ones). Weights that are already 0 count as pruned (removed first, with
/// no update since their `w_q = 0`).
///
/// The unpruned indices are kept as a contiguous prefix of a symmetric permutation of
/// `hinv` (a pruned index is swapped to the end), so each downdate touches only the
/// `m × m` block of the `m` weights still in play, in contiguous rows: removing 80 % of a
/// row costs about a third of the full-matrix downdates. Ties in the loss go to the lowest
/// original index. With `cost` (`allocate=sops`: each weight's SOPs), the weight of least
/// loss per SOP saved goes first; a weight of cost 0 only when nothing else is left.
pub fn obs_prune_row(w: &mut [f64], hinv: &mut [f64], target: usize, cost: Option<&[f64]>) {
    let d = w.len();
    let target = target.min(d);
    // Position k holds original index perm[k]; positions 0..m are unpruned.
    let mut perm: Vec<usize> = (0..d).collect();
    let mut wp = w.to_vec();
    let per_sop = |k: usize, perm: &[usize]| cost.map_or(1.0, |c| c[perm[k]]);
    let mut m = d;
    let mut done = 0;
    let mut k = 0;
    while k < m {
        if wp[k] == 0.0 {
            remove(hinv, d, &mut perm, &mut wp, m, k);
            m -= 1;
            done += 1;
        } else {
            k += 1;
        }
    }
    while done < target && m > 0 {
        let mut best: Option<(f64, usize, usize)> = None;
        for k in 0..m {
            let hqq = hinv[k * d + k];
            let c = per_sop(k, &perm);
            let loss = if hqq > 0.0 && c > 0.0 { wp[k] * wp[k] / (2.0 * hqq) / c } else { f64::INFINITY };
            let better = match best {
                None => true,
                Some((b, _, orig)) => loss < b || (loss == b && perm[k] < orig),
            };
            if better {
                best = Some((loss, k, perm[k]));
            }
        }
        let Some((_, q, _)) = best else { break };
        let hqq = hinv[q * d + q];
        if hqq > 0.0 && hqq.is_finite() {
            let f = wp[q] / hqq;
            for j in 0..m {
                wp[j] -= f * hinv[j * d + q];
            }
        }
        wp[q] = 0.0;
        remove(hinv, d, &mut perm, &mut wp, m, q);
        m -= 1;
        done += 1;
    }
    for (k, &orig) in perm.iter().enumerate() {
        w[orig] = if k < m { wp[k] } else { 0.0 };
    }
    // Back to the original order: the inverse Hessian of the unpruned weights, 0 elsewhere.
    let mut out = vec![0.0; d * d];
    for a in 0..m {
        for b in 0..m {
            out[perm[a] * d + perm[b]] = hinv[a * d + b];
        }
    }
    hinv.copy_from_slice(&out);
}

/// Removes position `q` of the `m` unpruned ones: downdates the `m × m` block by
/// `H⁻¹ ← H⁻¹ − H⁻¹[:,q] H⁻¹[q,:] / [H⁻¹]_qq`, then swaps `q` with position `m − 1`.
fn remove(hinv: &mut [f64], d: usize, perm: &mut [usize], wp: &mut [f64], m: usize, q: usize) {
    let hqq = hinv[q * d + q];
    if hqq > 0.0 && hqq.is_finite() {
        let col: Vec<f64> = (0..m).map(|i| hinv[i * d + q]).collect();
        for (i, &ci) in col.iter().enumerate() {
            if ci == 0.0 {
                continue;
            }
            let f = ci / hqq;
            let row = &mut hinv[i * d..i * d + m];
            for (h, &cj) in row.iter_mut().zip(&col) {
                *h -= f * cj;
            }
        }
    }
    let last = m - 1;
    if q != last {
        for j in 0..m {
            hinv.swap(q * d + j, last * d + j);
        }
        for i in 0..m {
            hinv.swap(i * d + q, i * d + last);
        }
        perm.swap(q, last);
        wp.swap(q, last);
    }
}

/// SLAMP's column weights per layer: one per fan-in position per group (`groups × d`),
/// presynaptic activity `Σ_t |x_j|` normalised to mean 1 (all 1 without totals: `T = 1`).
fn column_activity(
    graph: &Graph,
    layers: &[NodeId],
    totals: Option<&HashMap<NodeId, InputTotals>>,
) -> HashMap<NodeId, Vec<Vec<f64>>> {
    let mut out = HashMap::new();
    for &n in layers {
        let Some(tot) = totals.map(|t| &t[&n].abs_sum) else {
            let (groups, d) = match graph.op(n) {
                Op::Conv1d(c) | Op::Conv2d(c) => (c.groups, c.weight.numel() / c.out_channels().max(1)),
                op => (1, op.weight().expect("weight layer").dims()[1]),
            };
            out.insert(n, vec![vec![1.0; d]; groups]);
            continue;
        };
        let cols: Vec<Vec<f64>> = match graph.op(n) {
            Op::Affine { .. } | Op::Linear { .. } => vec![tot.clone()],
            Op::Conv1d(c) | Op::Conv2d(c) => {
                let c_in = c.in_channels();
                let per_ch = tot.len() / c_in.max(1);
                let ch: Vec<f64> = (0..c_in).map(|k| tot[k * per_ch..(k + 1) * per_ch].iter().sum()).collect();
                let cpg = c_in / c.groups;
                let kk: usize = c.kernel().iter().product();
                (0..c.groups).map(|g| (0..cpg * kk).map(|j| ch[g * cpg + j / kk]).collect()).collect()
            }
            _ => unreachable!("selected layers have weights"),
        };
        let cols = cols
            .into_iter()
            .map(|c| {
                let mean = c.iter().sum::<f64>() / c.len().max(1) as f64;
                c.iter().map(|v| if mean == 0.0 { 1.0 } else { v / mean }).collect()
            })
            .collect();
        out.insert(n, cols);
    }
    out
}

impl Pass for Prune {
    fn name(&self) -> &'static str {
        "prune"
    }

    fn needs_calibration(&self) -> bool {
        self.allocate_sops
            || matches!(self.method, Method::Slamp | Method::Sbc | Method::Svs | Method::Sca | Method::Criticality)
    }

    fn run(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
        let fail = |reason: String| PassError::Failed { pass: "prune".into(), reason };
        if self.per_weight {
            return super::weight_crit::run_unstructured(self, graph, ctx);
        }
        if matches!(self.method, Method::Svs | Method::Sca | Method::Criticality) {
            return self.run_structured(graph, ctx);
        }
        let layers = select_layers(graph, &self.layers, "prune")?;
        if self.sparsity.len() > 1 && self.sparsity.len() != layers.len() {
            return Err(fail(format!(
                "`sparsity` lists {} fractions for {} weight layers",
                self.sparsity.len(),
                layers.len()
            )));
        }
        let weights: Vec<Vec<f64>> =
            layers.iter().map(|&n| graph.op(n).weight().expect("weight layer").data().to_vec()).collect();
        let rows: Vec<usize> = layers.iter().map(|&n| graph.op(n).weight().expect("weight layer").dims()[0]).collect();
        let groups: Vec<usize> = layers
            .iter()
            .map(|&n| match graph.op(n) {
                Op::Conv1d(c) | Op::Conv2d(c) => c.groups,
                _ => 1,
            })
            .collect();
        let before: Vec<usize> = weights.iter().map(|w| w.iter().filter(|v| **v == 0.0).count()).collect();
        let s_of = |l: usize| if self.sparsity.len() == 1 { self.sparsity[0] } else { self.sparsity[l] };

        let calib_data = if self.needs_calibration() {
            let calib = ctx.calib.ok_or(PassError::NeedsCalibration { pass: "prune".into() })?;
            let verified =
                graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "prune".into(), errors })?;
            Some((calib, verified))
        } else {
            None
        };

        // Presynaptic activity: SLAMP's column weights (no temporal accumulation at T = 1)
        // and the SOP costs of `allocate=sops`.
        let want_totals = self.allocate_sops
            || (self.method == Method::Slamp && calib_data.as_ref().is_some_and(|(c, _)| c.n_steps > 1));
        let totals = match &calib_data {
            Some((calib, verified)) if want_totals => {
                Some(input_totals(graph, verified, &layers, calib, ctx).map_err(fail)?)
            }
            _ => None,
        };
        // The ranking key of each weight (ascending = pruned first).
        let keyed: Vec<Vec<f64>> = match self.method {
            Method::Magnitude | Method::Lamp | Method::Sbc => weights.clone(),
            Method::Svs | Method::Sca | Method::Criticality => unreachable!("structured methods return above"),
            Method::Slamp => {
                let uniform = calib_data.as_ref().is_some_and(|(c, _)| c.n_steps <= 1);
                let act = column_activity(graph, &layers, if uniform { None } else { totals.as_ref() });
                weights
                    .iter()
                    .enumerate()
                    .map(|(l, w)| {
                        let a = &act[&layers[l]];
                        let d = w.len() / rows[l].max(1);
                        let rpg = (rows[l] / groups[l]).max(1);
                        w.iter()
                            .enumerate()
                            .map(|(i, v)| {
                                let g = ((i / d) / rpg).min(a.len() - 1);
                                v * a[g][i % d]
                            })
                            .collect()
                    })
                    .collect()
            }
        };
        // Which weights go (magnitude/lamp/slamp), or how many per layer (sbc).
        let layer_scores: Vec<Vec<f64>> = if self.per_layer || self.method == Method::Magnitude {
            keyed.iter().map(|w| w.iter().map(|v| v.abs()).collect()).collect()
        } else {
            keyed.iter().map(|w| lamp_scores(w)).collect()
        };
        let mut sops_line = None;
        let mut costs: Option<Vec<Vec<f64>>> = None;
        let selected: Vec<Vec<usize>> = if self.allocate_sops {
            let (_, verified) = calib_data.as_ref().expect("needs calibration");
            let totals = totals.as_ref().expect("computed for allocate=sops");
            let c: Vec<Vec<f64>> = layers
                .iter()
                .map(|&n| {
                    let input = verified.shape(graph.inputs(n)[0]).dims().to_vec();
                    sop_costs(graph.op(n), &input, verified.shape(n).dims(), &totals[&n])
                })
                .collect();
            let (sel, removed, total) = select_by_sops(&weights, &layer_scores, &c, self.sparsity[0]);
            costs = Some(c);
            sops_line = Some(format!(
                "allocate=sops: removes {removed:.1} of {total:.1} calibration SOPs per sample ({:.1} %)",
                100.0 * removed / total.max(f64::MIN_POSITIVE)
            ));
            sel
        } else if self.per_layer {
            layer_scores
                .iter()
                .enumerate()
                .map(|(l, sc)| lowest_global(std::slice::from_ref(sc), count(sc.len(), s_of(l))).remove(0))
                .collect()
        } else {
            let total: usize = keyed.iter().map(Vec::len).sum();
            lowest_global(&layer_scores, count(total, self.sparsity[0]))
        };

        let mut report = PassReport::new("prune");
        for (&n, sc) in layers.iter().zip(&layer_scores) {
            let shape = graph.op(n).weight().expect("weight layer").shape().clone();
            if let Ok(t) = crate::ir::Tensor::new(shape, sc.clone()) {
                report.scores.push((graph.name(n).to_string(), t));
            }
        }
        let hessians = if self.method == Method::Sbc {
            let (calib, verified) = calib_data.as_ref().expect("needs calibration");
            layer_hessians(graph, verified, &layers, calib, ctx.dynamics, ctx.limits).map_err(fail)?
        } else {
            HashMap::new()
        };
        for (l, &n) in layers.iter().enumerate() {
            let name = graph.name(n).to_string();
            let w = graph.op_mut(n).weight_mut().expect("weight layer").data_mut();
            let numel = w.len();
            if self.method == Method::Sbc {
                let h = &hessians[&n];
                let d = h.d;
                // The layer's count spread over its rows as evenly as whole numbers allow, or,
                // under a SOP budget, each row's share of the selection.
                let (k, nr) = (selected[l].len(), rows[l].max(1));
                let mut per_row = vec![0usize; nr];
                for &i in &selected[l] {
                    per_row[(i / d).min(nr - 1)] += 1;
                }
                let target = |r: usize| {
                    if costs.is_some() {
                        per_row[r]
                    } else {
                        (k * (r + 1)) / nr - (k * r) / nr
                    }
                };
                let hinvs: Vec<Vec<f64>> =
                    h.h.iter()
                        .map(|m| {
                            let mut m = m.clone();
                            damp(&mut m, d, 0.01);
                            cholesky(&m, d).map(|c| inverse_from_cholesky(&c, d)).ok_or_else(|| {
                                fail(format!("layer `{name}`: the calibration Hessian is not positive definite"))
                            })
                        })
                        .collect::<Result<_, _>>()?;
                // Rows are independent (each starts from its own Hessian's inverse): in parallel.
                w[..rows[l] * d].par_chunks_mut(d).enumerate().for_each(|(r, row)| {
                    let mut hinv = hinvs[h.row_matrix[r]].clone();
                    let cost = costs.as_ref().map(|c| &c[l][r * d..(r + 1) * d]);
                    obs_prune_row(row, &mut hinv, target(r), cost);
                });
            } else {
                for &i in &selected[l] {
                    w[i] = 0.0;
                }
            }
            let zeros = w.iter().filter(|v| **v == 0.0).count();
            let pct = |z: usize| 100.0 * z as f64 / numel.max(1) as f64;
            report.line(format!(
                "`{name}`: {:.1} % sparse ({zeros}/{numel} zero), was {:.1} %",
                pct(zeros),
                pct(before[l])
            ));
        }
        let total: usize = weights.iter().map(Vec::len).sum();
        let zeros: usize = layers
            .iter()
            .map(|&n| graph.op(n).weight().expect("weight layer").data().iter().filter(|v| **v == 0.0).count())
            .sum();
        report.line(format!(
            "{:?}{}: {:.1} % of {total} weights zero",
            self.method,
            if self.per_layer { " per layer" } else { " global" },
            100.0 * zeros as f64 / total.max(1) as f64
        ));
        report.lines.extend(sops_line);
        Ok(report)
    }
}

impl Prune {
    fn run_structured(&self, graph: &mut Graph, ctx: &PassContext) -> Result<PassReport, PassError> {
        use super::channel::{self, Score};
        let fail = |reason: String| PassError::Failed { pass: "prune".into(), reason };
        let calib = ctx.calib.ok_or(PassError::NeedsCalibration { pass: "prune".into() })?;
        let verified = graph.verify(ctx.limits).map_err(|errors| PassError::Verify { pass: "prune".into(), errors })?;
        let all = channel::candidates(graph, &verified);
        let groups: Vec<_> = match &self.layers {
            None => all,
            Some(names) => names
                .iter()
                .map(|name| {
                    let n = graph.find(name).ok_or_else(|| fail(format!("no node is named `{name}`")))?;
                    all.iter().find(|g| g.sources.contains(&n)).cloned().ok_or_else(|| {
                        fail(format!(
                            "`{name}` is not a weight layer feeding hidden neurons whose channels it can silence (structured pruning needs one)"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if self.sparsity.len() > 1 && self.sparsity.len() != groups.len() {
            return Err(fail(format!(
                "`sparsity` lists {} fractions for {} prunable layers",
                self.sparsity.len(),
                groups.len()
            )));
        }
        let score = match self.method {
            Method::Svs => Score::Svs,
            Method::Sca => Score::Sca,
            _ => Score::Criticality,
        };
        let scores = channel::channel_scores(graph, &verified, &groups, calib, ctx, score).map_err(fail)?;
        let mut report = PassReport::new("prune");
        for (i, (group, sc)) in groups.iter().zip(&scores).enumerate() {
            let s = if self.sparsity.len() == 1 { self.sparsity[0] } else { self.sparsity[i] };
            let c = group.channels;
            let k = count(c, s).min(c.saturating_sub(1));
            let gone = if score == Score::Criticality {
                channel::criticality_select(&channel::channel_magnitudes(graph, group), sc, k, count(c, self.margin))
            } else {
                channel::lowest(sc, k)
            };
            for &ch in &gone {
                channel::remove_channel(graph, group, ch);
            }
            let names: Vec<&str> = group.sources.iter().map(|&n| graph.name(n)).collect();
            for name in &names {
                report.scores.push((
                    name.to_string(),
                    crate::ir::Tensor::new(vec![c], sc.clone()).expect("one score per channel"),
                ));
            }
            let kept = (0..c).filter(|i| !gone.contains(i)).map(|i| sc[i]);
            report.line(format!(
                "`{}`: removed {} of {c} channels by {:?} (kept score range {:.4}..{:.4})",
                names.join("` + `"),
                gone.len(),
                self.method,
                kept.clone().fold(f64::INFINITY, f64::min),
                kept.fold(f64::NEG_INFINITY, f64::max),
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lamp_scores_by_hand() {
        // |w| ascending: 1, 2, 3 → Σ tails 14, 13, 9 → 1/14, 4/13, 9/9.
        let s = lamp_scores(&[3.0, -1.0, 2.0]);
        let want = [1.0, 1.0 / 14.0, 4.0 / 13.0];
        for (a, b) in s.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{s:?}");
        }
        assert_eq!(lamp_scores(&[0.0, 0.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn lamp_allocates_across_layers() {
        // Layer A = [1, 2, 3]: scores 1/14, 4/13, 1. Layer B = [10, 20]: scores 100/500 = 0.2, 1.
        // Global magnitude at 2/5 would strip A's 1 and 2; LAMP removes A's 1 (1/14) and B's 10 (0.2).
        let scores = vec![lamp_scores(&[1.0, 2.0, 3.0]), lamp_scores(&[10.0, 20.0])];
        assert_eq!(lowest_global(&scores, 2), vec![vec![0], vec![0]]);
        let mags = vec![vec![1.0, 2.0, 3.0], vec![10.0, 20.0]];
        assert_eq!(lowest_global(&mags, 2), vec![vec![0, 1], vec![]]);
    }

    /// Closed form: removing the set S from w, the optimal remaining weights R under
    /// (w' − w)ᵀ H (w' − w) are w'_R = w_R + H_RR⁻¹ H_RS w_S.
    #[test]
    fn obs_update_equals_the_closed_form() {
        let h = [4.0, 1.0, 0.5, 1.0, 3.0, 0.8, 0.5, 0.8, 2.0];
        let w0 = [0.9, -0.3, 0.6];
        let l = cholesky(&h, 3).unwrap();
        let hinv0 = inverse_from_cholesky(&l, 3);
        // Which weight goes first: least w_q²/(2 [H⁻¹]_qq).
        let losses: Vec<f64> = (0..3).map(|q| w0[q] * w0[q] / (2.0 * hinv0[q * 3 + q])).collect();
        let q = (0..3).min_by(|&a, &b| losses[a].total_cmp(&losses[b])).unwrap();
        let mut w = w0;
        let mut hinv = hinv0.clone();
        obs_prune_row(&mut w, &mut hinv, 1, None);
        assert_eq!(w[q], 0.0);
        let r: Vec<usize> = (0..3).filter(|&i| i != q).collect();
        let (a, b, c) = (h[r[0] * 3 + r[0]], h[r[0] * 3 + r[1]], h[r[1] * 3 + r[1]]);
        let det = a * c - b * b;
        let rhs = [h[r[0] * 3 + q] * w0[q], h[r[1] * 3 + q] * w0[q]];
        let sol = [(c * rhs[0] - b * rhs[1]) / det, (a * rhs[1] - b * rhs[0]) / det];
        for (k, &i) in r.iter().enumerate() {
            assert!((w[i] - (w0[i] + sol[k])).abs() < 1e-12, "{w:?}");
        }
        // The downdated inverse is the inverse of H restricted to R (zero at q).
        let sub_inv = [c / det, -b / det, a / det];
        assert!((hinv[r[0] * 3 + r[0]] - sub_inv[0]).abs() < 1e-12);
        assert!((hinv[r[0] * 3 + r[1]] - sub_inv[1]).abs() < 1e-12);
        assert!((hinv[r[1] * 3 + r[1]] - sub_inv[2]).abs() < 1e-12);
        assert!((0..3).all(|i| hinv[i * 3 + q] == 0.0));
        // Two removed: the survivor i gets w_i + (H_iS w_S) / H_ii.
        let mut w2 = w0;
        let mut hinv2 = hinv0;
        obs_prune_row(&mut w2, &mut hinv2, 2, None);
        let i = (0..3).find(|&i| w2[i] != 0.0).unwrap();
        let s: f64 = (0..3).filter(|&j| j != i).map(|j| h[i * 3 + j] * w0[j]).sum();
        assert!((w2[i] - (w0[i] + s / h[i * 3 + i])).abs() < 1e-12, "{w2:?}");
    }

    #[test]
    fn obs_counts_existing_zeros() {
        let h = [2.0, 0.0, 0.0, 2.0];
        let mut hinv = [0.5, 0.0, 0.0, 0.5];
        let mut w = [0.0, 1.0];
        obs_prune_row(&mut w, &mut hinv, 1, None);
        assert_eq!(w, [0.0, 1.0]);
        let _ = h;
    }
}
