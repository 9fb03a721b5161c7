//! NPZ archives (`np.savez`, stored, and `np.savez_compressed`, deflated): a zip of NPY files,
//! array `name` in entry `name.npy`. The sizes an entry declares are checked before anything
//! is allocated for them, and an entry is never inflated past its declared size.

use std::io::Read;
use std::path::Path;

use super::bounded::{self, Bounded};
use super::{npy, Array, Limit, Origin, Refused};
use crate::error::Result;

/// An open NPZ archive.
pub struct Npz {
    path: std::path::PathBuf,
    archive: zip::ZipArchive<std::io::Cursor<super::Contents>>,
}

impl Npz {
    pub fn open(path: &Path) -> Result<Npz> {
        let map = super::map(path)?;
        let archive = zip::ZipArchive::new(std::io::Cursor::new(map))
            .map_err(|e| Origin::file(path).error(format!("not an NPZ (zip) archive: {e}")))?;
        Ok(Npz {
            path: path.to_path_buf(),
            archive,
        })
    }

    /// The arrays the archive holds, by name (without `.npy`).
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .map(|n| n.strip_suffix(".npy").unwrap_or(n).to_string())
            .collect()
    }

    /// Reads array `name`.
    pub fn read(&mut self, name: &str) -> Result<Array> {
        let origin = Origin::tensor(&self.path, name);
        let mut names = self.names();
        names.sort();
        let mut entry = match self.archive.by_name(&format!("{name}.npy")) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(origin.error(format!(
                    "no such array; the archive holds: {}",
                    names.join(", ")
                )))
            }
            Err(e) => return Err(origin.error(e.to_string())),
        };
        read_entry(&mut entry, &origin)
    }
}

/// Deflate expands at most 1032-fold (a 258-byte match in two bits); a declared size beyond
/// that, plus some slack for tiny entries, cannot be the truth.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// Reads an entry's NPY file without trusting its sizes: the size the zip declares is checked
/// against the data ceiling and against what its compressed bytes can hold, the NPY header is
/// read first and the body it needs is checked against the declared size, and the inflated
/// stream is never read past the declared size.
fn read_entry(entry: &mut zip::read::ZipFile<'_, impl Read>, origin: &Origin) -> Result<Array> {
    let limit = Limit::data()?;
    let declared = entry.size();
    let packed = entry.compressed_size();
    if declared > limit.bytes {
        return Err(origin.error(limit.refuse(&format!(
            "the zip entry declares {declared} bytes uncompressed, which"
        ))));
    }
    if entry.compression() == zip::CompressionMethod::Deflated
        && declared
            > packed
                .saturating_mul(DEFLATE_MAX_RATIO)
                .saturating_add(1 << 16)
    {
        return Err(origin.error(format!(
            "the zip entry declares {declared} bytes uncompressed from {packed} compressed bytes; deflate cannot expand that much ({DEFLATE_MAX_RATIO}:1 at most)"
        )));
    }
    let read_error = |e: std::io::Error| {
        if bounded::is_exceeded(&e) {
            origin.error(format!(
                "inflates to more than the {declared} bytes its zip entry declares"
            ))
        } else {
            origin.error(format!("cannot be read: {e}"))
        }
    };
    let mut reader = Bounded::new(entry, declared);
    // The preamble, then the header it announces, then the body the header needs.
    let mut bytes = Vec::new();
    (&mut reader)
        .take(12)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let start = npy::body_start(&bytes, origin)?;
    (&mut reader)
        .take((start - bytes.len().min(start)) as u64)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    let header = npy::header(&bytes, origin)?;
    let count =
        Array::count(&header.shape).ok_or_else(|| Array::too_large(origin, &header.shape))?;
    let need = header
        .body_bytes()
        .and_then(|b| b.checked_add(start))
        .ok_or_else(|| Array::too_large(origin, &header.shape))?;
    if need as u64 > declared {
        return Err(origin.error(format!(
            "truncated: the zip entry declares {declared} bytes; the NPY header needs {need} for the {count} values of shape {:?} ({:?})",
            header.shape, header.element
        )));
    }
    Array::fits(origin, &header.shape, count)?;
    let body_limit = Limit {
        bytes: (need - start) as u64,
        ..limit
    };
    let mut body = match bounded::read_all(
        (&mut reader).take(body_limit.bytes),
        &body_limit,
        body_limit.bytes,
    ) {
        Ok(b) => b,
        Err(Refused::Io(e)) => return Err(read_error(e)),
        Err(e) => return Err(origin.error(e.to_string())),
    };
    // The rest, to the declared end and one byte past it: an entry that inflates past its
    // declared size is refused, and the zip's checksum is checked at the end of the stream.
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(read_error)?;
    bytes.append(&mut body);
    npy::parse(&bytes, origin.clone())
}
