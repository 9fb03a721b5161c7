//! The operations netdx implements, named once: the GPU kernels, the f64 reference and the
//! YAML config all refer to these enums, so a kind cannot mean one thing in a shader and
//! another in the reference.

use serde::{Deserialize, Serialize};

/// Elementwise activations. `code` is the value of the shaders' `ACT` override constant for
/// the built-ins; `User` is an activation from a user's WGSL file (`kernels::user`), by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Identity,
    Relu,
    LeakyRelu,
    Tanh,
    Sigmoid,
    /// The exact erf form.
    Gelu,
    /// The tanh approximation.
    GeluTanh,
    #[serde(skip)]
    User(u32),
}

/// Built-ins by name; a user activation as its spec and the hash of its text
/// (`{wgsl: {file, params, …}, hash}`), so that a run record says which file, which version.
impl Serialize for Activation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Activation::User(id) => {
                let u = crate::kernels::user::get(*id);
                let mut m = std::collections::BTreeMap::new();
                m.insert("wgsl", serde_json::to_value(&u.spec).unwrap_or_default());
                m.insert("hash", serde_json::Value::String(u.hash.clone()));
                m.serialize(s)
            }
            builtin => s.serialize_str(builtin.name()),
        }
    }
}

impl Activation {
    pub const ALL: [Activation; 7] = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu,
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::GeluTanh,
    ];

    /// The `ACT` constant of the built-in kernels (user activations have kernels of their own).
    pub fn code(self) -> u32 {
        match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::LeakyRelu => 2,
            Activation::Tanh => 3,
            Activation::Sigmoid => 4,
            Activation::Gelu => 5,
            Activation::GeluTanh => 6,
            Activation::User(_) => u32::MAX,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Activation::Identity => "identity",
            Activation::Relu => "relu",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::User(id) => crate::kernels::user::get(id).name,
        }
    }

    pub fn from_name(s: &str) -> Option<Activation> {
        Activation::ALL.into_iter().find(|a| a.name() == s)
    }
}

/// Losses, each fused with its gradient. `code` is the shader's `LOSS` override constant for
/// the built-ins; `User` is a loss from a user's WGSL file (`kernels::user_loss`), by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    SoftmaxCrossEntropy,
    BinaryCrossEntropy,
    Mse,
    Focal,
    #[serde(skip)]
    User(u32),
}

/// Built-ins by name; a user loss as its spec and the hash of its text.
impl Serialize for LossKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            LossKind::User(id) => {
                let u = crate::kernels::user_loss::get(*id);
                let mut m = std::collections::BTreeMap::new();
                m.insert("wgsl", serde_json::to_value(&u.spec).unwrap_or_default());
                m.insert("hash", serde_json::Value::String(u.hash.clone()));
                return m.serialize(s);
            }
            builtin => builtin.name(),
        };
        s.serialize_str(name)
    }
}

impl LossKind {
    /// The config name of a built-in; a user loss's file stem.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::SoftmaxCrossEntropy => "softmax_cross_entropy",
            LossKind::BinaryCrossEntropy => "binary_cross_entropy",
            LossKind::Mse => "mse",
            LossKind::Focal => "focal",
            LossKind::User(id) => crate::kernels::user_loss::get(id).name,
        }
    }

    /// The `LOSS` constant of the built-in loss kernel (user losses have kernels of their own).
    pub fn code(self) -> u32 {
        match self {
            LossKind::SoftmaxCrossEntropy => 0,
            LossKind::BinaryCrossEntropy => 1,
            LossKind::Mse => 2,
            LossKind::Focal => 3,
            LossKind::User(_) => u32::MAX,
        }
    }

    /// Whether targets are class indices (and accuracy is argmax agreement).
    pub fn is_classification(self) -> bool {
        match self {
            LossKind::Mse => false,
            LossKind::User(id) => crate::kernels::user_loss::get(id).classes(),
            _ => true,
        }
    }
}

/// Optimizers. `code` is the shader's `OPT` override constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Sgd,
    Momentum,
    Nesterov,
    Adam,
    Adamw,
}

impl OptimizerKind {
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn uses_second_moment(self) -> bool {
        matches!(self, OptimizerKind::Adam | OptimizerKind::Adamw)
    }
}
