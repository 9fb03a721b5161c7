//! The in-memory form of every array a file holds: a shape, values widened to f32, whether
//! they were integers, and where they came from (for errors).

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where an array came from: a file, and the tensor within it for files of several.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub file: PathBuf,
    pub tensor: Option<String>,
}

impl Origin {
    pub fn file(path: &Path) -> Self {
        Origin {
            file: path.to_path_buf(),
            tensor: None,
        }
    }

    pub fn tensor(path: &Path, name: &str) -> Self {
        Origin {
            file: path.to_path_buf(),
            tensor: Some(name.to_string()),
        }
    }

    /// A data error at this origin.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Data {
            file: self.file.clone(),
            tensor: self.tensor.clone(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// The file's name without its folders.
    pub fn file_name(&self) -> String {
        self.file.file_name().map_or_else(
            || self.file.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        )
    }

    /// The file's name and the tensor's, for dataset names: `data.npz:x`.
    pub fn short(&self) -> String {
        match &self.tensor {
            Some(t) => format!("{}:{t}", self.file_name()),
            None => self.file_name(),
        }
    }
}

/// An array read from a file (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    /// Whether the stored element type was an integer or boolean (labels are then classes).
    pub integer: bool,
    pub origin: Origin,
}

/// The element types the formats store, each widened to f32 on reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    Bool,
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F16,
    BF16,
    F32,
    F64,
}

impl Element {
    pub fn size(self) -> usize {
        match self {
            Element::Bool | Element::U8 | Element::I8 => 1,
            Element::U16 | Element::I16 | Element::F16 | Element::BF16 => 2,
            Element::U32 | Element::I32 | Element::F32 => 4,
            Element::U64 | Element::I64 | Element::F64 => 8,
        }
    }

    pub fn is_integer(self) -> bool {
        !matches!(
            self,
            Element::F16 | Element::BF16 | Element::F32 | Element::F64
        )
    }

    /// Widens `bytes` (a whole number of elements, little- or big-endian) to f32.
    pub fn widen(self, bytes: &[u8], little_endian: bool) -> Vec<f32> {
        let mut out = Vec::with_capacity(bytes.len() / self.size());
        self.widen_into(bytes, little_endian, &mut out);
        out
    }

    /// Widens `bytes` to f32 at the end of `out` (which the caller has reserved, fallibly).
    pub fn widen_into(self, bytes: &[u8], little_endian: bool, out: &mut Vec<f32>) {
        fn each<const N: usize>(
            bytes: &[u8],
            little: bool,
            out: &mut Vec<f32>,
            f: impl Fn([u8; N]) -> f32,
        ) {
            out.extend(bytes.chunks_exact(N).map(|c| {
                let mut b: [u8; N] = c.try_into().unwrap_or([0; N]);
                if !little {
                    b.reverse();
                }
                f(b)
            }))
        }
        let le = little_endian;
        match self {
            Element::Bool | Element::U8 => out.extend(bytes.iter().map(|&b| b as f32)),
            Element::I8 => out.extend(bytes.iter().map(|&b| b as i8 as f32)),
            Element::U16 => each(bytes, le, out, |b| u16::from_le_bytes(b) as f32),
            Element::I16 => each(bytes, le, out, |b| i16::from_le_bytes(b) as f32),
            Element::U32 => each(bytes, le, out, |b| u32::from_le_bytes(b) as f32),
            Element::I32 => each(bytes, le, out, |b| i32::from_le_bytes(b) as f32),
            Element::U64 => each(bytes, le, out, |b| u64::from_le_bytes(b) as f32),
            Element::I64 => each(bytes, le, out, |b| i64::from_le_bytes(b) as f32),
            Element::F16 => each(bytes, le, out, |b| f16_to_f32(u16::from_le_bytes(b))),
            Element::BF16 => each(bytes, le, out, |b| {
                f32::from_bits((u16::from_le_bytes(b) as u32) << 16)
            }),
            Element::F32 => each(bytes, le, out, f32::from_le_bytes),
            Element::F64 => each(bytes, le, out, |b| f64::from_le_bytes(b) as f32),
        }
    }
}

/// IEEE half precision to single (exact: every f16 is an f32).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        // Subnormal: f · 2⁻²⁴, exact in f32.
        (0, f) => {
            let magnitude = f as f32 * 2f32.powi(-24);
            return if sign != 0 { -magnitude } else { magnitude };
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

impl Array {
    /// The number of values the shape holds, or `None` on overflow.
    pub fn count(shape: &[usize]) -> Option<usize> {
        shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// Why a shape whose size overflows the address space is refused (a header that lies).
    pub fn too_large(origin: &Origin, shape: &[usize]) -> crate::error::Error {
        origin.error(format!(
            "shape {shape:?} holds more bytes than this machine can address; the header is corrupt or not meant for netdx"
        ))
    }

    /// Refuses an array of `count` values (of `shape`) whose f32 copy would exceed the data
    /// ceiling, before it is allocated.
    pub fn fits(origin: &Origin, shape: &[usize], count: usize) -> crate::error::Result<()> {
        let limit = super::Limit::data()?;
        let bytes = (count as u64).saturating_mul(4);
        if bytes > limit.bytes {
            return Err(origin.error(limit.refuse(&format!(
                "shape {shape:?} holds {count} values; as f32, {bytes} bytes"
            ))));
        }
        Ok(())
    }

    /// Reads `count(shape)` elements of `element` from the start of `body`; a body too short
    /// is a truncated file.
    pub fn from_bytes(
        origin: Origin,
        shape: Vec<usize>,
        element: Element,
        body: &[u8],
        little_endian: bool,
    ) -> crate::error::Result<Array> {
        let count = Array::count(&shape).ok_or_else(|| Array::too_large(&origin, &shape))?;
        let need = count
            .checked_mul(element.size())
            .ok_or_else(|| Array::too_large(&origin, &shape))?;
        if body.len() < need {
            return Err(origin.error(format!(
                "truncated: {} bytes of data for the {count} values of shape {shape:?} ({element:?})",
                body.len()
            )));
        }
        Array::fits(&origin, &shape, count)?;
        let mut data = Vec::new();
        data.try_reserve_exact(count).map_err(|_| {
            origin.error(format!(
                "cannot allocate {} bytes for the {count} values of shape {shape:?}",
                count as u64 * 4
            ))
        })?;
        element.widen_into(&body[..need], little_endian, &mut data);
        Ok(Array {
            data,
            shape,
            integer: element.is_integer(),
            origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_widens_exactly() {
        for (h, f) in [
            (0x3c00u16, 1.0f32),
            (0xc000, -2.0),
            (0x7bff, 65504.0),
            (0x0001, 2f32.powi(-24)),
            (0x8001, -(2f32.powi(-24))),
            (0x0000, 0.0),
            (0x3555, 0.333_251_95),
        ] {
            assert_eq!(f16_to_f32(h), f, "{h:#06x}");
        }
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    }

    #[test]
    fn big_endian_integers_widen() {
        let v = Element::I16.widen(&[0xff, 0xfe, 0x01, 0x00], false);
        assert_eq!(v, vec![-2.0, 256.0]);
        let v = Element::U32.widen(&[1, 0, 0, 0], true);
        assert_eq!(v, vec![1.0]);
    }
}
