//! The checklist: the healthy default suite passes every check; each broken config and each
//! planted fault is caught by the intended check with the intended fix; every check has a
//! case that makes it pass and one that makes it warn or fail.

use std::path::Path;

use netdx::checks::{Finding, Verdict};
use netdx::config::Config;
use netdx::suite::{run_suite, SuiteReport, DEFAULT_SUITE};

use crate::gpu_or_skip;

fn run(config: &Config, only: &[&str]) -> Option<SuiteReport> {
    let gpu = crate::common::gpu()?;
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    Some(run_suite(gpu, config, "test", &only, &mut |_| {}).expect("suite runs"))
}

fn finding<'a>(r: &'a SuiteReport, check: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no finding for {check}"))
}

fn parse(yaml: &str) -> Config {
    Config::parse(yaml, Path::new("test.yaml")).expect("valid test config")
}

/// The default suite's model and data with `extra` appended to its training section.
fn variant(replace: &[(&str, &str)]) -> Config {
    let mut s = DEFAULT_SUITE.to_string();
    for (a, b) in replace {
        assert!(s.contains(a), "default suite has no `{a}`");
        s = s.replacen(a, b, 1);
    }
    parse(&s)
}

#[test]
fn the_default_suite_passes_every_check() {
    let _ = gpu_or_skip!();
    let r = run(&parse(DEFAULT_SUITE), &[]).unwrap();
    assert_eq!(
        r.findings.len(),
        netdx::checks::catalogue().len(),
        "every check runs"
    );
    for f in &r.findings {
        assert!(
            matches!(f.verdict, Verdict::Pass | Verdict::Skip),
            "{}: {:?} — {} (measured {:?}, {})",
            f.check,
            f.verdict,
            f.message,
            f.measured,
            f.threshold
        );
    }
    assert_eq!(r.exit_code(), 0);
    assert_eq!(
        finding(&r, "clipping").verdict,
        Verdict::Skip,
        "no clipping configured"
    );
    // Activation histograms at eleven points of the run; every output of every example counted.
    let h = finding(&r, "activation_stats").details["histograms"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(h.len(), 11);
    let first_layer: u64 = h[4]["layers"][0]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(first_layer, 300 * 64, "300 spiral points × 64 units");
    assert_eq!(h[4]["examples"], 300);
}

#[test]
fn each_broken_config_is_caught_by_its_intended_check_with_its_fix() {
    let _ = gpu_or_skip!();
    let cases = [
        ("lr_too_high", "lr_range", "try lr"),
        ("dead_relu_bias", "dead_units", "bias"),
        ("unnormalized_inputs", "data", "standardize the inputs"),
        ("wrong_loss", "loss_fit", "softmax_cross_entropy"),
        ("deep_sigmoid", "gradient_flow", "ReLU-family"),
        ("l2_overwhelming", "loss_scale", "lower `training.l2`"),
        ("l2_overwhelming", "regularization", "lower `training.l2`"),
        ("too_small", "overfit_small", "make the model larger"),
        ("shuffled_labels", "input_independent", "data pipeline"),
        (
            "dropout_before_bn",
            "dropout_bn",
            "move dropout after the last batch norm",
        ),
        ("missing_causal_mask", "batch_independence", "causal: true"),
        (
            "attention_entropy_collapse",
            "attention_entropy",
            "lower the learning rate",
        ),
        (
            "residual_growth",
            "residual_growth",
            "normalize inside each block",
        ),
        (
            "embedding_too_large",
            "initial_loss",
            "initialize the embedding smaller",
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (file, check, fix) in cases {
        seen.insert(file);
        let config = Config::load(Path::new(&format!("configs/broken/{file}.yaml"))).unwrap();
        let r = run(&config, &[check]).unwrap();
        let f = finding(&r, check);
        assert_ne!(
            f.verdict,
            Verdict::Pass,
            "{file}: {check} should catch it: {}",
            f.message
        );
        assert_ne!(
            f.verdict,
            Verdict::Skip,
            "{file}: {check} skipped: {}",
            f.message
        );
        let got = f.fix.clone().unwrap_or_default();
        assert!(
            got.contains(fix),
            "{file}: {check} fix `{got}` lacks `{fix}`"
        );
    }
    // Every broken config is covered.
    for entry in std::fs::read_dir("configs/broken").unwrap() {
        let name = entry
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            seen.contains(name.as_str()),
            "configs/broken/{name}.yaml has no test"
        );
    }
}

#[test]
fn each_planted_fault_is_caught_by_the_intended_check() {
    let _ = gpu_or_skip!();
    let cases = [
        ("flip_gradient_sign", 0, "gradient_check"),
        ("scale_gradient", 2, "gradient_check"),
        ("corrupt_output", 1, "gradient_check"),
        ("zero_gradient", 0, "weights_update"),
        ("skip_update", 2, "weights_update"),
        ("mix_batch", 1, "batch_independence"),
    ];
    for (kind, layer, check) in cases {
        let yaml = format!(
            "seed: 0\ndata: {{builtin: spiral}}\nmodel:\n  layers: [{{linear: {{out: 16}}}}, relu, {{linear: {{out: 3}}}}]\n\
             training: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 100, steps: 20}}\n\
             faults: [{{kind: {kind}, layer: {layer}}}]\n"
        );
        let r = run(&parse(&yaml), &[check]).unwrap();
        let f = finding(&r, check);
        assert_eq!(
            f.verdict,
            Verdict::Fail,
            "{kind} on layer {layer} not caught by {check}: {}",
            f.message
        );
        assert!(
            f.fix.as_deref().is_some_and(|x| !x.is_empty()),
            "{kind}: {check} gives no fix"
        );
        // Without the fault the same check passes.
        let clean = run(
            &parse(&yaml.replace(&format!("faults: [{{kind: {kind}, layer: {layer}}}]\n"), "")),
            &[check],
        )
        .unwrap();
        assert_eq!(
            finding(&clean, check).verdict,
            Verdict::Pass,
            "{check} without the fault"
        );
    }
}

/// Config variants that make a check leave the passing side (warn or fail), for the checks the
/// broken configs and faults above do not already cover.
#[test]
fn checks_not_covered_above_can_fail_or_warn() {
    let _ = gpu_or_skip!();
    let nan = variant(&[("lr: 0.1, momentum: 0.9", "lr: 1.0e6")]);
    for check in ["smoke", "numerics"] {
        let r = run(&nan, &[check]).unwrap();
        assert_eq!(
            finding(&r, check).verdict,
            Verdict::Fail,
            "{check} on a diverging run"
        );
    }
    let r = run(&nan, &["numerics"]).unwrap();
    let d = &finding(&r, "numerics").details;
    assert!(
        d["step"].is_u64() && d["phase"].is_string() && d["tensor"].is_string(),
        "{d}"
    );

    let loud = variant(&[(
        "{linear: {out: 3, init: {normal: {std: 0.01}}}}",
        "{linear: {out: 3, init: {normal: {std: 10.0}}}}",
    )]);
    let r = run(&loud, &["initial_loss"]).unwrap();
    assert_eq!(finding(&r, "initial_loss").verdict, Verdict::Fail);

    let tanh = |std: &str| {
        let layer = format!("{{linear: {{out: 64, init: {std}}}}}\n    - tanh");
        let relu = "{linear: {out: 64, init: kaiming_normal}}\n    - relu";
        variant(&[(relu, layer.as_str()), (relu, layer.as_str())])
    };
    let r = run(&tanh("xavier_normal"), &["activation_stats"]).unwrap();
    assert_eq!(finding(&r, "activation_stats").verdict, Verdict::Pass);
    let r = run(&tanh("{normal: {std: 10.0}}"), &["activation_stats"]).unwrap();
    assert_eq!(finding(&r, "activation_stats").verdict, Verdict::Fail);

    let clip = |norm: &str| {
        variant(&[(
            "l2: 2.0e-3",
            &format!("l2: 2.0e-3\n  clip: {{norm: {norm}}}"),
        )])
    };
    let r = run(&clip("1.0e-6"), &["clipping"]).unwrap();
    assert_eq!(
        finding(&r, "clipping").verdict,
        Verdict::Warn,
        "clipping always active"
    );
    let r = run(&clip("1000.0"), &["clipping"]).unwrap();
    assert_eq!(
        finding(&r, "clipping").verdict,
        Verdict::Info,
        "clipping never active"
    );
    let median = finding(&r, "clipping").details["pre_clip_norm"]["median"]
        .as_f64()
        .unwrap();
    let r = run(&clip(&format!("{median}")), &["clipping"]).unwrap();
    assert_eq!(
        finding(&r, "clipping").verdict,
        Verdict::Pass,
        "clipping at the median norm acts on about half"
    );

    let constant = variant(&[("noise: 0.2}", "noise: 0.2, scale: 0.0}")]);
    let r = run(&constant, &["data"]).unwrap();
    assert_eq!(finding(&r, "data").verdict, Verdict::Fail);

    let slow = variant(&[("lr: 0.1, momentum: 0.9", "lr: 1.0e-7, momentum: 0.9")]);
    let r = run(&slow, &["update_ratio", "lr_range"]).unwrap();
    assert_eq!(finding(&r, "update_ratio").verdict, Verdict::Fail);
    assert!(finding(&r, "update_ratio")
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("raise the learning rate"));
    assert_eq!(finding(&r, "lr_range").verdict, Verdict::Fail);
}

#[test]
fn reports_render_as_json_and_valid_junit() {
    let _ = gpu_or_skip!();
    let config = Config::load(Path::new("configs/broken/l2_overwhelming.yaml")).unwrap();
    let r = run(&config, &["loss_scale", "clipping", "data"]).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    let back: SuiteReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.findings, r.findings);
    assert_eq!(back.schema_version, 1);

    let xml = netdx::report::to_junit(&r);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 3);
    let failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .count();
    let skipped = doc
        .descendants()
        .filter(|n| n.has_tag_name("skipped"))
        .count();
    assert_eq!((failures, skipped), (r.counts.fail, r.counts.skip));
    assert_eq!(failures, 1, "loss_scale fails");
    let text = netdx::report::to_text(&r, false);
    assert!(
        text.contains("2. Confirm the loss")
            && text.contains("FAIL  loss_scale")
            && text.contains("fix: lower `training.l2`"),
        "{text}"
    );

    // An info note passes everywhere: counted apart from warnings, a passing JUnit case with
    // its message, `note:` rather than `fix:` in the text, and exit code unchanged.
    let mut r = r;
    let code = r.exit_code();
    let note = netdx::checks::Finding::new(
        "a_note",
        netdx::checks::Section::DiagnoseParameters,
        Verdict::Info,
        "something",
    )
    .message("unusual but harmless")
    .fix("nothing to change");
    r.add(note);
    assert_eq!((r.counts.info, r.counts.warn, r.exit_code()), (1, 0, code));
    let back: SuiteReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back.findings.last().unwrap().verdict, Verdict::Info);
    assert_eq!(back.counts, r.counts);
    let xml = netdx::report::to_junit(&r);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let noted = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("a_note"))
        .unwrap();
    assert!(!noted
        .children()
        .any(|c| c.has_tag_name("failure") || c.has_tag_name("skipped")));
    let text = netdx::report::to_text(&r, false);
    assert!(
        text.contains("info  a_note") && text.contains("note: nothing to change"),
        "{text}"
    );
    assert!(text.contains("(1 with notes), 0 warned"), "{text}");
}

#[test]
fn growing_saliency_batch_size_optimizers_and_dropout_bn_leave_the_passing_side() {
    let _ = gpu_or_skip!();
    let deep = Config::load(Path::new("configs/broken/deep_sigmoid.yaml")).unwrap();
    let r = run(&deep, &["grow"]).unwrap();
    let f = finding(&r, "grow");
    assert_eq!(f.verdict, Verdict::Fail, "{}", f.message);
    assert!(f.message.contains("gradient_flow"), "{}", f.message);

    let dead = Config::load(Path::new("configs/broken/dead_relu_bias.yaml")).unwrap();
    let r = run(&dead, &["saliency"]).unwrap();
    assert_eq!(finding(&r, "saliency").verdict, Verdict::Fail);

    // The noise scale depends on the training state; a factor of 1 turns any mismatch into a
    // finding that shows the check's comparison and its direction: a warning above the
    // critical batch, a note below it while the loss falls normally (as it does here).
    let mut strict = parse(DEFAULT_SUITE);
    strict.checks = Some(vec![
        serde_yaml::from_str("{batch_size: {factor: 1.0}}").unwrap()
    ]);
    let r = run(&strict, &[]).unwrap();
    let f = finding(&r, "batch_size");
    let b_simple = f.details["noise_trace"].as_f64().unwrap()
        / f.details["true_gradient_sq_norm"].as_f64().unwrap();
    assert!(b_simple.is_finite() && b_simple > 0.0);
    let want = if 100.0 > b_simple {
        Verdict::Warn
    } else {
        Verdict::Info
    };
    assert_eq!(f.verdict, want, "{}", f.message);
    let direction = if 100.0 > b_simple {
        "a batch near"
    } else {
        "raise the batch"
    };
    assert!(
        f.fix.as_deref().unwrap_or("").contains(direction),
        "{:?}",
        f.fix
    );

    let slow = variant(&[("lr: 0.1, momentum: 0.9", "lr: 1.0e-5")]);
    let r = run(&slow, &["optimizer_compare"]).unwrap();
    let f = finding(&r, "optimizer_compare");
    assert_eq!(f.verdict, Verdict::Warn);
    // The advice names the rate the winner ran at.
    assert!(f.fix.as_deref().unwrap().contains(" at lr "), "{:?}", f.fix);

    // Batch norm before dropout: no variance shift to report.
    let ordered = parse(
        "seed: 0\ndata: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 32}}, batch_norm, relu, {dropout: {rate: 0.5}}, {linear: {out: 32}}, relu, {linear: {out: 3}}]\n\
         training: {optimizer: {name: sgd, lr: 0.1, momentum: 0.9}, batch_size: 100, steps: 100}\n",
    );
    let r = run(&ordered, &["dropout_bn", "batch_independence"]).unwrap();
    assert_eq!(finding(&r, "dropout_bn").verdict, Verdict::Skip);
    assert_eq!(finding(&r, "batch_independence").verdict, Verdict::Pass);
    // In training mode batch norm mixes examples by design: a warning, not a failure.
    let mut train_mode = ordered.clone();
    train_mode.checks = Some(vec![serde_yaml::from_str(
        "{batch_independence: {train_mode: true}}",
    )
    .unwrap()]);
    let r = run(&train_mode, &[]).unwrap();
    assert_eq!(finding(&r, "batch_independence").verdict, Verdict::Warn);
    // Batch norm after dropout: a variance shift, caught.
    let mut shifted = ordered.clone();
    shifted.model.layers.swap(1, 3);
    let r = run(&shifted, &["dropout_bn"]).unwrap();
    assert_ne!(finding(&r, "dropout_bn").verdict, Verdict::Pass);
}

/// Every shipped config parses, validates and expands into its variants.
#[test]
fn every_shipped_config_is_valid() {
    let mut n = 0;
    for dir in ["configs", "configs/examples", "configs/broken"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let config = Config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
                let variants = netdx::config::cases::expand(&text, &path, &config)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(!variants.is_empty());
                n += 1;
            }
        }
    }
    assert!(n >= 15, "found {n} configs");
}

/// The example suites (one per checklist section) are healthy: nothing fails.
#[test]
fn the_example_suites_raise_no_failure() {
    let gpu = gpu_or_skip!();
    for entry in std::fs::read_dir("configs/examples").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let config = Config::parse(&text, &path).unwrap();
        let variants = netdx::config::cases::expand(&text, &path, &config).unwrap();
        let r = netdx::suite::run_variants(
            gpu,
            &variants,
            "example",
            &Default::default(),
            &mut netdx::suite::Progress(&mut |_| {}),
        )
        .unwrap();
        for f in &r.findings {
            assert_ne!(
                f.verdict,
                Verdict::Fail,
                "{}: {} {:?}: {}",
                path.display(),
                f.check,
                f.case,
                f.message
            );
        }
        if variants.len() > 1 {
            assert_eq!(r.cases.len(), variants.len());
            assert!(r.findings.iter().all(|f| f.case.is_some()));
        }
    }
}

#[test]
fn try_fixes_reruns_a_failing_check_with_its_cheap_fix() {
    let gpu = gpu_or_skip!();
    let options = netdx::suite::RunOptions {
        only: vec!["dead_units".into(), "lr_range".into(), "data".into()],
        try_fixes: true,
        ..Default::default()
    };
    for (file, check, change) in [
        ("dead_relu_bias", "dead_units", "biases → 0.01"),
        ("lr_too_high", "lr_range", "the suggestion"),
    ] {
        let config = Config::load(Path::new(&format!("configs/broken/{file}.yaml"))).unwrap();
        let r = netdx::suite::run_variants(
            gpu,
            &[(String::new(), config)],
            file,
            &options,
            &mut netdx::suite::Progress(&mut |_| {}),
        )
        .unwrap();
        let f = finding(&r, check);
        assert_eq!(f.verdict, Verdict::Fail);
        let t = f
            .tried_fix
            .as_ref()
            .unwrap_or_else(|| panic!("{file}: no fix tried"));
        assert!(t.change.contains(change), "{file}: {}", t.change);
        assert_eq!(
            t.verdict_after,
            Verdict::Pass,
            "{file}: {}",
            t.message_after
        );
        // Passing checks are not re-run.
        assert!(finding(&r, "data").tried_fix.is_none());
    }
}

#[test]
fn a_track_schedule_gathers_statistics_on_its_steps_and_the_checks_still_pass() {
    let _ = gpu_or_skip!();
    // Statistics every 7th step of the observation run: the checks that read them take the
    // tracked steps, and still pass on the healthy suite.
    let config = variant(&[("  steps: 2000\n", "  steps: 2000\n  track_every: 7\n")]);
    assert_eq!(config.training.track_every, 7);
    let only = [
        "gradient_flow",
        "update_ratio",
        "regularization",
        "numerics",
        "activation_stats",
        "clipping",
    ];
    let r = run(&config, &only).unwrap();
    assert_eq!(r.findings.len(), only.len());
    // The window of gradient_flow (its first 50 steps) is tracked whatever the schedule.
    assert_eq!(
        finding(&r, "gradient_flow").window.as_deref(),
        Some("steps 0–49")
    );
    for f in &r.findings {
        assert!(
            matches!(f.verdict, Verdict::Pass | Verdict::Skip),
            "{}: {:?} — {}",
            f.check,
            f.verdict,
            f.message
        );
    }
}

#[test]
fn clipping_by_value_is_measured_on_the_tracked_steps_of_a_schedule() {
    let _ = gpu_or_skip!();
    // Clipping by value needs no gradient norms in the update, so an untracked step reduces no
    // gradients: the check measures the tracked steps.
    let config = variant(&[(
        "  steps: 2000\n",
        "  steps: 2000\n  track_every: 7\n  clip: {value: 0.05}\n",
    )]);
    let r = run(&config, &["clipping"]).unwrap();
    let f = finding(&r, "clipping");
    assert_ne!(f.verdict, Verdict::Skip, "{}", f.message);
    let measured = f.measured.expect("a fraction of steps clipped");
    assert!(
        measured > 0.0 && measured <= 1.0,
        "{measured}: {}",
        f.message
    );
}

/// A small MLP (hidden layers initialized with `init`) on built-in data, with `training` as
/// the training section, as YAML (issue 19 configs).
fn mlp_yaml(data: &str, training: &str, seed: u64, init: &str) -> String {
    format!(
        "seed: {seed}\ndata: {data}\nmodel:\n  layers:\n    - {{linear: {{out: 64, init: {init}}}}}\n    - relu\n\
         \x20   - {{linear: {{out: 64, init: {init}}}}}\n    - relu\n    - {{linear: {{out: 3, init: {{normal: {{std: 0.01}}}}}}}}\n\
         training:\n{training}"
    )
}

fn mlp(data: &str, training: &str, seed: u64) -> Config {
    parse(&mlp_yaml(data, training, seed, "kaiming_normal"))
}

const SPIRAL: &str = "{builtin: spiral, classes: 3, points_per_class: 100, noise: 0.2}";
const BLOBS: &str = "{builtin: blobs, classes: 3, points_per_class: 100, dims: 5}";

#[test]
fn loss_scale_keeps_its_probe_stable_and_notes_a_small_l2() {
    let _ = gpu_or_skip!();
    // lr·10λ = 3: an unbounded probe overshot zero and the check said the term was not
    // applied. The probe is bounded; the real finding is the size of the term.
    let training =
        "  optimizer: {name: sgd, lr: 1.0}\n  batch_size: 100\n  steps: 100\n  l2: 0.3\n";
    for data in [SPIRAL, BLOBS] {
        let c = mlp(data, training, 0);
        let r = run(&c, &["loss_scale"]).unwrap();
        let f = finding(&r, "loss_scale");
        assert_eq!(f.verdict, Verdict::Fail, "{}", f.message);
        assert!(!f.message.contains("not applied"), "{}", f.message);
        assert!(f.fix.as_deref().unwrap().contains("lower `training.l2`"));
        // The probe's pull lr·λ_probe (lr 1) stays at most PROBE_PULL.
        assert!(f.details["l2_probe"].as_f64().unwrap() <= 0.5 + 1e-12);
        // The same pull on weights so small that the term is below the data loss: passes.
        let small = parse(&mlp_yaml(data, training, 0, "{normal: {std: 0.02}}"));
        let r = run(&small, &["loss_scale"]).unwrap();
        let f = finding(&r, "loss_scale");
        assert_eq!(f.verdict, Verdict::Pass, "{}", f.message);
    }
    // The usual 1e-4 is a note, not a warning.
    let c = mlp(SPIRAL, "  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n  batch_size: 100\n  steps: 100\n  l2: 1.0e-4\n", 0);
    let r = run(&c, &["loss_scale"]).unwrap();
    assert_eq!(finding(&r, "loss_scale").verdict, Verdict::Info);
    assert_eq!(r.counts.warn, 0);
}

#[test]
fn batch_size_advice_stays_within_the_training_set() {
    let _ = gpu_or_skip!();
    // The whole training set as the batch: nothing bigger to advise, whatever the estimate.
    for seed in 0..3 {
        let c = mlp(
            SPIRAL,
            "  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n  batch_size: 300\n  steps: 100\n",
            seed,
        );
        let r = run(&c, &["batch_size"]).unwrap();
        let f = finding(&r, "batch_size");
        assert!(
            matches!(f.verdict, Verdict::Pass | Verdict::Info),
            "seed {seed}: {:?} {}",
            f.verdict,
            f.message
        );
        // Batch 1: measured at 2 and 32, never a skip.
        let c = mlp(
            SPIRAL,
            "  optimizer: {name: sgd, lr: 0.01}\n  batch_size: 1\n  steps: 100\n",
            seed,
        );
        let r = run(&c, &["batch_size"]).unwrap();
        let f = finding(&r, "batch_size");
        assert_ne!(f.verdict, Verdict::Skip, "seed {seed}: {}", f.message);
        assert_eq!(f.details["big_batch"], 32, "seed {seed}");
    }
}

#[test]
fn optimizer_compare_takes_near_zero_losses_as_equal() {
    let _ = gpu_or_skip!();
    // Adam at 1e-3 ends near 3e-3 on blobs, Nesterov near 4e-5: a ratio of 74 between two
    // fitted runs, a pass with the floor.
    for seed in [0, 2] {
        let c = mlp(
            BLOBS,
            "  optimizer: {name: adam, lr: 0.001}\n  batch_size: 32\n  steps: 200\n",
            seed,
        );
        let r = run(&c, &["optimizer_compare"]).unwrap();
        let f = finding(&r, "optimizer_compare");
        assert_eq!(f.verdict, Verdict::Pass, "seed {seed}: {}", f.message);
    }
}

#[test]
fn update_ratio_names_the_setting_that_sized_the_step() {
    let _ = gpu_or_skip!();
    let base = "  batch_size: 100\n  steps: 200\n";
    let cases = [
        (
            "  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n  schedule: {name: step, step_size: 1, gamma: 0.1}\n",
            "",
            "the schedule (step, step_size: 1, gamma: 0.1)",
            "counts steps, not epochs",
        ),
        (
            "  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n  clip: {norm: 1.0e-6}\n",
            "",
            "clipping by norm at 0.000001 scales every update",
            "raise `training.clip.norm`",
        ),
        (
            "  optimizer: {name: sgd, lr: 0.1, momentum: 0.999}\n",
            "",
            "lr/(1−β) = 1000 × lr",
            "lower the momentum",
        ),
        (
            "  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\n",
            "faults: [{kind: skip_update, layer: 2}]\n",
            "the update was not applied",
            "skipped",
        ),
    ];
    for data in [SPIRAL, BLOBS] {
        for (training, faults, message, fix) in cases {
            let mut yaml = mlp_yaml(data, &format!("{training}{base}"), 0, "kaiming_normal");
            yaml.push_str(faults);
            let r = run(&parse(&yaml), &["update_ratio"]).unwrap();
            let f = finding(&r, "update_ratio");
            assert_ne!(f.verdict, Verdict::Pass, "{training}");
            assert!(f.message.contains(message), "{training}: {}", f.message);
            let got = f.fix.as_deref().unwrap_or("");
            assert!(got.contains(fix), "{training}: {got}");
            assert!(
                !got.contains("raise the learning rate"),
                "{training}: {got}"
            );
        }
    }
}

#[test]
fn grow_names_the_learning_rate_when_it_is_the_cause() {
    let _ = gpu_or_skip!();
    // Diverges at depth 2 (seeds 0, 1) or already fails at depth 1 (lr 30): not a depth problem.
    for (lr, seed) in [("3.0", 0), ("3.0", 1), ("30.0", 0)] {
        let c = mlp(BLOBS, &format!("  optimizer: {{name: sgd, lr: {lr}, momentum: 0.9}}\n  batch_size: 100\n  steps: 200\n"), seed);
        let r = run(&c, &["grow"]).unwrap();
        let f = finding(&r, "grow");
        assert_eq!(f.verdict, Verdict::Fail, "lr {lr}: {}", f.message);
        let fix = f.fix.as_deref().unwrap();
        assert!(
            fix.contains("learning rate") && !fix.contains("look at that layer"),
            "lr {lr}: {fix}"
        );
    }
}

#[test]
fn lr_range_fails_at_its_own_divergence_and_warns_where_the_loss_rises() {
    let gpu = gpu_or_skip!();
    let at = |opt: &str, batch: usize, seed: u64| {
        let c = mlp(
            SPIRAL,
            &format!("  optimizer: {opt}\n  batch_size: {batch}\n  steps: 500\n"),
            seed,
        );
        let r = run(&c, &["lr_range"]).unwrap();
        finding(&r, "lr_range").clone()
    };
    // Seeds 0 and 2 are half 0 of the test, seed 1 half 1 (see common::runs_half).
    for seed in (0..3).filter(|s| crate::common::runs_half(gpu, (*s % 2) as usize, "lr_range seed"))
    {
        // Batch 1, Adam at 0.1: 9-27× the suggestion, trains to chance; it passed at 8.7×.
        let f = at("{name: adam, lr: 0.1}", 1, seed);
        assert_ne!(f.verdict, Verdict::Pass, "seed {seed}: {}", f.message);
        // Batch 1, momentum at 0.1: never fits; a sweep of one example per rate put the
        // suggestion at 2e-2 on seed 0 (5×, passed). Averaging 16 examples per rate: 17-60×.
        let f = at("{name: sgd, lr: 0.1, momentum: 0.9}", 1, seed);
        assert_ne!(f.verdict, Verdict::Pass, "seed {seed}: {}", f.message);
        assert!(f.fix.as_deref().unwrap().contains("try lr"), "{:?}", f.fix);
        // Batch 1, plain SGD at 0.01: trains, passes.
        let f = at("{name: sgd, lr: 0.01}", 1, seed);
        assert_eq!(f.verdict, Verdict::Pass, "seed {seed}: {}", f.message);
        // Batch 1, momentum at 1: above its own sweep's divergence point.
        let f = at("{name: sgd, lr: 1.0, momentum: 0.9}", 1, seed);
        assert_eq!(f.verdict, Verdict::Fail, "seed {seed}: {}", f.message);
        // The whole set as the batch, momentum at 0.1 and 0.316: healthy, passes.
        for lr in ["0.1", "0.316"] {
            let f = at(
                &format!("{{name: sgd, lr: {lr}, momentum: 0.9}}"),
                300,
                seed,
            );
            assert_eq!(
                f.verdict,
                Verdict::Pass,
                "seed {seed}, lr {lr}: {}",
                f.message
            );
        }
    }
}

#[test]
fn activation_histograms_bin_each_snapshot_over_its_own_range() {
    let _ = gpu_or_skip!();
    let text = std::fs::read_to_string("configs/default.yaml").unwrap();
    let c = Config::parse(&text, Path::new("configs/default.yaml")).unwrap();
    let r = run(&c, &["activation_stats"]).unwrap();
    let snaps = finding(&r, "activation_stats").details["histograms"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(snaps.len(), 11);
    for s in &snaps {
        // The logits: bins fixed at the step-0 range held 856 of 900 values in their two edge
        // bins by the last snapshot.
        let logits = s["layers"].as_array().unwrap().last().unwrap();
        let counts: Vec<f64> = logits["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let total: f64 = counts.iter().sum();
        let edges = counts[0] + counts[counts.len() - 1];
        assert!(
            edges / total < 0.1,
            "step {}: {edges} of {total} in the edge bins",
            s["step"]
        );
    }
    // Each snapshot has its own range: the logits' range grows with training.
    let width = |s: &serde_json::Value| {
        let l = s["layers"].as_array().unwrap().last().unwrap();
        l["hi"].as_f64().unwrap() - l["lo"].as_f64().unwrap()
    };
    assert!(width(&snaps[4]) > 2.0 * width(&snaps[0]));
}
