//! What happens to a dataset between the file and the GPU: the planted transforms (`scale`,
//! `offset`, `shuffle_labels`), the validation split, and normalization with statistics of
//! the training split only (so nothing of the validation data leaks into training).

use std::fmt;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{sources, DataSpec, Dataset, LoadedData, Validation};
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// `normalize:` of the data section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    #[default]
    None,
    /// Per feature: subtract the training split's mean, divide by its standard deviation
    /// (constant features are only centred).
    Standardize,
    /// Per feature: map the training split's [min, max] to [0, 1].
    Minmax,
    /// Multiply every feature by a factor (e.g. 1/255 for 8-bit images).
    Scale(f64),
}

impl<'de> Deserialize<'de> for Normalize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const NAMES: &[&str] = &["none", "standardize", "minmax", "scale"];
        impl<'de> Visitor<'de> for V {
            type Value = Normalize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("none, standardize, minmax or {scale: factor}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Normalize, E> {
                match s {
                    "none" => Ok(Normalize::None),
                    "standardize" => Ok(Normalize::Standardize),
                    "minmax" => Ok(Normalize::Minmax),
                    "scale" => Err(E::custom(
                        "normalize `scale` needs its factor: {scale: 0.00392156862745098}",
                    )),
                    _ => Err(E::unknown_variant(s, NAMES)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Normalize, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty normalize map"))?;
                if key != "scale" {
                    return Err(de::Error::unknown_variant(&key, &["scale"]));
                }
                Ok(Normalize::Scale(map.next_value()?))
            }
        }
        d.deserialize_any(V)
    }
}

/// Per-feature affine map `x ↦ (x − shift) · factor`.
struct Affine {
    shift: Vec<f64>,
    factor: Vec<f64>,
}

impl Affine {
    fn fit(how: Normalize, d: &Dataset) -> Option<Affine> {
        let w = d.x_width;
        let column = |j: usize| (0..d.n).map(move |i| d.x[i * w + j] as f64);
        match how {
            Normalize::None => None,
            Normalize::Scale(f) => Some(Affine {
                shift: vec![0.0; w],
                factor: vec![f; w],
            }),
            Normalize::Standardize => {
                let n = d.n as f64;
                let shift: Vec<f64> = (0..w).map(|j| column(j).sum::<f64>() / n).collect();
                let factor = (0..w)
                    .map(|j| {
                        let var = column(j).map(|v| (v - shift[j]).powi(2)).sum::<f64>() / n;
                        if var > 0.0 {
                            1.0 / var.sqrt()
                        } else {
                            1.0
                        }
                    })
                    .collect();
                Some(Affine { shift, factor })
            }
            Normalize::Minmax => {
                let lo: Vec<f64> = (0..w)
                    .map(|j| column(j).fold(f64::INFINITY, f64::min))
                    .collect();
                let factor = (0..w)
                    .map(|j| {
                        let range = column(j).fold(f64::NEG_INFINITY, f64::max) - lo[j];
                        if range > 0.0 {
                            1.0 / range
                        } else {
                            1.0
                        }
                    })
                    .collect();
                Some(Affine { shift: lo, factor })
            }
        }
    }

    fn apply(&self, d: &mut Dataset) {
        let w = d.x_width;
        for (k, v) in d.x.iter_mut().enumerate() {
            let j = k % w;
            *v = ((*v as f64 - self.shift[j]) * self.factor[j]) as f32;
        }
    }
}

fn describe(how: Normalize) -> String {
    match how {
        Normalize::None => String::new(),
        Normalize::Standardize => ", standardized".into(),
        Normalize::Minmax => ", min-max scaled".into(),
        Normalize::Scale(f) => format!(", ×{f}"),
    }
}

/// Applies the planted transforms to `whole`, splits off the validation data and normalizes.
pub fn prepare(mut whole: Dataset, spec: &DataSpec, seed: u64, base: &Path) -> Result<LoadedData> {
    let (scale, offset) = (spec.scale.unwrap_or(1.0), spec.offset.unwrap_or(0.0));
    // Token ids are not features and each target belongs to its own example (the config
    // refuses these; this guards callers that skip its validation).
    if whole.sequence.is_some()
        && (scale != 1.0
            || offset != 0.0
            || spec.shuffle_labels
            || spec.normalize != Normalize::None)
    {
        return Err(Error::Data {
            file: whole.name.clone().into(),
            tensor: None,
            line: None,
            column: None,
            message: "token data takes no scale, offset, normalize or shuffle_labels".into(),
        });
    }
    let plant = |d: &mut Dataset| {
        if scale != 1.0 || offset != 0.0 {
            for v in &mut d.x {
                *v = (*v as f64 * scale + offset) as f32;
            }
            d.name.push_str(&format!(" ×{scale}+{offset}"));
        }
    };
    plant(&mut whole);
    if spec.shuffle_labels {
        let mut order: Vec<usize> = (0..whole.n).collect();
        SplitMix64::stream(seed, 0x5A11).shuffle(&mut order);
        let w = whole.y_width;
        whole.y = order
            .iter()
            .flat_map(|&i| whole.y[i * w..(i + 1) * w].to_vec())
            .collect();
        whole.name.push_str(" with shuffled labels");
    }
    let (mut train, mut validation) = match &spec.validation {
        None => (whole, None),
        Some(Validation::Fraction(f)) => split(&whole, *f, seed)?,
        Some(Validation::File(source)) => {
            let mut v = sources::load(source, spec, base, Some(&whole))?;
            plant(&mut v);
            v.name = format!("validation {}", v.name);
            (whole, Some(v))
        }
    };
    if let Some(affine) = Affine::fit(spec.normalize, &train) {
        affine.apply(&mut train);
        train.name.push_str(&describe(spec.normalize));
        if let Some(v) = &mut validation {
            affine.apply(v);
            v.name.push_str(&describe(spec.normalize));
        }
    }
    Ok(LoadedData { train, validation })
}

/// Holds out `round(n · fraction)` examples drawn with the seed; both parts keep the file's
/// order.
fn split(whole: &Dataset, fraction: f64, seed: u64) -> Result<(Dataset, Option<Dataset>)> {
    let held = (whole.n as f64 * fraction).round() as usize;
    if held == 0 || held >= whole.n {
        return Err(Error::Data {
            file: whole.name.clone().into(),
            tensor: None,
            line: None,
            column: None,
            message: format!(
                "a validation fraction of {fraction} of {} examples leaves {held} for validation and {} for training; both need at least one",
                whole.n,
                whole.n.saturating_sub(held)
            ),
        });
    }
    let mut order: Vec<usize> = (0..whole.n).collect();
    SplitMix64::stream(seed, 0x5B17).shuffle(&mut order);
    let (mut v, mut t) = (order[..held].to_vec(), order[held..].to_vec());
    v.sort_unstable();
    t.sort_unstable();
    let train = whole.subset(
        &t,
        format!("{} (training {} of {})", whole.name, t.len(), whole.n),
    );
    let validation = whole.subset(
        &v,
        format!("{} (validation {} of {})", whole.name, v.len(), whole.n),
    );
    Ok((train, Some(validation)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(x: Vec<f32>, w: usize) -> Dataset {
        let n = x.len() / w;
        Dataset::new(
            "t",
            x,
            (0..n).map(|i| (i % 2) as f32).collect(),
            w,
            1,
            Some(2),
        )
    }

    #[test]
    fn standardize_uses_the_training_split_and_centres_constant_features() {
        let mut d = data(vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0], 2);
        let a = Affine::fit(Normalize::Standardize, &d).unwrap();
        a.apply(&mut d);
        let s = (8.0f64 / 3.0).sqrt();
        let expect = [(1.0 - 3.0) / s, 0.0, 0.0, 0.0, (5.0 - 3.0) / s, 0.0];
        for (got, want) in d.x.iter().zip(expect) {
            assert!((*got as f64 - want).abs() < 1e-6, "{:?}", d.x);
        }
    }

    #[test]
    fn minmax_maps_to_the_unit_interval() {
        let mut d = data(vec![2.0, -1.0, 4.0, 1.0, 3.0, 3.0], 2);
        Affine::fit(Normalize::Minmax, &d).unwrap().apply(&mut d);
        assert_eq!(d.x, vec![0.0, 0.0, 1.0, 0.5, 0.5, 1.0]);
    }

    #[test]
    fn a_split_is_seeded_disjoint_and_complete() {
        let d = data((0..20).map(|v| v as f32).collect(), 1);
        let (t, v) = split(&d, 0.25, 7).unwrap();
        let v = v.unwrap();
        assert_eq!((t.n, v.n), (15, 5));
        let mut all: Vec<f32> = t.x.iter().chain(&v.x).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, d.x);
        let (_, again) = split(&d, 0.25, 7).unwrap();
        assert_eq!(again.unwrap().x, v.x);
        let (_, other) = split(&d, 0.25, 8).unwrap();
        assert_ne!(other.unwrap().x, v.x);
        assert!(split(&d, 0.01, 7).is_err());
        assert!(split(&d, 1.0, 7).is_err());
    }
}
