//! Check intermediate outputs: the gradient of the loss with respect to the inputs (saliency)
//! for sample examples, at the weights after the observation run. Reports the features with
//! the largest mean |∂L/∂x|; an all-zero or non-finite input gradient means the output does not
//! depend on the input through the network and fails. (Saliency images for image-shaped inputs
//! come with the convolutional layers.)

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::overfit_small::small_subset;
use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
use crate::error::Result;
use crate::train::{Instrumentation, Trainer, TrainerOptions};

pub struct Saliency;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub examples: usize,
    pub top: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            examples: 8,
            top: 5,
        }
    }
}

impl Check for Saliency {
    const NAME: &'static str = "saliency";
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "gradient of the loss with respect to the inputs for sample examples; top features";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "examples",
            doc: "sample examples",
        },
        ParamDoc {
            name: "top",
            doc: "features to report, by mean |∂L/∂x|",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let gpu = ctx.gpu;
        let weights = ctx.trained()?.net.download(gpu)?;
        let data = small_subset(&ctx.dataset, p.examples, ctx.config.seed);
        let (n, w) = (data.n, data.x_width);
        let mut c = ctx.config.clone();
        c.training.batch_size = n;
        c.training.shuffle = false;
        let mut t = Trainer::with_options(
            gpu,
            &c,
            data,
            TrainerOptions {
                instrumentation: Instrumentation::Bare,
                initial: Some(weights),
                input_grad: true,
                ..Default::default()
            },
        )?;
        t.step_with(1, Some(0.0))?;
        let grad = gpu.read::<f32>(t.plan.grads[0].as_ref().expect("input gradient requested"))?;
        let mut per_feature = vec![0.0f64; w];
        for i in 0..n {
            for j in 0..w {
                per_feature[j] += (grad[i * w + j] as f64).abs() / n as f64;
            }
        }
        let finite = grad.iter().all(|g| g.is_finite());
        let total: f64 = per_feature.iter().sum();
        let mut order: Vec<usize> = (0..w).collect();
        order.sort_by(|&a, &b| per_feature[b].total_cmp(&per_feature[a]));
        let top: Vec<_> = order
            .iter()
            .take(p.top)
            .map(|&j| json!({"feature": j, "mean_abs_gradient": per_feature[j]}))
            .collect();
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "mean |∂L/∂x| over features",
        )
        .measured(total / w.max(1) as f64)
        .threshold("> 0 and finite")
        .window(format!("{n} examples at the trained weights"))
        .details(
            json!({"top_features": top, "per_example": grad.chunks(w).take(4).collect::<Vec<_>>()}),
        );
        Ok(if !finite {
            Finding {
                verdict: Verdict::Fail,
                ..f
            }
            .message("the input gradient has NaN or Inf")
            .fix("see numerics for where non-finite values start")
        } else if total == 0.0 {
            Finding { verdict: Verdict::Fail, ..f }
                .message("the loss does not depend on the inputs: the input gradient is zero")
                .fix("no signal flows back to the input: dead units (dead_units), a zeroed layer, or an input that never reaches the model")
        } else {
            f.message(format!(
                "most salient features: {}",
                order
                    .iter()
                    .take(p.top)
                    .map(|j| j.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}
