//! Wiring that makes a model underfit whatever the learning rate — read from the graph, so the
//! checks that see the symptom (a loss that does not fall) can name the layer instead of
//! advising a higher rate.

use crate::graph::{Graph, Op};
use crate::ops::{Activation, LossKind};

/// Units a dropout layer keeps per example on average below which it leaves too little signal
/// through: 16 units at rate 0.9 keep 1.6.
pub const MIN_KEPT_UNITS: f64 = 8.0;

/// A dropout layer that keeps fewer than [`MIN_KEPT_UNITS`] of its input's units per example
/// (features of a vector, channels of an image): its path, rate and width.
pub fn starving_dropout(model: &Graph) -> Option<(String, f64, usize)> {
    model.nodes.iter().find_map(|n| match n.op {
        Op::Dropout { rate } => {
            let units = n.in_shape.image().map_or(n.input_len(), |i| i.channels);
            ((1.0 - rate) * units as f64 <= MIN_KEPT_UNITS && rate >= 0.5)
                .then(|| (n.path.clone(), rate, units))
        }
        _ => None,
    })
}

/// The model's last op when it squashes outputs that `loss` expects as logits: a sigmoid (or
/// tanh) before binary or softmax cross-entropy, which apply the sigmoid or softmax themselves.
/// Its path and name.
pub fn squashed_logits(model: &Graph, loss: LossKind) -> Option<(String, &'static str)> {
    if !matches!(
        loss,
        LossKind::BinaryCrossEntropy | LossKind::SoftmaxCrossEntropy | LossKind::Focal
    ) {
        return None;
    }
    let last = model
        .nodes
        .iter()
        .find(|n| n.outputs.contains(&model.output))?;
    match last.op {
        Op::Activation {
            kind: kind @ (Activation::Sigmoid | Activation::Tanh),
            ..
        } => Some((
            last.path.clone(),
            if kind == Activation::Sigmoid {
                "sigmoid"
            } else {
                "tanh"
            },
        )),
        _ => None,
    }
}

/// One sentence naming the wiring at fault, for a check's fix, or `None`.
pub fn underfitting_cause(model: &Graph, loss: LossKind) -> Option<String> {
    if let Some((path, act)) = squashed_logits(model, loss) {
        return Some(format!(
            "remove the final {act} ({path}): {} takes logits and applies the {} itself, so the squashed outputs cannot become confident",
            loss.name(),
            if loss == LossKind::BinaryCrossEntropy { "sigmoid" } else { "softmax" }
        ));
    }
    starving_dropout(model).map(|(path, rate, units)| {
        format!(
            "lower the dropout rate at {path}: rate {rate} after {units} units keeps about {:.1} per example, too few to learn from",
            (1.0 - rate) * units as f64
        )
    })
}
