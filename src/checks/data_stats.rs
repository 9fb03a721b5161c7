//! Diagnose parameters: the data itself. Per-feature means and standard deviations (inputs far
//! from zero mean and unit scale are flagged as unnormalized), constant features, the label
//! distribution, and duplicate examples (and duplicates with conflicting labels).

use std::collections::HashMap;

use serde_json::json;

/// Fraction of the examples whose duplicates disagree on the label above which the data warns
/// (a few points where noisy classes overlap are the data's own noise).
const CONFLICTING: f64 = 0.01;

use super::{Check, Context, Finding, ParamDoc, Section, Verdict};
pub use crate::config::check_params::data_stats::Params;
use crate::error::Result;

pub struct DataStats;

impl Check for DataStats {
    const NAME: &'static str = crate::config::check_params::data_stats::NAME;
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "feature scale (unnormalized inputs), constant features, label distribution, duplicates";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "scale",
            doc: "|mean|/std and std outside [1/scale, scale] flag a feature as unnormalized",
        },
        ParamDoc {
            name: "duplicates",
            doc: "fraction of duplicated examples that warns",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        if ctx.dataset.sequence.is_some() {
            return tokens(ctx);
        }
        let d = &ctx.dataset;
        let (n, w) = (d.n, d.x_width);
        let mut means = vec![0.0f64; w];
        let mut stds = vec![0.0f64; w];
        for j in 0..w {
            let col = (0..n).map(|i| d.x[i * w + j] as f64);
            let m = col.clone().sum::<f64>() / n as f64;
            means[j] = m;
            stds[j] = (col.map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt();
        }
        let constant: Vec<usize> = (0..w).filter(|&j| stds[j] == 0.0).collect();
        let unnormalized: Vec<usize> = (0..w)
            .filter(|&j| {
                stds[j] > 0.0
                    && (means[j].abs() > p.scale * stds[j]
                        || stds[j] > p.scale
                        || stds[j] < 1.0 / p.scale)
            })
            .collect();
        let mut seen: HashMap<Vec<u32>, Vec<u32>> = HashMap::new();
        for i in 0..n {
            let key: Vec<u32> = d.row(i).iter().map(|v| v.to_bits()).collect();
            let label: Vec<u32> = d.y[i * d.y_width..(i + 1) * d.y_width]
                .iter()
                .map(|v| v.to_bits())
                .collect();
            seen.entry(key).or_default().extend(label);
        }
        let duplicates = n - seen.len();
        let conflicting = seen
            .values()
            .filter(|labels| {
                let per = d.y_width;
                labels.chunks(per).any(|l| l != &labels[..per])
            })
            .count();
        let dup_frac = duplicates as f64 / n.max(1) as f64;
        let worst_scale = (0..w)
            .filter(|&j| stds[j] > 0.0)
            .map(|j| (means[j].abs() / stds[j]).max(stds[j]).max(1.0 / stds[j]))
            .fold(0.0, f64::max);
        let details = json!({
            "feature_means": means, "feature_stds": stds, "constant_features": constant,
            "unnormalized_features": unnormalized, "class_counts": d.class_counts(),
            "duplicates": duplicates, "conflicting_duplicates": conflicting,
        });
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "worst feature scale (max of |mean|/std, std, 1/std)",
        )
        .measured(worst_scale)
        .threshold(format!(
            "≤ {}; no constant features; duplicates ≤ {:.0} %",
            p.scale,
            100.0 * p.duplicates
        ))
        .margin(p.scale - worst_scale)
        .window(format!("{n} examples × {w} features"))
        .details(details);
        let single_class = d
            .class_counts()
            .is_some_and(|c| c.iter().filter(|&&k| k > 0).count() < 2);
        Ok(if constant.len() == w || single_class {
            Finding {
                verdict: Verdict::Fail,
                ..f
            }
            .message(if single_class {
                "every example has the same label".to_string()
            } else {
                "every feature is constant".to_string()
            })
            .fix("the data carries no signal: check how it is loaded")
        } else if !unnormalized.is_empty() {
            let j = unnormalized[0];
            Finding {
                verdict: Verdict::Warn,
                ..f
            }
            .message(format!(
                "{} of {w} features are unnormalized (feature {j}: mean {:.3}, std {:.3})",
                unnormalized.len(),
                means[j],
                stds[j]
            ))
            .fix(
                "standardize the inputs (subtract the mean, divide by the std of the training set)",
            )
        } else if dup_frac > p.duplicates || conflicting as f64 > CONFLICTING * n as f64 {
            Finding {
                verdict: Verdict::Warn,
                ..f
            }
            .message(format!(
                "{duplicates} duplicated examples, {conflicting} with conflicting labels"
            ))
            .fix(
                "deduplicate the data; duplicates with different labels cap the reachable accuracy",
            )
        } else if !constant.is_empty() || conflicting > 0 {
            // A constant feature only adds a bias (the always-blank border pixels of UCI
            // digits); a few conflicting duplicates are the noise of the data (the spiral's
            // overlapping arms). Worth knowing, nothing to change.
            Finding {
                verdict: Verdict::Info,
                ..f
            }
            .message(format!(
                "{} constant features{}; {duplicates} duplicates, {conflicting} with conflicting labels",
                constant.len(),
                constant
                    .first()
                    .map(|j| format!(" (first: {j})"))
                    .unwrap_or_default()
            ))
            .fix("constant features carry nothing (harmless; drop them if they should vary); conflicting duplicates cap the reachable accuracy slightly")
        } else {
            f.message(format!(
                "{w} features near zero mean and unit scale; {duplicates} duplicates"
            ))
        })
    }
}

/// Token data: ids are not features (no scale to check, and a separator at a fixed position is
/// a constant by design). Checks what can be wrong with sequences instead — targets that are
/// never scored, a single target token — and reports duplicated sequences (a task over a small
/// alphabet repeats some by construction, and a text the same window with two continuations:
/// neither is a fault) and vocabulary entries that never occur (embedding rows that never
/// train).
fn tokens(ctx: &mut Context) -> Result<Finding> {
    let d = &ctx.dataset;
    let info = d.sequence.expect("token data");
    let (n, t) = (d.n, d.x_width);
    let mut used = vec![false; info.vocab];
    for &v in d.x.iter().chain(d.y.iter().filter(|v| **v >= 0.0)) {
        if let Some(u) = used.get_mut(v as usize) {
            *u = true;
        }
    }
    let unused: Vec<usize> = (0..info.vocab).filter(|&k| !used[k]).collect();
    let scored = d.y.iter().filter(|v| **v >= 0.0).count();
    let mut seen: HashMap<Vec<u32>, Vec<u32>> = HashMap::new();
    for i in 0..n {
        let key: Vec<u32> = d.row(i).iter().map(|v| v.to_bits()).collect();
        let next: Vec<u32> = d.y[i * t..(i + 1) * t]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        seen.entry(key).or_default().extend(next);
    }
    let duplicates = n - seen.len();
    let conflicting = seen
        .values()
        .filter(|next| next.chunks(t).any(|c| c != &next[..t]))
        .count();
    let dup_frac = duplicates as f64 / n.max(1) as f64;
    let counts = d.class_counts();
    let target_kinds = counts
        .as_ref()
        .map_or(0, |c| c.iter().filter(|&&k| k > 0).count());
    let f = Finding::new(
        DataStats::NAME,
        DataStats::SECTION,
        Verdict::Pass,
        "duplicated sequences",
    )
    .measured(dup_frac)
    .threshold("targets scored, of more than one token")
    .window(format!(
        "{n} sequences × {t} tokens, vocabulary {}",
        info.vocab
    ))
    .details(json!({
        "scored_targets": scored, "targets": n * t, "target_counts": counts,
        "unused_tokens": unused, "duplicates": duplicates, "conflicting_duplicates": conflicting,
    }));
    Ok(if scored == 0 || target_kinds < 2 {
        Finding {
            verdict: Verdict::Fail,
            ..f
        }
        .message(if scored == 0 {
            "no target is scored: every next token is −1".to_string()
        } else {
            "every scored target is the same token".to_string()
        })
        .fix("the data carries no signal: check how the targets are made")
    } else {
        f.message(format!(
            "{scored} of {} targets scored over {} distinct tokens; {duplicates} duplicated sequences{}",
            n * t,
            target_kinds,
            if unused.is_empty() {
                String::new()
            } else {
                format!("; {} vocabulary entries never occur", unused.len())
            }
        ))
    })
}
