//! NPY datasets: `x.npy` (2-D, [n, features]) and `y.npy` (1-D [n], or 2-D [n, k] for a
//! regression target), C order, little-endian f32/f64/int8–64/uint8–64 (NumPy's format v1–3).
//! Integer labels are classes (0..C−1, C = max + 1; negative labels are an error); float labels
//! a regression target. Truncated files, a wrong magic, an unsupported dtype, Fortran order,
//! NaN/Inf features and mismatched lengths are errors naming the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::error::{Error, Result};

/// `data: {npy: {x: x.npy, y: y.npy}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpySource {
    pub x: PathBuf,
    pub y: PathBuf,
}

/// An array read from an NPY file, widened to f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub integer: bool,
}

fn bad(file: &Path, message: impl Into<String>) -> Error {
    Error::Data {
        file: file.to_path_buf(),
        row: None,
        column: None,
        message: message.into(),
    }
}

/// The value of `key` in NumPy's header dict, e.g. `'descr': '<f4'`.
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Parses NPY bytes.
pub fn parse(bytes: &[u8], file: &Path) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad(file, "not an NPY file (wrong magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(file, format!("unsupported NPY version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| bad(file, "truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad(file, "header is not text"))?;
    let descr = field(header, "descr")
        .ok_or_else(|| bad(file, "header has no 'descr'"))?
        .trim_matches('\'');
    if field(header, "fortran_order") == Some("True") {
        return Err(bad(
            file,
            "Fortran order is not supported; save with C order (np.ascontiguousarray)",
        ));
    }
    let shape_text = field(header, "shape").ok_or_else(|| bad(file, "header has no 'shape'"))?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(file, format!("bad shape {shape_text}")))
        })
        .collect::<Result<_>>()?;
    let count: usize = shape.iter().product();
    let (little, kind, size) = match descr.as_bytes() {
        [e @ (b'<' | b'|' | b'>' | b'='), k, rest @ ..] => {
            let size: usize = std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (*e != b'>', *k, size)
        }
        _ => return Err(bad(file, format!("unsupported dtype '{descr}'"))),
    };
    if !little && size > 1 {
        return Err(bad(
            file,
            format!("big-endian dtype '{descr}' is not supported"),
        ));
    }
    let body = &bytes[start + header_len..];
    let need = count
        .checked_mul(size)
        .ok_or_else(|| bad(file, "shape too large"))?;
    if body.len() < need {
        return Err(bad(
            file,
            format!(
                "truncated: {} bytes of data for {count} values of '{descr}'",
                body.len()
            ),
        ));
    }
    let chunk = |i: usize| &body[i * size..(i + 1) * size];
    let value = |i: usize| -> Option<f64> {
        let b = chunk(i);
        Some(match (kind, size) {
            (b'f', 4) => f32::from_le_bytes(b.try_into().ok()?) as f64,
            (b'f', 8) => f64::from_le_bytes(b.try_into().ok()?),
            (b'i', 1) => b[0] as i8 as f64,
            (b'i', 2) => i16::from_le_bytes(b.try_into().ok()?) as f64,
            (b'i', 4) => i32::from_le_bytes(b.try_into().ok()?) as f64,
            (b'i', 8) => i64::from_le_bytes(b.try_into().ok()?) as f64,
            (b'u', 1) | (b'b', 1) => b[0] as f64,
            (b'u', 2) => u16::from_le_bytes(b.try_into().ok()?) as f64,
            (b'u', 4) => u32::from_le_bytes(b.try_into().ok()?) as f64,
            (b'u', 8) => u64::from_le_bytes(b.try_into().ok()?) as f64,
            _ => return None,
        })
    };
    let data = (0..count)
        .map(|i| value(i).ok_or_else(|| bad(file, format!("unsupported dtype '{descr}'"))))
        .collect::<Result<Vec<f64>>>()?;
    Ok(Array {
        shape,
        data,
        integer: matches!(kind, b'i' | b'u' | b'b'),
    })
}

fn read(path: &Path) -> Result<Array> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, e.to_string()))?;
    parse(&bytes, path)
}

/// Reads `x` and `y` (relative to `base`).
pub fn load(source: &NpySource, base: &Path) -> Result<Dataset> {
    let resolve = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let (xp, yp) = (resolve(&source.x), resolve(&source.y));
    let (x, y) = (read(&xp)?, read(&yp)?);
    if x.shape.len() != 2 {
        return Err(bad(
            &xp,
            format!(
                "features must be 2-D [examples, features]; the shape is {:?}",
                x.shape
            ),
        ));
    }
    let (n, width) = (x.shape[0], x.shape[1]);
    if n == 0 || width == 0 {
        return Err(bad(&xp, format!("no data: the shape is {:?}", x.shape)));
    }
    if let Some(i) = x.data.iter().position(|v| !v.is_finite()) {
        return Err(bad(
            &xp,
            format!("example {}, feature {} is not finite", i / width, i % width),
        ));
    }
    let y_width = match y.shape.as_slice() {
        [m] if *m == n => 1,
        [m, k] if *m == n => *k,
        s => {
            return Err(bad(
                &yp,
                format!(
                    "labels must be [{n}] or [{n}, k] to match the features; the shape is {s:?}"
                ),
            ))
        }
    };
    let file = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        )
    };
    let classes = if y.integer && y_width == 1 {
        if let Some(i) = y.data.iter().position(|v| *v < 0.0) {
            return Err(bad(
                &yp,
                format!("example {i}: label {} is negative", y.data[i]),
            ));
        }
        Some(y.data.iter().fold(0.0f64, |a, b| a.max(*b)) as usize + 1)
    } else {
        if let Some(i) = y.data.iter().position(|v| !v.is_finite()) {
            return Err(bad(&yp, format!("example {} is not finite", i / y_width)));
        }
        None
    };
    Ok(Dataset {
        name: format!("{} / {} ({n} × {width})", file(&xp), file(&yp)),
        x: x.data.iter().map(|v| *v as f32).collect(),
        y: y.data.iter().map(|v| *v as f32).collect(),
        n,
        x_width: width,
        y_width,
        classes,
    })
}
