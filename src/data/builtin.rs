//! Seeded synthetic datasets: CS231n's spiral, Gaussian blobs, XOR, and a 1-D regression curve.

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinKind {
    /// K interleaved spiral arms in 2-D (CS231n): `classes`, `points_per_class`, `noise`.
    Spiral,
    /// K Gaussian clusters in `dims` dimensions: `classes`, `points_per_class`, `noise` (std).
    Blobs,
    /// Two classes by the sign of x1·x2 over the square [-1, 1]²: `points`, `noise`.
    Xor,
    /// y = sin(3x) + 0.3·x + noise over x ∈ [-2, 2]: `points`, `noise`.
    Regression,
}

/// The `data:` section: a built-in dataset (`builtin:` with its parameters) or a file
/// (`csv:`); exactly one of the two.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuiltinData {
    #[serde(default)]
    pub builtin: Option<BuiltinKind>,
    /// A CSV file with a header row (see `data::csv`).
    #[serde(default)]
    pub csv: Option<super::csv::CsvSource>,
    /// NPY files for features and labels (see `data::npy`).
    #[serde(default)]
    pub npy: Option<super::npy::NpySource>,
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
    /// Seed of the data, independent of the training seed; defaults to the config's seed.
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
}

/// Generates the dataset. Defaults: spiral 3 classes × 100 points, noise 0.2; blobs 4 × 100 in
/// 2-D, std 0.5; xor 400 points, noise 0.05; regression 256 points, noise 0.05. Then applies
/// `scale`, `offset` and `shuffle_labels`.
pub fn builtin(spec: &BuiltinData, seed: u64) -> Dataset {
    let seed = spec.seed.unwrap_or(seed);
    let mut d = generate(spec, seed);
    let (scale, offset) = (spec.scale.unwrap_or(1.0), spec.offset.unwrap_or(0.0));
    if scale != 1.0 || offset != 0.0 {
        for v in &mut d.x {
            *v = (*v as f64 * scale + offset) as f32;
        }
        d.name.push_str(&format!(" ×{scale}+{offset}"));
    }
    if spec.shuffle_labels {
        let mut order: Vec<usize> = (0..d.n).collect();
        SplitMix64::stream(seed, 0x5A11).shuffle(&mut order);
        let w = d.y_width;
        let y = order
            .iter()
            .flat_map(|&i| d.y[i * w..(i + 1) * w].to_vec())
            .collect();
        d.y = y;
        d.name.push_str(" with shuffled labels");
    }
    d
}

fn generate(spec: &BuiltinData, seed: u64) -> Dataset {
    let mut rng = SplitMix64::stream(seed, 0xDA7A);
    match spec.builtin.unwrap_or(BuiltinKind::Spiral) {
        BuiltinKind::Spiral => {
            let k = spec.classes.unwrap_or(3);
            let per = spec.points_per_class.unwrap_or(100);
            let noise = spec.noise.unwrap_or(0.2);
            let mut x = Vec::with_capacity(k * per * 2);
            let mut y = Vec::with_capacity(k * per);
            for c in 0..k {
                for i in 0..per {
                    let r = i as f64 / (per.max(2) - 1) as f64;
                    let t = c as f64 * 4.0 + 4.0 * r + rng.normal() * noise;
                    x.push((r * t.sin()) as f32);
                    x.push((r * t.cos()) as f32);
                    y.push(c as f32);
                }
            }
            Dataset {
                name: format!("spiral(classes={k}, points_per_class={per}, noise={noise})"),
                n: k * per,
                x,
                y,
                x_width: 2,
                y_width: 1,
                classes: Some(k),
            }
        }
        BuiltinKind::Blobs => {
            let k = spec.classes.unwrap_or(4);
            let per = spec.points_per_class.unwrap_or(100);
            let d = spec.dims.unwrap_or(2);
            let std = spec.noise.unwrap_or(0.5);
            let centers: Vec<f64> = (0..k * d).map(|_| rng.uniform_in(-3.0, 3.0)).collect();
            let mut x = Vec::with_capacity(k * per * d);
            let mut y = Vec::with_capacity(k * per);
            for c in 0..k {
                for _ in 0..per {
                    for j in 0..d {
                        x.push((centers[c * d + j] + std * rng.normal()) as f32);
                    }
                    y.push(c as f32);
                }
            }
            Dataset {
                name: format!("blobs(classes={k}, points_per_class={per}, dims={d}, noise={std})"),
                n: k * per,
                x,
                y,
                x_width: d,
                y_width: 1,
                classes: Some(k),
            }
        }
        BuiltinKind::Xor => {
            let n = spec.points.unwrap_or(400);
            let noise = spec.noise.unwrap_or(0.05);
            let mut x = Vec::with_capacity(n * 2);
            let mut y = Vec::with_capacity(n);
            for _ in 0..n {
                let a = rng.uniform_in(-1.0, 1.0);
                let b = rng.uniform_in(-1.0, 1.0);
                x.push((a + noise * rng.normal()) as f32);
                x.push((b + noise * rng.normal()) as f32);
                y.push(if a * b > 0.0 { 1.0 } else { 0.0 });
            }
            Dataset {
                name: format!("xor(points={n}, noise={noise})"),
                n,
                x,
                y,
                x_width: 2,
                y_width: 1,
                classes: Some(2),
            }
        }
        BuiltinKind::Regression => {
            let n = spec.points.unwrap_or(256);
            let noise = spec.noise.unwrap_or(0.05);
            let mut x = Vec::with_capacity(n);
            let mut y = Vec::with_capacity(n);
            for i in 0..n {
                let t = -2.0 + 4.0 * i as f64 / (n.max(2) - 1) as f64;
                x.push(t as f32);
                y.push(((3.0 * t).sin() + 0.3 * t + noise * rng.normal()) as f32);
            }
            Dataset {
                name: format!("regression(points={n}, noise={noise})"),
                n,
                x,
                y,
                x_width: 1,
                y_width: 1,
                classes: None,
            }
        }
    }
}
