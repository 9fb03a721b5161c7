//! The `data:` section of a config.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::builtin::BuiltinKind;
use super::csv::CsvSource;
use super::prepare::Normalize;
use super::sources::{FileSource, IdxSource, NpySource, NpzSource, SafetensorsSource};

/// The `data:` section: one source (a built-in with its parameters, or a file), the planted
/// transforms, the validation split and the normalization.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(default)]
    pub builtin: Option<BuiltinKind>,
    /// A CSV file with a header row (see `data::csv`).
    #[serde(default)]
    pub csv: Option<CsvSource>,
    /// NPY files for features and labels.
    #[serde(default)]
    pub npy: Option<NpySource>,
    /// An NPZ archive holding features and labels.
    #[serde(default)]
    pub npz: Option<NpzSource>,
    /// MNIST-style IDX files for images and labels (raw or gzipped).
    #[serde(default)]
    pub idx: Option<IdxSource>,
    /// A safetensors file holding features and labels.
    #[serde(default)]
    pub safetensors: Option<SafetensorsSource>,
    /// Built-ins: the number of classes. Files: the number of classes the labels index (labels
    /// must be below it; float labels are then read as classes too); without it integer labels
    /// are classes 0..max and float labels a regression target.
    #[serde(default)]
    pub classes: Option<usize>,
    #[serde(default)]
    pub points_per_class: Option<usize>,
    #[serde(default)]
    pub points: Option<usize>,
    #[serde(default)]
    pub dims: Option<usize>,
    #[serde(default)]
    pub noise: Option<f64>,
    /// The side of the built-in `shapes` images, in pixels.
    #[serde(default)]
    pub size: Option<usize>,
    /// Seed of the data (generation, label shuffling, the validation split), independent of
    /// the training seed; defaults to the config's seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Multiply every feature by this (e.g. to plant unnormalized inputs).
    #[serde(default)]
    pub scale: Option<f64>,
    /// Add this to every feature after scaling.
    #[serde(default)]
    pub offset: Option<f64>,
    /// Permute the labels across examples (labels no longer depend on the inputs).
    #[serde(default)]
    pub shuffle_labels: bool,
    /// Hold out a validation set: a fraction of the examples (drawn with the data seed), or a
    /// separate file (`{npy: {x: …, y: …}}`, any file source).
    #[serde(default)]
    pub validation: Option<Validation>,
    /// `none` (default), `standardize`, `minmax` or `{scale: factor}`; statistics come from the
    /// training split and apply to both splits.
    #[serde(default)]
    pub normalize: Normalize,
    /// A built-in to train on instead when the file source's files are missing
    /// (`fallback: {builtin: shapes}`), so a suite written for a download also runs without
    /// it; the dataset's name then says which file was missing.
    #[serde(default)]
    pub fallback: Option<Box<DataSpec>>,
}

impl DataSpec {
    /// The file source, if the section names one (validation ensures at most one).
    pub fn file_source(&self) -> Option<FileSource> {
        if let Some(s) = &self.csv {
            return Some(FileSource::Csv(s.clone()));
        }
        if let Some(s) = &self.npy {
            return Some(FileSource::Npy(s.clone()));
        }
        if let Some(s) = &self.npz {
            return Some(FileSource::Npz(s.clone()));
        }
        if let Some(s) = &self.idx {
            return Some(FileSource::Idx(s.clone()));
        }
        self.safetensors.clone().map(FileSource::Safetensors)
    }

    /// How many sources the section names (exactly one is valid).
    pub fn source_count(&self) -> usize {
        [
            self.builtin.is_some(),
            self.csv.is_some(),
            self.npy.is_some(),
            self.npz.is_some(),
            self.idx.is_some(),
            self.safetensors.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count()
    }
}

/// `validation: 0.2` or `validation: {csv: {path: valid.csv}}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Validation {
    Fraction(f64),
    File(FileSource),
}

impl<'de> Deserialize<'de> for Validation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Validation;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a fraction such as 0.2, or a file source such as {npy: {x: …, y: …}}")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Validation, E> {
                Ok(Validation::Fraction(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Validation, E> {
                Ok(Validation::Fraction(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Validation, E> {
                Ok(Validation::Fraction(v as f64))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Validation, A::Error> {
                FileSource::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Validation::File)
            }
        }
        d.deserialize_any(V)
    }
}
