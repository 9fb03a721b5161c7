//! Confirm the loss: all loss terms on the same scale. The data loss and the L2 term
//! 0.5·λ·Σ‖W‖² are compared at initialization: regularization above the data loss fails (it
//! would dominate training), terms more than `ratio` apart warn (the smaller does nothing).
//! Raising the regularization ten-fold must shrink the weights more in a step (the term is
//! really applied by the optimizer).

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::loss_scale::Params;
use crate::error::Result;
use crate::train::Instrumentation;

pub struct LossScale;

impl Check for LossScale {
    const NAME: &'static str = crate::config::check_params::loss_scale::NAME;
    const SECTION: Section = Section::ConfirmLoss;
    const SUMMARY: &'static str =
        "loss terms (data, L2) on the same scale; regularization never above the data loss";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "ratio",
        doc: "largest / smallest non-zero term above which the smaller term gets a warning",
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
        // second step shows whether the L2 pull was applied (a ten-fold λ must shrink it more).
        let two_steps = |l2: f64| -> Result<(f64, f64, f64)> {
            let mut c = ctx.config.clone();
            c.training.l2 = l2;
            let mut t = ctx.trainer(&c, ctx.dataset.clone(), Instrumentation::Full)?;
            let first = t.step_with(2, None)?;
            let second = t.step_with(2, None)?;
            let norm: f64 = t
                .net
                .infos
                .iter()
                .zip(&second.stats.weights)
                .filter(|(i, _)| i.regularized())
                .map(|(_, s)| s.sumsq)
                .sum();
            Ok((first.loss, first.l2_term.unwrap_or(f64::NAN), norm))
        };
        let (data, reg, norm) = two_steps(l2)?;
        let (_, _, norm_hi) = two_steps(10.0 * l2)?;
        let ratio = reg / data.max(1e-30);
        let details = json!({"data_loss": data, "l2_term": reg, "l2": l2,
                             "weight_sumsq_after_one_step": norm, "weight_sumsq_after_one_step_with_10x_l2": norm_hi});
        let f = f
            .measured(ratio)
            .threshold(format!(
                "L2 term ≤ data loss; terms within {}× of each other",
                p.ratio
            ))
            .window("first step")
            .details(details);
        Ok(if norm_hi.is_nan() || norm_hi >= norm {
            Finding { verdict: Verdict::Fail, ..f }
                .message("raising the L2 coefficient ten-fold did not raise the loss: the term is not applied")
                .fix("check that `l2` reaches the optimizer and the loss")
        } else if ratio > 1.0 {
            Finding { verdict: Verdict::Fail, ..f }
                .margin(1.0 - ratio)
                .message(format!("the L2 term ({reg:.4}) exceeds the data loss ({data:.4}): regularization will dominate"))
                .fix(format!("lower `training.l2` (now {l2}) by at least {:.0}×", ratio.ceil()))
        } else if ratio * p.ratio < 1.0 {
            Finding { verdict: Verdict::Warn, ..f }
                .margin(ratio * p.ratio - 1.0)
                .message(format!(
                    "the L2 term ({reg:.2e}) is {:.0}× smaller than the data loss ({data:.4}) and hardly acts",
                    1.0 / ratio.max(1e-30)
                ))
                .fix("raise `training.l2` if regularization is wanted, or drop it")
        } else {
            f.margin(1.0 - ratio)
                .message(format!("data loss {data:.4}, L2 term {reg:.4}"))
        })
    }
}
