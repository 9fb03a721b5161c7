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
    // The same folder twice counts once.
    let (code, _, err) = merge(&[&one, &one, &three]);
    assert_eq!(code, 2);
    assert!(err.contains("missing shard 2/3"), "{err}");
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
    let run = |vars: &[(&str, &str)], shard: &str| scheduled(&runs, &suite, shard, vars);
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

/// A sweep one of whose cases fails its checks (lr 50 diverges), small enough to run many
/// times.
const FAILING_SWEEP: &str = "seed: 0
data: {builtin: spiral, classes: 3, points_per_class: 30}
model:
  input: 2
  layers: [{linear: {out: 8}}, relu, {linear: {out: 3}}]
loss: softmax_cross_entropy
training:
  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
  batch_size: 30
  steps: 40
checks: [initial_loss, smoke, numerics, weights_update, dead_units, update_ratio]
matrix:
  training.optimizer.lr: [0.1, 50.0]
";

/// `netdx run SUITE --shard SPEC` with the scheduler variables `vars` (and no others) and the
/// records in `runs`: the exit code and stderr.
fn scheduled(runs: &Path, suite: &Path, spec: &str, vars: &[(&str, &str)]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netdx"));
    c.args(["run", suite.to_str().unwrap(), "--shard", spec])
        .env("NETDX_RUNS_DIR", runs);
    for k in netdx::suite::shard::SCHEDULER_VARIABLE_NAMES {
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
}

/// `netdx merge` of every record folder in `folder` (the recipes' glob) into `out`.
fn merge_glob(folder: &Path, out: &Path) -> (i32, String, String) {
    let mut args = vec!["merge".to_string()];
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    args.extend(dirs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    netdx_with_runs(folder, &args)
}

/// The merged record: its status and the number of findings.
fn merged_outcome(out: &Path) -> (String, usize) {
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("record.json")).unwrap()).unwrap();
    let checks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checks.json")).unwrap()).unwrap();
    (
        record["status"].as_str().unwrap().to_string(),
        findings(&checks).len(),
    )
}

#[test]
fn the_readme_recipes_merge_every_shard_when_a_check_fails_and_after_a_retry() {
    if crate::common::gpu().is_none() {
        return;
    }
    let dir = scratch("recipes");
    let suite = dir.join("sweep.yaml");
    std::fs::write(&suite, FAILING_SWEEP).unwrap();
    let units = 2 * 6;

    // Slurm: `--array=0-2`, each task with its index; `afterany` merges whatever the tasks'
    // exit codes were.
    let slurm = dir.join("slurm");
    let codes: Vec<i32> = (0..3)
        .map(|task| {
            let id = task.to_string();
            let (code, err) = scheduled(
                &slurm,
                &suite,
                "auto",
                &[
                    ("SLURM_ARRAY_TASK_ID", &id),
                    ("SLURM_ARRAY_TASK_MIN", "0"),
                    ("SLURM_ARRAY_TASK_COUNT", "3"),
                ],
            );
            assert!(code == 0 || code == 1, "task {task}: {err}");
            code
        })
        .collect();
    assert!(
        codes.contains(&1),
        "a shard holds a failing check: {codes:?}"
    );
    let out = dir.join("slurm-merged");
    let (code, _, err) = merge_glob(&slurm, &out);
    assert_eq!(code, 1, "the merge reports the failed checks: {err}");
    assert_eq!(merged_outcome(&out), ("failed".to_string(), units));

    // Kubernetes: an Indexed Job of 3 whose index 1 ran twice (a retried pod): the glob holds
    // two records of shard 2/3; the newest finished one is merged and the other named.
    let k8s = dir.join("k8s");
    for index in ["0", "1", "1", "2"] {
        let (code, err) = scheduled(&k8s, &suite, "auto/3", &[("JOB_COMPLETION_INDEX", index)]);
        assert!(code == 0 || code == 1, "index {index}: {err}");
    }
    let out = dir.join("k8s-merged");
    let (code, _, err) = merge_glob(&k8s, &out);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("merge: shard 2/3 has 2 records (a retried task?): using"),
        "{err}"
    );
    assert_eq!(merged_outcome(&out), ("failed".to_string(), units));
    // An attempt that never finished (a crashed pod) is left out for the finished one.
    let k8s_records: Vec<PathBuf> = std::fs::read_dir(&k8s)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    let shard_of = |p: &Path| -> String {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("record.json")).unwrap()).unwrap();
        r["overrides"]["shard"].as_str().unwrap().to_string()
    };
    let crashed = k8s_records
        .iter()
        .find(|p| shard_of(p) == "3/3")
        .unwrap()
        .clone();
    let copy = k8s.join("crashed-attempt");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["record.json", "source.yaml"] {
        std::fs::copy(crashed.join(f), copy.join(f)).unwrap();
    }
    let record = std::fs::read_to_string(copy.join("record.json")).unwrap();
    let record = record
        .replacen("\"status\": \"passed\"", "\"status\": \"crashed\"", 1)
        .replacen("\"status\": \"failed\"", "\"status\": \"crashed\"", 1);
    std::fs::write(copy.join("record.json"), record).unwrap();
    let out = dir.join("k8s-merged-again");
    let (code, _, err) = merge_glob(&k8s, &out);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("merge: shard 3/3 has 2 records"), "{err}");
    assert!(err.contains("crashed-attempt (crashed"), "{err}");

    // GitHub Actions: each matrix job its own runs folder (an artifact); the merge job
    // downloads them all into one folder and merges them.
    let downloaded = dir.join("shards");
    std::fs::create_dir_all(&downloaded).unwrap();
    for k in 1..=3 {
        let artifact = dir.join(format!("shard-{k}"));
        let (code, err) = scheduled(&artifact, &suite, &format!("{k}/3"), &[]);
        assert!(code == 0 || code == 1, "shard {k}: {err}");
        for e in std::fs::read_dir(&artifact).unwrap() {
            let e = e.unwrap();
            std::fs::rename(e.path(), downloaded.join(e.file_name())).unwrap();
        }
    }
    let out = dir.join("gh-merged");
    let (code, _, err) = merge_glob(&downloaded, &out);
    assert_eq!(code, 1, "{err}");
    assert_eq!(merged_outcome(&out), ("failed".to_string(), units));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fenced code block of the README that contains `marker`.
fn readme_block(marker: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut blocks = readme.split("```").skip(1).step_by(2);
    let block = blocks
        .find(|b| b.contains(marker))
        .unwrap_or_else(|| panic!("no README block with {marker}"));
    // Drop the info string (`sh`, `yaml`).
    block
        .split_once('\n')
        .map_or("", |(_, rest)| rest)
        .to_string()
}

#[test]
fn the_readme_recipes_keep_merging_after_a_failed_check() {
    // Slurm: the shebang first (sbatch reads #SBATCH lines only after it), the merge after any
    // end of the array.
    let sbatch = readme_block("#SBATCH --array");
    assert!(sbatch.starts_with("#!/bin/bash\n"), "{sbatch}");
    assert!(readme_block("sbatch --parsable").contains("--dependency=afterany:"));
    // Kubernetes: failed checks and config errors fail their index without a retry.
    let job: serde_yaml::Value = serde_yaml::from_str(&readme_block("kind: Job")).unwrap();
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["backoffLimitPerIndex"], 1);
    let rule = &spec["podFailurePolicy"]["rules"][0];
    assert_eq!(rule["action"], "FailIndex");
    assert_eq!(
        rule["onExitCodes"]["values"],
        serde_yaml::from_str::<serde_yaml::Value>("[1, 2]").unwrap()
    );
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    // GitHub Actions: the upload and the merge job run after a shard exits 1.
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(&readme_block("upload-artifact")).unwrap();
    let shard = &workflow["jobs"]["shard"];
    assert_eq!(shard["strategy"]["fail-fast"], false);
    let upload = shard["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.contains("upload-artifact"))
        })
        .unwrap();
    assert!(upload["if"].as_str().unwrap().contains("!cancelled()"));
    assert!(workflow["jobs"]["merge"]["if"]
        .as_str()
        .unwrap()
        .contains("!cancelled()"));
}
