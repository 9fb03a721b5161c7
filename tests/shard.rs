//! Sharding a suite and merging the shards: a learning-rate × batch-size sweep split three
//! ways and merged equals the unsharded run (findings, counts, step metrics), and merges that
//! cannot be right are refused with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use netdx::runs::Runs;

use crate::common::netdx_with_runs;

const SWEEP: &str = "seed: 0
data: {builtin: spiral, classes: 3, points_per_class: 50}
model:
  input: 2
  layers: [{linear: {out: 16}}, relu, {linear: {out: 3}}]
loss: softmax_cross_entropy
training:
  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
  batch_size: 50
  steps: 100
checks: [initial_loss, smoke, gradient_check, weights_update, update_ratio, numerics, dead_units]
matrix:
  training.optimizer.lr: [0.1, 0.03]
  training.batch_size: [25, 50]
";

fn scratch(name: &str) -> PathBuf {
    crate::common::fresh_dir(&format!("shard-{name}"))
}

/// The record folder of the newest run in `runs`.
fn newest(runs: &Path) -> PathBuf {
    let (dir, _) = Runs {
        root: runs.to_path_buf(),
    }
    .all()
    .unwrap()
    .pop()
    .unwrap();
    dir
}

fn run_shard(runs: &Path, suite: &Path, shard: &str) -> PathBuf {
    let (code, out, err) =
        netdx_with_runs(runs, &["run", suite.to_str().unwrap(), "--shard", shard]);
    assert_eq!(code, 0, "shard {shard}: {out}{err}");
    newest(runs)
}

fn findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["findings"].as_array().unwrap().clone()
}

#[test]
fn a_sweep_sharded_three_ways_and_merged_equals_the_unsharded_run() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("equal");
    let suite = dir.join("sweep.yaml");
    std::fs::write(&suite, SWEEP).unwrap();
    let runs = dir.join("runs");
    let (code, _, err) = netdx_with_runs(&runs, &["run", suite.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let whole = newest(&runs);
    let shards: Vec<PathBuf> = ["3/3", "1/3", "2/3"]
        .iter()
        .map(|s| run_shard(&runs, &suite, s))
        .collect();
    let merged = dir.join("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), merged.display().to_string()]);
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let (code, out, err) = netdx_with_runs(&runs, &args);
    assert_eq!(code, 0, "{out}{err}");

    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let a = read(whole.join("checks.json"));
    let b = read(merged.join("checks.json"));
    // Every shard ran some of the 28 units, and none ran them all.
    for s in &shards {
        let n = findings(&read(s.join("checks.json"))).len();
        assert!(n > 0 && n < 28, "{} ran {n} units", s.display());
    }
    let (fa, fb) = (findings(&a), findings(&b));
    assert_eq!(fa.len(), 28);
    for (x, y) in fa.iter().zip(&fb) {
        for key in [
            "case",
            "check",
            "verdict",
            "measured",
            "threshold",
            "message",
            "details",
        ] {
            assert_eq!(x[key], y[key], "{key} of {} / {}", x["case"], x["check"]);
        }
    }
    assert_eq!(fa.len(), fb.len());
    assert_eq!(a["counts"], b["counts"]);
    assert_eq!(a["cases"], b["cases"]);
    assert_eq!(a["seed"], b["seed"]);
    assert_eq!(
        std::fs::read_to_string(whole.join("metrics.jsonl")).unwrap(),
        std::fs::read_to_string(merged.join("metrics.jsonl")).unwrap(),
        "the merged step metrics are the unsharded run's"
    );
    // The merged record is complete: JUnit parses with a test case per unit, the text report
    // ends with the counts.
    let junit = std::fs::read_to_string(merged.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases, 28);
    let text = std::fs::read_to_string(merged.join("report.txt")).unwrap();
    assert!(text.contains("28 passed, 0 warned, 0 failed"), "{text}");
    let record = read(merged.join("record.json"));
    assert_eq!(record["status"], "passed");
    assert_eq!(record["result"]["merged_from"].as_array().unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merges_that_cannot_be_right_are_refused_with_the_reason() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("refuse");
    let runs = dir.join("runs");
    let suite = dir.join("sweep.yaml");
    std::fs::write(&suite, SWEEP).unwrap();
    let one = run_shard(&runs, &suite, "1/3");
    let three = run_shard(&runs, &suite, "3/3");
    let other_suite = dir.join("other.yaml");
    std::fs::write(&other_suite, SWEEP.replace("steps: 100", "steps: 90")).unwrap();
    let other = run_shard(&runs, &other_suite, "2/3");
    let (code, _, _) = netdx_with_runs(&runs, &["run", suite.to_str().unwrap()]);
    assert_eq!(code, 0);
    let whole = newest(&runs);
    let out = dir.join("out");
    let merge = |records: &[&Path]| {
        let mut args = vec!["merge".to_string()];
        args.extend(records.iter().map(|p| p.display().to_string()));
        args.extend(["-o".into(), out.display().to_string()]);
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        netdx_with_runs(&runs, &args)
    };
    let (code, _, err) = merge(&[&one, &three]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("missing shard 2/3 (training."),
        "names the missing shard and what it holds: {err}"
    );
    let (code, _, err) = merge(&[&one, &other, &three]);
    assert_eq!(code, 2);
    assert!(err.contains("ran different suites or configs"), "{err}");
    let (code, _, err) = merge(&[&one, &one, &three]);
    assert_eq!(code, 2);
    assert!(err.contains("shard 1/3 given twice"), "{err}");
    let (code, _, err) = merge(&[&whole]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a shard"), "{err}");
    assert!(
        !out.join("record.json").exists(),
        "a refused merge writes nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shard_auto_reads_the_slurm_array_and_indexed_job_variables() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("auto");
    let runs = dir.join("runs");
    let suite = dir.join("sweep.yaml");
    std::fs::write(&suite, SWEEP).unwrap();
    let run = |vars: &[(&str, &str)], shard: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_netdx"));
        c.args(["run", suite.to_str().unwrap(), "--shard", shard])
            .env("NETDX_RUNS_DIR", &runs);
        for k in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_COUNT",
            "JOB_COMPLETION_INDEX",
            "NETDX_SHARD_INDEX",
            "NETDX_SHARD_COUNT",
        ] {
            c.env_remove(k);
        }
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let recorded_shard = || -> serde_json::Value {
        let r: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(newest(&runs).join("record.json")).unwrap(),
        )
        .unwrap();
        r["overrides"]["shard"].clone()
    };
    let (code, err) = run(
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
        "auto",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(recorded_shard(), "2/3");
    let (code, err) = run(&[("JOB_COMPLETION_INDEX", "2")], "auto/3");
    assert_eq!(code, 0, "{err}");
    assert_eq!(recorded_shard(), "3/3");
    let (code, err) = run(&[], "auto");
    assert_eq!(code, 2);
    assert!(err.contains("no scheduler index"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_suite_over_every_adapter_equals_its_shards_run_one_by_one() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("adapters");
    let runs = dir.join("runs");
    let suite = dir.join("sweep.yaml");
    std::fs::write(&suite, SWEEP).unwrap();
    // Every backend: on a machine with Mesa, lavapipe (Vulkan) and llvmpipe (GL).
    let netdx_all = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_netdx"))
            .args(args)
            .env("NETDX_RUNS_DIR", &runs)
            .env_remove("WGPU_BACKEND")
            .env_remove("WGPU_ADAPTER_NAME")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, listing, _) = netdx_all(&["adapters", "--json"]);
    // The adapters that open a device: `--adapter all` leaves out one that does not (wgpu's GL
    // backend on NVIDIA's Linux driver).
    let usable: Vec<u64> = serde_json::from_str::<serde_json::Value>(&listing)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["opens"] == true)
        .map(|a| a["index"].as_u64().unwrap())
        .collect();
    let count = usable.len();
    let (code, out, err) = netdx_all(&[
        "run",
        suite.to_str().unwrap(),
        "--adapter",
        "all",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let parallel: serde_json::Value = serde_json::from_str(&out).unwrap();
    eprintln!(
        "--adapter all over {count} adapters: {}",
        parallel["backend"]
    );
    if count < 2 {
        eprintln!("one adapter only: --adapter all is a plain run here");
        return;
    }
    let mut shards = Vec::new();
    for j in 1..=count {
        let (code, _, err) = netdx_all(&[
            "run",
            suite.to_str().unwrap(),
            "--shard",
            &format!("{j}/{count}"),
            "--adapter",
            &usable[j - 1].to_string(),
        ]);
        assert_eq!(code, 0, "{err}");
        shards.push(newest(&runs).display().to_string());
    }
    let merged = dir.join("merged");
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(shards.iter().map(|s| s.as_str()));
    let merged_arg = merged.display().to_string();
    args.extend(["-o", &merged_arg, "--format", "json"]);
    let (code, out, err) = netdx_all(&args);
    assert_eq!(code, 0, "{err}");
    let one_by_one: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (fa, fb) = (findings(&parallel), findings(&one_by_one));
    assert_eq!(fa.len(), 28);
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        for key in ["case", "check", "verdict", "measured", "message", "details"] {
            assert_eq!(x[key], y[key], "{key} of {} / {}", x["case"], x["check"]);
        }
    }
    assert_eq!(parallel["backend"], one_by_one["backend"]);
    let _ = std::fs::remove_dir_all(&dir);
}
