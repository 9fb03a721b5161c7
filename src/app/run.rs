//! `netdx run [SUITE]`: the checklist, its report, and the run record.

use std::path::{Path, PathBuf};

use super::recording::{self, keep_first, Start};
use crate::checks::{Finding, Observation, Verdict};
use crate::cli::{Format, RunArgs};
use crate::error::{Error, Result};
use crate::runs::metrics::step_line;
use crate::runs::tensorboard::{self, Histogram};
use crate::runs::{baseline, Overrides, Recorder, RunKind, Runs, Status};
use crate::suite::{SuiteEvents, SuiteReport};

/// `netdx run [SUITE]`.
pub fn run_command(args: &RunArgs) -> Result<u8> {
    let (text, path) = match &args.suite {
        Some(p) => (crate::config::read_text(p)?, p.to_path_buf()),
        None => (
            crate::suite::DEFAULT_SUITE.to_string(),
            Path::new("configs/default.yaml (built in)").to_path_buf(),
        ),
    };
    Ok(run_source(args, &text, &path)?.0)
}

/// Progress (a bar on a terminal, plain lines elsewhere), and step metrics into the record.
struct Events<'a> {
    progress: super::progress::Progress,
    checks_started: u64,
    recorder: Option<&'a mut Recorder>,
    write_error: Option<Error>,
    /// The first step of the first variant's observation run (what baselines compare).
    first_step: Option<serde_json::Value>,
    tensorboard: Option<tensorboard::Runs>,
}

impl SuiteEvents for Events<'_> {
    fn check_started(&mut self, label: &str) {
        self.checks_started += 1;
        self.progress.start(self.checks_started, label);
    }

    fn fix_started(&mut self, label: &str) {
        self.progress.start(self.checks_started, label);
    }

    fn check_finished(&mut self, finding: &Finding) {
        self.progress.done(self.checks_started, &finding.check);
    }

    fn observed(&mut self, case: &str, obs: &Observation) {
        for record in &obs.records {
            let line = step_line(case, record, &obs.infos, &obs.activation_names);
            let value = serde_json::to_value(&line).unwrap_or_default();
            if let Some(rec) = self.recorder.as_deref_mut() {
                keep_first(&mut self.write_error, rec.metric(&line));
            }
            if let Some(tb) = &mut self.tensorboard {
                let written = tb.writer(case).and_then(|w| w.metric_line(&value));
                keep_first(&mut self.write_error, written);
            }
            if self.first_step.is_none() {
                self.first_step = Some(value);
            }
        }
        if let Some(tb) = &mut self.tensorboard {
            for snap in &obs.histograms {
                for l in &snap.layers {
                    let h = Histogram::from_bins(l.lo as f64, l.hi as f64, &l.counts);
                    let tag = format!("activations/{}", l.name);
                    let written = tb
                        .writer(case)
                        .and_then(|w| w.histogram(snap.step as u64, &tag, &h));
                    keep_first(&mut self.write_error, written);
                }
            }
        }
    }
}

/// Why a suite did not pass: its failed checks.
pub(crate) fn failed_checks(findings: &[Finding]) -> Option<String> {
    checks_with(findings, Verdict::Fail, "failed checks")
}

/// `what: case: check, check, …` for the checks with `verdict`; `None` when there are none.
fn checks_with(findings: &[Finding], verdict: Verdict, what: &str) -> Option<String> {
    let named: Vec<String> = findings
        .iter()
        .filter(|f| f.verdict == verdict)
        .map(|f| format!("{}{}", f.case_prefix(), f.check))
        .collect();
    (!named.is_empty()).then(|| format!("{what}: {}", named.join(", ")))
}

/// `run` on the suite text `text` read from `path` (a rerun passes a record's copy); returns
/// the exit code and the run record's folder.
pub fn run_source(args: &RunArgs, text: &str, path: &Path) -> Result<(u8, Option<PathBuf>)> {
    if args.report && args.record.no_record {
        return Err(Error::Usage(
            "--report writes into the run's record: drop --no-record".into(),
        ));
    }
    recording::preflight(&args.record, &[("--junit", args.junit.as_deref())])?;
    let file = path.display().to_string();
    let settings = args.settings.all();
    let original = text;
    let (written, config) = crate::config::settings::apply(text, path, &settings)?;
    let text = written.as_str();
    let variants = crate::config::cases::expand(text, path, &config)?;
    let only = crate::suite::select::select(&args.only, &args.skip)?;
    // Everything that can be checked without a GPU, first: each variant's data and model.
    for (_, v) in &variants {
        let data = crate::suite::load_data(v, text, path)?;
        crate::suite::preflight(v, text, path, &data.train)?;
    }
    let shard = args
        .shard
        .as_deref()
        .map(|s| crate::suite::shard::Shard::parse(s, &|k| std::env::var(k).ok()))
        .transpose()?;
    if shard.is_some() && args.baseline.is_some() {
        return Err(Error::Usage(
            "--baseline compares a whole run's first step: run it without --shard".into(),
        ));
    }
    // Load the baseline first: a wrong name is a usage error before any GPU work.
    let runs = Runs::at(args.record.runs_dir.as_deref());
    let baseline = args
        .baseline
        .as_deref()
        .map(|name| baseline::load(&runs.root, name))
        .transpose()?;
    let choices = super::adapters_parallel::choices(&args.device)?;
    if choices.len() > 1 && shard.is_some() {
        return Err(Error::Usage(
            "--shard with several adapters: give one or the other (each shard can use --adapter all)"
                .into(),
        ));
    }
    let gpus = super::adapters_parallel::open(&args.device, &choices)?;
    let gpu = &gpus[0];
    let adapters: Vec<String> = gpus.iter().map(|g| g.describe()).collect();
    let options = crate::suite::RunOptions {
        only: only.clone(),
        fail_fast: args.fail_fast,
        try_fixes: args.try_fixes,
        observe: baseline.is_some(),
        shard,
    };
    let mut recorder = recording::start(
        &args.record,
        gpu,
        Start {
            kind: RunKind::Run,
            source: original,
            path,
            config: &config,
            overrides: Overrides {
                only: only.clone(),
                try_fixes: args.try_fixes,
                shard: shard.map(|s| s.to_string()),
                set: settings.clone(),
                ..Default::default()
            },
        },
    )?;
    let dir = recorder.as_ref().map(|r| r.dir().to_path_buf());
    let tensorboard = recording::tensorboard(&args.record, recorder.as_ref())?;
    let total = crate::suite::planned_total(&variants, &options) as u64;
    let started = std::time::Instant::now();
    let mut events = Events {
        progress: super::progress::Progress::new("check", total),
        checks_started: 0,
        recorder: recorder.as_mut(),
        write_error: None,
        first_step: None,
        tensorboard,
    };
    let report =
        super::adapters_parallel::run(&gpus, &variants, &file, &options, text, &mut events);
    events.progress.finish();
    if let Some(tb) = &mut events.tensorboard {
        // Each case that ran, with its hyperparameters, for TensorBoard's HParams table.
        let end = crate::runs::time::now_ms() as f64 / 1000.0;
        let start = end - started.elapsed().as_secs_f64();
        for (name, variant) in &variants {
            if tb.has(name) {
                let hparams = tensorboard::hparams_of(variant);
                let written = tb
                    .writer(name)
                    .and_then(|w| w.hparams(&hparams, start, end));
                keep_first(&mut events.write_error, written);
            }
        }
        keep_first(&mut events.write_error, tb.experiment());
    }
    let first_step = events.first_step.take();
    if let Some(tb) = &events.tensorboard {
        eprintln!("tensorboard: {}", tb.root().display());
    }
    let mut report = match (events.write_error, report) {
        (Some(e), Ok(_)) => Err(e),
        (_, r) => r,
    };
    if let (Some(b), Ok(r)) = (&baseline, &mut report) {
        if !r.interrupted {
            let current = first_step
                .as_ref()
                .map(baseline::values)
                .unwrap_or_default();
            let mut f = baseline::finding(b, &baseline::compare(b, &current));
            f.case = r.cases.first().cloned();
            r.add(f);
        }
    }
    if let (Some(rec), Ok(r)) = (&mut recorder, &report) {
        if let Some(d) = &r.data {
            rec.data(d.clone())?;
        }
        rec.attach("checks.json", r)?;
    }
    let strict = args.fail_on_warn;
    let report: SuiteReport = recording::finish(recorder, report, |r| {
        let warned = strict && r.counts.warn > 0;
        let status = if r.interrupted {
            Status::Interrupted
        } else if r.counts.fail > 0 || warned {
            Status::Failed
        } else {
            Status::Passed
        };
        let cause = if r.interrupted {
            Some(format!(
                "interrupted after {} completed checks",
                r.findings.len()
            ))
        } else if r.counts.fail == 0 && warned {
            checks_with(&r.findings, Verdict::Warn, "warnings")
        } else {
            failed_checks(&r.findings)
        };
        let mut result = serde_json::json!({"counts": r.counts, "seconds": r.seconds});
        if adapters.len() > 1 {
            // The environment names the first adapter; a parallel run used these.
            result["adapters"] = serde_json::json!(adapters);
        }
        (status, cause, Some(result))
    })?;
    if let (true, Some(dir)) = (args.report, &dir) {
        let out = dir.join("report.html");
        super::runs::write_report(dir, &out)?;
        eprintln!("report: {}", out.display());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, crate::report::to_junit(&report)).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    }
    match args.format {
        Format::Text => {
            print!("{}", crate::report::to_text(&report, args.color.enabled()));
            if let Some(n) = args.durations {
                print!("{}", slowest(&report, n));
            }
        }
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    if report.interrupted {
        eprintln!("interrupted: the completed checks are reported and recorded");
        return Ok((130, dir));
    }
    if report.stopped_early {
        eprintln!(
            "stopped at the first failed check (--fail-fast): {} checks ran",
            report.findings.len()
        );
    }
    let code = report.exit_code();
    if code == 0 && strict && report.counts.warn > 0 {
        eprintln!(
            "{} (--fail-on-warn: exit 1)",
            checks_with(&report.findings, Verdict::Warn, "warnings").unwrap_or_default()
        );
        return Ok((1, dir));
    }
    Ok((code, dir))
}

/// `--durations N`: the N slowest checks, slowest first.
fn slowest(report: &SuiteReport, n: usize) -> String {
    let mut timed: Vec<&crate::checks::Finding> = report
        .findings
        .iter()
        .filter(|f| f.seconds.is_some())
        .collect();
    timed.sort_by(|a, b| {
        b.seconds
            .unwrap_or(0.0)
            .total_cmp(&a.seconds.unwrap_or(0.0))
    });
    let mut out = format!("\nslowest {} checks:\n", n.min(timed.len()));
    for f in timed.iter().take(n) {
        out.push_str(&format!(
            "  {:>7.2} s  {}{}\n",
            f.seconds.unwrap_or(0.0),
            crate::text::printable(&f.case_prefix(), false),
            f.check
        ));
    }
    out
}
