//! IDX files (MNIST, Fashion-MNIST): a magic of two zero bytes, an element code and the number
//! of dimensions, then each dimension as a big-endian u32, then big-endian values. Gzipped
//! files (`.gz`, recognised by their magic, not their name) are inflated on reading.

use std::io::Read;
use std::path::Path;

use super::{Array, Element, Origin};
use crate::error::Result;

/// Parses IDX bytes (already inflated).
pub fn parse(bytes: &[u8], origin: Origin) -> Result<Array> {
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
    Array::from_bytes(origin, shape, element, &bytes[header..], false)
}

/// Reads an IDX file, raw or gzipped.
pub fn read(path: &Path) -> Result<Array> {
    let origin = Origin::file(path);
    let map = super::map(path)?;
    if map.starts_with(&[0x1f, 0x8b]) {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(&map[..])
            .read_to_end(&mut bytes)
            .map_err(|e| origin.error(format!("gzip: {e}")))?;
        parse(&bytes, origin)
    } else {
        parse(&map, origin)
    }
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
