//! Check intermediate outputs: the gradient of the loss with respect to the inputs (saliency)
//! for sample examples, at the weights after the observation run. Reports the features with
//! the largest mean |∂L/∂x|; an all-zero or non-finite input gradient means the output does not
//! depend on the input through the network and fails. For an image model the details also hold
//! saliency maps (|∂L/∂x| summed over channels, per example and averaged) and the trained
//! first convolution's filters, which the HTML report draws as images. Token ids have no
//! gradient: a model on tokens is judged by the gradient with respect to each token's
//! embedding, ‖∂L/∂e_t‖ per position t.

use serde_json::json;

use super::overfit_small::small_subset;
use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::saliency::Params;
use crate::error::Result;
use crate::graph::{Graph, Image, Op};
use crate::model::HostParams;
use crate::train::{Instrumentation, Trainer, TrainerOptions};

pub struct Saliency;

impl Check for Saliency {
    const NAME: &'static str = crate::config::check_params::saliency::NAME;
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
        let filters = first_layer_filters(&ctx.model, &weights);
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
        // Token models: the gradient with respect to each position's embedding, its norm per
        // position; other models: the gradient with respect to each input feature.
        let embedding = ctx
            .model
            .nodes
            .iter()
            .find(|n| matches!(n.op, Op::Embedding { .. }) && ctx.model.takes_tokens());
        let (grad, per_feature) = match embedding {
            Some(node) => {
                let g = gpu.read::<f32>(
                    t.plan.grads[node.output()]
                        .as_ref()
                        .expect("an embedding's output has a gradient"),
                )?;
                let dim = node.out_shape.last().max(1);
                // ‖∂L/∂e_t‖ per example and position.
                let norms: Vec<f32> = g
                    .chunks(dim)
                    .map(|e| e.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt() as f32)
                    .collect();
                let mut per = vec![0.0f64; w];
                for i in 0..n {
                    for j in 0..w {
                        per[j] += norms[i * w + j] as f64 / n as f64;
                    }
                }
                (norms, per)
            }
            None => {
                let grad =
                    gpu.read::<f32>(t.plan.grads[0].as_ref().expect("input gradient requested"))?;
                let mut per = vec![0.0f64; w];
                for i in 0..n {
                    for j in 0..w {
                        per[j] += (grad[i * w + j] as f64).abs() / n as f64;
                    }
                }
                (grad, per)
            }
        };
        let tokens = embedding.is_some();
        let finite = grad.iter().all(|g| g.is_finite());
        let total: f64 = per_feature.iter().sum();
        let mut order: Vec<usize> = (0..w).collect();
        order.sort_by(|&a, &b| per_feature[b].total_cmp(&per_feature[a]));
        // An image's features are pixels: name them by (channel,) row and column.
        let image = ctx.model.image();
        let feature_name = |j: usize| match image {
            Some(i) if i.channels == 1 => format!("pixel ({}, {})", j / i.width, j % i.width),
            Some(i) => format!(
                "pixel ({}, {}) of channel {}",
                (j % i.plane()) / i.width,
                j % i.width,
                j / i.plane()
            ),
            None if tokens => format!("position {j}"),
            None => j.to_string(),
        };
        let top: Vec<_> = order
            .iter()
            .take(p.top)
            .map(|&j| json!({"feature": j, "name": feature_name(j), "mean_abs_gradient": per_feature[j]}))
            .collect();
        let mut details =
            json!({"top_features": top, "per_example": grad.chunks(w).take(4).collect::<Vec<_>>()});
        if let Some(image) = image {
            details["image"] = saliency_maps(image, &grad, &per_feature);
        }
        if let Some(filters) = filters {
            details["first_layer_filters"] = filters;
        }
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            if tokens {
                "mean ‖∂L/∂e‖ over positions"
            } else {
                "mean |∂L/∂x| over features"
            },
        )
        .measured(total / w.max(1) as f64)
        .threshold("> 0 and finite")
        .window(format!("{n} examples at the trained weights"))
        .details(details);
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
                "most salient {}: {}",
                if image.is_some() {
                    "pixels (row, column)"
                } else if tokens {
                    "positions"
                } else {
                    "features"
                },
                order
                    .iter()
                    .take(p.top)
                    .map(|&j| match image {
                        Some(_) => feature_name(j).trim_start_matches("pixel ").to_string(),
                        None => j.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}

/// Examples whose saliency maps the details keep.
const MAPS: usize = 4;

/// |∂L/∂x| of an image model summed over channels into `height` × `width` maps: the mean over
/// the examples, and the first few examples' own.
fn saliency_maps(image: Image, grad: &[f32], per_feature: &[f64]) -> serde_json::Value {
    let plane = image.plane();
    let fold = |values: &dyn Fn(usize) -> f64| -> Vec<f64> {
        (0..plane)
            .map(|s| (0..image.channels).map(|c| values(c * plane + s)).sum())
            .collect()
    };
    let mean = fold(&|j| per_feature[j]);
    let maps: Vec<Vec<f64>> = grad
        .chunks(image.len())
        .take(MAPS)
        .map(|g| fold(&|j| (g[j] as f64).abs()))
        .collect();
    json!({
        "shape": [image.channels, image.height, image.width],
        "mean_map": mean,
        "maps": maps,
    })
}

/// The weights of the model's first convolution, `[out, in, kh, kw]`, after training.
fn first_layer_filters(model: &Graph, weights: &HostParams) -> Option<serde_json::Value> {
    let node = model
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Conv2d { .. }))?;
    let name = &model.params[*node.params.first()?].name;
    let t = weights.params.iter().find(|t| &t.name == name)?;
    Some(json!({"layer": node.index, "shape": t.shape, "values": t.data}))
}
