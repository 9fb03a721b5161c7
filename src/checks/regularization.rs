//! Diagnose parameters: the regularization gradient must not mask the data gradient. Per
//! regularized weight tensor, the norm of the L2 and weight-decay pull (λ + wd)·‖W‖ against the
//! data-loss gradient norm ‖∂L/∂W‖, median over the first `window` steps of the observation
//! run. (Later in training the ratio tends to 1 by design: at a minimum of the regularized loss
//! the two pulls balance, so only the start of training tells whether regularization drowns
//! the data.)

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
use crate::error::Result;

pub struct Regularization;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub window: usize,
    pub warn: f64,
    pub fail: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            window: 10,
            warn: 0.5,
            fail: 1.0,
        }
    }
}

impl Check for Regularization {
    const NAME: &'static str = "regularization";
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
        let steps = &obs.records[..obs.records.len().min(p.window.max(1))];
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "regularization / data gradient norm",
        )
        .window(format!("steps 0–{}", steps.len().saturating_sub(1)));
        if lambda <= 0.0 {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no L2 or weight decay"));
        }
        let mut rows = Vec::new();
        let mut worst: Option<(f64, String)> = None;
        for (k, info) in obs.infos.iter().enumerate() {
            if !info.regularized() {
                continue;
            }
            let mut ratios: Vec<f64> = steps
                .iter()
                .map(|r| lambda * r.stats.weights[k].norm() / r.stats.grads[k].norm().max(1e-30))
                .collect();
            ratios.sort_by(|a, b| a.total_cmp(b));
            let med = ratios[ratios.len() / 2];
            rows.push(json!({"tensor": info.name, "median_ratio": med}));
            if worst.as_ref().is_none_or(|w| med.total_cmp(&w.0).is_gt()) {
                worst = Some((med, info.name.clone()));
            }
        }
        let Some((ratio, name)) = worst else {
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
                "the data gradient dominates (largest ratio {ratio:.2} at {name})"
            ))
        } else {
            f.message(format!(
                "at {name} the regularization pull is {ratio:.2}× the data gradient"
            ))
            .fix(format!(
                "lower `training.l2` / `weight_decay` (now {lambda} together)"
            ))
        })
    }
}
