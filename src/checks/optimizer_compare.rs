//! Diagnose parameters: the same step budget from the same initial weights with SGD, Nesterov
//! momentum and Adam (each at its own learning rate), against the configured optimizer. A
//! summary of final losses; warns when the configured setup ends far behind the best of them.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::optimizer_compare::Params;
use crate::error::Result;
use crate::ops::OptimizerKind;
use crate::train::Instrumentation;

pub struct OptimizerCompare;

impl Check for OptimizerCompare {
    const NAME: &'static str = crate::config::check_params::optimizer_compare::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "the same budget with SGD, Nesterov and Adam against the configured optimizer";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "steps",
            doc: "training steps for each optimizer",
        },
        ParamDoc {
            name: "sgd_lr",
            doc: "learning rate of plain SGD",
        },
        ParamDoc {
            name: "nesterov_lr",
            doc: "learning rate of Nesterov momentum (0.9)",
        },
        ParamDoc {
            name: "adam_lr",
            doc: "learning rate of Adam",
        },
        ParamDoc {
            name: "factor",
            doc: "configured final loss / best alternative's above which it warns",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let run = |kind: Option<(OptimizerKind, f64)>| -> Result<f64> {
            let mut c = ctx.config.clone();
            if let Some((k, lr)) = kind {
                c.training.optimizer.name = k;
                c.training.optimizer.lr = lr;
                c.training.optimizer.momentum = (k == OptimizerKind::Nesterov).then_some(0.9);
                c.training.optimizer.nesterov = false;
                c.training.schedule = Default::default();
            }
            let mut t = ctx.trainer(&c, ctx.dataset.clone(), Instrumentation::Bare)?;
            for _ in 0..p.steps {
                if !t.step_with(p.steps, None)?.loss.is_finite() {
                    return Ok(f64::INFINITY);
                }
            }
            Ok(t.evaluate()?.0)
        };
        let configured = run(None)?;
        let alternatives = [
            ("sgd", OptimizerKind::Sgd, p.sgd_lr),
            ("nesterov", OptimizerKind::Nesterov, p.nesterov_lr),
            ("adam", OptimizerKind::Adam, p.adam_lr),
        ];
        let mut rows = vec![json!({"optimizer": "configured", "final_loss": configured})];
        let mut best = (f64::INFINITY, "");
        for (name, kind, lr) in alternatives {
            let loss = run(Some((kind, lr)))?;
            rows.push(json!({"optimizer": name, "lr": lr, "final_loss": loss}));
            if loss < best.0 {
                best = (loss, name);
            }
        }
        let ratio = configured / best.0.max(1e-30);
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "configured final loss / best alternative's",
        )
        .measured(ratio)
        .threshold(format!("≤ {}", p.factor))
        .margin(p.factor - ratio)
        .window(format!("{} steps each", p.steps))
        .details(json!({"runs": rows}));
        Ok(if ratio <= p.factor {
            f.message(format!(
                "configured: loss {configured:.4}; best alternative {} at {:.4}",
                best.1, best.0
            ))
        } else {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("the configured optimizer ends at {configured:.4}, {} reaches {:.4} on the same budget", best.1, best.0))
                .fix(format!("try {} (see the details for its learning rate), or tune the configured learning rate with lr_range", best.1))
        })
    }
}
