//! The rules of a config that relate two values, each of which is in its declared range
//! ([`super::ranges`]) alone: together they still cannot work. Each rule is a named function
//! of the one validation pass (`Config::validate`), reporting the key to change. The rules that
//! need the data or the model graph (a softmax over one output) are in `suite::preflight`;
//! those between a check's parameters in `check_params`.

use super::Config;
use crate::error::{Error, Result};
use crate::model::LayerSpec;

type Bad<'a> = &'a dyn Fn(&str, String) -> Error;

/// `uniform: {low, high}` draws from [low, high]: low above high is an empty interval.
pub(super) fn uniform_low_at_most_high(low: f64, high: f64, key: &str, bad: Bad) -> Result<()> {
    if low <= high {
        return Ok(());
    }
    Err(bad(
        &format!("{key}.uniform.low"),
        format!("must be at most `high` ({high}), got {low}"),
    ))
}

/// The cosine schedule falls from the learning rate to `min_lr`: a floor above the rate
/// makes it rise instead.
pub(super) fn cosine_floor_below_lr(config: &Config, bad: Bad) -> Result<()> {
    let s = &config.training.schedule;
    let lr = config.training.optimizer.lr;
    if s.name == super::ScheduleKind::Cosine && s.min_lr > lr {
        return Err(bad(
            "training.schedule.min_lr",
            format!(
                "must be at most `training.optimizer.lr` ({lr}), got {}: the cosine schedule falls from the rate to min_lr",
                s.min_lr
            ),
        ));
    }
    Ok(())
}

/// Batch norm divides by the batch's standard deviation: over one example every normalized
/// value is 0 and the layer's input gets no gradient.
pub(super) fn batch_norm_needs_two_examples(config: &Config, bad: Bad) -> Result<()> {
    if config.training.batch_size != 1 {
        return Ok(());
    }
    match first_batch_norm(&config.model.layers, "model.layers") {
        Some(at) => Err(bad(
            "training.batch_size",
            format!(
                "batch norm ({at}) needs at least 2 examples per batch: over 1 example every normalized value is 0"
            ),
        )),
        None => Ok(()),
    }
}

/// The key path of the first batch norm layer in `layers` (at `at`), inside blocks included.
fn first_batch_norm(layers: &[LayerSpec], at: &str) -> Option<String> {
    layers.iter().enumerate().find_map(|(i, l)| match l {
        LayerSpec::BatchNorm { .. } => Some(format!("{at}[{i}]")),
        LayerSpec::Residual { layers, mapped, .. } => {
            let inner = if *mapped {
                format!("{at}[{i}].residual.layers")
            } else {
                format!("{at}[{i}].residual")
            };
            first_batch_norm(layers, &inner)
        }
        _ => None,
    })
}
