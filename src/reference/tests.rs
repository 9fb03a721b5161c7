//! The reference checked against central finite differences in f64: each backward formula
//! against numerical derivatives of its own forward function, on random points.

use super::network::{loss_and_grads, Mode, RefParams};
use super::*;
use crate::config::{Config, LossConfig};
use crate::model::{build, init_params, DataShape};
use crate::rng::SplitMix64;

const H: f64 = 1e-6;

fn rand_vec(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
    let mut r = SplitMix64::new(seed);
    (0..n).map(|_| r.uniform_in(lo, hi)).collect()
}

/// Central difference of `f` at `x` along every coordinate.
fn numeric_grad(x: &[f64], f: &dyn Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut g = vec![0.0; x.len()];
    let mut xp = x.to_vec();
    for i in 0..x.len() {
        let v = xp[i];
        xp[i] = v + H;
        let fp = f(&xp);
        xp[i] = v - H;
        let fm = f(&xp);
        xp[i] = v;
        g[i] = (fp - fm) / (2.0 * H);
    }
    g
}

fn assert_grad(what: &str, analytic: &[f64], numeric: &[f64]) {
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        let err = (a - n).abs() / a.abs().max(n.abs()).max(1e-4);
        assert!(
            err < 1e-5,
            "{what}[{i}]: analytic {a} vs numeric {n} (rel err {err:.2e})"
        );
    }
}

#[test]
fn linear_backward_matches_finite_differences() {
    let (b, i, o) = (3, 4, 5);
    let x = rand_vec(b * i, 1, -1.0, 1.0);
    let w = rand_vec(o * i, 2, -1.0, 1.0);
    let bias = rand_vec(o, 3, -1.0, 1.0);
    let r = rand_vec(b * o, 4, -1.0, 1.0); // L = Σ r ⊙ Y
    let l = |x: &[f64], w: &[f64], bias: &[f64]| -> f64 {
        linear_forward(x, w, bias, b, i, o)
            .iter()
            .zip(&r)
            .map(|(y, r)| y * r)
            .sum()
    };
    let (dx, dw, db) = linear_backward(&x, &w, &r, b, i, o);
    assert_grad("dx", &dx, &numeric_grad(&x, &|v| l(v, &w, &bias)));
    assert_grad("dw", &dw, &numeric_grad(&w, &|v| l(&x, v, &bias)));
    assert_grad("db", &db, &numeric_grad(&bias, &|v| l(&x, &w, v)));
}

#[test]
fn activation_derivatives_match_finite_differences() {
    for kind in Activation::ALL {
        // Points away from relu's kink at 0.
        for &x in &[-3.1, -0.7, -0.05, 0.05, 0.4, 2.9] {
            let a = act_derivative(kind, 0.1, x);
            let n = (act_forward(kind, 0.1, x + H) - act_forward(kind, 0.1, x - H)) / (2.0 * H);
            assert_grad(&format!("{} at {x}", kind.name()), &[a], &[n]);
        }
    }
}

#[test]
fn loss_gradients_match_finite_differences() {
    let (b, c) = (4, 3);
    let logits = rand_vec(b * c, 5, -3.0, 3.0);
    let classes: Vec<f64> = (0..b).map(|i| (i % c) as f64).collect();
    let cases: Vec<(LossKind, Vec<f64>, usize, LossOptions)> = vec![
        (
            LossKind::SoftmaxCrossEntropy,
            classes.clone(),
            c,
            LossOptions::default(),
        ),
        (
            LossKind::SoftmaxCrossEntropy,
            classes.clone(),
            c,
            LossOptions {
                class_weights: Some(vec![0.5, 2.0, 1.0]),
                ..Default::default()
            },
        ),
        (
            LossKind::Focal,
            classes.clone(),
            c,
            LossOptions {
                gamma: 2.0,
                alpha: 0.25,
                ..Default::default()
            },
        ),
        (
            LossKind::Focal,
            classes.clone(),
            c,
            LossOptions {
                gamma: 0.5,
                alpha: 1.0,
                class_weights: Some(vec![1.0, 3.0, 0.2]),
            },
        ),
        (
            LossKind::Mse,
            rand_vec(b * c, 6, -1.0, 1.0),
            c,
            LossOptions::default(),
        ),
        (
            LossKind::BinaryCrossEntropy,
            vec![1.0, 0.0, 1.0, 0.0],
            1,
            LossOptions::default(),
        ),
    ];
    for (kind, targets, width, opts) in cases {
        let z = &logits[..b * width];
        let analytic = loss(kind, z, &targets, b, width, &opts).grad;
        let numeric = numeric_grad(z, &|v| loss(kind, v, &targets, b, width, &opts).loss);
        assert_grad(&format!("{kind:?} {opts:?}"), &analytic, &numeric);
    }
}

#[test]
fn focal_loss_with_gamma_zero_is_cross_entropy_times_alpha() {
    let logits = rand_vec(12, 8, -2.0, 2.0);
    let t = vec![0.0, 1.0, 2.0, 1.0];
    let ce = loss(
        LossKind::SoftmaxCrossEntropy,
        &logits,
        &t,
        4,
        3,
        &LossOptions::default(),
    );
    let fl = loss(
        LossKind::Focal,
        &logits,
        &t,
        4,
        3,
        &LossOptions {
            gamma: 0.0,
            alpha: 0.5,
            ..Default::default()
        },
    );
    assert!((fl.loss - 0.5 * ce.loss).abs() < 1e-12);
}

#[test]
fn batchnorm_backward_matches_finite_differences() {
    // Vectors (spatial 1, as BatchNorm1d) and images (spatial = pixels, as BatchNorm2d).
    for (b, f, s) in [(5, 3, 1), (3, 2, 5), (1, 3, 4)] {
        let x = rand_vec(b * f * s, 9, -2.0, 2.0);
        let gamma = rand_vec(f, 10, 0.5, 1.5);
        let beta = rand_vec(f, 11, -0.5, 0.5);
        let r = rand_vec(b * f * s, 12, -1.0, 1.0);
        let l = |x: &[f64], g: &[f64], bt: &[f64]| -> f64 {
            batchnorm_train(x, g, bt, (b, f, s), 1e-5)
                .y
                .iter()
                .zip(&r)
                .map(|(y, r)| y * r)
                .sum()
        };
        let fwd = batchnorm_train(&x, &gamma, &beta, (b, f, s), 1e-5);
        let (dx, dg, db) = batchnorm_backward(&x, &gamma, &fwd, &r, (b, f, s));
        assert_grad("bn dx", &dx, &numeric_grad(&x, &|v| l(v, &gamma, &beta)));
        assert_grad(
            "bn dgamma",
            &dg,
            &numeric_grad(&gamma, &|v| l(&x, v, &beta)),
        );
        assert_grad("bn dbeta", &db, &numeric_grad(&beta, &|v| l(&x, &gamma, v)));
    }
}

#[test]
fn whole_network_gradients_match_finite_differences() {
    let yaml = r#"
data: {builtin: spiral}
model:
  layers:
    - {linear: {out: 6, init: xavier_normal, bias: 0.1}}
    - batch_norm
    - gelu_tanh
    - {dropout: {rate: 0.25}}
    - {linear: {out: 5}}
    - sigmoid
    - {linear: {out: 3}}
training: {optimizer: {name: sgd, lr: 0.1}, batch_size: 4, steps: 1}
"#;
    let config = Config::parse(yaml, std::path::Path::new("t.yaml")).unwrap();
    let model = build(
        &config.model,
        DataShape {
            width: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let p = RefParams::from_host(&init_params(&model, 3));
    let x = rand_vec(8, 13, -1.0, 1.0);
    let y = vec![0.0, 1.0, 2.0, 1.0];
    let cfg = LossConfig::default();
    let mode = Mode::Train { seed: 2, step: 4 };
    let g = loss_and_grads(&model, &p, &x, &y, 4, &cfg, mode);
    for k in 0..p.params.len() {
        let numeric = numeric_grad(&p.params[k], &|v| {
            let mut q = p.clone();
            q.params[k] = v.to_vec();
            loss_and_grads(&model, &q, &x, &y, 4, &cfg, mode).loss
        });
        assert_grad(&format!("param {k}"), &g.params[k], &numeric);
    }
    let numeric = numeric_grad(&x, &|v| {
        loss_and_grads(&model, &p, v, &y, 4, &cfg, mode).loss
    });
    assert_grad("input", &g.input, &numeric);
}

/// A small CNN with every image layer (convolutions with stride, padding and dilation, max and
/// average pooling, batch norm over channels, global average pooling, flatten) against central
/// differences of its own forward pass.
#[test]
fn whole_cnn_gradients_match_finite_differences() {
    let yaml = r#"
data: {builtin: shapes}
model:
  shape: [2, 7, 6]
  layers:
    - {conv2d: {out: 3, kernel: [3, 2], padding: 1, init: xavier_normal, bias: 0.1}}
    - batch_norm
    - tanh
    - {max_pool2d: {kernel: 2, stride: 1}}
    - {conv2d: {out: 4, kernel: 2, stride: 2, dilation: 1}}
    - {avg_pool2d: {kernel: [2, 1], padding: 0}}
    - gelu_tanh
    - {conv2d: {out: 3, kernel: 1}}
    - global_avg_pool
    - flatten
    - {linear: {out: 3}}
training: {optimizer: {name: sgd, lr: 0.1}, batch_size: 3, steps: 1}
"#;
    let config = Config::parse(yaml, std::path::Path::new("t.yaml")).unwrap();
    let model = build(
        &config.model,
        DataShape {
            width: 2 * 7 * 6,
            ..Default::default()
        },
    )
    .unwrap();
    let p = RefParams::from_host(&init_params(&model, 5));
    let x = rand_vec(3 * 84, 17, -1.0, 1.0);
    let y = vec![0.0, 2.0, 1.0];
    let cfg = LossConfig::default();
    let mode = Mode::Train { seed: 1, step: 0 };
    let g = loss_and_grads(&model, &p, &x, &y, 3, &cfg, mode);
    for k in 0..p.params.len() {
        let numeric = numeric_grad(&p.params[k], &|v| {
            let mut q = p.clone();
            q.params[k] = v.to_vec();
            loss_and_grads(&model, &q, &x, &y, 3, &cfg, mode).loss
        });
        assert_grad(&format!("param {k}"), &g.params[k], &numeric);
    }
    let numeric = numeric_grad(&x, &|v| {
        loss_and_grads(&model, &p, v, &y, 3, &cfg, mode).loss
    });
    assert_grad("input", &g.input, &numeric);
}

#[test]
fn momentum_and_adam_first_steps_follow_pytorch() {
    let cfg = |kind| OptimizerConfig {
        kind,
        momentum: 0.9,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        l2: 0.0,
        weight_decay: 0.0,
        clip_value: 0.0,
    };
    // Momentum: buf = g, then 0.9·g + g; w -= lr·buf.
    let (mut w, mut m, mut v) = (vec![1.0], vec![0.0], vec![0.0]);
    optimizer_step(
        &cfg(OptimizerKind::Momentum),
        0.1,
        1,
        1.0,
        &mut w,
        &[2.0],
        &mut m,
        &mut v,
    );
    optimizer_step(
        &cfg(OptimizerKind::Momentum),
        0.1,
        2,
        1.0,
        &mut w,
        &[2.0],
        &mut m,
        &mut v,
    );
    assert!((w[0] - (1.0 - 0.2 - 0.38)).abs() < 1e-12);
    // Adam's first step moves by lr·g/(|g| + eps/…) ≈ lr·sign(g).
    let (mut w, mut m, mut v) = (vec![1.0], vec![0.0], vec![0.0]);
    optimizer_step(
        &cfg(OptimizerKind::Adam),
        0.01,
        1,
        1.0,
        &mut w,
        &[-3.0],
        &mut m,
        &mut v,
    );
    assert!((w[0] - 1.01).abs() < 1e-9);
    // Clipping by global norm scales by max_norm / norm when the norm is larger.
    assert!((clip_coefficient(10.0, 1.0) - 0.1).abs() < 1e-6);
    assert_eq!(clip_coefficient(0.5, 1.0), 1.0);
}

#[test]
fn dropout_host_mask_is_reproducible() {
    let a = dropout_scale(0.3, 1, 2, 3, 1000);
    assert_eq!(a, dropout_scale(0.3, 1, 2, 3, 1000));
    assert_ne!(a, dropout_scale(0.3, 1, 3, 3, 1000));
    let kept = a.iter().filter(|&&s| s > 0.0).count();
    assert!(
        (600..800).contains(&kept),
        "kept {kept} of 1000 at rate 0.3"
    );
}
