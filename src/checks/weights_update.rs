//! Check intermediate outputs: after one step every trainable tensor has changed. A tensor that
//! does not change has a zero gradient (dead units, a layer cut off from the loss) or an update
//! too small to register (learning rate).

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::weights_update::Params;
use crate::error::Result;
use crate::train::Instrumentation;

pub struct WeightsUpdate;

impl Check for WeightsUpdate {
    const NAME: &'static str = crate::config::check_params::weights_update::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "every trainable tensor changes after a step; zero gradients are named";
    const PARAMS: &'static [ParamDoc] = &[];
    type Params = Params;

    fn run(ctx: &mut Context, _p: &Params) -> Result<Finding> {
        // Without regularization: L2 or weight decay would move a tensor whose gradient is zero.
        let config = ctx.config_without_regularization();
        let mut trainer = ctx.trainer(&config, ctx.dataset.clone(), Instrumentation::Full)?;
        let before = trainer.net.download(ctx.gpu)?;
        let r = trainer.step_with(1, None)?;
        let after = trainer.net.download(ctx.gpu)?;
        let mut stuck = Vec::new();
        let mut rows = Vec::new();
        for (k, (b, a)) in before.params.iter().zip(&after.params).enumerate() {
            let changed = b.data.iter().zip(&a.data).filter(|(x, y)| x != y).count();
            let grad = r.stats.grads.get(k).map_or(f64::NAN, |g| g.norm());
            rows.push(json!({"tensor": b.name, "changed_fraction": changed as f64 / b.data.len() as f64, "gradient_norm": grad}));
            if changed == 0 {
                stuck.push((b.name.clone(), grad));
            }
        }
        let total = before.params.len();
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "tensors unchanged after one step",
        )
        .measured(stuck.len() as f64)
        .threshold("0")
        .margin(-(stuck.len() as f64))
        .window("first step")
        .details(json!({"tensors": rows}));
        Ok(match stuck.first() {
            None => f.message(format!("all {total} trainable tensors changed")),
            Some((name, grad)) if *grad == 0.0 => Finding { verdict: Verdict::Fail, ..f }
                .message(format!("{} of {total} tensors did not change; `{name}` has a zero gradient", stuck.len()))
                .fix("a zero gradient means no signal reaches the tensor: dead ReLUs (see dead_units), a layer cut off from the loss, or a saturated activation"),
            Some((name, grad)) => {
                // Below f32 resolution only when lr·|g| per entry is under an ulp of the weights.
                let k = before.params.iter().position(|t| &t.name == name).unwrap_or(0);
                let w = r.stats.weights.get(k).map_or(0.0, |s| s.norm());
                let n = before.params[k].data.len().max(1) as f64;
                let lr = ctx.config.training.optimizer.lr;
                let tiny = lr * grad / n.sqrt() < 1e-7 * w / n.sqrt();
                let f = Finding { verdict: Verdict::Fail, ..f }
                    .message(format!("`{name}` did not change although its gradient norm is {grad:.2e}"));
                if tiny {
                    f.fix(format!("the update is below f32 resolution: raise the learning rate (now {lr})"))
                } else {
                    f.fix("the optimizer did not apply the update to this tensor: check that it is trainable and reaches the optimizer")
                }
            }
        })
    }
}
