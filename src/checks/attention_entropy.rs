//! Check intermediate outputs: the entropy of every attention head's weights over the
//! observation run, measured on a probe batch at five steps and after the last (see
//! `snapshots`). Entropy is divided by its largest possible value (ln of the positions a row
//! may attend to), so 1 is uniform attention and 0 attention on a single position.
//!
//! Collapse (Zhai et al. 2023, "Stabilizing Transformer Training by Preventing Attention
//! Entropy Collapse"): a head whose entropy falls to near 0 in the first part of the run — the
//! attention logits grew large before the model could have learned where to look — precedes
//! the loss spikes and divergence of unstable training; it fails. A head that stays near
//! uniform to the end attends to nothing in particular; when every head of every layer does,
//! the attention learned nothing, and when every head of some layer does while the loss is not
//! falling, the tokens' representations have likely collapsed into one: both warn. (One
//! uniform layer in a model that learns is a layer the task does not need.)
//!
//! Thresholds, from measurements (README, "attention_entropy"): healthy pre-LN models on the
//! built-in tasks keep every head above 0.35 through the first quarter of the run and end
//! between 0.1 and 0.9; a deep post-LN transformer at a high learning rate drops heads below
//! 0.05 within its first tenth.

use serde_json::json;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::attention_entropy::Params;
use crate::error::Result;

pub struct AttentionEntropy;

impl Check for AttentionEntropy {
    const NAME: &'static str = crate::config::check_params::attention_entropy::NAME;
    const SECTION: Section = Section::IntermediateOutputs;
    const SUMMARY: &'static str =
        "entropy of each attention head over training: collapse toward 0 early fails, uniform attention to the end warns";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "collapse",
            doc: "normalized entropy (0 one position, 1 uniform) below which a head has collapsed",
        },
        ParamDoc {
            name: "early",
            doc: "fraction of the run, from its start, in which a collapse fails",
        },
        ParamDoc {
            name: "uniform",
            doc: "normalized entropy above which a head attends uniformly; warns when every head of a layer ends above it",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let steps = ctx.observe_steps;
        let obs = ctx.observation()?;
        // A layer left uniform while the others learned is unused, not a problem, unless the
        // loss is not falling either (the tokens' representations collapsed into one).
        let symptom = obs.has_symptom();
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "lowest normalized attention entropy early in training",
        )
        .window(obs.window());
        if obs.attention_sites.is_empty() {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no attention layers"));
        }
        let snaps = &obs.snapshots;
        let Some(last) = snaps.last() else {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no snapshot of the attention was taken (the run stopped at once)"));
        };
        let cutoff = (p.early * steps as f64).ceil() as usize;
        // The lowest entropy of any head in the early snapshots (the first one, at init,
        // included: a collapse there is the init's), and where.
        let mut lowest: Option<(f64, usize, usize, usize)> = None;
        for s in snaps.iter().filter(|s| s.step <= cutoff.max(1)) {
            for (site, heads) in s.attention.iter().enumerate() {
                for (h, &e) in heads.iter().enumerate() {
                    if lowest.is_none_or(|l| e < l.0) {
                        lowest = Some((e, site, h, s.step));
                    }
                }
            }
        }
        let rows: Vec<_> = obs
            .attention_sites
            .iter()
            .enumerate()
            .map(|(k, site)| {
                let over: Vec<_> = snaps
                    .iter()
                    .map(|s| json!({"step": s.step, "per_head": s.attention[k]}))
                    .collect();
                json!({"layer": site.layer, "heads": site.heads, "causal": site.causal, "entropy": over})
            })
            .collect();
        let (early, site, head, step) = lowest.unwrap_or((1.0, 0, 0, 0));
        let name = &obs.attention_sites[site].layer;
        let end_min = last
            .attention
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        // Layers whose every head ends near uniform.
        let uniform_layers: Vec<&str> = obs
            .attention_sites
            .iter()
            .zip(&last.attention)
            .filter(|(_, heads)| heads.iter().all(|&e| e > p.uniform))
            .map(|(site, _)| site.layer.as_str())
            .collect();
        let f = f
            .measured(early)
            .threshold(format!(
                "≥ {} in the first {:.0} % of the run; no layer's heads all ≥ {} at the end",
                p.collapse,
                100.0 * p.early,
                p.uniform
            ))
            .margin(early - p.collapse)
            .details(json!({"layers": rows, "lowest_early": {"layer": name, "head": head, "step": step, "entropy": early}, "lowest_at_end": end_min}));
        Ok(if early < p.collapse {
            Finding { verdict: Verdict::Fail, ..f }
                .message(format!(
                    "attention entropy collapsed: layer {name} head {head} is at {early:.3} of uniform by step {step}, in the first {:.0} % of the run",
                    100.0 * p.early
                ))
                .fix("lower the learning rate or warm it up, normalize before attention (pre-LN) or add layer norm on queries and keys, and clip gradients (`clip: {norm: 1.0}`)")
        } else if !uniform_layers.is_empty()
            && steps > 1
            && (uniform_layers.len() == obs.attention_sites.len() || symptom)
        {
            Finding { verdict: Verdict::Warn, ..f }
                .message(format!(
                    "every head of attention layer {} is still near uniform after {} steps (above {} of uniform): it has not learned where to look",
                    uniform_layers.join(", "),
                    last.step,
                    p.uniform
                ))
                .fix("if the loss is stuck near chance the representations collapsed (lower the learning rate, normalize before each block: pre-LN); else train longer, or check that the task needs attention and that the causal mask leaves something to attend to")
        } else {
            f.message(format!(
                "no head collapsed early (lowest {early:.2} of uniform, layer {name} head {head}); heads end between {end_min:.2} and 1"
            ))
        })
    }
}
