//! Check intermediate outputs: the GPU's f32 analytic gradients against central finite
//! differences of the f64 CPU reference on the same weights and batch, for `samples` entries of
//! every parameter tensor (biases included), with regularization and dropout off.
//!
//! Relative error |a − n| / max(|a|, |n|, floor), where `floor` is the larger of 1e-3 of the
//! tensor's RMS gradient and 1e-3 of the RMS over all gradients, so that entries whose gradient
//! is zero up to rounding (a bias before batch norm) are judged absolutely.
//! CS231n's f64 bands (1e-7 / 1e-4 / 1e-2) are adapted to f32 analytic gradients: pass ≤ 1e-3,
//! warn ≤ 1e-2, fail above. An entry whose finite difference crosses a kink (an input of a
//! ReLU, or of a user kernel with declared kinks, is on different sides of a kink at w − h and
//! w + h) is recognised and left out, not reported. An entry the loss does not depend on at all
//! (a bias before batch norm: its two f64 losses agree to 1e-12) has a true gradient of 0, and its
//! analytic value, f32 rounding, is judged against the model's largest gradient: 1e-4 of it
//! grades as 1e-3.

use serde_json::json;

use super::overfit_small::small_subset;
use super::{grade_upper, Check, Context, Finding, ParamDoc, Section};
pub use crate::config::check_params::gradient_check::Params;
use crate::error::Result;
use crate::graph::Op;
use crate::ops::Activation;
use crate::reference::network::{forward, loss_value, Mode, RefParams};
use crate::rng::SplitMix64;
use crate::train::Instrumentation;

pub struct GradientCheck;

impl Check for GradientCheck {
    const NAME: &'static str = crate::config::check_params::gradient_check::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "GPU analytic gradients against finite differences of the f64 reference, every tensor, kinks recognised";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "samples",
            doc: "entries sampled per parameter tensor",
        },
        ParamDoc {
            name: "batch",
            doc: "examples in the batch",
        },
        ParamDoc {
            name: "step",
            doc: "central-difference step h",
        },
        ParamDoc {
            name: "warn",
            doc: "relative error that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "relative error that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let config = ctx.config_without_regularization();
        let data = small_subset(&ctx.dataset, p.batch, ctx.config.seed);
        let n = data.n;
        let mut c = config.clone();
        c.training.batch_size = n;
        c.training.shuffle = false;
        let mut trainer = ctx.trainer(&c, data.clone(), Instrumentation::Bare)?;
        let host = trainer.net.download(ctx.gpu)?;
        trainer.step_with(1, None)?;
        let model = trainer.model.clone();
        let refp = RefParams::from_host(&host);
        let x: Vec<f64> = data.x.iter().map(|&v| v as f64).collect();
        let y: Vec<f64> = data.y.iter().map(|&v| v as f64).collect();
        let mode = Mode::Train {
            seed: c.seed as u32,
            step: 0,
        };
        let loss_at = |q: &RefParams| loss_value(&model, q, &x, &y, n, &c.loss, mode);
        // The inputs of nodes with kinks (ReLU's at 0, a user kernel's declared ones), and which
        // side of each kink every value of theirs is on.
        let kink_layers: Vec<(usize, Vec<f64>)> = model
            .nodes
            .iter()
            .filter_map(|n| match n.op {
                Op::Activation {
                    kind: Activation::Relu | Activation::LeakyRelu,
                    ..
                } => Some((n.input(), vec![0.0])),
                Op::Activation {
                    kind: Activation::User(id),
                    ..
                } => Some((n.input(), crate::kernels::user::get(id).spec.kinks.clone()))
                    .filter(|(_, k)| !k.is_empty()),
                _ => None,
            })
            .collect();
        let signs = |q: &RefParams| -> Vec<usize> {
            let t = forward(&model, q, &x, n, mode);
            kink_layers
                .iter()
                .flat_map(|(i, kinks)| {
                    t.acts[*i]
                        .iter()
                        .map(|v| kinks.iter().filter(|k| v > k).count())
                        .collect::<Vec<_>>()
                })
                .collect()
        };

        let mut rng = SplitMix64::stream(c.seed, 0x6C4E);
        let (mut worst, mut checked, mut kinks) =
            (None::<(f64, String, usize, f64, f64)>, 0usize, 0usize);
        let mut per_tensor = Vec::new();
        let grads: Vec<Vec<f32>> = trainer
            .plan
            .param_grads
            .iter()
            .map(|g| ctx.gpu.read::<f32>(g))
            .collect::<Result<_>>()?;
        let rms = |v: &[f32]| {
            (v.iter().map(|g| (*g as f64).powi(2)).sum::<f64>() / v.len().max(1) as f64).sqrt()
        };
        let all: Vec<f32> = grads.iter().flatten().copied().collect();
        let global_rms = rms(&all);
        let global_max = all.iter().fold(0.0f64, |m, g| m.max((*g as f64).abs()));
        let mut invariant = 0usize;
        for (k, info) in trainer.net.infos.iter().enumerate() {
            let analytic = &grads[k];
            // Entries whose true gradient is zero (a bias before batch norm, say) carry only f32
            // rounding noise: judge them against the gradients' scale, not their own.
            let floor = (1e-3 * rms(analytic).max(global_rms)).max(1e-12);
            let len = analytic.len();
            let picks: Vec<usize> = if len <= p.samples {
                (0..len).collect()
            } else {
                (0..p.samples).map(|_| rng.below(len)).collect()
            };
            let mut tensor_worst = 0.0f64;
            for idx in picks {
                // Each pick is two f64 passes on the CPU: a large `samples` must still end on
                // Ctrl-C.
                if crate::interrupt::requested() {
                    return Err(crate::error::Error::Interrupted { step: 0 });
                }
                let mut plus = refp.clone();
                plus.params[k][idx] += p.step;
                let mut minus = refp.clone();
                minus.params[k][idx] -= p.step;
                if !kink_layers.is_empty() && signs(&plus) != signs(&minus) {
                    kinks += 1;
                    continue;
                }
                let (up, down) = (loss_at(&plus), loss_at(&minus));
                let numeric = (up - down) / (2.0 * p.step);
                let a = analytic[idx] as f64;
                // The loss does not depend on this entry at all (a bias before batch norm):
                // the analytic value is f32 rounding, judged against the largest gradient.
                let rel = if (up - down).abs() <= 1e-12 * up.abs().max(down.abs()).max(1e-300) {
                    invariant += 1;
                    // 1e-4 of the largest gradient grades as the warn threshold of 1e-3.
                    10.0 * a.abs() / global_max.max(1e-300)
                } else {
                    (a - numeric).abs() / a.abs().max(numeric.abs()).max(floor)
                };
                checked += 1;
                // A NaN error is the worst of all (plain max and > would skip it).
                let rel = if rel.is_finite() { rel } else { f64::INFINITY };
                tensor_worst = tensor_worst.max(rel);
                if worst.as_ref().is_none_or(|w| rel > w.0) {
                    worst = Some((rel, info.name.clone(), idx, a, numeric));
                }
            }
            per_tensor.push(json!({"tensor": info.name, "worst_relative_error": tensor_worst}));
        }
        let Some((rel, name, idx, a, num)) = worst else {
            return Ok(Finding::new(
                Self::NAME,
                Self::SECTION,
                super::Verdict::Warn,
                "worst relative error",
            )
            .message(format!(
                "no entry could be checked: all {kinks} sampled entries sit at kinks (ReLU or declared)"
            ))
            .fix("raise `samples` or use another batch (`batch`)"));
        };
        let verdict = grade_upper(rel, p.warn, p.fail);
        let f = Finding::new(Self::NAME, Self::SECTION, verdict, "worst relative error")
            .measured(rel)
            .threshold(format!("≤ {:e} (warn ≤ {:e})", p.warn, p.fail))
            .margin(p.warn - rel)
            .window(format!("{checked} entries over {} tensors, batch of {n}; {kinks} at kinks left out{}", per_tensor.len(), if invariant > 0 { format!("; {invariant} the loss does not depend on (judged against the largest gradient)") } else { String::new() }))
            .details(json!({
                "worst": {"tensor": name, "index": idx, "analytic": a, "numeric": num, "relative_error": rel},
                "per_tensor": per_tensor, "checked": checked, "kinks": kinks, "invariant": invariant,
            }));
        Ok(match verdict {
            super::Verdict::Pass => f.message(format!("analytic and numeric gradients agree (worst {rel:.1e} at {name}[{idx}])")),
            _ => f
                .message(format!("{name}[{idx}]: analytic {a:.6e} vs numeric {num:.6e} (relative error {rel:.1e})"))
                .fix("a backward kernel disagrees with its forward: check the layer that owns this tensor, or a custom kernel's gradient"),
        })
    }
}
