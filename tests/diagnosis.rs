//! Diagnostic precision: the course of a run is judged against its start and chance, so an
//! explosion early in the run is a divergence (not a decrease), a run that ends at chance is
//! caught, and a start above chance that training recovers from at once is a note, not a
//! failure. Each case over two seeds: the verdicts must not hang on one draw.

use std::path::Path;

use netdx::checks::{Finding, Verdict};
use netdx::config::Config;
use netdx::suite::{run_suite, SuiteReport};

use crate::gpu_or_skip;

fn run(yaml: &str, only: &[&str]) -> SuiteReport {
    run_config(
        &Config::parse(yaml, Path::new("test.yaml")).expect("valid test config"),
        only,
    )
}

fn run_config(config: &Config, only: &[&str]) -> SuiteReport {
    let gpu = crate::common::gpu().expect("gpu checked by the caller");
    let only: Vec<String> = only.iter().map(|s| s.to_string()).collect();
    run_suite(gpu, config, "test", &only, &mut |_| {}).expect("suite runs")
}

fn finding<'a>(r: &'a SuiteReport, check: &str) -> &'a Finding {
    r.findings
        .iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no finding for {check}"))
}

/// A three-hidden-layer ReLU MLP on the spiral with `optimizer`, `last` the output layer's
/// init.
fn spiral(seed: u64, optimizer: &str, last: &str) -> String {
    format!(
        "seed: {seed}
data: {{builtin: spiral, classes: 3, points_per_class: 100, noise: 0.2}}
model:
  layers:
    - {{linear: {{out: 64, init: kaiming_normal}}}}
    - relu
    - {{linear: {{out: 64, init: kaiming_normal}}}}
    - relu
    - {{linear: {{out: 64, init: kaiming_normal}}}}
    - relu
    - {{linear: {{out: 3, init: {last}}}}}
loss: softmax_cross_entropy
training:
  optimizer: {optimizer}
  batch_size: 64
  steps: 200
"
    )
}

#[test]
fn an_explosion_that_stays_finite_is_a_divergence_and_opens_the_gradient_gate() {
    let _ = gpu_or_skip!();
    for seed in [0, 1] {
        // SGD at 30: the loss grows by more than 1e12 without a NaN and ends far above chance.
        let r = run(
            &spiral(seed, "{name: sgd, lr: 30.0}", "kaiming_normal"),
            &["smoke", "gradient_flow", "numerics"],
        );
        let smoke = finding(&r, "smoke");
        assert_eq!(smoke.verdict, Verdict::Fail, "{}", smoke.message);
        assert!(smoke.message.contains("diverged"), "{}", smoke.message);
        assert!(smoke
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("lower the learning rate"));
        assert_eq!(smoke.details["course"], "diverged");
        // The symptom gate no longer reads the run as a healthy decrease.
        assert_eq!(
            finding(&r, "gradient_flow").details["symptom"],
            true,
            "{}",
            finding(&r, "gradient_flow").message
        );

        // Adam at 1: the loss spikes 3000× and the run ends at chance.
        let r = run(
            &spiral(seed, "{name: adam, lr: 1.0}", "kaiming_normal"),
            &["smoke"],
        );
        let smoke = finding(&r, "smoke");
        assert_eq!(smoke.verdict, Verdict::Fail, "{}", smoke.message);
        assert_eq!(smoke.details["course"], "diverged", "{}", smoke.message);
    }
}

#[test]
fn a_start_above_chance_that_training_recovers_from_is_a_note() {
    let _ = gpu_or_skip!();
    for seed in [0, 1] {
        // Unstandardized blobs under Kaiming layers start 2.2–2.5× above ln 5 and train to a
        // loss of 0.01: initial_loss failed this before it read the recovery.
        let yaml = format!(
            "seed: {seed}
data: {{builtin: blobs, classes: 5, points_per_class: 60, dims: 10, noise: 1.0}}
model:
  layers:
    - {{linear: {{out: 64, init: kaiming_normal}}}}
    - relu
    - {{linear: {{out: 5, init: kaiming_normal}}}}
loss: softmax_cross_entropy
training:
  optimizer: {{name: sgd, lr: 0.1}}
  batch_size: 32
  steps: 200
"
        );
        let r = run(&yaml, &["initial_loss", "smoke"]);
        let f = finding(&r, "initial_loss");
        assert!(f.details["relative_deviation"].as_f64().unwrap() > 1.0);
        assert_eq!(f.verdict, Verdict::Info, "{}", f.message);
        assert!(f.message.contains("by step"), "{}", f.message);
        assert_eq!(finding(&r, "smoke").verdict, Verdict::Pass);
        assert_eq!(r.exit_code(), 0);
    }
}

#[test]
fn a_large_init_that_collapses_to_chance_fails_initial_loss_and_smoke() {
    let _ = gpu_or_skip!();
    for seed in [0, 1] {
        let r = run(
            &spiral(
                seed,
                "{name: sgd, lr: 0.1, momentum: 0.9}",
                "{normal: {std: 10.0}}",
            ),
            &["initial_loss", "smoke"],
        );
        let f = finding(&r, "initial_loss");
        assert_eq!(f.verdict, Verdict::Fail, "{}", f.message);
        assert!(f
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("initialize the last layer smaller"));
        let smoke = finding(&r, "smoke");
        assert_ne!(smoke.verdict, Verdict::Pass, "{}", smoke.message);
    }
}

#[test]
fn the_wiring_behind_underfitting_is_named() {
    let _ = gpu_or_skip!();
    let load = |name: &str| {
        Config::load(Path::new(&format!("tests/corpus/planted/{name}.yaml"))).expect("valid")
    };
    // Dropout 0.9 after 16 units: the loss barely moves, and smoke names the dropout layer
    // instead of advising a higher rate.
    let r = run_config(&load("dropout_09_narrow"), &["smoke"]);
    let smoke = finding(&r, "smoke");
    assert_ne!(smoke.verdict, Verdict::Pass, "{}", smoke.message);
    let fix = smoke.fix.as_deref().unwrap_or("");
    assert!(
        fix.contains("lower the dropout rate at model.layers[2]"),
        "{fix}"
    );

    // A sigmoid before binary cross-entropy, which takes logits.
    let r = run_config(&load("bce_after_sigmoid"), &["loss_fit"]);
    let f = finding(&r, "loss_fit");
    assert_eq!(f.verdict, Verdict::Fail, "{}", f.message);
    assert!(f
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("remove the final sigmoid"));

    // Eight tanh layers at std 0.05: the forward signal vanishes (the weight gradients do not,
    // relative to each other), and the fix names the init rather than the rate.
    let r = run_config(&load("deep_tanh_vanishing"), &["activation_stats", "smoke"]);
    let f = finding(&r, "activation_stats");
    assert_eq!(f.verdict, Verdict::Fail, "{}", f.message);
    assert!(f.measured.unwrap() < 1e-3);
    let fix = finding(&r, "smoke").fix.clone().unwrap_or_default();
    assert!(fix.contains("the init is too small"), "{fix}");

    // A layer that mixes examples is named by its config path.
    let r = run_config(&load("batch_mixing_layer"), &["batch_independence"]);
    let f = finding(&r, "batch_independence");
    assert_eq!(f.verdict, Verdict::Fail);
    assert_eq!(
        f.details["mixing_layer"]["path"], "model.layers[1]",
        "{}",
        f.message
    );
}

/// Wine's labels shuffled across examples: a 32-unit MLP memorizes them (its training loss
/// with real inputs is a third of the zero-input one), so the comparison is made on held-out
/// examples, where shuffled labels cannot be predicted; the true labels pass.
#[test]
fn shuffled_labels_a_model_can_memorize_fail_on_held_out_examples() {
    let _ = gpu_or_skip!();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/planted");
    let text = std::fs::read_to_string(dir.join("shuffled_labels_wine.yaml")).unwrap();
    for seed in [0, 1] {
        for shuffled in [true, false] {
            let yaml = text.replace("seed: 0", &format!("seed: {seed}")).replace(
                "shuffle_labels: true",
                &format!("shuffle_labels: {shuffled}"),
            );
            let config = Config::parse(&yaml, &dir.join("shuffled_labels_wine.yaml")).unwrap();
            let r = run_config(&config, &["input_independent"]);
            let f = finding(&r, "input_independent");
            let details = &f.details;
            assert_eq!(details["judged_on"], "held-out", "{f:?}");
            if shuffled {
                assert_eq!(f.verdict, Verdict::Fail, "seed {seed}: {f:?}");
                assert!(f.fix.as_deref().unwrap().contains("data pipeline"), "{f:?}");
                // What made the old training-set comparison pass: the labels were memorized.
                let (real, zero) = (
                    details["training_real_input_loss"].as_f64().unwrap(),
                    details["training_zero_input_loss"].as_f64().unwrap(),
                );
                assert!(real < 0.9 * zero, "seed {seed}: {f:?}");
            } else {
                assert_eq!(f.verdict, Verdict::Pass, "seed {seed}: {f:?}");
            }
        }
    }
}
