//! Check intermediate outputs: per-layer activation statistics (mean, std, non-finite counts
//! from the GPU reductions of the observation run), per-layer output histograms at eleven points
//! of the run (in the details), and saturation of tanh and sigmoid layers
//! over the dataset (|y| > 0.99 for tanh, y < 0.01 or > 0.99 for sigmoid). Saturated units pass
//! almost no gradient. Image layers also get per-channel mean and std after the run (over the
//! first evaluation chunk), where one dead or exploding channel cannot hide in a layer mean.

use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::activation_stats::Params;
use crate::error::Result;

pub struct ActivationStats;

impl Check for ActivationStats {
    const NAME: &'static str = crate::config::check_params::activation_stats::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "per-layer activation mean and std over training; saturation of tanh and sigmoid layers";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn",
            doc: "saturated fraction of a tanh/sigmoid layer that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "saturated fraction that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let image_layers: Vec<usize> = ctx
            .model
            .nodes
            .iter()
            .filter(|n| n.out_shape.image().is_some())
            .map(|n| n.index)
            .collect();
        let channels = if image_layers.is_empty() {
            Vec::new()
        } else {
            let gpu = ctx.gpu;
            let trainer = ctx.trained()?;
            let targets: Vec<(usize, f64)> = image_layers
                .iter()
                .map(|&i| (trainer.model.nodes[i].output(), 0.0))
                .collect();
            super::context::channel_moments(gpu, trainer, &targets)?.1
        };
        let per_channel: Vec<(usize, serde_json::Value)> = image_layers
            .iter()
            .zip(&channels)
            .map(|(&layer, m)| {
                let rows: Vec<_> = m
                    .mean
                    .iter()
                    .zip(&m.invstd)
                    .map(|(&m, &s)| json!({"mean": m, "std": 1.0 / s as f64}))
                    .collect();
                (layer, json!(rows))
            })
            .collect();
        // The node's full name, op and output tensor let the report name a tensor's layer with
        // its type (`layers.3 relu`).
        let slots: Vec<(usize, String, serde_json::Value)> = ctx
            .model
            .nodes
            .iter()
            .map(|n| {
                (
                    ctx.model.activation_slot(n.output()).unwrap_or(0),
                    n.short_name().to_string(),
                    json!({"node": n.name, "kind": n.kind(), "output": ctx.model.tensors[n.output()].name}),
                )
            })
            .collect();
        let obs = ctx.observation()?;
        let window = obs.window();
        let (first, last) = (obs.records.first(), obs.records.last());
        let mut layers = Vec::new();
        let mut worst: Option<(f64, usize)> = None;
        for (i, (slot, name, identity)) in slots.iter().enumerate() {
            let stat = |r: Option<&crate::train::StepRecord>| {
                r.and_then(|r| r.stats.acts.get(*slot)).map(|s| json!({"mean": s.mean, "std": s.std, "min": s.min, "max": s.max, "non_finite": s.nonfinite}))
            };
            let sat = match (obs.saturation_before[i], obs.saturation_after[i]) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if let Some(s) = sat {
                if worst.is_none_or(|w| s > w.0) {
                    worst = Some((s, i));
                }
            }
            let mut row = json!({
                "layer": i,
                "name": name,
                "first_step": stat(first),
                "last_step": stat(last),
                "saturated_at_init": obs.saturation_before[i],
                "saturated_after_training": obs.saturation_after[i],
                "node": identity["node"],
                "kind": identity["kind"],
                "output": identity["output"],
            });
            if let Some((_, c)) = per_channel.iter().find(|(l, _)| *l == i) {
                row["channels_after_training"] = c.clone();
            }
            layers.push(row);
        }
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "largest saturated fraction",
        )
        .window(window)
        .details(json!({"layers": layers, "histograms": obs.histograms}));
        let vanished = {
            let (model, obs) = ctx.model_and_observation()?;
            vanishing_signal(model, obs)
        };
        if let Some((a, b, ratio)) = vanished {
            return Ok(Finding {
                verdict: Verdict::Fail,
                quantity: "last / first hidden activation rms at init".into(),
                ..f
            }
            .measured(ratio)
                .threshold(format!("the last hidden activation's rms ≥ {SIGNAL_VANISH:e} of the first's at init"))
                .margin(ratio.log10() - SIGNAL_VANISH.log10())
                .message(format!(
                    "the forward signal vanishes through depth: layer {b}'s outputs are {ratio:.1e} the size of layer {a}'s at init, so the output hardly depends on the input"
                ))
                .fix(SMALL_INIT));
        }
        let Some((sat, layer)) = worst else {
            return Ok(f.message(
                "no tanh or sigmoid layers to saturate; per-layer statistics in the details",
            ));
        };
        let verdict = grade_upper(sat, p.warn, p.fail);
        let f = Finding { verdict, ..f }
            .measured(sat)
            .threshold(format!("≤ {:.0} % saturated per layer", 100.0 * p.warn))
            .margin(p.warn - sat);
        Ok(if verdict == Verdict::Pass {
            f.message(format!(
                "at most {:.0} % saturated outputs per tanh/sigmoid layer",
                100.0 * sat
            ))
        } else {
            f.message(format!("{:.0} % of layer {}'s outputs are saturated: they pass almost no gradient", 100.0 * sat, slots[layer].1))
                .fix("scale the init down (xavier), normalize inputs, add batch norm before the activation, or use ReLU")
        })
    }
}

/// The forward signal shrinks by more than this factor between the first and the last hidden
/// activation at init: the output no longer depends on the input. Healthy deep stacks stay
/// within 0.2 (five Xavier ReLU layers: (1/√2)⁵); eight tanh layers drawn at std 0.05 give 1e-5.
pub const SIGNAL_VANISH: f64 = 1e-3;

/// Where the signal vanishes through depth at init: the first and the last hidden activation
/// layers (short names) and the ratio of their root-mean-square values, when below
/// [`SIGNAL_VANISH`].
pub fn vanishing_signal(
    model: &crate::graph::Graph,
    obs: &super::Observation,
) -> Option<(String, String, f64)> {
    let first = obs.records.first()?;
    let rms: Vec<(String, f64)> = model
        .nodes
        .iter()
        .filter(|n| matches!(n.op, crate::graph::Op::Activation { .. }))
        .filter_map(|n| {
            let s = first.stats.acts.get(model.activation_slot(n.output())?)?;
            (s.count > 0.0).then(|| (n.short_name().to_string(), (s.sumsq / s.count).sqrt()))
        })
        .collect();
    let (a, b) = (rms.first()?, rms.last()?);
    let ratio = b.1 / a.1.max(1e-30);
    (rms.len() >= 2 && ratio < SIGNAL_VANISH).then(|| (a.0.clone(), b.0.clone(), ratio))
}

const SMALL_INIT: &str = "the init is too small for the depth: use xavier_uniform for tanh or sigmoid layers and kaiming_normal for ReLU ones, or normalize inside the stack (batch_norm, layer_norm)";

/// One sentence for a fix when the signal vanishes, or `None`.
pub fn vanishing_signal_fix(
    model: &crate::graph::Graph,
    obs: &super::Observation,
) -> Option<String> {
    vanishing_signal(model, obs).map(|(a, b, r)| {
        format!(
            "the signal shrinks {:.0e}× from layer {a} to layer {b} at init — {SMALL_INIT}",
            1.0 / r
        )
    })
}
