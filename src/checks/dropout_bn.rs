//! Diagnose parameters: dropout before batch norm (Li et al. 2019, "Understanding the
//! disharmony between dropout and batch normalization"). During training batch norm sees its
//! input with dropout's variance; at test time dropout is off and the real variance differs
//! from the running variance batch norm learnt. Per channel of every batch norm placed after a
//! dropout layer: max(real_var / running_var, running_var / real_var), the real variance
//! measured in evaluation mode over the dataset after the observation run.

use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::dropout_bn::Params;
use crate::error::Result;
use crate::graph::Op;

pub struct DropoutBn;

impl Check for DropoutBn {
    const NAME: &'static str = crate::config::check_params::dropout_bn::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "variance shift of batch norm placed after dropout: real vs running variance per channel";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn",
            doc: "variance-shift ratio that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "variance-shift ratio that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "largest variance shift",
        );
        let model = ctx.model.clone();
        // (node, its input tensor, eps) of each batch norm with a dropout before it.
        let bns: Vec<(usize, usize, f64)> = model
            .nodes
            .iter()
            .filter_map(|n| match n.op {
                Op::BatchNorm { eps, .. }
                    if model.nodes[..n.index]
                        .iter()
                        .any(|d| matches!(d.op, Op::Dropout { rate } if rate > 0.0)) =>
                {
                    Some((n.index, n.input(), eps))
                }
                _ => None,
            })
            .collect();
        let targets: Vec<(usize, f64)> = bns.iter().map(|&(_, t, eps)| (t, eps)).collect();
        if targets.is_empty() {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no batch norm after a dropout layer"));
        }
        let gpu = ctx.gpu;
        let trainer = ctx.trained()?;
        let state = trainer.net.download(gpu)?.state;
        // The real input variance of each batch norm, measured by the batch-statistics kernel
        // over the first evaluation chunk.
        let (examples, moments) = super::context::channel_moments(gpu, trainer, &targets)?;
        let outputs = bns
            .iter()
            .zip(moments)
            .map(|(&(layer, _, eps), m)| (layer, eps, m.invstd));
        let mut rows = Vec::new();
        let mut worst: Option<(f64, usize, usize)> = None;
        for (layer, eps, inv) in outputs {
            let name = &model.state[model.nodes[layer].state[1]].name;
            let running = &state
                .iter()
                .find(|t| &t.name == name)
                .expect("batch norm has running stats")
                .data;
            let mut layer_worst = 1.0f64;
            for (c, (&s, &rv)) in inv.iter().zip(running).enumerate() {
                let real = 1.0 / (s as f64).powi(2) - eps;
                let rv = rv as f64;
                // A constant channel (a dead unit feeding batch norm) has no variance to shift.
                if real <= eps || rv <= eps {
                    continue;
                }
                let shift = (real / rv).max(rv / real);
                layer_worst = layer_worst.max(shift);
                if worst.is_none_or(|w| shift.total_cmp(&w.0).is_gt()) {
                    worst = Some((shift, layer, c));
                }
            }
            rows.push(json!({"layer": layer, "max_variance_shift": layer_worst}));
        }
        let Some((shift, layer, channel)) = worst else {
            // Every channel is constant (dead units feeding batch norm): no variance to shift;
            // dead_units reports the cause.
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .details(json!({"layers": rows}))
            .message("every channel after dropout is constant: no variance to compare"));
        };
        let verdict = grade_upper(shift, p.warn, p.fail);
        let f = Finding { verdict, ..f }
            .measured(shift)
            .threshold(format!("≤ {} (fail above {})", p.warn, p.fail))
            .margin(p.warn - shift)
            .window(format!(
                "after {} training steps; {} examples in evaluation mode",
                ctx.observe_steps, examples
            ))
            .details(json!({"layers": rows}));
        Ok(if verdict == Verdict::Pass {
            f.message(format!(
                "batch norm after dropout sees a variance shift of at most {shift:.2}×"
            ))
        } else {
            f.message(format!(
                "batch norm layer {} channel {channel}: test-time variance differs {shift:.2}× from its running variance",
                model.nodes[layer].short_name()
            ))
            .fix("move dropout after the last batch norm, or re-estimate the batch-norm statistics with dropout off")
        })
    }
}
