//! `.npy` arrays in and out: inputs, spike outputs, labels, sidecar tensors.
//!
//! Reading checks the header's shape against [`Limits`] and against the file's length before
//! allocating, so a header that claims terabytes is refused without an allocation attempt.
//! Any numeric or bool dtype is accepted and converted to f64 (integers up to 2^53 exactly).
//! Fortran-ordered files are transposed to C order. Writing is atomic.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use npyz::{NpyFile, NpyHeader, Order, WriterBuilder};

use crate::limits::Limits;

/// A dense n-dimensional array in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArrayError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a valid .npy file: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error(
        "{path}: dtype `{dtype}` is not supported (supported: bool, int8 to int64, uint8 to uint64, float32, \
         float64; save float16 as float32, e.g. with numpy's `x.astype(np.float32)`)"
    )]
    DType { path: PathBuf, dtype: String },
    #[error(
        "{path}: shape {shape:?} holds {elements} elements, above the limit of {limit} (raise it with --max-memory)"
    )]
    TooLarge { path: PathBuf, shape: Vec<u64>, elements: String, limit: usize },
    #[error("{path}: truncated: the header promises {expected} bytes of data, the file has {got}")]
    Truncated { path: PathBuf, expected: u64, got: u64 },
    #[error("{path}: {bytes} bytes, above the limit of {limit} bytes for an array file (raise it with --max-memory)")]
    FileTooLarge { path: PathBuf, bytes: u64, limit: u64 },
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path}: the value at {position} is {value}; inputs must be finite numbers")]
    NonFinite { path: PathBuf, value: f64, position: String },
}

/// Refuses an input array holding NaN or ±∞ (a NaN membrane never recovers), naming the
/// first such value as `[sample, step, index]` (index within the step, flattened) for
/// arrays `[N, T, ...]`, else by its flat index.
pub fn check_finite_input(a: &NdArray<f64>, path: &Path) -> Result<(), ArrayError> {
    let Some(i) = a.data.iter().position(|v| !v.is_finite()) else { return Ok(()) };
    let position = if a.shape.len() >= 2 {
        let per_step: usize = a.shape[2..].iter().product();
        let per_sample = per_step * a.shape[1];
        format!("[sample {}, step {}, index {}]", i / per_sample, i % per_sample / per_step, i % per_step)
    } else {
        format!("[{i}]")
    };
    Err(ArrayError::NonFinite { path: path.into(), value: a.data[i], position })
}

/// Reads a `.npy` file as f64.
pub fn read_npy_f64(path: &Path, limits: &Limits) -> Result<NdArray<f64>, ArrayError> {
    let io = |source| ArrayError::Io { path: path.into(), source };
    // The file is read whole, so its length is checked first (a header may be up to 4 GiB
    // in format 2, but real headers are small: allow 1 MiB beyond the data budget).
    let len = std::fs::metadata(path).map_err(io)?.len();
    let budget = limits.max_memory_bytes().saturating_add(1 << 20);
    if len > budget {
        return Err(ArrayError::FileTooLarge { path: path.into(), bytes: len, limit: budget });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse_npy_f64(&bytes, path, limits)
}

/// Parses `.npy` bytes as f64; `path` is only used in messages.
pub fn parse_npy_f64(bytes: &[u8], path: &Path, limits: &Limits) -> Result<NdArray<f64>, ArrayError> {
    let fmt_err = |reason: String| ArrayError::Format { path: path.into(), reason };
    check_header_text(bytes).map_err(fmt_err)?;
    let mut cursor = Cursor::new(bytes);
    let header = NpyHeader::from_reader(&mut cursor).map_err(|e| fmt_err(e.to_string()))?;
    let data_start = cursor.position();
    let npy = NpyFile::with_header(header, cursor);
    let dims: Vec<u64> = npy.shape().to_vec();
    let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    let n = match n {
        Some(n) if n <= limits.max_tensor_elements as u64 => n as usize,
        _ => {
            return Err(ArrayError::TooLarge {
                path: path.into(),
                elements: n.map_or_else(|| "more than 2^64".into(), |n| n.to_string()),
                shape: dims,
                limit: limits.max_tensor_elements,
            })
        }
    };
    let dtype = npy.dtype();
    let npyz::DType::Plain(ts) = &dtype else {
        return Err(ArrayError::DType { path: path.into(), dtype: dtype.descr() });
    };
    let item = ts.num_bytes().unwrap_or(0) as u64;
    let available = bytes.len() as u64 - data_start;
    if item == 0 {
        return Err(ArrayError::DType { path: path.into(), dtype: ts.to_string() });
    }
    if available < item * n as u64 {
        return Err(ArrayError::Truncated { path: path.into(), expected: item * n as u64, got: available });
    }
    if available > item * n as u64 {
        return Err(fmt_err(format!(
            "{} bytes after the {} bytes of data its header declares (a damaged or concatenated file)",
            available - item * n as u64,
            item * n as u64
        )));
    }
    let order = npy.order();
    let descr = ts.to_string();
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let read_err = |e: std::io::Error| fmt_err(e.to_string());
    macro_rules! read_as {
        ($t:ty) => {
            npy.into_vec::<$t>().map_err(read_err)?.into_iter().map(|v| v as f64).collect::<Vec<f64>>()
        };
    }
    let data: Vec<f64> = match code {
        "b1" => npy.into_vec::<bool>().map_err(read_err)?.into_iter().map(|v| v as u8 as f64).collect(),
        "u1" => read_as!(u8),
        "i1" => read_as!(i8),
        "u2" => read_as!(u16),
        "i2" => read_as!(i16),
        "u4" => read_as!(u32),
        "i4" => read_as!(i32),
        "u8" => read_as!(u64),
        "i8" => read_as!(i64),
        "f4" => read_as!(f32),
        "f8" => read_as!(f64),
        _ => return Err(ArrayError::DType { path: path.into(), dtype: descr }),
    };
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let data = if order == Order::Fortran { fortran_to_c(&shape, data) } else { data };
    Ok(NdArray { shape, data })
}

/// Largest header numpy itself reads by default (`max_header_size`, numpy ≥ 1.24).
const MAX_HEADER_BYTES: usize = 10_000;
/// Deepest bracket nesting accepted in a header: a plain array's header is a dict holding a
/// shape tuple (depth 2). The header parser (npyz's Python-literal grammar) backtracks
/// exponentially on unclosed brackets: 14 of them took four minutes (found by fuzzing).
const MAX_HEADER_NESTING: usize = 4;

/// Checks the header's size and bracket nesting before it is parsed.
fn check_header_text(bytes: &[u8]) -> Result<(), String> {
    let (len, start) = match bytes {
        [0x93, b'N', b'U', b'M', b'P', b'Y', 1, _, a, b, ..] => (u16::from_le_bytes([*a, *b]) as usize, 10),
        [0x93, b'N', b'U', b'M', b'P', b'Y', 2 | 3, _, a, b, c, d, ..] => {
            (u32::from_le_bytes([*a, *b, *c, *d]) as usize, 12)
        }
        _ => return Ok(()), // not a header the limits apply to: the parser reports it
    };
    if len > MAX_HEADER_BYTES {
        return Err(format!("the header is {len} bytes; at most {MAX_HEADER_BYTES} are accepted"));
    }
    let text = &bytes[start.min(bytes.len())..(start + len).min(bytes.len())];
    check_shape_strides(text)?;
    let (mut depth, mut quote) = (0usize, None);
    for &c in text {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(c),
            (None, b'(' | b'[' | b'{') => {
                depth += 1;
                if depth > MAX_HEADER_NESTING {
                    return Err(format!("the header nests brackets deeper than {MAX_HEADER_NESTING} levels"));
                }
            }
            (None, b')' | b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// With a zero dimension an array holds no elements whatever its other dimensions are, but
/// npyz multiplies all of them into strides while parsing the header, which overflows
/// (found by fuzzing: shape `(0, 277777777777777770, 6, 20, 64)`). So every `shape` tuple
/// in the header is read here first and the product of its nonzero dimensions must fit in
/// 64 bits; anything unreadable is left to the parser to report.
fn check_shape_strides(text: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(text);
    for (at, _) in text.match_indices("shape") {
        let rest = text[at + "shape".len()..].trim_start_matches(['\'', '"']).trim_start();
        let Some(rest) = rest.strip_prefix(':').map(str::trim_start) else { continue };
        if rest.starts_with('[') {
            return Err("the shape is a list; numpy writes a tuple such as (4, 20, 16)".into());
        }
        let Some(tuple) = rest.strip_prefix('(').and_then(|r| r.split_once(')')).map(|(t, _)| t) else { continue };
        let dims: Option<Vec<u64>> =
            tuple.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().ok()).collect();
        let Some(dims) = dims else { continue };
        if dims.iter().filter(|&&d| d != 0).try_fold(1u64, |a, &d| a.checked_mul(d)).is_none() {
            return Err(format!("shape {dims:?}: the product of its dimensions overflows 64 bits"));
        }
    }
    Ok(())
}

/// Reorders Fortran-order data (first index fastest) into C order.
fn fortran_to_c(shape: &[usize], data: Vec<f64>) -> Vec<f64> {
    if shape.len() < 2 {
        return data;
    }
    let mut out = vec![0.0; data.len()];
    let mut idx = vec![0usize; shape.len()];
    // Iterate in C order, computing the Fortran offset.
    for slot in out.iter_mut() {
        let mut off = 0;
        let mut stride = 1;
        for (i, &d) in shape.iter().enumerate() {
            off += idx[i] * stride;
            stride *= d;
        }
        *slot = data[off];
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

fn npy_bytes<T: npyz::AutoSerialize + Copy>(shape: &[usize], data: &[T]) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        let mut w = npyz::WriteOptions::new().default_dtype().shape(&dims).writer(&mut buf).begin_nd()?;
        w.extend(data.iter().copied())?;
        w.finish()?;
    }
    Ok(buf)
}

/// Writes a C-order array atomically. `shape`'s product must equal `data.len()`.
pub fn write_npy<T: npyz::AutoSerialize + Copy>(path: &Path, shape: &[usize], data: &[T]) -> Result<(), ArrayError> {
    debug_assert_eq!(shape.iter().product::<usize>(), data.len());
    let werr = |source| ArrayError::Write { path: path.into(), source };
    let bytes = npy_bytes(shape, data).map_err(werr)?;
    crate::atomic::write_atomically(path, &bytes).map_err(werr)
}

/// Serialises an array to `.npy` bytes (for sidecars and tests).
pub fn to_npy_bytes<T: npyz::AutoSerialize + Copy>(shape: &[usize], data: &[T]) -> Vec<u8> {
    npy_bytes(shape, data).expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_u8_and_dtypes() {
        let b = to_npy_bytes(&[2, 3], &[1u8, 0, 1, 0, 0, 1]);
        let a = parse_npy_f64(&b, Path::new("x.npy"), &Limits::default()).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
        let b = to_npy_bytes(&[2], &[-3i64, 7]);
        assert_eq!(parse_npy_f64(&b, Path::new("x.npy"), &Limits::default()).unwrap().data, vec![-3.0, 7.0]);
    }

    #[test]
    fn refuses_absurd_shape_and_truncation() {
        let mut b = to_npy_bytes(&[4], &[1.0f64, 2.0, 3.0, 4.0]);
        let e = parse_npy_f64(&b[..b.len() - 8], Path::new("t.npy"), &Limits::default()).unwrap_err();
        assert!(matches!(e, ArrayError::Truncated { .. }), "{e}");
        // A hand-made header that claims a huge shape over 32 bytes of data.
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 4), }";
        let mut header = dict.to_string();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&[0u8; 32]);
        let e = parse_npy_f64(&b, Path::new("h.npy"), &Limits::from_max_memory(1 << 20)).unwrap_err();
        assert!(matches!(e, ArrayError::TooLarge { .. }), "{e}");
    }

    #[test]
    fn deeply_nested_headers_are_refused_before_parsing() {
        // Found by fuzzing: unclosed braces made the header parser backtrack for minutes.
        let h = format!("{{'descr': '<U1', {}se, 'shape': 12, (), }}", "{".repeat(14));
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        let e = parse_npy_f64(&b, Path::new("n.npy"), &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("nests brackets deeper than 4"), "{e}");
        // Found by fuzzing: a zero dimension hid others whose strides overflow.
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 277777777777777770, 6, 20, 64), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        let e = parse_npy_f64(&b, Path::new("z.npy"), &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("product of its dimensions overflows 64 bits"), "{e}");
        // Brackets inside strings do not count.
        assert_eq!(check_header_text(b"\x93NUMPY\x01\x00\x0a\x00{'((((((':1}"), Ok(()));
    }

    #[test]
    fn fortran_order_is_transposed() {
        assert_eq!(fortran_to_c(&[2, 3], vec![1., 4., 2., 5., 3., 6.]), vec![1., 2., 3., 4., 5., 6.]);
    }
}
