//! Diagnose parameters: gradient clipping. The fraction of steps where clipping acted (the
//! pre-clip global norm above `clip.norm`, or a gradient entry beyond `clip.value`) and the
//! pre-clip norms. Clipping that always acts is doing the learning rate's job; clipping that
//! never acts does nothing.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::clipping::Params;
use crate::error::Result;

pub struct Clipping;

impl Check for Clipping {
    const NAME: &'static str = crate::config::check_params::clipping::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "fraction of steps clipped and pre-clip gradient norms; warns when always or never active";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "always",
        doc: "fraction of clipped steps from which clipping counts as always active",
    }];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let clip = ctx.config.training.clip.clone();
        let obs = ctx.observation()?;
        // Steps with gradient statistics, evenly over the run: every step when clipping by
        // norm (the update needs the norm), the track schedule's otherwise.
        let measured: Vec<&crate::train::StepRecord> = if clip.norm.is_some() {
            obs.records
                .iter()
                .filter(|r| !r.stats.grads.is_empty())
                .collect()
        } else {
            obs.sampled()
        };
        let norms: Vec<f64> = measured
            .iter()
            .map(|r| r.stats.grad_sumsq().sqrt())
            .collect();
        let mut sorted = norms.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let pct = |q: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "fraction of steps clipped",
        )
        .window(obs.window());
        let details = json!({"pre_clip_norm": {"p10": pct(0.1), "median": pct(0.5), "p90": pct(0.9), "max": pct(1.0)}});
        let (clipped, rule) = match (clip.norm, clip.value) {
            (Some(max), _) => (
                norms.iter().filter(|&&n| n > max).count(),
                format!("global norm {max}"),
            ),
            (None, Some(v)) => (
                measured
                    .iter()
                    .filter(|r| r.stats.grads.iter().any(|g| g.max > v || g.min < -v))
                    .count(),
                format!("value {v}"),
            ),
            (None, None) => {
                return Ok(Finding {
                    verdict: Verdict::Skip,
                    ..f
                }
                .details(details)
                .message(format!(
                "no clipping configured; pre-clip global gradient norm: median {:.3}, max {:.3}",
                pct(0.5),
                pct(1.0)
            )))
            }
        };
        let frac = clipped as f64 / norms.len().max(1) as f64;
        let f = f
            .measured(frac)
            .threshold(format!(
                "clipping by {rule} active on some but < {:.0} % of steps",
                100.0 * p.always
            ))
            .margin((p.always - frac).min(frac))
            .details(details);
        Ok(if frac >= p.always {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("clipping by {rule} acted on {:.0} % of steps", 100.0 * frac))
                .fix("clipping that always acts rescales every step: lower the learning rate or raise the clipping threshold")
        } else if clipped == 0 {
            // A guard that never fires is harmless (clipping as a safety net is common).
            Finding { verdict: Verdict::Info, ..f }
                .message(format!("clipping by {rule} never acted (median pre-clip norm {:.3})", pct(0.5)))
                .fix("a safety net that did not fire; lower the threshold toward the observed norms if clipping is meant to act")
        } else {
            f.message(format!(
                "clipping by {rule} acted on {:.0} % of steps",
                100.0 * frac
            ))
        })
    }
}
