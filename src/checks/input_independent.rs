//! Confirm the loss: a model trained on zeroed inputs must do clearly worse than on the real
//! inputs; if not, it is not using its input (a broken data path, or labels it can guess
//! without looking).
//!
//! Both models are judged on examples held out of their training (a fifth of the data, from
//! 50 examples up): a model large enough to memorize its training set learns labels shuffled
//! across examples as well as true ones (wine with 32 hidden units: 0.39 against 1.09 with
//! zeros, on every seed), but only true labels carry over to examples it has not seen. Smaller
//! datasets are judged on the training set, as the checklist describes. A held-out loss raised
//! by over-confident mistakes while the held-out accuracy beats guessing from the label
//! frequencies by more than three binomial standard deviations is a note: the input is used.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::input_independent::Params;
use crate::data::Dataset;
use crate::error::Result;
use crate::rng::SplitMix64;
use crate::train::{evaluate, DeviceData, Instrumentation};

pub struct InputIndependent;

impl Check for InputIndependent {
    const NAME: &'static str = crate::config::check_params::input_independent::NAME;
    const SECTION: Section = Section::ConfirmLoss;
    const SUMMARY: &'static str =
        "training on zeroed inputs does clearly worse than on the real inputs";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "steps",
            doc: "training steps for each of the two runs",
        },
        ParamDoc {
            name: "max_ratio",
            doc: "real-input loss / zero-input loss must stay below this",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let (train_set, held_out) = split(&ctx.dataset, ctx.config.seed);
        let mut config = ctx.config.clone();
        config.training.batch_size = config.training.batch_size.min(train_set.n);
        let train = |zero: bool| -> Result<(f64, Option<Held>)> {
            let zeroed = |d: &Dataset| {
                let mut d = d.clone();
                if zero {
                    d.x.iter_mut().for_each(|v| *v = 0.0);
                }
                d
            };
            let mut t = ctx.trainer(&config, zeroed(&train_set), Instrumentation::Bare)?;
            for _ in 0..p.steps {
                t.step_with(p.steps, None)?;
            }
            let on_train = t.evaluate()?.0;
            let on_held_out = match &held_out {
                Some(h) => {
                    let device = DeviceData::upload(ctx.gpu, &zeroed(h))?;
                    let (loss, accuracy) = evaluate(ctx.gpu, &t.net, &device, &config)?;
                    Some(Held { loss, accuracy })
                }
                None => None,
            };
            Ok((on_train, on_held_out))
        };
        let (real_train, real_held) = train(false)?;
        let (zero_train, zero_held) = train(true)?;
        let (real, zero, judged_on) = match (&real_held, &zero_held) {
            (Some(r), Some(z)) => (r.loss, z.loss, "held-out"),
            _ => (real_train, zero_train, "training"),
        };
        let ratio = real / zero.max(1e-30);
        let n_judged = held_out.as_ref().map_or(train_set.n, |h| h.n);
        let accuracies = match (&real_held, &zero_held) {
            (
                Some(Held {
                    accuracy: Some(r), ..
                }),
                Some(Held {
                    accuracy: Some(z), ..
                }),
            ) => Some((*r, *z)),
            _ => None,
        };
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "real-input loss / zero-input loss",
        )
        .measured(ratio)
        .threshold(format!("< {}", p.max_ratio))
        .margin(p.max_ratio - ratio)
        .window(format!(
            "{} steps each, judged on {n_judged} {judged_on} examples",
            p.steps
        ))
        .details(json!({
            "real_input_loss": real,
            "zero_input_loss": zero,
            "judged_on": judged_on,
            "training_real_input_loss": real_train,
            "training_zero_input_loss": zero_train,
            "held_out_accuracy": accuracies.map(|(r, z)| json!({"real_input": r, "zero_input": z})),
        }));
        if ratio.is_finite() && ratio < p.max_ratio {
            return Ok(f.message(format!(
                "{judged_on} loss {real:.4} with real inputs, {zero:.4} with zeros"
            )));
        }
        if let Some((r, z)) = accuracies {
            // Guessing from the label frequencies can do better than the zero-input model,
            // which learned the training part's frequencies: the held-out majority share.
            let majority = held_out
                .as_ref()
                .filter(|h| h.sequence.is_none())
                .and_then(|h| h.class_counts())
                .and_then(|c| c.iter().max().map(|m| *m as f64 / n_judged.max(1) as f64))
                .unwrap_or(0.0);
            let z = z.max(majority);
            if significantly_better(r, z, n_judged) {
                return Ok(Finding { verdict: Verdict::Info, ..f }
                    .message(format!("held-out accuracy {:.1} % with real inputs against {:.1} % by guessing: the model uses its input, though its held-out loss ({real:.4}, {zero:.4} with zeros) is raised by over-confident mistakes", 100.0 * r, 100.0 * z))
                    .fix("nothing to change for this check; regularization or fewer steps would lower the held-out loss"));
            }
        }
        Ok(
            if judged_on == "held-out" && real_train < p.max_ratio * zero_train {
                Finding { verdict: Verdict::Fail, ..f }
                    .message(format!("the model fits its training examples with real inputs ({real_train:.4}, {zero_train:.4} with zeros) but not held-out ones ({real:.4}, {zero:.4} with zeros): what it learned of the labels does not follow from the inputs"))
                    .fix("check the data pipeline: labels shuffled or misaligned with their examples, or features that do not carry the label")
            } else {
                Finding { verdict: Verdict::Fail, ..f }
                    .message(format!("with zeroed inputs the {judged_on} loss is {zero:.4}, with real ones {real:.4}: the model does not use its input"))
                    .fix("check the data pipeline (features reach the model, labels match examples) and the learning rate")
            },
        )
    }
}

/// A model's loss and accuracy on the held-out examples.
struct Held {
    loss: f64,
    accuracy: Option<f64>,
}

/// Whether a held-out accuracy `real` beats `guess` (the better of the zero-input model and the
/// held-out majority share) by more than three binomial standard deviations over `n` examples:
/// more than shuffled labels give by luck.
fn significantly_better(real: f64, guess: f64, n: usize) -> bool {
    let p = guess.clamp(0.01, 0.99);
    real - guess > 3.0 * (p * (1.0 - p) / n.max(1) as f64).sqrt()
}

/// Fewest examples for which a held-out part is used.
const MIN_FOR_HELD_OUT: usize = 50;

/// The training part and, from [`MIN_FOR_HELD_OUT`] examples up, a held-out fifth drawn by the
/// suite's seed.
fn split(d: &Dataset, seed: u64) -> (Dataset, Option<Dataset>) {
    if d.n < MIN_FOR_HELD_OUT {
        return (d.clone(), None);
    }
    let mut order: Vec<usize> = (0..d.n).collect();
    SplitMix64::stream(seed, 0x1D1D).shuffle(&mut order);
    let held = d.n / 5;
    let (held_out, train) = order.split_at(held);
    (
        d.subset(train, format!("{} (training part)", d.name)),
        Some(d.subset(held_out, format!("{} (held out)", d.name))),
    )
}
