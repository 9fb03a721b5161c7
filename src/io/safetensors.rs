//! safetensors files (Hugging Face's format, written by `safetensors.torch.save_file` and
//! `save_model`): read into [`Array`]s, and written from named f32 tensors.

use std::collections::BTreeMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::{Array, Element, Origin};
use crate::error::{Error, Result};

fn element(dtype: Dtype) -> Option<Element> {
    Some(match dtype {
        Dtype::BOOL => Element::Bool,
        Dtype::U8 => Element::U8,
        Dtype::I8 => Element::I8,
        Dtype::U16 => Element::U16,
        Dtype::I16 => Element::I16,
        Dtype::U32 => Element::U32,
        Dtype::I32 => Element::I32,
        Dtype::U64 => Element::U64,
        Dtype::I64 => Element::I64,
        Dtype::F16 => Element::F16,
        Dtype::BF16 => Element::BF16,
        Dtype::F32 => Element::F32,
        Dtype::F64 => Element::F64,
        _ => return None,
    })
}

/// An open safetensors file (memory-mapped; tensors are widened when read).
pub struct SafetensorsFile {
    path: std::path::PathBuf,
    map: super::Contents,
}

impl SafetensorsFile {
    pub fn open(path: &Path) -> Result<Self> {
        let map = super::map(path)?;
        // Validate the header once, so that later reads cannot fail on it.
        SafeTensors::deserialize(&map)
            .map_err(|e| Origin::file(path).error(format!("not a valid safetensors file: {e}")))?;
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            map,
        })
    }

    fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.map).expect("validated in open")
    }

    /// Every tensor's name and shape, sorted by name.
    pub fn shapes(&self) -> BTreeMap<String, Vec<usize>> {
        self.tensors()
            .tensors()
            .into_iter()
            .map(|(name, view)| (name, view.shape().to_vec()))
            .collect()
    }

    /// The file's path, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header's string metadata (`__metadata__`); empty when the file has none.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        SafeTensors::read_metadata(&self.map)
            .ok()
            .and_then(|(_, m)| m.metadata().clone())
            .map(|m| m.into_iter().collect())
            .unwrap_or_default()
    }

    /// Reads tensor `name`.
    pub fn read(&self, name: &str) -> Result<Array> {
        let origin = Origin::tensor(&self.path, name);
        let st = self.tensors();
        let view = st.tensor(name).map_err(|_| {
            let mut names = st.names();
            names.sort();
            origin.error(format!(
                "no such tensor; the file holds: {}",
                names.join(", ")
            ))
        })?;
        let element = element(view.dtype())
            .ok_or_else(|| origin.error(format!("unsupported dtype {:?}", view.dtype())))?;
        Array::from_bytes(origin, view.shape().to_vec(), element, view.data(), true)
    }
}

/// A named f32 tensor to write.
pub struct Named<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: &'a [f32],
}

/// Writes `tensors` (f32, little-endian, names unique) to `path`, with string `metadata` in
/// the header.
pub fn write(path: &Path, tensors: &[Named], metadata: BTreeMap<String, String>) -> Result<()> {
    let views = tensors
        .iter()
        .map(|t| {
            let view = safetensors::tensor::TensorView::new(
                Dtype::F32,
                t.shape.clone(),
                bytemuck::cast_slice(t.data),
            )
            .map_err(|e| Error::Usage(format!("tensor `{}`: {e}", t.name)))?;
            Ok((t.name.clone(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = (!metadata.is_empty()).then(|| metadata.into_iter().collect());
    safetensors::serialize_to_file(views, metadata, path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}
