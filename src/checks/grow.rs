//! Start simple: grow the model one hidden layer at a time. The model's prefixes — its first
//! hidden block (a linear layer with the activation, normalization and dropout after it), then
//! the first two, … — each followed by the model's output layer, are trained on the same budget
//! and checked with `checks` (by default smoke, gradient_flow and numerics). The first depth at
//! which one of them fails is reported: that is where the model breaks — unless the failure is
//! a divergence (a non-finite loss in smoke, or numerics) or already the shallowest prefix
//! fails: then depth is not the cause, and the learning rate is named instead of the layer.

use serde_json::json;

use super::{Check, CheckSpec, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::grow::Params;
use crate::error::Result;
use crate::model::LayerSpec;

pub struct Grow;

impl Check for Grow {
    const NAME: &'static str = crate::config::check_params::grow::NAME;
    const SECTION: Section = Section::StartSimple;
    const SUMMARY: &'static str = "train the model's prefixes (1 hidden layer, 2, …) and report the first depth where a check fails";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "steps",
            doc: "training steps at each depth",
        },
        ParamDoc {
            name: "checks",
            doc: "checks run at each depth (default smoke, gradient_flow, numerics)",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let layers = &ctx.config.model.layers;
        // What each depth adds: a residual block in a model built of blocks (a transformer
        // layer's attention or MLP, a ResNet block), else a linear or convolution layer. The
        // head is what follows the last block (the output layers), or the last weighted layer.
        // A transformer layer is an attention block and the blocks after it up to the next
        // attention block (its MLP): grow adds whole transformer layers; other residual
        // blocks one at a time. `blocks` holds the last block of each unit.
        let residual: Vec<usize> = (0..layers.len())
            .filter(|&i| matches!(layers[i], LayerSpec::Residual { .. }))
            .collect();
        let attends = |i: usize| {
            let mut found = false;
            LayerSpec::walk(&layers[i..=i], &mut |l| {
                found |= matches!(l, LayerSpec::Attention { .. })
            });
            found
        };
        let transformer = residual.iter().any(|&i| attends(i));
        let mut blocks: Vec<usize> = Vec::new();
        for (k, &i) in residual.iter().enumerate() {
            let next_starts_unit = residual
                .get(k + 1)
                .is_none_or(|&j| !transformer || attends(j));
            if next_starts_unit {
                blocks.push(i);
            }
        }
        // A model that ends in a block (one that projects to the outputs) keeps that block as
        // its head.
        if blocks.last().is_some_and(|&b| b + 1 == layers.len()) {
            blocks.pop();
        }
        let first_block = residual.first().copied();
        let (ends, head_start, unit): (Vec<usize>, usize, &str) = if blocks.is_empty() {
            let linears: Vec<usize> = (0..layers.len())
                .filter(|&i| layers[i].is_weighted())
                .collect();
            let head_start = linears.last().copied().unwrap_or(0);
            (linears, head_start, "hidden layers")
        } else {
            let head_start = blocks.last().expect("not empty") + 1;
            // Depth 0 ends where the first block starts; depth d after unit d.
            let ends = std::iter::once(first_block.expect("not empty"))
                .chain(blocks.iter().map(|b| b + 1))
                .collect();
            (
                ends,
                head_start,
                if transformer {
                    "transformer layers"
                } else {
                    "residual blocks"
                },
            )
        };
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            match unit {
                "hidden layers" => "hidden layers that train cleanly",
                "transformer layers" => "transformer layers that train cleanly",
                _ => "residual blocks that train cleanly",
            },
        );
        if ctx.config.model.onnx.is_some() {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("an imported (ONNX) model is one fixed graph: grow builds models from a `layers:` list"));
        }
        if ends.len() < 2 {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no hidden layers to grow"));
        }
        let head = layers[head_start..].to_vec();
        let specs: Vec<CheckSpec> = p
            .checks
            .iter()
            .filter(|c| c.as_str() != Self::NAME)
            .map(|c| {
                CheckSpec::with_defaults(c)
                    .ok_or_else(|| crate::Error::Usage(format!("grow: unknown check `{c}`")))
            })
            .collect::<Result<_>>()?;
        let hidden = ends.len() - 1;
        let mut rows = Vec::new();
        let mut broke: Option<(usize, String, String, bool)> = None;
        for (depth, &end) in ends.iter().enumerate().skip(1) {
            let mut c = ctx.config.clone();
            // Initial weights from a file fit only the whole model; the prefixes start seeded.
            c.model.weights = None;
            // In an image model the head is a linear layer that takes a vector: a prefix of
            // convolutions that has not flattened yet reaches it through a flatten.
            let bridge = ctx.model.image().is_some()
                && matches!(head.first(), Some(LayerSpec::Linear { .. }))
                && !layers[..end].contains(&LayerSpec::Flatten);
            c.model.layers = layers[..end]
                .iter()
                .cloned()
                .chain(bridge.then_some(LayerSpec::Flatten))
                .chain(head.iter().cloned())
                .collect();
            c.training.steps = p.steps;
            c.model.input = None;
            // Planted faults follow their layer into the prefix or the head; faults on layers
            // the prefix leaves out are dropped.
            c.faults = ctx
                .config
                .faults
                .iter()
                .filter_map(|f| {
                    let layer = if f.layer < end {
                        f.layer
                    } else if f.layer >= head_start {
                        f.layer - head_start + end + bridge as usize
                    } else {
                        return None;
                    };
                    Some(crate::config::Fault { layer, ..f.clone() })
                })
                .collect();
            let mut sub = Context::new(ctx.gpu, c, ctx.dataset.clone(), p.steps)?;
            sub.histograms = false;
            let mut verdicts = Vec::new();
            for s in &specs {
                let finding = s.run(&mut sub)?;
                verdicts.push(json!({"check": finding.check, "verdict": finding.verdict}));
                if finding.verdict == Verdict::Fail && broke.is_none() {
                    // A loss or tensor that became NaN or Inf: the step size, not the layer.
                    let diverged = finding.check == "numerics"
                        || !finding.details["non_finite_step"].is_null();
                    broke = Some((
                        depth,
                        finding.check.clone(),
                        finding.message.clone(),
                        diverged,
                    ));
                }
            }
            rows.push(
                json!({"hidden_layers": depth, "model": sub.model.describe(), "checks": verdicts}),
            );
            if broke.is_some() {
                break;
            }
        }
        let good = broke.as_ref().map_or(hidden, |b| b.0 - 1);
        let lr = ctx.config.training.optimizer.lr;
        let f = f
            .measured(good as f64)
            .threshold(format!("all {hidden} {unit}"))
            .margin(good as f64 - hidden as f64)
            .window(format!("{} steps per depth", p.steps))
            .details(json!({"depths": rows}));
        Ok(match broke {
            None => f.message(format!("every prefix up to {hidden} {unit} trains cleanly")),
            Some((depth, check, msg, diverged)) if diverged || depth == 1 => Finding { verdict: Verdict::Fail, ..f }
                .message(format!("with {depth} {unit} {check} fails: {msg}"))
                .fix(if diverged {
                    format!("the run diverged, which depth does not explain: the learning rate (now {lr}) is the likely cause — lower it (see lr_range), or clip gradients")
                } else {
                    format!("the shallowest model fails too, so depth is not the cause: look at the learning rate (now {lr}; see lr_range), the data and the loss")
                }),
            Some((depth, check, msg, _)) if blocks.is_empty() => Finding { verdict: Verdict::Fail, ..f }
                .message(format!("with {depth} hidden layers {check} fails: {msg}"))
                .fix(format!("the problem appears when hidden layer {depth} is added: look at that layer's init, activation and normalization")),
            Some((depth, check, msg, _)) => Finding { verdict: Verdict::Fail, ..f }
                .message(format!("with {depth} {unit} {check} fails: {msg}"))
                .fix(format!("the problem appears when block {depth} (model.layers[{}]) is added: look at its normalization, its init and the learning rate", blocks[depth - 1])),
        })
    }
}
