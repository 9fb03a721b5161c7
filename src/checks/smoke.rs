//! Start simple: a short run finishes with finite values and the loss goes down.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::smoke::Params;
use crate::error::Result;

pub struct Smoke;

impl Check for Smoke {
    const NAME: &'static str = crate::config::check_params::smoke::NAME;
    const SECTION: Section = Section::StartSimple;
    const SUMMARY: &'static str = "a short training run stays finite and the loss goes down";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "min_decrease",
        doc: "relative decrease of the mean loss from the first to the last tenth of the observation run",
    }];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let obs = ctx.observation()?;
        let window = obs.window();
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "relative loss decrease",
        )
        .window(window);
        if let Some(bad) = obs.records.iter().find(|r| !r.loss.is_finite()) {
            return Ok(Finding { verdict: Verdict::Fail, ..f }
                .message(format!("the loss became {} at step {}", bad.loss, bad.step))
                .threshold("finite loss")
                .fix("lower the learning rate, clip gradients, or look at the numerics check for where it started")
                .details(json!({"non_finite_step": bad.step})));
        }
        let (first, last) = obs.loss_trend(0.1);
        let decrease = (first - last) / first.abs().max(1e-12);
        let f = f
            .measured(decrease)
            .threshold(format!("≥ {:.0} % decrease", 100.0 * p.min_decrease))
            .margin(decrease - p.min_decrease)
            .details(json!({"first_loss": first, "last_loss": last}));
        Ok(if decrease >= p.min_decrease {
            f.message(format!("loss {first:.4} → {last:.4}"))
        } else {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("the loss barely moved: {first:.4} → {last:.4}"))
                .fix("raise the learning rate (see lr_range), check that weights update, or train longer")
        })
    }
}
