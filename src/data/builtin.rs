//! Seeded synthetic datasets: CS231n's spiral, Gaussian blobs, XOR, a 1-D regression curve,
//! `shapes`, small grayscale images of ten kinds of stripes and figures, and the sequence
//! tasks of `tasks` (copy, reverse, sort, modular addition).

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
    /// 1×`size`×`size` images, one kind of figure per class (see [`SHAPE_CLASSES`]) at a random
    /// place, size, phase and brightness, plus Gaussian pixel noise: `classes` (≤ 10),
    /// `points_per_class`, `size`, `noise`.
    Shapes,
    /// Token sequences `a1 … aL SEP a1 … aL`, the answer scored: `points`, `length`, `symbols`
    /// (see `data::tasks`).
    Copy,
    /// `a1 … aL SEP aL … a1`: `points`, `length`, `symbols`.
    Reverse,
    /// `a1 … aL SEP sorted(a)`: `points`, `length`, `symbols`.
    Sort,
    /// `a + b = c`, c = (a + b) mod `modulus`: `modulus`, `points` (default all pairs).
    ModularAddition,
}

impl BuiltinKind {
    /// Whether this built-in is token-sequence data.
    pub fn is_sequence(self) -> bool {
        matches!(
            self,
            BuiltinKind::Copy
                | BuiltinKind::Reverse
                | BuiltinKind::Sort
                | BuiltinKind::ModularAddition
        )
    }
}

/// The figures of the built-in `shapes` images, in class order.
pub const SHAPE_CLASSES: [&str; 10] = [
    "horizontal stripes",
    "vertical stripes",
    "diagonal stripes",
    "anti-diagonal stripes",
    "filled square",
    "square outline",
    "plus",
    "cross",
    "disk",
    "ring",
];

/// The smallest and largest side of a `shapes` image.
pub const SHAPES_SIZE_RANGE: (usize, usize) = (8, 128);

/// One `shapes` image of class `class`, `size`×`size`, row-major, before noise.
fn shape_image(class: usize, size: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let s = size as f64;
    let amplitude = rng.uniform_in(0.7, 1.3);
    let period = if rng.uniform() < 0.5 { 4.0 } else { 5.0 };
    let phase = rng.uniform_in(0.0, period);
    // A figure's half-size and centre, kept inside the image.
    let r = rng.uniform_in(s * 0.2, s * 0.35);
    let cx = rng.uniform_in(r, s - 1.0 - r);
    let cy = rng.uniform_in(r, s - 1.0 - r);
    let stripe = |t: f64| (t + phase).rem_euclid(period) < period / 2.0;
    let mut img = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            let (xf, yf) = (x as f64, y as f64);
            let (dx, dy) = (xf - cx, yf - cy);
            let (ax, ay) = (dx.abs(), dy.abs());
            let on = match class {
                0 => stripe(yf),
                1 => stripe(xf),
                2 => stripe(xf + yf),
                3 => stripe(xf - yf),
                4 => ax <= r && ay <= r,
                5 => ax.max(ay) <= r && ax.max(ay) > r - 1.5,
                6 => (ax <= 1.0 && ay <= r) || (ay <= 1.0 && ax <= r),
                7 => (ax - ay).abs() <= 1.0 && ax <= r,
                8 => dx * dx + dy * dy <= r * r,
                _ => ((dx * dx + dy * dy).sqrt() - r).abs() <= 0.9,
            };
            img.push(if on { amplitude as f32 } else { 0.0 });
        }
    }
    img
}

/// Generates the built-in dataset. Defaults: spiral 3 classes × 100 points, noise 0.2; blobs
/// 4 × 100 in 2-D, std 0.5; xor 400 points, noise 0.05; regression 256 points, noise 0.05;
/// shapes 10 classes × 50 images of 16×16, noise 0.1; copy, reverse and sort 2048 sequences
/// of 8 symbols of 10; modular_addition all pairs modulo 23.
pub fn builtin(spec: &DataSpec, seed: u64) -> Dataset {
    generate(spec, spec.seed.unwrap_or(seed))
}

fn generate(spec: &DataSpec, seed: u64) -> Dataset {
    let mut rng = SplitMix64::stream(seed, 0xDA7A);
    match spec.builtin.unwrap_or(BuiltinKind::Spiral) {
        kind @ (BuiltinKind::Copy
        | BuiltinKind::Reverse
        | BuiltinKind::Sort
        | BuiltinKind::ModularAddition) => super::tasks::generate(kind, spec, &mut rng),
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
                image: None,
                sequence: None,
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
                image: None,
                sequence: None,
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
                image: None,
                sequence: None,
            }
        }
        BuiltinKind::Shapes => {
            let k = spec.classes.unwrap_or(10).min(SHAPE_CLASSES.len());
            let per = spec.points_per_class.unwrap_or(50);
            let size = spec.size.unwrap_or(16);
            let noise = spec.noise.unwrap_or(0.1);
            let mut x = Vec::with_capacity(k * per * size * size);
            let mut y = Vec::with_capacity(k * per);
            for c in 0..k {
                for _ in 0..per {
                    let img = shape_image(c, size, &mut rng);
                    x.extend(img.iter().map(|v| v + (noise * rng.normal()) as f32));
                    y.push(c as f32);
                }
            }
            Dataset {
                name: format!(
                    "shapes(classes={k}, points_per_class={per}, size={size}, noise={noise})"
                ),
                n: k * per,
                x,
                y,
                x_width: size * size,
                y_width: 1,
                classes: Some(k),
                class_names: SHAPE_CLASSES[..k].iter().map(|s| s.to_string()).collect(),
                image: Some([1, size, size]),
                sequence: None,
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
                image: None,
                sequence: None,
            }
        }
    }
}
