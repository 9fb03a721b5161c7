//! Confirm the loss: the loss must match the labels (classes > 2 → softmax cross-entropy;
//! two classes → binary or softmax cross-entropy; continuous targets → MSE), and a class
//! imbalance above `imbalance_ratio` calls for focal loss or class weights.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::loss_fit::Params;
use crate::error::Result;
use crate::ops::LossKind;

pub struct LossFit;

impl Check for LossFit {
    const NAME: &'static str = crate::config::check_params::loss_fit::NAME;
    const SECTION: Section = Section::ConfirmLoss;
    const SUMMARY: &'static str =
        "the loss fits the labels; imbalanced classes get focal loss or class weights";
    const PARAMS: &'static [ParamDoc] = &[ParamDoc {
        name: "imbalance_ratio",
        doc: "largest / smallest class count above which plain cross-entropy gets a warning",
    }];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let loss = &ctx.config.loss;
        let d = &ctx.dataset;
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "class imbalance ratio",
        );
        let Some(classes) = d.classes else {
            return Ok(match loss.name {
                LossKind::Mse => f
                    .message("continuous targets with MSE")
                    .threshold("MSE for continuous targets"),
                _ => Finding {
                    verdict: Verdict::Fail,
                    ..f
                }
                .message("continuous targets with a classification loss")
                .fix("use `loss: mse` for regression targets"),
            });
        };
        if loss.name == LossKind::Mse {
            return Ok(Finding { verdict: Verdict::Fail, ..f }
                .threshold("a classification loss for class labels")
                .message(format!("{classes} classes trained with MSE on class indices"))
                .fix(if classes == 2 {
                    "use `loss: binary_cross_entropy` (one logit) or `softmax_cross_entropy` (two logits)"
                } else {
                    "use `loss: softmax_cross_entropy` with one output per class"
                }));
        }
        if let Some((path, act)) = super::wiring::squashed_logits(&ctx.model, loss.name) {
            return Ok(Finding { verdict: Verdict::Fail, ..f }
                .threshold("logits into a loss that applies the sigmoid or softmax itself")
                .message(format!(
                    "{} takes logits, but the last layer ({path}) applies {act}: the outputs are squashed twice and cannot become confident",
                    loss.name.name()
                ))
                .fix(format!("remove the final {act} ({path}); the loss applies the sigmoid or softmax itself")));
        }
        let counts = d.class_counts().unwrap_or_default();
        let max = counts.iter().copied().max().unwrap_or(0) as f64;
        let min = counts.iter().copied().filter(|&c| c > 0).min().unwrap_or(0) as f64;
        let ratio = if min > 0.0 { max / min } else { f64::INFINITY };
        let f = f
            .measured(ratio)
            .threshold(format!(
                "ratio ≤ {} for plain cross-entropy",
                p.imbalance_ratio
            ))
            .margin(p.imbalance_ratio - ratio)
            .details(json!({"class_counts": counts, "loss": loss.name}));
        let handled = loss.name == LossKind::Focal
            || loss.class_weights.is_some()
            || loss.pos_weight.is_some();
        Ok(if ratio > p.imbalance_ratio && !handled {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!("classes are imbalanced {ratio:.1}:1 and the loss treats them alike"))
                .fix(if loss.name == LossKind::BinaryCrossEntropy {
                    // BCE takes one weight, of its positive term: negatives over positives.
                    let pos = counts.get(1).copied().unwrap_or(0).max(1) as f64;
                    let neg = counts.first().copied().unwrap_or(0) as f64;
                    format!("set `loss: {{name: binary_cross_entropy, pos_weight: {:.3}}}` (negatives / positives), or use softmax cross-entropy over 2 classes with `class_weights`", neg / pos)
                } else {
                    "use `loss: {name: focal, gamma: 2.0}` or set `class_weights` (e.g. inverse class frequency)".to_string()
                })
        } else {
            f.message(format!(
                "{} for {classes} classes (imbalance {ratio:.1}:1)",
                loss.name.name()
            ))
        })
    }
}
