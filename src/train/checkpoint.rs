//! Checkpoints: everything a training run carries from one step to the next, so that `train
//! --resume FILE` continues an interrupted or shortened run bit for bit as if it had never
//! stopped.
//!
//! One safetensors file. The weights and batch-norm statistics keep their usual names, so the
//! file also loads with `--weights` (which skips the optimizer's tensors). The optimizer's
//! moments carry the names PyTorch's optimizers give them in their state, after
//! `optimizer.{tensor}.`: `momentum_buffer` (SGD with momentum or Nesterov), `exp_avg` and
//! `exp_avg_sq` (Adam, AdamW), with the same meaning (netdx's update rules are PyTorch's). The
//! header holds the steps done (`step`), the run's planned length (`total_steps`), its seed
//! and its optimizer.
//!
//! Nothing else is state: the batch order replays from the seed, and the dropout masks, the
//! learning-rate schedule and Adam's bias corrections derive from the step number.

use std::path::{Path, PathBuf};

use super::Trainer;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::io::safetensors::{Named, SafetensorsFile};
use crate::model::HostParams;
use crate::ops::OptimizerKind;

/// The prefix of the optimizer's tensors in a checkpoint.
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// A checkpoint read back for the model and optimizer of a config.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub file: PathBuf,
    pub params: HostParams,
    /// First moments per trainable tensor in the model's order (`None` where the optimizer
    /// keeps none), then second moments.
    pub m: Vec<Option<Vec<f32>>>,
    pub v: Vec<Option<Vec<f32>>>,
    /// Steps done: the 0-based step a resumed run starts with.
    pub step: usize,
    /// The planned length of the run that wrote it (the schedule's length).
    pub total: usize,
    pub seed: u64,
}

/// The names of the first and second moments `kind` keeps, as PyTorch calls them.
fn moment_names(kind: OptimizerKind) -> [Option<&'static str>; 2] {
    match kind {
        OptimizerKind::Sgd => [None, None],
        OptimizerKind::Momentum | OptimizerKind::Nesterov => [Some("momentum_buffer"), None],
        OptimizerKind::Adam | OptimizerKind::Adamw => [Some("exp_avg"), Some("exp_avg_sq")],
    }
}

fn optimizer_name(kind: OptimizerKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{kind:?}").to_lowercase())
}

/// Writes the trainer's state after its last step to `path`, for a run of `total` steps.
/// The file appears whole or not at all: it is written beside `path` and renamed over it, so
/// an interrupt while writing keeps the previous checkpoint.
pub fn save(path: &Path, trainer: &Trainer, total: usize) -> Result<()> {
    let gpu = trainer.gpu;
    let host = trainer.net.download(gpu)?;
    let names = moment_names(trainer.config.training.optimizer.resolved_kind());
    let mut moments = Vec::new();
    for (i, info) in trainer.net.infos.iter().enumerate() {
        for (tensors, name) in [&trainer.net.m, &trainer.net.v].into_iter().zip(names) {
            if let (Some(t), Some(name)) = (&tensors[i], name) {
                moments.push((
                    format!("{OPTIMIZER_PREFIX}{}.{name}", info.name),
                    info.shape.clone(),
                    gpu.read::<f32>(t)?,
                ));
            }
        }
    }
    let named: Vec<Named> = host
        .params
        .iter()
        .chain(&host.state)
        .map(|t| Named {
            name: t.name.clone(),
            shape: t.shape.clone(),
            data: &t.data,
        })
        .chain(moments.iter().map(|(name, shape, data)| Named {
            name: name.clone(),
            shape: shape.clone(),
            data,
        }))
        .collect();
    let config = &trainer.config;
    let mut metadata = super::capture::metadata(trainer, config, trainer.steps_done());
    metadata.insert("total_steps".into(), total.to_string());
    metadata.insert(
        "optimizer".into(),
        optimizer_name(config.training.optimizer.resolved_kind()),
    );
    let partial = partial_path(path);
    crate::io::safetensors::write(&partial, &named, metadata)?;
    std::fs::rename(&partial, path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Reads the checkpoint `path` for `model` trained per `config`: every weight, statistic and
/// optimizer moment must be there with its shape, and the header must say the step. The error
/// lists each problem, as for a weights file.
pub fn load(path: &Path, model: &Graph, config: &Config) -> Result<Checkpoint> {
    let file = SafetensorsFile::open(path)?;
    let params = crate::model::weights::load_from(&file, model)?;
    let header = file.metadata();
    let shapes = file.shapes();
    let kind = config.training.optimizer.resolved_kind();
    let not_checkpoint = || {
        Error::Checkpoint {
        file: path.to_path_buf(),
        problems: vec![
            "not a checkpoint: its header has no step and total_steps (write one with `train --save FILE --save-optimizer` or `--checkpoint-every N`; an interrupted run leaves one in its record)".into(),
        ],
    }
    };
    let number = |key: &str| -> Result<u64> {
        let text = header.get(key).ok_or_else(not_checkpoint)?;
        text.parse().map_err(|_| Error::Checkpoint {
            file: path.to_path_buf(),
            problems: vec![format!("the header's `{key}` is not a whole number")],
        })
    };
    let (step, total) = (number("step")?, number("total_steps")?);
    let mut problems = Vec::new();
    let written_by = header.get("optimizer").cloned().unwrap_or_default();
    if written_by != optimizer_name(kind) {
        problems.push(format!(
            "written for optimizer `{written_by}`; the config's is `{}`",
            optimizer_name(kind)
        ));
    }
    let names = moment_names(kind);
    let mut moments: [Vec<Option<Vec<f32>>>; 2] = [Vec::new(), Vec::new()];
    let mut expected = std::collections::BTreeSet::new();
    for info in &model.params {
        for (slot, name) in moments.iter_mut().zip(names) {
            let Some(name) = name else {
                slot.push(None);
                continue;
            };
            let key = format!("{OPTIMIZER_PREFIX}{}.{name}", info.name);
            expected.insert(key.clone());
            match shapes.get(&key) {
                None => {
                    problems.push(format!("missing `{key}` {:?}", info.shape));
                    slot.push(None);
                }
                Some(shape) if *shape != info.shape => {
                    problems.push(format!(
                        "misshapen `{key}`: expected {:?}, found {shape:?}",
                        info.shape
                    ));
                    slot.push(None);
                }
                Some(_) => {
                    let data = file.read(&key)?.data;
                    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
                        problems.push(format!("`{key}` element {i} is not finite"));
                    }
                    slot.push(Some(data));
                }
            }
        }
    }
    for (name, shape) in &shapes {
        if name.starts_with(OPTIMIZER_PREFIX) && !expected.contains(name) {
            problems.push(format!(
                "extra `{name}` {shape:?}: optimizer `{}` keeps no such state",
                optimizer_name(kind)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Checkpoint {
            file: path.to_path_buf(),
            problems,
        });
    }
    let [m, v] = moments;
    Ok(Checkpoint {
        file: path.to_path_buf(),
        params,
        m,
        v,
        step: step as usize,
        total: total as usize,
        seed: header
            .get("seed")
            .and_then(|s| s.parse().ok())
            .unwrap_or(config.seed),
    })
}

/// What `train` should know before resuming from `checkpoint` with `total` steps planned and
/// `seed`: an error when nothing is left to run, and notes where the run will differ from
/// the one that wrote it.
pub fn differences(checkpoint: &Checkpoint, total: usize, seed: u64) -> Result<Vec<String>> {
    if checkpoint.step >= total {
        return Err(Error::Usage(format!(
            "--resume {}: the checkpoint is after step {} and this run has {total} steps; nothing is left to run (give more with --steps N)",
            checkpoint.file.display(),
            checkpoint.step,
        )));
    }
    let mut notes = Vec::new();
    if checkpoint.total != total {
        notes.push(format!(
            "the checkpoint's run planned {} steps and this one {total}: a schedule that depends on the length follows the new one",
            checkpoint.total
        ));
    }
    if checkpoint.seed != seed {
        notes.push(format!(
            "the checkpoint was trained with seed {} and this run has seed {seed}: the batch order and dropout masks differ from the original run's",
            checkpoint.seed
        ));
    }
    Ok(notes)
}
