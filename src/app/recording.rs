//! Starting and ending the run record of `netdx run` and `netdx train` (see `runs`).

use std::path::Path;

use crate::cli::RecordArgs;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::runs::{Environment, NewRun, Overrides, Recorder, RunKind, Runs, Status};

/// What the command knows when its record starts.
pub struct Start<'a> {
    pub kind: RunKind,
    pub source: &'a str,
    pub path: &'a Path,
    pub config: &'a Config,
    pub overrides: Overrides,
}

/// Checks before any work that what the run will write can be written: the runs folder (unless
/// `--no-record`) is a folder or can be made, and each output file given on the command line
/// (`("--junit", path)`, …) goes into an existing folder this process can write to. A run
/// that could only fail at its end fails here, with exit 2, before it starts.
pub fn preflight(args: &RecordArgs, outputs: &[(&str, Option<&Path>)]) -> Result<()> {
    crate::runs::liveness::heartbeat_setting()?;
    if !args.no_record {
        Runs::checked(args.runs_dir.as_deref())?;
    }
    for (flag, path) in outputs {
        if let Some(path) = path {
            writable_destination(flag, path)?;
        }
    }
    Ok(())
}

/// `path` (given with `flag`) can be created or replaced: it is not a folder, and its folder
/// exists and takes a new file (tried with a probe file, which also catches read-only mounts
/// and permissions that `access` misjudges for root).
pub fn writable_destination(flag: &str, path: &Path) -> Result<()> {
    let fail = |why: String| {
        Err(Error::Usage(format!(
            "{flag} {}: {why}; nothing ran",
            path.display()
        )))
    };
    if path.is_dir() {
        return fail("that is a folder; give a file name".into());
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    match std::fs::metadata(&folder) {
        Err(_) => {
            return fail(format!(
                "the folder {} does not exist (create it first)",
                folder.display()
            ))
        }
        Ok(m) if !m.is_dir() => {
            return fail(format!("{} is a file, not a folder", folder.display()))
        }
        Ok(_) => {}
    }
    let probe = folder.join(format!(".netdx-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => fail(format!("cannot write into {}: {e}", folder.display())),
    }
}

/// A new record, or `None` with `--no-record`. Git is read in the working directory: the
/// code state of the project the user runs netdx in.
pub fn start(args: &RecordArgs, gpu: &Gpu, s: Start) -> Result<Option<Recorder>> {
    if args.no_record {
        return Ok(None);
    }
    let runs = Runs::checked(args.runs_dir.as_deref())?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let (environment, git_diff) = Environment::capture(gpu, &cwd);
    let file = if s.path.is_file() {
        std::fs::canonicalize(s.path)
            .unwrap_or_else(|_| s.path.to_path_buf())
            .display()
            .to_string()
    } else {
        s.path.display().to_string()
    };
    let base_dir =
        std::fs::canonicalize(&s.config.base_dir).unwrap_or_else(|_| s.config.base_dir.clone());
    let recorder = Recorder::create(
        &runs.root,
        NewRun {
            kind: s.kind,
            source: s.source,
            file,
            base_dir: &base_dir,
            suite: s
                .config
                .name
                .clone()
                .unwrap_or_else(|| s.path.display().to_string()),
            seed: s.config.seed,
            overrides: s.overrides,
            config: serde_json::to_value(s.config).unwrap_or(serde_json::Value::Null),
            environment,
            git_diff,
        },
    )?;
    Ok(Some(recorder))
}

/// Ends the record after `outcome`: the status its result says (or its error's), with the
/// cause. Returns the outcome unchanged, so the command's exit code follows it; an error
/// writing the record is reported but does not hide the run's own error.
pub fn finish<T>(
    recorder: Option<Recorder>,
    outcome: Result<T>,
    judge: impl FnOnce(&T) -> (Status, Option<String>, Option<serde_json::Value>),
) -> Result<T> {
    let Some(recorder) = recorder else {
        return outcome;
    };
    let (status, cause, result) = match &outcome {
        Ok(value) => judge(value),
        Err(e) => (Status::of_error(e), Some(e.to_string()), None),
    };
    match recorder.finish(status, cause, result) {
        Ok(dir) => eprintln!("record: {}", dir.display()),
        Err(e) if outcome.is_ok() => return Err(e),
        Err(e) => eprintln!("error: could not finish the run record: {e}"),
    }
    outcome
}

/// The TensorBoard writer `--tensorboard DIR` asks for, in `DIR/<run id>` (or a time stamp
/// without a record), so each run is its own run in TensorBoard.
pub fn tensorboard(
    args: &RecordArgs,
    recorder: Option<&Recorder>,
) -> Result<Option<crate::runs::tensorboard::Runs>> {
    let Some(dir) = &args.tensorboard else {
        return Ok(None);
    };
    let name = recorder.map_or_else(crate::runs::time::now_compact, |r| r.id().to_string());
    // The folder exists from the start, whatever the run writes; its event files come with the
    // first write (a sweep writes only into its cases' folders).
    let root = dir.join(name);
    std::fs::create_dir_all(&root).map_err(|source| crate::Error::Io {
        path: root.clone(),
        source,
    })?;
    Ok(Some(crate::runs::tensorboard::Runs::new(root)))
}

/// A failure to append a metric line, kept to be returned after the step loop (the loop
/// itself cannot return it).
pub fn keep_first(slot: &mut Option<Error>, r: Result<()>) {
    if let (None, Err(e)) = (&slot, r) {
        *slot = Some(e);
    }
}
