//! Models: a sequence of layers from a spec, with shapes checked when the model is built and
//! weights initialized on the host from the seed, so the same seed gives the same weights on
//! every adapter. No GPU code here: `train::plan` turns a [`Model`] into buffers and dispatches.

mod init;
mod spec;
pub mod weights;

pub use init::{init_params, HostParams, HostTensor};
pub use spec::{Init, LayerSpec, ModelSpec, LAYER_NAMES};

use crate::error::{Error, Result};

/// What a parameter tensor is, which decides regularization and naming.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamRole {
    /// Linear weight `[out, in]`: L2 applies.
    Weight,
    /// Linear bias `[out]`.
    Bias,
    /// Batch-norm scale γ (named `weight` as in PyTorch; no L2).
    Gamma,
    /// Batch-norm shift β (named `bias`).
    Beta,
}

/// One trainable tensor of the model.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    /// PyTorch-style name: `layers.{i}.weight`, `layers.{i}.bias`.
    pub name: String,
    pub layer: usize,
    pub role: ParamRole,
    pub shape: Vec<usize>,
}

impl ParamInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the L2 penalty applies (weights of linear layers only).
    pub fn regularized(&self) -> bool {
        self.role == ParamRole::Weight
    }
}

/// A layer with its resolved widths.
#[derive(Clone, Debug)]
pub struct Layer {
    pub index: usize,
    pub spec: LayerSpec,
    pub input: usize,
    pub output: usize,
}

/// A model whose shapes have been checked.
#[derive(Clone, Debug)]
pub struct Model {
    pub input: usize,
    pub layers: Vec<Layer>,
}

impl Model {
    /// Resolves every layer's widths from the input width; a linear layer that declares its
    /// input width must agree with the layer before it.
    pub fn build(spec: &ModelSpec, input: usize) -> Result<Model> {
        if let Some(declared) = spec.input {
            if declared != input {
                return Err(Error::Shape {
                    layer: 0,
                    kind: "input".into(),
                    expected: declared,
                    found: input,
                });
            }
        }
        let mut width = input;
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (index, l) in spec.layers.iter().enumerate() {
            let output = match l {
                LayerSpec::Linear {
                    out,
                    input: declared,
                    ..
                } => {
                    if let Some(d) = declared {
                        if *d != width {
                            return Err(Error::Shape {
                                layer: index,
                                kind: "linear".into(),
                                expected: *d,
                                found: width,
                            });
                        }
                    }
                    *out
                }
                _ => width,
            };
            layers.push(Layer {
                index,
                spec: l.clone(),
                input: width,
                output,
            });
            width = output;
        }
        Ok(Model { input, layers })
    }

    pub fn output(&self) -> usize {
        self.layers.last().map_or(self.input, |l| l.output)
    }

    /// Trainable tensors in layer order (weight before bias).
    pub fn params(&self) -> Vec<ParamInfo> {
        let mut out = Vec::new();
        for l in &self.layers {
            let (a, b, shape_a) = match l.spec {
                LayerSpec::Linear { .. } => {
                    (ParamRole::Weight, ParamRole::Bias, vec![l.output, l.input])
                }
                LayerSpec::BatchNorm { .. } => (ParamRole::Gamma, ParamRole::Beta, vec![l.output]),
                _ => continue,
            };
            out.push(ParamInfo {
                name: format!("layers.{}.weight", l.index),
                layer: l.index,
                role: a,
                shape: shape_a,
            });
            out.push(ParamInfo {
                name: format!("layers.{}.bias", l.index),
                layer: l.index,
                role: b,
                shape: vec![l.output],
            });
        }
        out
    }

    /// Indices of the activation layers of the given kinds.
    pub fn activation_layers(&self, kinds: &[crate::ops::Activation]) -> Vec<usize> {
        self.layers
            .iter()
            .filter(
                |l| matches!(&l.spec, LayerSpec::Activation { kind, .. } if kinds.contains(kind)),
            )
            .map(|l| l.index)
            .collect()
    }

    /// Total number of trainable scalars.
    pub fn param_count(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }

    /// A short architecture string such as `2-64-relu-64-relu-3`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.input.to_string()];
        for l in &self.layers {
            parts.push(match &l.spec {
                LayerSpec::Linear { out, .. } => out.to_string(),
                LayerSpec::Activation { kind, .. } => kind.name().to_string(),
                LayerSpec::BatchNorm { .. } => "bn".into(),
                LayerSpec::Dropout { rate } => format!("dropout({rate})"),
            });
        }
        parts.join("-")
    }
}
