//! Check intermediate outputs: the first step, layer, phase (forward, loss, gradient, update)
//! and tensor where a NaN or Inf appeared during the observation run, from the non-finite
//! counts the GPU reductions keep.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::numerics::Params;
use crate::error::Result;

pub struct Numerics;

impl Check for Numerics {
    const NAME: &'static str = crate::config::check_params::numerics::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "the first step, layer, phase and tensor where a NaN or Inf appeared";
    const PARAMS: &'static [ParamDoc] = &[];
    type Params = Params;

    fn run(ctx: &mut Context, _p: &Params) -> Result<Finding> {
        let last_layer = ctx.model.layer_count.saturating_sub(1);
        // Each reduced activation's tensor name and top-level layer.
        let model = &ctx.model;
        let acts: Vec<(String, usize)> = model
            .activations()
            .into_iter()
            .map(|t| {
                let info = &model.tensors[t];
                let layer = info.producer.map_or(0, |n| model.nodes[n].layer);
                (info.name.clone(), layer)
            })
            .collect();
        let obs = ctx.observation()?;
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "non-finite values",
        )
        .window(obs.window());
        for r in &obs.records {
            let s = &r.stats;
            let hit = if let Some(i) = s.acts.iter().position(|a| a.nonfinite > 0.0) {
                let (tensor, layer) = acts[i].clone();
                Some(("forward", layer, tensor, s.acts[i].nonfinite))
            } else if !r.loss.is_finite() {
                Some(("loss", last_layer, "loss".to_string(), 1.0))
            } else if let Some(k) = s.grads.iter().position(|g| g.nonfinite > 0.0) {
                Some((
                    "gradient",
                    obs.infos[k].layer,
                    format!("grad.{}", obs.infos[k].name),
                    s.grads[k].nonfinite,
                ))
            } else if let Some(k) = s.updates.iter().position(|u| u.nonfinite > 0.0) {
                Some((
                    "update",
                    obs.infos[k].layer,
                    obs.infos[k].name.clone(),
                    s.updates[k].nonfinite,
                ))
            } else {
                s.weights.iter().position(|w| w.nonfinite > 0.0).map(|k| {
                    (
                        "update",
                        obs.infos[k].layer,
                        obs.infos[k].name.clone(),
                        s.weights[k].nonfinite,
                    )
                })
            };
            if let Some((phase, layer, tensor, count)) = hit {
                return Ok(Finding { verdict: Verdict::Fail, ..f }
                    .measured(count)
                    .threshold("no NaN or Inf")
                    .margin(-count)
                    .message(format!("{count} non-finite values in {tensor} at step {} ({phase}, layer {layer})", r.step))
                    .fix("lower the learning rate or clip gradients; check inputs for NaN/Inf and divisions or logs of values that can reach 0")
                    .details(json!({"step": r.step, "phase": phase, "layer": layer, "tensor": tensor, "count": count})));
            }
        }
        Ok(f.measured(0.0)
            .threshold("no NaN or Inf")
            .margin(0.0)
            .message("no NaN or Inf in activations, loss, gradients or weights"))
    }
}
