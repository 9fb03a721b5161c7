//! Check intermediate outputs: the size of each step's update relative to the weights, ‖ΔW‖/‖W‖
//! per layer, should be around 1e-3 (CS231n). Much smaller: the learning rate is too low to
//! learn in reasonable time; much larger: it is too high to be stable. The median over the
//! observation run is judged. The warning band [1e-5, 1e-1] is wider than the rule of thumb:
//! over the calibration corpus's healthy suites (3 seeds), medians reached 1.0–4.5e-2 (the
//! output layer under plain SGD, batch 1–8) and 7.8e-5 (attention in-projections under Adam),
//! while the planted rates 100–1000× too low gave 2.2e-6 and below. A tiny median whose
//! gradients also collapsed after the first steps (to under 1e-3 of their start) is a network
//! that died, typically from a too-high rate, and is reported as such rather than as "raise the
//! learning rate".
//!
//! Before advising to move the learning rate, the setting that set the step's size is named
//! (`setup::limiters`): a schedule that drove the rate toward 0, clipping by norm that scales
//! every update, momentum ≥ 0.99 that multiplies the effective step. An update that is
//! (nearly) zero although the rate, the clipping and the gradient would move the tensor —
//! ‖ΔW‖ under 1e-3 of the plain step lr·clip·‖g‖ at every tracked step where that step is at
//! least `warn_low` of ‖W‖ (a smaller one may vanish in f32 rounding) — was skipped: the
//! optimizer did not apply it, and a higher rate would change nothing.

use serde_json::json;

use super::setup::limiters;
use super::{median, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::update_ratio::Params;
use crate::error::Result;
use crate::model::ParamRole;

pub struct UpdateRatio;

/// An update under this fraction of the plain step lr·clip·‖g‖ was not applied.
pub const SKIPPED: f64 = 1e-3;

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
        let config = ctx.config.clone();
        let obs = ctx.observation()?;
        let mut rows = Vec::new();
        let mut extreme: Option<(f64, String, bool, bool)> = None;
        let clip = config.training.clip.norm.filter(|c| *c > 0.0);
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
            // The plain step this tensor's gradient asks for at each step's rate and clipping,
            // against the update applied.
            // Per tracked step: the plain step lr·clip·‖g‖ and the update applied. Where the
            // plain step would move the tensor by a usual fraction of its norm (a smaller one
            // may vanish in f32 rounding: weights_update reports that) and next to nothing was
            // applied at every such step, the update was skipped.
            let steps: Vec<(f64, f64, f64)> = tracked
                .iter()
                .filter_map(|r| {
                    let g = r.stats.grads.get(k)?.norm();
                    let c =
                        clip.map_or(1.0, |c| (c / (r.stats.grad_sumsq().sqrt() + 1e-6)).min(1.0));
                    let applied = r.stats.updates.get(k)?.norm();
                    let norm = r.stats.weights.get(k)?.norm();
                    Some((r.lr * c * g, applied, norm))
                })
                .filter(|(plain, _, norm)| *plain > 0.0 && *plain >= p.warn_low * norm)
                .collect();
            let skipped = !collapsed
                && !steps.is_empty()
                && steps
                    .iter()
                    .all(|(plain, applied, _)| *applied < SKIPPED * plain);
            rows.push(json!({"tensor": info.name, "median_update_ratio": med, "gradient_collapsed": collapsed}));
            if extreme
                .as_ref()
                .is_none_or(|e| score(med).total_cmp(&score(e.0)).is_gt())
            {
                extreme = Some((med, info.name.clone(), collapsed, skipped));
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
        .details(json!({"layers": rows.clone()}));
        let Some((r, name, collapsed, skipped)) = extreme else {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no weight tensors"));
        };
        let lr = config.training.optimizer.lr;
        let setup = limiters(&config, &obs.records);
        let shrinking = setup.iter().find(|l| l.shrinks);
        let enlarging = setup.iter().find(|l| !l.shrinks);
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
        // Momentum near 1 multiplies the effective step by 1/(1−β) whatever the ratio reads
        // today (a heavy ball overshoots once it has built up speed): worth changing even while
        // the ratios sit in the band (momentum 0.999: 1.4e-2 on the corpus's planted spiral).
        if let (Verdict::Pass, Some(e)) = (verdict, enlarging) {
            return Ok(Finding {
                verdict: Verdict::Warn,
                ..f
            }
            .message(format!(
                "update/weight ratios in range (furthest: {name} at {r:.1e}), but {}",
                e.effect
            ))
            .fix(e.fix.clone()));
        }
        // Out of the band because of a setting that sizes every step (a collapsed gradient
        // has its own cause): name the setting.
        let limiter = if r < p.warn_low && !collapsed {
            shrinking
        } else if r > p.warn_high {
            enlarging
        } else {
            None
        };
        if let (true, Some(l)) = (verdict != Verdict::Pass, limiter) {
            let only = if r < p.warn_low { "only " } else { "" };
            return Ok(f
                .message(format!(
                    "{name} moves by {only}{r:.1e} of its norm per step: {}",
                    l.effect
                ))
                .fix(l.fix.clone())
                .details(json!({"layers": rows, "limiter": l})));
        }
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
            _ if r < p.warn_low && skipped => f
                .message(format!(
                    "{name} moves by only {r:.1e} of its norm per step although its gradient, the rate and the clipping would move it: the update was not applied"
                ))
                .fix(format!(
                    "the optimizer skipped {name}'s update (see weights_update): look for a frozen tensor or a skipped step; a higher rate would change nothing"
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
