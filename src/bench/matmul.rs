//! Square matmul (`C = A·Bᵀ`, a linear layer's forward) by each kernel variant, against the
//! roofline min(FMA peak, arithmetic intensity × copy bandwidth).

use serde::Serialize;

use super::timing::seconds_per_launch;
use crate::error::Result;
use crate::gpu::{Gpu, TensorUsage};
use crate::kernels::MatmulVariant;
use crate::rng::SplitMix64;

#[derive(Clone, Debug, Serialize)]
pub struct MatmulFigure {
    pub n: usize,
    pub variant: MatmulVariant,
    /// The variant this adapter's plans use.
    pub chosen: bool,
    pub gflops: f64,
    pub roofline_gflops: f64,
    pub fraction_of_roofline: f64,
}

/// One n×n×n product by `variant`, best of `reps` timed submissions.
pub(super) fn matmul_figure(
    gpu: &Gpu,
    variant: MatmulVariant,
    n: usize,
    (fma, copy): (f64, f64),
    reps: usize,
) -> Result<MatmulFigure> {
    let mut rng = SplitMix64::new(n as u64);
    let data: Vec<f32> = (0..n * n)
        .map(|_| rng.uniform_in(-1.0, 1.0) as f32)
        .collect();
    let a = gpu.tensor_from("bench.a", &data)?;
    let b = gpu.tensor_from("bench.b", &data)?;
    let c = gpu.tensor("bench.c", n * n, TensorUsage::Storage)?;
    // The kernel the training plan uses for a linear layer's forward product, A·Bᵀ.
    let d = crate::plan::matmul_by(
        gpu,
        variant,
        (n, n, n),
        (false, true, false),
        [&a.buffer, &b.buffer, &a.buffer, &c.buffer],
    )?;
    let t = seconds_per_launch(gpu, std::slice::from_ref(&d), reps)?;
    let flops = 2.0 * (n as f64).powi(3);
    // Arithmetic intensity with each matrix moved once: 2n³ / (3·4·n²) FLOP per byte.
    let intensity = flops / (12.0 * (n * n) as f64);
    let roofline = fma.min(intensity * copy);
    let gflops = flops / t / 1e9;
    Ok(MatmulFigure {
        n,
        variant,
        chosen: variant == gpu.matmul_variant(),
        gflops,
        roofline_gflops: roofline,
        fraction_of_roofline: gflops / roofline,
    })
}
