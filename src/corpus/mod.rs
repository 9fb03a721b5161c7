//! The calibration corpus (`tests/corpus/`): healthy training setups that every check should
//! pass, and setups with one planted problem each that a named check must catch with a named
//! fix. `netdx corpus` runs it over several seeds on one GPU and reports the false alarms and
//! the misses per check, so thresholds are tuned against evidence instead of one example.
//!
//! This module only runs suites and counts verdicts; it never changes a check or its
//! thresholds (those live in `checks/`).

pub mod manifest;
pub mod run;
pub mod table;

pub use manifest::{severity, Expect, HealthyEntry, Manifest, Part, PlantedEntry};
pub use run::{judge, run, CorpusReport, Options, Outcome, Seen, SuiteRun};

use serde::Serialize;

use crate::checks::Verdict;

/// The manifest `netdx corpus` reads without an argument.
pub const DEFAULT_MANIFEST: &str = "tests/corpus/manifest.yaml";

/// At most one warning per this many healthy suite runs.
pub const SUITES_PER_WARNING: usize = 4;

/// Verdict counts over healthy findings: the suite report's own counts.
pub use crate::suite::Counts as Tally;

/// Planted outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Catches {
    pub caught: usize,
    pub other: usize,
    pub missed: usize,
}

impl Catches {
    pub fn count(&mut self, o: Outcome) {
        match o {
            Outcome::Caught => self.caught += 1,
            Outcome::Other => self.other += 1,
            Outcome::Missed => self.missed += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.caught + self.other + self.missed
    }
}

/// The key figures of a part (or of the whole run when `part` is None).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Healthy suite runs (entries × seeds).
    pub healthy_runs: usize,
    pub healthy: Tally,
    pub planted_runs: usize,
    pub planted: Catches,
}

impl CorpusReport {
    /// Totals over the runs of `part` (all runs when None).
    pub fn totals(&self, part: Option<Part>) -> Totals {
        let of_part = |r: &&SuiteRun| part.is_none_or(|p| r.part == p);
        let mut t = Totals::default();
        for r in self.healthy.iter().filter(of_part) {
            t.healthy_runs += 1;
            for f in &r.findings {
                t.healthy.count(f.verdict);
            }
        }
        for r in self.planted.iter().filter(of_part) {
            t.planted_runs += 1;
            if let Some(o) = r.outcome {
                t.planted.count(o);
            }
        }
        t
    }

    /// Every reason the targets are not met, one line each (empty: met). Targets: no healthy
    /// failure on any seed, at most one healthy warning per four suite runs, and every planted
    /// entry caught by its expected check with its fix on every seed.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.healthy {
            for f in r.findings.iter().filter(|f| f.verdict == Verdict::Fail) {
                out.push(format!(
                    "healthy {} seed {}: {} failed: {}",
                    r.config, r.seed, f.check, f.message
                ));
            }
        }
        let t = self.totals(None);
        if t.healthy.warn * SUITES_PER_WARNING > t.healthy_runs {
            let warned: Vec<String> = self
                .healthy
                .iter()
                .flat_map(|r| {
                    r.findings
                        .iter()
                        .filter(|f| f.verdict == Verdict::Warn)
                        .map(move |f| format!("{} seed {} {}", r.config, r.seed, f.check))
                })
                .collect();
            out.push(format!(
                "healthy warnings: {} over {} suite runs, more than 1 per {SUITES_PER_WARNING} ({})",
                t.healthy.warn,
                t.healthy_runs,
                warned.join("; ")
            ));
        }
        for r in &self.planted {
            if r.outcome != Some(Outcome::Caught) {
                let e = r.expect.as_ref();
                out.push(format!(
                    "planted {} seed {}: not caught by {} (≥ {}, fix \"{}\"): {}",
                    r.config,
                    r.seed,
                    e.map_or("?", |e| e.check.as_str()),
                    e.map_or("?", |e| e.verdict.label()),
                    e.map_or("", |e| e.fix.as_str()),
                    r.why_not_caught()
                ));
            }
        }
        if self.interrupted {
            out.push("interrupted before every suite ran".into());
        }
        out
    }

    /// 0 when the targets are met, 1 when not.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.problems().is_empty())
    }
}
