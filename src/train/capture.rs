//! Every tensor of one training step, for comparing netdx with another framework tensor by
//! tensor: the weights and batch-norm statistics before the update (`layers.{i}.*`), the
//! gradients of the mean data loss (`grad.layers.{i}.weight`, `.bias`: before clipping, L2
//! and weight decay, as PyTorch's `.grad` after `loss.backward()`), every node's output
//! (`act.{i}` for layer i, `act.{i}.{j}` inside a block, [batch, …] as PyTorch lays it out),
//! the batch (`x` [batch, features]; `y` [batch] class indices as f32, [batch, positions] next
//! tokens, or [batch, k] targets) and the loss (`loss`, [1]).

use std::collections::BTreeMap;
use std::path::Path;

use super::{StepRecord, Trainer};
use crate::config::Config;
use crate::error::Result;
use crate::io::safetensors::Named;
use crate::model::HostTensor;

/// The header metadata of netdx's safetensors files: netdx version, model, seed, step.
pub fn metadata(trainer: &Trainer, config: &Config, step: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("netdx".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("model".to_string(), trainer.model.describe()),
        ("seed".to_string(), config.seed.to_string()),
        ("step".to_string(), step.to_string()),
    ])
}

/// Writes captured tensors to a safetensors file.
pub fn write(
    path: &Path,
    tensors: &[HostTensor],
    trainer: &Trainer,
    config: &Config,
    step: usize,
) -> Result<()> {
    let named: Vec<Named> = tensors
        .iter()
        .map(|t| Named {
            name: t.name.clone(),
            shape: t.shape.clone(),
            data: &t.data,
        })
        .collect();
    crate::io::safetensors::write(path, &named, metadata(trainer, config, step))
}

/// Runs the trainer's next step and returns its record with every tensor of the step.
pub fn capture_step(trainer: &mut Trainer, total: usize) -> Result<(StepRecord, Vec<HostTensor>)> {
    let gpu = trainer.gpu;
    let before = trainer.net.download(gpu)?;
    let record = trainer.step_recorded(total, None)?;
    let plan = &trainer.plan;
    let batch = plan.batch;
    let mut out: Vec<HostTensor> = before.params.into_iter().chain(before.state).collect();
    for (info, g) in trainer.net.infos.iter().zip(&plan.param_grads) {
        out.push(HostTensor {
            name: format!("grad.{}", info.name),
            shape: info.shape.clone(),
            data: gpu.read::<f32>(g)?,
        });
    }
    // Every tensor as PyTorch lays it out: images NCHW, sequences [batch, positions, width],
    // attention heads [batch, heads, positions, width].
    let model = &trainer.model;
    let shape = |s: crate::graph::Shape| {
        let mut dims = vec![batch];
        dims.extend(s.dims());
        dims
    };
    for t in model.activations() {
        let info = &model.tensors[t];
        out.push(HostTensor {
            name: info.name.clone(),
            shape: shape(info.shape),
            data: gpu.read::<f32>(&plan.acts[t])?,
        });
    }
    out.push(HostTensor {
        name: "x".into(),
        shape: shape(model.input_shape()),
        data: gpu.read::<f32>(&plan.acts[model.input])?,
    });
    let y_width = trainer.dataset.y_width;
    out.push(HostTensor {
        name: "y".into(),
        shape: if trainer.dataset.sequence.is_some() {
            vec![batch, y_width]
        } else if trainer.dataset.classes.is_some() {
            vec![batch]
        } else {
            vec![batch, y_width]
        },
        data: gpu.read::<f32>(&plan.targets)?,
    });
    out.push(HostTensor {
        name: "loss".into(),
        shape: vec![1],
        data: vec![record.loss as f32],
    });
    Ok((record, out))
}
