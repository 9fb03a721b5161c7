//! Check intermediate outputs: per-layer gradient norms over the first steps, layers ordered by
//! depth from the output. Vanishing: the first layer's gradient is below `vanish_ratio` of the
//! last layer's; exploding: above
//! `explode_ratio`, growing more than `growth`× over the window, or non-finite. Reported as a
//! problem only together with a symptom (the loss not falling by 10 %), unless
//! `require_symptom` is false, since healthy networks also show uneven norms.

use serde_json::json;

use super::{median, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::gradient_flow::Params;
use crate::error::Result;
use crate::model::ParamRole;

pub struct GradientFlow;

impl Check for GradientFlow {
    const NAME: &'static str = crate::config::check_params::gradient_flow::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str = "per-layer gradient norms: vanishing (first/last < 1e-3) or exploding (> 70, growth, non-finite)";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "window",
            doc: "first steps of the observation run to look at",
        },
        ParamDoc {
            name: "vanish_ratio",
            doc: "first-layer / last-layer gradient norm below which gradients vanish",
        },
        ParamDoc {
            name: "explode_ratio",
            doc: "first-layer / last-layer gradient norm above which gradients explode",
        },
        ParamDoc {
            name: "growth",
            doc: "growth of the global gradient norm over the window that counts as exploding",
        },
        ParamDoc {
            name: "require_symptom",
            doc: "report only when the loss also fails to fall by 10 %",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        // Weights from the input side to the output: by depth from the output (a graph's
        // longest path to it), then in parameter order; for a layer list, layer order.
        let depth = ctx.model.depth_from_output();
        let obs = ctx.observation()?;
        let steps = obs.tracked(p.window);
        let mut weights: Vec<(usize, &str)> = obs
            .infos
            .iter()
            .enumerate()
            .filter(|(_, i)| i.role == ParamRole::Weight)
            .map(|(k, i)| (k, i.name.as_str()))
            .collect();
        weights.sort_by_key(|&(k, _)| std::cmp::Reverse(depth[obs.infos[k].node]));
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "first-layer / last-layer gradient norm",
        )
        .window(format!("steps 0–{}", steps.last().map_or(0, |r| r.step)));
        if weights.len() < 2 {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("fewer than two weight layers"));
        }
        let norms: Vec<f64> = weights
            .iter()
            .map(|(k, _)| median(steps.iter().map(|r| r.stats.grads[*k].norm()).collect()))
            .collect();
        let non_finite = steps
            .iter()
            .any(|r| r.stats.grads.iter().any(|g| g.nonfinite > 0.0));
        let global = |r: &&crate::train::StepRecord| r.stats.grad_sumsq().sqrt();
        let k = (steps.len() / 5).max(1);
        let early = median(steps[..k].iter().map(global).collect());
        let late = median(steps[steps.len() - k..].iter().map(global).collect());
        let growth = late / early.max(1e-30);
        let ratio = norms[0] / norms[norms.len() - 1].max(1e-30);
        let symptom = obs.has_symptom();
        let layers: Vec<_> = weights
            .iter()
            .zip(&norms)
            .map(|((_, n), g)| json!({"tensor": n, "median_gradient_norm": g}))
            .collect();
        let f = f
            .measured(ratio)
            .threshold(format!(
                "{:e} ≤ ratio ≤ {}, growth ≤ {}×",
                p.vanish_ratio, p.explode_ratio, p.growth
            ))
            .details(json!({"layers": layers, "global_norm_growth": growth, "symptom": symptom}));
        // A sum of squares can overflow to Inf while every gradient is finite: a non-finite
        // ratio or growth is explosion too.
        let problem = if non_finite || !ratio.is_finite() || !growth.is_finite() {
            Some((
                "exploding",
                "non-finite gradients or gradient norms appeared".to_string(),
            ))
        } else if ratio < p.vanish_ratio {
            Some((
                "vanishing",
                format!("the first layer's gradient is {ratio:.1e} of the last layer's"),
            ))
        } else if ratio > p.explode_ratio {
            Some((
                "exploding",
                format!("the first layer's gradient is {ratio:.0}× the last layer's"),
            ))
        } else if growth > p.growth {
            Some((
                "exploding",
                format!("the gradient norm grew {growth:.0}× over the window"),
            ))
        } else {
            None
        };
        Ok(match problem {
            None => f
                .margin((ratio / p.vanish_ratio).log10().min((p.explode_ratio / ratio).log10()))
                .message(format!("gradient norms from first to last layer within range (ratio {ratio:.2e})")),
            Some((kind, what))
                if p.require_symptom && !symptom && !non_finite && ratio.is_finite() && growth.is_finite() =>
            {
                f.message(format!(
                "{what} ({kind}), but the loss falls normally: not reported (require_symptom: false to flag it)"
            ))
            }
            Some(("vanishing", what)) => Finding { verdict: Verdict::Fail, ..f }
                .margin(ratio.log10() - p.vanish_ratio.log10())
                .message(format!("vanishing gradients: {what}, and the loss is not falling"))
                .fix("use ReLU-family activations instead of sigmoid/tanh in deep stacks, Kaiming init, batch norm, or fewer layers"),
            Some((_, what)) => Finding { verdict: Verdict::Fail, ..f }
                .message(format!("exploding gradients: {what}"))
                .fix("lower the learning rate, clip gradients by norm (`clip: {norm: 1.0}`), use a smaller init or batch norm"),
        })
    }
}
