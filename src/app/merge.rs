//! `netdx merge RECORDS… -o DIR`: the shards of one suite run back into one record.

use std::path::{Path, PathBuf};

use crate::cli::Format;
use crate::error::{Error, Result};
use crate::runs::record::{read_record, write_atomic, RunKind, RunRecord, Status};
use crate::suite::shard::{self, ShardReport};
use crate::suite::SuiteReport;

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// One shard's record folder: its record (read already; `None` when the folder has none),
/// report and suite text.
fn load_shard(dir: &Path, record: Option<RunRecord>) -> Result<(RunRecord, ShardReport)> {
    let source = dir.display().to_string();
    let Some(record) = record else {
        return Err(Error::Usage(format!(
            "merge: {source} is not a run record folder (no record.json)"
        )));
    };
    if record.kind != RunKind::Run {
        return Err(Error::Usage(format!(
            "merge: {source} is a `{}` record; merge takes `netdx run --shard` records",
            match record.kind {
                RunKind::Run => "run",
                RunKind::Train => "train",
            }
        )));
    }
    let checks = dir.join("checks.json");
    if !checks.is_file() {
        return Err(Error::Usage(format!(
            "merge: {source} has no checks.json (status {}: {})",
            record.status.name(),
            record.cause.as_deref().unwrap_or("no cause recorded")
        )));
    }
    let report: SuiteReport = serde_json::from_str(&read(&checks)?)
        .map_err(|e| Error::Usage(format!("merge: {}: {e}", checks.display())))?;
    let mut options = record.overrides.clone();
    options.shard = None;
    let shard = ShardReport {
        source,
        report,
        suite_text: read(&dir.join("source.yaml"))?,
        seed: record.seed,
        overrides: serde_json::to_string(&options).unwrap_or_default(),
    };
    Ok((record, shard))
}

/// The shards' step metrics as the unsharded run records them: a variant whose checks fell in
/// several shards had its observation run in each (identically, same seed), so each (case,
/// step) is kept once, in case order then step order.
fn merged_metrics(shards: &[String], cases: &[String]) -> String {
    let mut lines: Vec<((usize, u64), &str)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for line in shards.iter().flat_map(|s| s.lines()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let case = v["case"].as_str().unwrap_or("").to_string();
        let step = v["step"].as_u64().unwrap_or(0);
        if seen.insert((case.clone(), step)) {
            let order = cases.iter().position(|c| *c == case).unwrap_or(0);
            lines.push(((order, step), line));
        }
    }
    lines.sort_by_key(|(k, _)| *k);
    lines.iter().map(|(_, l)| format!("{l}\n")).collect()
}

/// The records to merge: each folder once, and one attempt per shard. A scheduler that retries
/// a task (a Kubernetes Indexed Job's `backoffLimit`, a Slurm requeue) leaves a record per
/// attempt in the runs folder that the merge is given; the newest finished one (passed or
/// failed) is kept and the others are named on stderr. A shard with no finished attempt keeps
/// its newest, which `load_shard` then refuses with its status. Each folder comes with its
/// record, `None` for one without `record.json` (refused by `load_shard`).
fn one_attempt_per_shard(records: &[PathBuf]) -> Result<Vec<(PathBuf, Option<RunRecord>)>> {
    let mut seen = std::collections::HashSet::new();
    // Per shard (`K/N`, from each record), its attempts.
    type Attempts = Vec<(PathBuf, RunRecord)>;
    let mut groups: Vec<(Option<String>, Attempts)> = Vec::new();
    let mut kept = Vec::new();
    for dir in records {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if !seen.insert(canonical) {
            continue;
        }
        if !dir.join("record.json").is_file() {
            kept.push((dir.clone(), None));
            continue;
        }
        let record = read_record(dir)?;
        let shard = record.overrides.shard.clone();
        match groups
            .iter_mut()
            .find(|(s, _)| shard.is_some() && *s == shard)
        {
            Some((_, attempts)) => attempts.push((dir.clone(), record)),
            None => groups.push((shard, vec![(dir.clone(), record)])),
        }
    }
    let finished = |r: &RunRecord| matches!(r.status, Status::Passed | Status::Failed);
    for (shard, mut attempts) in groups {
        // Finished attempts first, then the newest.
        attempts.sort_by_key(|(_, r)| (finished(r), r.started_ms));
        let (chosen, record) = attempts.pop().expect("a group holds one record at least");
        if !attempts.is_empty() {
            let left_out: Vec<String> = attempts
                .iter()
                .map(|(d, r)| {
                    format!(
                        "{} ({}, started {})",
                        d.display(),
                        r.status.name(),
                        r.started
                    )
                })
                .collect();
            eprintln!(
                "merge: shard {} has {} records (a retried task?): using {} ({}, started {}); leaving out {}",
                shard.as_deref().unwrap_or("?"),
                attempts.len() + 1,
                chosen.display(),
                record.status.name(),
                record.started,
                left_out.join(", ")
            );
        }
        kept.push((chosen, Some(record)));
    }
    Ok(kept)
}

/// `netdx merge`.
pub fn merge_command(records: &[PathBuf], output: &Path, format: Format) -> Result<u8> {
    let mut loaded = one_attempt_per_shard(records)?
        .into_iter()
        .map(|(dir, record)| load_shard(&dir, record))
        .collect::<Result<Vec<_>>>()?;
    // Shard order, whatever order they were given in.
    loaded.sort_by_key(|(_, s)| s.report.shard.as_ref().map_or(0, |p| p.shard.index));
    let shards_summary: Vec<serde_json::Value> = loaded
        .iter()
        .map(|(r, s)| {
            serde_json::json!({
                "shard": s.report.shard.as_ref().map(|p| p.shard.to_string()),
                "record": s.source,
                "id": r.id,
                "adapter": s.report.adapter,
                "seconds": s.report.seconds,
            })
        })
        .collect();
    let metrics: Vec<String> = loaded
        .iter()
        .map(|(_, s)| std::fs::read_to_string(Path::new(&s.source).join("metrics.jsonl")))
        .collect::<std::io::Result<_>>()
        .unwrap_or_default();
    let first_record = loaded[0].0.clone();
    let suite_text = loaded[0].1.suite_text.clone();
    let (started, started_ms) = loaded
        .iter()
        .map(|(r, _)| (r.started.clone(), r.started_ms))
        .min_by_key(|(_, ms)| *ms)
        .unwrap_or_default();
    let finished = loaded.iter().filter_map(|(r, _)| r.finished.clone()).max();
    let report = shard::merge(loaded.into_iter().map(|(_, s)| s).collect())?;

    if output.join("record.json").exists() {
        return Err(Error::Usage(format!(
            "merge: {} already holds a record; choose another -o",
            output.display()
        )));
    }
    std::fs::create_dir_all(output).map_err(|source| Error::Io {
        path: output.to_path_buf(),
        source,
    })?;
    let write = |name: &str, bytes: &[u8]| write_atomic(&output.join(name), bytes);
    write("source.yaml", suite_text.as_bytes())?;
    write(
        "checks.json",
        serde_json::to_string_pretty(&report)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    write("junit.xml", crate::report::to_junit(&report).as_bytes())?;
    write(
        "report.txt",
        crate::report::to_text(&report, false).as_bytes(),
    )?;
    write(
        "metrics.jsonl",
        merged_metrics(&metrics, &report.cases).as_bytes(),
    )?;
    let mut overrides = first_record.overrides.clone();
    overrides.shard = None;
    let record = RunRecord {
        id: output
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "merged".into()),
        status: if report.counts.fail > 0 {
            Status::Failed
        } else {
            Status::Passed
        },
        cause: super::run::failed_checks(&report.findings),
        started,
        started_ms,
        finished,
        seconds: Some(report.seconds),
        pid: std::process::id(),
        command: std::env::args().collect(),
        overrides,
        data: report.data.clone(),
        result: Some(serde_json::json!({
            "counts": report.counts,
            "seconds": report.seconds,
            "merged_from": shards_summary,
        })),
        ..first_record
    };
    write(
        "record.json",
        serde_json::to_string_pretty(&record)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    match format {
        Format::Text => print!(
            "{}",
            crate::report::to_text(&report, crate::report::use_color())
        ),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    eprintln!(
        "merged {} shards into {}",
        shards_summary.len(),
        output.display()
    );
    Ok(report.exit_code())
}
