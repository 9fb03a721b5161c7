//! `netdx runs list | show | diff | gc`: reading records back and putting them side by side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{effective_status, liveness, RunKind, RunRecord, Runs, Status};
use crate::error::{Error, Result};
use crate::suite::SuiteReport;

/// Filters of `runs list`.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// A substring of the suite name or file.
    pub suite: Option<String>,
    pub status: Option<Status>,
    /// Runs started at or after this instant (RFC 3339, UTC, as records write it).
    pub since: Option<String>,
}

impl ListFilter {
    pub fn keeps(&self, r: &RunRecord) -> bool {
        self.suite
            .as_ref()
            .is_none_or(|s| r.suite.contains(s.as_str()) || r.file.contains(s.as_str()))
            && self.status.is_none_or(|s| effective_status(r) == s)
            && self
                .since
                .as_ref()
                .is_none_or(|d| r.started.as_str() >= d.as_str())
    }
}

/// The key figures of a run in a few words: the final loss and accuracy of a training run,
/// the verdict counts of a suite.
pub fn key_metrics(r: &RunRecord) -> String {
    let Some(res) = &r.result else {
        return String::new();
    };
    match r.kind {
        RunKind::Train => {
            let loss = res["loss"].as_f64().map(|l| format!("loss {l:.4}"));
            let acc = res["train_accuracy"]
                .as_f64()
                .map(|a| format!("acc {:.1}%", 100.0 * a));
            [loss, acc]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
        }
        RunKind::Run => {
            let c = &res["counts"];
            format!(
                "{} pass, {} warn, {} fail, {} skip",
                c["pass"], c["warn"], c["fail"], c["skip"]
            )
        }
    }
}

fn kind_name(k: RunKind) -> &'static str {
    match k {
        RunKind::Run => "run",
        RunKind::Train => "train",
    }
}

/// The `runs list` table.
pub fn list(runs: &[(PathBuf, RunRecord)], filter: &ListFilter) -> String {
    let rows: Vec<[String; 7]> = runs
        .iter()
        .map(|(_, r)| r)
        .filter(|r| filter.keeps(r))
        .map(|r| {
            [
                r.id.clone(),
                r.started
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
                kind_name(r.kind).to_string(),
                r.suite.clone(),
                r.environment.adapter.name.clone(),
                effective_status(r).name().to_string(),
                key_metrics(r),
            ]
        })
        // A suite name or an adapter name may hold escape sequences: shown, not obeyed.
        .map(|row: [String; 7]| row.map(|cell| crate::text::printable(&cell, false).into_owned()))
        .collect();
    if rows.is_empty() {
        return "no runs\n".into();
    }
    let header = [
        "id",
        "started (UTC)",
        "kind",
        "suite",
        "adapter",
        "status",
        "metrics",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A record as `runs list --json` and `runs show --json` print it: `record.json` with
/// `status` the status every output shows (see `liveness`), and, where that differs from the
/// file, `recorded_status` (what the file says) and `status_note` (why).
pub fn json_view(r: &RunRecord) -> Value {
    let shown = liveness::shown_status(r);
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("status".into(), Value::from(shown.status.name()));
        if shown.status != r.status {
            map.insert("recorded_status".into(), Value::from(r.status.name()));
        }
        if let Some(note) = shown.note {
            map.insert("status_note".into(), Value::from(note));
        }
    }
    v
}

/// The suite report a `run` left, if any.
pub fn checks_of(dir: &Path) -> Option<SuiteReport> {
    let text = std::fs::read_to_string(dir.join("checks.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// `metrics.jsonl`, one JSON object per line (a torn last line is skipped).
pub fn metrics_of(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// `runs show`.
pub fn show(dir: &Path, r: &RunRecord) -> String {
    let mut out = String::new();
    let mut kv = |k: &str, v: String| out.push_str(&format!("{k:<12} {v}\n"));
    kv("id", r.id.clone());
    kv("kind", kind_name(r.kind).into());
    let shown = liveness::shown_status(r);
    let mut status = shown.status.name().to_string();
    if let Some(c) = &r.cause {
        status.push_str(&format!(" — {c}"));
    }
    if let Some(n) = &shown.note {
        status.push_str(&format!(" ({n})"));
    }
    kv("status", status);
    kv(
        "started",
        format!(
            "{}{}",
            r.started,
            r.seconds
                .map(|s| format!(" ({s:.1} s)"))
                .unwrap_or_default()
        ),
    );
    kv("suite", format!("{} ({})", r.suite, r.file));
    kv("command", r.command.join(" "));
    kv("seed", r.seed.to_string());
    let e = &r.environment;
    kv("adapter", e.adapter.to_text());
    kv("code", e.code_text());
    kv(
        "host",
        format!("{} {}, {} ({} CPUs)", e.os, e.arch, e.cpu, e.cpus),
    );
    kv(
        "process",
        match &r.origin {
            Some(o) => format!("pid {} on {}", r.pid, o.host),
            None => format!("pid {}", r.pid),
        },
    );
    if let Some(d) = &r.data {
        kv("data", d.to_text());
    }
    kv("results", key_metrics(r));
    let metrics = metrics_of(dir);
    kv(
        "metrics",
        format!("{} step records in metrics.jsonl", metrics.len()),
    );
    if let Some(report) = checks_of(dir) {
        out.push('\n');
        for f in &report.findings {
            let (case, measured) = (f.case_prefix(), f.measured_text());
            out.push_str(&format!(
                "  {:<5} {case}{:<20} {measured}\n",
                f.verdict.label(),
                f.check
            ));
        }
    }
    out.push_str(&format!("\nfiles: {}\n", dir.display()));
    out
}

/// `key.path = value` for every leaf of a JSON value.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Lines `key: a → b` for every leaf that differs.
fn diff_values(a: &Value, b: &Value) -> Vec<String> {
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", a, &mut fa);
    flatten("", b, &mut fb);
    let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    let none = "(absent)".to_string();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (fa.get(k).unwrap_or(&none), fb.get(k).unwrap_or(&none));
            (x != y).then(|| format!("  {k}: {x} → {y}"))
        })
        .collect()
}

/// How the step metrics of two runs compare at the steps both recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricComparison {
    pub common: usize,
    pub identical: usize,
    /// Largest |a − b| / max(|a|, |b|, 1e-12) of the loss.
    pub max_relative: f64,
    /// The first (case, step) whose loss differs.
    pub first_difference: Option<(String, u64, f64, f64)>,
    pub only_a: usize,
    pub only_b: usize,
}

fn loss_by_step(metrics: &[Value]) -> BTreeMap<(String, u64), f64> {
    metrics
        .iter()
        .filter_map(|m| {
            let step = m["step"].as_u64()?;
            let case = m["case"].as_str().unwrap_or("").to_string();
            // NaN and ±inf are written as null by serde_json.
            let loss = m["loss"].as_f64().unwrap_or(f64::NAN);
            Some(((case, step), loss))
        })
        .collect()
}

pub fn compare_metrics(a: &[Value], b: &[Value]) -> MetricComparison {
    let (la, lb) = (loss_by_step(a), loss_by_step(b));
    let mut c = MetricComparison {
        common: 0,
        identical: 0,
        max_relative: 0.0,
        first_difference: None,
        only_a: la.keys().filter(|k| !lb.contains_key(*k)).count(),
        only_b: lb.keys().filter(|k| !la.contains_key(*k)).count(),
    };
    for (k, x) in &la {
        let Some(y) = lb.get(k) else { continue };
        c.common += 1;
        if x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()) {
            c.identical += 1;
            continue;
        }
        let rel = (x - y).abs() / x.abs().max(y.abs()).max(1e-12);
        c.max_relative = c
            .max_relative
            .max(if rel.is_nan() { f64::INFINITY } else { rel });
        if c.first_difference.is_none() {
            c.first_difference = Some((k.0.clone(), k.1, *x, *y));
        }
    }
    c
}

impl MetricComparison {
    /// Where the losses first differ: `[case ]step N: loss a → b`.
    pub fn first_difference_text(&self) -> Option<String> {
        let (case, step, x, y) = self.first_difference.as_ref()?;
        let case = if case.is_empty() {
            String::new()
        } else {
            format!("{case} ")
        };
        Some(format!("{case}step {step}: loss {x} → {y}"))
    }

    pub fn to_text(&self) -> String {
        let mut s = format!(
            "  {} steps in both: {} identical",
            self.common, self.identical
        );
        if let Some(at) = self.first_difference_text() {
            s.push_str(&format!(
                "; first difference at {at}; largest relative difference {:.3e}",
                self.max_relative
            ));
        }
        if self.only_a + self.only_b > 0 {
            s.push_str(&format!(
                "; {} steps only in the first, {} only in the second",
                self.only_a, self.only_b
            ));
        }
        s
    }
}

/// `runs diff A B`.
pub fn diff(a: (&Path, &RunRecord), b: (&Path, &RunRecord)) -> String {
    let (da, ra) = a;
    let (db, rb) = b;
    let mut out = format!("--- {}\n+++ {}\n", ra.id, rb.id);
    let section = |out: &mut String, title: &str, lines: Vec<String>| {
        out.push_str(&format!("\n{title}:\n"));
        if lines.is_empty() {
            out.push_str("  (same)\n");
        } else {
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
    };
    let mut config = diff_values(&ra.config, &rb.config);
    if ra.overrides != rb.overrides {
        config.push(format!(
            "  (command line) {} → {}",
            ra.overrides, rb.overrides
        ));
    }
    section(&mut out, "config", config);
    let env = |r: &RunRecord| serde_json::to_value(&r.environment).unwrap_or(Value::Null);
    let mut environment = diff_values(&env(ra), &env(rb));
    let hash = |r: &RunRecord| r.data.as_ref().map(|d| d.hash.clone());
    if hash(ra) != hash(rb) {
        environment.push(format!("  data.hash: {:?} → {:?}", hash(ra), hash(rb)));
    }
    section(&mut out, "environment", environment);
    let verdicts = match (checks_of(da), checks_of(db)) {
        (Some(x), Some(y)) => {
            let key =
                |f: &crate::checks::Finding| (f.case.clone().unwrap_or_default(), f.check.clone());
            let ya: BTreeMap<_, _> = y.findings.iter().map(|f| (key(f), f)).collect();
            x.findings
                .iter()
                .filter_map(|f| {
                    let g = ya.get(&key(f))?;
                    let m =
                        |v: Option<f64>| v.map(crate::text::number).unwrap_or_else(|| "—".into());
                    (f.verdict != g.verdict || f.measured != g.measured).then(|| {
                        format!(
                            "  {}{}: {} {} → {} {}",
                            if f.case.is_some() {
                                format!("{}: ", key(f).0)
                            } else {
                                String::new()
                            },
                            f.check,
                            f.verdict.label(),
                            m(f.measured),
                            g.verdict.label(),
                            m(g.measured)
                        )
                    })
                })
                .collect()
        }
        _ => Vec::new(),
    };
    section(&mut out, "verdicts", verdicts);
    out.push_str("\nmetrics:\n");
    out.push_str(&compare_metrics(&metrics_of(da), &metrics_of(db)).to_text());
    out.push('\n');
    out
}

/// `runs gc --keep N`: removes all but the newest `keep` finished runs; returns the removed
/// ids. A run that may be live is never removed: one running here, and one that cannot be
/// checked from here (another host or PID namespace) until its heartbeat is stale (see
/// `liveness`). Unreadable records are left alone.
pub fn gc(runs: &Runs, keep: usize, dry_run: bool) -> Result<Vec<String>> {
    let all = runs.all()?;
    let finished: Vec<&(PathBuf, RunRecord)> = all
        .iter()
        .filter(|(_, r)| !liveness::may_be_live(r))
        .collect();
    let excess = finished.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for (dir, r) in finished.into_iter().take(excess) {
        if !dry_run {
            std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
        }
        removed.push(r.id.clone());
    }
    Ok(removed)
}
