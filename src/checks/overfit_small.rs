//! Start simple: a model that cannot fit two examples has a bug (wrong labels, a loss that
//! ignores the output, a broken backward pass) or far too little capacity. Train on `examples`
//! examples (one per class where possible), shuffling and regularization off, until training
//! accuracy is 100 % and the loss is below `loss_below`, within `max_steps`.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::overfit_small::Params;
use crate::data::Dataset;
use crate::error::Result;
use crate::train::Instrumentation;

pub struct OverfitSmall;

/// A final loss below this fraction of the first step's, with every example right, is a slow
/// fit rather than a failure to fit (the corpus's batch-1 SGD at lr 0.01: 0.018–0.18 from
/// ≈ 1.1 after 500 steps).
const SLOW_FIT: f64 = 0.25;

/// `k` examples in a seeded random order, taking classes in turn so that two examples are of
/// two classes, and never two examples with the same input (which could carry different
/// labels and make the set impossible to fit).
pub fn small_subset(d: &Dataset, k: usize, seed: u64) -> Dataset {
    let k = k.min(d.n).max(1);
    let mut order: Vec<usize> = (0..d.n).collect();
    crate::rng::SplitMix64::stream(seed, 0x5B5E).shuffle(&mut order);
    let mut seen = std::collections::HashSet::new();
    order.retain(|&i| seen.insert(d.row(i).iter().map(|v| v.to_bits()).collect::<Vec<_>>()));
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    if let Some(c) = d.classes {
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); c];
        for &i in &order {
            let y = d.y[i * d.y_width] as usize;
            if y < c {
                by_class[y].push(i);
            }
        }
        let mut round = 0;
        while chosen.len() < k {
            let before = chosen.len();
            for list in &by_class {
                if chosen.len() < k && round < list.len() {
                    chosen.push(list[round]);
                }
            }
            if chosen.len() == before {
                break;
            }
            round += 1;
        }
    }
    for &i in &order {
        if chosen.len() >= k {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    d.subset(&chosen, format!("{} ({} examples)", d.name, chosen.len()))
}

impl Check for OverfitSmall {
    const NAME: &'static str = crate::config::check_params::overfit_small::NAME;
    const SECTION: Section = Section::StartSimple;
    const SUMMARY: &'static str =
        "train on a few examples until accuracy is 100 % and the loss near 0; report the steps needed";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "examples",
            doc: "how many examples to overfit (one per class in turn)",
        },
        ParamDoc {
            name: "max_steps",
            doc: "step budget",
        },
        ParamDoc {
            name: "loss_below",
            doc: "the loss that counts as 'near zero'",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        const PLATEAU_STEPS: usize = 20;
        const PLATEAU_CHANGE: f64 = 1e-4;
        let subset = small_subset(&ctx.dataset, p.examples, ctx.config.seed);
        let n = subset.n;
        let mut config = ctx.config_without_regularization();
        config.training.batch_size = n;
        config.training.shuffle = false;
        let classification = config.loss.name.is_classification();
        // A user loss need not reach 0 (label smoothing's floor is an entropy): with class
        // labels it has fitted when accuracy is 100 % and the loss has stopped falling.
        let floor_unknown =
            classification && matches!(config.loss.name, crate::ops::LossKind::User(_));
        let mut trainer = ctx.trainer(&config, subset, Instrumentation::Bare)?;
        let mut reached = None;
        let mut last = (f64::NAN, None);
        let mut history = Vec::new();
        for step in 0..p.max_steps {
            let r = trainer.step_with(p.max_steps, None)?;
            last = (r.loss, r.batch_accuracy);
            history.push(r.loss);
            if !r.loss.is_finite() {
                break;
            }
            let settled = history.len() > PLATEAU_STEPS
                && (r.loss - history[history.len() - 1 - PLATEAU_STEPS]).abs()
                    <= PLATEAU_CHANGE * r.loss.abs().max(1e-3);
            let low = if floor_unknown {
                settled
            } else {
                r.loss < p.loss_below
            };
            let fitted = low && (!classification || r.batch_accuracy == Some(1.0));
            if fitted {
                reached = Some(step + 1);
                break;
            }
        }
        let f = Finding::new(Self::NAME, Self::SECTION, Verdict::Pass, "final loss on the small set")
            .measured(last.0)
            .threshold(if floor_unknown {
                format!(
                    "accuracy 100 % and the loss settled (changing < {PLATEAU_CHANGE:e} over {PLATEAU_STEPS} steps) within {} steps",
                    p.max_steps
                )
            } else {
                format!(
                    "loss < {} {}within {} steps",
                    p.loss_below,
                    if classification { "and accuracy 100 % " } else { "" },
                    p.max_steps
                )
            })
            .margin(p.loss_below - last.0)
            .window(format!("{n} examples"))
            .details(json!({"examples": n, "steps_needed": reached, "final_loss": last.0, "final_accuracy": last.1}));
        // Every example right and the loss a small fraction of where it began: memorized, at a
        // rate too slow to drive the loss to the threshold in the steps given.
        let slow_but_fitted = classification
            && last.1 == Some(1.0)
            && history
                .first()
                .is_some_and(|&l0| last.0.is_finite() && last.0 < SLOW_FIT * l0);
        Ok(match reached {
            Some(steps) => f.message(format!("fitted {n} examples in {steps} steps")),
            None if slow_but_fitted => Finding {
                verdict: Verdict::Info,
                ..f
            }
            .message(format!(
                "every one of the {n} examples is right after {} steps; the loss {:.4} (from {:.4}) is still falling toward {}",
                p.max_steps,
                last.0,
                history[0],
                p.loss_below
            ))
            .fix("memorized, slowly: at this learning rate the loss needs more steps (`max_steps`) to reach the threshold"),
            None => Finding {
                verdict: Verdict::Fail,
                ..f
            }
            .message(format!(
                "could not fit {n} examples in {} steps: loss {:.4}{}",
                p.max_steps,
                last.0,
                last.1.map(|a| format!(", accuracy {:.0} %", 100.0 * a)).unwrap_or_default()
            ))
            .fix(format!(
                "a model that cannot memorize {n} examples has a bug or too little capacity: check that labels \
                 match inputs, that the loss fits the task, and the learning rate (try ×10 and ÷10); make the model larger"
            )),
        })
    }
}
