//! Reading a model file: the protobuf decoded by prost, then the facts the importer relies
//! on checked once (an ONNX graph, a supported opset of the default domain, weights inside
//! the file), each refusal naming the file.

use std::path::Path;

use prost::Message;

use super::proto::ModelProto;
use crate::error::{Error, Result};

/// The opsets of the default domain the importer maps (what PyTorch's exporters write).
pub const OPSETS: std::ops::RangeInclusive<i64> = 13..=21;

/// The largest model file read (weights included): beyond it, the file is refused before it
/// is read into memory.
const MAX_BYTES: u64 = 2 << 30;

fn error(path: &Path, message: impl Into<String>) -> Error {
    Error::Onnx {
        file: path.to_path_buf(),
        node: None,
        message: message.into(),
    }
}

/// The decoded model and its default-domain opset.
pub struct ModelFile {
    pub model: ModelProto,
    pub opset: i64,
}

/// Reads and decodes `path`.
pub fn read(path: &Path) -> Result<ModelFile> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if !meta.is_file() {
        return Err(error(
            path,
            "is not a regular file (a directory or a device): give an .onnx file",
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(error(
            path,
            format!(
                "is {} bytes, more than the {MAX_BYTES} netdx reads; a model this large does not fit a debugging run",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    if bytes.is_empty() {
        return Err(error(path, "is empty; export the model again"));
    }
    let model = ModelProto::decode(bytes.as_slice()).map_err(|e| {
        error(
            path,
            format!(
                "is not a readable ONNX model (a truncated or corrupted file, or not ONNX at all): {e}"
            ),
        )
    })?;
    let Some(graph) = &model.graph else {
        return Err(error(
            path,
            "holds no graph (a truncated or corrupted file, or not ONNX at all)",
        ));
    };
    if graph.node.is_empty() {
        return Err(error(
            path,
            "has a graph without nodes (a truncated or corrupted file, or not ONNX at all)",
        ));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| error(path, "declares no opset of the default ONNX domain"))?;
    if !OPSETS.contains(&opset) {
        return Err(error(
            path,
            format!(
                "uses opset {opset}; netdx imports opsets {}–{} (PyTorch: `torch.onnx.export(..., opset_version=17)`)",
                OPSETS.start(),
                OPSETS.end()
            ),
        ));
    }
    for t in &graph.initializer {
        if t.data_location == super::proto::tensor_proto::DataLocation::External as i32 {
            let location = t
                .external_data
                .iter()
                .find(|e| e.key == "location")
                .map(|e| e.value.clone())
                .unwrap_or_default();
            let dir = path.parent().unwrap_or(Path::new("."));
            let missing = location.is_empty() || !dir.join(&location).is_file();
            return Err(error(
                path,
                if missing {
                    format!(
                        "keeps the weights of `{}` in the external file `{location}`, which is missing next to it; netdx reads models whose weights are inside the file (export with `external_data=False`, or `onnx.save_model(m, path, save_as_external_data=False)`)",
                        t.name
                    )
                } else {
                    format!(
                        "keeps the weights of `{}` in the external file `{location}`; netdx reads models whose weights are inside the file (export with `external_data=False`, or `onnx.save_model(m, path, save_as_external_data=False)`)",
                        t.name
                    )
                },
            ));
        }
    }
    Ok(ModelFile { model, opset })
}
