//! `netdx runs list | show | diff | rerun | gc`.

use std::path::{Path, PathBuf};

use super::{run::run_source, train::train_source};
use crate::cli::{
    BaselineCommand, DeviceArgs, Format, RecordArgs, RunArgs, RunsCommand, StatusArg, TrainArgs,
};
use crate::error::{Error, Result};
use crate::runs::history::{self, ListFilter};
use crate::runs::{baseline, record::read_record, rerun, RunKind, Runs, Status};
use crate::text::printable;

fn status(s: StatusArg) -> Status {
    match s {
        StatusArg::Running => Status::Running,
        StatusArg::Passed => Status::Passed,
        StatusArg::Failed => Status::Failed,
        StatusArg::Interrupted => Status::Interrupted,
        StatusArg::Crashed => Status::Crashed,
        StatusArg::Unknown => Status::Unknown,
    }
}

/// `netdx runs …`.
pub fn runs_command(command: &RunsCommand, runs_dir: Option<&std::path::Path>) -> Result<u8> {
    let runs = Runs::checked(runs_dir)?;
    match command {
        RunsCommand::List {
            suite,
            status: st,
            since,
            json,
        } => {
            let since = since
                .as_deref()
                .map(|text| {
                    crate::runs::time::parse_since(text, crate::runs::time::now_seconds())
                        .map(crate::runs::time::rfc3339)
                        .ok_or_else(|| {
                            Error::Usage(format!(
                                "--since {text:?}: expected a date (2026-12-01), a UTC time (2026-12-01T08:30), today, yesterday or an age (90m, 24h, 7d, 2w)"
                            ))
                        })
                })
                .transpose()?;
            let filter = ListFilter {
                suite: suite.clone(),
                status: st.map(status),
                since,
            };
            let scan = runs.scan()?;
            eprint!("{}", scan.warnings());
            let all = scan.records;
            if *json {
                let records: Vec<_> = all
                    .iter()
                    .map(|(_, r)| r)
                    .filter(|r| filter.keeps(r))
                    .map(history::json_view)
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&records).unwrap_or_default()
                );
            } else {
                print!("{}", history::list(&all, &filter));
            }
            Ok(0)
        }
        RunsCommand::Show { id, json } => {
            let (dir, record) = runs.find(id)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&history::json_view(&record)).unwrap_or_default()
                );
            } else {
                print!("{}", printable(&history::show(&dir, &record), true));
            }
            Ok(0)
        }
        RunsCommand::Diff { a, b } => {
            let (da, ra) = runs.find(a)?;
            let (db, rb) = runs.find(b)?;
            print!(
                "{}",
                printable(&history::diff((&da, &ra), (&db, &rb)), true)
            );
            Ok(0)
        }
        RunsCommand::Rerun { id, device } => rerun_command(&runs, id, device),
        RunsCommand::Gc { keep, dry_run } => {
            eprint!("{}", runs.scan()?.warnings());
            let removed = history::gc(&runs, *keep, *dry_run)?;
            let verb = if *dry_run { "would remove" } else { "removed" };
            println!("{verb} {} runs", removed.len());
            for id in removed {
                println!("  {id}");
            }
            Ok(0)
        }
    }
}

/// Runs the recorded command again from the record's copy of its config, records the rerun
/// beside it, and reports whether the result matched.
fn rerun_command(runs: &Runs, id: &str, device: &DeviceArgs) -> Result<u8> {
    let (dir, original) = runs.find(id)?;
    let source_path = dir.join("source.yaml");
    let source = std::fs::read_to_string(&source_path).map_err(|e| Error::Io {
        path: source_path,
        source: e,
    })?;
    // Parse as if from the original file, so that data paths resolve as they did.
    let path = PathBuf::from(&original.file);
    let record = RecordArgs {
        runs_dir: Some(runs.root.clone()),
        no_record: false,
        tensorboard: None,
    };
    let o = &original.overrides;
    eprintln!("rerunning {} ({})", original.id, original.command.join(" "));
    let (code, new_dir) = match original.kind {
        RunKind::Train => train_source(
            &TrainArgs {
                config: path.clone(),
                steps: o.steps,
                settings: crate::cli::SettingsArgs {
                    set: o.set.clone(),
                    seed: None,
                },
                every: 0,
                eval_every: None,
                json: false,
                weights: o.weights.as_ref().map(PathBuf::from),
                save: None,
                save_optimizer: false,
                resume: o.resume.as_ref().map(PathBuf::from),
                checkpoint_every: None,
                dump: None,
                dump_step: 0,
                record,
                device: device.clone(),
            },
            &source,
            &path,
        )?,
        RunKind::Run => run_source(
            &RunArgs {
                suite: Some(path.clone()),
                format: Format::Text,
                junit: None,
                only: o.only.clone(),
                skip: Vec::new(),
                settings: crate::cli::SettingsArgs {
                    set: o.set.clone(),
                    seed: None,
                },
                fail_on_warn: false,
                fail_fast: false,
                durations: None,
                color: crate::cli::ColorArg::Auto,
                try_fixes: o.try_fixes,
                baseline: None,
                report: false,
                // A shard reruns as that shard; a merged record as the whole suite.
                shard: o.shard.clone(),
                record,
                device: device.clone(),
            },
            &source,
            &path,
        )?,
    };
    let new_dir = new_dir.ok_or_else(|| Error::Usage("the rerun left no record".into()))?;
    let rerun_record = read_record(&new_dir)?;
    let verdict = rerun::compare((&dir, &original), (&new_dir, &rerun_record));
    println!(
        "\nrerun {} of {}: {}",
        rerun_record.id,
        original.id,
        verdict.to_text()
    );
    Ok(match verdict.outcome {
        rerun::Match::Differs => 1,
        _ => code,
    })
}

/// Writes the HTML report of the run recorded in `dir` to `out`.
pub fn write_report(dir: &Path, out: &Path) -> Result<()> {
    let record = read_record(dir)?;
    let report = history::checks_of(dir);
    let metrics = history::metrics_of(dir);
    let page = crate::report::html::page(&record, report.as_ref(), &metrics);
    crate::runs::record::write_atomic(out, page.as_bytes())
}

/// `netdx report ID`.
pub fn report_command(id: &str, output: Option<&Path>, runs_dir: Option<&Path>) -> Result<u8> {
    let (dir, _) = Runs::at(runs_dir).find(id)?;
    let out = output.map_or_else(|| dir.join("report.html"), Path::to_path_buf);
    write_report(&dir, &out)?;
    println!("{}", out.display());
    Ok(0)
}

/// `netdx baseline save | list`.
pub fn baseline_command(
    command: &BaselineCommand,
    runs_dir: Option<&std::path::Path>,
) -> Result<u8> {
    let runs = Runs::at(runs_dir);
    match command {
        BaselineCommand::Save { id, name } => {
            let (dir, record) = runs.find(id)?;
            let first = history::metrics_of(&dir).into_iter().next();
            let values = first.as_ref().map(baseline::values).unwrap_or_default();
            if !values.keys().any(|k| k.starts_with("grad_norm.")) {
                return Err(Error::Usage(format!(
                    "run {} has no per-tensor statistics to save (a `netdx train` run, or a suite whose checks did not use the observation run); save from a `netdx run` of a whole suite, or one with gradient_flow, update_ratio or activation_stats",
                    record.id
                )));
            }
            let name = name.clone().unwrap_or_else(|| slug(&record.suite));
            let b = baseline::Baseline {
                name,
                run: record.id.clone(),
                suite: record.suite.clone(),
                adapter: record.environment.adapter.name.clone(),
                bands: Default::default(),
                values,
            };
            let path = baseline::save(&runs.root, &b)?;
            println!(
                "baseline `{}`: {} statistics of run {} → {}",
                b.name,
                b.values.len(),
                b.run,
                path.display()
            );
            Ok(0)
        }
        BaselineCommand::List => {
            for n in baseline::names(&runs.root) {
                let b = baseline::load(&runs.root, &n)?;
                println!(
                    "{:<24} run {}  {} statistics  ({})",
                    b.name,
                    b.run,
                    b.values.len(),
                    b.adapter
                );
            }
            Ok(0)
        }
    }
}

/// A file-name-safe form of a suite name: `default (spiral MLP)` → `default-spiral-MLP`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-')
        .trim_start_matches('.')
        .to_string()
}
