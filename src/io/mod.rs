//! Array file formats: NPY, NPZ, IDX (MNIST) and safetensors in, safetensors out. Every reader
//! returns [`Array`]s widened to f32 and names the file (and tensor) in its errors; none panics
//! on a truncated or malformed file, and none allocates more than a file's real size or the
//! data ceiling ([`Limit::data`]) before checking it. `data` builds datasets from these arrays and
//! `model::weights` builds initial weights.

mod array;
pub mod bounded;
pub mod idx;
pub mod npy;
pub mod npz;
pub mod safetensors;

pub use array::{Array, Element, Origin};
pub use bounded::{Contents, Limit, Refused};

use std::path::{Path, PathBuf};

use crate::error::Result;

/// `path` relative to `base` unless absolute.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// A whole data file: memory-mapped when it is a regular file (large datasets are read once,
/// straight from the page cache, with no second copy on the heap), read with the data ceiling
/// when it is a stream given on purpose (`-`, `/dev/fd/N`); anything else is refused naming
/// what it is.
pub fn map(path: &Path) -> Result<Contents> {
    let limit = Limit::data()?;
    bounded::map(path, &limit).map_err(|e| Origin::file(path).error(e.to_string()))
}

/// Whether `path` does not exist (a dangling link included; a link loop or a directory does
/// exist, and is reported as what it is).
pub fn missing(path: &Path) -> bool {
    matches!(std::fs::metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}
