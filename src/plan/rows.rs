//! The dispatches of the row kernels of sequence models (layer norm and softmax, one
//! invocation per row): each kernel's buffers bound in its shader's order in one place, for
//! the plan and for the bench that measures them.

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu};
use crate::kernels::{LAYER_NORM_BACKWARD, LAYER_NORM_FORWARD, SOFTMAX_BACKWARD, SOFTMAX_FORWARD};

/// Layer norm of `rows` rows: y, and the mean and 1/std of each row that the backward reads.
pub fn layer_norm_forward(
    gpu: &Gpu,
    u: &wgpu::Buffer,
    [x, gamma, beta, y, mean, invstd]: [&wgpu::Buffer; 6],
    rows: usize,
) -> Result<Dispatch> {
    gpu.dispatch(
        &LAYER_NORM_FORWARD,
        &[],
        &[u, x, gamma, beta, y, mean, invstd],
        gpu.groups_1d(&LAYER_NORM_FORWARD, rows),
    )
}

/// The input gradient dx of [`layer_norm_forward`], and dy·x̂ for γ's gradient.
pub fn layer_norm_backward(
    gpu: &Gpu,
    u: &wgpu::Buffer,
    [x, gamma, mean, invstd, dy, dx, dy_xhat]: [&wgpu::Buffer; 7],
    rows: usize,
) -> Result<Dispatch> {
    gpu.dispatch(
        &LAYER_NORM_BACKWARD,
        &[],
        &[u, x, gamma, mean, invstd, dy, dx, dy_xhat],
        gpu.groups_1d(&LAYER_NORM_BACKWARD, rows),
    )
}

/// Softmax of `rows` rows (scaled and masked as the uniform `u` says).
pub fn softmax_forward(
    gpu: &Gpu,
    u: &wgpu::Buffer,
    [x, y]: [&wgpu::Buffer; 2],
    rows: usize,
) -> Result<Dispatch> {
    gpu.dispatch(
        &SOFTMAX_FORWARD,
        &[],
        &[u, x, y],
        gpu.groups_1d(&SOFTMAX_FORWARD, rows),
    )
}

/// The input gradient of [`softmax_forward`] from its output y.
pub fn softmax_backward(
    gpu: &Gpu,
    u: &wgpu::Buffer,
    [y, dy, dx]: [&wgpu::Buffer; 3],
    rows: usize,
) -> Result<Dispatch> {
    gpu.dispatch(
        &SOFTMAX_BACKWARD,
        &[],
        &[u, y, dy, dx],
        gpu.groups_1d(&SOFTMAX_BACKWARD, rows),
    )
}
