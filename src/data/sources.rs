//! File sources of a dataset and their loading: every one reads features and labels as
//! arrays and hands them to `arrays::to_dataset` (CSV, text and token files have their own
//! readers).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv::CsvSource;
use super::text::TextSource;
use super::tokens::TokensSource;
use super::{arrays, DataSpec, Dataset};
use crate::error::Result;
use crate::io::{self, resolve};

/// `npy: {x: x.npy, y: y.npy}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpySource {
    pub x: PathBuf,
    pub y: PathBuf,
}

fn x_name() -> String {
    "x".into()
}

fn y_name() -> String {
    "y".into()
}

/// One file holding both arrays by name: `npz: {path: data.npz, x: x, y: y}` or
/// `safetensors: {path: data.safetensors, x: x, y: y}` (names default to `x` and `y`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedArraysSource {
    pub path: PathBuf,
    #[serde(default = "x_name")]
    pub x: String,
    #[serde(default = "y_name")]
    pub y: String,
}

/// `npz: {path: data.npz, x: x, y: y}`.
pub type NpzSource = NamedArraysSource;
/// `safetensors: {path: data.safetensors, x: x, y: y}`.
pub type SafetensorsSource = NamedArraysSource;

/// `idx: {images: train-images-idx3-ubyte.gz, labels: train-labels-idx1-ubyte.gz}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdxSource {
    pub images: PathBuf,
    pub labels: PathBuf,
}

/// One file source, as the key that names it: `{csv: {…}}`, `{npy: {…}}`, …
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileSource {
    Csv(CsvSource),
    Npy(NpySource),
    Npz(NpzSource),
    Idx(IdxSource),
    Safetensors(SafetensorsSource),
    Text(TextSource),
    Tokens(TokensSource),
}

impl FileSource {
    /// Whether the source is token-sequence data (a text or token file).
    pub fn is_sequence(&self) -> bool {
        matches!(self, FileSource::Text(_) | FileSource::Tokens(_))
    }

    /// The source's (first) file, as the config names it.
    pub fn path(&self) -> &Path {
        match self {
            FileSource::Csv(s) => &s.path,
            FileSource::Npy(s) => &s.x,
            FileSource::Npz(s) | FileSource::Safetensors(s) => &s.path,
            FileSource::Idx(s) => &s.images,
            FileSource::Text(s) => &s.path,
            FileSource::Tokens(s) => &s.path,
        }
    }
}

/// Reads `source` (paths relative to `base`). `train`, for a validation file, carries the
/// training data's classes and feature width (and for token data its context and
/// vocabulary); a validation file must be token data exactly when the training data is.
pub fn load(
    source: &FileSource,
    spec: &DataSpec,
    base: &Path,
    train: Option<&Dataset>,
) -> Result<Dataset> {
    if let Some(t) = train {
        if t.sequence.is_some() != source.is_sequence() {
            let kind = |s: bool| {
                if s {
                    "token data"
                } else {
                    "features and labels"
                }
            };
            return Err(crate::error::Error::Data {
                file: resolve(base, source.path()),
                tensor: None,
                line: None,
                column: None,
                message: format!(
                    "the validation data is {}; the training data is {}",
                    kind(source.is_sequence()),
                    kind(t.sequence.is_some())
                ),
            });
        }
    }
    read(source, spec, base, train)
}

fn read(
    source: &FileSource,
    spec: &DataSpec,
    base: &Path,
    train: Option<&Dataset>,
) -> Result<Dataset> {
    let pair = |x, y| arrays::to_dataset(x, y, spec.classes, train);
    match source {
        FileSource::Text(s) => super::text::load(s, base, train),
        FileSource::Tokens(s) => super::tokens::load(s, base, train),
        FileSource::Csv(s) => super::csv::load(s, base, train),
        FileSource::Npy(s) => pair(
            io::npy::read(&resolve(base, &s.x))?,
            io::npy::read(&resolve(base, &s.y))?,
        ),
        FileSource::Npz(s) => {
            let mut npz = io::npz::Npz::open(&resolve(base, &s.path))?;
            pair(npz.read(&s.x)?, npz.read(&s.y)?)
        }
        FileSource::Idx(s) => pair(
            io::idx::read(&resolve(base, &s.images))?,
            io::idx::read(&resolve(base, &s.labels))?,
        ),
        FileSource::Safetensors(s) => {
            let file = io::safetensors::SafetensorsFile::open(&resolve(base, &s.path))?;
            pair(file.read(&s.x)?, file.read(&s.y)?)
        }
    }
}
