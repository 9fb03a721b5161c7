//! Check intermediate outputs: the size (root mean square) of the residual stream entering the
//! first residual block and after each block, at initialization and after the observation run,
//! on a probe batch (see `snapshots`). A stream that grows by about the same factor at every
//! block grows geometrically with depth: each block adds an f(x) as large as x or larger, so the
//! blocks' outputs swamp the skip connections, activations and gradients scale with depth and
//! training destabilizes. Normalization inside the blocks (pre-LN, a batch norm ending the
//! block) or a smaller init of the block's last layer keeps each step additive.
//!
//! Measured: the smallest growth factor of the stream over the blocks of the deeper half
//! (rms after block k / rms before it, for k > L/2), at init and after training, the larger
//! of the two. Geometric growth is growth at every block; blocks that add an update of a fixed
//! size (normalized blocks) grow the stream additively, ever more slowly with depth and unevenly
//! (an attention block adds less than an MLP block), and a small embedding makes the first
//! blocks' jumps large: the smallest factor of the deeper half tells the two apart. Thresholds
//! from measurements (README, "residual_growth"): healthy pre-LN transformers and MLPs stay
//! below 1.2 there; unnormalized residual blocks grow by 1.3–1.7× at every block.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::residual_growth::Params;
use crate::error::Result;

pub struct ResidualGrowth;

/// The smallest growth factor per block over the deeper half of the blocks of a stream
/// measured before the first block and after each (`rms[k]` after block k).
fn deep_growth(rms: &[f64]) -> Option<f64> {
    let blocks = rms.len().checked_sub(1).filter(|&b| b > 0)?;
    (blocks / 2 + 1..=blocks)
        .map(|k| rms[k] / rms[k - 1].max(f64::MIN_POSITIVE))
        .reduce(f64::min)
}

impl Check for ResidualGrowth {
    const NAME: &'static str = crate::config::check_params::residual_growth::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "size of the residual stream after each block, at init and after training: geometric growth with depth warns";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn",
            doc: "smallest growth of the stream per block over the deeper half of the blocks that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "smallest growth per block that fails",
        },
        ParamDoc {
            name: "min_blocks",
            doc: "residual blocks needed before growth can be geometric",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let obs = ctx.observation()?;
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "smallest growth of the residual stream per block (deeper half)",
        )
        .window(obs.window());
        let blocks = obs.residual_sites.len().saturating_sub(1);
        if blocks < p.min_blocks.max(1) {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message(if blocks == 0 {
                "no residual blocks".to_string()
            } else {
                format!(
                    "{blocks} residual block(s): fewer than {} to see growth with depth",
                    p.min_blocks
                )
            }));
        }
        let (first, last) = (obs.snapshots.first(), obs.snapshots.last());
        let growth = deep_growth;
        let at = |s: Option<&super::snapshots::Snapshot>| {
            s.filter(|s| s.residual_rms.len() == blocks + 1)
                .map(|s| (s.step, s.residual_rms.clone(), growth(&s.residual_rms)))
        };
        let init = at(first);
        let trained = at(last).filter(|t| Some(t.0) != init.as_ref().map(|i| i.0));
        let layers: Vec<&str> = obs
            .residual_sites
            .iter()
            .map(|s| s.layer.as_str())
            .collect();
        let (when, measured) = match (&init, &trained) {
            (Some((_, _, Some(a))), Some((_, _, Some(b)))) if b > a => ("after training", *b),
            (Some((_, _, Some(a))), _) => ("at init", *a),
            (_, Some((_, _, Some(b)))) => ("after training", *b),
            _ => {
                return Ok(Finding {
                    verdict: Verdict::Skip,
                    ..f
                }
                .message("the residual stream was not measured (the run stopped at once)"))
            }
        };
        let series = |s: &Option<(usize, Vec<f64>, Option<f64>)>| {
            s.as_ref()
                .map(|(step, rms, g)| json!({"step": step, "rms": rms, "growth_per_block": g}))
        };
        let f = f
            .measured(measured)
            .threshold(format!("≤ {}× per block (fail above {}×)", p.warn, p.fail))
            .margin(p.warn - measured)
            .details(json!({"stream": layers, "at_init": series(&init), "after_training": series(&trained)}));
        let verdict = if !measured.is_finite() || measured > p.fail {
            Verdict::Fail
        } else if measured > p.warn {
            Verdict::Warn
        } else {
            Verdict::Pass
        };
        Ok(match verdict {
            Verdict::Pass => f.message(format!(
                "the residual stream grows at most {measured:.2}× at some block of the deeper half of {blocks} blocks ({when}): not geometric"
            )),
            _ => Finding { verdict, ..f }
                .message(format!(
                    "the residual stream grows geometrically: at least {measured:.2}× at every block of the deeper half of {blocks} blocks ({when})"
                ))
                .fix("normalize inside each block (layer_norm first: pre-LN; or a batch_norm ending a convolutional block), or initialize each block's last layer smaller so that every block adds a small update"),
        })
    }
}
