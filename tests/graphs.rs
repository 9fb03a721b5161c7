//! Models as graphs: one training step of a transformer (embedding, learned positions, pre-LN
//! residual blocks with causal multi-head attention and an MLP) and of a residual CNN (batch
//! norm, a strided block with a 1×1 projection) equals the f64 reference in every tensor, the
//! loss and every parameter gradient; a residual stream read by several nodes accumulates its
//! gradient in a fixed order, so reruns are bit-identical.

use std::path::Path;

use netdx::config::Config;
use netdx::data::Dataset;
use netdx::gpu::Gpu;
use netdx::reference::network::{loss_and_grads, Mode, RefParams};
use netdx::train::{Instrumentation, Trainer};

use crate::common::{assert_close, widen};
use crate::gpu_or_skip;

/// A two-block pre-LN transformer on the built-in `reverse` task, with odd sizes: 3 heads of
/// width 5, a context of 8, a vocabulary of 7.
fn transformer(causal: bool, dropout: f64) -> String {
    format!(
        r#"
seed: 4
data: {{builtin: reverse, length: 4, symbols: 6, points: 64}}
model:
  layers:
    - {{embedding: {{vocab: 7, dim: 15, init: {{normal: {{std: 0.5}}}}}}}}
    - {{position: {{max_len: 11, init: {{normal: {{std: 0.3}}}}}}}}
    - residual: [layer_norm, {{attention: {{heads: 3, causal: {causal}, dropout: {dropout}}}}}]
    - residual: [{{layer_norm: {{eps: 1.0e-3, affine: false}}}}, {{linear: {{out: 17}}}}, gelu, {{dropout: {{rate: {dropout}}}}}, {{linear: {{out: 15}}}}]
    - layer_norm
    - {{linear: {{out: 7, init: xavier_uniform}}}}
loss: softmax_cross_entropy
training:
  optimizer: {{name: sgd, lr: 0.1}}
  batch_size: 5
  steps: 1
  shuffle: false
"#
    )
}

/// A residual CNN: a block that keeps the stream and a strided block whose stream is
/// projected by a 1×1 convolution.
const RESIDUAL_CNN: &str = r#"
seed: 5
data: {builtin: shapes, classes: 3, points_per_class: 4, size: 9}
model:
  layers:
    - {conv2d: {out: 4, kernel: 3, padding: 1}}
    - relu
    - residual: [{conv2d: {out: 4, kernel: 3, padding: 1}}, batch_norm, relu, {conv2d: {out: 4, kernel: 3, padding: 1}}]
    - residual: {layers: [{conv2d: {out: 6, kernel: 3, stride: 2, padding: 1}}, batch_norm, tanh], projection: linear}
    - global_avg_pool
    - flatten
    - {linear: {out: 3}}
loss: softmax_cross_entropy
training:
  optimizer: {name: sgd, lr: 0.1}
  batch_size: 5
  steps: 1
  shuffle: false
"#;

fn parse(yaml: &str) -> Config {
    Config::parse(yaml, Path::new("graph.yaml")).expect("valid config")
}

fn first(data: Dataset, n: usize) -> Dataset {
    data.subset(&(0..n).collect::<Vec<_>>(), "first".into())
}

/// Runs one fully instrumented step and compares every tensor, the loss and every parameter
/// gradient with the reference. f32 sums of at most a few hundred terms: 1e-4 relative for
/// values, 1e-3 for gradients (layer norm's and batch norm's 1/σ amplify rounding).
fn step_matches_reference<'g>(gpu: &'g Gpu, config: &Config, data: Dataset) -> Trainer<'g> {
    let n = config.training.batch_size;
    let data = first(data, n);
    let mut trainer =
        Trainer::new(gpu, config, data.clone(), Instrumentation::Full, None).expect("trainer");
    let host = trainer.net.download(gpu).unwrap();
    let rec = trainer.step(1).expect("step");
    let model = trainer.model.clone();
    let p = RefParams::from_host(&host);
    let (x, y) = (widen(&data.x), widen(&data.y));
    let mode = Mode::Train {
        seed: config.seed as u32,
        step: 0,
    };
    let g = loss_and_grads(&model, &p, &x, &y, n, &config.loss, mode);
    for t in model.activations() {
        let got = gpu.read::<f32>(&trainer.plan.acts[t]).unwrap();
        assert_close(&model.tensors[t].name, &got, &g.trace.acts[t], 1e-4, 1e-5);
    }
    assert_close("loss", &[rec.loss as f32], &[g.loss], 1e-4, 1e-6);
    // A gradient that is zero up to rounding (a bias before batch norm) is judged against the
    // largest gradient of the model, as the existing reference tests do.
    let scale = g
        .params
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for (k, info) in trainer.net.infos.iter().enumerate() {
        let got = gpu.read::<f32>(&trainer.plan.param_grads[k]).unwrap();
        assert_close(
            &format!("gradient of {}", info.name),
            &got,
            &g.params[k],
            1e-3,
            1e-5 * scale,
        );
    }
    trainer
}

fn task_data(config: &Config) -> Dataset {
    netdx::data::load(&config.data, config.seed, &config.base_dir)
        .expect("data")
        .train
}

#[test]
fn a_causal_transformer_step_matches_the_reference() {
    let gpu = gpu_or_skip!();
    let config = parse(&transformer(true, 0.0));
    let trainer = step_matches_reference(gpu, &config, task_data(&config));
    assert_eq!(
        trainer.model.describe(),
        "8 tokens-emb7x15-pos11-res(ln-attn3hc)-res(ln-17-gelu-dropout(0)-15)-ln-7"
    );
    // nn.MultiheadAttention's names and layouts.
    let names: Vec<(&str, Vec<usize>)> = trainer
        .net
        .infos
        .iter()
        .map(|p| (p.name.as_str(), p.shape.clone()))
        .collect();
    for (name, shape) in [
        ("layers.0.weight", vec![7, 15]),
        ("layers.1.weight", vec![11, 15]),
        ("layers.2.0.weight", vec![15]),
        ("layers.2.1.in_proj_weight", vec![45, 15]),
        ("layers.2.1.in_proj_bias", vec![45]),
        ("layers.2.1.out_proj.weight", vec![15, 15]),
        ("layers.2.1.out_proj.bias", vec![15]),
        ("layers.3.1.weight", vec![17, 15]),
        ("layers.5.weight", vec![7, 15]),
    ] {
        assert!(
            names.contains(&(name, shape.clone())),
            "{name} {shape:?} in {names:?}"
        );
    }
}

#[test]
fn a_bidirectional_transformer_with_attention_dropout_matches_the_reference() {
    let gpu = gpu_or_skip!();
    let config = parse(&transformer(false, 0.2));
    step_matches_reference(gpu, &config, task_data(&config));
}

#[test]
fn a_residual_cnn_with_a_strided_projection_matches_the_reference() {
    let gpu = gpu_or_skip!();
    let config = parse(RESIDUAL_CNN);
    let trainer = step_matches_reference(gpu, &config, task_data(&config));
    let proj = trainer
        .net
        .infos
        .iter()
        .find(|p| p.name == "layers.3.projection.weight")
        .expect("the projection's weight");
    assert_eq!(proj.shape, vec![6, 4, 1, 1], "a 1×1 convolution");
}

/// The residual stream's gradient is summed from several readers in a fixed order: two runs
/// give the same bits.
#[test]
fn graph_gradients_are_bit_identical_on_rerun() {
    let gpu = gpu_or_skip!();
    for yaml in [transformer(true, 0.1), RESIDUAL_CNN.to_string()] {
        let config = parse(&yaml);
        let data = first(task_data(&config), config.training.batch_size);
        let run = || -> Vec<Vec<u32>> {
            let mut t = Trainer::new(gpu, &config, data.clone(), Instrumentation::Full, None)
                .expect("trainer");
            t.step(1).unwrap();
            t.plan
                .param_grads
                .iter()
                .map(|g| gpu.read::<u32>(g).unwrap())
                .collect()
        };
        assert_eq!(run(), run(), "{yaml}");
    }
}

/// Runs a shipped suite and asserts that it runs every check of the catalogue and that each
/// passes or skips; returns the checks that skipped.
pub(crate) fn suite_passes(gpu: &Gpu, file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(file);
    let config = Config::load(&path).expect("the shipped config");
    let report = netdx::suite::run_suite(gpu, &config, file, &[], &mut |_| {}).expect("suite");
    assert_eq!(
        report.findings.len(),
        netdx::checks::catalogue().len(),
        "{file} runs every check"
    );
    for f in &report.findings {
        assert!(
            matches!(
                f.verdict,
                netdx::checks::Verdict::Pass | netdx::checks::Verdict::Skip
            ),
            "{file}: {}: {:?} — {} (measured {:?}, {})",
            f.check,
            f.verdict,
            f.message,
            f.measured,
            f.threshold
        );
    }
    report
        .findings
        .iter()
        .filter(|f| f.verdict == netdx::checks::Verdict::Skip)
        .map(|f| f.check.clone())
        .collect()
}

/// The shipped transformer suite passes every check that applies; it skips only the checks
/// with nothing to look at (no ReLU, no L2, no clipping, no batch norm, no user kernels).
#[test]
fn the_transformer_suite_passes_every_applicable_check() {
    let gpu = gpu_or_skip!();
    if !crate::common::runs_half(gpu, 0, "the transformer suite") {
        return;
    }
    let skipped = suite_passes(gpu, "transformer.yaml");
    assert_eq!(
        skipped,
        [
            "loss_scale",
            "kernel_gradient_check",
            "dead_units",
            "clipping",
            "dropout_bn"
        ]
    );
}

/// The shipped residual CNN suite passes every check that applies.
#[test]
fn the_resnet_suite_passes_every_applicable_check() {
    let gpu = gpu_or_skip!();
    if !crate::common::runs_half(gpu, 1, "the resnet suite") {
        return;
    }
    let skipped = suite_passes(gpu, "resnet.yaml");
    assert!(
        !skipped.iter().any(|c| [
            "gradient_check",
            "grow",
            "dead_units",
            "batch_independence",
            "saliency"
        ]
        .contains(&c.as_str())),
        "{skipped:?}"
    );
}
