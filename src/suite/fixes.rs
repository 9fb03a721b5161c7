//! `--try-fixes`: where a failing or warning check has a cheap fix — the learning rate ÷ 10 or
//! × 10, a smaller last-layer init, positive biases or leaky ReLUs, less L2, Xavier init,
//! ReLU instead of saturating activations, clipping — the check is run again on the config
//! with that one change, and the finding records the verdict before and after.

use crate::checks::{CheckSpec, Context, Finding, TriedFix, Verdict};
use crate::config::Config;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::model::{Init, LayerSpec};
use crate::ops::Activation;
use crate::text::number;

fn scale_lr(c: &Config, factor: f64) -> (String, Config) {
    let mut n = c.clone();
    n.training.optimizer.lr *= factor;
    (
        format!(
            "learning rate {} → {}",
            number(c.training.optimizer.lr),
            number(n.training.optimizer.lr)
        ),
        n,
    )
}

fn last_linear(c: &Config) -> Option<usize> {
    c.model
        .layers
        .iter()
        .rposition(|l| matches!(l, LayerSpec::Linear { .. }))
}

/// The cheap fix for `f`, if there is one: a description and the changed config.
pub fn cheap_fix(c: &Config, f: &Finding) -> Option<(String, Config)> {
    let too_high = f
        .fix
        .as_deref()
        .is_some_and(|x| x.contains("lower the learning rate"));
    let too_low = f
        .fix
        .as_deref()
        .is_some_and(|x| x.contains("raise the learning rate"));
    match f.check.as_str() {
        "numerics" | "smoke" if f.verdict == Verdict::Fail => Some(scale_lr(c, 0.1)),
        "update_ratio" | "gradient_flow" if too_high => Some(scale_lr(c, 0.1)),
        "update_ratio" | "smoke" if too_low => Some(scale_lr(c, 10.0)),
        "lr_range" => {
            let suggested = f.details["median_suggestion"].as_f64()?;
            let mut n = c.clone();
            n.training.optimizer.lr = suggested;
            Some((
                format!(
                    "learning rate {} → {} (the suggestion)",
                    number(c.training.optimizer.lr),
                    number(suggested)
                ),
                n,
            ))
        }
        "initial_loss" => {
            let i = last_linear(c)?;
            let mut n = c.clone();
            if let LayerSpec::Linear { init, .. } = &mut n.model.layers[i] {
                *init = Init::Normal { std: 0.01 };
            }
            Some((format!("layer {i} init → normal(std 0.01)"), n))
        }
        "dead_units" => {
            let mut n = c.clone();
            let negative = n
                .model
                .layers
                .iter_mut()
                .any(|l| l.init_mut().is_some_and(|(_, bias)| *bias < 0.0));
            if negative {
                for l in &mut n.model.layers {
                    if let Some((_, bias)) = l.init_mut() {
                        *bias = 0.01;
                    }
                }
                return Some(("biases → 0.01".into(), n));
            }
            for l in &mut n.model.layers {
                if let LayerSpec::Activation { kind, slope } = l {
                    if *kind == Activation::Relu {
                        *kind = Activation::LeakyRelu;
                        *slope = 0.01;
                    }
                }
            }
            Some(("relu → leaky_relu".into(), n))
        }
        "loss_scale" | "regularization" => {
            let mut n = c.clone();
            n.training.l2 /= 10.0;
            n.training.weight_decay /= 10.0;
            Some((
                format!("l2 {} → {}", number(c.training.l2), number(n.training.l2)),
                n,
            ))
        }
        "activation_stats" => {
            let mut n = c.clone();
            for l in &mut n.model.layers {
                if let Some((init, _)) = l.init_mut() {
                    *init = Init::XavierNormal;
                }
            }
            Some(("every linear and conv2d init → xavier_normal".into(), n))
        }
        "gradient_flow" => {
            let saturating = c.model.layers.iter().any(|l| {
                matches!(
                    l,
                    LayerSpec::Activation {
                        kind: Activation::Sigmoid | Activation::Tanh,
                        ..
                    }
                )
            });
            if !saturating {
                return None;
            }
            let mut n = c.clone();
            for l in &mut n.model.layers {
                match l {
                    LayerSpec::Activation { kind, .. }
                        if matches!(kind, Activation::Sigmoid | Activation::Tanh) =>
                    {
                        *kind = Activation::Relu
                    }
                    l => {
                        if let Some((init, _)) = l.init_mut() {
                            *init = Init::KaimingNormal
                        }
                    }
                }
            }
            Some(("sigmoid/tanh → relu, kaiming_normal init".into(), n))
        }
        _ => None,
    }
}

/// Tries the cheap fix of `f` (run on `config`) and returns what happened; `None` when the
/// check has no cheap fix for this finding.
pub fn try_fix(
    gpu: &Gpu,
    config: &Config,
    spec: &CheckSpec,
    f: &Finding,
    observe_steps: usize,
) -> Result<Option<TriedFix>> {
    let Some((change, fixed)) = cheap_fix(config, f) else {
        return Ok(None);
    };
    let dataset = crate::data::load(&fixed.data, fixed.seed, &fixed.base_dir)?.train;
    let mut ctx = Context::new(gpu, fixed, dataset, observe_steps)?;
    let after = spec.run(&mut ctx)?;
    Ok(Some(TriedFix {
        change,
        verdict_after: after.verdict,
        measured_after: after.measured,
        message_after: after.message,
    }))
}
