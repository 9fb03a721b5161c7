//! Host-side weight initialization from the seed. Each layer draws from its own SplitMix64
//! stream (seed, layer index), in row-major order of `[out, in]` (`[out, in, kh, kw]` for a
//! convolution, whose fans are channels × kernel area, as PyTorch counts them), so results do
//! not depend on the adapter, and adding a layer leaves the others' initial weights unchanged.

use super::{LayerSpec, Model, ParamRole};
use crate::model::Init;
use crate::rng::SplitMix64;

/// A named host tensor (f32, row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Initial values of every trainable tensor (in `Model::params` order) and of the batch-norm
/// running statistics (`layers.{i}.running_mean`, `layers.{i}.running_var`).
#[derive(Clone, Debug, PartialEq)]
pub struct HostParams {
    pub params: Vec<HostTensor>,
    pub state: Vec<HostTensor>,
}

fn draw(init: &Init, fan_in: usize, fan_out: usize, n: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let fi = fan_in.max(1) as f64;
    let fo = fan_out.max(1) as f64;
    (0..n)
        .map(|_| {
            let v = match init {
                Init::XavierUniform => {
                    let a = (6.0 / (fi + fo)).sqrt();
                    rng.uniform_in(-a, a)
                }
                Init::XavierNormal => (2.0 / (fi + fo)).sqrt() * rng.normal(),
                Init::KaimingUniform => {
                    let a = (6.0 / fi).sqrt();
                    rng.uniform_in(-a, a)
                }
                Init::KaimingNormal => (2.0 / fi).sqrt() * rng.normal(),
                Init::Normal { std } => std * rng.normal(),
                Init::Uniform { low, high } => rng.uniform_in(*low, *high),
                Init::Zeros => 0.0,
            };
            v as f32
        })
        .collect()
}

/// Initial parameters for `model` from `seed`.
pub fn init_params(model: &Model, seed: u64) -> HostParams {
    let mut params = Vec::new();
    let mut state = Vec::new();
    for info in model.params() {
        let layer = &model.layers[info.layer];
        let n = info.len();
        let data = match (&layer.spec, info.role) {
            (LayerSpec::Linear { init, .. }, ParamRole::Weight) => {
                let mut rng = SplitMix64::stream(seed, layer.index as u64);
                draw(init, layer.input, layer.output, n, &mut rng)
            }
            (LayerSpec::Linear { bias, .. }, ParamRole::Bias) => vec![*bias as f32; n],
            (LayerSpec::Conv2d { init, kernel, .. }, ParamRole::Weight) => {
                let mut rng = SplitMix64::stream(seed, layer.index as u64);
                let area = kernel[0] * kernel[1];
                let (fan_in, fan_out) = (info.shape[1] * area, info.shape[0] * area);
                draw(init, fan_in, fan_out, n, &mut rng)
            }
            (LayerSpec::Conv2d { bias, .. }, ParamRole::Bias) => vec![*bias as f32; n],
            (_, ParamRole::Gamma) => vec![1.0; n],
            _ => vec![0.0; n],
        };
        params.push(HostTensor {
            name: info.name.clone(),
            shape: info.shape.clone(),
            data,
        });
    }
    for l in &model.layers {
        if let LayerSpec::BatchNorm { .. } = l.spec {
            let features = l.out_shape.features();
            state.push(HostTensor {
                name: format!("layers.{}.running_mean", l.index),
                shape: vec![features],
                data: vec![0.0; features],
            });
            state.push(HostTensor {
                name: format!("layers.{}.running_var", l.index),
                shape: vec![features],
                data: vec![1.0; features],
            });
        }
    }
    HostParams { params, state }
}
