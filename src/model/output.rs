//! Whether a model's output fits its loss and its data's targets, checked before any GPU work
//! (the config's preflight) and again when a trainer is built.

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::ops::LossKind;

/// Checks that the model's output fits the loss and the data's targets: one prediction per
/// example, or per position of a sequence model (whose targets are the next tokens).
pub fn check_output(
    loss: LossKind,
    graph: &Graph,
    y_width: usize,
    classes: Option<usize>,
) -> Result<()> {
    let output = graph.output_width();
    let positions = graph.predictions();
    let per_class = matches!(
        loss,
        LossKind::SoftmaxCrossEntropy | LossKind::Focal | LossKind::BinaryCrossEntropy
    );
    let msg = match loss {
        LossKind::BinaryCrossEntropy | LossKind::Mse | LossKind::User(_)
            if graph.takes_tokens() && positions > 1 =>
        {
            Some(format!(
                "{} cannot score next tokens (whose unscored positions are −1): next-token prediction takes `softmax_cross_entropy` (or `focal`)",
                loss.name()
            ))
        }
        _ if (positions > 1 || per_class) && classes.is_some() && y_width != positions => {
            Some(if positions == 1 {
                format!(
                    "the model makes one prediction per example, but the data has {y_width} targets per example (the next token at every position): a next-token model keeps the sequence to its last layer (no flatten or pooling)"
                )
            } else {
                format!(
                    "the model predicts at {positions} positions, but the data has {y_width} targets per example"
                )
            })
        }
        LossKind::SoftmaxCrossEntropy | LossKind::Focal => match classes {
            Some(c) if c != output && positions > 1 => Some(format!(
                "the last layer gives {output} logits per position, but the data's vocabulary is {c} tokens; {}",
                if graph.imported {
                    format!("export the model with a {c}-token head, or give data of {output} tokens")
                } else {
                    format!("set its `out: {c}`")
                }
            )),
            // One logit for two classes is the binary layout: the loss is the mismatch.
            Some(2) if output == 1 => Some(format!(
                "{} over 2 classes takes 2 logits per example (one per class), but the last layer gives 1: with one logit use `loss: binary_cross_entropy`, or set the last layer's `out: 2`",
                loss.name()
            )),
            Some(c) if c != output => Some(format!(
                "the last layer gives {output} outputs but the data has {c} classes"
            )),
            None => Some(
                "softmax cross-entropy needs class labels, but the data has continuous targets"
                    .into(),
            ),
            _ => None,
        },
        LossKind::BinaryCrossEntropy => {
            if output != 1 {
                Some(format!("binary cross-entropy takes one logit per example, but the last layer gives {output}"))
            } else if classes.is_some_and(|c| c != 2) {
                Some(format!(
                    "binary cross-entropy needs 2 classes, the data has {}",
                    classes.unwrap_or(0)
                ))
            } else {
                None
            }
        }
        LossKind::Mse => (output * positions != y_width).then(|| match classes {
            // Class labels under a regression loss: the shapes disagree because the loss is
            // wrong for the task, which is what to say.
            Some(c) => format!(
                "mse is a regression loss, but the data has {c} class labels (one index per example) and the last layer gives {} outputs: use `loss: softmax_cross_entropy` with one output per class{}",
                output * positions,
                if c == 2 {
                    " (or `binary_cross_entropy` with one logit)"
                } else {
                    ""
                }
            ),
            None => format!(
                "mse compares {} outputs with {y_width} targets per example",
                output * positions
            ),
        }),
        LossKind::User(id) => {
            let u = crate::kernels::user_loss::get(id);
            match (u.classes(), classes) {
                (true, None) => Some(format!(
                    "the user loss {} declares `targets: classes`, but the data has continuous targets",
                    u.name
                )),
                (true, Some(c)) if c != output && !(output == 1 && c == 2) => Some(format!(
                    "the last layer gives {output} outputs but the data has {c} classes"
                )),
                (false, _) if output * positions != y_width => Some(format!(
                    "the user loss {} compares {output} outputs with {y_width} targets per example",
                    u.name
                )),
                _ => None,
            }
        }
    };
    match msg {
        Some(message) => Err(Error::OutputShape {
            message,
            loss_at_fault: loss_at_fault(loss, graph, classes),
        }),
        None => Ok(()),
    }
}

/// Whether a mismatch is one of kinds — a loss that does not fit the task (a regression loss on
/// class labels, a classification loss on continuous targets, one logit under a loss that takes
/// one per class, a loss that cannot score next tokens) — which the `loss` key fixes, rather
/// than a width the last layer fixes.
fn loss_at_fault(loss: LossKind, graph: &Graph, classes: Option<usize>) -> bool {
    let output = graph.output_width();
    match loss {
        LossKind::BinaryCrossEntropy | LossKind::Mse | LossKind::User(_)
            if graph.takes_tokens() && graph.predictions() > 1 =>
        {
            true
        }
        LossKind::SoftmaxCrossEntropy | LossKind::Focal => {
            classes.is_none() || (classes == Some(2) && output == 1)
        }
        LossKind::BinaryCrossEntropy => output == 1 && classes.is_some_and(|c| c != 2),
        LossKind::Mse => classes.is_some(),
        LossKind::User(id) => crate::kernels::user_loss::get(id).classes() && classes.is_none(),
    }
}
