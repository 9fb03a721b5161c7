//! Diagnose parameters: the learning-rate range test (Smith 2017). The learning rate grows
//! exponentially from `min_lr` to `max_lr` over `steps` steps from the initial weights; the loss
//! is smoothed (exponential moving average with bias correction) and its derivative against
//! log10(lr) taken. Three rules suggest a learning rate: the steepest descent, the minimum ÷ 10,
//! and the valley (two thirds down the longest stretch of falling loss). The test is repeated
//! over `seeds` seeds; the agreement of the rules and the spread over seeds are reported, and
//! "no clear valley" is a valid answer. The configured learning rate is compared with the
//! median suggestion.

use serde::Serialize;
use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::lr_range::Params;
use crate::error::Result;
use crate::train::Instrumentation;

pub struct LrRange;

/// One sweep: learning rates and smoothed losses, up to divergence.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub lrs: Vec<f64>,
    pub smoothed: Vec<f64>,
}

/// Suggestions from one sweep; `None` when the curve shows no clear valley.
#[derive(Clone, Debug, Serialize)]
pub struct Suggestions {
    pub steepest: f64,
    pub min_over_10: f64,
    pub valley: f64,
}

pub fn suggest(s: &Sweep) -> Option<Suggestions> {
    let n = s.smoothed.len();
    if n < 8 {
        return None;
    }
    let (imin, &lmin) = s
        .smoothed
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    // No clear valley: the loss never fell meaningfully below where it started.
    if lmin >= 0.9 * s.smoothed[0] {
        return None;
    }
    let skip = n / 10;
    let mut steepest = (f64::INFINITY, 0);
    for i in skip.max(1)..imin.max(skip + 1).min(n - 1) {
        let d =
            (s.smoothed[i + 1] - s.smoothed[i - 1]) / (s.lrs[i + 1].log10() - s.lrs[i - 1].log10());
        if d < steepest.0 {
            steepest = (d, i);
        }
    }
    // Longest run of falling smoothed loss.
    let (mut best, mut start) = ((0, 0), 0);
    for i in 1..n {
        if s.smoothed[i] >= s.smoothed[i - 1] {
            start = i;
        } else if i - start > best.1 - best.0 {
            best = (start, i);
        }
    }
    let valley = best.0 + (2 * (best.1 - best.0)) / 3;
    Some(Suggestions {
        steepest: s.lrs[steepest.1],
        min_over_10: s.lrs[imin] / 10.0,
        valley: s.lrs[valley],
    })
}

impl Check for LrRange {
    const NAME: &'static str = crate::config::check_params::lr_range::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "learning-rate range test: suggestions (steepest, min/10, valley), their agreement and spread over seeds";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "min_lr",
            doc: "first learning rate of the sweep",
        },
        ParamDoc {
            name: "max_lr",
            doc: "last learning rate of the sweep",
        },
        ParamDoc {
            name: "steps",
            doc: "steps of each sweep",
        },
        ParamDoc {
            name: "seeds",
            doc: "sweeps, each from another seed",
        },
        ParamDoc {
            name: "beta",
            doc: "smoothing of the loss (exponential moving average)",
        },
        ParamDoc {
            name: "diverge",
            doc: "stop when the smoothed loss exceeds this multiple of its minimum",
        },
        ParamDoc {
            name: "tolerance",
            doc: "factor around the median suggestion within which the configured rate passes",
        },
        ParamDoc {
            name: "fail_factor",
            doc: "factor around the median suggestion beyond which the configured rate fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let mut sweeps = Vec::new();
        let mut all = Vec::new();
        for s in 0..p.seeds.max(1) {
            let mut config = ctx.config.clone();
            config.seed = ctx.config.seed.wrapping_add(s as u64);
            let mut t = ctx.trainer(&config, ctx.dataset.clone(), Instrumentation::Bare)?;
            let mut sweep = Sweep {
                lrs: Vec::new(),
                smoothed: Vec::new(),
            };
            let (mut avg, mut best) = (0.0, f64::INFINITY);
            for i in 0..p.steps {
                let lr =
                    p.min_lr * (p.max_lr / p.min_lr).powf(i as f64 / (p.steps.max(2) - 1) as f64);
                let r = t.step_with(p.steps, Some(lr))?;
                if !r.loss.is_finite() {
                    break;
                }
                avg = p.beta * avg + (1.0 - p.beta) * r.loss;
                let sm = avg / (1.0 - p.beta.powi(i as i32 + 1));
                sweep.lrs.push(lr);
                sweep.smoothed.push(sm);
                best = best.min(sm);
                if sm > p.diverge * best {
                    break;
                }
            }
            all.push(suggest(&sweep));
            sweeps.push(sweep);
        }
        let configured = ctx.config.training.optimizer.lr;
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "configured lr / suggested lr",
        )
        .window(format!(
            "{} sweeps of ≤ {} steps, lr {:e} → {:e}",
            sweeps.len(),
            p.steps,
            p.min_lr,
            p.max_lr
        ));
        let found: Vec<&Suggestions> = all.iter().flatten().collect();
        let details = json!({"sweeps": sweeps, "suggestions": all, "configured_lr": configured});
        if found.is_empty() {
            return Ok(Finding { verdict: Verdict::Warn, ..f }
                .details(details)
                .message("no clear valley: the loss did not fall over the whole range")
                .fix("widen the range (min_lr, max_lr) or lengthen the sweep; check that the model learns at all (overfit_small)"));
        }
        let mut picks: Vec<f64> = found
            .iter()
            .flat_map(|s| [s.steepest, s.min_over_10, s.valley])
            .collect();
        picks.sort_by(|a, b| a.total_cmp(b));
        let median = picks[picks.len() / 2];
        let agreement = (picks[picks.len() - 1] / picks[0]).log10();
        let per_seed: Vec<f64> = found.iter().map(|s| s.min_over_10).collect();
        let spread = per_seed.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            / per_seed.iter().cloned().fold(f64::INFINITY, f64::min);
        let ratio = configured / median;
        let within = ratio <= p.tolerance && ratio >= 1.0 / p.tolerance;
        let f = f
            .measured(ratio)
            .threshold(format!(
                "within {}× of the median suggestion {median:.2e} (fail beyond {}×)",
                p.tolerance, p.fail_factor
            ))
            .margin(p.tolerance.log10() - ratio.log10().abs())
            .details(json!({
                "sweeps": sweeps, "suggestions": all, "configured_lr": configured, "median_suggestion": median,
                "rules_disagree_decades": agreement, "seed_spread_factor": spread,
            }));
        Ok(if within {
            f.message(format!(
                "configured lr {configured:e} is near the suggested {median:.2e} (rules agree within {agreement:.1} decades)"
            ))
        } else {
            let far = ratio > p.fail_factor || ratio < 1.0 / p.fail_factor;
            Finding {
                verdict: if far { Verdict::Fail } else { Verdict::Warn },
                ..f
            }
            .message(format!(
                "configured lr {configured:e} is {}× {} the suggested {median:.2e}",
                if ratio > 1.0 {
                    format!("{ratio:.0}")
                } else {
                    format!("{:.0}", 1.0 / ratio)
                },
                if ratio > 1.0 { "above" } else { "below" }
            ))
            .fix(format!("try lr ≈ {median:.2e}"))
        })
    }
}
