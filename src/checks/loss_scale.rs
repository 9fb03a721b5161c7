//! Confirm the loss: all loss terms on the same scale. The data loss and the L2 term
//! 0.5·λ·Σ‖W‖² are compared at initialization: regularization above the data loss fails (it
//! would dominate training), terms more than `ratio` apart warn (the smaller does nothing).
//! Raising the regularization must raise the total loss (the term is really applied).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
use crate::error::Result;
use crate::train::Instrumentation;

pub struct LossScale;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub ratio: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params { ratio: 10.0 }
    }
}

impl Check for LossScale {
    const NAME: &'static str = "loss_scale";
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
        let first_step = |l2: f64| -> Result<(f64, f64)> {
            let mut c = ctx.config.clone();
            c.training.l2 = l2;
            let mut t = ctx.trainer(&c, ctx.dataset.clone(), Instrumentation::Full)?;
            let r = t.step_with(1, None)?;
            Ok((r.loss, r.l2_term))
        };
        let (data, reg) = first_step(l2)?;
        let (data_hi, reg_hi) = first_step(10.0 * l2)?;
        let ratio = reg / data.max(1e-30);
        let details = json!({"data_loss": data, "l2_term": reg, "l2": l2, "total_with_10x_l2": data_hi + reg_hi});
        let f = f
            .measured(ratio)
            .threshold(format!(
                "L2 term ≤ data loss; terms within {}× of each other",
                p.ratio
            ))
            .window("first step")
            .details(details);
        Ok(if data_hi + reg_hi <= data + reg {
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
