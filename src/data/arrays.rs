//! A dataset from two arrays, features and labels, whatever file they came from: shapes
//! checked against each other, features finite, labels classes or a regression target.

use super::Dataset;
use crate::error::Result;
use crate::io::Array;
use crate::limits;

/// Builds the dataset. `x` is [n, …] (trailing dimensions flattened: an image [n, 28, 28] is
/// 784 features; [n] is one feature); `y` is [n] or [n, k]. Labels are classes when they are
/// integers or when `classes` is given (then each must be a whole number in 0..classes);
/// otherwise they are a regression target. `train`, for a validation file, fixes the class
/// count and the feature width to the training data's.
pub fn to_dataset(
    x: Array,
    y: Array,
    classes: Option<usize>,
    train: Option<&Dataset>,
) -> Result<Dataset> {
    let n = *x.shape.first().ok_or_else(|| {
        x.origin
            .error("features must have an examples dimension; the array is a scalar")
    })?;
    let width: usize = x.shape[1..].iter().product();
    if n == 0 || width == 0 {
        return Err(x
            .origin
            .error(format!("no data: the shape is {:?}", x.shape)));
    }
    if let Some(i) = x.data.iter().position(|v| !v.is_finite()) {
        return Err(x.origin.error(format!(
            "example {}, feature {} is not finite ({})",
            i / width,
            i % width,
            x.data[i]
        )));
    }
    let y_width = match y.shape.as_slice() {
        [m] if *m == n => 1,
        [m, k] if *m == n && *k > 0 => *k,
        s => {
            return Err(y.origin.error(format!(
            "labels must be [{n}] or [{n}, k] to match the {n} examples of {}; the shape is {s:?}",
            x.origin.short()
        )))
        }
    };
    if let Some(i) = y.data.iter().position(|v| !v.is_finite()) {
        return Err(y
            .origin
            .error(format!("example {} is not finite", i / y_width)));
    }
    let declared = classes.or(train.and_then(|t| t.classes));
    let is_classes = y_width == 1 && (y.integer || declared.is_some());
    let classes = if is_classes {
        if let Some(i) = y.data.iter().position(|v| *v < 0.0) {
            return Err(y
                .origin
                .error(format!("example {i}: label {} is negative", y.data[i])));
        }
        if let Some(i) = y.data.iter().position(|v| v.fract() != 0.0) {
            return Err(y.origin.error(format!(
                "example {i}: label {} is not a whole number (a class index)",
                y.data[i]
            )));
        }
        // One output unit per class: an index beyond the widest layer is no class (and a
        // u64 near 2^64 would wrap the count to 0).
        if let Some(i) = y.data.iter().position(|v| *v >= limits::MAX_WIDTH as f32) {
            return Err(y.origin.error(format!(
                "example {i}: label {} is too large for a class index (at most {}, one output unit per class)",
                y.data[i],
                limits::MAX_WIDTH - 1
            )));
        }
        let top = y.data.iter().fold(0.0f32, |a, b| a.max(*b)) as usize;
        match declared {
            Some(c) if top >= c => {
                let i = y.data.iter().position(|v| *v as usize >= c).unwrap_or(0);
                return Err(y.origin.error(format!(
                    "example {i}: label {} is out of range for {c} classes (0..{})",
                    y.data[i],
                    c - 1
                )));
            }
            Some(c) => Some(c),
            None => Some(top + 1),
        }
    } else {
        None
    };
    if let Some(t) = train {
        if t.x_width != width {
            return Err(x.origin.error(format!(
                "validation examples have {width} features; the training data has {}",
                t.x_width
            )));
        }
        if t.y_width != y_width || t.classes.is_some() != classes.is_some() {
            return Err(y.origin.error(
                "validation labels are not of the training labels' kind and width".to_string(),
            ));
        }
    }
    let name = if x.origin.file == y.origin.file {
        format!("{} ({n} × {width})", x.origin.file_name())
    } else {
        format!(
            "{} / {} ({n} × {width})",
            x.origin.short(),
            y.origin.short()
        )
    };
    Ok(Dataset {
        name,
        x: x.data,
        y: y.data,
        n,
        x_width: width,
        y_width,
        classes,
        class_names: train.map(|t| t.class_names.clone()).unwrap_or_default(),
        image: match x.shape[1..] {
            [h, w] => Some([1, h, w]),
            [c, h, w] => Some([c, h, w]),
            _ => None,
        },
        sequence: None,
    })
}
