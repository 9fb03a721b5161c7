//! The `data:` section of a config.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::builtin::BuiltinKind;
use super::csv::CsvSource;
use super::prepare::Normalize;
use super::sources::{FileSource, IdxSource, NpySource, NpzSource, SafetensorsSource};
use super::text::TextSource;
use super::tokens::TokensSource;

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
    /// A text file as token sequences: `{path, context, stride, level}` (see `data::text`).
    #[serde(default)]
    pub text: Option<TextSource>,
    /// An integer token array `[examples, context + 1]` in an NPY, NPZ or safetensors file:
    /// `{path, array, vocab}` (see `data::tokens`).
    #[serde(default)]
    pub tokens: Option<TokensSource>,
    /// Built-ins: the number of classes. Files: the number of classes the labels index (labels
    /// must be below it; float labels are then read as classes too); without it integer labels
    /// are classes 0..max and float labels a regression target. Not for sequence data (its
    /// classes are the vocabulary).
    #[serde(default)]
    pub classes: Option<usize>,
    #[serde(default)]
    pub points_per_class: Option<usize>,
    /// The number of examples of xor, regression and the sequence tasks (copy, reverse and
    /// sort default 2048; modular_addition all p² pairs, at most p²).
    #[serde(default)]
    pub points: Option<usize>,
    #[serde(default)]
    pub dims: Option<usize>,
    #[serde(default)]
    pub noise: Option<f64>,
    /// The side of the built-in `shapes` images, in pixels.
    #[serde(default)]
    pub size: Option<usize>,
    /// Sequence tasks copy, reverse and sort: the number of symbols to copy, reverse or sort
    /// (default 8; the context is twice this).
    #[serde(default)]
    pub length: Option<usize>,
    /// Sequence tasks copy, reverse and sort: the alphabet size (default 10; the vocabulary
    /// adds the separator).
    #[serde(default)]
    pub symbols: Option<usize>,
    /// Sequence task modular_addition: the modulus p (default 23; the vocabulary is p + 2).
    #[serde(default)]
    pub modulus: Option<usize>,
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
        if let Some(s) = &self.text {
            return Some(FileSource::Text(s.clone()));
        }
        if let Some(s) = &self.tokens {
            return Some(FileSource::Tokens(s.clone()));
        }
        self.safetensors.clone().map(FileSource::Safetensors)
    }

    /// Whether the section's source is token-sequence data (a text or token file, or a
    /// sequence task).
    pub fn is_sequence(&self) -> bool {
        self.text.is_some()
            || self.tokens.is_some()
            || self.builtin.is_some_and(BuiltinKind::is_sequence)
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
            self.text.is_some(),
            self.tokens.is_some(),
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
