//! The checks of a config that need its data and its model graph but no GPU (above the config
//! itself, which knows neither): layer widths against the data and
//! each other, the model's size, the output against the loss and the labels, the batch size
//! against the dataset. Run before any GPU work, each error names the file, the line and
//! column of the key to change, and the key path.

use std::path::Path;

use crate::config::{cases, limits, locate, read_text, Config};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::graph::Graph;

/// An error at key path `key` of `text`.
fn at(path: &Path, text: &str, key: &str, message: String) -> Error {
    locate::error_at(path, text, key, message)
}

/// A data or weights error about a file that does not exist, moved to the config key that
/// names the file; other errors (a bad row, a bad tensor) keep their own file and place.
fn missing_file_at(e: Error, path: &Path, text: &str, key: &str) -> Error {
    match &e {
        Error::Data { file, .. } if crate::io::missing(file) => {
            at(path, text, key, format!("no such file: {}", file.display()))
        }
        _ => e,
    }
}

/// Loads the data `config` describes; a data file that does not exist is reported at its key.
pub fn load_data(config: &Config, text: &str, path: &Path) -> Result<crate::data::LoadedData> {
    crate::data::load(&config.data, config.seed, &config.base_dir).map_err(|e| {
        let d = &config.data;
        let key = if d.csv.is_some() {
            "data.csv"
        } else if d.npy.is_some() {
            "data.npy"
        } else if d.npz.is_some() {
            "data.npz"
        } else if d.idx.is_some() {
            "data.idx"
        } else if d.safetensors.is_some() {
            "data.safetensors"
        } else if d.text.is_some() {
            "data.text"
        } else if d.tokens.is_some() {
            "data.tokens"
        } else {
            "data.validation"
        };
        missing_file_at(e, path, text, key)
    })
}

/// Builds the model for `data` and checks everything that can be checked without a GPU.
pub fn preflight(config: &Config, text: &str, path: &Path, data: &Dataset) -> Result<Graph> {
    let model = crate::model::build(&config.model, crate::model::DataShape::of(data)).map_err(
        |e| match &e {
            Error::InputShape { message } => at(path, text, "model.shape", message.clone()),
            Error::Shape { path: key, .. } | Error::LayerShape { path: key, .. } => {
                at(path, text, key, e.to_string())
            }
            // The model file's errors name the file; the config's key says where it is named.
            Error::Onnx { .. } => at(path, text, "model.onnx", e.to_string()),
            Error::Io { path: file, .. } if config.model.onnx.as_ref() == Some(file) => {
                at(path, text, "model.onnx", e.to_string())
            }
            _ => e,
        },
    )?;
    let mut total: u128 = 0;
    for p in &model.params {
        let node = &model.nodes[p.node];
        let elements = p.len() as u128;
        if elements > limits::MAX_TENSOR_ELEMENTS as u128 {
            return Err(at(
                path,
                text,
                &node.path,
                format!(
                    "layer {} ({} {} → {}) would need a {} of {elements} elements, more than netdx allows in one tensor ({})",
                    node.short_name(),
                    node.kind(),
                    node.in_shape,
                    node.out_shape,
                    p.name.rsplit('.').next().unwrap_or("weight").replace('_', " "),
                    limits::MAX_TENSOR_ELEMENTS
                ),
            ));
        }
        total += elements;
    }
    if total > limits::MAX_PARAMETERS as u128 {
        return Err(at(
            path,
            text,
            "model.layers",
            format!(
                "the model has {total} parameters, more than netdx allows ({})",
                limits::MAX_PARAMETERS
            ),
        ));
    }
    let last = match config.model.onnx {
        Some(_) => "model.onnx".to_string(),
        None => format!("model.layers[{}]", model.layer_count.saturating_sub(1)),
    };
    crate::model::check_output(config.loss.name, &model, data.y_width, data.classes).map_err(
        |e| {
            // A mismatch of kinds is the loss's to fix; a width mismatch the last layer's.
            let blame_loss = matches!(
                e,
                crate::Error::OutputShape {
                    loss_at_fault: true,
                    ..
                }
            );
            let key = if text.contains("loss:") && blame_loss {
                "loss"
            } else {
                &last
            };
            at(path, text, key, e.to_string())
        },
    )?;
    // Rule: a softmax over one output is 1 whatever the logit, so the loss is 0 and nothing
    // trains (one class of blobs and `out: 1`, say).
    if matches!(
        config.loss.name,
        crate::ops::LossKind::SoftmaxCrossEntropy | crate::ops::LossKind::Focal
    ) && model.output_width() == 1
    {
        let key = if config.data.classes == Some(1) {
            "data.classes"
        } else {
            &last
        };
        return Err(at(
            path,
            text,
            key,
            format!(
                "{} over 1 output: a softmax of one logit is always 1, so the loss is 0 whatever the weights; classification needs at least 2 classes (one logit takes `loss: binary_cross_entropy`)",
                if config.loss.name == crate::ops::LossKind::Focal {
                    "focal"
                } else {
                    "softmax_cross_entropy"
                }
            ),
        ));
    }
    if let Some(w) = &config.loss.class_weights {
        if w.len() != model.output_width() {
            return Err(at(
                path,
                text,
                "loss.class_weights",
                format!("{} weights for {} classes", w.len(), model.output_width()),
            ));
        }
    }
    if let Some(file) = &config.model.weights {
        // Read once here, host only, so that a missing or misfit file stops the run before
        // any GPU work (the trainer reads it again).
        crate::model::weights::load(&crate::io::resolve(&config.base_dir, file), &model)
            .map_err(|e| missing_file_at(e, path, text, "model.weights"))?;
    }
    if config.training.batch_size > data.n {
        return Err(at(
            path,
            text,
            "training.batch_size",
            format!(
                "{} is larger than the dataset ({} examples)",
                config.training.batch_size, data.n
            ),
        ));
    }
    Ok(model)
}

/// Everything about a config file that can be checked without a GPU: it parses, every
/// variant of its cases and matrix is valid, its data loads, and its model fits the data and
/// the loss. What `netdx validate` runs; returns the number of variants.
pub fn check_file(path: &Path) -> Result<usize> {
    let text = read_text(path)?;
    let config = Config::parse(&text, path)?;
    let variants = cases::expand(&text, path, &config)?;
    for (_, v) in &variants {
        let data = load_data(v, &text, path)?;
        preflight(v, &text, path, &data.train)?;
    }
    Ok(variants.len())
}
