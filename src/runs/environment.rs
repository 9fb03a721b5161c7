//! The state a run depends on beyond its config: netdx's version, the code (git commit, dirty
//! flag, uncommitted diff), the machine (OS, CPU) and the adapter.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::gpu::Gpu;

/// The git state of the working directory's repository.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GitState {
    pub commit: String,
    /// Tracked files differ from the commit (untracked files do not count).
    pub dirty: bool,
}

/// The adapter a run used.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdapterRecord {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    pub netdx_version: String,
    pub os: String,
    pub arch: String,
    pub cpu: String,
    pub cpus: usize,
    pub git: Option<GitState>,
    pub adapter: AdapterRecord,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The repository state at `dir` and its uncommitted diff (None outside a repository or
/// without git).
pub fn git_state(dir: &Path) -> Option<(GitState, String)> {
    let commit = git(dir, &["rev-parse", "HEAD"])?.trim().to_string();
    let status = git(dir, &["status", "--porcelain", "--untracked-files=no"])?;
    let diff = git(dir, &["diff", "HEAD"]).unwrap_or_default();
    Some((
        GitState {
            commit,
            dirty: !status.trim().is_empty(),
        },
        diff,
    ))
}

/// The operating system's name and version (`/etc/os-release` where there is one).
fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

impl GitState {
    /// `<commit>` or `<commit> (dirty: see git.diff)`.
    pub fn to_text(&self) -> String {
        let dirty = if self.dirty {
            " (dirty: see git.diff)"
        } else {
            ""
        };
        format!("{}{dirty}", self.commit)
    }
}

impl AdapterRecord {
    /// `name (backend, device type, driver driver-info)`.
    pub fn to_text(&self) -> String {
        format!(
            "{} ({}, {}, {} {})",
            self.name, self.backend, self.device_type, self.driver, self.driver_info
        )
    }

    pub fn of(gpu: &Gpu) -> Self {
        let i = gpu.info();
        AdapterRecord {
            name: i.name.clone(),
            backend: format!("{:?}", i.backend).to_lowercase(),
            device_type: format!("{:?}", i.device_type),
            driver: i.driver.clone(),
            driver_info: i.driver_info.clone(),
        }
    }
}

impl Environment {
    /// The code a run used: netdx's version and the git state.
    pub fn code_text(&self) -> String {
        match &self.git {
            Some(g) => format!("netdx {}, git {}", self.netdx_version, g.to_text()),
            None => format!("netdx {}, not in a git repository", self.netdx_version),
        }
    }

    /// The environment now, with git read at `dir`; also returns the uncommitted diff.
    pub fn capture(gpu: &Gpu, dir: &Path) -> (Environment, Option<String>) {
        let (git, diff) = match git_state(dir) {
            Some((g, d)) => (Some(g), Some(d)),
            None => (None, None),
        };
        (
            Environment {
                netdx_version: env!("CARGO_PKG_VERSION").to_string(),
                os: os_name(),
                arch: std::env::consts::ARCH.to_string(),
                cpu: cpu_name(),
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
                git,
                adapter: AdapterRecord::of(gpu),
            },
            diff.filter(|d| !d.is_empty()),
        )
    }
}
