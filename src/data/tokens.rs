//! Token arrays as sequence data: an integer array `[examples, context + 1]` from an NPY, NPZ
//! or safetensors file (chosen by the extension); each row gives the input `row[..context]`
//! and the next-token targets `row[1..]`. Every value must be a whole number in
//! `0..vocab`; a value that is not names the file, the row and the column (counted from 0, as
//! NumPy indexes them).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Dataset, SequenceInfo};
use crate::error::Result;
use crate::io::{self, Array, Origin};
use crate::limits;

/// `data: {tokens: {path: tokens.npy}}`, `{tokens: {path: corpus.npz, array: train, vocab: 512}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensSource {
    pub path: PathBuf,
    /// The array of an NPZ or safetensors file; may be left out when the file holds one.
    #[serde(default)]
    pub array: Option<String>,
    /// The vocabulary size (every id must be below it); default the largest id + 1.
    #[serde(default)]
    pub vocab: Option<usize>,
}

/// The one array of a file of several, or the one named.
fn pick(path: &Path, array: &Option<String>, mut names: Vec<String>) -> Result<String> {
    names.sort();
    match (array, names.as_slice()) {
        (Some(name), _) => Ok(name.clone()),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err(Origin::file(path).error("holds no arrays")),
        (None, many) => Err(Origin::file(path).error(format!(
            "holds {} arrays ({}); name the token array with `array:`",
            many.len(),
            many.join(", ")
        ))),
    }
}

/// Reads the token array.
fn read(path: &Path, array: &Option<String>) -> Result<Array> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "npy" => {
            if let Some(name) = array {
                return Err(Origin::file(path).error(format!(
                    "an NPY file holds one array; `array: {name}` names an array of an NPZ or safetensors file"
                )));
            }
            io::npy::read(path)
        }
        "npz" => {
            let mut npz = io::npz::Npz::open(path)?;
            let name = pick(path, array, npz.names())?;
            npz.read(&name)
        }
        "safetensors" => {
            let file = io::safetensors::SafetensorsFile::open(path)?;
            let name = pick(path, array, file.shapes().into_keys().collect())?;
            file.read(&name)
        }
        _ => Err(Origin::file(path).error(format!(
            "tokens are read from .npy, .npz or .safetensors files; the extension is `{ext}`"
        ))),
    }
}

/// Reads the token file `source.path` (relative to `base`). `train`, for a validation file,
/// fixes the vocabulary and the context to the training data's.
pub fn load(source: &TokensSource, base: &Path, train: Option<&Dataset>) -> Result<Dataset> {
    let path = io::resolve(base, &source.path);
    let a = read(&path, &source.array)?;
    let origin = &a.origin;
    let (n, width) = match a.shape.as_slice() {
        [n, w] => (*n, *w),
        s => {
            return Err(origin.error(format!(
                "token arrays must be [examples, context + 1]; the shape is {s:?}"
            )))
        }
    };
    if n == 0 {
        return Err(origin.error(format!("no examples: the shape is {:?}", a.shape)));
    }
    if width < 2 {
        return Err(origin.error(format!(
            "each example needs at least 2 tokens (a context of 1 and its next token); the shape is {:?}",
            a.shape
        )));
    }
    let context = width - 1;
    let trained = train
        .map(|t| {
            t.sequence
                .ok_or_else(|| origin.error("the training data is not token data"))
        })
        .transpose()?;
    if let Some(s) = trained {
        if s.context != context {
            return Err(origin.error(format!(
                "a context of {context} differs from the training data's {}",
                s.context
            )));
        }
        if source.vocab.is_some_and(|v| v != s.vocab) {
            return Err(origin.error(format!(
                "a vocab of {} differs from the training data's {}",
                source.vocab.unwrap_or_default(),
                s.vocab
            )));
        }
    }
    let declared = source.vocab.or(trained.map(|s| s.vocab));
    let bound = declared.unwrap_or(limits::MAX_VOCAB);
    let mut top = 0usize;
    for (i, &v) in a.data.iter().enumerate() {
        let at = format!("row {}, column {}", i / width, i % width);
        if !v.is_finite() || v.fract() != 0.0 {
            return Err(origin.error(format!("{at}: {v} is not a token id (a whole number)")));
        }
        if v < 0.0 {
            return Err(origin.error(format!("{at}: token {v} is negative")));
        }
        if v as f64 >= bound as f64 {
            return Err(origin.error(match declared {
                Some(vocab) => format!("{at}: token {v} is not below vocab {vocab}"),
                None => format!(
                    "{at}: token {v} is beyond the largest vocabulary netdx takes ({bound})"
                ),
            }));
        }
        top = top.max(v as usize);
    }
    let vocab = declared.unwrap_or(top + 1);
    let mut x = Vec::with_capacity(n * context);
    let mut y = Vec::with_capacity(n * context);
    for row in a.data.chunks_exact(width) {
        x.extend_from_slice(&row[..context]);
        y.extend_from_slice(&row[1..]);
    }
    Ok(Dataset {
        name: format!("{} ({n} × {context} tokens, vocab {vocab})", origin.short()),
        x,
        y,
        n,
        x_width: context,
        y_width: context,
        classes: Some(vocab),
        class_names: train.map(|t| t.class_names.clone()).unwrap_or_default(),
        image: None,
        sequence: Some(SequenceInfo { context, vocab }),
    })
}
