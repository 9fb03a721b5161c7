//! Confirm the loss: at initialization, with regularization off, the loss should be at chance:
//! ln C for softmax cross-entropy over C classes, ln 2 for binary cross-entropy. Far above
//! chance means overconfident initial outputs (init too large, unnormalized inputs). The
//! entropy of the class prior is reported too: a model that has learnt only the label
//! frequencies reaches it.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::initial_loss::Params;
use crate::error::Result;
use crate::ops::LossKind;
use crate::train::{evaluate, Instrumentation};

pub struct InitialLoss;

impl Check for InitialLoss {
    const NAME: &'static str = crate::config::check_params::initial_loss::NAME;
    const SECTION: Section = Section::ConfirmLoss;
    const SUMMARY: &'static str =
        "the loss at initialization (regularization off) is at chance, e.g. ln 10 = 2.303";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn",
            doc: "relative deviation from the chance loss that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "relative deviation from the chance loss that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let f = Finding::new(Self::NAME, Self::SECTION, Verdict::Pass, "initial loss");
        let config = ctx.config_without_regularization();
        let (chance, what) = match (config.loss.name, ctx.dataset.classes) {
            (LossKind::SoftmaxCrossEntropy, Some(c)) if config.loss.class_weights.is_none() => {
                ((c as f64).ln(), format!("ln {c}"))
            }
            (LossKind::BinaryCrossEntropy, _) => (2f64.ln(), "ln 2".to_string()),
            // A user loss's chance value is its own, at the prediction that knows nothing:
            // every logit 0, averaged over the data's targets by the f64 mirror.
            (LossKind::User(id), _) => {
                let u = crate::kernels::user_loss::get(id);
                let width = ctx.model.output_width();
                let d = &ctx.dataset;
                let n = d.n.min(1000);
                let zeros = vec![0.0; width];
                let total: f64 = (0..n)
                    .map(|i| {
                        let t: Vec<f64> = d.y[i * d.y_width..(i + 1) * d.y_width]
                            .iter()
                            .map(|&v| v as f64)
                            .collect();
                        u.example_f64(&zeros, &t).0
                    })
                    .sum();
                (total / n as f64, format!("{} at zero logits", u.name))
            }
            (kind, _) => {
                return Ok(Finding {
                    verdict: Verdict::Skip,
                    ..f
                }
                .message(format!(
                    "no closed-form chance loss for {}{}",
                    match kind {
                        LossKind::User(_) => format!("the user loss {}", kind.name()),
                        builtin => builtin.name().to_string(),
                    },
                    if config.loss.class_weights.is_some() {
                        " with class weights"
                    } else {
                        ""
                    }
                )))
            }
        };
        let trainer = ctx.trainer(&config, ctx.dataset.clone(), Instrumentation::Bare)?;
        let (loss, _) = evaluate(ctx.gpu, &trainer.net, &trainer.data, &config)?;
        let prior_entropy = ctx.dataset.class_counts().map(|counts| {
            let n: usize = counts.iter().sum();
            let mut h = 0.0;
            for &c in &counts {
                if c > 0 {
                    let q = c as f64 / n as f64;
                    h -= q * q.ln();
                }
            }
            h
        });
        let deviation = (loss - chance) / chance;
        let verdict = super::grade_upper(deviation.abs(), p.warn, p.fail);
        let f = Finding { verdict, ..f }
            .measured(loss)
            .threshold(format!("within {:.0} % of {what} = {chance:.3}", 100.0 * p.warn))
            .margin(p.warn - deviation.abs())
            .window("all examples, evaluation mode, regularization off")
            .details(json!({"chance": chance, "relative_deviation": deviation, "prior_entropy": prior_entropy}));
        // Token models: the embeddings' scale reaches the logits unless a normalization sits
        // between them.
        let embedding_std = ctx
            .model
            .params
            .iter()
            .find(|p| {
                matches!(
                    ctx.model.nodes[p.node].op,
                    crate::graph::Op::Embedding { .. }
                )
            })
            .and_then(|p| match p.init {
                crate::graph::ParamInit::Normal { std, .. } => Some(std),
                crate::graph::ParamInit::Uniform { low, high, .. } => {
                    Some((high - low) / 12f64.sqrt())
                }
                crate::graph::ParamInit::Values(ref v) => {
                    let n = v.len().max(1) as f64;
                    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
                    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
                    Some(var.sqrt())
                }
                crate::graph::ParamInit::Constant(_) => None,
            });
        Ok(match verdict {
            Verdict::Pass => f.message(format!("{loss:.4} at init, chance {chance:.4}")),
            _ if deviation > 0.0 => match embedding_std {
                Some(std) if std > 0.5 => f
                    .message(format!(
                        "{loss:.4} at init is {:.0} % above chance ({chance:.4}): the initial outputs are confident; the embeddings start with std {std}",
                        100.0 * deviation
                    ))
                    .fix("initialize the embedding smaller ({embedding: {init: {normal: {std: 0.02}}}}) or normalize before the output layer (layer_norm), and the last layer smaller ({normal: {std: 0.02}})"),
                _ => f
                    .message(format!(
                        "{loss:.4} at init is {:.0} % above chance ({chance:.4}): the initial outputs are confident",
                        100.0 * deviation
                    ))
                    .fix("initialize the last layer smaller ({normal: {std: 0.01}} or zeros), check the init scale, normalize the inputs"),
            },
            _ => f
                .message(format!("{loss:.4} at init is {:.0} % below chance ({chance:.4})", -100.0 * deviation))
                .fix("a loss below chance before training suggests leaked labels or a loss that is not averaged correctly"),
        })
    }
}
