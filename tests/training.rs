//! Whole training steps on the GPU: one step against the f64 reference for a model using every
//! layer kind, determinism, and the spiral reaching ≥ 95 % training accuracy.

use std::path::Path;

use netdx::config::Config;
use netdx::data::builtin;
use netdx::gpu::{AdapterChoice, Gpu};
use netdx::kernels::REDUCE_WIDTH;
use netdx::reference::network::{forward, loss_and_grads, Mode, RefParams};
use netdx::reference::{self as r, OptimizerConfig, ReduceStats};
use netdx::train::{train, Instrumentation, Trainer, TrainerOptions};

use crate::common::{assert_close, small_dataset, widen};
use crate::gpu_or_skip;

const EVERY_LAYER: &str = r#"
seed: 5
data: {builtin: spiral}
model:
  layers:
    - {linear: {out: 17, init: xavier_normal, bias: 0.1}}
    - batch_norm
    - gelu
    - {dropout: {rate: 0.3}}
    - {linear: {out: 9, init: {uniform: {low: -0.5, high: 0.5}}}}
    - tanh
    - {leaky_relu: {slope: 0.2}}
    - {linear: {out: 3, init: kaiming_uniform}}
    - sigmoid
    - {linear: {out: 3, init: {normal: {std: 0.3}}}}
loss: {name: softmax_cross_entropy, class_weights: [1.0, 2.0, 0.5]}
training:
  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
  batch_size: 13
  steps: 1
  l2: 0.01
  clip: {norm: 0.02}
  shuffle: false
"#;

#[test]
fn one_training_step_matches_the_reference_for_every_layer_kind() {
    let gpu = gpu_or_skip!();
    let config = Config::parse(EVERY_LAYER, Path::new("every_layer.yaml")).expect("config");
    let data = small_dataset(13, 5, 3);
    let mut trainer =
        Trainer::new(gpu, &config, data.clone(), Instrumentation::Full, None).expect("trainer");
    let host = trainer.net.download(gpu).expect("initial weights");
    let rec = trainer.step(1).expect("step");

    let model = trainer.model.clone();
    let mut p = RefParams::from_host(&host);
    let x = widen(&data.x);
    let y = widen(&data.y);
    let g = loss_and_grads(
        &model,
        &p,
        &x,
        &y,
        13,
        &config.loss,
        Mode::Train { seed: 5, step: 0 },
    );
    assert_close("loss", &[rec.loss as f32], &[g.loss], 1e-4, 1e-6);
    assert_eq!(rec.stats.correct as usize, g.correct);
    let want_l2 = r::network::l2_term(&model, &p, 0.01);
    assert!(
        rec.l2_term
            .is_some_and(|l2| (l2 - want_l2).abs() <= 1e-4 * want_l2),
        "l2 term {:?} vs {want_l2}",
        rec.l2_term
    );
    for (k, info) in trainer.net.infos.iter().enumerate() {
        let got = gpu.read::<f32>(&trainer.plan.param_grads[k]).unwrap();
        assert_close(
            &format!("gradient of {}", info.name),
            &got,
            &g.params[k],
            1e-3,
            1e-5,
        );
        let norm = g.params[k].iter().map(|v| v * v).sum::<f64>().sqrt();
        assert_close(
            &format!("gradient norm of {}", info.name),
            &[rec.stats.grads[k].norm() as f32],
            &[norm],
            1e-3,
            1e-6,
        );
    }
    for (k, act) in g.trace.acts[1..].iter().enumerate() {
        let got = gpu.read::<f32>(&trainer.plan.acts[k + 1]).unwrap();
        assert_close(&format!("activation of layer {k}"), &got, act, 1e-4, 1e-5);
    }

    // The momentum-SGD update with L2 on weights only, after clipping the data gradient to a
    // global norm of 0.02 (computed from the reductions on the GPU): compare the applied
    // updates, which clipping scales.
    let total: f64 = g.params.iter().flatten().map(|v| v * v).sum::<f64>().sqrt();
    let coef = r::clip_coefficient(total, 0.02);
    assert!(
        coef < 1.0,
        "the test must exercise clipping (global norm {total})"
    );
    let cfg = OptimizerConfig {
        kind: netdx::ops::OptimizerKind::Momentum,
        momentum: 0.9,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        l2: 0.0,
        weight_decay: 0.0,
        clip_value: 0.0,
    };
    for (k, info) in trainer.net.infos.iter().enumerate() {
        let mut c = cfg.clone();
        if info.regularized() {
            c.l2 = 0.01;
        }
        let n = p.params[k].len();
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        let before = p.params[k].clone();
        r::optimizer_step(
            &c,
            0.1,
            1,
            coef,
            &mut p.params[k],
            &g.params[k],
            &mut m,
            &mut v,
        );
        let want: Vec<f64> = p.params[k]
            .iter()
            .zip(&before)
            .map(|(a, b)| a - b)
            .collect();
        let got: Vec<f32> = gpu
            .read::<f32>(&trainer.net.params[k])
            .unwrap()
            .iter()
            .zip(&host.params[k].data)
            .map(|(a, b)| a - b)
            .collect();
        assert_close(&format!("update of {}", info.name), &got, &want, 2e-3, 1e-7);
    }
    // Running statistics were updated by the training-mode forward pass; evaluation mode uses
    // them and skips dropout.
    let state = trainer.net.download(gpu).unwrap().state;
    for (k, s) in state.iter().enumerate() {
        p.state[k] = widen(&s.data);
    }
    let (eval_loss, _) = trainer.evaluate().unwrap();
    let trace = forward(&model, &p, &x, 13, Mode::Eval);
    let want = r::loss(
        config.loss.name,
        trace.acts.last().unwrap(),
        &y,
        13,
        3,
        &r::LossOptions {
            class_weights: config.loss.class_weights.clone(),
            pos_weight: config.loss.pos_weight,
            gamma: 2.0,
            alpha: 1.0,
        },
    );
    assert_close(
        "evaluation loss",
        &[eval_loss as f32],
        &[want.loss],
        1e-3,
        1e-5,
    );
}

#[test]
fn same_seed_gives_bit_identical_runs() {
    let gpu = gpu_or_skip!();
    let config = Config::load(Path::new("configs/spiral.yaml")).unwrap();
    let run = || {
        let data = builtin(&config.data, config.seed);
        let mut curve = Vec::new();
        let (summary, trainer) = train(gpu, &config, data, Some(150), Instrumentation::Full, |r| {
            curve.push((
                r.loss.to_bits(),
                r.stats
                    .grads
                    .iter()
                    .map(|g| g.sumsq.to_bits())
                    .collect::<Vec<_>>(),
            ));
        })
        .unwrap();
        (
            curve,
            summary.loss.to_bits(),
            trainer.net.download(gpu).unwrap(),
        )
    };
    let a = run();
    let b = run();
    assert_eq!(
        a.0, b.0,
        "loss and gradient-norm curves differ between identical runs"
    );
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2, "final weights differ");
}

#[test]
fn spiral_two_hidden_layer_relu_mlp_reaches_95_percent() {
    let gpu = gpu_or_skip!();
    let config = Config::load(Path::new("configs/spiral.yaml")).unwrap();
    let data = builtin(&config.data, config.seed);
    let (summary, _) = train(gpu, &config, data, None, Instrumentation::Bare, |_| {}).unwrap();
    let acc = summary.train_accuracy.unwrap();
    assert!(acc >= 0.95, "train accuracy {acc}");
}

#[test]
fn evaluation_mode_dropout_is_identity_and_training_mode_is_not() {
    let gpu = gpu_or_skip!();
    let yaml = "seed: 1\ndata: {builtin: blobs}\nmodel:\n  layers: [{dropout: {rate: 0.5}}, {linear: {out: 4}}]\ntraining: {optimizer: {name: sgd, lr: 0.1}, batch_size: 400, steps: 1, shuffle: false}\n";
    let config = Config::parse(yaml, Path::new("dropout.yaml")).unwrap();
    let data = builtin(&config.data, 1);
    let mut trainer =
        Trainer::new(gpu, &config, data.clone(), Instrumentation::Full, None).unwrap();
    trainer.step(1).unwrap();
    let dropped = gpu.read::<f32>(&trainer.plan.acts[1]).unwrap();
    let zeros = dropped.iter().filter(|&&v| v == 0.0).count() as f64 / dropped.len() as f64;
    assert!(
        (zeros - 0.5).abs() < 0.05,
        "training-mode dropout zeroed {zeros}"
    );
    // Evaluation equals the reference with dropout skipped.
    let p = RefParams::from_host(&trainer.net.download(gpu).unwrap());
    let trace = forward(&trainer.model, &p, &widen(&data.x), data.n, Mode::Eval);
    assert_eq!(trace.acts[1], widen(&data.x));
    let (eval_loss, _) = trainer.evaluate().unwrap();
    let want = r::loss(
        config.loss.name,
        trace.acts.last().unwrap(),
        &widen(&data.y),
        data.n,
        4,
        &Default::default(),
    );
    assert_close(
        "eval loss without dropout",
        &[eval_loss as f32],
        &[want.loss],
        1e-4,
        1e-6,
    );
}

#[test]
fn a_profiled_step_times_every_dispatch_with_its_label() {
    let gpu = gpu_or_skip!();
    let config = Config::parse(EVERY_LAYER, Path::new("every_layer.yaml")).expect("config");
    let mut trainer = Trainer::new(
        gpu,
        &config,
        small_dataset(13, 5, 3),
        Instrumentation::Full,
        None,
    )
    .unwrap();
    let times = trainer.profile_step(1).unwrap();
    assert_eq!(times.len(), trainer.plan.dispatch_count());
    assert!(times
        .iter()
        .all(|t| t.seconds.is_finite() && t.seconds >= 0.0));
    assert!(times
        .iter()
        .any(|t| t.label.starts_with("layers.0 forward") && t.kernel.starts_with("matmul")));
    assert!(times.iter().any(|t| t.label == "update layers.9.bias"));
}

#[test]
fn steps_after_the_first_create_no_buffers_bind_groups_or_pipelines() {
    if crate::common::gpu().is_none() {
        return;
    }
    // A device of its own: the shared one also counts what the tests beside this one create.
    let gpu = Gpu::open(&AdapterChoice::default()).expect("a second device");
    let config = Config::parse(EVERY_LAYER, Path::new("every_layer.yaml")).expect("config");
    for inst in [Instrumentation::Bare, Instrumentation::Full] {
        let mut trainer = Trainer::new(&gpu, &config, small_dataset(13, 5, 3), inst, None).unwrap();
        trainer.step(30).unwrap();
        let before = gpu.objects_created();
        assert!(before > 0, "the plan's own buffers are counted");
        for _ in 0..20 {
            trainer.step(30).unwrap();
        }
        assert_eq!(
            gpu.objects_created(),
            before,
            "{inst:?}: GPU objects created by steps after the first"
        );
    }
}

/// Instrumented training setups that exercise every path of the optimizer and its statistics:
/// the every-layer MLP (SGD with momentum, L2, batch norm, dropout) with and without clipping
/// by norm, and a CNN with AdamW, weight decay, clipping by value and a layer whose update is
/// skipped (a planted fault, which changes the shape of the plan's dispatch list). Each with
/// whether clipping by norm needs the gradient norms at every step.
fn instrumented_cases() -> [(&'static str, String, bool); 3] {
    let cnn = "seed: 3\ndata: {builtin: shapes, classes: 3, points_per_class: 4, size: 8}\nmodel:\n  layers: [{conv2d: {out: 4, kernel: 3, padding: 1}}, relu, {max_pool2d: {kernel: 2}}, flatten, {linear: {out: 5}}, relu, {linear: {out: 3}}]\ntraining: {optimizer: {name: adamw, lr: 0.01}, batch_size: 6, steps: 10, weight_decay: 0.05, clip: {value: 0.05}, shuffle: false}\nfaults: [{kind: skip_update, layer: 4}]\n";
    [
        (
            "every layer, clipped by norm",
            EVERY_LAYER.to_string(),
            true,
        ),
        (
            "every layer",
            EVERY_LAYER.replace("  clip: {norm: 0.02}\n", ""),
            false,
        ),
        (
            "cnn, adamw, clipped by value, a skipped update",
            cnn.to_string(),
            false,
        ),
    ]
}

fn train_data(config: &Config) -> netdx::data::Dataset {
    netdx::data::load(&config.data, config.seed, &config.base_dir)
        .expect("data")
        .train
}

#[test]
fn a_track_schedule_skips_only_statistics_and_trains_the_same_weights() {
    let gpu = gpu_or_skip!();
    let cases = instrumented_cases();
    let steps = 10;
    for (what, yaml, grads_every_step) in cases {
        let config = Config::parse(&yaml, Path::new("track.yaml")).expect("config");
        let data = train_data(&config);
        let mut weights = Vec::new();
        for every in [1, 3] {
            let mut trainer =
                Trainer::new(gpu, &config, data.clone(), Instrumentation::Full, None).unwrap();
            trainer.track_every = every;
            // Tracked steps fold activations' statistics in their writers; untracked steps run
            // the plain writers and no reduction but the gradients' where clipping needs them.
            let (tracked, untracked) = (trainer.plan.kernels(true), trainer.plan.kernels(false));
            assert!(
                tracked.iter().any(|k| k.ends_with("_folded")),
                "{what}: {tracked:?}"
            );
            assert!(
                !untracked.iter().any(
                    |k| k.ends_with("_folded") || (!grads_every_step && *k == "reduce_partial")
                ),
                "{what}: {untracked:?}"
            );
            for t in 0..steps {
                let r = trainer.step(steps).unwrap();
                // Steps 0, 3, 6 and the last (9) are tracked.
                let tracked = every == 1 || t.is_multiple_of(every) || t == steps - 1;
                assert_eq!(r.stats.tracked, tracked, "{what}: every {every}, step {t}");
                assert_eq!(!r.stats.weights.is_empty(), tracked, "{what}");
                assert_eq!(!r.stats.updates.is_empty(), tracked, "{what}");
                assert_eq!(!r.stats.acts.is_empty(), tracked, "{what}");
                // Clipping by norm needs the gradient norms at every step.
                assert_eq!(
                    !r.stats.grads.is_empty(),
                    tracked || grads_every_step,
                    "{what}"
                );
                assert!(r.loss.is_finite(), "{what}");
            }
            weights.push(trainer.net.download(gpu).unwrap());
        }
        assert_eq!(
            weights[0], weights[1],
            "{what}: untracked steps update the weights exactly as tracked ones"
        );
    }
}

/// The weight and update statistics the optimizer folds as it updates are the numbers that
/// separate reductions of the weights and of each stored update give, bit for bit, and the
/// weights it leaves are the same: on every case above, with Adam, momentum, Nesterov and
/// plain SGD on odd widths (1, 3, 17, 129), and on a track schedule's untracked steps.
#[test]
fn statistics_folded_into_the_optimizer_equal_separate_reductions() {
    let gpu = gpu_or_skip!();
    let odd = |optimizer: &str| {
        format!("seed: 4\ndata: {{builtin: spiral, points_per_class: 43}}\nmodel:\n  layers: [{{linear: {{out: 129}}}}, relu, {{linear: {{out: 17}}}}, tanh, {{linear: {{out: 1}}}}, relu, {{linear: {{out: 3}}}}]\ntraining: {{optimizer: {optimizer}, batch_size: 17, steps: 10, l2: 1.0e-3}}\n")
    };
    let mut cases: Vec<(String, String)> = instrumented_cases()
        .into_iter()
        .map(|(what, yaml, _)| (what.to_string(), yaml))
        .collect();
    for optimizer in [
        "{name: sgd, lr: 0.1}",
        "{name: nesterov, lr: 0.05, momentum: 0.9}",
        "{name: adam, lr: 0.01}",
    ] {
        cases.push((format!("odd widths, {optimizer}"), odd(optimizer)));
    }
    let steps = 10;
    for (what, yaml) in cases {
        let config = Config::parse(&yaml, Path::new("fused.yaml")).expect("config");
        let data = train_data(&config);
        let trainer = |separate_statistics: bool| {
            let mut t = Trainer::with_options(
                gpu,
                &config,
                data.clone(),
                TrainerOptions {
                    instrumentation: Instrumentation::Full,
                    separate_statistics,
                    ..Default::default()
                },
            )
            .unwrap();
            t.track_every = 3;
            t
        };
        let (mut fused, mut separate) = (trainer(false), trainer(true));
        for t in 0..steps {
            let (a, b) = (fused.step(steps).unwrap(), separate.step(steps).unwrap());
            assert_eq!(a.stats.tracked, b.stats.tracked, "{what}, step {t}");
            for (name, x, y) in [
                ("weights", &a.stats.weights, &b.stats.weights),
                ("updates", &a.stats.updates, &b.stats.updates),
                ("gradients", &a.stats.grads, &b.stats.grads),
                ("activations", &a.stats.acts, &b.stats.acts),
            ] {
                assert_eq!(x.len(), y.len(), "{what}, step {t}: {name}");
                for (k, (p, q)) in x.iter().zip(y).enumerate() {
                    assert_eq!(
                        format!("{p:?}"),
                        format!("{q:?}"),
                        "{what}, step {t}: {name} of tensor {k}"
                    );
                }
            }
            assert_eq!(a.loss.to_bits(), b.loss.to_bits(), "{what}, step {t}");
        }
        assert_eq!(
            fused.net.download(gpu).unwrap(),
            separate.net.download(gpu).unwrap(),
            "{what}: the weights after {steps} steps"
        );
    }
}

/// The activations' statistics, reduced during the forward pass right after each tensor is
/// written, are the numbers a reduction of the stored activations gives after the step, bit
/// for bit: on the every-layer MLP (batch norm, dropout), with and without a planted fault
/// corrupting a layer's output after it is written, a CNN with such a fault, and a two-layer
/// transformer (attention's internal tensors, residual streams).
#[test]
fn activation_statistics_reduced_during_the_forward_pass_equal_the_stored_activations() {
    let gpu = gpu_or_skip!();
    let corrupted = "seed: 3\ndata: {builtin: shapes, classes: 3, points_per_class: 4, size: 8}\nmodel:\n  layers: [{conv2d: {out: 4, kernel: 3, padding: 1}}, relu, {max_pool2d: {kernel: 2}}, flatten, {linear: {out: 5}}, relu, {linear: {out: 3}}]\ntraining: {optimizer: {name: adam, lr: 0.01}, batch_size: 6, steps: 2}\nfaults: [{kind: corrupt_output, layer: 1, factor: 3.0}]\n";
    let (transformer, _) = netdx::bench::transformer_config(2, 2).expect("transformer");
    let cases = [
        (
            "every layer",
            Config::parse(EVERY_LAYER, Path::new("every.yaml")).expect("config"),
        ),
        (
            "cnn, corrupted output",
            Config::parse(corrupted, Path::new("corrupted.yaml")).expect("config"),
        ),
        // The seventh activation fills a stage-1 dispatch's inputs, so it is reduced right
        // after its layer, whose output the fault then corrupts.
        (
            "every layer, the seventh corrupted",
            Config::parse(
                &format!(
                    "{EVERY_LAYER}faults: [{{kind: corrupt_output, layer: 6, factor: 3.0}}]\n"
                ),
                Path::new("every.yaml"),
            )
            .expect("config"),
        ),
        ("transformer", transformer),
    ];
    for (what, config) in cases {
        let data = train_data(&config);
        let mut trainer = Trainer::new(gpu, &config, data, Instrumentation::Full, None).unwrap();
        let r = trainer.step(2).unwrap();
        let input = trainer.net.graph.input;
        let acts: Vec<&netdx::gpu::Tensor> = (0..trainer.plan.acts.len())
            .filter(|&t| t != input)
            .map(|t| &trainer.plan.acts[t])
            .collect();
        assert_eq!(r.stats.acts.len(), acts.len(), "{what}");
        let jobs: Vec<(&netdx::gpu::Tensor, usize)> = acts
            .iter()
            .enumerate()
            .map(|(k, &x)| (x, k * REDUCE_WIDTH))
            .collect();
        let stats = gpu
            .tensor(
                "stats",
                acts.len() * REDUCE_WIDTH,
                netdx::gpu::TensorUsage::Storage,
            )
            .unwrap();
        gpu.run(&netdx::train::reduction::reduce_all(gpu, &jobs, &stats).unwrap())
            .unwrap();
        let raw = gpu.read::<f32>(&stats).unwrap();
        for (k, got) in r.stats.acts.iter().enumerate() {
            let want = ReduceStats::from_slot(&raw[k * REDUCE_WIDTH..(k + 1) * REDUCE_WIDTH]);
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{what}: activation {}",
                acts[k].name
            );
        }
    }
}
