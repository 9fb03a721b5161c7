//! Host-side weight initialization from the seed. Each weight draws from its own SplitMix64
//! stream (a top-level layer's index, or a hash of a nested tensor's name: see
//! `model::build`), in row-major order, so results do not depend on the adapter, and adding
//! a layer leaves the others' initial weights unchanged.

use crate::graph::{Graph, ParamInit};
use crate::rng::SplitMix64;

/// A named host tensor (f32, row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Initial values of every trainable tensor (in `Graph::params` order) and of the batch-norm
/// running statistics (`Graph::state` order: `layers.{i}.running_mean`, `.running_var`).
#[derive(Clone, Debug, PartialEq)]
pub struct HostParams {
    pub params: Vec<HostTensor>,
    pub state: Vec<HostTensor>,
}

/// `n` values of `init` drawn with `seed`.
fn draw(init: &ParamInit, n: usize, seed: u64) -> Vec<f32> {
    match *init {
        ParamInit::Values(ref v) => v.to_vec(),
        ParamInit::Constant(v) => vec![v as f32; n],
        ParamInit::Uniform { low, high, stream } => {
            let mut rng = SplitMix64::stream(seed, stream);
            (0..n).map(|_| rng.uniform_in(low, high) as f32).collect()
        }
        ParamInit::Normal { std, stream } => {
            let mut rng = SplitMix64::stream(seed, stream);
            (0..n).map(|_| (std * rng.normal()) as f32).collect()
        }
    }
}

/// Initial parameters for `graph` from `seed`.
pub fn init_params(graph: &Graph, seed: u64) -> HostParams {
    let params = graph
        .params
        .iter()
        .map(|p| HostTensor {
            name: p.name.clone(),
            shape: p.shape.clone(),
            data: draw(&p.init, p.len(), seed),
        })
        .collect();
    let state = graph
        .state
        .iter()
        .map(|s| HostTensor {
            name: s.name.clone(),
            shape: s.shape.clone(),
            data: match &s.values {
                Some(v) => v.to_vec(),
                None => vec![s.fill; s.shape.iter().product()],
            },
        })
        .collect();
    HostParams { params, state }
}
