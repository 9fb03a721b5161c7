//! Seeded synthetic datasets: CS231n's spiral, Gaussian blobs, XOR, and a 1-D regression curve.

use serde::{Deserialize, Serialize};

use super::{DataSpec, Dataset};
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

/// Generates the built-in dataset. Defaults: spiral 3 classes × 100 points, noise 0.2; blobs
/// 4 × 100 in 2-D, std 0.5; xor 400 points, noise 0.05; regression 256 points, noise 0.05.
pub fn builtin(spec: &DataSpec, seed: u64) -> Dataset {
    generate(spec, spec.seed.unwrap_or(seed))
}

fn generate(spec: &DataSpec, seed: u64) -> Dataset {
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
                class_names: Vec::new(),
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
                class_names: Vec::new(),
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
                class_names: Vec::new(),
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
                class_names: Vec::new(),
            }
        }
    }
}
