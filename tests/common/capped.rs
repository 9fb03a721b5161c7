//! The real binary run under `sh` with a memory cap (`ulimit -v`) and a timeout, in a scratch
//! folder: a regression that aborts or hangs ends this one child, not the test machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Virtual memory of the child, in KiB: a 2^62-byte `Vec::with_capacity` or an 8 GiB
/// inflation fails inside it.
pub const MEMORY_CAP_KIB: u64 = 4_000_000;

/// A scratch folder, removed when the test passes (kept for a look when it fails).
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// An empty scratch folder `netdx-GROUP-NAME-PID` in the temp dir (see `fresh_dir`).
pub fn scratch(group: &str, name: &str) -> Scratch {
    Scratch(super::fresh_dir(&format!("{group}-{name}")))
}

pub struct Outcome {
    /// The exit code; `None` when a signal ended the child (an abort, an out-of-memory kill).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
}

/// Runs `script` under `sh` in `dir` (its stdout and stderr kept in `stdout.txt` and
/// `stderr.txt` there), with `$NETDX` the binary, a runs folder inside `dir`, no
/// inherited data ceiling, `env` on top, the memory cap and `timeout`. `Err` when the child was
/// still running at the timeout (it is killed): a hang.
pub fn sh(
    dir: &Path,
    script: &str,
    env: &[(&str, &str)],
    timeout: Duration,
) -> Result<Outcome, String> {
    let err_path = dir.join("stderr.txt");
    let out_path = dir.join("stdout.txt");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_CAP_KIB}; {script}"))
        .current_dir(dir)
        .env("NETDX", env!("CARGO_BIN_EXE_netdx"))
        .env("NETDX_RUNS_DIR", dir.join("runs"))
        .env_remove("NETDX_MAX_DATA_BYTES")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn sh");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "hung past {timeout:?}; stderr: {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Outcome {
        code: status.code(),
        stdout: String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
