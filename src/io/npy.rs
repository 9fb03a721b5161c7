//! NPY arrays (NumPy's format v1–3): C order, f16/f32/f64, int8–64, uint8–64 and bool, either
//! byte order. A wrong magic, a truncated header or body, an unknown dtype and Fortran order
//! are errors naming the file.

use std::path::Path;

use super::{Array, Element, Origin};
use crate::error::Result;
use crate::limits;

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

/// What an NPY header says the body holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub shape: Vec<usize>,
    pub element: Element,
    pub little_endian: bool,
    /// Where the body starts: the magic, version, header length and header before it.
    pub body_start: usize,
}

impl Header {
    /// The body's size in bytes (`None` when it overflows).
    pub fn body_bytes(&self) -> Option<usize> {
        Array::count(&self.shape)?.checked_mul(self.element.size())
    }
}

/// Where the body starts, from the first 12 bytes (at least 10) of an NPY file: the header's
/// length is checked against [`limits::MAX_NPY_HEADER_BYTES`] before anything reads it.
pub fn body_start(bytes: &[u8], origin: &Origin) -> Result<usize> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(origin.error("not an NPY file (wrong magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        2 | 3 => return Err(origin.error("truncated header")),
        v => return Err(origin.error(format!("unsupported NPY version {v}"))),
    };
    if header_len > limits::MAX_NPY_HEADER_BYTES {
        return Err(origin.error(format!(
            "an NPY header of {header_len} bytes is larger than netdx reads ({} bytes)",
            limits::MAX_NPY_HEADER_BYTES
        )));
    }
    Ok(start + header_len)
}

/// Parses the header at the start of `bytes` (which need hold no more than the header).
pub fn header(bytes: &[u8], origin: &Origin) -> Result<Header> {
    let end = body_start(bytes, origin)?;
    let start = if bytes[6] == 1 { 10 } else { 12 };
    let header = bytes
        .get(start..end)
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
    let (element, little_endian) = element(descr).ok_or_else(|| {
        origin.error(format!(
            "unsupported dtype '{descr}' (use float16/32/64, (u)int8–64 or bool)"
        ))
    })?;
    Ok(Header {
        shape,
        element,
        little_endian,
        body_start: end,
    })
}

/// Parses NPY bytes; `origin` names them in errors.
pub fn parse(bytes: &[u8], origin: Origin) -> Result<Array> {
    let h = header(bytes, &origin)?;
    Array::from_bytes(
        origin,
        h.shape,
        h.element,
        &bytes[h.body_start..],
        h.little_endian,
    )
}

/// Reads an NPY file.
pub fn read(path: &Path) -> Result<Array> {
    let bytes = super::map(path)?;
    parse(&bytes, Origin::file(path))
}
