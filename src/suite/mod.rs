//! Running a suite: the case's config and data → a [`Context`] → each check in turn → a
//! [`SuiteReport`]. A check that errors (a GPU fault, say) becomes a failed finding naming the
//! error; the other checks still run.

pub mod preflight;
pub use preflight::{check_file, load_data, preflight};
pub mod fixes;
pub mod schema;
pub mod select;
pub mod shard;

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checks::{CheckSpec, Context, Finding, Section, Verdict};
use crate::config::Config;
use crate::error::Result;
use crate::gpu::Gpu;

/// The built-in default suite: the whole checklist on the spiral data.
pub const DEFAULT_SUITE: &str = include_str!("../../configs/default.yaml");

/// Steps of the shared observation run at most.
pub const MAX_OBSERVE_STEPS: usize = 200;

/// Verdict counts.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    pub pass: usize,
    /// Passes with a note (`Verdict::Info`); absent from records written before it existed.
    #[serde(default)]
    pub info: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

impl Counts {
    /// `21 passed, 0 warned, 0 failed, 3 skipped`, with `(2 with notes)` after the passes when
    /// some passes carry an info note.
    pub fn summary(&self) -> String {
        let notes = if self.info > 0 {
            format!(" ({} with notes)", self.info)
        } else {
            String::new()
        };
        format!(
            "{} passed{notes}, {} warned, {} failed, {} skipped",
            self.pass + self.info,
            self.warn,
            self.fail,
            self.skip
        )
    }

    pub fn count(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Info => self.info += 1,
            Verdict::Warn => self.warn += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Skip => self.skip += 1,
        }
    }
}

/// Everything `netdx run` reports; `--format json` prints it (schema in docs/report-format.md).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SuiteReport {
    pub schema_version: u32,
    pub suite: String,
    pub file: String,
    pub model: String,
    pub dataset: String,
    /// The (last variant's) training data: shape, class counts and content hash.
    #[serde(default)]
    pub data: Option<crate::data::DataSummary>,
    pub adapter: String,
    pub backend: String,
    pub driver: String,
    pub netdx_version: String,
    pub seed: u64,
    pub seconds: f64,
    pub counts: Counts,
    /// Variant names, in order (empty for a suite without `cases:` or `matrix:`).
    #[serde(default)]
    pub cases: Vec<String>,
    pub findings: Vec<Finding>,
    /// Ctrl-C or SIGTERM stopped the run; `findings` holds the checks that completed.
    #[serde(default)]
    pub interrupted: bool,
    /// For a run with `--shard K/N`: which shard, and the whole suite's plan (see `shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<shard::ShardPlan>,
    /// `--fail-fast` stopped the run at its first failed check; `findings` holds those run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
    /// When the run began (RFC 3339, UTC); absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
}

/// What a suite run tells its caller as it goes (all optional).
pub trait SuiteEvents {
    /// A check is about to run: `case: check` or `check`.
    fn check_started(&mut self, _label: &str) {}
    /// A failed or warning check's cheap fix is about to be tried (`--try-fixes`).
    fn fix_started(&mut self, label: &str) {
        self.check_started(label)
    }
    /// A check completed.
    fn check_finished(&mut self, _finding: &Finding) {}
    /// The observation run of variant `case` ended (its step records and their tensors): heard
    /// once per variant, right after the check that made it.
    fn observed(&mut self, _case: &str, _observation: &crate::checks::Observation) {}
}

/// Events from a progress closure only.
pub struct Progress<'a>(pub &'a mut dyn FnMut(&str));

impl SuiteEvents for Progress<'_> {
    fn check_started(&mut self, label: &str) {
        (self.0)(label)
    }
}

impl SuiteReport {
    /// Adds a finding made outside the checks (a baseline comparison), counting its verdict.
    pub fn add(&mut self, f: Finding) {
        self.counts.count(f.verdict);
        self.findings.push(f);
    }

    /// 1 when a check failed, else 0.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.counts.fail > 0)
    }
}

/// Runs the config's checks (all when it lists none), or only those named in `only`, calling
/// `progress` before each check.
pub fn run_suite(
    gpu: &Gpu,
    config: &Config,
    file: &str,
    only: &[String],
    progress: &mut dyn FnMut(&str),
) -> Result<SuiteReport> {
    let options = RunOptions {
        only: only.to_vec(),
        ..Default::default()
    };
    run_variants(
        gpu,
        &[(String::new(), config.clone())],
        file,
        &options,
        &mut Progress(progress),
    )
}

/// Options of a suite run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Run only these checks (all when empty).
    pub only: Vec<String>,
    /// Stop at the first failed check (`--fail-fast`): the report holds the checks run so far.
    pub fail_fast: bool,
    /// Re-run failing and warning checks with their cheap fix (see `fixes`).
    pub try_fixes: bool,
    /// Run the observation run even when no check asks for it (for baselines).
    pub observe: bool,
    /// Run only this shard's checks (see `shard`).
    pub shard: Option<shard::Shard>,
}

/// The checks a variant runs, in report order: its list (all when none) filtered by `only`,
/// by section, then as listed.
fn planned_checks(config: &Config, only: &[String]) -> Vec<CheckSpec> {
    let mut checks = config.checks.clone().unwrap_or_else(CheckSpec::all);
    if !only.is_empty() {
        checks.retain(|c| only.iter().any(|o| o == c.name()));
    }
    checks.sort_by_key(|c| c.section());
    checks
}

/// How many checks a run of `variants` with `options` will run (its shard's only), for the
/// progress count.
pub fn planned_total(variants: &[(String, Config)], options: &RunOptions) -> usize {
    let count = options.shard.map_or(1, |s| s.count);
    plan_units(variants, &options.only, count)
        .iter()
        .filter(|u| options.shard.is_none_or(|s| u.shard == s.index))
        .count()
}

/// Every unit (check of a variant) of the suite in report order, with its shard of `count`.
pub fn plan_units(
    variants: &[(String, Config)],
    only: &[String],
    count: usize,
) -> Vec<shard::Unit> {
    variants
        .iter()
        .flat_map(|(name, config)| {
            planned_checks(config, only)
                .into_iter()
                .map(move |c| shard::Unit {
                    case: name.clone(),
                    check: c.name().to_string(),
                    shard: shard::shard_of(name, c.name(), count),
                })
        })
        .collect()
}

/// Runs every variant `(name, config)` of a suite (see `config::cases`) into one report;
/// findings carry their variant's name when there is more than one.
pub fn run_variants(
    gpu: &Gpu,
    variants: &[(String, Config)],
    file: &str,
    options: &RunOptions,
    events: &mut dyn SuiteEvents,
) -> Result<SuiteReport> {
    let only = &options.only;
    let start = Instant::now();
    let started = crate::runs::time::now_rfc3339();
    let (_, config) = variants
        .first()
        .ok_or_else(|| crate::Error::Usage("the suite has no variants".into()))?;
    let named = variants.iter().any(|(n, _)| !n.is_empty());
    let mut findings = Vec::new();
    let (mut model, mut dataset_name, mut data) = (String::new(), String::new(), None);
    let mut interrupted = false;
    let mut stopped_early = false;
    let plan = options.shard.map(|s| shard::ShardPlan {
        shard: s,
        units: plan_units(variants, only, s.count),
    });
    'variants: for (name, config) in variants {
        let mut checks = planned_checks(config, only);
        if let Some(s) = options.shard {
            checks.retain(|c| s.owns(name, c.name()));
            if checks.is_empty() {
                // Another shard's variant: no data, no GPU work here.
                continue;
            }
        }
        let dataset = crate::data::load(&config.data, config.seed, &config.base_dir)?.train;
        dataset_name = dataset.name.clone();
        data = Some(dataset.summary());
        let mut ctx = Context::new(gpu, config.clone(), dataset, MAX_OBSERVE_STEPS)?;
        model = ctx.model.describe();
        // The observation run's steps go to the caller (the run record's metrics.jsonl) as
        // soon as a check has made it, not when the variant ends: a suite killed later keeps
        // them.
        let mut reported = false;
        let mut report_observation = |ctx: &Context, events: &mut dyn SuiteEvents| {
            if let (false, Some(obs)) = (reported, ctx.observed()) {
                events.observed(name, obs);
                reported = true;
            }
        };
        for c in &checks {
            events.check_started(&if named {
                format!("{name}: {}", c.name())
            } else {
                c.name().to_string()
            });
            let started = std::time::Instant::now();
            let mut finding = c.run(&mut ctx).unwrap_or_else(|e| Finding {
                error: true,
                ..Finding::new(c.name(), c.section(), Verdict::Fail, "error")
                    .message(format!("the check could not run: {e}"))
                    .fix("see the error; a GPU or driver fault also shows in `netdx adapters`")
            });
            if named {
                finding.case = Some(name.clone());
            }
            report_observation(&ctx, events);
            if crate::interrupt::requested() {
                // The check stopped part-way: it has no verdict.
                interrupted = true;
                break;
            }
            if options.try_fixes && matches!(finding.verdict, Verdict::Fail | Verdict::Warn) {
                events.fix_started(&format!("{}: trying a fix", c.name()));
                finding.tried_fix =
                    fixes::try_fix(gpu, config, c, &finding, MAX_OBSERVE_STEPS).unwrap_or(None);
            }
            finding.seconds = Some(started.elapsed().as_secs_f64());
            events.check_finished(&finding);
            let failed = finding.verdict == Verdict::Fail;
            findings.push(finding);
            if failed && options.fail_fast {
                stopped_early = true;
                break;
            }
        }
        if options.observe && !interrupted {
            // A baseline compares the observation run, which no listed check may have asked
            // for.
            ctx.observation()?;
        }
        report_observation(&ctx, events);
        if interrupted || stopped_early {
            break 'variants;
        }
    }
    let mut counts = Counts::default();
    for f in &findings {
        counts.count(f.verdict);
    }
    let info = gpu.info();
    Ok(SuiteReport {
        schema_version: 1,
        suite: config.name.clone().unwrap_or_else(|| file.to_string()),
        file: file.to_string(),
        model,
        dataset: dataset_name,
        data,
        adapter: info.name.clone(),
        backend: format!("{:?}", info.backend).to_lowercase(),
        driver: format!("{} {}", info.driver, info.driver_info)
            .trim()
            .to_string(),
        netdx_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: config.seed,
        seconds: start.elapsed().as_secs_f64(),
        counts,
        cases: if named {
            variants.iter().map(|(n, _)| n.clone()).collect()
        } else {
            Vec::new()
        },
        findings,
        interrupted,
        shard: plan,
        stopped_early,
        started: Some(started),
    })
}

/// Sections in report order with the findings of variant `case` (None: a plain suite).
pub fn by_section<'a>(
    report: &'a SuiteReport,
    case: Option<&str>,
) -> Vec<(Section, Vec<&'a Finding>)> {
    Section::ALL
        .iter()
        .map(|s| {
            let fs = report
                .findings
                .iter()
                .filter(|f| f.section == *s && f.case.as_deref() == case)
                .collect::<Vec<_>>();
            (*s, fs)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}
