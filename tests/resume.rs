//! Checkpoints and `train --resume` with real runs of the binary: a run interrupted by a
//! signal, or stopped by its own length, continues bit for bit as the run that never stopped
//! (weights, batch-norm statistics, optimizer moments and every later step's loss), and a
//! checkpoint that does not fit is refused with the reason.

use std::path::{Path, PathBuf};

use netdx::io::safetensors::SafetensorsFile;
use netdx::runs::record::read_record;
use netdx::runs::{Runs, Status};

use crate::common::{fresh_dir, netdx_with_runs, records};

/// Adam with a cosine schedule after warm-up, L2, batch norm and dropout, batches of 30 out of
/// 300 examples reshuffled every epoch: every kind of state a step carries to the next.
const STATEFUL: &str = "seed: 5\n\
data: {builtin: spiral, points_per_class: 100}\n\
model:\n  layers: [{linear: {out: 24}}, batch_norm, relu, {dropout: {rate: 0.2}}, {linear: {out: 3}}]\n\
training:\n  optimizer: {name: adam, lr: 0.01}\n  schedule: {name: cosine, warmup_steps: 10}\n  batch_size: 30\n  l2: 1.0e-4\n  steps: STEPS\n";

fn config(dir: &Path, name: &str, steps: usize, optimizer: Option<&str>) -> PathBuf {
    let mut text = STATEFUL.replace("STEPS", &steps.to_string());
    if let Some(o) = optimizer {
        text = text.replace("{name: adam, lr: 0.01}", o);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Every tensor of a safetensors file, by name, as bit patterns.
fn tensors(path: &Path) -> Vec<(String, Vec<u32>)> {
    let file = SafetensorsFile::open(path).unwrap();
    file.shapes()
        .into_keys()
        .map(|name| {
            let bits = file.read(&name).unwrap().data;
            (name, bits.iter().map(|v| v.to_bits()).collect())
        })
        .collect()
}

/// The recorded loss of every step of the only run in `runs`, as bit patterns by step.
fn losses(runs: &Path) -> Vec<(u64, u64)> {
    let all = records(runs);
    assert_eq!(all.len(), 1, "one run in {}", runs.display());
    std::fs::read_to_string(all[0].0.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["step"].as_u64().unwrap(),
                v["loss"].as_f64().unwrap().to_bits(),
            )
        })
        .collect()
}

/// Trains `cfg` without stopping, recording into `runs` and saving the final state.
fn uninterrupted(cfg: &Path, runs: &Path, save: &Path) {
    let (code, _, err) = netdx_with_runs(
        runs,
        &[
            "train",
            cfg.to_str().unwrap(),
            "--every",
            "0",
            "--save",
            save.to_str().unwrap(),
            "--save-optimizer",
        ],
    );
    assert_eq!(code, 0, "{err}");
}

fn assert_same_state(expected: &Path, found: &Path) {
    let (a, b) = (tensors(expected), tensors(found));
    let names = |t: &[(String, Vec<u32>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        let differing = x.iter().zip(y).filter(|(p, q)| p != q).count();
        assert_eq!(
            differing,
            0,
            "{name}: {differing} of {} values differ",
            x.len()
        );
    }
    assert!(
        a.iter().any(|(n, _)| n.ends_with(".exp_avg_sq")),
        "{:?}",
        names(&a)
    );
    assert!(
        a.iter().any(|(n, _)| n.ends_with(".running_var")),
        "{:?}",
        names(&a)
    );
}

#[test]
fn an_interrupted_run_resumes_bit_for_bit() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = fresh_dir("resume-signal");
    let cfg = config(&dir, "stateful.yaml", 3000, None);
    let (whole_runs, full) = (dir.join("whole"), dir.join("full.safetensors"));
    uninterrupted(&cfg, &whole_runs, &full);

    let runs = dir.join("runs");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["train", cfg.to_str().unwrap(), "--every", "0"])
        .env("NETDX_RUNS_DIR", &runs)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let record_dir = loop {
        let all = Runs { root: runs.clone() }.all().unwrap_or_default();
        let started = all.into_iter().find(|(d, _)| {
            d.join("metrics.jsonl")
                .metadata()
                .is_ok_and(|m| m.len() > 0)
        });
        if let Some((d, _)) = started {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no steps recorded");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{err}");
    let checkpoint = record_dir.join("checkpoint.safetensors");
    let expected = format!(
        "go on with: netdx train {} --resume {}",
        cfg.display(),
        checkpoint.display()
    );
    assert!(err.contains(&expected), "{err}");
    let record = read_record(&record_dir).unwrap();
    assert_eq!(record.status, Status::Interrupted);
    assert!(
        record.cause.as_deref().unwrap_or("").contains(&expected),
        "{:?}",
        record.cause
    );
    let stopped_after = losses(&runs).len();
    assert!(stopped_after < 3000, "the run ended before the signal");

    // The command the message gives, run as it is (with the final state saved to compare).
    let line = err.lines().find(|l| l.contains("go on with: ")).unwrap();
    let command = line.split("go on with: ").nth(1).unwrap();
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let resumed = dir.join("resumed.safetensors");
    let resumed_runs = dir.join("resumed-runs");
    let mut args = words.clone();
    args.extend([
        "--every",
        "0",
        "--save",
        resumed.to_str().unwrap(),
        "--save-optimizer",
    ]);
    let (code, out, err) = netdx_with_runs(&resumed_runs, &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("resume:  from step {stopped_after} of 3000")),
        "{out}"
    );
    assert_same_state(&full, &resumed);
    // Every step after the interruption has the loss of the uninterrupted run's step.
    let whole = losses(&whole_runs);
    let rest = losses(&resumed_runs);
    assert_eq!(rest.first().map(|s| s.0), Some(stopped_after as u64));
    assert_eq!(rest[..], whole[stopped_after..]);
    let record = &records(&resumed_runs)[0].1;
    assert_eq!(
        record.overrides.resume.as_deref(),
        Some(checkpoint.to_str().unwrap())
    );
    assert_eq!(
        record.result.as_ref().unwrap()["resumed_from"],
        stopped_after
    );
}

#[test]
fn a_saved_checkpoint_continues_a_shorter_run_and_refuses_what_does_not_fit() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = fresh_dir("resume-save");
    // A constant schedule: 40 steps then 60 more are the 100-step run.
    let momentum = Some("{name: sgd, lr: 0.05, momentum: 0.9}");
    let cfg = config(&dir, "momentum.yaml", 100, momentum);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace(
            "schedule: {name: cosine, warmup_steps: 10}",
            "schedule: constant",
        ),
    )
    .unwrap();
    let path = cfg.to_str().unwrap();
    let runs = dir.join("runs");
    let (full, part, end) = (
        dir.join("full.safetensors"),
        dir.join("part.safetensors"),
        dir.join("end.safetensors"),
    );
    let run = |args: &[&str]| netdx_with_runs(&runs, args);
    let (code, _, err) = run(&[
        "train",
        path,
        "--every",
        "0",
        "--save",
        full.to_str().unwrap(),
        "--save-optimizer",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "train",
        path,
        "--steps",
        "40",
        "--every",
        "0",
        "--save",
        part.to_str().unwrap(),
        "--save-optimizer",
    ]);
    assert_eq!(code, 0, "{err}");
    let part_arg = part.to_str().unwrap();
    let (code, _, err) = run(&[
        "train",
        path,
        "--resume",
        part_arg,
        "--every",
        "0",
        "--save",
        end.to_str().unwrap(),
        "--save-optimizer",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: the checkpoint's run planned 40 steps and this one 100"),
        "{err}"
    );
    let names: Vec<String> = tensors(&full).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"optimizer.layers.0.weight.momentum_buffer".to_string()),
        "{names:?}"
    );
    let (a, b) = (tensors(&full), tensors(&end));
    assert_eq!(a, b, "40 + 60 steps differ from 100");

    // The checkpoint still loads as weights.
    let (code, _, err) = run(&[
        "train",
        path,
        "--weights",
        part_arg,
        "--steps",
        "1",
        "--every",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");

    // What does not fit is refused before anything runs, with exit 2.
    let weights_only = dir.join("weights.safetensors");
    let (code, _, err) = run(&[
        "train",
        path,
        "--steps",
        "5",
        "--every",
        "0",
        "--save",
        weights_only.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let adam = config(&dir, "adam.yaml", 100, None);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![path, "--resume", weights_only.to_str().unwrap()],
            "not a checkpoint: its header has no step and total_steps",
        ),
        (
            vec![adam.to_str().unwrap(), "--resume", part_arg],
            "written for optimizer `momentum`; the config's is `adam`",
        ),
        (
            vec![adam.to_str().unwrap(), "--resume", part_arg],
            "missing `optimizer.layers.0.weight.exp_avg` [24, 2]",
        ),
        (
            vec![path, "--resume", part_arg, "--steps", "40"],
            "the checkpoint is after step 40 and this run has 40 steps; nothing is left to run",
        ),
        (
            vec![path, "--checkpoint-every", "10", "--no-record"],
            "--checkpoint-every saves into the run record's folder",
        ),
        (
            vec![path, "--resume", part_arg, "--weights", part_arg],
            "cannot be used with",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["train"];
        all.extend(args.iter().copied());
        let (code, _, err) = run(&all);
        assert_eq!(code, 2, "{all:?}: {err}");
        assert!(
            err.contains(message),
            "{all:?}: expected {message:?} in\n{err}"
        );
    }
}

#[test]
fn checkpoint_every_keeps_the_latest_state_in_the_record() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = fresh_dir("resume-every");
    let cfg = config(&dir, "stateful.yaml", 25, None);
    let runs = dir.join("runs");
    let (code, _, err) = netdx_with_runs(
        &runs,
        &[
            "train",
            cfg.to_str().unwrap(),
            "--every",
            "0",
            "--checkpoint-every",
            "10",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let all = records(&runs);
    let file = SafetensorsFile::open(&all[0].0.join("checkpoint.safetensors")).unwrap();
    let header = file.metadata();
    assert_eq!(header.get("step").map(String::as_str), Some("25"));
    assert_eq!(header.get("total_steps").map(String::as_str), Some("25"));
    assert_eq!(header.get("optimizer").map(String::as_str), Some("adam"));
    // No half-written file is left beside it.
    let left: Vec<_> = std::fs::read_dir(&all[0].0)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
