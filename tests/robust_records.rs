//! Run records under abuse (issue 22, "Records"): a killed process, a second Ctrl-C, a suite
//! killed part-way, records written from another host or PID namespace into a shared runs
//! folder, truncated records, a runs folder that is a file, unwritable output paths, and
//! control characters in the names that JUnit XML carries. Each test runs the real binary
//! with its own runs folder; the ones that need no GPU build their records by hand.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use netdx::runs::liveness::{self, Origin};
use netdx::runs::record::read_record;
use netdx::runs::{RunKind, RunRecord, Status};
use serde_json::Value;

use crate::common::{netdx_with_runs, records};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    crate::common::fresh_dir(&format!("robust-records-{name}"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `netdx ARGS` in the background with its records in `runs` and a 1 s heartbeat.
fn spawn(runs: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(args)
        .env("NETDX_RUNS_DIR", runs)
        .env("NETDX_HEARTBEAT_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: signalling a process this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Waits (up to `secs`) for a record in `runs` whose metrics.jsonl has a line; fails with the
/// child's stderr if it ends first.
fn wait_for_metrics(runs: &Path, child: &mut Child, secs: u64) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some((dir, _)) = records(runs).into_iter().find(|(d, _)| {
            std::fs::read_to_string(d.join("metrics.jsonl")).is_ok_and(|t| t.contains('\n'))
        }) {
            return dir;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("netdx ended ({status}) before recording a step: {err}");
        }
        assert!(Instant::now() < deadline, "no metrics line within {secs} s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a SIGINT waits to be delivered to `pid` (its `SigPnd` or `ShdPnd` mask in
/// `/proc/PID/status`).
fn sigint_pending(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .any(|mask| mask & (1 << (libc::SIGINT - 1)) != 0)
}

/// `runs list --json`, parsed.
fn list_json(runs: &Path) -> Vec<Value> {
    let (code, out, err) = netdx_with_runs(runs, &["runs", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn json_of<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list:?}"))
}

/// `runs show ID --json`, parsed.
fn show_json(runs: &Path, id: &str) -> Value {
    let (code, out, err) = netdx_with_runs(runs, &["runs", "show", id, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The status column of `id` in `runs list`.
fn list_status(runs: &Path, id: &str) -> String {
    let (code, out, err) = netdx_with_runs(runs, &["runs", "list"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("{id} not listed: {out}"));
    [
        "running",
        "passed",
        "failed",
        "interrupted",
        "crashed",
        "unknown",
    ]
    .into_iter()
    .find(|s| line.split_whitespace().any(|w| w == *s))
    .unwrap_or_else(|| panic!("no status in {line}"))
    .to_string()
}

/// Asserts that every output names `id`'s status as `want`.
fn assert_status_everywhere(runs: &Path, id: &str, want: &str) {
    assert_eq!(list_status(runs, id), want, "runs list");
    assert_eq!(
        json_of(&list_json(runs), id)["status"],
        want,
        "runs list --json"
    );
    assert_eq!(show_json(runs, id)["status"], want, "runs show --json");
    let (_, out, _) = netdx_with_runs(runs, &["runs", "show", id]);
    assert!(
        out.contains(&format!("status       {want}")),
        "runs show: {out}"
    );
}

const FAST: &str = "seed: 3\ndata: {builtin: spiral, points_per_class: 40}\nmodel:\n  layers: [{linear: {out: 16}}, relu, {linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.5}, batch_size: 30, steps: 10000000}\n";

/// Steps of a second or more on a software adapter: an interrupt waits for the step in flight.
const SLOW: &str = "seed: 1\ndata: {builtin: spiral, points_per_class: 1000}\nmodel:\n  layers: [{linear: {out: 1024}}, relu, {linear: {out: 1024}}, relu, {linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.01}, batch_size: 3000, steps: 1000000}\n";

#[test]
fn a_killed_run_is_crashed_in_every_output_and_kept_its_heartbeat_while_alive() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = scratch("sigkill");
    let cfg = write(&runs.join("cfg"), "long.yaml", FAST);
    let mut child = spawn(&runs, &["train", cfg.to_str().unwrap(), "--every", "0"]);
    let dir = wait_for_metrics(&runs, &mut child, 120);
    let r = read_record(&dir).unwrap();
    let id = r.id.clone();

    // Where the pid is counted, recorded with it.
    let origin = r.origin.clone().expect("the record names its origin");
    let here = Origin::current();
    assert_eq!(
        (&origin.host, &origin.boot_id, origin.pid_namespace),
        (&here.host, &here.boot_id, here.pid_namespace),
        "same host, boot and namespace"
    );
    assert!(origin.checkable_from(here));
    assert_eq!(origin.heartbeat_seconds, 1);
    assert_status_everywhere(&runs, &id, "running");

    // The heartbeat: record.json's mtime moves on while nothing else rewrites it.
    let mtime = |d: &Path| {
        d.join("record.json")
            .metadata()
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = mtime(&dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    while mtime(&dir) <= before {
        assert!(Instant::now() < deadline, "no heartbeat within 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(read_record(&dir).unwrap().status, Status::Running);

    signal(child.id(), libc::SIGKILL);
    child.wait().unwrap();

    // The file still says running; every output says crashed, and why.
    assert_eq!(read_record(&dir).unwrap().status, Status::Running);
    assert_status_everywhere(&runs, &id, "crashed");
    let shown = show_json(&runs, &id);
    assert_eq!(shown["recorded_status"], "running");
    assert!(
        shown["status_note"].as_str().unwrap().contains("is gone"),
        "{shown}"
    );
    let (_, out, _) = netdx_with_runs(&runs, &["runs", "list", "--status", "crashed", "--json"]);
    assert!(out.contains(&id), "{out}");
    let (_, out, _) = netdx_with_runs(&runs, &["runs", "list", "--status", "running"]);
    assert!(!out.contains(&id), "{out}");
    // A crashed run is collected.
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "gc", "--keep", "0"]);
    assert_eq!(code, 0);
    assert!(out.contains("removed 1 runs"), "{out}");
}

#[test]
fn a_second_ctrl_c_ends_the_run_at_once_and_marks_it_interrupted() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = scratch("twice");
    let cfg = write(&runs.join("cfg"), "slow.yaml", SLOW);
    let mut child = spawn(&runs, &["train", cfg.to_str().unwrap(), "--every", "0"]);
    let dir = wait_for_metrics(&runs, &mut child, 300);
    // Both within one step: the first asks for a stop after the step in flight, the second
    // must not wait for it.
    signal(child.id(), libc::SIGINT);
    // Two signals sent before the first is delivered merge into one: wait for delivery.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sigint_pending(child.id()) {
        assert!(
            Instant::now() < deadline,
            "the first SIGINT was never delivered"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let sent = Instant::now();
    signal(child.id(), libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        took < Duration::from_secs(5),
        "the second Ctrl-C took {took:?} to end the process"
    );
    assert!(err.contains("interrupted again: ended at once"), "{err}");
    // The record is not left running, and says how it ended.
    let r = read_record(&dir).unwrap();
    assert_eq!(r.status, Status::Interrupted);
    let cause = r.cause.unwrap();
    assert!(cause.contains("second Ctrl-C"), "{cause}");
    assert!(r.finished.is_some() && r.seconds.is_some());
    assert_status_everywhere(&runs, &r.id, "interrupted");
    // Every metrics line written before is whole.
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
}

#[test]
fn a_suite_killed_after_its_observation_run_keeps_the_steps_in_metrics() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = scratch("suite-kill");
    // smoke makes the observation run (50 steps); input_independent then trains for minutes
    // (2 × 150000 steps; 2 × 50000 take 75 s on lavapipe), far longer than the test waits, so
    // lines written only when the suite ends would never appear in time.
    let suite = write(
        &runs.join("cfg"),
        "suite.yaml",
        &(FAST.replace("steps: 10000000", "steps: 50")
            + "checks:\n  - smoke\n  - {input_independent: {steps: 150000}}\n"),
    );
    let mut child = spawn(&runs, &["run", suite.to_str().unwrap()]);
    let dir = wait_for_metrics(&runs, &mut child, 60);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the suite ended: the test needs it running"
    );
    signal(child.id(), libc::SIGKILL);
    child.wait().unwrap();
    assert!(!dir.join("checks.json").exists(), "the suite had finished");
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 50, "every step of the observation run");
    assert_eq!(lines[0]["step"], 0);
    assert!(lines[0]["grad_norm"].is_object(), "{}", lines[0]);
    let id = read_record(&dir).unwrap().id;
    assert_status_everywhere(&runs, &id, "crashed");
}

/// A record as a writer elsewhere would leave it: `running`, by `pid`, from `origin`, its
/// heartbeat `age` old.
fn planted(
    runs: &Path,
    short: &str,
    pid: u32,
    origin: Option<Origin>,
    age: Duration,
) -> (PathBuf, String) {
    let id = format!("20260101-000000-{short}");
    let dir = runs.join(&id);
    std::fs::create_dir_all(&dir).unwrap();
    let record = RunRecord {
        schema_version: 1,
        id: id.clone(),
        kind: RunKind::Train,
        status: Status::Running,
        cause: None,
        started: "2026-01-01T00:00:00Z".into(),
        started_ms: 1_767_225_600_000,
        finished: None,
        seconds: None,
        pid,
        origin,
        command: vec!["netdx".into(), "train".into(), "x.yaml".into()],
        file: "/shared/x.yaml".into(),
        base_dir: "/shared".into(),
        suite: "planted".into(),
        seed: 0,
        overrides: Default::default(),
        config: Value::Null,
        environment: netdx::runs::Environment {
            netdx_version: "0".into(),
            os: "linux".into(),
            arch: "x86_64".into(),
            cpu: "cpu".into(),
            cpus: 1,
            git: None,
            adapter: netdx::runs::environment::AdapterRecord {
                name: "gpu".into(),
                backend: "vulkan".into(),
                device_type: "DiscreteGpu".into(),
                driver: String::new(),
                driver_info: String::new(),
            },
        },
        data: None,
        result: None,
        heartbeat: None,
    };
    let path = dir.join("record.json");
    std::fs::write(&path, serde_json::to_string_pretty(&record).unwrap()).unwrap();
    age_record(&dir, age);
    (dir, id)
}

/// Sets `dir/record.json`'s modification time (its heartbeat) to `age` ago.
fn age_record(dir: &Path, age: Duration) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("record.json"))
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

fn foreign_host() -> Origin {
    Origin {
        host: "node-elsewhere".into(),
        boot_id: Some("00000000-1111-2222-3333-444444444444".into()),
        pid_namespace: Some(4_026_531_836),
        process_start: Some(12345),
        heartbeat_seconds: 10,
    }
}

fn gc_removes(runs: &Path) -> String {
    let (code, out, err) = netdx_with_runs(runs, &["runs", "gc", "--keep", "0"]);
    assert_eq!(code, 0, "{err}");
    out
}

/// A pid no process has here (above Linux's largest pid_max, 2^22).
const NO_SUCH_PID: u32 = (1 << 22) + 7;

#[test]
fn records_from_another_host_or_namespace_are_unknown_while_their_heartbeat_lives() {
    let runs = scratch("foreign");
    let here = Origin::current().clone();
    let fresh = Duration::from_secs(5);
    let stale = liveness::STALE_AFTER + Duration::from_secs(60);
    // Another host; its pid happens to be a live process here (this test): not ours to check.
    let (host_dir, host) = planted(
        &runs,
        "aaaaa1",
        std::process::id(),
        Some(foreign_host()),
        fresh,
    );
    // This kernel, another PID namespace (a container, `unshare`); its pid exists nowhere here.
    let ns_origin = Origin {
        pid_namespace: Some(here.pid_namespace.map_or(1, |n| n + 1)),
        ..here.clone()
    };
    let (ns_dir, ns) = planted(&runs, "aaaaa2", NO_SUCH_PID, Some(ns_origin), fresh);
    // A record from before origins were written.
    let (old_dir, legacy) = planted(&runs, "aaaaa3", NO_SUCH_PID, None, fresh);
    // Written here: the pid decides, whatever the heartbeat says.
    let (_, live) = planted(
        &runs,
        "aaaaa4",
        std::process::id(),
        Some(here.clone()),
        stale,
    );
    let (_, dead) = planted(&runs, "aaaaa5", NO_SUCH_PID, Some(here.clone()), fresh);
    // Our pid, but a process that started at another time: the writer's pid was recycled.
    let recycled_origin = Origin {
        process_start: here.process_start.map(|t| t + 1),
        ..here.clone()
    };
    let (_, recycled) = planted(
        &runs,
        "aaaaa6",
        std::process::id(),
        Some(recycled_origin),
        fresh,
    );

    for id in [&host, &ns, &legacy] {
        assert_status_everywhere(&runs, id, "unknown");
        let v = show_json(&runs, id);
        assert_eq!(v["recorded_status"], "running");
        assert!(
            v["status_note"].as_str().unwrap().contains("heartbeat"),
            "{v}"
        );
    }
    let (_, out, _) = netdx_with_runs(&runs, &["runs", "show", &host]);
    assert!(out.contains("node-elsewhere (another host)"), "{out}");
    let (_, out, _) = netdx_with_runs(&runs, &["runs", "show", &ns]);
    assert!(out.contains("another PID namespace"), "{out}");
    assert_status_everywhere(&runs, &live, "running");
    assert_status_everywhere(&runs, &dead, "crashed");
    if here.process_start.is_some() {
        assert_status_everywhere(&runs, &recycled, "crashed");
    }
    let (_, out, _) = netdx_with_runs(&runs, &["runs", "list", "--status", "unknown"]);
    assert_eq!(out.lines().count(), 1 + 3, "{out}");

    // gc never collects what may be live: the crashed ones go, the rest stay.
    let out = gc_removes(&runs);
    assert!(out.contains(&dead) && !out.contains(&host), "{out}");
    let left: Vec<String> = records(&runs).into_iter().map(|(_, r)| r.id).collect();
    for id in [&host, &ns, &legacy, &live] {
        assert!(left.contains(id), "{id} was collected: {out}");
    }

    // Their heartbeats stop: stale past the timeout, they count as crashed and go.
    for d in [&host_dir, &ns_dir, &old_dir] {
        age_record(d, stale);
    }
    for id in [&host, &ns, &legacy] {
        assert_status_everywhere(&runs, id, "crashed");
        let v = show_json(&runs, id);
        assert!(v["status_note"].as_str().unwrap().contains("stale"), "{v}");
    }
    let out = gc_removes(&runs);
    assert!(out.contains("removed 3 runs"), "{out}");
    let left: Vec<String> = records(&runs).into_iter().map(|(_, r)| r.id).collect();
    assert_eq!(left, vec![live]);
}

#[test]
fn origins_are_checkable_only_from_the_same_boot_and_namespace() {
    let here = Origin::current().clone();
    assert!(here.checkable_from(&here));
    assert!(!foreign_host().checkable_from(&here));
    let same_host_other_ns = Origin {
        pid_namespace: Some(here.pid_namespace.map_or(1, |n| n + 1)),
        ..here.clone()
    };
    assert!(!same_host_other_ns.checkable_from(&here));
    let rebooted = Origin {
        boot_id: Some("another-boot".into()),
        ..here.clone()
    };
    assert!(!rebooted.checkable_from(&here));
    if cfg!(target_os = "linux") {
        assert!(
            here.boot_id.is_some() && here.pid_namespace.is_some(),
            "{here:?}"
        );
    }
}

/// Two PID namespaces sharing one runs folder, for real: a run started under
/// `unshare --pid --fork` is seen from here as unknown (never crashed) and never collected
/// while its heartbeat is fresh.
#[test]
fn a_run_in_another_pid_namespace_is_neither_crashed_nor_collected_while_alive() {
    if crate::common::gpu().is_none() {
        return;
    }
    let probe = Command::new("unshare")
        .args(["--pid", "--fork", "--map-root-user", "--kill-child", "true"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED (visibly): `unshare --pid --fork --map-root-user` is not permitted here ({:?}); records_from_another_host_or_namespace_are_unknown_while_their_heartbeat_lives covers the same rules with planted records",
            probe.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
        return;
    }
    let runs = scratch("unshare");
    let cfg = write(&runs.join("cfg"), "long.yaml", FAST);
    let mut child = Command::new("unshare")
        .args(["--pid", "--fork", "--map-root-user", "--kill-child"])
        .arg(env!("CARGO_BIN_EXE_netdx"))
        .args(["train", cfg.to_str().unwrap(), "--every", "0"])
        .env("NETDX_RUNS_DIR", &runs)
        .env("NETDX_HEARTBEAT_SECONDS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let dir = wait_for_metrics(&runs, &mut child, 120);
    let r = read_record(&dir).unwrap();
    let origin = r.origin.clone().unwrap();
    assert_ne!(
        origin.pid_namespace,
        Origin::current().pid_namespace,
        "the run is in its own PID namespace"
    );
    assert_eq!(origin.boot_id, Origin::current().boot_id, "on this kernel");
    assert_status_everywhere(&runs, &r.id, "unknown");
    let out = gc_removes(&runs);
    assert!(out.contains("removed 0 runs"), "{out}");
    assert!(dir.join("record.json").exists());
    // The heartbeat keeps the record fresh while the run lives.
    let mtime = || {
        dir.join("record.json")
            .metadata()
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = mtime();
    let deadline = Instant::now() + Duration::from_secs(10);
    while mtime() <= before {
        assert!(Instant::now() < deadline, "no heartbeat within 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Killed: the run was alive until now, and the record still cannot be checked from here,
    // so it stays unknown until its heartbeat is stale, and is collected only then.
    signal(child.id(), libc::SIGKILL);
    child.wait().unwrap();
    assert_status_everywhere(&runs, &r.id, "unknown");
    age_record(&dir, liveness::STALE_AFTER + Duration::from_secs(1));
    assert_status_everywhere(&runs, &r.id, "crashed");
    let out = gc_removes(&runs);
    assert!(out.contains("removed 1 runs"), "{out}");
}

#[test]
fn a_truncated_record_is_named_by_show_and_list() {
    let runs = scratch("corrupt");
    let (_, good) = planted(&runs, "bbbbb1", NO_SUCH_PID, None, Duration::ZERO);
    let (dir, _) = planted(&runs, "bbbbb2", NO_SUCH_PID, None, Duration::ZERO);
    let path = dir.join("record.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let (empty_dir, _) = planted(&runs, "bbbbb3", NO_SUCH_PID, None, Duration::ZERO);
    std::fs::write(empty_dir.join("record.json"), "").unwrap();

    let (code, out, err) = netdx_with_runs(&runs, &["runs", "show", "bbbbb2"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains(&path.display().to_string()) && err.contains("truncated"),
        "{err}"
    );
    assert!(!err.contains("no run"), "{err}");
    let (code, _, err) = netdx_with_runs(&runs, &["runs", "show", "bbbbb3", "--json"]);
    assert_eq!(code, 2);
    assert!(err.contains("run record is empty"), "{err}");

    // list: the readable run listed, each unreadable one named on stderr.
    for args in [&["runs", "list"][..], &["runs", "list", "--json"][..]] {
        let (code, out, err) = netdx_with_runs(&runs, args);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&good), "{out}");
        assert!(
            err.contains(&path.display().to_string()) && err.contains("warning: not listed"),
            "{err}"
        );
        assert!(err.contains("bbbbb3"), "{err}");
    }
    // An ambiguous prefix names the unreadable candidates too.
    let (code, _, err) = netdx_with_runs(&runs, &["runs", "show", "bbbbb"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("matches 3 runs") && err.contains("(unreadable)"),
        "{err}"
    );
    // gc leaves unreadable records alone.
    gc_removes(&runs);
    assert!(path.exists());
}

#[test]
fn a_runs_folder_that_is_a_file_is_named_as_such() {
    let dir = scratch("runs-file");
    let file = write(&dir, "runs", "not a folder");
    for args in [
        &["runs", "list"][..],
        &["train", "configs/default.yaml", "--steps", "1"][..],
    ] {
        let (code, _, err) = netdx_with_runs(&file, args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("NETDX_RUNS_DIR") && err.contains("is a file, not a folder"),
            "{err}"
        );
        assert!(!err.contains("File exists"), "{err}");
    }
    let (code, _, err) = netdx_with_runs(
        &dir,
        &["runs", "list", "--runs-dir", file.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("--runs-dir") && err.contains("is a file"),
        "{err}"
    );
}

#[test]
fn outputs_into_a_missing_folder_fail_before_the_run_starts() {
    let dir = scratch("outputs");
    let runs = dir.join("runs");
    let missing = dir.join("no-such-folder");
    let cases: [(&[&str], &str); 3] = [
        (&["run", "--junit"], "--junit"),
        (&["train", "configs/default.yaml", "--save"], "--save"),
        (&["train", "configs/default.yaml", "--dump"], "--dump"),
    ];
    for (args, flag) in cases {
        let target = missing.join("out.file");
        let mut args = args.to_vec();
        args.push(target.to_str().unwrap());
        let started = Instant::now();
        let (code, _, err) = netdx_with_runs(&runs, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains(flag) && err.contains("does not exist") && err.contains("nothing ran"),
            "{err}"
        );
        // Refused before any GPU work, and no record left behind.
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(records(&runs).is_empty(), "{args:?} left a record");
    }
    // A folder given as the file.
    let (code, _, err) = netdx_with_runs(&runs, &["run", "--junit", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("that is a folder"), "{err}");
}

#[test]
fn junit_with_control_characters_in_names_is_well_formed_xml() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("junit");
    let suite = write(
        &dir,
        "suite.yaml",
        &(FAST.replace("steps: 10000000", "steps: 20")
            + "name: \"bell\\a esc\\e[31m nul-ish\\x01 <&> \\\"q\\\" tab\\tend\"\n"
            + "cases:\n  - {name: \"case\\x02\\x1f\", set: {training.optimizer.lr: 0.1}}\n"
            + "checks: [initial_loss]\n"),
    );
    let junit = dir.join("out.xml");
    let (code, out, err) = netdx_with_runs(
        &dir.join("runs"),
        &[
            "run",
            suite.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert!(code == 0 || code == 1, "{out}\n{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    let suite_el = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let name = suite_el.attribute("name").unwrap();
    // The printable text survives as written (a tab as the space an XML parser reads in an
    // attribute); each forbidden character is visible as \u{..}.
    assert!(name.starts_with("bell\\u{7} esc\\u{1b}[31m"), "{name:?}");
    assert!(name.contains("nul-ish\\u{1} <&> \"q\" tab end"), "{name:?}");
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    assert_eq!(
        case.attribute("name"),
        Some("initial_loss [case\\u{2}\\u{1f}]")
    );
}
