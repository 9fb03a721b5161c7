//! Splitting a suite across machines and merging the pieces back. The unit of work is one
//! check of one variant; a unit belongs to shard `fnv1a(case, check) mod N + 1`, so adding a
//! case or a check moves no other unit (nextest's hash partitioning). Every shard records the
//! whole plan — each unit in report order with its shard — so that a merge needs nothing but
//! the shards' own reports to restore the order, and can name what a missing shard held.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Counts, SuiteReport};
use crate::checks::Finding;
use crate::error::{Error, Result};

/// Shard `index` of `count`, 1-based as written: `--shard 2/3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Every environment variable `--shard auto` reads.
pub const SCHEDULER_VARIABLE_NAMES: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_COUNT",
    "JOB_COMPLETION_INDEX",
    "NETDX_SHARD_INDEX",
    "NETDX_SHARD_COUNT",
];

/// The environment variables `--shard auto` reads, in order of preference.
pub const SCHEDULER_VARIABLES: &str = "SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT), JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs, 0-based), or NETDX_SHARD_INDEX (1-based); the count from SLURM_ARRAY_TASK_COUNT or NETDX_SHARD_COUNT, or `--shard auto/N`";

impl Shard {
    /// `K/N`, `auto` or `auto/N`; `env` looks up scheduler variables.
    pub fn parse(spec: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard> {
        let bad = |why: String| Error::Usage(format!("--shard {spec}: {why}"));
        let (index, count) = spec
            .split_once('/')
            .map_or((spec, None), |(k, n)| (k, Some(n)));
        let number = |what: &str, v: &str| -> Result<usize> {
            v.trim()
                .parse::<usize>()
                .map_err(|_| bad(format!("{what} `{v}` is not a whole number")))
        };
        let count = match count {
            Some(n) => Some(number("the shard count", n)?),
            None => None,
        };
        // For `auto`: the scheduler variables that are set, named in an out-of-range error.
        let mut from = String::new();
        let (index, count) = if index.trim() == "auto" {
            let set: Vec<String> = SCHEDULER_VARIABLE_NAMES
                .iter()
                .filter_map(|name| env(name).map(|v| format!("{name}={v}")))
                .collect();
            if !set.is_empty() {
                from = format!(" (from {})", set.join(", "));
            }
            let var = |name: &str| -> Result<Option<usize>> {
                env(name)
                    .map(|v| {
                        v.trim()
                            .parse::<usize>()
                            .map_err(|_| bad(format!("{name}={v} is not a whole number")))
                    })
                    .transpose()
            };
            let index = if let Some(id) = var("SLURM_ARRAY_TASK_ID")? {
                // Slurm arrays may start anywhere (`--array=0-2` or `1-3`).
                let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
                id.checked_sub(min).map(|i| i + 1).ok_or_else(|| {
                    bad(format!(
                        "SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}"
                    ))
                })?
            } else if let Some(i) = var("JOB_COMPLETION_INDEX")? {
                i + 1
            } else if let Some(i) = var("NETDX_SHARD_INDEX")? {
                i
            } else {
                return Err(bad(format!(
                    "no scheduler index in the environment: set {SCHEDULER_VARIABLES}"
                )));
            };
            let count = match count {
                Some(n) => n,
                None => var("SLURM_ARRAY_TASK_COUNT")?
                    .or(var("NETDX_SHARD_COUNT")?)
                    .ok_or_else(|| {
                        bad(format!(
                            "no shard count in the environment: set {SCHEDULER_VARIABLES}"
                        ))
                    })?,
            };
            (index, count)
        } else {
            let count = count
                .ok_or_else(|| bad("expected K/N (for example 2/3), auto or auto/N".into()))?;
            (number("the shard index", index)?, count)
        };
        if count == 0 || index == 0 || index > count {
            return Err(bad(format!(
                "shard {index} of {count}{from}: shards are numbered 1 to N, N ≥ 1"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Whether the check `check` of variant `case` is this shard's.
    pub fn owns(&self, case: &str, check: &str) -> bool {
        shard_of(case, check, self.count) == self.index
    }
}

/// The shard (1-based) of a unit among `count`.
pub fn shard_of(case: &str, check: &str, count: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in case.bytes().chain([0u8]).chain(check.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % count as u64) as usize + 1
}

/// One check of one variant (`case` empty for a suite without variants).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub case: String,
    pub check: String,
    pub shard: usize,
}

/// The whole suite's units in report order, and which shard this report is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPlan {
    pub shard: Shard,
    pub units: Vec<Unit>,
}

/// A shard's report and where it came from (a record folder), for messages.
pub struct ShardReport {
    pub source: String,
    pub report: SuiteReport,
    /// The suite text the shard ran (its record's `source.yaml`).
    pub suite_text: String,
    pub seed: u64,
    pub overrides: String,
}

fn unit_key(case: &str, check: &str) -> (String, String) {
    (case.to_string(), check.to_string())
}

/// Merges the reports of every shard of one suite into the report the unsharded run gives:
/// the same findings in the same order. Refuses shards of different suites, configs, seeds,
/// options or shard counts, a shard given twice, a missing or incomplete shard — naming which.
pub fn merge(shards: Vec<ShardReport>) -> Result<SuiteReport> {
    let refuse = |why: String| Error::Usage(format!("merge: {why}"));
    let Some(first) = shards.first() else {
        return Err(refuse("no records given".into()));
    };
    let plan_of = |s: &ShardReport| -> Result<ShardPlan> {
        s.report.shard.clone().ok_or_else(|| {
            refuse(format!(
                "{} is not a shard (run the suite with --shard K/N)",
                s.source
            ))
        })
    };
    let first_plan = plan_of(first)?;
    let count = first_plan.shard.count;
    let mut by_index: BTreeMap<usize, &ShardReport> = BTreeMap::new();
    for s in &shards {
        let plan = plan_of(s)?;
        if plan.shard.count != count {
            return Err(refuse(format!(
                "{} is shard {} but {} is shard {}: different shard counts",
                first.source, first_plan.shard, s.source, plan.shard
            )));
        }
        if s.suite_text != first.suite_text {
            let line = s
                .suite_text
                .lines()
                .zip(first.suite_text.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || "one is longer".to_string(),
                    |i| format!("first difference at line {}", i + 1),
                );
            return Err(refuse(format!(
                "{} and {} ran different suites or configs (their source.yaml differ: {line})",
                first.source, s.source
            )));
        }
        if s.seed != first.seed {
            return Err(refuse(format!(
                "{} ran seed {} but {} seed {}",
                first.source, first.seed, s.source, s.seed
            )));
        }
        if s.overrides != first.overrides {
            return Err(refuse(format!(
                "{} and {} ran with different options ({} vs {})",
                first.source, s.source, first.overrides, s.overrides
            )));
        }
        if plan.units != first_plan.units {
            return Err(refuse(format!(
                "{} and {} planned different checks (a different netdx version or --only?)",
                first.source, s.source
            )));
        }
        if s.report.stopped_early {
            return Err(refuse(format!(
                "{} (shard {}) stopped at its first failed check (--fail-fast): run that shard again without it",
                s.source, plan.shard
            )));
        }
        if s.report.interrupted {
            return Err(refuse(format!(
                "{} (shard {}) was interrupted: run that shard again",
                s.source, plan.shard
            )));
        }
        if let Some(other) = by_index.insert(plan.shard.index, s) {
            return Err(refuse(format!(
                "shard {} given twice: {} and {}",
                plan.shard, other.source, s.source
            )));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| {
            let held: Vec<String> = first_plan
                .units
                .iter()
                .filter(|u| u.shard == i)
                .map(|u| {
                    if u.case.is_empty() {
                        u.check.clone()
                    } else {
                        format!("{}: {}", u.case, u.check)
                    }
                })
                .collect();
            format!(
                "shard {i}/{count} ({})",
                if held.is_empty() {
                    "no checks".to_string()
                } else {
                    held.join(", ")
                }
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(refuse(format!("missing {}", missing.join("; "))));
    }

    let mut found: BTreeMap<(String, String), Finding> = BTreeMap::new();
    for s in by_index.values() {
        for f in &s.report.findings {
            found.insert(
                unit_key(f.case.as_deref().unwrap_or(""), &f.check),
                f.clone(),
            );
        }
    }
    let mut findings = Vec::with_capacity(first_plan.units.len());
    let mut counts = Counts::default();
    for u in &first_plan.units {
        let f = found.remove(&unit_key(&u.case, &u.check)).ok_or_else(|| {
            refuse(format!(
                "shard {}/{count} ({}) has no result for {}{}",
                u.shard,
                by_index[&u.shard].source,
                if u.case.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", u.case)
                },
                u.check
            ))
        })?;
        counts.count(f.verdict);
        findings.push(f);
    }
    let mut cases: Vec<String> = Vec::new();
    for u in &first_plan.units {
        if !u.case.is_empty() && !cases.contains(&u.case) {
            cases.push(u.case.clone());
        }
    }
    let reports: Vec<&SuiteReport> = by_index.values().map(|s| &s.report).collect();
    let distinct = |f: fn(&SuiteReport) -> &String| -> String {
        let mut v: Vec<&String> = reports.iter().map(|r| f(r)).collect();
        v.dedup();
        v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
    };
    // Identity fields from the shard that held the last variant (what an unsharded run shows).
    let last = reports
        .iter()
        .rev()
        .find(|r| !r.findings.is_empty())
        .unwrap_or(&reports[0]);
    Ok(SuiteReport {
        schema_version: first.report.schema_version,
        suite: first.report.suite.clone(),
        file: first.report.file.clone(),
        model: last.model.clone(),
        dataset: last.dataset.clone(),
        data: last.data.clone(),
        adapter: distinct(|r| &r.adapter),
        backend: distinct(|r| &r.backend),
        driver: distinct(|r| &r.driver),
        netdx_version: distinct(|r| &r.netdx_version),
        seed: first.report.seed,
        // Shards run side by side: the merged run took as long as the slowest.
        seconds: reports.iter().map(|r| r.seconds).fold(0.0, f64::max),
        counts,
        cases: if first.report.cases.is_empty() && cases.is_empty() {
            Vec::new()
        } else {
            cases
        },
        findings,
        interrupted: false,
        shard: None,
        stopped_early: false,
        started: shards.iter().filter_map(|s| s.report.started.clone()).min(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn shard_specs_parse_from_flags_and_scheduler_variables() {
        let none = env(&[]);
        assert_eq!(
            Shard::parse("2/3", &none).unwrap(),
            Shard { index: 2, count: 3 }
        );
        for bad in ["0/3", "4/3", "1/0", "x/3", "3", "auto"] {
            assert!(Shard::parse(bad, &none).is_err(), "{bad}");
        }
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(
            Shard::parse("auto", &slurm).unwrap(),
            Shard { index: 2, count: 3 }
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert_eq!(
            Shard::parse("auto/4", &k8s).unwrap(),
            Shard { index: 1, count: 4 }
        );
        let err = Shard::parse("auto", &k8s).unwrap_err().to_string();
        assert!(err.contains("no shard count"), "{err}");
    }

    fn units(matrix: &str) -> Vec<Unit> {
        let text = format!(
            "data: {{builtin: spiral, classes: 3}}\nmodel: {{layers: [{{linear: {{out: 3}}}}]}}\n\
             training: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 10, steps: 5}}\n\
             checks: [smoke, initial_loss, numerics, gradient_check]\nmatrix: {matrix}\n"
        );
        let path = std::path::Path::new("sweep.yaml");
        let config = crate::config::Config::parse(&text, path).unwrap();
        let variants = crate::config::cases::expand(&text, path, &config).unwrap();
        crate::suite::plan_units(&variants, &[], 3)
    }

    #[test]
    fn adding_a_case_moves_no_unit_to_another_shard() {
        let before = units("{training.optimizer.lr: [0.1, 0.01]}");
        let after = units("{training.optimizer.lr: [0.1, 0.01, 0.001]}");
        assert_eq!(before.len(), 8);
        assert_eq!(after.len(), 12);
        for u in &before {
            assert!(after.contains(u), "{u:?} moved");
        }
        for s in 1..=3 {
            assert!(
                after.iter().any(|u| u.shard == s),
                "12 units reach shard {s}"
            );
        }
    }
}
