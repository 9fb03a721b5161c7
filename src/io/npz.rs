//! NPZ archives (`np.savez`, stored, and `np.savez_compressed`, deflated): a zip of NPY files,
//! array `name` in entry `name.npy`.

use std::io::Read;
use std::path::Path;

use super::{Array, Origin};
use crate::error::Result;

/// An open NPZ archive.
pub struct Npz {
    path: std::path::PathBuf,
    archive: zip::ZipArchive<std::io::Cursor<memmap2::Mmap>>,
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
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| origin.error(format!("cannot be read: {e}")))?;
        super::npy::parse(&bytes, origin)
    }
}
