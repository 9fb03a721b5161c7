//! The YAML front-end of the model: the `model:` section as written ([`ModelSpec`]), its
//! compilation into the model IR ([`build`] → [`Graph`]), weights initialized on the host
//! from the seed (so the same seed gives the same weights on every adapter), and weights in
//! and out as safetensors. No GPU code here: `train::plan` compiles a graph into dispatches.

mod build;
mod init;
mod output;
mod spec;
pub mod weights;

pub use build::{build, DataShape};
pub use init::{init_params, HostParams, HostTensor};
pub use output::check_output;
pub use spec::{Init, LayerSpec, ModelInput, ModelSpec, LAYER_NAMES};

pub use crate::graph::{
    Graph, Image, Node, NodeId, Op, ParamInfo, ParamRole, PoolKind, Shape, TensorId,
};
