//! Run records: every `netdx run` and `netdx train` leaves a directory in the runs folder
//! (`--runs-dir`, else `NETDX_RUNS_DIR`, else `./runs`) that says what ran, on what, how it
//! ended, and every step's metrics; `netdx runs` lists, shows, compares, reruns and prunes them.

pub mod baseline;
pub mod environment;
pub mod history;
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

impl Runs {
    /// `flag`, else `NETDX_RUNS_DIR`, else `./runs`.
    pub fn at(flag: Option<&Path>) -> Runs {
        let root = flag
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("NETDX_RUNS_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("runs"));
        Runs { root }
    }

    /// Every readable record, oldest first.
    pub fn all(&self) -> Result<Vec<(PathBuf, RunRecord)>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    path: self.root.clone(),
                    source,
                })
            }
        };
        let mut runs: Vec<(PathBuf, RunRecord)> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("record.json").is_file())
            .filter_map(|p| record::read_record(&p).ok().map(|r| (p, r)))
            .collect();
        runs.sort_by(|a, b| (a.1.started_ms, &a.1.id).cmp(&(b.1.started_ms, &b.1.id)));
        Ok(runs)
    }

    /// The run whose id, or whose short id (the part after the time), starts with `prefix`;
    /// an unknown or ambiguous prefix is a usage error listing the candidates.
    pub fn find(&self, prefix: &str) -> Result<(PathBuf, RunRecord)> {
        let matches: Vec<(PathBuf, RunRecord)> = self
            .all()?
            .into_iter()
            .filter(|(_, r)| {
                r.id.starts_with(prefix)
                    || r.id
                        .rsplit('-')
                        .next()
                        .is_some_and(|short| short.starts_with(prefix))
            })
            .collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            0 => Err(Error::Usage(format!(
                "no run `{prefix}` in {} (see `netdx runs list`)",
                self.root.display()
            ))),
            _ => Err(Error::Usage(format!(
                "`{prefix}` matches {} runs: {}",
                matches.len(),
                matches
                    .iter()
                    .map(|(_, r)| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// The status to show: a `running` record whose process is gone crashed.
pub fn effective_status(r: &RunRecord) -> Status {
    if r.status == Status::Running && !process_alive(r.pid) {
        Status::Crashed
    } else {
        r.status
    }
}

fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: kill with signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}
