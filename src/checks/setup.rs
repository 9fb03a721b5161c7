//! The settings beside the learning rate that set the size of each step: a schedule that
//! drove the rate toward zero, clipping by norm that scales every update, momentum that
//! multiplies the effective step. A check that sees steps too small or too large names the
//! setting that made them so, instead of advising to move the base rate. Reads the config and
//! the step records only (the scheduled rate of each step, the pre-clip gradient norms); it
//! trains nothing and must not decide verdicts.
//!
//! Thresholds, each a bound of the setting rather than a fit to data:
//! - the schedule: the median scheduled rate over the run below [`SCHEDULE_LOW`] (1 %) of the
//!   configured rate. A cosine schedule to 0 has a median of 50 %, a step schedule dividing by
//!   10 at each third of the run 10 %, warm-up only lowers the first steps: none comes near.
//! - clipping by norm: the median factor c/‖g‖ below [`CLIP_LOW`] (1 %): every update shrunk a
//!   hundred-fold is clipping doing the learning rate's job (clipping at the median norm, as
//!   intended, gives a median factor of 1).
//! - momentum (SGD rules): β ≥ [`MOMENTUM_HIGH`] (0.99), an effective step lr/(1−β) of 100 × lr
//!   or more; the usual 0.9 gives 10 ×.

use crate::config::{Config, ScheduleKind};
use crate::ops::OptimizerKind;
use crate::train::StepRecord;

/// A median scheduled rate below this fraction of the configured rate names the schedule.
pub const SCHEDULE_LOW: f64 = 0.01;
/// A median clipping factor below this names clipping by norm.
pub const CLIP_LOW: f64 = 0.01;
/// Momentum from this value names the momentum (effective step ≥ 100 × lr).
pub const MOMENTUM_HIGH: f64 = 0.99;

/// One setting that changes the size of every step.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Limiter {
    /// `schedule`, `clip_norm` or `momentum`.
    pub setting: &'static str,
    /// What it did, e.g. "clipping by norm at 1e-6 scales every update by ~1e-5".
    pub effect: String,
    /// The change to make.
    pub fix: String,
    /// Whether it makes steps smaller (schedule, clipping) or larger (momentum).
    pub shrinks: bool,
    /// The factor it applies to the step (median), e.g. 1e-5 or 1000.
    pub factor: f64,
}

fn schedule_text(c: &Config) -> String {
    let s = &c.training.schedule;
    let mut parts = Vec::new();
    match s.name {
        ScheduleKind::Constant => parts.push("constant".to_string()),
        ScheduleKind::Step => {
            parts.push("step".into());
            parts.push(format!("step_size: {}", s.step_size.unwrap_or(1)));
            parts.push(format!("gamma: {}", s.gamma.unwrap_or(0.1)));
        }
        ScheduleKind::Exponential => {
            parts.push("exponential".into());
            parts.push(format!("gamma: {}", s.gamma.unwrap_or(0.999)));
        }
        ScheduleKind::Cosine => {
            parts.push("cosine".into());
            parts.push(format!("min_lr: {}", s.min_lr));
        }
    }
    if s.warmup_steps > 0 {
        parts.push(format!("warmup_steps: {}", s.warmup_steps));
    }
    parts.join(", ")
}

fn median(v: Vec<f64>) -> f64 {
    super::median(v)
}

/// Every setting among the schedule, clipping by norm and momentum that changes the size of
/// the steps of `records` by the thresholds above.
pub fn limiters(config: &Config, records: &[StepRecord]) -> Vec<Limiter> {
    let mut found = Vec::new();
    let o = &config.training.optimizer;
    let base = o.lr;
    if base > 0.0 && !records.is_empty() {
        let rel = median(records.iter().map(|r| r.lr / base).collect());
        if rel < SCHEDULE_LOW {
            let (step, lr) = records
                .iter()
                .find(|r| r.lr < SCHEDULE_LOW * base)
                .map_or((0, base * rel), |r| (r.step, r.lr));
            let steps = config.training.steps.max(1);
            found.push(Limiter {
                setting: "schedule",
                effect: format!(
                    "the schedule ({}) brought the rate from {base} to {lr:.1e} by step {step}",
                    schedule_text(config)
                ),
                fix: match config.training.schedule.name {
                    ScheduleKind::Step => format!(
                        "`step_size` counts steps, not epochs: decay over the run's {steps} steps (e.g. step_size: {})",
                        (steps / 3).max(1)
                    ),
                    ScheduleKind::Exponential => format!(
                        "`gamma` applies every step: over {steps} steps a gamma near {:.4} ends at a tenth",
                        0.1f64.powf(1.0 / steps as f64)
                    ),
                    _ => "let the schedule keep the rate near the configured one for most of the run".into(),
                },
                shrinks: true,
                factor: rel,
            });
        }
    }
    if let Some(c) = config.training.clip.norm.filter(|c| *c > 0.0) {
        let factors: Vec<f64> = records
            .iter()
            .filter(|r| !r.stats.grads.is_empty())
            .map(|r| (c / (r.stats.grad_sumsq().sqrt() + 1e-6)).min(1.0))
            .collect();
        let k = median(factors.clone());
        if !factors.is_empty() && k < CLIP_LOW {
            found.push(Limiter {
                setting: "clip_norm",
                effect: format!("clipping by norm at {c} scales every update by ~{k:.0e}"),
                fix: format!(
                    "raise `training.clip.norm` (now {c}) toward the pre-clip gradient norms (median {:.3}), or remove it",
                    c / k
                ),
                shrinks: true,
                factor: k,
            });
        }
    }
    let beta = o.momentum();
    if matches!(
        o.resolved_kind(),
        OptimizerKind::Momentum | OptimizerKind::Nesterov
    ) && (MOMENTUM_HIGH..1.0).contains(&beta)
    {
        let times = 1.0 / (1.0 - beta);
        found.push(Limiter {
            setting: "momentum",
            effect: format!(
                "momentum {beta} makes the effective step lr/(1−β) = {times:.0} × lr ({:.2e})",
                base * times
            ),
            fix: format!(
                "lower the momentum to 0.9 (an effective step of 10 × lr), or divide the learning rate by {:.0}",
                times / 10.0
            ),
            shrinks: false,
            factor: times,
        });
    }
    found
}

/// The first setting that shrinks or enlarges every step (see [`limiters`]), as one sentence
/// with its fix, for a check that would otherwise advise to move the learning rate.
pub fn rate_limiters(config: &Config, records: &[StepRecord]) -> Option<String> {
    limiters(config, records)
        .into_iter()
        .next()
        .map(|l| format!("{}: {}", l.effect, l.fix))
}
