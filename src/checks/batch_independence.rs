//! Check intermediate outputs: the outputs for one example must not depend on the other
//! examples of the batch (a kernel with a wrong stride or a reshape across the batch mixes
//! them). Each example's input is perturbed in turn and every other example's logits must stay
//! bit for bit the same. Runs in evaluation mode by default, where nothing mixes examples legitimately;
//! with `train_mode: true` it runs the training-mode forward pass, where batch norm mixes
//! examples by design (and is reported as such). A model that predicts every next token of a
//! sequence must also be causal: perturbing token t of an example changes none of its positions
//! before t, in any sequence tensor; a leak fails and names the first tensor and layer that
//! sees the future.

use serde_json::json;

use super::overfit_small::small_subset;
use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::batch_independence::Params;
use crate::error::Result;
use crate::graph::Op;
use crate::train::{BatchPlan, DeviceData, Instrumentation, PlanMode, PlanOptions};

pub struct BatchIndependence;

impl Check for BatchIndependence {
    const NAME: &'static str = crate::config::check_params::batch_independence::NAME;
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
        // Token ids are perturbed to other valid ids; features by scaling and shifting.
        let vocab = data.sequence.map(|s| s.vocab);
        let perturb = |v: f32| match vocab {
            Some(vocab) => ((v as usize + 1) % vocab.max(1)) as f32,
            None => v * 2.0 + 1.0,
        };
        for j in 0..n {
            data.x.copy_from_slice(&original);
            for v in &mut data.x[j * xw..(j + 1) * xw] {
                *v = perturb(*v);
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
        // Causality: a model that predicts every next token may not see it. Perturbing token t
        // must change no position before t in any sequence tensor.
        let leak = if trainer.model.predictions() > 1 && vocab.is_some() {
            data.x.copy_from_slice(&original);
            device_data.write_features(ctx.gpu, &data.x)?;
            causality(
                ctx.gpu,
                &trainer.model,
                &plan,
                &trainer.net,
                &idx,
                &step,
                &device_data,
                &mut data.x,
                &perturb,
            )?
        } else {
            None
        };
        let j = first_j.unwrap_or(0);
        // Where the examples first mix: the first activation (in the graph's order) in which
        // another example's values move when example j is perturbed.
        let mixer = match first_j {
            Some(j) => {
                data.x.copy_from_slice(&original);
                device_data.write_features(ctx.gpu, &data.x)?;
                let read = || -> Result<Vec<Vec<f32>>> {
                    plan.run(ctx.gpu, &trainer.net, &idx, &step)?;
                    trainer
                        .model
                        .activations()
                        .into_iter()
                        .map(|t| ctx.gpu.read::<f32>(&plan.acts[t]))
                        .collect()
                };
                let before = read()?;
                for v in &mut data.x[j * xw..(j + 1) * xw] {
                    *v = perturb(*v);
                }
                device_data.write_features(ctx.gpu, &data.x)?;
                let after = read()?;
                first_mixing_node(&trainer.model, j, n, &before, &after)
            }
            None => None,
        };
        let bn = ctx
            .model
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::BatchNorm { .. }));
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            if leak.is_some() {
                "other examples and earlier positions whose outputs changed"
            } else {
                "other examples whose outputs changed"
            },
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
            json!({"changed_examples": changed, "first_perturbed_example_that_leaked": first_j, "mixing_layer": mixer.as_ref().map(|(layer, path)| json!({"layer": layer, "path": path})), "causal_leak": leak.as_ref().map(|l| json!({"position": l.position, "tensor": l.tensor, "layer": l.layer, "path": l.path, "earliest_changed_position": l.earliest}))}),
        );
        if let Some(l) = &leak {
            return Ok(Finding { verdict: Verdict::Fail, ..f }
                .measured((changed.len() + l.position - l.earliest) as f64)
                .margin(-((changed.len() + l.position - l.earliest) as f64))
                .message(format!(
                    "the model sees the future: changing token {} changes position {} of {}, written by the layer at {}, so next-token predictions can read their own answer",
                    l.position, l.earliest, l.tensor, l.path
                ))
                .fix("mask attention to later positions (`{attention: {heads: …, causal: true}}`), and mix positions only through causal layers"));
        }
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
                .message(format!(
                    "perturbing example {j} changed the outputs of {} other examples{}",
                    changed.len(),
                    mixer
                        .as_ref()
                        .map(|(layer, path)| format!("; they first mix in the output of layer {layer} ({path})"))
                        .unwrap_or_default()
                ))
                .fix(match &mixer {
                    Some((layer, path)) => format!("layer {layer} ({path}) mixes examples across the batch: look in it for a reshape, transpose or reduction over the batch dimension"),
                    None => "some layer mixes examples across the batch: look for a reshape, transpose or reduction over the batch dimension".to_string(),
                })
        })
    }
}

/// The first sequence tensor (in the graph's order) whose values at positions before a
/// perturbed token changed.
struct Leak {
    /// The perturbed position.
    position: usize,
    /// The earliest position that changed.
    earliest: usize,
    tensor: String,
    /// The layer that writes the tensor (`2.1`) and where the config declares it.
    layer: String,
    path: String,
}

/// Perturbs token t of the first example, for t at a quarter, half and the end of the context,
/// and returns the first sequence tensor whose positions before t changed.
#[allow(clippy::too_many_arguments)]
fn causality(
    gpu: &crate::gpu::Gpu,
    model: &crate::graph::Graph,
    plan: &BatchPlan,
    net: &crate::train::DeviceNetwork,
    idx: &[u32],
    step: &crate::kernels::StepUniform,
    device_data: &DeviceData,
    x: &mut [f32],
    perturb: &dyn Fn(f32) -> f32,
) -> Result<Option<Leak>> {
    use crate::graph::Shape;
    let seqs: Vec<(usize, usize, usize)> = model
        .activations()
        .into_iter()
        .filter_map(|t| match model.tensors[t].shape {
            Shape::Seq { len, width } => Some((t, len, width)),
            _ => None,
        })
        .collect();
    let context = model.input_shape().len();
    let read = || -> Result<Vec<Vec<f32>>> {
        plan.run(gpu, net, idx, step)?;
        seqs.iter()
            .map(|&(t, _, _)| gpu.read::<f32>(&plan.acts[t]))
            .collect()
    };
    let before = read()?;
    let mut positions = vec![context / 4, context / 2, context.saturating_sub(1)];
    positions.retain(|&t| t > 0);
    positions.dedup();
    for t in positions {
        let original = x[t];
        x[t] = perturb(original);
        device_data.write_features(gpu, x)?;
        let after = read()?;
        x[t] = original;
        device_data.write_features(gpu, x)?;
        for (k, &(tensor, _, width)) in seqs.iter().enumerate() {
            // The first example's positions before t.
            let changed = (0..t).find(|p| {
                before[k][p * width..(p + 1) * width] != after[k][p * width..(p + 1) * width]
            });
            if let Some(earliest) = changed {
                let node = &model.nodes[model.tensors[tensor].producer.expect("a node's output")];
                return Ok(Some(Leak {
                    position: t,
                    earliest,
                    tensor: model.tensors[tensor].name.clone(),
                    layer: node.short_name().to_string(),
                    path: node.path.clone(),
                }));
            }
        }
    }
    Ok(None)
}

/// The first node (in the graph's order) whose output for an example other than `j` differs
/// between `before` and `after` (each activation tensor of `model.activations()`, `n` examples
/// laid out one after another): its short name and config path.
fn first_mixing_node(
    model: &crate::graph::Graph,
    j: usize,
    n: usize,
    before: &[Vec<f32>],
    after: &[Vec<f32>],
) -> Option<(String, String)> {
    let tensors = model.activations();
    let k = tensors
        .iter()
        .zip(before.iter().zip(after))
        .position(|(&t, (b, a))| {
            let len = model.tensors[t].shape.len();
            (0..n).filter(|&i| i != j).any(|i| {
                let rows = i * len..(i + 1) * len;
                b.get(rows.clone()) != a.get(rows)
            })
        })?;
    let node = &model.nodes[model.tensors[tensors[k]].producer?];
    Some((node.short_name().to_string(), node.path.clone()))
}
