//! Start simple: a short run finishes with finite values and the loss goes down from where it
//! started — judged against the start and against chance (see `trajectory`), so that an
//! explosion in the first steps that ends at chance is a divergence, not a decrease.

use serde_json::json;

use super::trajectory::{Course, GRADIENT_BLOWUP, LOSS_BLOWUP};
use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::smoke::Params;
use crate::error::Result;

pub struct Smoke;

const LOWER_RATE: &str = "lower the learning rate (see lr_range), clip gradients by norm (`clip: {norm: 1.0}`), or warm the rate up";

impl Check for Smoke {
    const NAME: &'static str = crate::config::check_params::smoke::NAME;
    const SECTION: Section = Section::StartSimple;
    const SUMMARY: &'static str =
        "a short training run stays finite, does not diverge, and the loss goes down from its start";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "min_decrease",
        doc: "relative decrease of the loss from its start (the first steps covering 32 examples) to the mean of the last tenth of the observation run",
    }];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let wiring = super::wiring::underfitting_cause(&ctx.model, ctx.config.loss.name);
        let config = ctx.config.clone();
        let vanished = {
            let (model, obs) = ctx.model_and_observation()?;
            super::activation_stats::vanishing_signal_fix(model, obs)
        };
        let obs = ctx.observation()?;
        // A setting that shrinks every step (a schedule at ~0, clipping at a tiny norm) or
        // inflates it (momentum near 1) is named before any advice about the rate itself.
        let limiter = super::setup::rate_limiters(&config, &obs.records);
        let t = &obs.trajectory;
        let course = t.course(p.min_decrease);
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "relative loss decrease",
        )
        .window(obs.window());
        if let Some(bad) = obs.records.iter().find(|r| !r.loss.is_finite()) {
            return Ok(Finding { verdict: Verdict::Fail, ..f }
                .message(format!("the loss became {} at step {}", bad.loss, bad.step))
                .threshold("finite loss")
                .fix("lower the learning rate, clip gradients, or look at the numerics check for where it started")
                .details(json!({"non_finite_step": bad.step, "course": course, "trajectory": t})));
        }
        let (start, last) = (t.start, t.last);
        let decrease = t.decrease();
        let chance = t
            .chance
            .map(|c| format!(", chance {c:.4}"))
            .unwrap_or_default();
        let grown = || {
            let mut parts = vec![format!(
                "the loss reached {:.3e} at step {} ({:.0e}× its start)",
                t.peak,
                t.peak_step,
                t.loss_growth()
            )];
            if let (Some(g), Some((peak, step))) = (t.gradient_growth(), t.gradient_peak) {
                if g >= GRADIENT_BLOWUP {
                    parts.push(format!(
                        "the gradient norm {peak:.3e} at step {step} ({g:.0e}× its start)"
                    ));
                }
            }
            parts.join(", ")
        };
        let f = f
            .measured(decrease)
            .threshold(format!(
                "≥ {:.0} % decrease from the start; no growth ≥ {LOSS_BLOWUP}× (loss) or {GRADIENT_BLOWUP:e}× (gradient norm)",
                100.0 * p.min_decrease
            ))
            .margin(decrease - p.min_decrease)
            .details(json!({
                "first_loss": start,
                "last_loss": last,
                "course": course,
                "trajectory": t,
            }));
        Ok(match course {
            Course::Fell => f.message(format!("loss {start:.4} → {last:.4}")),
            Course::Spiked => Finding { verdict: Verdict::Warn, ..f }
                .message(format!(
                    "the run recovered ({start:.4} → {last:.4}), but {}",
                    grown()
                ))
                .fix(LOWER_RATE),
            Course::Diverged => Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "the run diverged: {}, and it ended at {last:.4} (start {start:.4}{chance})",
                    grown()
                ))
                .fix(LOWER_RATE),
            Course::Rebounded => Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "the loss fell to {:.4}, then climbed back to {last:.4}{chance}: training came undone",
                    t.lowest
                ))
                .fix("lower the learning rate (see lr_range) — a rate too high kills ReLU units and undoes what was learnt; look at dead_units"),
            Course::Rose => Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "the loss rose: {start:.4} → {last:.4} ({:.1}× its start)",
                    last / start.max(1e-12)
                ))
                .fix(LOWER_RATE),
            Course::Unstable => Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "the loss jumped about without falling: {start:.4} → {last:.4}, reaching {:.4} at step {} ({:.1}× its start)",
                    t.peak, t.peak_step, t.loss_growth()
                ))
                .fix(LOWER_RATE),
            Course::AtChance => Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "the loss fell from {start:.4} to chance and stayed there ({last:.4}{chance}): the model learnt nothing"
                ))
                .fix(if let Some(w) = wiring {
                    w
                } else if start > 2.0 * t.chance.unwrap_or(f64::INFINITY) {
                    "the start is far above chance: initialize the last layer smaller ({normal: {std: 0.01}}) — large initial logits push ReLU units dead as they shrink; then look at the learning rate (lr_range)".to_string()
                } else {
                    LOWER_RATE.to_string()
                }),
            Course::Flat => Finding { verdict: Verdict::Warn, ..f }
                .message(format!("the loss barely moved: {start:.4} → {last:.4}{chance}"))
                .fix(wiring.or(vanished).or(limiter).unwrap_or_else(|| {
                    "raise the learning rate (see lr_range), check that weights update, or train longer".to_string()
                })),
            // Returned above with the step; kept for the match to be whole.
            Course::NonFinite => Finding { verdict: Verdict::Fail, ..f }
                .message("a loss was not finite")
                .fix(LOWER_RATE),
        })
    }
}
