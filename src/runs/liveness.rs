//! Is the writer of a `running` record still alive? A runs folder may be shared by processes in
//! other PID namespaces (containers, `unshare`) or on other hosts (Slurm, Kubernetes volumes),
//! where a pid means nothing to the reader. So a record names where its pid is counted (the
//! host, the kernel's boot id and the PID namespace) and the writer keeps a heartbeat: it
//! touches `record.json`'s modification time every few seconds while it runs.
//!
//! One function, [`shown_status`], decides what every output says (`runs list`, `runs show`,
//! their `--json`, `runs gc`, the HTML report):
//! - a finished record says what it says;
//! - a `running` record written in this PID namespace of this boot is checked by its pid (and
//!   the process's start time, so a recycled pid is not mistaken for the writer): alive is
//!   `running`, gone is `crashed`;
//! - a `running` record that cannot be checked from here (another host, boot or namespace, or a
//!   record from before these fields) is `unknown` while its heartbeat is younger than
//!   [`STALE_AFTER`], and `crashed` (stale) once it is older.
//!
//! This module must not write records; it only reads what the writer left.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::record::{RunRecord, Status};

/// A `running` record that cannot be checked from here counts as crashed once its heartbeat
/// is older than this. Well above the writer's interval (at most 60 s) and the attribute
/// caching of network file systems (NFS's `actimeo` is up to 60 s by default).
pub const STALE_AFTER: Duration = Duration::from_secs(300);

/// Seconds between heartbeats unless `NETDX_HEARTBEAT_SECONDS` says otherwise.
pub const DEFAULT_HEARTBEAT_SECONDS: u64 = 10;

/// The heartbeat interval: `NETDX_HEARTBEAT_SECONDS` (1 to 60), else 10 s. A bad value has been
/// refused before the run (see [`heartbeat_setting`]).
pub fn heartbeat_interval() -> Duration {
    heartbeat_setting().unwrap_or(Duration::from_secs(DEFAULT_HEARTBEAT_SECONDS))
}

/// `NETDX_HEARTBEAT_SECONDS` (unset or empty: 10 s); anything but whole seconds from 1 to 60 is
/// refused rather than replaced, since a reader elsewhere judges liveness by it.
pub fn heartbeat_setting() -> crate::error::Result<Duration> {
    let Some(value) = crate::env_var::given("NETDX_HEARTBEAT_SECONDS") else {
        return Ok(Duration::from_secs(DEFAULT_HEARTBEAT_SECONDS));
    };
    match value.trim().parse::<u64>() {
        Ok(s) if (1..=60).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(crate::error::Error::Usage(format!(
            "NETDX_HEARTBEAT_SECONDS={value:?}: must be whole seconds from 1 to 60 (how often a running record is touched; unset, {DEFAULT_HEARTBEAT_SECONDS})"
        ))),
    }
}

/// Where a record's pid is counted: enough for a reader to tell whether it can check the pid.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Origin {
    /// The writer's host name.
    pub host: String,
    /// `/proc/sys/kernel/random/boot_id`: new at every boot, shared by the containers of one
    /// kernel (absent off Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// The inode of `/proc/self/ns/pid`: the PID namespace the pid is counted in (absent off
    /// Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_namespace: Option<u64>,
    /// The writer's start time in clock ticks after boot (`/proc/self/stat`, field 22): tells
    /// the writer from a later process that got the same pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
    /// Seconds between the writer's heartbeats (touches of `record.json`).
    pub heartbeat_seconds: u64,
}

impl Origin {
    /// This process's origin (computed once).
    pub fn current() -> &'static Origin {
        static CURRENT: OnceLock<Origin> = OnceLock::new();
        CURRENT.get_or_init(|| Origin {
            host: host_name(),
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            pid_namespace: pid_namespace(),
            process_start: process_start("self"),
            heartbeat_seconds: heartbeat_interval().as_secs(),
        })
    }

    /// Whether a pid this origin recorded can be looked up from `here`: the same host name,
    /// kernel boot and PID namespace (off Linux, where the last two are unknown on both
    /// sides, the same host). Anything that differs, or is known on one side only, means
    /// another system.
    pub fn checkable_from(&self, here: &Origin) -> bool {
        self.host == here.host
            && self.boot_id == here.boot_id
            && self.pid_namespace == here.pid_namespace
    }

    /// `host node7 (another host)` and the like, for `runs show`.
    fn whereabouts(&self, here: &Origin) -> String {
        let place = if self.host != here.host {
            "another host"
        } else if self.boot_id != here.boot_id {
            "an earlier boot or another kernel"
        } else {
            "another PID namespace"
        };
        format!("host {} ({place})", self.host)
    }
}

pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            if !name.is_empty() {
                return name;
            }
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

fn pid_namespace() -> Option<u64> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    // `pid:[4026531836]`
    let text = link.to_string_lossy();
    text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// Field 22 of `/proc/<pid>/stat` (start time in clock ticks after boot); `None` off Linux, or
/// for a process that is gone.
fn process_start(pid: &str) -> Option<u64> {
    stat_fields(pid).and_then(|f| f.get(19)?.parse().ok())
}

/// The fields of `/proc/<pid>/stat` after the command name (which may hold spaces and
/// parentheses): `[state, ppid, …]`.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// Whether process `pid` of this namespace is alive and, where `start` is known, is the
/// process that started then (not a later one with a recycled pid).
fn process_alive(pid: u32, start: Option<u64>) -> bool {
    #[cfg(unix)]
    {
        if pid == 0 || pid > i32::MAX as u32 {
            return false;
        }
        // SAFETY: kill with signal 0 only checks that the process exists.
        let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
        let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !exists {
            return false;
        }
        match stat_fields(&pid.to_string()) {
            // A zombie has ended; only its exit status waits to be collected.
            Some(f) if matches!(f.first().map(String::as_str), Some("Z" | "X")) => false,
            Some(f) => match (start, f.get(19).and_then(|s| s.parse::<u64>().ok())) {
                (Some(recorded), Some(now)) => recorded == now,
                _ => true,
            },
            // No /proc (or not this namespace's): the pid exists, that is all we know.
            None => true,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, start);
        true
    }
}

/// The status a record is shown with, and why when it differs from what the record says.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub status: Status,
    /// Why a `running` record is shown otherwise, or where it runs; `None` for a finished
    /// record and for a `running` one checked alive here.
    pub note: Option<String>,
}

/// The one status function every output uses (see the module docs).
pub fn shown_status(r: &RunRecord) -> Shown {
    shown_status_at(r, Origin::current(), SystemTime::now())
}

/// [`shown_status`] as seen from `here` at `now`.
pub fn shown_status_at(r: &RunRecord, here: &Origin, now: SystemTime) -> Shown {
    if r.status != Status::Running {
        return Shown {
            status: r.status,
            note: None,
        };
    }
    match &r.origin {
        Some(o) if o.checkable_from(here) => {
            if process_alive(r.pid, o.process_start) {
                Shown {
                    status: Status::Running,
                    note: None,
                }
            } else {
                Shown {
                    status: Status::Crashed,
                    note: Some(format!(
                        "the record says running, but its process (pid {}) is gone",
                        r.pid
                    )),
                }
            }
        }
        origin => {
            let whereabouts = origin.as_ref().map_or_else(
                || "a netdx that did not record its host".to_string(),
                |o| o.whereabouts(here),
            );
            let age = r
                .heartbeat
                .map(|t| now.duration_since(t).unwrap_or(Duration::ZERO));
            match age {
                Some(age) if age > STALE_AFTER => Shown {
                    status: Status::Crashed,
                    note: Some(format!(
                        "stale: written by pid {} on {whereabouts}, no heartbeat for {} s (more than {} s)",
                        r.pid,
                        age.as_secs(),
                        STALE_AFTER.as_secs()
                    )),
                },
                Some(age) => Shown {
                    status: Status::Unknown,
                    note: Some(format!(
                        "running elsewhere as far as its heartbeat says: pid {} on {whereabouts}, which cannot be checked from here; last heartbeat {} s ago (it counts as crashed after {} s without one)",
                        r.pid,
                        age.as_secs(),
                        STALE_AFTER.as_secs()
                    )),
                },
                None => Shown {
                    status: Status::Unknown,
                    note: Some(format!(
                        "pid {} on {whereabouts} cannot be checked from here, and the record's time is unreadable",
                        r.pid
                    )),
                },
            }
        }
    }
}

/// Whether a record may belong to a live run (what `runs gc` never removes).
pub fn may_be_live(r: &RunRecord) -> bool {
    matches!(shown_status(r).status, Status::Running | Status::Unknown)
}

/// Touches `path`'s modification time (the heartbeat).
pub fn touch(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_modified(SystemTime::now())
}
