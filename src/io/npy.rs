//! NPY arrays (NumPy's format v1–3): C order, f16/f32/f64, int8–64, uint8–64 and bool, either
//! byte order. A wrong magic, a truncated header or body, an unknown dtype and Fortran order
//! are errors naming the file.

use std::path::Path;

use super::{Array, Element, Origin};
use crate::error::Result;

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

fn element(descr: &str) -> Option<(Element, bool)> {
    let (order, code) = descr.split_at_checked(1)?;
    let little = match order {
        "<" | "|" | "=" => true,
        ">" => false,
        _ => return None,
    };
    let e = match code {
        "b1" => Element::Bool,
        "u1" => Element::U8,
        "i1" => Element::I8,
        "u2" => Element::U16,
        "i2" => Element::I16,
        "u4" => Element::U32,
        "i4" => Element::I32,
        "u8" => Element::U64,
        "i8" => Element::I64,
        "f2" => Element::F16,
        "f4" => Element::F32,
        "f8" => Element::F64,
        _ => return None,
    };
    Some((e, little))
}

/// Parses NPY bytes; `origin` names them in errors.
pub fn parse(bytes: &[u8], origin: Origin) -> Result<Array> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(origin.error("not an NPY file (wrong magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(origin.error(format!("unsupported NPY version {v}"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| origin.error("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| origin.error("header is not text"))?;
    let descr = field(header, "descr")
        .ok_or_else(|| origin.error("header has no 'descr'"))?
        .trim_matches('\'');
    if field(header, "fortran_order") == Some("True") {
        return Err(origin
            .error("Fortran order is not supported; save with C order (np.ascontiguousarray)"));
    }
    let shape_text = field(header, "shape").ok_or_else(|| origin.error("header has no 'shape'"))?;
    let shape: Vec<usize> = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| origin.error(format!("bad shape {shape_text}")))
        })
        .collect::<Result<_>>()?;
    let (element, little) = element(descr).ok_or_else(|| {
        origin.error(format!(
            "unsupported dtype '{descr}' (use float16/32/64, (u)int8–64 or bool)"
        ))
    })?;
    Array::from_bytes(origin, shape, element, &bytes[start + header_len..], little)
}

/// Reads an NPY file.
pub fn read(path: &Path) -> Result<Array> {
    let bytes = super::map(path)?;
    parse(&bytes, Origin::file(path))
}
