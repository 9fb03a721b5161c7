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
                pos_weight: None,
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
        (
            LossKind::BinaryCrossEntropy,
            vec![1.0, 0.0, 1.0, 0.0],
            1,
            LossOptions {
                pos_weight: Some(3.0),
                ..Default::default()
            },
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
fn binary_cross_entropy_with_pos_weight_one_is_the_plain_loss_and_weighs_positives() {
    let z = rand_vec(6, 21, -3.0, 3.0);
    let y = vec![1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
    let bce = |pw: Option<f64>| {
        loss(
            LossKind::BinaryCrossEntropy,
            &z,
            &y,
            6,
            1,
            &LossOptions {
                pos_weight: pw,
                ..Default::default()
            },
        )
    };
    let (plain, one, three) = (bce(None), bce(Some(1.0)), bce(Some(3.0)));
    assert!((plain.loss - one.loss).abs() < 1e-12);
    // Only the positive examples' terms are tripled (PyTorch's BCEWithLogitsLoss).
    let softplus = |x: f64| (1.0 + x.exp()).ln();
    let want: f64 = z
        .iter()
        .zip(&y)
        .map(|(&z, &y)| 3.0 * y * softplus(-z) + (1.0 - y) * softplus(z))
        .sum::<f64>()
        / 6.0;
    assert!(
        (three.loss - want).abs() < 1e-12,
        "{} vs {want}",
        three.loss
    );
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

/// The largest relative error of `analytic` against `numeric` under `assert_grad`'s rule.
fn worst_rel_err(analytic: &[f64], numeric: &[f64]) -> f64 {
    analytic
        .iter()
        .zip(numeric)
        .map(|(a, n)| (a - n).abs() / a.abs().max(n.abs()).max(1e-4))
        .fold(0.0, f64::max)
}

/// Builds the model of `yaml` for data of `shape`.
fn graph_of(yaml: &str, shape: DataShape) -> crate::graph::Graph {
    let config = Config::parse(yaml, std::path::Path::new("t.yaml")).unwrap();
    build(&config.model, shape).unwrap()
}

/// Checks the gradient of every parameter tensor of `model` (and of the input, unless it is
/// token ids) against central differences of `loss_value`, and that every tensor but those
/// named in `zero_ok` (biases before batch norm) gets a gradient at all, so the check is not
/// vacuous. Prints and returns the worst relative error.
fn check_whole_model(
    what: &str,
    model: &crate::graph::Graph,
    p: &RefParams,
    (x, y, batch): (&[f64], &[f64], usize),
    mode: Mode,
    zero_ok: &[&str],
) -> super::network::Gradients {
    use super::network::loss_value;
    let cfg = LossConfig::default();
    let g = loss_and_grads(model, p, x, y, batch, &cfg, mode);
    assert!(g.loss.is_finite(), "{what}: loss {}", g.loss);
    assert_eq!(g.params.len(), model.params.len());
    let mut worst = 0.0f64;
    for (k, info) in model.params.iter().enumerate() {
        let numeric = numeric_grad(&p.params[k], &|v| {
            let mut q = p.clone();
            q.params[k] = v.to_vec();
            loss_value(model, &q, x, y, batch, &cfg, mode)
        });
        assert_grad(&format!("{what}: {}", info.name), &g.params[k], &numeric);
        worst = worst.max(worst_rel_err(&g.params[k], &numeric));
        let largest = g.params[k].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(
            largest > 1e-8 || zero_ok.contains(&info.name.as_str()),
            "{what}: {} gets no gradient (largest {largest:.1e})",
            info.name
        );
    }
    if !model.takes_tokens() {
        let numeric = numeric_grad(x, &|v| loss_value(model, p, v, y, batch, &cfg, mode));
        assert_grad(&format!("{what}: input"), &g.input, &numeric);
        worst = worst.max(worst_rel_err(&g.input, &numeric));
    }
    eprintln!(
        "{what}: {} parameter tensors, worst relative error {worst:.2e}",
        model.params.len()
    );
    g
}

/// A pre-LN transformer with odd sizes: vocabulary 7, `heads` heads of width `head_dim`,
/// learned positions one longer than the context (the unused row gets no gradient), attention
/// dropout 0.3, an MLP block (GELU) behind a layer norm without affine parameters, a final
/// layer norm and linear.
fn transformer_yaml(heads: usize, head_dim: usize, max_len: usize, causal: bool) -> String {
    let d = heads * head_dim;
    format!(
        r#"
data: {{builtin: reverse}}
model:
  layers:
    - {{embedding: {{vocab: 7, dim: {d}, init: {{normal: {{std: 0.7}}}}}}}}
    - {{position: {{max_len: {max_len}, init: {{uniform: {{low: -0.5, high: 0.5}}}}}}}}
    - residual: [layer_norm, {{attention: {{heads: {heads}, causal: {causal}, dropout: 0.3}}}}]
    - residual: {{layers: [{{layer_norm: {{affine: false, eps: 1.0e-3}}}}, {{linear: {{out: 11, bias: 0.05}}}}, gelu, {{linear: {{out: {d}}}}}]}}
    - layer_norm
    - {{linear: {{out: 7, init: xavier_normal}}}}
training: {{optimizer: {{name: sgd, lr: 0.1}}, batch_size: 3, steps: 1}}
"#
    )
}

/// Token ids in [0, 7) for `batch` sequences of `context`, and next-token targets with every
/// third position ignored (−1).
fn token_batch(batch: usize, context: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut r = SplitMix64::new(seed);
    let x: Vec<f64> = (0..batch * context)
        .map(|_| (r.uniform_in(0.0, 7.0).floor()).min(6.0))
        .collect();
    let y = (0..batch * context)
        .map(|i| {
            if i % 3 == 1 {
                -1.0
            } else {
                ((x[i] as usize * 3 + i) % 7) as f64
            }
        })
        .collect();
    (x, y)
}

/// The whole transformer of `transformer_yaml` against finite differences; then the exact
/// properties finite differences cannot see: ignored positions get no logit gradient, the
/// attention dropout really dropped weights, and (when causal) changing the last token changes
/// no earlier position's logits, while without the mask it changes them all.
fn transformer_gradients(heads: usize, head_dim: usize, context: usize, causal: bool) {
    let batch = 3;
    let yaml = transformer_yaml(heads, head_dim, context + 1, causal);
    let shape = DataShape {
        width: context,
        tokens: true,
        image: None,
        vocab: Some(7),
    };
    let model = graph_of(&yaml, shape);
    assert!(model.takes_tokens());
    assert_eq!(model.predictions(), context);
    let p = RefParams::from_host(&init_params(&model, 11));
    let (x, y) = token_batch(batch, context, 7);
    let mode = Mode::Train { seed: 3, step: 2 };
    let what = format!("transformer heads {heads}×{head_dim} context {context} causal {causal}");
    let g = check_whole_model(&what, &model, &p, (&x, &y, batch), mode, &[]);

    // Ignored positions pass no gradient into their logits.
    let dlogits = &g.tensors[model.output];
    for (i, _) in y.iter().enumerate().filter(|(_, &t)| t < 0.0) {
        assert!(
            dlogits[i * 7..(i + 1) * 7].iter().all(|&v| v == 0.0),
            "{what}: ignored position {i} has a logit gradient"
        );
    }
    // The attention dropout zeroed some weights that the softmax gave (> 0).
    let drop = model
        .nodes
        .iter()
        .find(|n| matches!(n.op, crate::graph::Op::Dropout { .. }) && n.name.ends_with(".dropout"))
        .expect("an attention dropout node");
    let weights = &g.trace.acts[drop.input()];
    let dropped = weights
        .iter()
        .zip(&g.trace.acts[drop.output()])
        .filter(|(&w, &d)| w > 0.0 && d == 0.0)
        .count();
    assert!(dropped > 0, "{what}: attention dropout dropped nothing");
    // Causality through the whole graph: a different last token of the first sequence.
    let mut x2 = x.clone();
    x2[context - 1] = (x[context - 1] + 1.0) % 7.0;
    let before = &g.trace.acts[model.output];
    let after = &super::network::forward(&model, &p, &x2, batch, mode).acts[model.output];
    let earlier = (context - 1) * 7;
    if causal {
        assert_eq!(
            before[..earlier],
            after[..earlier],
            "{what}: the last token changed an earlier position's logits"
        );
    } else {
        for t in 0..context - 1 {
            assert_ne!(
                before[t * 7..(t + 1) * 7],
                after[t * 7..(t + 1) * 7],
                "{what}: without the mask, position {t} must see the last token"
            );
        }
    }
    assert_ne!(before[earlier..context * 7], after[earlier..context * 7]);
    // Other sequences of the batch are untouched either way.
    assert_eq!(before[context * 7..], after[context * 7..]);
}

/// A causal transformer (2 heads of width 5, context 5) against finite differences of
/// `loss_value`, every parameter tensor.
#[test]
fn whole_causal_transformer_gradients_match_finite_differences() {
    transformer_gradients(2, 5, 5, true);
}

/// The same without the causal mask (3 heads of width 3, context 7).
#[test]
fn whole_bidirectional_transformer_gradients_match_finite_differences() {
    transformer_gradients(3, 3, 7, false);
}

/// A residual CNN: a block that keeps the stream (conv, channel batch norm, GELU, dilated
/// conv) and a strided block whose stream is projected by a strided 1×1 convolution, on a
/// non-square image; the input's gradient too. The conv biases right before batch norm have
/// zero gradient (batch norm removes the mean), so only they may get none.
#[test]
fn whole_residual_cnn_gradients_match_finite_differences() {
    let yaml = r#"
data: {builtin: shapes}
model:
  shape: [2, 7, 5]
  layers:
    - {conv2d: {out: 3, kernel: 3, padding: 1, bias: 0.1}}
    - tanh
    - residual: [{conv2d: {out: 3, kernel: 3, padding: 1}}, batch_norm, gelu_tanh, {conv2d: {out: 3, kernel: 3, padding: 2, dilation: 2}}]
    - residual: {layers: [{conv2d: {out: 4, kernel: 3, stride: 2, padding: 1}}, batch_norm, tanh], projection: linear}
    - global_avg_pool
    - flatten
    - {linear: {out: 3}}
training: {optimizer: {name: sgd, lr: 0.1}, batch_size: 3, steps: 1}
"#;
    let model = graph_of(
        yaml,
        DataShape {
            width: 2 * 7 * 5,
            ..Default::default()
        },
    );
    // The projection is a 1×1 convolution of stride 2: 7×5 → 4×3.
    let proj = model
        .param("layers.3.projection.weight")
        .expect("a projection");
    assert_eq!(model.params[proj].shape, vec![4, 3, 1, 1]);
    let node = &model.nodes[model.params[proj].node];
    assert!(
        matches!(node.op, crate::graph::Op::Conv2d { stride: 2, .. }),
        "{:?}",
        node.op
    );
    let p = RefParams::from_host(&init_params(&model, 9));
    let x = rand_vec(3 * 70, 21, -1.0, 1.0);
    let y = vec![2.0, 0.0, 1.0];
    check_whole_model(
        "residual cnn",
        &model,
        &p,
        (&x, &y, 3),
        Mode::Train { seed: 4, step: 1 },
        &["layers.2.0.bias", "layers.3.0.bias"],
    );
}

/// A residual MLP whose streams fan out: a block nested in a block reads the outer stream
/// (the inner block's first layer, the inner add and the outer add: three readers), then a
/// block with batch norm and dropout, a projected block that narrows the stream, a linear head.
/// The YAML refuses an empty block (`{residual: []}`, in the bad-config corpus), so x + x —
/// an add reading one tensor in both slots — is built from a spec made in code.
#[test]
fn whole_residual_mlp_with_fan_out_gradients_match_finite_differences() {
    let yaml = r#"
data: {builtin: spiral}
model:
  layers:
    - {linear: {out: 6, bias: 0.1}}
    - residual: [{residual: [{linear: {out: 6}}, tanh]}, {linear: {out: 6}}, gelu]
    - residual: [batch_norm, {linear: {out: 6}}, sigmoid, {dropout: {rate: 0.3}}]
    - residual: {layers: [layer_norm, {linear: {out: 5}}, tanh], projection: linear}
    - {linear: {out: 3}}
training: {optimizer: {name: sgd, lr: 0.1}, batch_size: 4, steps: 1}
"#;
    let shape = DataShape {
        width: 3,
        ..Default::default()
    };
    let model = graph_of(yaml, shape);
    let readers = model.tensors.iter().map(|t| t.consumers.len()).max();
    assert_eq!(readers, Some(3), "the outer stream feeds three nodes");
    let x = rand_vec(4 * 3, 23, -1.5, 1.5);
    let y = vec![0.0, 2.0, 1.0, 2.0];
    let mode = Mode::Train { seed: 6, step: 3 };
    let p = RefParams::from_host(&init_params(&model, 13));
    check_whole_model("residual mlp", &model, &p, (&x, &y, 4), mode, &[]);

    // x + x: an empty block before the head.
    let mut config = Config::parse(yaml, std::path::Path::new("t.yaml")).unwrap();
    let head = config.model.layers.pop().expect("the head");
    config.model.layers.push(crate::model::LayerSpec::Residual {
        layers: Vec::new(),
        projection: false,
        mapped: false,
    });
    config.model.layers.push(head);
    let model = build(&config.model, shape).unwrap();
    let twice = model
        .nodes
        .iter()
        .find(|n| matches!(n.op, crate::graph::Op::Add) && n.inputs[0] == n.inputs[1])
        .expect("an add of a tensor to itself");
    assert_eq!(model.tensors[twice.input()].consumers.len(), 2);
    let p = RefParams::from_host(&init_params(&model, 13));
    let g = check_whole_model(
        "residual mlp with x + x",
        &model,
        &p,
        (&x, &y, 4),
        mode,
        &[],
    );
    // dL/dx = 2·dL/d(x + x).
    let (dx, dy) = (&g.tensors[twice.input()], &g.tensors[twice.output()]);
    for (a, b) in dx.iter().zip(dy) {
        assert_eq!(*a, 2.0 * b);
    }
}
