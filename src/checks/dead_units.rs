//! Check intermediate outputs: the fraction of ReLU units that are never active over the
//! dataset, per layer, at initialization and after the observation run. In an image layer
//! the unit is a channel: dead when no pixel of any example is positive.

use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::dead_units::Params;
use crate::error::Result;

pub struct DeadUnits;

fn dead_fraction(counts: &[u32]) -> f64 {
    counts.iter().filter(|&&c| c == 0).count() as f64 / counts.len().max(1) as f64
}

impl Check for DeadUnits {
    const NAME: &'static str = crate::config::check_params::dead_units::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str = "fraction of ReLU units never active over the dataset, per layer, at init and after training";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn",
            doc: "dead fraction of a layer that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "dead fraction of a layer that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        // In image layers the unit is a channel; in sequences a feature over every position.
        let per_channel: Vec<bool> = ctx
            .model
            .nodes
            .iter()
            .map(|n| n.out_shape.image().is_some())
            .collect();
        let names: Vec<String> = ctx
            .model
            .nodes
            .iter()
            .map(|n| n.short_name().to_string())
            .collect();
        let obs = ctx.observation()?;
        let window = obs.window();
        let mut rows = Vec::new();
        let mut worst: Option<(f64, usize, &str)> = None;
        for (i, (b, a)) in obs
            .activity_before
            .iter()
            .zip(&obs.activity_after)
            .enumerate()
        {
            let (Some(b), Some(a)) = (b, a) else { continue };
            let (db, da) = (dead_fraction(b), dead_fraction(a));
            let per = if per_channel[i] { "channel" } else { "unit" };
            rows.push(json!({"layer": i, "units": a.len(), "per": per, "dead_at_init": db, "dead_after_training": da}));
            // The most serious of the two: a fraction's verdict first (dead at init counts a
            // level lower below `fail`, see below), then the fraction.
            for (v, when) in [(db, "at init"), (da, "after training")] {
                let rank = |v: f64, when: &str| (graded(v, when, p), v);
                if worst.is_none_or(|w| rank(v, when) > rank(w.0, w.2)) {
                    worst = Some((v, i, when));
                }
            }
        }
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "largest dead-unit fraction",
        )
        .window(window);
        let Some((frac, layer, when)) = worst else {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no ReLU or leaky-ReLU layers"));
        };
        let verdict = graded(frac, when, p);
        let f = Finding { verdict, ..f }
            .measured(frac)
            .threshold(format!(
                "≤ {:.0} % per layer (fail above {:.0} %)",
                100.0 * p.warn,
                100.0 * p.fail
            ))
            .margin(p.warn - frac)
            .details(json!({"layers": rows}));
        Ok(if verdict == Verdict::Pass {
            f.message(format!(
                "at most {:.0} % dead units per layer",
                100.0 * frac
            ))
        } else {
            let units = if per_channel[layer] {
                "channels"
            } else {
                "units"
            };
            let f = f.message(format!(
                "{:.0} % of the {units} of layer {} never activate {when}",
                100.0 * frac,
                names[layer]
            ));
            if verdict == Verdict::Info {
                return Ok(f.fix("units off at init can revive as the layers below them train; nothing to change unless they stay dead after training"));
            }
            f.fix("lower the learning rate, initialize biases slightly positive (bias: 0.01) rather than negative, or use leaky_relu")
        })
    }
}

/// The verdict of a dead fraction measured `when` ("at init" or "after training"). Units dead
/// at init on low-dimensional data (a 1-D regression input leaves 20–30 % of the second
/// layer's units off over the whole input range) revive as the layers below them train: dead
/// at init is a note unless most of a layer is, and a warning is kept for units still dead
/// after training.
fn graded(frac: f64, when: &str, p: &Params) -> Verdict {
    match grade_upper(frac, p.warn, p.fail) {
        Verdict::Warn if when == "at init" => Verdict::Info,
        v => v,
    }
}
