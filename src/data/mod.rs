//! Datasets: features `x` [n, x_width] and targets `y` [n, y_width] as f32, with the class
//! count for classification. A `data:` section ([`DataSpec`]) names a built-in generated from
//! the seed or a file (CSV, NPY pair, NPZ, IDX pair, safetensors); [`load`] reads it, applies
//! the planted transforms, holds out a validation split and normalizes both splits with
//! statistics of the training split. Sequence (language-model) data, from a text file, a
//! token array or a seeded task, follows the convention of [`Dataset::sequence`].

mod arrays;
mod builtin;
pub mod csv;
mod prepare;
mod sources;
mod spec;
pub mod tasks;
pub mod text;
pub mod tokens;

pub use builtin::{builtin, BuiltinKind, SHAPES_SIZE_RANGE, SHAPE_CLASSES};
pub use prepare::Normalize;
pub use sources::{
    FileSource, IdxSource, NamedArraysSource, NpySource, NpzSource, SafetensorsSource,
};
pub use spec::{DataSpec, Validation};
pub use text::{TextLevel, TextSource};
pub use tokens::TokensSource;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// The training data and, when the spec asks for one, the validation data.
#[derive(Clone, Debug)]
pub struct LoadedData {
    pub train: Dataset,
    pub validation: Option<Dataset>,
}

impl From<Dataset> for LoadedData {
    fn from(train: Dataset) -> Self {
        LoadedData {
            train,
            validation: None,
        }
    }
}

/// Reads the dataset a `data:` section describes (file paths relative to `base`, the config's
/// folder; generated data from `seed` unless the section has its own).
pub fn load(spec: &DataSpec, seed: u64, base: &Path) -> Result<LoadedData> {
    let seed = spec.seed.unwrap_or(seed);
    let whole = match spec.file_source() {
        Some(source) => match (sources::load(&source, spec, base, None), &spec.fallback) {
            (Err(crate::Error::Data { file, .. }), Some(fallback)) if crate::io::missing(&file) => {
                let mut d = builtin(fallback, seed);
                d.name = format!("{} (fallback: {} not found)", d.name, file.display());
                d
            }
            (loaded, _) => loaded?,
        },
        None => builtin(spec, seed),
    };
    prepare::prepare(whole, spec, seed, base)
}

/// A dataset in memory.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub name: String,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub n: usize,
    pub x_width: usize,
    pub y_width: usize,
    /// Number of classes for class-index targets; `None` for regression targets.
    pub classes: Option<usize>,
    /// The label each class index stands for, when the file named them (CSV text labels).
    pub class_names: Vec<String>,
    /// Each example as an image `[channels, height, width]`, when the source knows it (the
    /// built-in `shapes`, IDX and other arrays of rank 3 or 4); image models take it as their
    /// input shape unless `model.shape` says otherwise.
    pub image: Option<[usize; 3]>,
    /// Token sequences (language-model data): each example is `context` token ids in `x` (as
    /// f32, exact below 2^24) and the `context` next tokens in `y`, −1 where a position is not
    /// scored (the loss ignores it, as PyTorch's `ignore_index`); `classes` is the vocabulary
    /// size and `class_names` the text of each token, when the source knows it.
    pub sequence: Option<SequenceInfo>,
}

/// The shape of token data: tokens per example and the vocabulary size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceInfo {
    pub context: usize,
    pub vocab: usize,
}

/// What a run records of its data: shape, class balance and a content hash.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DataSummary {
    pub name: String,
    pub examples: usize,
    pub features: usize,
    pub targets: usize,
    pub classes: Option<usize>,
    pub class_counts: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
    pub hash: String,
}

impl DataSummary {
    /// One line: `iris.csv …: 120 × 4, 3 classes [40, 40, 40], fnv1a64:…`.
    pub fn to_text(&self) -> String {
        let classes = match (&self.classes, &self.class_counts) {
            (Some(c), Some(counts)) => format!(", {c} classes {counts:?}"),
            _ => format!(", {}-wide regression target", self.targets),
        };
        format!(
            "{}: {} × {}{classes}, {}",
            self.name, self.examples, self.features, self.hash
        )
    }
}

impl Dataset {
    /// A classification dataset with unnamed classes, or a regression one (`classes: None`).
    pub fn new(
        name: impl Into<String>,
        x: Vec<f32>,
        y: Vec<f32>,
        x_width: usize,
        y_width: usize,
        classes: Option<usize>,
    ) -> Self {
        let n = x.len().checked_div(x_width).unwrap_or(0);
        Dataset {
            name: name.into(),
            x,
            y,
            n,
            x_width,
            y_width,
            classes,
            class_names: Vec::new(),
            image: None,
            sequence: None,
        }
    }

    /// Row `i` of the features.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.x_width..(i + 1) * self.x_width]
    }

    /// The examples `indices`, in that order, named `name`.
    pub fn subset(&self, indices: &[usize], name: String) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.x_width);
        let mut y = Vec::with_capacity(indices.len() * self.y_width);
        for &i in indices {
            x.extend_from_slice(self.row(i));
            y.extend_from_slice(&self.y[i * self.y_width..(i + 1) * self.y_width]);
        }
        Dataset {
            name,
            x,
            y,
            n: indices.len(),
            class_names: self.class_names.clone(),
            ..*self
        }
    }

    /// FNV-1a 64 over the shapes and the bytes of x and y: a content hash for run records.
    pub fn content_hash(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= *b as u64;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(&(self.n as u64).to_le_bytes());
        eat(&(self.x_width as u64).to_le_bytes());
        eat(&(self.y_width as u64).to_le_bytes());
        eat(bytemuck::cast_slice(&self.x));
        eat(bytemuck::cast_slice(&self.y));
        format!("fnv1a64:{h:016x}")
    }

    /// Examples per class (classification only); for token data, scored targets per token
    /// (every position whose target is not −1).
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let c = self.classes?;
        let mut counts = vec![0; c];
        let mut count = |v: f32| {
            if v >= 0.0 && (v as usize) < c {
                counts[v as usize] += 1;
            }
        };
        if self.sequence.is_some() {
            self.y.iter().for_each(|v| count(*v));
        } else {
            (0..self.n).for_each(|i| count(self.y[i * self.y_width]));
        }
        Some(counts)
    }

    /// Shape, class counts and content hash.
    pub fn summary(&self) -> DataSummary {
        DataSummary {
            name: self.name.clone(),
            examples: self.n,
            features: self.x_width,
            targets: self.y_width,
            classes: self.classes,
            class_counts: self.class_counts(),
            class_names: self.class_names.clone(),
            hash: self.content_hash(),
        }
    }
}
