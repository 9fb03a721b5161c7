//! Reading a model file: the protobuf decoded by prost, then the facts the importer relies
//! on checked once (an ONNX graph, a supported opset of the default domain) and weights kept
//! in external files read in, each refusal naming the file.

use std::path::Path;

use prost::Message;

use super::proto::ModelProto;
use crate::error::{Error, Result};
use crate::io::bounded::{self, Limit, Opened};

/// The opsets of the default domain the importer maps (what PyTorch's exporters write).
pub const OPSETS: std::ops::RangeInclusive<i64> = 13..=21;

/// The largest model file read (weights included): beyond it, the file is refused before it
/// is read into memory.
const MAX_BYTES: u64 = 2 << 30;

const MODEL_LIMIT: Limit = Limit {
    bytes: MAX_BYTES,
    phrase: "is more than netdx reads for one model",
    hint: "; a model this large does not fit a debugging run",
};

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
    // What the path is before opening it (a named pipe would wait for a writer), and no more
    // than MODEL_LIMIT read from it, whatever its size says.
    let bytes = bounded::map(path, &MODEL_LIMIT).map_err(|e| error(path, e.to_string()))?;
    if bytes.is_empty() {
        return Err(error(path, "is empty; export the model again"));
    }
    let model = ModelProto::decode(&bytes[..]).map_err(|e| {
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
    let mut model = model;
    load_external_data(path, &mut model)?;
    Ok(ModelFile { model, opset })
}

/// Reads the weights the dynamo exporter (by default) and `onnx.save_model(...,
/// save_as_external_data=True)` keep beside the model: each such initializer names a file in
/// the model's folder, with an optional byte offset and length.
fn load_external_data(path: &Path, model: &mut ModelProto) -> Result<()> {
    use super::proto::tensor_proto::DataLocation;
    use std::io::{Read, Seek, SeekFrom};
    let dir = path.parent().unwrap_or(Path::new("."));
    let graph = model.graph.as_mut().expect("checked by read");
    for t in &mut graph.initializer {
        if t.data_location != DataLocation::External as i32 {
            continue;
        }
        let key = |k: &str| {
            t.external_data
                .iter()
                .find(|e| e.key == k)
                .map(|e| e.value.clone())
        };
        let location = key("location").unwrap_or_default();
        let name = t.name.clone();
        let refuse = |message: String| error(path, format!("initializer `{name}`: {message}"));
        let relative = Path::new(&location);
        if location.is_empty()
            || relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(refuse(format!(
                "its external data location `{location}` is not a file name in the model's folder"
            )));
        }
        let number = |k: &str| -> Result<Option<u64>> {
            key(k)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| refuse(format!("its external data {k} `{v}` is not a number")))
                })
                .transpose()
        };
        let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
        let file = dir.join(relative);
        let unreadable = |why: String| {
            refuse(format!(
                "its weights are in the external file `{}`, which cannot be read ({why}); keep that file next to the model, or export with `external_data=False`",
                file.display()
            ))
        };
        // A named pipe or a device here would block or never end: only a regular file is
        // read, at the offset and length the model gives.
        let (mut f, size) = match bounded::open(&file).map_err(|e| unreadable(e.to_string()))? {
            Opened::File { file, size } => (file, size),
            Opened::Stream(_) => return Err(unreadable("it is a stream, not a file".into())),
        };
        let length = length.unwrap_or(size.saturating_sub(offset));
        if offset.checked_add(length).is_none_or(|end| end > size) || length > MAX_BYTES {
            return Err(refuse(format!(
                "its external data (offset {offset}, {length} bytes) lies beyond the end of `{}` ({size} bytes): a truncated or corrupted file",
                file.display()
            )));
        }
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(length as usize).map_err(|_| {
            refuse(format!(
                "its external data ({length} bytes) does not fit in memory"
            ))
        })?;
        bytes.resize(length as usize, 0);
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| f.read_exact(&mut bytes))
            .map_err(|e| refuse(format!("reading `{}`: {e}", file.display())))?;
        t.raw_data = bytes;
        t.data_location = DataLocation::Default as i32;
        t.external_data.clear();
    }
    Ok(())
}
