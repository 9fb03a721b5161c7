//! Running the corpus: every selected entry once per seed on one GPU, each finding kept, each
//! planted entry judged against what the manifest expects of it.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::manifest::{severity, Expect, Manifest, Part};
use crate::checks::{Finding, Verdict};
use crate::config::Config;
use crate::error::Result;
use crate::gpu::Gpu;

/// Which entries and how many seeds.
#[derive(Clone, Debug)]
pub struct Options {
    /// The seeds: seed k runs each suite with its `seed` replaced by k.
    pub seeds: std::ops::Range<u64>,
    /// Only this part (both when None).
    pub part: Option<Part>,
    /// Only the entries marked `fast: true`.
    pub fast: bool,
}

/// One finding as the corpus keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Seen {
    pub check: String,
    pub verdict: Verdict,
    pub measured: Option<f64>,
    pub message: String,
    pub fix: Option<String>,
}

impl From<&Finding> for Seen {
    fn from(f: &Finding) -> Seen {
        Seen {
            check: f.check.clone(),
            verdict: f.verdict,
            measured: f.measured,
            message: f.message.clone(),
            fix: f.fix.clone(),
        }
    }
}

/// How a planted entry fared on one seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The expected check gave at least the expected verdict and its fix names the remedy.
    Caught,
    /// Not caught, but another check warned or failed.
    Other,
    /// Nothing caught it.
    Missed,
}

/// One suite run: an entry of the manifest on one seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteRun {
    /// The entry's `config`, as the manifest writes it.
    pub config: String,
    pub part: Part,
    pub seed: u64,
    pub seconds: f64,
    /// For planted entries: what was expected, and how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub findings: Vec<Seen>,
}

impl SuiteRun {
    /// The finding of `check`, if it ran.
    pub fn finding(&self, check: &str) -> Option<&Seen> {
        self.findings.iter().find(|f| f.check == check)
    }

    /// Why a planted entry was not caught, in a line: what the expected check said.
    pub fn why_not_caught(&self) -> String {
        let Some(e) = &self.expect else {
            return String::new();
        };
        let others: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.check != e.check && severity(f.verdict) > 0)
            .map(|f| format!("{} {}", f.check, f.verdict.label()))
            .collect();
        let expected = match self.finding(&e.check) {
            None => format!("{} did not run", e.check),
            Some(f) if severity(f.verdict) < severity(e.verdict) => format!(
                "{} gave {} (expected {}): {}",
                e.check,
                f.verdict.label(),
                e.verdict.label(),
                f.message
            ),
            Some(f) => format!(
                "{} gave {} but its fix lacks \"{}\": {}",
                e.check,
                f.verdict.label(),
                e.fix,
                f.fix.as_deref().unwrap_or("(no fix)")
            ),
        };
        if others.is_empty() {
            expected
        } else {
            format!("{expected} [flagged by: {}]", others.join(", "))
        }
    }
}

/// Judges a planted entry's findings against its expectation.
pub fn judge(expect: &Expect, findings: &[Seen]) -> Outcome {
    let caught = findings.iter().any(|f| {
        f.check == expect.check
            && severity(f.verdict) >= severity(expect.verdict)
            && f.fix
                .as_deref()
                .is_some_and(|x| x.to_lowercase().contains(&expect.fix.to_lowercase()))
    });
    if caught {
        Outcome::Caught
    } else if findings
        .iter()
        .any(|f| f.check != expect.check && severity(f.verdict) > 0)
    {
        Outcome::Other
    } else {
        Outcome::Missed
    }
}

/// Everything a corpus run found; `table` prints it, `--json` serializes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CorpusReport {
    pub manifest: String,
    pub adapter: String,
    pub seeds: u64,
    pub fast: bool,
    pub part: Option<Part>,
    pub seconds: f64,
    /// Ctrl-C or SIGTERM stopped the run; the runs so far are kept.
    pub interrupted: bool,
    pub healthy: Vec<SuiteRun>,
    pub planted: Vec<SuiteRun>,
}

/// The selected entries' (config, part, expectation) in manifest order.
fn selected(m: &Manifest, o: &Options) -> Vec<(std::path::PathBuf, Part, Option<Expect>)> {
    let keep = |part: Part, fast: bool| o.part.is_none_or(|p| p == part) && (!o.fast || fast);
    m.healthy
        .iter()
        .filter(|e| keep(e.part, e.fast))
        .map(|e| (e.config.clone(), e.part, None))
        .chain(
            m.planted
                .iter()
                .filter(|e| keep(e.part, e.fast))
                .map(|e| (e.config.clone(), e.part, Some(e.expect.clone()))),
        )
        .collect()
}

/// Runs every selected entry on every seed on `gpu`, calling `progress` after each suite with
/// (done, total, the run).
pub fn run(
    gpu: &Gpu,
    manifest: &Manifest,
    manifest_file: &str,
    options: &Options,
    progress: &mut dyn FnMut(usize, usize, &SuiteRun),
) -> Result<CorpusReport> {
    let start = Instant::now();
    let entries = selected(manifest, options);
    // Every suite parses before any GPU work: a broken entry is a config error (exit 2).
    let configs = entries
        .iter()
        .map(|(c, _, _)| Config::load(&manifest.suite_path(c)))
        .collect::<Result<Vec<_>>>()?;
    let total = entries.len() * options.seeds.clone().count();
    let mut report = CorpusReport {
        manifest: manifest_file.to_string(),
        adapter: gpu.describe(),
        seeds: options.seeds.clone().count() as u64,
        fast: options.fast,
        part: options.part,
        seconds: 0.0,
        interrupted: false,
        healthy: Vec::new(),
        planted: Vec::new(),
    };
    let mut done = 0;
    'all: for ((config_path, part, expect), config) in entries.iter().zip(&configs) {
        for seed in options.seeds.clone() {
            let mut config = config.clone();
            config.seed = seed;
            let file = manifest.suite_path(config_path).display().to_string();
            let t = Instant::now();
            let findings: Vec<Seen> =
                match crate::suite::run_suite(gpu, &config, &file, &[], &mut |_| {}) {
                    Ok(r) => r.findings.iter().map(Seen::from).collect(),
                    // A suite that cannot run (its data, the GPU) counts as a failure of the
                    // corpus, named, rather than ending the whole run.
                    Err(e) => vec![Seen {
                        check: "suite".into(),
                        verdict: Verdict::Fail,
                        measured: None,
                        message: format!("the suite could not run: {e}"),
                        fix: None,
                    }],
                };
            if crate::interrupt::requested() {
                report.interrupted = true;
                break 'all;
            }
            let run = SuiteRun {
                config: config_path.display().to_string(),
                part: *part,
                seed,
                seconds: t.elapsed().as_secs_f64(),
                outcome: expect.as_ref().map(|e| judge(e, &findings)),
                expect: expect.clone(),
                findings,
            };
            done += 1;
            progress(done, total, &run);
            if run.expect.is_some() {
                report.planted.push(run);
            } else {
                report.healthy.push(run);
            }
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(check: &str, verdict: Verdict, fix: &str) -> Seen {
        Seen {
            check: check.into(),
            verdict,
            measured: None,
            message: String::new(),
            fix: Some(fix.into()),
        }
    }

    #[test]
    fn a_planted_entry_is_caught_only_by_its_check_severity_and_fix() {
        let e = Expect {
            check: "lr_range".into(),
            verdict: Verdict::Warn,
            fix: "Try LR".into(),
        };
        let ok = [seen("lr_range", Verdict::Fail, "try lr ≈ 1e-1")];
        assert_eq!(judge(&e, &ok), Outcome::Caught);
        let wrong_fix = [
            seen("lr_range", Verdict::Warn, "widen the range"),
            seen("smoke", Verdict::Pass, ""),
        ];
        assert_eq!(judge(&e, &wrong_fix), Outcome::Missed);
        let other = [
            seen("lr_range", Verdict::Pass, ""),
            seen("update_ratio", Verdict::Warn, "lower the learning rate"),
        ];
        assert_eq!(judge(&e, &other), Outcome::Other);
        let fail = Expect {
            verdict: Verdict::Fail,
            ..e
        };
        assert_eq!(
            judge(&fail, &[seen("lr_range", Verdict::Warn, "try lr")]),
            Outcome::Missed
        );
    }
}
