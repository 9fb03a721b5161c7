//! The adapter's own peaks, which every other figure is read against (its roofline): a
//! register-only FMA probe (GFLOP/s) and a vec4 copy probe (GB/s read + written).

use std::time::Instant;

use super::timing::{seconds_per_launch, size_factor};
use crate::error::Result;
use crate::gpu::{Gpu, TensorUsage};
use crate::kernels::{ProbeParams, COPY_PROBE, FMA_PROBE};

/// GFLOP/s of the FMA probe (64 FLOP per iteration and invocation), after half a second of
/// work.
pub(super) fn fma_peak(gpu: &Gpu, quick: bool) -> Result<f64> {
    let n = 64 * 1024 * size_factor(gpu);
    let iterations: u32 = if quick { 256 } else { 2048 };
    let out = gpu.tensor("fma_probe.out", n, TensorUsage::Storage)?;
    let u = gpu.uniform(
        "fma_probe",
        &ProbeParams {
            n: n as u32,
            iterations,
            _pad: [0; 2],
        },
    )?;
    let d = gpu.dispatch(
        &FMA_PROBE,
        &[],
        &[&u, &out.buffer],
        gpu.groups_1d(&FMA_PROBE, n),
    )?;
    // Busy first, so that a GPU's clocks (idle at a fraction of their peak) have ramped up for
    // this and every later figure.
    let busy = Instant::now();
    while busy.elapsed().as_secs_f64() < 0.5 {
        gpu.run(std::slice::from_ref(&d))?;
    }
    let t = seconds_per_launch(gpu, std::slice::from_ref(&d), 3)?;
    Ok(n as f64 * iterations as f64 * 64.0 / t / 1e9)
}

/// GB/s of the vec4 copy probe (16 bytes read and 16 written per vec4).
pub(super) fn copy_bandwidth(gpu: &Gpu, quick: bool) -> Result<f64> {
    let vec4s = size_factor(gpu) * if quick { 1 << 18 } else { 1 << 21 };
    let src = gpu.tensor("copy_probe.src", vec4s * 4, TensorUsage::Storage)?;
    let dst = gpu.tensor("copy_probe.dst", vec4s * 4, TensorUsage::Storage)?;
    let u = gpu.uniform(
        "copy_probe",
        &ProbeParams {
            n: vec4s as u32,
            iterations: 1,
            _pad: [0; 2],
        },
    )?;
    let d = gpu.dispatch(
        &COPY_PROBE,
        &[],
        &[&u, &src.buffer, &dst.buffer],
        gpu.groups_1d(&COPY_PROBE, vec4s),
    )?;
    let t = seconds_per_launch(gpu, std::slice::from_ref(&d), 3)?;
    Ok(vec4s as f64 * 32.0 / t / 1e9)
}
