//! Confirm the loss: all loss terms on the same scale. The data loss and the L2 term
//! 0.5·λ·Σ‖W‖² are compared at initialization: regularization above the data loss fails (it
//! would dominate training); an L2 term more than `ratio` times smaller than the data loss is
//! a note (Info), not a warning: a usual coefficient (1e-4) starts that small and gains weight
//! as the data loss falls — there is nothing to change unless more regularization is wanted.
//!
//! The probe: changing λ must change how much one step shrinks the weights (the term is really
//! applied by the optimizer). The probe coefficient is 10λ, bounded so that the pull of the
//! first step, x = lr₀·k·λ_probe (k = 1 + momentum for Nesterov's first step, 1 for the other
//! SGD rules; Adam's step is bounded by the rate whatever λ), stays ≤ [`PROBE_PULL`]: each
//! weight then shrinks by at most half, far inside the region 0 < x < 2 where plain SGD's L2
//! pull is stable. Unbounded, lr·10λ > 2 made the probe's weights grow and the check claimed
//! the term was not applied. Where the bound leaves less than twice λ (the configured pull is
//! already large) the probe goes the other way, λ/10, which must shrink the weights less. A
//! configured pull x = lr₀·k·λ ≥ 1 removes more than the whole weight each step: that fails
//! on its own (a bound of the update rule, not a calibrated threshold). A step whose weights
//! are not finite is reported as a diverged step, never as an unapplied term.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::loss_scale::Params;
use crate::error::Result;
use crate::ops::OptimizerKind;
use crate::train::{schedule, Instrumentation};

pub struct LossScale;

/// The largest pull lr₀·k·λ of the probe's first step: each weight shrinks by at most half.
pub const PROBE_PULL: f64 = 0.5;

/// The fraction of each weight that the L2 pull alone removes in the first step at `lr0`
/// with coefficient `l2`: lr₀·k·λ for the SGD rules, `None` for Adam's (whose step is bounded
/// by the rate, whatever λ).
pub fn first_step_pull(kind: OptimizerKind, momentum: f64, lr0: f64, l2: f64) -> Option<f64> {
    match kind {
        OptimizerKind::Sgd | OptimizerKind::Momentum => Some(lr0 * l2),
        OptimizerKind::Nesterov => Some(lr0 * (1.0 + momentum) * l2),
        OptimizerKind::Adam | OptimizerKind::Adamw => None,
    }
}

/// The probe's coefficient for a configured `l2` whose first-step pull is `pull`: 10λ bounded
/// to a pull of [`PROBE_PULL`], or λ/10 when that bound leaves less than 2λ.
pub fn probe_l2(l2: f64, pull: Option<f64>) -> f64 {
    let Some(x) = pull.filter(|x| *x > 0.0) else {
        return 10.0 * l2;
    };
    let bounded = (10.0 * l2).min(l2 * PROBE_PULL / x);
    if bounded >= 2.0 * l2 {
        bounded
    } else {
        l2 / 10.0
    }
}

/// One probe: the first step's data loss and L2 term, and Σ‖W‖² of the regularized weights at
/// initialization and after one step.
struct Probe {
    data: f64,
    reg: f64,
    sumsq_init: f64,
    sumsq_after: f64,
}

impl Probe {
    fn finite(&self) -> bool {
        self.data.is_finite() && self.sumsq_after.is_finite()
    }
}

impl Check for LossScale {
    const NAME: &'static str = crate::config::check_params::loss_scale::NAME;
    const SECTION: Section = Section::ConfirmLoss;
    const SUMMARY: &'static str =
        "loss terms (data, L2) on the same scale; regularization never above the data loss";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "ratio",
        doc: "data loss / L2 term above which the small L2 term gets a note (info)",
    }];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "L2 term / data loss",
        );
        let l2 = ctx.config.training.l2;
        if l2 <= 0.0 {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no L2 term: the data loss is the only term"));
        }
        // Two steps: the first step's figures give the scales; the weights' norm before the
        // second step shows how far the first step's L2 pull shrank them.
        let two_steps = |l2: f64| -> Result<Probe> {
            let mut c = ctx.config.clone();
            c.training.l2 = l2;
            let mut t = ctx.trainer(&c, ctx.dataset.clone(), Instrumentation::Full)?;
            let first = t.step_with(2, None)?;
            let second = t.step_with(2, None)?;
            let sumsq = |r: &crate::train::StepRecord| -> f64 {
                t.net
                    .infos
                    .iter()
                    .zip(&r.stats.weights)
                    .filter(|(i, _)| i.regularized())
                    .map(|(_, s)| s.sumsq)
                    .sum()
            };
            Ok(Probe {
                data: first.loss,
                reg: first.l2_term.unwrap_or(f64::NAN),
                sumsq_init: sumsq(&first),
                sumsq_after: sumsq(&second),
            })
        };
        let o = &ctx.config.training.optimizer;
        let lr0 = schedule::learning_rate(o.lr, &ctx.config.training.schedule, 0, 2);
        let pull = first_step_pull(o.resolved_kind(), o.momentum(), lr0, l2);
        let configured = two_steps(l2)?;
        let (data, reg) = (configured.data, configured.reg);
        let ratio = reg / data.max(1e-30);
        let mut details = json!({"data_loss": data, "l2_term": reg, "l2": l2,
                             "weight_sumsq_at_init": configured.sumsq_init,
                             "weight_sumsq_after_one_step": configured.sumsq_after,
                             "first_step_pull": pull});
        let f = f
            .threshold(format!(
                "L2 term ≤ data loss; a note when over {}× smaller",
                p.ratio
            ))
            .window("first step");
        if !configured.finite() {
            return Ok(Finding { verdict: Verdict::Skip, ..f }
                .details(details)
                .message(format!(
                    "the first step at lr {lr0:e} is not finite (data loss {data}, Σ‖W‖² {}): the L2 term cannot be measured; numerics and smoke say where it diverged",
                    configured.sumsq_after
                )));
        }
        let f = f.measured(ratio);
        if let Some(x) = pull.filter(|x| *x >= 1.0) {
            return Ok(Finding { verdict: Verdict::Fail, ..f }
                .margin(1.0 - x)
                .details(details)
                .message(format!(
                    "the L2 pull of one step, lr·λ = {x:.3}, removes more than the whole weight: the weights overshoot zero every step"
                ))
                .fix(format!(
                    "keep lr·λ well below 1: lower `training.l2` (now {l2}) or the learning rate (now {lr0})"
                )));
        }
        let l2_probe = probe_l2(l2, pull);
        let probe = two_steps(l2_probe)?;
        details["l2_probe"] = json!(l2_probe);
        // The key keeps the name it had when the probe was always 10λ (records and the golden
        // numbers hold it); `l2_probe` says which λ the probe used.
        details["weight_sumsq_after_one_step_with_10x_l2"] = json!(probe.sumsq_after);
        // Not finite even though its pull is bounded: the probe tells nothing about the term.
        let diverged = !probe.finite();
        details["probe_diverged"] = json!(diverged);
        let applied = diverged
            || if l2_probe > l2 {
                probe.sumsq_after < configured.sumsq_after
            } else {
                probe.sumsq_after > configured.sumsq_after
            };
        let f = f.details(details);
        let probe_note = if diverged {
            format!(" (the probe with λ = {l2_probe:.1e} was not finite, so whether the term is applied was not tested)")
        } else {
            String::new()
        };
        Ok(if !applied {
            Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "changing the L2 coefficient from {l2:e} to {l2_probe:.1e} did not change how much one step shrinks the weights the way it must (Σ‖W‖² {:.6e} → {:.6e}): the term is not applied",
                    configured.sumsq_after, probe.sumsq_after
                ))
                .fix("check that `l2` reaches the optimizer and the loss")
        } else if ratio > 1.0 {
            Finding { verdict: Verdict::Fail, ..f }
                .margin(1.0 - ratio)
                .message(format!("the L2 term ({reg:.4}) exceeds the data loss ({data:.4}): regularization will dominate{probe_note}"))
                .fix(format!("lower `training.l2` (now {l2}) by at least {:.0}×", ratio.ceil()))
        } else if ratio * p.ratio < 1.0 {
            Finding { verdict: Verdict::Info, ..f }
                .margin(1.0 - ratio)
                .message(format!(
                    "the L2 term ({reg:.2e}) is {:.0}× smaller than the data loss ({data:.4}) at initialization{probe_note}",
                    1.0 / ratio.max(1e-30)
                ))
                .fix("usual for a small coefficient: the term gains weight as the data loss falls; raise `training.l2` only if more regularization is wanted")
        } else {
            f.margin(1.0 - ratio)
                .message(format!("data loss {data:.4}, L2 term {reg:.4}{probe_note}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_pull_stays_bounded() {
        // Small pulls: ten times λ.
        assert!((probe_l2(1e-4, Some(1e-5)) - 1e-3).abs() < 1e-15);
        // lr·10λ = 1 would shrink every weight to the gradient step: bounded to PROBE_PULL.
        let (lr, l2) = (1.0, 0.1);
        let probe = probe_l2(l2, first_step_pull(OptimizerKind::Sgd, 0.0, lr, l2));
        assert!((lr * probe - PROBE_PULL).abs() < 1e-12, "{probe}");
        // Nesterov's first step pulls (1 + β) times harder.
        let probe = probe_l2(
            0.05,
            first_step_pull(OptimizerKind::Nesterov, 0.9, 1.0, 0.05),
        );
        assert!((1.9 * probe - PROBE_PULL).abs() < 1e-12, "{probe}");
        // A configured pull that leaves no room above (lr·10λ = 3, where an unbounded probe
        // overshot zero): the probe goes below.
        assert!((probe_l2(0.3, Some(0.3)) - 0.03).abs() < 1e-15);
        // Adam's step is bounded by the rate: ten times λ.
        assert_eq!(first_step_pull(OptimizerKind::Adam, 0.0, 1.0, 0.1), None);
        assert_eq!(probe_l2(0.1, None), 1.0);
    }
}
