//! Baselines for CI: the statistics of a known-good run at initialization — the initial loss,
//! every tensor's gradient norm and update/weight ratio, every layer's output mean and
//! standard deviation, all from the first step of the observation run — saved under a name;
//! `netdx run --baseline NAME` fails when one moves out of its band. The bands are relative
//! and wide enough that another adapter's rounding stays inside while a changed init, a
//! changed learning rate or a broken kernel falls outside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::record::write_atomic;
use crate::checks::{Finding, Section, Verdict};
use crate::error::{Error, Result};

/// Relative bands by kind of statistic.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Bands {
    pub initial_loss: f64,
    pub grad_norm: f64,
    pub update_ratio: f64,
    /// For means, relative to the larger of |mean| and the layer's standard deviation.
    pub act: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            initial_loss: 0.05,
            grad_norm: 0.25,
            update_ratio: 0.25,
            act: 0.25,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub name: String,
    /// The run it was taken from.
    pub run: String,
    pub suite: String,
    pub adapter: String,
    pub bands: Bands,
    pub values: BTreeMap<String, f64>,
}

/// The compared statistics of one metrics line (the first step of the observation run):
/// `initial_loss`, `grad_norm.{tensor}`, `update_ratio.{tensor}`, `act_mean.act.{i}`,
/// `act_std.act.{i}`.
pub fn values(line: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(l) = line["loss"].as_f64() {
        out.insert("initial_loss".to_string(), l);
    }
    for group in ["grad_norm", "update_ratio", "act_mean", "act_std"] {
        if let Some(map) = line[group].as_object() {
            for (k, v) in map {
                if let Some(v) = v.as_f64() {
                    out.insert(format!("{group}.{k}"), v);
                }
            }
        }
    }
    out
}

/// The folder of named baselines inside a runs folder.
pub fn folder(runs_root: &Path) -> PathBuf {
    runs_root.join("baselines")
}

fn path_of(runs_root: &Path, name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Error::Usage(format!(
            "baseline name `{name}`: use letters, digits, `-`, `_` and `.`"
        )));
    }
    Ok(folder(runs_root).join(format!("{name}.json")))
}

pub fn save(runs_root: &Path, baseline: &Baseline) -> Result<PathBuf> {
    let path = path_of(runs_root, &baseline.name)?;
    std::fs::create_dir_all(folder(runs_root)).map_err(|source| Error::Io {
        path: folder(runs_root),
        source,
    })?;
    let text = serde_json::to_string_pretty(baseline).unwrap_or_default();
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// The names of the saved baselines, sorted.
pub fn names(runs_root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder(runs_root))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub fn load(runs_root: &Path, name: &str) -> Result<Baseline> {
    let path = path_of(runs_root, name)?;
    let text = std::fs::read_to_string(&path).map_err(|_| {
        let known = names(runs_root);
        Error::Usage(format!(
            "no baseline `{name}` in {} (saved: {}); save one with `netdx baseline save RUN --name {name}`",
            folder(runs_root).display(),
            if known.is_empty() { "none".into() } else { known.join(", ") }
        ))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| crate::io::Origin::file(&path).error(format!("not a netdx baseline: {e}")))
}

/// One statistic outside its band, or missing.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Deviation {
    pub key: String,
    pub baseline: f64,
    pub current: Option<f64>,
    /// |current − baseline| / scale.
    pub relative: f64,
    pub band: f64,
}

impl Bands {
    fn of(&self, key: &str) -> f64 {
        match key.split('.').next().unwrap_or("") {
            "initial_loss" => self.initial_loss,
            "grad_norm" => self.grad_norm,
            "update_ratio" => self.update_ratio,
            _ => self.act,
        }
    }
}

/// Every statistic of the baseline compared with `current`: all of them, each with its
/// relative change (the ones outside their band are the failures).
pub fn compare(baseline: &Baseline, current: &BTreeMap<String, f64>) -> Vec<Deviation> {
    baseline
        .values
        .iter()
        .map(|(key, &b)| {
            let band = baseline.bands.of(key);
            let scale = match key.strip_prefix("act_mean.") {
                // A mean near zero has no relative scale of its own: use the layer's spread.
                Some(layer) => b.abs().max(
                    baseline
                        .values
                        .get(&format!("act_std.{layer}"))
                        .copied()
                        .unwrap_or(0.0),
                ),
                None => b.abs(),
            }
            .max(1e-12);
            let current_value = current.get(key).copied();
            let relative = current_value.map_or(f64::INFINITY, |c| {
                let r = (c - b).abs() / scale;
                if r.is_nan() {
                    f64::INFINITY
                } else {
                    r
                }
            });
            Deviation {
                key: key.clone(),
                baseline: b,
                current: current_value,
                relative,
                band,
            }
        })
        .collect()
}

/// The finding `run --baseline` adds to the report.
pub fn finding(baseline: &Baseline, deviations: &[Deviation]) -> Finding {
    let outside: Vec<&Deviation> = deviations.iter().filter(|d| d.relative > d.band).collect();
    let worst = deviations
        .iter()
        .max_by(|a, b| (a.relative / a.band).total_cmp(&(b.relative / b.band)));
    let verdict = if outside.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail
    };
    let mut f = Finding::new(
        "baseline",
        Section::TrackWork,
        verdict,
        "largest change / band",
    );
    f.measured = worst.map(|w| w.relative / w.band);
    f.threshold = format!(
        "each statistic within its band of `{}` (initial loss ±{:.0} %, gradient norms and update ratios ±{:.0} %, activations ±{:.0} %)",
        baseline.name,
        100.0 * baseline.bands.initial_loss,
        100.0 * baseline.bands.grad_norm,
        100.0 * baseline.bands.act
    );
    f.margin = f.measured.map(|m| 1.0 - m);
    f.window = Some("step 0".into());
    let describe = |d: &Deviation| match d.current {
        Some(c) => format!(
            "{} {} → {} ({:+.0} %, band ±{:.0} %)",
            d.key,
            crate::text::number(d.baseline),
            crate::text::number(c),
            100.0 * (c - d.baseline) / d.baseline.abs().max(1e-12),
            100.0 * d.band
        ),
        None => format!("{} missing (the model changed?)", d.key),
    };
    f.message = if outside.is_empty() {
        format!(
            "{} statistics within their bands of baseline `{}` (run {})",
            deviations.len(),
            baseline.name,
            baseline.run
        )
    } else {
        format!(
            "{} of {} statistics moved out of their bands of baseline `{}` (run {}): {}",
            outside.len(),
            deviations.len(),
            baseline.name,
            baseline.run,
            outside
                .iter()
                .take(4)
                .map(|d| describe(d))
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    if !outside.is_empty() {
        f.fix = Some(
            "if the change is intended (a new init, learning rate or model), save a new baseline with `netdx baseline save RUN --name NAME`; otherwise look at what changed since the baseline run (`netdx runs diff`)".into(),
        );
    }
    f.details = serde_json::to_value(deviations).unwrap_or(Value::Null);
    f
}
