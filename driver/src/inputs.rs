//! Input arrays for commands: reading with a sample range, labels, calibration sets.

use std::ops::Range;
use std::path::Path;

use anyhow::{bail, Context, Result};
use spikeforge_compiler::arrays::{check_finite_input, read_npy_f64, write_npy, NdArray};
use spikeforge_compiler::limits::Limits;

/// `A..B` (B exclusive), `A..` or `..B`.
pub fn parse_range(s: &str) -> Result<Range<usize>, String> {
    let (a, b) = s.split_once("..").ok_or_else(|| format!("`{s}` is not a range like 120..360"))?;
    let num = |t: &str, d: usize| -> Result<usize, String> {
        if t.trim().is_empty() {
            Ok(d)
        } else {
            t.trim().parse().map_err(|_| format!("`{t}` is not a sample index"))
        }
    };
    let r = num(a, 0)?..num(b, usize::MAX)?;
    if r.start >= r.end {
        return Err(format!("the range `{s}` is empty"));
    }
    Ok(r)
}

/// The samples `range` of an array whose first axis is samples.
pub fn select_samples(a: NdArray<f64>, range: &Option<Range<usize>>, path: &Path) -> Result<NdArray<f64>> {
    let Some(r) = range else { return Ok(a) };
    let n = *a.shape.first().unwrap_or(&0);
    // An open end (`A..`) means "to the last sample"; an explicit end past it is an error,
    // not silently clamped.
    if r.end != usize::MAX && r.end > n {
        bail!(
            "{}: has {n} samples; the range {}..{} reaches past them (write {}.. for all from {})",
            path.display(),
            r.start,
            r.end,
            r.start,
            r.start
        );
    }
    let end = r.end.min(n);
    if r.start >= end {
        bail!("{}: has {n} samples; the range {}.. selects none", path.display(), r.start);
    }
    let per: usize = a.shape[1..].iter().product();
    let mut shape = a.shape.clone();
    shape[0] = end - r.start;
    Ok(NdArray { shape, data: a.data[r.start * per..end * per].to_vec() })
}

/// Reads an input (or label, calibration) array, refuses non-finite values, and selects
/// the samples `range`: the one input gate of every command.
pub fn read_samples(path: &Path, range: &Option<Range<usize>>, limits: &Limits) -> Result<NdArray<f64>> {
    let a = read_npy_f64(path, limits)?;
    check_finite_input(&a, path)?;
    select_samples(a, range, path).with_context(|| format!("reading {}", path.display()))
}

/// Labels `[N]` as class indices.
pub fn read_labels(
    path: &Path,
    range: &Option<Range<usize>>,
    n: usize,
    n_classes: usize,
    limits: &Limits,
) -> Result<Vec<usize>> {
    let a = read_samples(path, range, limits)?;
    labels_from(a, &path.display().to_string(), n, n_classes)
}

/// Labels `[N]` held in memory as class indices; `name` names them in messages.
pub fn labels_from(a: NdArray<f64>, name: &str, n: usize, n_classes: usize) -> Result<Vec<usize>> {
    if a.shape.len() != 1 || a.shape[0] != n {
        bail!("{name}: labels have shape {:?}; expected [{n}], one per input sample", a.shape);
    }
    a.data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() == 0.0 && v >= 0.0 && (v as usize) < n_classes {
                Ok(v as usize)
            } else {
                bail!("{name}: label {i} is {v}; expected a class index below {n_classes}")
            }
        })
        .collect()
}

/// argmax of output spike counts per sample (first maximum wins, as numpy's argmax).
pub fn predictions(output: &[f64], n: usize, t: usize, n_out: usize) -> Vec<usize> {
    (0..n)
        .map(|s| {
            let mut counts = vec![0.0; n_out];
            for step in 0..t {
                for (k, c) in counts.iter_mut().enumerate() {
                    *c += output[(s * t + step) * n_out + k];
                }
            }
            (1..n_out).fold(0, |best, k| if counts[k] > counts[best] { k } else { best })
        })
        .collect()
}

pub fn accuracy(pred: &[usize], labels: &[usize]) -> f64 {
    pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / labels.len().max(1) as f64
}

/// Whether output values are all spikes (0 or 1), not graded (such as an LI readout).
pub fn all_spikes(values: &[f64]) -> bool {
    values.iter().all(|&v| v == 0.0 || v == 1.0)
}

/// Writes output values `[N, T, n_out]`: uint8 when they are all spikes (0 or 1), else
/// float64 (a graded output such as an LI readout), with a note to `log` saying so.
pub fn write_outputs(path: &Path, shape: &[usize], values: &[f64], log: &mut dyn FnMut(&str)) -> Result<()> {
    if all_spikes(values) {
        let y: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        write_npy(path, shape, &y)?;
    } else {
        log("note: the output is graded, not spikes; writing float64 values");
        write_npy(path, shape, values)?;
    }
    Ok(())
}
