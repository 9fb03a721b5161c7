//! IDX files (MNIST, Fashion-MNIST): a magic of two zero bytes, an element code and the number
//! of dimensions, then each dimension as a big-endian u32, then big-endian values. Gzipped
//! files (`.gz`, recognised by their magic, not their name) are inflated on reading, never
//! past what their header needs.

use std::io::Read;
use std::path::Path;

use super::bounded;
use super::{Array, Element, Limit, Origin, Refused};
use crate::error::Result;

/// The element type, the shape and the header's length, from the start of `bytes` (which need
/// hold no more than the header).
fn header(bytes: &[u8], origin: &Origin) -> Result<(Element, Vec<usize>, usize)> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(origin.error("not an IDX file (wrong magic)"));
    }
    let element = match bytes[2] {
        0x08 => Element::U8,
        0x09 => Element::I8,
        0x0B => Element::I16,
        0x0C => Element::I32,
        0x0D => Element::F32,
        0x0E => Element::F64,
        code => return Err(origin.error(format!("unknown IDX element type {code:#04x}"))),
    };
    let dims = bytes[3] as usize;
    if dims == 0 {
        return Err(origin.error("IDX file with no dimensions"));
    }
    let header = 4 + 4 * dims;
    let shape: Vec<usize> = bytes
        .get(4..header)
        .ok_or_else(|| origin.error("truncated header"))?
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    Ok((element, shape, header))
}

/// Parses IDX bytes (already inflated).
pub fn parse(bytes: &[u8], origin: Origin) -> Result<Array> {
    let (element, shape, header) = header(bytes, &origin)?;
    Array::from_bytes(origin, shape, element, &bytes[header..], false)
}

/// Gzip (deflate) expands at most 1032-fold; slack for tiny files.
const GZIP_MAX_RATIO: u64 = 1032;

/// Reads an IDX file, raw or gzipped. A gzipped file is inflated header first, and then only
/// the bytes its header needs, once those are checked against the data ceiling and against
/// what the compressed file can hold.
pub fn read(path: &Path) -> Result<Array> {
    let origin = Origin::file(path);
    let map = super::map(path)?;
    if !map.starts_with(&[0x1f, 0x8b]) {
        return parse(&map, origin);
    }
    let gz_error = |e: std::io::Error| origin.error(format!("gzip: {e}"));
    let mut gz = flate2::read::GzDecoder::new(&map[..]);
    let mut bytes = Vec::new();
    (&mut gz)
        .take(4)
        .read_to_end(&mut bytes)
        .map_err(gz_error)?;
    let dims = bytes.get(3).copied().unwrap_or(0) as u64;
    (&mut gz)
        .take(4 * dims)
        .read_to_end(&mut bytes)
        .map_err(gz_error)?;
    let (element, shape, header) = header(&bytes, &origin)?;
    let count = Array::count(&shape).ok_or_else(|| Array::too_large(&origin, &shape))?;
    let body = count
        .checked_mul(element.size())
        .ok_or_else(|| Array::too_large(&origin, &shape))? as u64;
    let packed = map.len() as u64;
    if body
        > packed
            .saturating_mul(GZIP_MAX_RATIO)
            .saturating_add(1 << 16)
    {
        return Err(origin.error(format!(
            "truncated: the header needs {body} bytes for the {count} values of shape {shape:?} ({element:?}); a gzip of {packed} bytes cannot inflate to that ({GZIP_MAX_RATIO}:1 at most)"
        )));
    }
    Array::fits(&origin, &shape, count)?;
    let limit = Limit {
        bytes: body,
        ..Limit::data()?
    };
    let mut rest = match bounded::read_all((&mut gz).take(body), &limit, body) {
        Ok(b) => b,
        Err(Refused::Io(e)) => return Err(gz_error(e)),
        Err(e) => return Err(origin.error(e.to_string())),
    };
    bytes.truncate(header);
    bytes.append(&mut rest);
    parse(&bytes, origin)
}

/// IDX bytes of u8 values with `shape` (for tests and fixtures).
pub fn to_bytes_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, shape.len() as u8];
    for d in shape {
        out.extend_from_slice(&(*d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
