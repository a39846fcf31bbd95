//! Comparing two spike arrays `[samples, steps, K]`: the mismatch count, the first
//! divergence in time order (sample, then step, then K) and the counts around it.
//!
//! K is either the neurons of one layer (an output array, `[N, T, n_out]`) or the spiking
//! layers (a `layer_spikes` array, `[N, T, n_layers]` of spike counts per layer and step).
//! Invariant: values compare exactly (NaN equals NaN), so equal arrays never diverge.

use std::fmt;

/// How the last axis of a `[N, T, K]` array is read.
#[derive(Clone, Debug, PartialEq)]
pub enum Axis {
    /// K = the neurons of one layer.
    Neurons { layer: String },
    /// K = spiking layers, values are spike counts.
    Layers { names: Vec<String> },
}

impl Axis {
    /// The name of layer `k` of a layers axis (`#k` when unnamed).
    fn layer_name(&self, k: usize) -> String {
        match self {
            Axis::Neurons { layer } => layer.clone(),
            Axis::Layers { names } => names.get(k).cloned().unwrap_or_else(|| format!("#{k}")),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    pub sample: usize,
    pub step: usize,
    /// Index on the last axis.
    pub index: usize,
    pub layer: String,
    /// The neuron, when the array holds neurons (output arrays).
    pub neuron: Option<usize>,
    pub expected: f64,
    pub got: f64,
}

impl Divergence {
    /// `sample 3, step 7, layer `fc`, neuron 2` (no neuron for a layer's spike count).
    pub fn location(&self) -> String {
        let mut s = format!("sample {}, step {}, layer `{}`", self.sample, self.step, self.layer);
        if let Some(k) = self.neuron {
            s.push_str(&format!(", neuron {k}"));
        }
        s
    }

    /// The location and both values, named by `labels` (e.g. `["A", "B"]`).
    pub fn describe(&self, labels: [&str; 2]) -> String {
        let what = if self.neuron.is_some() { "" } else { " spike count" };
        format!("{}{what}: {} {}, {} {}", self.location(), labels[0], num(self.expected), labels[1], num(self.got))
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(["expected", "got"]))
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Values that differ.
pub fn mismatches(a: &[f64], b: &[f64]) -> usize {
    a.iter().zip(b).filter(|(x, y)| !same(**x, **y)).count()
}

/// The first differing value of `expected` vs `got`, both `[N, T, K]` with `shape`.
pub fn first(expected: &[f64], got: &[f64], shape: [usize; 3], axis: &Axis) -> Option<Divergence> {
    let k_len = shape[2].max(1);
    let i = expected.iter().zip(got).position(|(x, y)| !same(*x, *y))?;
    let (sample, step, index) = (i / (shape[1] * k_len), (i / k_len) % shape[1], i % k_len);
    Some(Divergence {
        sample,
        step,
        index,
        layer: axis.layer_name(index),
        neuron: matches!(axis, Axis::Neurons { .. }).then_some(index),
        expected: expected[i],
        got: got[i],
    })
}

/// Of an output divergence and a layer-count divergence, the earlier one in time. At the
/// same step, the layer divergence wins (layers run in evaluation order before the output
/// exists) unless it is in the layer that drives the output, where the output names the neuron.
pub fn earliest(output: Option<Divergence>, layers: Option<Divergence>, output_layer: &str) -> Option<Divergence> {
    match (output, layers) {
        (Some(o), Some(l)) => {
            let (ko, kl) = ((o.sample, o.step), (l.sample, l.step));
            if ko < kl || (ko == kl && l.layer == output_layer) {
                Some(o)
            } else {
                Some(l)
            }
        }
        (o, l) => o.or(l),
    }
}

/// A small table of the diverging value and its layer's spikes `radius` steps before and
/// after, in both arrays (`labels` name them).
pub fn context(
    expected: &[f64],
    got: &[f64],
    shape: [usize; 3],
    d: &Divergence,
    radius: usize,
    labels: [&str; 2],
) -> String {
    let (t_len, k_len) = (shape[1], shape[2]);
    let steps: Vec<usize> = (d.step.saturating_sub(radius)..(d.step + radius + 1).min(t_len)).collect();
    let at = |a: &[f64], step: usize, k: usize| a[(d.sample * t_len + step) * k_len + k];
    let mut rows: Vec<(String, String, Vec<String>)> = Vec::new();
    let head = steps.iter().map(|&s| if s == d.step { format!("[{s}]") } else { s.to_string() }).collect();
    rows.push(("step".into(), String::new(), head));
    let what = match d.neuron {
        Some(k) => format!("neuron {k}"),
        None => format!("layer `{}`", d.layer),
    };
    for (i, (label, a)) in labels.iter().zip([expected, got]).enumerate() {
        let cells = steps.iter().map(|&s| num(at(a, s, d.index))).collect();
        rows.push((if i == 0 { what.clone() } else { String::new() }, label.to_string(), cells));
    }
    if d.neuron.is_some() {
        for (i, (label, a)) in labels.iter().zip([expected, got]).enumerate() {
            let cells = steps.iter().map(|&s| num((0..k_len).map(|k| at(a, s, k)).sum::<f64>())).collect();
            let name = if i == 0 { format!("layer `{}` total", d.layer) } else { String::new() };
            rows.push((name, label.to_string(), cells));
        }
    }
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let wc = rows.iter().flat_map(|r| r.2.iter().map(|c| c.chars().count())).max().unwrap_or(1);
    let mut out = String::new();
    for (name, label, cells) in rows {
        let cells: Vec<String> = cells.iter().map(|c| format!("{c:>wc$}")).collect();
        out.push_str(format!("  {name:<w0$}  {label:<w1$}  {}", cells.join(" ")).trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_divergence_is_located_on_each_axis() {
        let shape = [2, 3, 4];
        let a = vec![0.0; 24];
        let mut b = a.clone();
        b[(3 + 2) * 4 + 1] = 1.0; // sample 1, step 2, k 1
        b[(3 + 2) * 4 + 3] = 1.0;
        let d = first(&a, &b, shape, &Axis::Neurons { layer: "out".into() }).unwrap();
        assert_eq!((d.sample, d.step, d.neuron, d.layer.as_str()), (1, 2, Some(1), "out"));
        assert_eq!(mismatches(&a, &b), 2);
        let names = vec!["a".into(), "b".into()];
        let d = first(&a, &b, shape, &Axis::Layers { names }).unwrap();
        assert_eq!((d.layer.as_str(), d.neuron), ("b", None));
        assert!(first(&a, &a, shape, &Axis::Layers { names: vec![] }).is_none());
        assert!(context(&a, &b, shape, &d, 1, ["A", "B"]).contains("[2]"));
    }
}
