//! The conv2d kernels (forward, input gradient, weight gradient as training runs it) on one
//! layer shape, against the FMA probe.

use serde::Serialize;

use super::timing::seconds_per_launch;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, TensorUsage};
use crate::kernels::ConvVariant;
use crate::rng::SplitMix64;
use crate::train::conv;

/// The conv2d kernels on one layer shape: GFLOP/s (2 flops per multiply-add, taps in the
/// padding not counted) and the fraction of the FMA probe's peak.
#[derive(Clone, Debug, Serialize)]
pub struct ConvFigure {
    /// `batch×in×h×w → out, k×k, stride s, padding p`.
    pub shape: String,
    pub variant: ConvVariant,
    /// The kernels this adapter's plans use.
    pub chosen: bool,
    pub forward_gflops: f64,
    pub backward_input_gflops: f64,
    pub backward_weight_gflops: f64,
    pub forward_fraction_of_fma: f64,
    pub backward_input_fraction_of_fma: f64,
    pub backward_weight_fraction_of_fma: f64,
}

/// The three conv2d kernels of `variant` on `c`, each timed alone (best of `reps`).
pub(super) fn conv_figure(
    gpu: &Gpu,
    variant: ConvVariant,
    c: &crate::reference::conv::Conv2d,
    fma: f64,
    reps: usize,
) -> Result<ConvFigure> {
    let params = crate::kernels::Conv2dParams::of(c)
        .ok_or_else(|| crate::Error::Usage(format!("bench: conv2d kernel does not fit {c:?}")))?;
    let mut rng = SplitMix64::new(c.input_len() as u64);
    let mut values =
        |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform_in(-1.0, 1.0) as f32).collect() };
    let x = gpu.tensor_from("bench.conv.x", &values(c.input_len()))?;
    let w = gpu.tensor_from("bench.conv.w", &values(c.weight_len()))?;
    let b = gpu.tensor_from("bench.conv.b", &values(c.out_channels))?;
    let dy = gpu.tensor_from("bench.conv.dy", &values(c.output_len()))?;
    let y = gpu.tensor("bench.conv.y", c.output_len(), TensorUsage::Storage)?;
    let dx = gpu.tensor("bench.conv.dx", c.input_len(), TensorUsage::Storage)?;
    let dw = gpu.tensor("bench.conv.dw", c.weight_len(), TensorUsage::Storage)?;
    let db = gpu.tensor("bench.conv.db", c.out_channels, TensorUsage::Storage)?;
    let u = gpu.uniform("bench.conv", &params)?;
    let f = conv::forward(
        gpu,
        variant,
        &params,
        &u,
        [&x.buffer, &w.buffer, &b.buffer, &y.buffer],
    )?;
    let bi = conv::input_gradient(
        gpu,
        variant,
        &params,
        &u,
        [&dy.buffer, &w.buffer, &dx.buffer],
    )?;
    // As training runs it: split into partial gradients and summed.
    let bw = conv::weight_gradient(
        gpu,
        variant,
        "bench.conv.dw",
        &params,
        &u,
        [&x.buffer, &dy.buffer, &dw.buffer, &db.buffer],
    )?;
    // Multiply-adds each kernel performs (taps in the padding skipped): the same for all three.
    let flops = 2.0 * c.taps() as f64;
    let rate = |d: &[Dispatch]| -> Result<f64> {
        let t = seconds_per_launch(gpu, d, reps)?;
        Ok(flops / t / 1e9)
    };
    let (fr, bir, bwr) = (
        rate(std::slice::from_ref(&f))?,
        rate(std::slice::from_ref(&bi))?,
        rate(&bw)?,
    );
    Ok(ConvFigure {
        shape: format!(
            "{}×{}×{}×{} → {}, {}×{}, stride {}, padding {}",
            c.batch,
            c.in_channels,
            c.height,
            c.width,
            c.out_channels,
            c.kernel[0],
            c.kernel[1],
            c.stride,
            c.padding
        ),
        variant,
        chosen: variant == gpu.conv_variant(),
        forward_gflops: fr,
        backward_input_gflops: bir,
        backward_weight_gflops: bwr,
        forward_fraction_of_fma: fr / fma,
        backward_input_fraction_of_fma: bir / fma,
        backward_weight_fraction_of_fma: bwr / fma,
    })
}
