//! Check intermediate outputs: the outputs for one example must not depend on the other
//! examples of the batch (a kernel with a wrong stride or a reshape across the batch mixes
//! them). Each example's input is perturbed in turn and every other example's logits must stay
//! bit for bit the same. Runs in evaluation mode by default, where nothing mixes examples legitimately;
//! with `train_mode: true` it runs the training-mode forward pass, where batch norm mixes
//! examples by design (and is reported as such).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::overfit_small::small_subset;
use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
use crate::error::Result;
use crate::graph::Op;
use crate::train::{BatchPlan, DeviceData, Instrumentation, PlanMode, PlanOptions};

pub struct BatchIndependence;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub batch: usize,
    pub train_mode: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            batch: 8,
            train_mode: false,
        }
    }
}

impl Check for BatchIndependence {
    const NAME: &'static str = "batch_independence";
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "perturbing one example changes no other example's outputs (catches batch mixing)";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "batch",
            doc: "examples in the batch",
        },
        ParamDoc {
            name: "train_mode",
            doc: "use the training-mode forward pass (batch norm then mixes by design)",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let mut data = small_subset(&ctx.dataset, p.batch.max(2), ctx.config.seed);
        let n = data.n;
        let mut config = ctx.config.clone();
        config.training.batch_size = n;
        let trainer = ctx.trainer(&config, data.clone(), Instrumentation::Bare)?;
        let mode = if p.train_mode {
            PlanMode::TrainForward
        } else {
            PlanMode::Eval
        };
        let opts = PlanOptions::from_config(&config, Instrumentation::Bare);
        let device_data = DeviceData::upload(ctx.gpu, &data)?;
        let plan = BatchPlan::new(ctx.gpu, &trainer.net, &device_data, n, mode, &opts)?;
        let idx: Vec<u32> = (0..n as u32).collect();
        let step = trainer.step_uniform(0, 1);
        let logits = || -> Result<Vec<f32>> {
            plan.run(ctx.gpu, &trainer.net, &idx, &step)?;
            ctx.gpu.read::<f32>(&plan.acts[trainer.model.output])
        };
        let before = logits()?;
        let width = before.len() / n;
        // Perturb each example in turn; every other example's outputs must stay the same.
        let mut changed: Vec<usize> = Vec::new();
        let mut first_j = None;
        let original = data.x.clone();
        let xw = data.x_width;
        for j in 0..n {
            data.x.copy_from_slice(&original);
            for v in &mut data.x[j * xw..(j + 1) * xw] {
                *v = *v * 2.0 + 1.0;
            }
            device_data.write_features(ctx.gpu, &data.x)?;
            let after = logits()?;
            for i in (0..n).filter(|&i| i != j) {
                if before[i * width..(i + 1) * width] != after[i * width..(i + 1) * width]
                    && !changed.contains(&i)
                {
                    changed.push(i);
                    first_j.get_or_insert(j);
                }
            }
        }
        let j = first_j.unwrap_or(0);
        let bn = ctx
            .model
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::BatchNorm { .. }));
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "other examples whose outputs changed",
        )
        .measured(changed.len() as f64)
        .threshold("0")
        .margin(-(changed.len() as f64))
        .window(format!(
            "batch of {n}, each example perturbed in turn, {} mode",
            if p.train_mode {
                "training"
            } else {
                "evaluation"
            }
        ))
        .details(
            json!({"changed_examples": changed, "first_perturbed_example_that_leaked": first_j}),
        );
        Ok(if changed.is_empty() {
            f.message(if bn && !p.train_mode {
                "no example's outputs depend on another's (evaluation mode; training-mode batch norm mixes by design)".to_string()
            } else {
                "no example's outputs depend on another's".to_string()
            })
        } else if bn && p.train_mode {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("{} other examples changed: training-mode batch norm mixes examples by design", changed.len()))
                .fix("expected with batch norm; run with train_mode: false to test the kernels, or use layer-wise normalization if examples must stay independent")
        } else {
            Finding { verdict: Verdict::Fail, ..f }
                .message(format!("perturbing example {j} changed the outputs of {} other examples", changed.len()))
                .fix("some layer mixes examples across the batch: look for a reshape, transpose or reduction over the batch dimension")
        })
    }
}
