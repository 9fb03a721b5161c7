//! Confirm the loss: a model trained on zeroed inputs must do clearly worse than on the real
//! inputs; if not, it is not using its input (a broken data path, or labels it can guess
//! without looking).

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::input_independent::Params;
use crate::error::Result;
use crate::train::Instrumentation;

pub struct InputIndependent;

impl Check for InputIndependent {
    const NAME: &'static str = crate::config::check_params::input_independent::NAME;
    const SECTION: Section = Section::ConfirmLoss;
    const SUMMARY: &'static str =
        "training on zeroed inputs does clearly worse than on the real inputs";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "steps",
            doc: "training steps for each of the two runs",
        },
        ParamDoc {
            name: "max_ratio",
            doc: "real-input loss / zero-input loss must stay below this",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let train = |zero: bool| -> Result<f64> {
            let mut d = ctx.dataset.clone();
            if zero {
                d.x.iter_mut().for_each(|v| *v = 0.0);
            }
            let mut t = ctx.trainer(&ctx.config, d, Instrumentation::Bare)?;
            for _ in 0..p.steps {
                t.step_with(p.steps, None)?;
            }
            Ok(t.evaluate()?.0)
        };
        let real = train(false)?;
        let zero = train(true)?;
        let ratio = real / zero.max(1e-30);
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "real-input loss / zero-input loss",
        )
        .measured(ratio)
        .threshold(format!("< {}", p.max_ratio))
        .margin(p.max_ratio - ratio)
        .window(format!("{} steps each", p.steps))
        .details(json!({"real_input_loss": real, "zero_input_loss": zero}));
        Ok(if ratio.is_finite() && ratio < p.max_ratio {
            f.message(format!(
                "loss {real:.4} with real inputs, {zero:.4} with zeros"
            ))
        } else {
            Finding { verdict: Verdict::Fail, ..f }
                .message(format!("with zeroed inputs the loss is {zero:.4}, with real ones {real:.4}: the model does not use its input"))
                .fix("check the data pipeline (features reach the model, labels match examples) and the learning rate")
        })
    }
}
