//! The models and data the step figures train (the MLP, the CNN, the transformer), and the
//! FLOP count of one training step of a model graph. Builds configs only; times nothing.

use crate::config::{Config, LossConfig, OptimizerSpec, ScheduleConfig, TrainingConfig};
use crate::data::{BuiltinKind, DataSpec, Dataset};
use crate::error::Result;
use crate::model::{Init, LayerSpec, ModelSpec};
use crate::ops::{Activation, LossKind, OptimizerKind};
use crate::rng::SplitMix64;

/// The benchmark MLP: 784-256-256-10 on random data with random labels.
pub fn mlp_config(batch: usize, steps: usize) -> (Config, Dataset) {
    let linear = |out| LayerSpec::Linear {
        out,
        input: None,
        init: Init::KaimingUniform,
        bias: 0.0,
    };
    let relu = LayerSpec::Activation {
        kind: Activation::Relu,
        slope: 0.0,
    };
    let config = Config {
        name: Some("bench MLP".into()),
        checks: None,
        faults: Vec::new(),
        cases: Vec::new(),
        matrix: Default::default(),
        base_dir: Default::default(),
        seed: 0,
        data: DataSpec {
            builtin: Some(BuiltinKind::Blobs),
            classes: Some(10),
            dims: Some(784),
            ..Default::default()
        },
        model: ModelSpec {
            input: Some(crate::model::ModelInput::Width(784)),
            shape: None,
            layers: vec![linear(256), relu.clone(), linear(256), relu, linear(10)],
            onnx: None,
            weights: None,
            without_dropout: false,
        },
        loss: LossConfig {
            name: LossKind::SoftmaxCrossEntropy,
            ..Default::default()
        },
        training: TrainingConfig {
            optimizer: OptimizerSpec {
                name: OptimizerKind::Sgd,
                lr: 0.01,
                momentum: None,
                nesterov: false,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            batch_size: batch,
            steps,
            l2: 0.0,
            weight_decay: 0.0,
            clip: Default::default(),
            schedule: ScheduleConfig::default(),
            shuffle: true,
            on_nonfinite: Default::default(),
            track_every: 1,
        },
    };
    let n = batch.max(1024);
    let mut rng = SplitMix64::new(7);
    let dataset = Dataset::new(
        "random 784-d",
        (0..n * 784).map(|_| rng.uniform() as f32).collect(),
        (0..n).map(|_| rng.below(10) as f32).collect(),
        784,
        1,
        Some(10),
    );
    (config, dataset)
}

/// The small CNN of configs/mnist_cnn.yaml on the built-in shapes images at MNIST's size
/// (1×28×28), batch `batch`, SGD.
pub fn cnn_config(batch: usize, steps: usize) -> Result<(Config, Dataset)> {
    let yaml = format!(
        "data: {{builtin: shapes, classes: 10, points_per_class: {per}, size: 28}}
model:
  layers:
    - {{conv2d: {{out: 8, kernel: 3, padding: 1}}}}
    - relu
    - {{max_pool2d: {{kernel: 2}}}}
    - {{conv2d: {{out: 16, kernel: 3, padding: 1}}}}
    - relu
    - {{max_pool2d: {{kernel: 2}}}}
    - flatten
    - {{linear: {{out: 10}}}}
training: {{optimizer: {{name: sgd, lr: 0.01}}, batch_size: {batch}, steps: {steps}}}
",
        per = batch.div_ceil(10)
    );
    let config = Config::parse(&yaml, std::path::Path::new("bench-cnn.yaml"))?;
    let data = crate::data::load(&config.data, 0, std::path::Path::new("."))?.train;
    Ok((config, data))
}

/// Multiply-adds × 2 of one training step of `model` at `batch` (forward, input and weight
/// gradients of its linear and conv2d layers, and attention's batched products).
pub(super) fn step_flops(model: &crate::graph::Graph, batch: usize) -> f64 {
    use crate::graph::{Op, Shape};
    model
        .nodes
        .iter()
        .map(|n| match &n.op {
            Op::Linear { input, output, .. } => {
                6.0 * (batch * n.in_shape.rows() * input * output) as f64
            }
            Op::Conv2d { .. } => {
                let conv = n.in_shape.image().and_then(|i| n.op.conv(i, batch));
                6.0 * conv.map_or(0, |c| c.taps()) as f64
            }
            Op::Matmul { .. } => match (n.in_shape, n.out_shape) {
                (Shape::Heads { heads, len, dim }, Shape::Heads { dim: cols, .. }) => {
                    6.0 * (batch * heads * len * dim * cols) as f64
                }
                _ => 0.0,
            },
            _ => 0.0,
        })
        .sum()
}

/// Batch of the benchmark transformer's step and attention figures.
pub const TRANSFORMER_BATCH: usize = 32;

/// Tokens per example of the benchmark transformer (the `copy` task of length 32).
pub const TRANSFORMER_CONTEXT: usize = 64;

/// Attention heads and model width of the benchmark transformer (configs/transformer.yaml).
pub const TRANSFORMER_HEADS: usize = 4;
pub const TRANSFORMER_WIDTH: usize = 64;

/// The transformer of configs/transformer.yaml (2 pre-LN layers, 4 causal heads, d = 64, GELU
/// MLP of 256, AdamW) on the built-in `copy` task of length 32: context
/// [`TRANSFORMER_CONTEXT`], vocabulary 11, every next token predicted, batch `batch`.
pub fn transformer_config(batch: usize, steps: usize) -> Result<(Config, Dataset)> {
    let yaml = format!(
        "data: {{builtin: copy, length: {length}, symbols: 10, points: {points}}}
model:
  layers:
    - {{embedding: {{vocab: 11, dim: {d}, init: {{normal: {{std: 0.02}}}}}}}}
    - {{position: {{max_len: {context}, init: {{normal: {{std: 0.02}}}}}}}}
    - residual: [layer_norm, {{attention: {{heads: {heads}, causal: true}}}}]
    - residual: [layer_norm, {{linear: {{out: {mlp}}}}}, gelu, {{linear: {{out: {d}}}}}]
    - residual: [layer_norm, {{attention: {{heads: {heads}, causal: true}}}}]
    - residual: [layer_norm, {{linear: {{out: {mlp}}}}}, gelu, {{linear: {{out: {d}}}}}]
    - layer_norm
    - {{linear: {{out: 11, init: {{normal: {{std: 0.02}}}}}}}}
loss: softmax_cross_entropy
training: {{optimizer: {{name: adamw, lr: 0.001}}, batch_size: {batch}, steps: {steps}, weight_decay: 0.01}}
",
        length = TRANSFORMER_CONTEXT / 2,
        points = batch.max(1024),
        context = TRANSFORMER_CONTEXT,
        heads = TRANSFORMER_HEADS,
        d = TRANSFORMER_WIDTH,
        mlp = 4 * TRANSFORMER_WIDTH,
    );
    let config = Config::parse(&yaml, std::path::Path::new("bench-transformer.yaml"))?;
    let data = crate::data::load(&config.data, 0, std::path::Path::new("."))?.train;
    Ok((config, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The transformer workload is the shape, and its step's FLOP count is the linear
    /// layers' and attention's batched products', each forward plus both gradients.
    #[test]
    fn transformer_workload_and_its_flops() {
        let batch = TRANSFORMER_BATCH;
        let (config, data) = transformer_config(batch, 1).unwrap();
        assert_eq!(data.x_width, TRANSFORMER_CONTEXT);
        assert_eq!(data.classes, Some(11));
        assert!(data.n >= batch);
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&data)).unwrap();
        let (t, d, h) = (TRANSFORMER_CONTEXT, TRANSFORMER_WIDTH, TRANSFORMER_HEADS);
        // Per token and layer: Q, K, V and output projections, the MLP's two; then the head.
        let weights = 2 * (3 * d * d + d * d + 2 * d * 4 * d) + d * 11;
        let linear = 6 * batch * t * weights;
        // Per layer: Q·Kᵀ and P·V, each batch·heads products of t·(d/h)·t multiply-adds.
        let attention = 2 * 2 * 6 * batch * h * t * (d / h) * t;
        assert_eq!(step_flops(&model, batch), (linear + attention) as f64);
    }

    #[test]
    fn benchmark_mlp_and_cnn_flops() {
        let (config, data) = mlp_config(128, 1);
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&data)).unwrap();
        let weights = 784 * 256 + 256 * 256 + 256 * 10;
        assert_eq!(step_flops(&model, 128), (6 * 128 * weights) as f64);
        let (config, data) = cnn_config(32, 1).unwrap();
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&data)).unwrap();
        assert!(step_flops(&model, 32) > 0.0);
    }
}
