//! Diagnose parameters: the regularization gradient must not mask the data gradient. Over all
//! regularized weights together, the norm of the L2 and weight-decay pull (λ + wd)·‖W‖ against
//! the data-loss gradient norm ‖∂L/∂W‖, median over the first `window` steps of the observation
//! run (per-tensor ratios are in the details). (Later in training the ratio tends to 1 by design: at a minimum of the regularized loss
//! the two pulls balance, so only the start of training tells whether regularization drowns
//! the data.)

use serde_json::json;

use super::{grade_upper, median, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::regularization::Params;
use crate::error::Result;

pub struct Regularization;

impl Check for Regularization {
    const NAME: &'static str = crate::config::check_params::regularization::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str = "the regularization gradient does not mask the data gradient";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "window",
            doc: "first steps of the observation run to look at",
        },
        ParamDoc {
            name: "warn",
            doc: "regularization / data gradient norm that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "regularization / data gradient norm that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let lambda = ctx.config.training.l2 + ctx.config.training.weight_decay;
        let obs = ctx.observation()?;
        let steps = obs.tracked(p.window);
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "regularization / data gradient norm",
        )
        .window(format!("steps 0–{}", steps.last().map_or(0, |r| r.step)));
        if lambda <= 0.0 {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no L2 or weight decay"));
        }
        let regularized: Vec<usize> = (0..obs.infos.len())
            .filter(|&k| obs.infos[k].regularized())
            .collect();
        let ratio_of = |r: &crate::train::StepRecord, ks: &[usize]| {
            let reg: f64 = ks
                .iter()
                .map(|&k| r.stats.weights[k].sumsq)
                .sum::<f64>()
                .sqrt()
                * lambda;
            let data: f64 = ks
                .iter()
                .map(|&k| r.stats.grads[k].sumsq)
                .sum::<f64>()
                .sqrt();
            reg / data.max(1e-30)
        };
        let rows: Vec<_> = regularized
            .iter()
            .map(|&k| json!({"tensor": obs.infos[k].name, "median_ratio": median(steps.iter().map(|r| ratio_of(r, &[k])).collect())}))
            .collect();
        // The pulls on all regularized weights together: one layer with a tiny data gradient
        // early on (behind a small last-layer init) does not by itself mask the data.
        let global = (!regularized.is_empty())
            .then(|| median(steps.iter().map(|r| ratio_of(r, &regularized)).collect()));
        let Some(ratio) = global else {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no regularized tensors"));
        };
        let verdict = grade_upper(ratio, p.warn, p.fail);
        let f = Finding { verdict, ..f }
            .measured(ratio)
            .threshold(format!("≤ {} (fail above {})", p.warn, p.fail))
            .margin(p.warn - ratio)
            .details(json!({"layers": rows, "lambda": lambda}));
        Ok(if verdict == Verdict::Pass {
            f.message(format!(
                "the data gradient dominates (regularization pull {ratio:.2}× its norm)"
            ))
        } else {
            f.message(format!(
                "the regularization pull is {ratio:.2}× the data gradient over all weights"
            ))
            .fix(format!(
                "lower `training.l2` / `weight_decay` (now {lambda} together)"
            ))
        })
    }
}
