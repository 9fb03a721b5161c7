//! The dispatches of a conv2d layer's weight and bias gradients: split over the batch's rows
//! into partial gradients where one run over the whole batch would leave the device idle
//! (see shaders/conv2d_backward_weight.wgsl), then summed in a fixed order.

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, TensorUsage};
use crate::kernels::{Conv2dParams, CONV2D_BACKWARD_WEIGHT};

use super::column_sums::column_sums;

/// `dw` and `db` of the conv2d described by `params` (its uniform `u`), from its input `x` and
/// output gradient `dy`. `name` labels the scratch buffers of the partial gradients.
pub fn weight_gradient(
    gpu: &Gpu,
    name: &str,
    params: &Conv2dParams,
    u: &wgpu::Buffer,
    [x, dy, dw, db]: [&wgpu::Buffer; 4],
) -> Result<Vec<Dispatch>> {
    let groups = gpu.groups_1d(
        &CONV2D_BACKWARD_WEIGHT,
        params.backward_weight_invocations(),
    );
    if params.splits <= 1 {
        return Ok(vec![gpu.dispatch(
            &CONV2D_BACKWARD_WEIGHT,
            &params.constants(),
            &[u, x, dy, dw, db],
            groups,
        )?]);
    }
    let splits = params.splits as usize;
    let (weights, channels) = (params.weight_len(), params.out_channels as usize);
    let dw_parts = gpu.tensor(
        &format!("{name} (weight-gradient partials)"),
        splits * weights,
        TensorUsage::Storage,
    )?;
    let db_parts = gpu.tensor(
        &format!("{name} (bias-gradient partials)"),
        splits * channels,
        TensorUsage::Storage,
    )?;
    let mut d = vec![gpu.dispatch(
        &CONV2D_BACKWARD_WEIGHT,
        &params.constants(),
        &[u, x, dy, &dw_parts.buffer, &db_parts.buffer],
        groups,
    )?];
    for (parts, out, cols) in [(&dw_parts, dw, weights), (&db_parts, db, channels)] {
        d.extend(column_sums(
            gpu,
            &parts.name,
            (splits, cols),
            &parts.buffer,
            out,
        )?);
    }
    Ok(d)
}
