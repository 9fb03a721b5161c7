//! One run's record on disk: a directory named by time and a short random id, holding
//! `record.json` (what ran, where, on what, and how it ended), `source.yaml` (the config as
//! given), `metrics.jsonl` (one line per training step, flushed as written), `checks.json`
//! (the suite report, for `netdx run`) and `git.diff` (uncommitted changes, when dirty).
//! JSON files are written whole to a temporary name and renamed, so a reader never sees half a
//! file; the record says `running` from the start, so a killed process leaves a record too.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::environment::Environment;
use super::liveness::{self, Origin};
use super::time;
use crate::data::DataSummary;
use crate::error::{Error, Result};

/// Which command made the run.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `netdx run`: a suite of checks.
    Run,
    /// `netdx train`: one training run.
    Train,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Passed,
    Failed,
    Interrupted,
    Crashed,
    /// Shown only, never written: a `running` record whose writer cannot be checked from
    /// here (another host or PID namespace) and whose heartbeat is recent (see `liveness`).
    Unknown,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::Crashed => "crashed",
            Status::Unknown => "unknown",
        }
    }

    /// How a run that ended with `error` is marked: a non-finite loss or a config the run
    /// found impossible (a usage error, exit 2) fails it, a signal interrupts it, anything else
    /// (a device or I/O error) crashed it.
    pub fn of_error(error: &Error) -> Status {
        match error {
            Error::Interrupted { .. } | Error::InterruptedResumable { .. } => Status::Interrupted,
            Error::NonFinite { .. } => Status::Failed,
            e if e.exit_code() == 2 => Status::Failed,
            _ => Status::Crashed,
        }
    }
}

/// Command-line choices that change what ran, beyond the config file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Overrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    #[serde(default)]
    pub try_fixes: bool,
    /// `K/N` for one shard of a suite (`run --shard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// `--set KEY.PATH=VALUE` and `--seed N` (as `seed=N`), applied over `source.yaml`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
    /// `train --resume CHECKPOINT`: the checkpoint it continued from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
}

impl std::fmt::Display for Overrides {
    /// As the flags were given: `--steps 100 --only smoke,numerics`, or `no flags`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut flags = Vec::new();
        if let Some(n) = self.steps {
            flags.push(format!("--steps {n}"));
        }
        if let Some(w) = &self.weights {
            flags.push(format!("--weights {w}"));
        }
        if !self.only.is_empty() {
            flags.push(format!("--only {}", self.only.join(",")));
        }
        if self.try_fixes {
            flags.push("--try-fixes".into());
        }
        if let Some(s) = &self.shard {
            flags.push(format!("--shard {s}"));
        }
        for s in &self.set {
            flags.push(format!("--set {s}"));
        }
        if let Some(r) = &self.resume {
            flags.push(format!("--resume {r}"));
        }
        if flags.is_empty() {
            f.write_str("no flags")
        } else {
            f.write_str(&flags.join(" "))
        }
    }
}

/// `record.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub schema_version: u32,
    pub id: String,
    pub kind: RunKind,
    pub status: Status,
    /// Why the run did not pass: the error, or the failed checks.
    pub cause: Option<String>,
    pub started: String,
    /// Milliseconds since the Unix epoch at the start: orders runs begun in the same second.
    #[serde(default)]
    pub started_ms: u64,
    pub finished: Option<String>,
    pub seconds: Option<f64>,
    /// The process that wrote the record (a `running` record whose process is gone crashed).
    pub pid: u32,
    /// Where `pid` is counted: host, boot and PID namespace (absent in records written before
    /// netdx recorded them; see `liveness`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    pub command: Vec<String>,
    /// The suite or config file (absolute), or a note for the built-in suite.
    pub file: String,
    /// The folder data paths are relative to.
    pub base_dir: String,
    pub suite: String,
    pub seed: u64,
    pub overrides: Overrides,
    /// The config with every default filled in (the first variant's, for suites with cases).
    pub config: serde_json::Value,
    pub environment: Environment,
    pub data: Option<DataSummary>,
    /// Key results: the training summary, or the suite's verdict counts.
    pub result: Option<serde_json::Value>,
    /// When `record.json` was last modified (its writer's heartbeat), as read from disk; not
    /// part of the file.
    #[serde(skip)]
    pub heartbeat: Option<std::time::SystemTime>,
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(path, text.as_bytes())
}

/// A random-enough short id: time, process and a counter through SplitMix64.
fn short_id(attempt: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = crate::rng::SplitMix64::new(
        nanos ^ (u64::from(std::process::id()) << 32) ^ attempt.wrapping_mul(0x9E37),
    );
    format!("{:06x}", rng.next_u64() & 0xff_ffff)
}

/// The folder of the record this process is writing, for the panic hook and a forced exit.
static ACTIVE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Held while `record.json` is rewritten, so the writer and a forced exit (another thread)
/// never write it at once.
static WRITING: Mutex<()> = Mutex::new(());

/// Marks the record this process is writing (if any) `crashed` with `message`: the binary's
/// panic hook calls this, so a bug in netdx still leaves a record that says what happened.
pub fn on_panic(message: &str) {
    on_fatal(&format!(
        "netdx panicked (a bug; please report it): {message}"
    ));
}

/// Marks the record this process is writing (if any) `crashed` with `cause`, for an end the
/// command cannot see through (a panic, a driver call the GPU watchdog gave up on).
pub fn on_fatal(cause: &str) {
    if let Some(dir) = ACTIVE.try_lock().ok().and_then(|a| a.clone()) {
        // try_lock: the panicking thread may hold the lock itself.
        let _guard = WRITING.try_lock();
        let _ = mark_crashed(&dir, cause);
    }
}

/// Marks the record this process is writing (if any) `interrupted`: a second Ctrl-C or
/// SIGTERM ends the process at once (see `interrupt`), from its signal thread, and this is
/// the last thing it does.
pub fn on_forced_exit() {
    let dir = match ACTIVE.lock() {
        Ok(a) => a.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    if let Some(dir) = dir {
        let _guard = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        let _ = mark(
            &dir,
            Status::Interrupted,
            "ended at once by a second Ctrl-C or SIGTERM: the step or check in flight was lost; the metrics before it are kept".into(),
        );
    }
}

/// Rewrites the record in `dir` as `crashed` with `cause`.
pub fn mark_crashed(dir: &Path, cause: &str) -> Result<()> {
    mark(dir, Status::Crashed, cause.to_string())
}

/// Rewrites the record in `dir` as ended with `status` and `cause`.
fn mark(dir: &Path, status: Status, cause: String) -> Result<()> {
    let mut record = read_record(dir)?;
    record.status = status;
    record.cause = Some(cause);
    record.finished = Some(time::now_rfc3339());
    if record.seconds.is_none() && record.started_ms > 0 {
        record.seconds = Some(time::now_ms().saturating_sub(record.started_ms) as f64 / 1000.0);
    }
    write_json(&dir.join("record.json"), &record)
}

/// The thread that touches `record.json` every `liveness::heartbeat_interval()` while the run
/// lives, so that readers elsewhere can tell a live run from a dead one; it stops when the
/// recorder finishes or is dropped.
struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    fn start(record: PathBuf) -> Heartbeat {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = liveness::heartbeat_interval();
        let thread = std::thread::Builder::new()
            .name("netdx-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    let _guard = WRITING.lock().unwrap_or_else(|p| p.into_inner());
                    // A missed beat is no error: at worst a reader elsewhere sees an older one.
                    let _ = liveness::touch(&record);
                }
            })
            .ok();
        Heartbeat {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer of one run's record.
pub struct Recorder {
    dir: PathBuf,
    record: RunRecord,
    metrics: File,
    start: Instant,
    heartbeat: Option<Heartbeat>,
}

/// What a new record starts with.
pub struct NewRun<'a> {
    pub kind: RunKind,
    pub source: &'a str,
    pub file: String,
    pub base_dir: &'a Path,
    pub suite: String,
    pub seed: u64,
    pub overrides: Overrides,
    pub config: serde_json::Value,
    pub environment: Environment,
    pub git_diff: Option<String>,
}

impl Recorder {
    /// Creates the run's directory under `root` (made if missing) and writes the first
    /// `record.json` with status `running`. Two runs started in the same second get different
    /// ids: the directory is created exclusively, and a taken name draws another id.
    pub fn create(root: &Path, new: NewRun) -> Result<Recorder> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if root.exists() && !root.is_dir() {
            return Err(Error::Usage(format!(
                "the runs folder {} is a file, not a folder",
                root.display()
            )));
        }
        std::fs::create_dir_all(root).map_err(io(root))?;
        let stamp = time::now_compact();
        let mut attempt = 0;
        let (id, dir) = loop {
            let id = format!("{stamp}-{}", short_id(attempt));
            let dir = root.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => break (id, dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1
                }
                Err(e) => return Err(io(&dir)(e)),
            }
        };
        std::fs::write(dir.join("source.yaml"), new.source).map_err(io(&dir))?;
        if let Some(diff) = &new.git_diff {
            std::fs::write(dir.join("git.diff"), diff).map_err(io(&dir))?;
        }
        let metrics_path = dir.join("metrics.jsonl");
        let metrics = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&metrics_path)
            .map_err(io(&metrics_path))?;
        let record = RunRecord {
            schema_version: 1,
            id,
            kind: new.kind,
            status: Status::Running,
            cause: None,
            started: time::now_rfc3339(),
            started_ms: time::now_ms(),
            finished: None,
            seconds: None,
            pid: std::process::id(),
            origin: Some(Origin::current().clone()),
            command: std::env::args().collect(),
            file: new.file,
            base_dir: new.base_dir.display().to_string(),
            suite: new.suite,
            seed: new.seed,
            overrides: new.overrides,
            config: new.config,
            environment: new.environment,
            data: None,
            result: None,
            heartbeat: None,
        };
        let mut recorder = Recorder {
            dir,
            record,
            metrics,
            start: Instant::now(),
            heartbeat: None,
        };
        recorder.save()?;
        recorder.heartbeat = Some(Heartbeat::start(recorder.dir.join("record.json")));
        if let Ok(mut active) = ACTIVE.lock() {
            *active = Some(recorder.dir.clone());
        }
        crate::interrupt::on_forced_exit(on_forced_exit);
        crate::interrupt::graceful();
        Ok(recorder)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn id(&self) -> &str {
        &self.record.id
    }

    fn save(&self) -> Result<()> {
        let _guard = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        write_json(&self.dir.join("record.json"), &self.record)
    }

    /// Records the data summary.
    pub fn data(&mut self, data: DataSummary) -> Result<()> {
        self.record.data = Some(data);
        self.save()
    }

    /// Appends one line to `metrics.jsonl` and flushes it.
    pub fn metric(&mut self, line: &impl Serialize) -> Result<()> {
        let path = self.dir.join("metrics.jsonl");
        let mut text = serde_json::to_string(line).map_err(|e| Error::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        text.push('\n');
        self.metrics
            .write_all(text.as_bytes())
            .and_then(|_| self.metrics.flush())
            .map_err(|source| Error::Io { path, source })
    }

    /// Writes another JSON file of the run (e.g. `checks.json`).
    pub fn attach(&self, name: &str, value: &impl Serialize) -> Result<()> {
        write_json(&self.dir.join(name), value)
    }

    /// Ends the record: status, cause, result and timings.
    pub fn finish(
        mut self,
        status: Status,
        cause: Option<String>,
        result: Option<serde_json::Value>,
    ) -> Result<PathBuf> {
        // The last beat before the last write, so no touch follows the end.
        drop(self.heartbeat.take());
        self.record.status = status;
        self.record.cause = cause;
        self.record.result = result;
        self.record.finished = Some(time::now_rfc3339());
        self.record.seconds = Some(self.start.elapsed().as_secs_f64());
        self.save()?;
        if let Ok(mut active) = ACTIVE.lock() {
            if active.as_deref() == Some(self.dir.as_path()) {
                *active = None;
            }
        }
        Ok(self.dir)
    }
}

/// Reads `dir/record.json`, with its modification time as the heartbeat. A file that is not
/// a whole record (truncated, corrupt, or something else) is an error naming it.
pub fn read_record(dir: &Path) -> Result<RunRecord> {
    let path = dir.join("record.json");
    let text = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let mut record: RunRecord = serde_json::from_slice(&text).map_err(|e| {
        let what = if text.iter().all(u8::is_ascii_whitespace) {
            "empty".to_string()
        } else if e.is_eof() {
            format!("truncated ({} bytes; {e})", text.len())
        } else {
            format!("corrupt ({e})")
        };
        Error::Record {
            path: path.clone(),
            message: what,
        }
    })?;
    record.heartbeat = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    Ok(record)
}
