//! Run records and history with real runs of the binary: every run leaves a complete record,
//! also when it hits NaN or is interrupted; `runs list / show / diff / rerun / gc` work on them.

use std::path::{Path, PathBuf};

use netdx::runs::record::read_record;
use netdx::runs::{RunKind, Status};

use crate::common::{netdx_with_runs, records};

/// A fresh runs folder for one test.
fn runs_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netdx-runs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Sends `signal` to a running netdx, waits for it, checks that it ended as interrupted
/// (exit 130), and returns its stdout and stderr.
fn interrupt(child: std::process::Child, signal: libc::c_int) -> (Vec<u8>, String) {
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{err}");
    (out.stdout, err)
}

fn metric_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const SPIRAL: &str = "seed: 3\ndata: {builtin: spiral, points_per_class: 40}\nmodel:\n  layers: [{linear: {out: 16}}, relu, {linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.5}, batch_size: 30, steps: 40}\n";

#[test]
fn a_training_run_leaves_a_complete_record_and_reruns_bit_for_bit() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("train");
    let cfg = write(&runs.join("cfg"), "spiral.yaml", SPIRAL);
    let (code, _, err) = netdx_with_runs(&runs, &["train", cfg.to_str().unwrap(), "--every", "0"]);
    assert_eq!(code, 0, "{err}");
    let all = records(&runs);
    assert_eq!(all.len(), 1);
    let (dir, r) = &all[0];
    assert!(err.contains(&format!("record: {}", dir.display())), "{err}");
    assert_eq!(
        (r.kind, r.status, r.seed),
        (RunKind::Train, Status::Passed, 3)
    );
    // Every default filled in, the adapter, the data hash, the code state and the source.
    assert_eq!(r.config["training"]["optimizer"]["beta2"], 0.999);
    assert_eq!(r.config["loss"]["name"], "softmax_cross_entropy");
    assert!(!r.environment.adapter.name.is_empty() && !r.environment.adapter.backend.is_empty());
    assert!(r.data.as_ref().unwrap().hash.starts_with("fnv1a64:"));
    assert_eq!(r.data.as_ref().unwrap().examples, 120);
    let git = r
        .environment
        .git
        .as_ref()
        .expect("the tests run inside the repository");
    assert_eq!(git.commit.len(), 40);
    assert_eq!(dir.join("git.diff").exists(), git.dirty);
    assert_eq!(
        std::fs::read_to_string(dir.join("source.yaml")).unwrap(),
        SPIRAL
    );
    assert!(r.result.as_ref().unwrap()["train_accuracy"]
        .as_f64()
        .is_some());
    assert!(r.seconds.unwrap() > 0.0 && r.finished.is_some());
    let metrics = metric_lines(dir);
    assert_eq!(metrics.len(), 40);
    assert_eq!(metrics[39]["step"], 39);

    // Rerun from the record: same adapter, same result to the bit.
    let short = r.id.rsplit('-').next().unwrap();
    let (code, out, err) = netdx_with_runs(&runs, &["runs", "rerun", &short[..4]]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("reproduced bit for bit"), "{out}");
    assert_eq!(records(&runs).len(), 2);

    // The config changed on disk after the run: a rerun still uses the recorded copy.
    std::fs::write(&cfg, SPIRAL.replace("lr: 0.5", "lr: 0.05")).unwrap();
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "rerun", &r.id]);
    assert_eq!(code, 0);
    assert!(out.contains("reproduced bit for bit"), "{out}");

    // A changed config shows in `runs diff`, with the first differing step.
    let (code, _, err) = netdx_with_runs(&runs, &["train", cfg.to_str().unwrap(), "--every", "0"]);
    assert_eq!(code, 0, "{err}");
    let all = records(&runs);
    let newest = &all.last().unwrap().1;
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "diff", &r.id, &newest.id]);
    assert_eq!(code, 0);
    assert!(out.contains("training.optimizer.lr: 0.5 → 0.05"), "{out}");
    assert!(
        out.contains("40 steps in both: 1 identical; first difference at step 1"),
        "{out}"
    );
    assert!(out.contains("environment:\n  (same)"), "{out}");
    // Flags differ: shown as flags, not as a Rust struct.
    let (code, _, err) = netdx_with_runs(
        &runs,
        &[
            "train",
            cfg.to_str().unwrap(),
            "--every",
            "0",
            "--steps",
            "40",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let flagged = records(&runs).last().unwrap().1.id.clone();
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "diff", &newest.id, &flagged]);
    assert_eq!(code, 0);
    assert!(
        out.contains("(command line) no flags → --steps 40"),
        "{out}"
    );
    assert!(!out.contains("Overrides"), "{out}");

    // list, show, an ambiguous prefix, gc.
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "list", "--status", "passed"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1 + 5, "{out}");
    // Every run began today, none a day from now.
    for (since, rows) in [("yesterday", 5), ("today", 5), ("2h", 5), ("2100-01-01", 0)] {
        let (code, out, err) = netdx_with_runs(
            &runs,
            &["runs", "list", "--status", "passed", "--since", since],
        );
        assert_eq!(code, 0, "{err}");
        let shown = if rows == 0 { 1 } else { 1 + rows };
        assert_eq!(out.lines().count(), shown, "--since {since}: {out}");
    }
    assert!(out.contains("loss ") && out.contains("acc "), "{out}");
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "show", &r.id]);
    assert_eq!(code, 0);
    assert!(
        out.contains("status       passed") && out.contains("40 step records"),
        "{out}"
    );
    let (code, _, err) = netdx_with_runs(&runs, &["runs", "show", "2"]);
    assert_eq!(code, 2);
    assert!(err.contains("matches 5 runs"), "{err}");
    let (code, out, _) = netdx_with_runs(&runs, &["runs", "gc", "--keep", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("removed 4 runs"), "{out}");
    assert_eq!(records(&runs).len(), 1);
}

#[test]
fn a_run_that_hits_nan_or_is_interrupted_keeps_every_record() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("nan");
    let nan = write(
        &runs.join("cfg"),
        "nan.yaml",
        &SPIRAL.replace("lr: 0.5", "lr: 1.0e30"),
    );
    let (code, _, err) = netdx_with_runs(&runs, &["train", nan.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let (dir, r) = records(&runs).pop().unwrap();
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.cause.as_ref().unwrap().contains("non-finite loss"),
        "{:?}",
        r.cause
    );
    let metrics = metric_lines(&dir);
    assert!(
        metrics.last().unwrap()["loss"].is_null(),
        "the NaN step is recorded"
    );

    // Ctrl-C: the step in flight finishes, the record says interrupted, exit 130.
    let long = write(
        &runs.join("cfg"),
        "long.yaml",
        &SPIRAL.replace("steps: 40", "steps: 10000000"),
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["train", long.to_str().unwrap(), "--every", "0"])
        .env("NETDX_RUNS_DIR", &runs)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until steps are being recorded, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let dir = loop {
        let found = records(&runs).into_iter().find(|(d, r)| {
            r.status == Status::Running
                && d.join("metrics.jsonl")
                    .metadata()
                    .is_ok_and(|m| m.len() > 0)
        });
        if let Some((d, _)) = found {
            break d;
        }
        assert!(std::time::Instant::now() < deadline, "no steps recorded");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (_, err) = interrupt(child, libc::SIGINT);
    let r = read_record(&dir).unwrap();
    assert_eq!(r.status, Status::Interrupted);
    let steps = metric_lines(&dir).len();
    assert!(
        err.contains(&format!("interrupted after step {steps} ")),
        "{err} ({steps} lines)"
    );
}

#[test]
fn a_suite_run_records_its_checks_and_observation_and_reruns() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("suite");
    let (code, _, err) = netdx_with_runs(
        &runs,
        &["run", "--only", "initial_loss,gradient_flow,gradient_check"],
    );
    assert_eq!(code, 0, "{err}");
    let (dir, r) = records(&runs).pop().unwrap();
    assert_eq!((r.kind, r.status), (RunKind::Run, Status::Passed));
    assert_eq!(r.overrides.only.len(), 3);
    assert_eq!(r.result.as_ref().unwrap()["counts"]["pass"], 3);
    let checks: netdx::suite::SuiteReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("checks.json")).unwrap()).unwrap();
    assert_eq!(checks.findings.len(), 3);
    // The observation run's steps (gradient_flow reads it).
    assert!(!metric_lines(&dir).is_empty());
    let (code, out, err) = netdx_with_runs(&runs, &["runs", "rerun", &r.id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reproduced bit for bit"), "{out}");
    // A broken suite fails and says which checks.
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/broken/lr_too_high.yaml");
    let (code, _, _) = netdx_with_runs(
        &runs,
        &["run", broken.to_str().unwrap(), "--only", "lr_range"],
    );
    assert_eq!(code, 1);
    let (_, r) = records(&runs).pop().unwrap();
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.cause.as_deref(), Some("failed checks: lr_range"));
}

#[test]
fn runs_started_together_never_collide() {
    use netdx::runs::{Environment, NewRun, Recorder};
    let gpu = match crate::common::gpu() {
        Some(g) => g,
        None => return,
    };
    let runs = runs_dir("together");
    let (environment, _) = Environment::capture(gpu, Path::new("."));
    let dirs: Vec<PathBuf> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (runs, environment) = (&runs, environment.clone());
                s.spawn(move || {
                    Recorder::create(
                        runs,
                        NewRun {
                            kind: RunKind::Train,
                            source: "",
                            file: "x".into(),
                            base_dir: Path::new("."),
                            suite: "x".into(),
                            seed: 0,
                            overrides: Default::default(),
                            config: serde_json::Value::Null,
                            environment,
                            git_diff: None,
                        },
                    )
                    .unwrap()
                    .dir()
                    .to_path_buf()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unique: std::collections::BTreeSet<_> = dirs.iter().collect();
    assert_eq!(unique.len(), 16);
    assert_eq!(records(&runs).len(), 16);

    // What the panic hook (and the GPU watchdog) does to a record left running.
    netdx::runs::record::mark_crashed(
        &dirs[0],
        "netdx panicked (a bug; please report it): boom at src/x.rs:1:1",
    )
    .unwrap();
    let r = read_record(&dirs[0]).unwrap();
    assert_eq!(r.status, Status::Crashed);
    assert!(r
        .cause
        .unwrap()
        .contains("panicked (a bug; please report it): boom"));
}

#[test]
fn a_baseline_passes_the_same_suite_and_catches_a_changed_init() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("baseline");
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/default.yaml");
    let text = std::fs::read_to_string(&suite).unwrap();
    let same = write(&runs.join("cfg"), "same.yaml", &text);
    let changed = write(
        &runs.join("cfg"),
        "changed.yaml",
        &text.replace("kaiming_normal", "xavier_uniform"),
    );
    assert_ne!(
        text,
        std::fs::read_to_string(&changed).unwrap(),
        "the init must change"
    );
    let (code, _, err) = netdx_with_runs(
        &runs,
        &["run", same.to_str().unwrap(), "--only", "gradient_flow"],
    );
    assert_eq!(code, 0, "{err}");
    let id = records(&runs).pop().unwrap().1.id;
    let (code, out, err) = netdx_with_runs(&runs, &["baseline", "save", &id, "--name", "spiral"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("baseline `spiral`"), "{out}");

    let run = |file: &Path| {
        netdx_with_runs(
            &runs,
            &[
                "run",
                file.to_str().unwrap(),
                "--only",
                "initial_loss",
                "--baseline",
                "spiral",
                "--format",
                "json",
            ],
        )
    };
    let (code, out, err) = run(&same);
    assert_eq!(code, 0, "{out}\n{err}");
    let report: netdx::suite::SuiteReport = serde_json::from_str(&out).unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| f.check == "baseline")
        .unwrap();
    assert_eq!(f.verdict, netdx::checks::Verdict::Pass, "{}", f.message);

    let (code, out, _) = run(&changed);
    assert_eq!(code, 1, "a changed init fails the baseline");
    let report: netdx::suite::SuiteReport = serde_json::from_str(&out).unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| f.check == "baseline")
        .unwrap();
    assert_eq!(f.verdict, netdx::checks::Verdict::Fail);
    assert!(
        f.message.contains("moved out of their bands"),
        "{}",
        f.message
    );
    let (_, r) = records(&runs).pop().unwrap();
    assert_eq!(r.cause.as_deref(), Some("failed checks: baseline"));

    let (code, _, err) = netdx_with_runs(&runs, &["run", "--baseline", "nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no baseline `nope`") && err.contains("saved: spiral"),
        "{err}"
    );
}

/// A minimal reader of TensorBoard event files, independent of the writer: TFRecord frames
/// checked with the `crc32c` crate, and the protobuf fields netdx writes.
mod events {
    fn masked(data: &[u8]) -> u32 {
        crc32c::crc32c(data)
            .rotate_right(15)
            .wrapping_add(0xa282_ead8)
    }

    fn varint(b: &[u8], at: &mut usize) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[*at];
            *at += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    /// (field, wire type, payload) of each field of a message.
    fn fields(b: &[u8]) -> Vec<(u64, u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let key = varint(b, &mut at);
            let (field, wire) = (key >> 3, (key & 7) as u8);
            let payload = match wire {
                0 => varint(b, &mut at).to_le_bytes().to_vec(),
                1 => {
                    at += 8;
                    b[at - 8..at].to_vec()
                }
                5 => {
                    at += 4;
                    b[at - 4..at].to_vec()
                }
                2 => {
                    let n = varint(b, &mut at) as usize;
                    at += n;
                    b[at - n..at].to_vec()
                }
                w => panic!("wire type {w}"),
            };
            out.push((field, wire, payload));
        }
        out
    }

    /// (step, tag, value) of each scalar.
    pub type Scalars = Vec<(u64, String, f32)>;
    /// (step, tag, total count) of each histogram.
    pub type Histograms = Vec<(u64, String, f64)>;

    /// Every scalar and histogram in the file.
    pub fn read(path: &std::path::Path) -> (Scalars, Histograms) {
        let bytes = std::fs::read(path).unwrap();
        let (mut scalars, mut histos) = (Vec::new(), Vec::new());
        let mut at = 0;
        let mut first = true;
        while at < bytes.len() {
            let len_bytes = &bytes[at..at + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap());
            assert_eq!(crc, masked(len_bytes), "length CRC at {at}");
            let data = &bytes[at + 12..at + 12 + len];
            let crc = u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap());
            assert_eq!(crc, masked(data), "data CRC at {at}");
            at += 16 + len;
            let event = fields(data);
            if first {
                assert!(event.iter().any(|f| f.0 == 3 && f.2 == b"brain.Event:2"));
                first = false;
                continue;
            }
            let step = event
                .iter()
                .find(|f| f.0 == 2)
                .map_or(0, |f| u64::from_le_bytes(f.2.clone().try_into().unwrap()));
            for summary in event.iter().filter(|f| f.0 == 5) {
                for value in fields(&summary.2).iter().filter(|f| f.0 == 1) {
                    let v = fields(&value.2);
                    let tag =
                        String::from_utf8(v.iter().find(|f| f.0 == 1).unwrap().2.clone()).unwrap();
                    if let Some(s) = v.iter().find(|f| f.0 == 2) {
                        scalars.push((
                            step,
                            tag.clone(),
                            f32::from_le_bytes(s.2.clone().try_into().unwrap()),
                        ));
                    }
                    if let Some(h) = v.iter().find(|f| f.0 == 5) {
                        let num = fields(&h.2)
                            .iter()
                            .find(|f| f.0 == 3)
                            .map(|f| f64::from_le_bytes(f.2.clone().try_into().unwrap()))
                            .unwrap();
                        histos.push((step, tag, num));
                    }
                }
            }
        }
        (scalars, histos)
    }

    /// (tag, plugin name, plugin content) of every summary value that carries plugin data
    /// (field 9, `SummaryMetadata.plugin_data`), such as the HParams plugin's sessions.
    pub fn plugin_values(path: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
        let bytes = std::fs::read(path).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let data = &bytes[at + 12..at + 12 + len];
            at += 16 + len;
            for summary in fields(data).iter().filter(|f| f.0 == 5) {
                for value in fields(&summary.2).iter().filter(|f| f.0 == 1) {
                    let v = fields(&value.2);
                    let Some(metadata) = v.iter().find(|f| f.0 == 9) else {
                        continue;
                    };
                    let tag =
                        String::from_utf8(v.iter().find(|f| f.0 == 1).unwrap().2.clone()).unwrap();
                    let plugin = fields(&fields(&metadata.2)[0].2);
                    let name = String::from_utf8(plugin[0].2.clone()).unwrap();
                    out.push((tag, name, plugin[1].2.clone()));
                }
            }
        }
        out
    }

    /// The HParams experiment in plugin content (`HParamsPluginData.experiment`, field 2):
    /// each hyperparameter column's (name, data type, interval domain if any), and each metric
    /// column's tag.
    pub type Experiment = (Vec<(String, u64, Option<(f64, f64)>)>, Vec<String>);

    pub fn experiment(content: &[u8]) -> Experiment {
        let data = fields(content);
        let experiment = &data.iter().find(|f| f.0 == 2).expect("an experiment").2;
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        let double = |b: &[u8]| f64::from_le_bytes(b.try_into().unwrap());
        let (mut hparams, mut metrics) = (Vec::new(), Vec::new());
        for (field, _, body) in fields(experiment) {
            // Only the repeated messages: the creation time (field 3) is a double.
            if field != 4 && field != 5 {
                continue;
            }
            let f = fields(&body);
            if field == 4 {
                let name = text(&f.iter().find(|x| x.0 == 1).unwrap().2);
                let kind = f
                    .iter()
                    .find(|x| x.0 == 4)
                    .map_or(0, |x| u64::from_le_bytes(x.2.clone().try_into().unwrap()));
                let interval = f.iter().find(|x| x.0 == 6).map(|x| {
                    let bounds = fields(&x.2);
                    let bound = |n| {
                        bounds
                            .iter()
                            .find(|b| b.0 == n)
                            .map_or(0.0, |b| double(&b.2))
                    };
                    (bound(1), bound(2))
                });
                hparams.push((name, kind, interval));
            } else {
                let name = fields(&f.iter().find(|x| x.0 == 1).unwrap().2);
                metrics.push(text(&name.iter().find(|x| x.0 == 2).unwrap().2));
            }
        }
        (hparams, metrics)
    }
}

/// The data type TensorBoard's HParams API gives numbers (`DATA_TYPE_FLOAT64`).
const FLOAT64: u64 = 3;

#[test]
fn tensorboard_event_files_read_back() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("tensorboard");
    let tb = runs.join("tb");
    let (code, _, err) = netdx_with_runs(
        &runs,
        &[
            "run",
            "--only",
            "gradient_flow,activation_stats",
            "--tensorboard",
            tb.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (dir, r) = records(&runs).pop().unwrap();
    let run_tb = tb.join(&r.id);
    let file = std::fs::read_dir(&run_tb)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(file
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("events.out.tfevents."));
    let (scalars, histos) = events::read(&file);
    // Every metrics line's loss is there, at its step, as f32.
    let metrics = metric_lines(&dir);
    let losses: Vec<&(u64, String, f32)> = scalars.iter().filter(|s| s.1 == "loss").collect();
    assert_eq!(losses.len(), metrics.len());
    for (m, s) in metrics.iter().zip(&losses) {
        assert_eq!(m["step"].as_u64().unwrap(), s.0);
        assert_eq!(m["loss"].as_f64().unwrap() as f32, s.2);
    }
    assert!(scalars.iter().any(|s| s.1 == "grad_norm/layers.0.weight"));
    assert!(scalars
        .iter()
        .any(|s| s.1 == "update_ratio/layers.4.weight"));
    assert!(scalars.iter().any(|s| s.1 == "act_std/act.3"));
    // Activation histograms: every layer at each snapshot, counting the whole dataset.
    let layer1: Vec<_> = histos
        .iter()
        .filter(|h| h.1 == "activations/act.1")
        .collect();
    assert!(layer1.len() >= 2, "{histos:?}");
    let examples = r.data.as_ref().unwrap().examples as f64;
    assert!(layer1.iter().all(|h| h.2 == examples * 64.0), "{layer1:?}");
    // A run without cases is its own experiment: its columns come with its one session.
    let plugin = events::plugin_values(&file);
    let tags: Vec<&str> = plugin.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        tags,
        [
            "_hparams_/experiment",
            "_hparams_/session_start_info",
            "_hparams_/session_end_info"
        ]
    );
    let (hparams, metrics) = events::experiment(&plugin[0].2);
    assert_eq!(hparams[0].0, "seed");
    let lr = hparams
        .iter()
        .find(|h| h.0 == "training.optimizer.lr")
        .expect("the learning rate is a column");
    assert_eq!(lr.1, FLOAT64);
    assert_eq!(metrics, ["loss", "batch_accuracy"]);
}

#[test]
fn an_interrupted_suite_reports_and_records_the_checks_that_completed() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("suite-interrupt");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_netdx"))
        .args(["run", "--format", "json"])
        .env("NETDX_RUNS_DIR", &runs)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while records(&runs).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no record");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Part-way through the suite (the whole one takes several seconds).
    std::thread::sleep(std::time::Duration::from_millis(700));
    let (stdout, _) = interrupt(child, libc::SIGTERM);
    let report: netdx::suite::SuiteReport = serde_json::from_slice(&stdout).unwrap();
    assert!(report.interrupted);
    let (dir, r) = records(&runs).pop().unwrap();
    assert_eq!(r.status, Status::Interrupted);
    let recorded: netdx::suite::SuiteReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("checks.json")).unwrap()).unwrap();
    assert_eq!(recorded.findings.len(), report.findings.len());
    assert!(
        report.findings.len() < 23,
        "the suite finished before the signal"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| !f.message.contains("could not run")),
        "the interrupted check must not be reported as a failure"
    );
}

#[test]
fn a_sweep_writes_one_tensorboard_run_per_case_with_untagged_scalars() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = runs_dir("tensorboard-sweep");
    let suite = write(
        &runs.join("cfg"),
        "sweep.yaml",
        &SPIRAL.replace(
            "steps: 40}",
            "steps: 40, l2: 0.001}\nchecks: [smoke]\nmatrix:\n  training.optimizer.lr: [0.5, 0.05]",
        ),
    );
    let tb = runs.join("tb");
    let (code, _, err) = netdx_with_runs(
        &runs,
        &[
            "run",
            suite.to_str().unwrap(),
            "--tensorboard",
            tb.to_str().unwrap(),
        ],
    );
    assert!(code == 0 || code == 1, "{err}");
    let (_, r) = records(&runs).pop().unwrap();
    let run_tb = tb.join(&r.id);
    let mut cases: Vec<String> = std::fs::read_dir(&run_tb)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 2, "{cases:?}");
    for case in &cases {
        let file = std::fs::read_dir(run_tb.join(case))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let (scalars, _) = events::read(&file);
        // Tags without the case, so TensorBoard overlays the cases' curves.
        assert_eq!(
            scalars.iter().filter(|s| s.1 == "loss").count(),
            40,
            "{case}"
        );
        assert!(
            scalars.iter().all(|s| !s.1.contains(case.as_str())),
            "{case}"
        );
        assert!(scalars.iter().any(|s| s.1 == "l2_term"), "{case}");
        // The HParams plugin's session start (with the case's learning rate) and end.
        let plugin = events::plugin_values(&file);
        let start = plugin
            .iter()
            .find(|p| p.0 == "_hparams_/session_start_info")
            .unwrap_or_else(|| panic!("{case}: {plugin:?}"));
        assert_eq!(start.1, "hparams");
        let lr = if case.contains("0.05") { 0.05f64 } else { 0.5 };
        let text = start.2.windows(8).any(|w| w == lr.to_le_bytes());
        let key = start.2.windows(21).any(|w| w == b"training.optimizer.lr");
        assert!(text && key, "{case}: the session names lr {lr}");
        assert!(plugin.iter().any(|p| p.0 == "_hparams_/session_end_info"));
        assert!(plugin.iter().all(|p| p.0 != "_hparams_/experiment"));
    }
    // One experiment, in the root folder (TensorBoard's run `.`), over both cases.
    let roots: Vec<_> = std::fs::read_dir(&run_tb)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(roots.len(), 1, "{roots:?}");
    let plugin = events::plugin_values(&roots[0]);
    assert_eq!(plugin.len(), 1, "{plugin:?}");
    assert_eq!(plugin[0].0, "_hparams_/experiment");
    let (hparams, metrics) = events::experiment(&plugin[0].2);
    let lr = hparams
        .iter()
        .find(|h| h.0 == "training.optimizer.lr")
        .expect("the learning rate is a column");
    assert_eq!((lr.1, lr.2), (FLOAT64, Some((0.05, 0.5))));
    let l2 = hparams.iter().find(|h| h.0 == "training.l2").unwrap();
    assert_eq!(l2.2, Some((0.001, 0.001)));
    assert_eq!(metrics, ["loss", "batch_accuracy"]);
}
