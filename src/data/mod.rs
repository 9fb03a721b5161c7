//! Datasets: features `x` [n, x_width] and targets `y` [n, y_width] as f32, with the class
//! count for classification. Built-in datasets need no files and are generated from the seed.

mod builtin;
pub mod csv;
pub mod npy;

pub use builtin::{builtin, BuiltinData, BuiltinKind};

use std::path::Path;

use crate::error::Result;

/// The dataset a `data:` section describes: a file (paths relative to `base`, the config's
/// folder) or a built-in generated from `seed`.
pub fn load(spec: &BuiltinData, seed: u64, base: &Path) -> Result<Dataset> {
    match (&spec.csv, &spec.npy) {
        (Some(source), _) => csv::load(source, base),
        (None, Some(source)) => npy::load(source, base),
        (None, None) => Ok(builtin(spec, seed)),
    }
}

/// A dataset in memory.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub n: usize,
    pub x_width: usize,
    pub y_width: usize,
    /// Number of classes for class-index targets; `None` for regression targets.
    pub classes: Option<usize>,
}

impl Dataset {
    /// Row `i` of the features.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.x_width..(i + 1) * self.x_width]
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

    /// Examples per class (classification only).
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        let c = self.classes?;
        let mut counts = vec![0; c];
        for i in 0..self.n {
            let k = self.y[i * self.y_width] as usize;
            if k < c {
                counts[k] += 1;
            }
        }
        Some(counts)
    }
}
