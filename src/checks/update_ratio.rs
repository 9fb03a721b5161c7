//! Check intermediate outputs: the size of each step's update relative to the weights,
//! ‖ΔW‖/‖W‖ per layer, should be around 1e-3 (CS231n). Much smaller: the learning rate is too
//! low to learn in reasonable time; much larger: it is too high to be stable. The median over
//! the observation run is judged. A tiny median whose gradients also collapsed after the first
//! steps (to under 1e-3 of their start) is a network that died, typically from a too-high
//! rate, and is reported as such rather than as "raise the learning rate".

use serde_json::json;

use super::{median, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::update_ratio::Params;
use crate::error::Result;
use crate::model::ParamRole;

pub struct UpdateRatio;

impl Check for UpdateRatio {
    const NAME: &'static str = crate::config::check_params::update_ratio::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str = "per-layer ‖ΔW‖/‖W‖ per step against ≈ 1e-3";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn_low",
            doc: "median ratio below which the learning rate is probably too low",
        },
        ParamDoc {
            name: "warn_high",
            doc: "median ratio above which the learning rate is probably too high",
        },
        ParamDoc {
            name: "fail_low",
            doc: "median ratio below which nothing is learnt",
        },
        ParamDoc {
            name: "fail_high",
            doc: "median ratio above which training is unstable",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let obs = ctx.observation()?;
        let mut rows = Vec::new();
        let mut extreme: Option<(f64, String, bool)> = None;
        let score = |r: f64| (r / 1e-3).log10().abs();
        for (k, info) in obs.infos.iter().enumerate() {
            if info.role != ParamRole::Weight {
                continue;
            }
            let tracked = obs.sampled();
            let ratios: Vec<f64> = tracked
                .iter()
                .filter_map(|r| {
                    let (u, w) = (r.stats.updates.get(k)?, r.stats.weights.get(k)?);
                    Some(u.norm() / w.norm().max(1e-30))
                })
                .collect();
            let med = median(ratios);
            let grad =
                |r: &&crate::train::StepRecord| r.stats.grads.get(k).map_or(f64::NAN, |g| g.norm());
            let first_grad = tracked.first().map_or(f64::NAN, grad);
            let median_grad = median(tracked.iter().map(grad).collect());
            // A gradient that is zero throughout or collapsed after the start.
            let collapsed =
                median_grad == 0.0 || (first_grad > 0.0 && median_grad < 1e-3 * first_grad);
            rows.push(json!({"tensor": info.name, "median_update_ratio": med, "gradient_collapsed": collapsed}));
            if extreme
                .as_ref()
                .is_none_or(|e| score(med).total_cmp(&score(e.0)).is_gt())
            {
                extreme = Some((med, info.name.clone(), collapsed));
            }
        }
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "median ‖ΔW‖/‖W‖ furthest from 1e-3",
        )
        .window(obs.window())
        .threshold(format!("within [{:e}, {:e}]", p.warn_low, p.warn_high))
        .details(json!({"layers": rows}));
        let Some((r, name, collapsed)) = extreme else {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no weight tensors"));
        };
        let lr = ctx.config.training.optimizer.lr;
        let f = f
            .measured(r)
            .margin((r / p.warn_low).log10().min((p.warn_high / r).log10()));
        let verdict = if !r.is_finite() || r > p.fail_high || r < p.fail_low {
            Verdict::Fail
        } else if r > p.warn_high || r < p.warn_low {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        let f = Finding { verdict, ..f };
        Ok(match verdict {
            Verdict::Pass => f.message(format!(
                "update/weight ratios near 1e-3 (furthest: {name} at {r:.1e})"
            )),
            _ if r < p.warn_low && collapsed => f
                .message(format!(
                    "{name} barely moves ({r:.1e} of its norm per step) because its gradient is zero or collapsed"
                ))
                .fix(format!(
                    "no gradient reaches this layer: dead units (see dead_units), or a network killed early by a too-high learning rate (now {lr}; see lr_range)"
                )),
            _ if r < p.warn_low => f
                .message(format!("{name} moves by only {r:.1e} of its norm per step"))
                .fix(format!(
                    "raise the learning rate (now {lr}); a ratio near 1e-3 is typical"
                )),
            _ => f
                .message(format!("{name} moves by {r:.1e} of its norm per step"))
                .fix(format!(
                    "lower the learning rate (now {lr}); a ratio near 1e-3 is typical"
                )),
        })
    }
}
