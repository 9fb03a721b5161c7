//! Diagnose parameters: batch size from the gradient noise scale (McCandlish et al. 2018,
//! "An empirical model of large-batch training"). After `warmup` training steps, with the
//! learning rate set to 0 (weights held fixed), the squared gradient norm is averaged over
//! `batches` batches at a small and a big batch size; since E‖G_B‖² = ‖G‖² + tr(Σ)/B,
//!   ‖G‖² = (B_big‖G_big‖² − B_small‖G_small‖²) / (B_big − B_small),
//!   tr(Σ) = (‖G_small‖² − ‖G_big‖²) / (1/B_small − 1/B_big),
//! and B_simple = tr(Σ)/‖G‖² estimates the critical batch size, compared with the configured.
//!
//! The two sizes are a quarter and four times the configured batch (at least 2, and the big one
//! at least [`MIN_BIG`]: at batch 1 sizes 2 and 4 are too close for the difference of two noisy
//! means to say anything), both within the training set. Advice is bounded by what is possible:
//! never a batch above the training set — when B_simple exceeds it the advice is the full
//! batch, and a configured full batch has nothing left to raise (a note, Info). When the two
//! sizes give no usable estimate the finding says so as a note (Info), not a skip.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::batch_size::Params;
use crate::error::Result;
use crate::train::{Instrumentation, Trainer, TrainerOptions};

pub struct BatchSize;

/// The smallest big batch of the two measured sizes (when the training set has that many).
pub const MIN_BIG: usize = 32;

/// The two batch sizes measured for a configured batch on `n` examples.
pub fn sizes(configured: usize, n: usize) -> (usize, usize) {
    let small = (configured / 4).max(2).min(n);
    let big = (configured * 4).max(MIN_BIG).min(n);
    (small, big)
}

/// A configured batch at most this large is not advised down: the compute it would save is
/// negligible on any GPU.
pub const SMALL_BATCH: usize = 64;

/// What to tell about a configured batch against the noise scale `b_simple` on `n` examples:
/// the verdict, the message, and the fix (a note for Info).
pub fn advise(
    configured: usize,
    n: usize,
    b_simple: f64,
    factor: f64,
) -> (Verdict, String, Option<String>) {
    let ratio = configured as f64 / b_simple;
    // The largest batch there is: the whole training set.
    let target = b_simple.min(n as f64);
    if ratio > factor && configured <= SMALL_BATCH {
        // Lowering a batch this small saves next to nothing on a GPU, and tiny estimates
        // (1–3 on the corpus's healthy regression and sequence suites) are the least steady.
        (
            Verdict::Info,
            format!("batch {configured} is above the critical batch size ≈ {b_simple:.0}, but small enough that a smaller one would save little"),
            Some(format!("nothing to change; a batch near {:.0} would give nearly the same progress per step", b_simple.ceil())),
        )
    } else if ratio > factor {
        (
            Verdict::Warn,
            format!("batch {configured} is far above the critical batch size ≈ {b_simple:.0}: extra examples add little"),
            Some(format!("a batch near {:.0} gives nearly the same progress per step for less compute", b_simple.ceil())),
        )
    } else if (configured as f64) < target / factor {
        let fix = if b_simple >= n as f64 {
            format!("raise the batch toward the full training set ({n} examples; the critical batch ≈ {b_simple:.0} is above it), and the learning rate with it")
        } else {
            format!(
                "raise the batch toward {:.0} (and the learning rate with it)",
                b_simple.ceil()
            )
        };
        (
            Verdict::Warn,
            format!("batch {configured} is far below the critical batch size ≈ {b_simple:.0}: steps are noise-dominated"),
            Some(fix),
        )
    } else if configured >= n && b_simple > n as f64 {
        (
            Verdict::Info,
            format!("batch {configured} is the whole training set; the critical batch size ≈ {b_simple:.0} is above it"),
            Some("nothing to raise: full-batch steps are the least noisy this data allows".into()),
        )
    } else {
        (
            Verdict::Pass,
            format!("batch {configured} is near the critical batch size ≈ {b_simple:.0}"),
            None,
        )
    }
}

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
        let (small, big) = sizes(configured, n);
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
                             "true_gradient_sq_norm": g2, "noise_trace": trace, "training_examples": n});
        let window = format!(
            "{} batches of {small} and of {big} after {} steps",
            p.batches, p.warmup
        );
        if !(g2 > 0.0 && trace > 0.0) {
            return Ok(Finding { verdict: Verdict::Info, ..f }
                .details(details)
                .window(window)
                .message(format!(
                    "batches of {small} and {big} gave no usable noise estimate (the difference of their gradient norms is below its measurement noise)"
                ))
                .fix("no batch-size advice from this run; more `batches` give a steadier estimate"));
        }
        let b_simple = trace / g2;
        let ratio = configured as f64 / b_simple;
        let (mut verdict, mut message, fix) = advise(configured, n, b_simple, p.factor);
        // Below the critical batch each example still counts fully (McCandlish et al.'s
        // perfect-scaling regime): only the hardware is under-used. While the loss falls
        // normally that is a note; noise becomes the suspect when training shows a symptom.
        // (The corpus's healthy suites at batch 1–100 sat 10–60× below their estimates.)
        if verdict == Verdict::Warn && (configured as f64) < b_simple {
            let symptom = ctx.observation()?.has_symptom();
            if !symptom {
                verdict = Verdict::Info;
                message.push_str(", but the loss falls normally");
            }
        }
        let f = Finding { verdict, ..f }
            .measured(ratio)
            .threshold(format!(
                "within {}× of B_simple = {b_simple:.1}, at most the training set ({n})",
                p.factor
            ))
            .margin(p.factor.log10() - ratio.log10().abs())
            .window(window)
            .details(details)
            .message(message);
        Ok(match fix {
            Some(x) => f.fix(x),
            None => f,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_never_exceeds_the_training_set() {
        // 178 examples, a noise scale of 1327: the full batch, not 1327.
        let (v, _, fix) = advise(8, 178, 1327.0, 10.0);
        assert_eq!(v, Verdict::Warn);
        let fix = fix.unwrap();
        assert!(fix.contains("full training set (178 examples"), "{fix}");
        assert!(!fix.contains("toward 1327"), "{fix}");
        // Already the full batch: nothing to raise.
        let (v, _, fix) = advise(178, 178, 1327.0, 10.0);
        assert_eq!(v, Verdict::Info, "{fix:?}");
        // Within 10× of the bound: passes.
        assert_eq!(advise(32, 178, 1327.0, 10.0).0, Verdict::Pass);
        // Far above, but a small batch: a note; a large one: a warning.
        assert_eq!(advise(32, 1000, 2.0, 10.0).0, Verdict::Info);
        assert_eq!(advise(1797, 1797, 75.0, 10.0).0, Verdict::Warn);
        // A noise scale inside the data set: the usual advice.
        let (v, _, fix) = advise(2, 1000, 300.0, 10.0);
        assert_eq!(v, Verdict::Warn);
        assert!(fix.unwrap().contains("toward 300"));
    }

    #[test]
    fn batch_one_measures_two_sizes_far_apart() {
        assert_eq!(sizes(1, 178), (2, 32));
        assert_eq!(sizes(1, 20), (2, 20));
        assert_eq!(sizes(100, 300), (25, 300));
    }
}
