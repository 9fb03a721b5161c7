//! The dispatches of a conv2d layer: its forward, input gradient, and weight and bias
//! gradients, by the device's conv2d kernels (`Gpu::conv_variant`) or a given family (the bench
//! and the tests run each). The weight gradient is split over the batch's rows into partial
//! gradients where one run over the whole batch would leave the device idle (see
//! shaders/conv2d_backward_weight.wgsl), then summed in a fixed order.

use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, TensorUsage};
use crate::kernels::{Conv2dParams, ConvGroups, ConvPass, ConvVariant};

use super::column_sums::column_sums;

/// One launch of `pass` by `variant` on `buffers` (the pass's bindings after the uniform `u`).
/// A GEMM launch wider than the adapter's workgroup counts runs the direct kernel instead.
fn launch(
    gpu: &Gpu,
    variant: ConvVariant,
    pass: ConvPass,
    params: &Conv2dParams,
    u: &wgpu::Buffer,
    buffers: &[&wgpu::Buffer],
) -> Result<Dispatch> {
    let mut l = variant.launch(pass, params);
    let most = gpu.limits().max_compute_workgroups_per_dimension;
    if matches!(l.groups, ConvGroups::Workgroups(g) if g.iter().any(|&n| n > most)) {
        l = ConvVariant::Direct.launch(pass, params);
    }
    let groups = match l.groups {
        ConvGroups::Invocations(n) => gpu.groups_1d(l.kernel, n),
        ConvGroups::Workgroups(g) => g,
    };
    let mut all = vec![u];
    all.extend_from_slice(buffers);
    gpu.dispatch(l.kernel, &l.constants, &all, groups)
}

/// y = conv2d(x, w) + b.
pub fn forward(
    gpu: &Gpu,
    variant: ConvVariant,
    params: &Conv2dParams,
    u: &wgpu::Buffer,
    [x, w, b, y]: [&wgpu::Buffer; 4],
) -> Result<Dispatch> {
    launch(gpu, variant, ConvPass::Forward, params, u, &[x, w, b, y])
}

/// dx from the output gradient `dy` and the weights `w`.
pub fn input_gradient(
    gpu: &Gpu,
    variant: ConvVariant,
    params: &Conv2dParams,
    u: &wgpu::Buffer,
    [dy, w, dx]: [&wgpu::Buffer; 3],
) -> Result<Dispatch> {
    launch(
        gpu,
        variant,
        ConvPass::BackwardInput,
        params,
        u,
        &[dy, w, dx],
    )
}

/// `dw` and `db` of the conv2d described by `params` (its uniform `u`), from its input `x` and
/// output gradient `dy`. `name` labels the scratch buffers of the partial gradients.
pub fn weight_gradient(
    gpu: &Gpu,
    variant: ConvVariant,
    name: &str,
    params: &Conv2dParams,
    u: &wgpu::Buffer,
    [x, dy, dw, db]: [&wgpu::Buffer; 4],
) -> Result<Vec<Dispatch>> {
    let pass = ConvPass::BackwardWeight;
    if params.splits <= 1 {
        return Ok(vec![launch(
            gpu,
            variant,
            pass,
            params,
            u,
            &[x, dy, dw, db],
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
    let parts = [x, dy, &dw_parts.buffer, &db_parts.buffer];
    let mut d = vec![launch(gpu, variant, pass, params, u, &parts)?];
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
