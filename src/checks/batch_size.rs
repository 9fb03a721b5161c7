//! Diagnose parameters: batch size from the gradient noise scale (McCandlish et al. 2018,
//! "An empirical model of large-batch training"). After `warmup` training steps, with the
//! learning rate set to 0 (weights held fixed), the squared gradient norm is averaged over
//! `batches` batches at a small and a big batch size; since E‖G_B‖² = ‖G‖² + tr(Σ)/B,
//!   ‖G‖² = (B_big‖G_big‖² − B_small‖G_small‖²) / (B_big − B_small),
//!   tr(Σ) = (‖G_small‖² − ‖G_big‖²) / (1/B_small − 1/B_big),
//! and B_simple = tr(Σ)/‖G‖² estimates the critical batch size, compared with the configured.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::batch_size::Params;
use crate::error::Result;
use crate::train::{Instrumentation, Trainer, TrainerOptions};

pub struct BatchSize;

impl Check for BatchSize {
    const NAME: &'static str = crate::config::check_params::batch_size::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "gradient noise scale B_simple from two batch sizes, against the configured batch size";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warmup",
            doc: "training steps from the initial weights before measuring",
        },
        ParamDoc {
            name: "batches",
            doc: "batches averaged at each of the two sizes",
        },
        ParamDoc {
            name: "factor",
            doc: "configured batch / B_simple beyond which (either way) it warns",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let configured = ctx.config.training.batch_size;
        let n = ctx.dataset.n;
        let small = (configured / 4).max(2).min(n);
        let big = (configured * 4).min(n);
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "configured batch / B_simple",
        );
        if big <= small {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("the dataset is too small for two batch sizes"));
        }
        let gpu = ctx.gpu;
        // Early in training, where the gradient is still large against its noise: near a
        // minimum the true gradient vanishes and the estimate is all noise.
        let weights = {
            let mut t = ctx.trainer(&ctx.config, ctx.dataset.clone(), Instrumentation::Bare)?;
            for _ in 0..p.warmup {
                t.step_with(ctx.config.training.steps, None)?;
            }
            t.net.download(gpu)?
        };
        let mean_sq = |b: usize| -> Result<f64> {
            let mut c = ctx.config.clone();
            c.training.batch_size = b;
            let mut t = Trainer::with_options(
                gpu,
                &c,
                ctx.dataset.clone(),
                TrainerOptions {
                    instrumentation: Instrumentation::Full,
                    initial: Some(weights.clone()),
                    ..Default::default()
                },
            )?;
            let mut total = 0.0;
            for _ in 0..p.batches.max(1) {
                let r = t.step_with(1, Some(0.0))?;
                total += r.stats.grad_sumsq();
            }
            Ok(total / p.batches.max(1) as f64)
        };
        let (gs, gb) = (mean_sq(small)?, mean_sq(big)?);
        let (bs, bb) = (small as f64, big as f64);
        let g2 = (bb * gb - bs * gs) / (bb - bs);
        let trace = (gs - gb) / (1.0 / bs - 1.0 / bb);
        let details = json!({"small_batch": small, "big_batch": big, "mean_sq_norm_small": gs, "mean_sq_norm_big": gb,
                             "true_gradient_sq_norm": g2, "noise_trace": trace});
        if !(g2 > 0.0 && trace > 0.0) {
            return Ok(Finding { verdict: Verdict::Skip, ..f }
                .details(details)
                .message("the two batch sizes gave no usable noise estimate (the gradient noise is below measurement noise)"));
        }
        let b_simple = trace / g2;
        let ratio = configured as f64 / b_simple;
        let f = f
            .measured(ratio)
            .threshold(format!("within {}× of B_simple = {b_simple:.1}", p.factor))
            .margin(p.factor.log10() - ratio.log10().abs())
            .window(format!(
                "{} batches of {small} and of {big} after {} steps",
                p.batches, p.warmup
            ))
            .details(details);
        Ok(if ratio > p.factor {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("batch {configured} is far above the critical batch size ≈ {b_simple:.0}: extra examples add little"))
                .fix(format!("a batch near {:.0} gives nearly the same progress per step for less compute", b_simple.ceil()))
        } else if ratio < 1.0 / p.factor {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("batch {configured} is far below the critical batch size ≈ {b_simple:.0}: steps are noise-dominated"))
                .fix(format!("raise the batch toward {:.0} (and the learning rate with it)", b_simple.ceil()))
        } else {
            f.message(format!(
                "batch {configured} is near the critical batch size ≈ {b_simple:.0}"
            ))
        })
    }
}
