//! The real binary: exit codes 0 / 2 and the key lines of output.

use crate::common::netdx;

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("netdx-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn adapters_lists_at_least_one_adapter_with_its_limits() {
    if crate::common::gpu().is_none() {
        return;
    }
    let (code, out, err) = netdx(&["adapters", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let first = &v[0];
    assert!(first["name"].is_string());
    assert!(first["max_storage_buffer_binding_size"].as_u64().unwrap() > 0);
}

#[test]
fn train_json_ends_with_the_summary_object() {
    if crate::common::gpu().is_none() {
        return;
    }
    let (code, out, err) = netdx(&["train", "configs/spiral.yaml", "--steps", "30", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(out.trim().lines().last().unwrap()).expect("JSON");
    assert_eq!(v["steps"], 30);
    assert!(v["loss"].as_f64().unwrap().is_finite());
    assert!(v["train_accuracy"].as_f64().unwrap() > 0.0);
    assert!(v["adapter"].is_string());
    assert!(
        err.contains("step      0") && err.contains("step     29"),
        "progress goes to stderr with --json: {err}"
    );
}

#[test]
fn unknown_key_names_file_line_and_column_and_exits_2() {
    let p = write_config(
        "typo.yaml",
        "seed: 0\ndata: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining:\n  optimizer: {name: sgd, lr: 0.1}\n  batch_size: 10\n  stepz: 5\n",
    );
    let (code, _, err) = netdx(&["train", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("typo.yaml:8:3"), "{err}");
    assert!(err.contains("unknown field `stepz`"), "{err}");
}

#[test]
fn config_errors_exit_2_with_the_reason() {
    let cases = [
        (
            "shape.yaml",
            "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 8}}, relu, {linear: {out: 3, in: 5}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
            "layer 2 (linear): expects input width 5, but the previous layer gives 8",
        ),
        (
            "classes.yaml",
            "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 4}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
            "the last layer gives 4 outputs but the data has 3 classes",
        ),
        (
            "lr.yaml",
            "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: -1}, batch_size: 10, steps: 1}\n",
            "lr.yaml:4:35: training.optimizer.lr: must be > 0, got -1",
        ),
        (
            "layer.yaml",
            "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}, relux]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
            "unknown variant `relux`",
        ),
        (
            "weights.yaml",
            "data: {builtin: xor}\nmodel:\n  layers: [{linear: {out: 1}}]\nloss: {name: binary_cross_entropy, class_weights: [1, 5]}\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
            "weights.yaml:4:36: loss.class_weights: class weights apply to softmax_cross_entropy and focal",
        ),
        (
            "empty.yaml",
            "data: {builtin: xor, points: 0}\nmodel:\n  layers: [{linear: {out: 1}}]\nloss: binary_cross_entropy\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
            "data.points: must be at least 1",
        ),
        (
            "batch.yaml",
            "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 1000, steps: 1}\n",
            "larger than the dataset",
        ),
    ];
    for (name, text, expected) in cases {
        let p = write_config(name, text);
        let (code, _, err) = netdx(&["train", p.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains(expected),
            "{name}: expected `{expected}` in: {err}"
        );
    }
    let (code, _, err) = netdx(&["train", "no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/file.yaml"), "{err}");
    let (code, _, _) = netdx(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn no_adapter_on_the_requested_backend_explains_how_to_get_one() {
    // Metal does not exist on Linux, so this is the no-adapter path on every CI machine.
    if !cfg!(target_os = "linux") {
        return;
    }
    let (code, _, err) = netdx(&["adapters", "--backend", "metal"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no GPU adapter found (backends tried: metal)"),
        "{err}"
    );
    // Where another backend has an adapter (lavapipe on Vulkan), the hint names it; where none
    // has one, it says how to install a software adapter.
    match crate::common::gpu() {
        Some(g) => assert!(
            err.contains("hint: adapters on other backends: ") && err.contains(&g.info().name),
            "{err}"
        ),
        None => assert!(err.contains("mesa-vulkan-drivers"), "{err}"),
    }
}

#[test]
fn a_tensor_over_the_adapter_limit_is_named_with_the_limit() {
    let Some(gpu) = crate::common::gpu() else {
        return;
    };
    // A 64 × out weight one element row over this adapter's largest storage binding (128 MiB on
    // the software adapters, 2 GiB on an H200), within netdx's own limits.
    let limit = gpu.limits().max_storage_buffer_binding_size;
    let out = limit / (4 * 64) + 1;
    let p = write_config(
        "huge.yaml",
        &format!("data: {{builtin: blobs, dims: 64, classes: 3, points_per_class: 2}}\nmodel:\n  layers: [{{linear: {{out: {out}}}}}, {{linear: {{out: 3}}}}]\ntraining: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 1, steps: 1}}\n"),
    );
    let (code, _, err) = netdx(&["train", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "tensor `layers.0.weight` needs {} bytes",
            64 * 4 * out
        )),
        "{err}"
    );
    assert!(err.contains("max_storage_buffer_binding_size"), "{err}");
}

#[test]
fn run_exits_0_on_the_default_suite_and_1_on_a_broken_one() {
    if crate::common::gpu().is_none() {
        return;
    }
    let junit = std::env::temp_dir().join(format!("netdx-junit-{}.xml", std::process::id()));
    let (code, out, err) = netdx(&[
        "run",
        "--only",
        "initial_loss,data",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2. Confirm the loss") && out.contains("pass  initial_loss"),
        "{out}"
    );
    assert!(
        out.contains("2 passed, 0 warned, 0 failed, 0 skipped"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("initial_loss"))
        .unwrap_or_else(|| panic!("{xml}"));
    assert_eq!(case.attribute("classname"), Some("ConfirmLoss"));
    assert!(case.attribute("time").is_some(), "{xml}");

    let (code, out, _) = netdx(&[
        "run",
        "configs/broken/wrong_loss.yaml",
        "--only",
        "loss_fit",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(v["counts"]["fail"], 1);
    assert_eq!(v["findings"][0]["check"], "loss_fit");
    assert_eq!(v["findings"][0]["verdict"], "fail");
}

#[test]
fn run_exits_2_for_a_model_that_does_not_fit_the_data() {
    if crate::common::gpu().is_none() {
        return;
    }
    let p = write_config(
        "runclasses.yaml",
        "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 4}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\n",
    );
    let (code, _, err) = netdx(&["run", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the last layer gives 4 outputs but the data has 3 classes"),
        "{err}"
    );
}

#[test]
fn run_usage_and_suite_errors_exit_2() {
    let (code, _, err) = netdx(&["run", "--only", "gradiant_check"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `gradient_check`"), "{err}");
    let p = write_config(
        "badcheck.yaml",
        "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 10, steps: 1}\nchecks:\n  - smoke\n  - dead_unit\n",
    );
    let (code, _, err) = netdx(&["run", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("badcheck.yaml:7:5") && err.contains("did you mean `dead_units`"),
        "{err}"
    );
}

#[test]
fn checks_lists_every_check_with_documented_defaults() {
    let (code, out, _) = netdx(&["checks", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for n in [
        "overfit_small",
        "initial_loss",
        "gradient_check",
        "dead_units",
        "lr_range",
        "data",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert_eq!(v[0]["defaults"]["examples"], 2);
}

#[test]
fn a_matrix_suite_reports_each_case() {
    if crate::common::gpu().is_none() {
        return;
    }
    let p = write_config(
        "sweep.yaml",
        "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 16}}, relu, {linear: {out: 3}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 100, steps: 20}\nchecks: [initial_loss]\nmatrix:\n  training.optimizer.lr: [0.1, 0.2]\n",
    );
    let junit = p.with_extension("xml");
    let (code, out, err) = netdx(&[
        "run",
        p.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(
        out.contains("== case training.optimizer.lr=0.1")
            && out.contains("== case training.optimizer.lr=0.2"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("name=\"initial_loss [training.optimizer.lr=0.2]\""),
        "{xml}"
    );
}

#[test]
fn schema_is_json_describing_every_check() {
    let (code, out, _) = netdx(&["schema"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON Schema");
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let names = v["properties"]["checks"]["items"]["oneOf"][0]["enum"]
        .as_array()
        .unwrap();
    assert!(names.iter().any(|n| n == "gradient_check"));
    assert_eq!(v["properties"]["training"]["required"][0], "optimizer");
}

#[test]
fn train_reads_a_csv_and_a_bad_one_exits_2_naming_the_row() {
    if crate::common::gpu().is_none() {
        return;
    }
    let csv = write_config(
        "points.csv",
        "x1,x2,class\n0.1,0.2,a\n0.9,0.8,b\n0.2,0.1,a\n0.8,0.9,b\n",
    );
    let p = write_config(
        "fromcsv.yaml",
        "data: {csv: {path: points.csv}}\nmodel:\n  layers: [{linear: {out: 2}}]\ntraining: {optimizer: {name: sgd, lr: 0.5}, batch_size: 4, steps: 50}\n",
    );
    let (code, out, err) = netdx(&["train", p.to_str().unwrap(), "--every", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "points.csv (4 × 2, classes of `class`: a→0, b→1): 4 × 2, 2 classes [2, 2], fnv1a64:"
        ),
        "{out}"
    );
    std::fs::write(&csv, "x1,x2,class\n0.1,oops,a\n").unwrap();
    let (code, _, err) = netdx(&["train", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("points.csv: line 2, column `x2`: `oops` is not a number"),
        "{err}"
    );
}

#[test]
fn corpus_manifest_errors_exit_2_with_file_line_and_column() {
    // Before any GPU work: the manifest and every suite it names are checked first.
    let p = write_config(
        "corpus_manifest.yaml",
        "healthy:\n  - {config: nothing.yaml, part: calibration}\n",
    );
    let (code, _, err) = netdx(&["corpus", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("corpus_manifest.yaml:2:6: healthy[0].config: no suite file"),
        "{err}"
    );
    let (code, _, err) = netdx(&["corpus", "--seeds", "0"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn run_selects_checks_by_pattern_and_is_as_strict_as_asked() {
    if crate::common::gpu().is_none() {
        return;
    }
    // A suite where loss_fit fails and smoke passes (the wrong loss for the task).
    let broken = "configs/broken/wrong_loss.yaml";
    let ok = |args: &[&str]| {
        let mut all = vec!["run", "--no-record"];
        all.extend_from_slice(args);
        netdx(&all)
    };
    // Patterns and --skip.
    let (code, out, err) = ok(&["--only", "initial_*,numerics", "--skip", "numer?cs"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("pass  initial_loss") && !out.contains("numerics"),
        "{out}"
    );
    assert!(
        out.contains("1 passed, 0 warned, 0 failed, 0 skipped"),
        "{out}"
    );
    let (code, _, err) = ok(&["--only", "gradinet_*"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--only: `gradinet_*` matches no check"),
        "{err}"
    );
    // --fail-fast stops at the first failure.
    let (code, out, err) = ok(&[broken, "--only", "loss_fit,smoke,numerics", "--fail-fast"]);
    assert_eq!(code, 1, "{err}");
    // smoke (section 1) passes, loss_fit (section 2) fails, numerics (3) never runs.
    assert!(
        err.contains("stopped at the first failed check (--fail-fast): 2 checks ran"),
        "{err}"
    );
    assert!(
        out.contains("FAIL  loss_fit") && !out.contains("numerics"),
        "{out}"
    );
    // --durations lists the slowest checks; --color never writes no escape codes.
    let (code, out, _) = ok(&[
        "--only",
        "initial_loss,smoke",
        "--durations",
        "1",
        "--color",
        "never",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("slowest 1 checks:"), "{out}");
    assert!(!out.contains('\u{1b}'), "{out}");
    let (_, out, _) = ok(&["--only", "initial_loss", "--color", "always"]);
    assert!(out.contains("\u{1b}[32mpass"), "{out}");
    // --fail-on-warn: a warning fails the run. (A learning rate far below the suggestion.)
    let dir = crate::common::fresh_dir("fail-on-warn");
    let warned = dir.join("slow.yaml");
    std::fs::write(
        &warned,
        "seed: 0\ndata: {builtin: spiral}\nmodel: {layers: [{linear: {out: 16}}, relu, {linear: {out: 3}}]}\ntraining: {optimizer: {name: sgd, lr: 1.0e-6}, batch_size: 32, steps: 100}\n",
    )
    .unwrap();
    let w = warned.to_str().unwrap();
    let (code, out, _) = ok(&[w, "--only", "smoke"]);
    assert!(out.contains("warn  smoke"), "{out}");
    assert_eq!(code, 0);
    let (code, _, err) = ok(&[w, "--only", "smoke", "--fail-on-warn"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("warnings: smoke (--fail-on-warn: exit 1)"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn set_and_seed_write_over_the_config_and_a_rerun_applies_them_again() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = crate::common::fresh_dir("settings");
    let (code, _, err) = crate::common::netdx_with_runs(
        &runs,
        &[
            "train",
            "configs/spiral.yaml",
            "--steps",
            "20",
            "--every",
            "0",
            "--set",
            "training.optimizer.lr=0.05",
            "--seed",
            "3",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let dir = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("record.json")).unwrap()).unwrap();
    assert_eq!(r["seed"], 3);
    assert_eq!(r["config"]["training"]["optimizer"]["lr"], 0.05);
    assert_eq!(
        r["overrides"]["set"],
        serde_json::json!(["training.optimizer.lr=0.05", "seed=3"])
    );
    // The recorded source is the file as written; the rerun writes the settings over it again.
    let id = r["id"].as_str().unwrap();
    let (code, out, err) = crate::common::netdx_with_runs(&runs, &["runs", "rerun", id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reproduced bit for bit"), "{out}");
    let (code, _, err) = netdx(&["run", "--no-record", "--set", "training.optimizer.lr=-1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--set training.optimizer.lr=-1: training.optimizer.lr: must be > 0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&runs);
}

#[test]
fn a_terminal_shows_a_progress_bar_and_a_log_plain_lines() {
    if crate::common::gpu().is_none() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_netdx");
    // `script` (util-linux) gives the command a pseudo-terminal, as a person's shell would.
    let under_terminal = |command: &str| -> Option<String> {
        let out = std::process::Command::new("script")
            .args(["-qfec", command, "/dev/null"])
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let Some(run) = under_terminal(&format!("{bin} run --only smoke,initial_loss --no-record"))
    else {
        eprintln!("SKIPPED: no `script` command for a pseudo-terminal");
        return;
    };
    assert!(run.contains("checks [") && run.contains(" ETA "), "{run}");
    assert!(run.contains("2 passed"), "{run}");
    let train = under_terminal(&format!(
        "{bin} train configs/spiral.yaml --steps 300 --every 100 --no-record"
    ))
    .unwrap();
    assert!(
        train.contains("steps [") && train.contains("/300"),
        "{train}"
    );
    assert!(train.contains("step    100  loss"), "{train}");
    // Not a terminal: a plain line per check at most every 10 s, the last one always.
    let (code, _, err) = netdx(&["run", "--only", "smoke,initial_loss", "--no-record"]);
    assert_eq!(code, 0);
    assert!(err.contains("check 2/2: initial_loss ("), "{err}");
    assert!(!err.contains("checks ["), "{err}");
}

#[test]
fn eval_every_records_and_plots_the_validation_loss() {
    if crate::common::gpu().is_none() {
        return;
    }
    let runs = crate::common::fresh_dir("eval-every");
    let cfg = runs.join("v.yaml");
    std::fs::write(
        &cfg,
        "seed: 0\ndata: {builtin: spiral, validation: 0.2}\nmodel: {layers: [{linear: {out: 32}}, relu, {linear: {out: 3}}]}\ntraining: {optimizer: {name: sgd, lr: 0.1, momentum: 0.9}, batch_size: 32, steps: 250}\n",
    )
    .unwrap();
    let dir = runs.join("records");
    let (code, out, err) = crate::common::netdx_with_runs(
        &dir,
        &[
            "train",
            cfg.to_str().unwrap(),
            "--eval-every",
            "100",
            "--every",
            "0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // Steps 99, 199 and the last, 249.
    for step in ["step     99", "step    199", "step    249"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(step))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("validation loss"), "{line}");
    }
    let record = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let metrics = std::fs::read_to_string(record.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.matches("\"validation_loss\"").count(), 3);
    let id = record.file_name().unwrap().to_str().unwrap().to_string();
    let (code, _, err) = crate::common::netdx_with_runs(&dir, &["report", &id]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(record.join("report.html")).unwrap();
    assert!(
        html.contains("validation loss"),
        "the loss chart has the validation series"
    );
    // Without a validation split, refused before any work.
    let (code, _, err) = netdx(&[
        "train",
        "configs/spiral.yaml",
        "--eval-every",
        "100",
        "--no-record",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--eval-every needs a validation split"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&runs);
}
