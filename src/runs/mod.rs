//! Run records: every `netdx run` and `netdx train` leaves a directory in the runs folder
//! (`--runs-dir`, else `NETDX_RUNS_DIR`, else `./runs`) that says what ran, on what, how it
//! ended, and every step's metrics; `netdx runs` lists, shows, compares, reruns and prunes them.

pub mod baseline;
pub mod environment;
pub mod history;
pub mod liveness;
pub mod metrics;
pub mod record;
pub mod rerun;
pub mod tensorboard;
pub mod time;

pub use environment::Environment;
pub use record::{NewRun, Overrides, Recorder, RunKind, RunRecord, Status};

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The runs folder.
#[derive(Clone, Debug)]
pub struct Runs {
    pub root: PathBuf,
}

/// What a scan of the runs folder found: the readable records, oldest first, and the run
/// folders whose `record.json` could not be read (with why).
#[derive(Debug, Default)]
pub struct Scan {
    pub records: Vec<(PathBuf, RunRecord)>,
    pub unreadable: Vec<(PathBuf, Error)>,
}

impl Scan {
    /// One `warning:` line per unreadable record, for stderr.
    pub fn warnings(&self) -> String {
        self.unreadable
            .iter()
            .map(|(_, e)| format!("warning: not listed: {e}\n"))
            .collect()
    }
}

impl Runs {
    /// `flag`, else `NETDX_RUNS_DIR`, else `./runs`.
    pub fn at(flag: Option<&Path>) -> Runs {
        let root = flag
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("NETDX_RUNS_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("runs"));
        Runs { root }
    }

    /// [`Runs::at`], refusing a runs folder that exists but is not a folder, with an error
    /// that names where the path came from (`--runs-dir`, `NETDX_RUNS_DIR` or the default).
    pub fn checked(flag: Option<&Path>) -> Result<Runs> {
        let runs = Runs::at(flag);
        let (from, fix) = if flag.is_some() {
            ("--runs-dir".to_string(), "--runs-dir")
        } else if std::env::var_os("NETDX_RUNS_DIR").is_some() {
            (
                "the environment variable NETDX_RUNS_DIR".to_string(),
                "NETDX_RUNS_DIR",
            )
        } else {
            (
                "the default runs folder".to_string(),
                "--runs-dir or NETDX_RUNS_DIR",
            )
        };
        match std::fs::metadata(&runs.root) {
            Ok(m) if !m.is_dir() => Err(Error::Usage(format!(
                "{from} names {}, which is a file, not a folder: run records go into a folder (one sub-folder per run); point {fix} at a folder",
                runs.root.display()
            ))),
            _ => Ok(runs),
        }
    }

    /// Every readable record, oldest first (unreadable ones left out; see [`Runs::scan`]).
    pub fn all(&self) -> Result<Vec<(PathBuf, RunRecord)>> {
        Ok(self.scan()?.records)
    }

    /// Every run folder (a folder holding a `record.json`): readable records oldest first,
    /// and the unreadable ones.
    pub fn scan(&self) -> Result<Scan> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
            Err(source) => {
                return Err(if self.root.is_file() {
                    Error::Usage(format!(
                        "the runs folder {} is a file, not a folder (set by --runs-dir or NETDX_RUNS_DIR)",
                        self.root.display()
                    ))
                } else {
                    Error::Io {
                        path: self.root.clone(),
                        source,
                    }
                })
            }
        };
        let mut scan = Scan::default();
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("record.json").is_file())
            .collect();
        dirs.sort();
        for dir in dirs {
            match record::read_record(&dir) {
                Ok(r) => scan.records.push((dir, r)),
                Err(e) => scan.unreadable.push((dir, e)),
            }
        }
        scan.records
            .sort_by(|a, b| (a.1.started_ms, &a.1.id).cmp(&(b.1.started_ms, &b.1.id)));
        Ok(scan)
    }

    /// The run whose id, or whose short id (the part after the time), starts with `prefix`;
    /// an unknown or ambiguous prefix is a usage error listing the candidates, and a prefix
    /// that names only an unreadable record is that record's error.
    pub fn find(&self, prefix: &str) -> Result<(PathBuf, RunRecord)> {
        let matches_id = |id: &str| {
            id.starts_with(prefix)
                || id
                    .rsplit('-')
                    .next()
                    .is_some_and(|short| short.starts_with(prefix))
        };
        let scan = self.scan()?;
        let mut matches: Vec<(PathBuf, RunRecord)> = scan
            .records
            .into_iter()
            .filter(|(_, r)| matches_id(&r.id))
            .collect();
        let mut broken: Vec<(PathBuf, Error)> = scan
            .unreadable
            .into_iter()
            .filter(|(d, _)| {
                d.file_name()
                    .is_some_and(|n| matches_id(&n.to_string_lossy()))
            })
            .collect();
        match (matches.len(), broken.len()) {
            (1, 0) => Ok(matches.remove(0)),
            (0, 1) => Err(broken.remove(0).1),
            (0, 0) => Err(Error::Usage(format!(
                "no run `{prefix}` in {} (see `netdx runs list`)",
                self.root.display()
            ))),
            _ => Err(Error::Usage(format!(
                "`{prefix}` matches {} runs: {}",
                matches.len() + broken.len(),
                matches
                    .iter()
                    .map(|(_, r)| r.id.clone())
                    .chain(broken.iter().map(|(d, _)| {
                        format!(
                            "{} (unreadable)",
                            d.file_name().unwrap_or_default().to_string_lossy()
                        )
                    }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The status every output shows (see `liveness`): a `running` record whose process is gone
/// crashed; one that cannot be checked from here is `unknown` while its heartbeat is fresh.
pub fn effective_status(r: &RunRecord) -> Status {
    liveness::shown_status(r).status
}
