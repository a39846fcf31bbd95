//! Attribute values of the `.snn` format turned into IR attributes: numbers, nested lists,
//! `full(dims, value)` and `file(…)` sidecars. Range and finiteness checks are left to
//! [`Op::from_attrs`](crate::ir::Op::from_attrs); size checks happen here, before allocation.

use super::ast::{Value, ValueKind};
use super::diag::{Diag, Span};
use super::sidecar::{SidecarError, Sidecars};
use crate::ir::{Attr, Tensor};
use crate::limits::Limits;

/// Parameters that hold integers (shapes, strides, …): written as an integer or a flat list
/// of integers they become [`Attr::Ints`].
pub(crate) const INT_PARAMS: [&str; 8] =
    ["shape", "stride", "padding", "dilation", "groups", "kernel_size", "start_dim", "end_dim"];

/// Evaluates the value of attribute `param`.
pub(crate) fn eval(param: &str, v: &Value, sidecars: &mut Sidecars<'_>, limits: &Limits) -> Result<Attr, Diag> {
    let ints_wanted = INT_PARAMS.contains(&param);
    match &v.kind {
        ValueKind::Num(n) => match (ints_wanted, n.int) {
            (true, Some(i)) => Ok(Attr::Ints(vec![i])),
            _ => Ok(Attr::Tensor(Tensor::scalar(n.value))),
        },
        ValueKind::List(items) => {
            if ints_wanted {
                let ints: Option<Vec<i64>> = items
                    .iter()
                    .map(|x| match &x.kind {
                        ValueKind::Num(n) => n.int,
                        _ => None,
                    })
                    .collect();
                if let Some(ints) = ints {
                    return Ok(Attr::Ints(ints));
                }
            }
            let mut shape = Vec::new();
            list_shape(v, &mut shape)?;
            let mut data = Vec::new();
            flatten(v, &mut data);
            Ok(Attr::Tensor(Tensor::new(shape, data).expect("a rectangular list fills its shape")))
        }
        ValueKind::Full { dims, fill } => {
            let ValueKind::List(ds) = &dims.kind else { unreachable!("the parser reads a list here") };
            let mut shape = Vec::with_capacity(ds.len());
            for d in ds {
                match &d.kind {
                    ValueKind::Num(n) if n.int.is_some_and(|i| i >= 0) => shape.push(n.int.unwrap_or(0) as u64),
                    _ => return Err(Diag::at(d.span.clone(), "a dimension must be an integer ≥ 0", "not a dimension")),
                }
            }
            let n = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
            let limit = limits.max_tensor_elements;
            let n = match n {
                Some(n) if n <= limit as u64 => n as usize,
                _ => {
                    let count = n.map_or_else(|| "more than 2^64".into(), |n| n.to_string());
                    return Err(Diag::at(
                        v.span.clone(),
                        format!("tensor of shape {shape:?} would hold {count} elements, above the limit of {limit} elements (raise it with --max-memory)"),
                        "too large",
                    ));
                }
            };
            let ValueKind::Num(fill) = &fill.kind else { unreachable!("the parser reads a number here") };
            let shape: Vec<usize> = shape.into_iter().map(|d| d as usize).collect();
            debug_assert_eq!(shape.iter().product::<usize>(), n);
            Ok(Attr::Tensor(Tensor::full(shape, fill.value)))
        }
        ValueKind::File { path, key } => {
            sidecars.load(&path.node, key.as_ref().map(|k| k.node.as_str())).map(Attr::Tensor).map_err(|e| match e {
                SidecarError::Path { message, notes } => {
                    notes.into_iter().fold(Diag::at(path.span.clone(), message, "this file"), Diag::with_note)
                }
                SidecarError::Key { message, notes } => {
                    let span = key.as_ref().map_or(path.span.clone(), |k| k.span.clone());
                    notes.into_iter().fold(Diag::at(span, message, "this tensor"), Diag::with_note)
                }
            })
        }
    }
}

/// The shape of a nested list; ragged lists are an error pointing at the odd element.
fn list_shape(v: &Value, shape: &mut Vec<usize>) -> Result<(), Diag> {
    let ValueKind::List(items) = &v.kind else { return Ok(()) };
    shape.push(items.len());
    let Some(first) = items.first() else { return Ok(()) };
    let mut first_shape = Vec::new();
    list_shape(first, &mut first_shape)?;
    for item in &items[1..] {
        let mut s = Vec::new();
        list_shape(item, &mut s)?;
        let is_list = |x: &Value| matches!(x.kind, ValueKind::List(_));
        if s != first_shape || is_list(item) != is_list(first) {
            let describe = |x: &Value, s: &[usize]| match is_list(x) {
                true => format!("a list of shape {s:?}"),
                false => "a number".to_string(),
            };
            return Err(Diag::at(
                item.span.clone(),
                format!(
                    "ragged list: this element is {}, but the first element is {}",
                    describe(item, &s),
                    describe(first, &first_shape)
                ),
                "does not match the first element",
            )
            .with_secondary(first.span.clone(), "first element")
            .with_note("nested lists must be rectangular: every element of a list has the same shape"));
        }
    }
    shape.extend(first_shape);
    Ok(())
}

fn flatten(v: &Value, out: &mut Vec<f64>) {
    match &v.kind {
        ValueKind::Num(n) => out.push(n.value),
        ValueKind::List(items) => items.iter().for_each(|x| flatten(x, out)),
        _ => {}
    }
}

/// The span of the element at `index` (C order) of an inline value, for errors about one
/// element; the whole value for `full` and `file`.
pub(crate) fn element_span(v: &Value, index: usize) -> Span {
    fn walk<'v>(v: &'v Value, out: &mut Vec<&'v Span>) {
        match &v.kind {
            ValueKind::Num(_) => out.push(&v.span),
            ValueKind::List(items) => items.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut spans = Vec::new();
    if matches!(v.kind, ValueKind::Num(_) | ValueKind::List(_)) {
        walk(v, &mut spans);
    }
    spans.get(index).map_or(v.span.clone(), |s| (*s).clone())
}
