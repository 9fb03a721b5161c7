//! Array file formats: NPY, NPZ, IDX (MNIST) and safetensors in, safetensors out. Every reader
//! returns [`Array`]s widened to f32 and names the file (and tensor) in its errors; none panics
//! on a truncated or malformed file. `data` builds datasets from these arrays and
//! `model::weights` builds initial weights.

mod array;
pub mod idx;
pub mod npy;
pub mod npz;
pub mod safetensors;

pub use array::{Array, Element, Origin};

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

/// A whole file, memory-mapped: large datasets are read once, straight from the page cache,
/// with no second copy on the heap.
pub fn map(path: &Path) -> Result<memmap2::Mmap> {
    let origin = Origin::file(path);
    let file = std::fs::File::open(path).map_err(|e| origin.error(e.to_string()))?;
    // SAFETY: the map is read-only and private to this process; a file truncated by another
    // process while it is mapped is the one case memmap2 cannot guard against, as for any
    // reader of files that others modify.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| origin.error(e.to_string()))
}
