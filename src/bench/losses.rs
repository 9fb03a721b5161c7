//! The loss kernels (built-in softmax cross-entropy and the shipped user loss) over a batch of
//! logits, against the copy probe.

use serde::Serialize;

use super::timing::seconds_per_launch;
use crate::error::Result;
use crate::gpu::{Gpu, TensorUsage};
use crate::ops::LossKind;
use crate::rng::SplitMix64;

/// One loss kernel over a batch of logits (one workgroup, as in training).
#[derive(Clone, Debug, Serialize)]
pub struct LossFigure {
    pub loss: String,
    pub user_kernel: bool,
    pub batch: usize,
    pub width: usize,
    pub microseconds: f64,
    /// Reads logits and targets, writes the logit gradient.
    pub gbytes_per_second: f64,
    pub fraction_of_copy: f64,
}

/// The loss kernel of `kind` over `batch` × `width` logits, through the dispatch path training
/// uses (`kernels::loss_kernel`).
pub(super) fn loss_figure(
    gpu: &Gpu,
    kind: LossKind,
    label: String,
    batch: usize,
    width: usize,
    copy: f64,
    reps: usize,
) -> Result<LossFigure> {
    let (kernel, constants) = crate::kernels::loss_kernel(kind, false);
    let mut rng = SplitMix64::new((batch * width) as u64);
    let logits: Vec<f32> = (0..batch * width)
        .map(|_| rng.uniform_in(-4.0, 4.0) as f32)
        .collect();
    let targets: Vec<f32> = (0..batch).map(|_| rng.below(width) as f32).collect();
    let u = gpu.uniform(
        "bench.loss",
        &crate::kernels::LossParams {
            batch: batch as u32,
            width: width as u32,
            out_slot: 0,
            _pad0: 0,
            gamma: 2.0,
            alpha: 1.0,
            _pad1: [0.0; 2],
        },
    )?;
    let lt = gpu.tensor_from("bench.logits", &logits)?;
    let tt = gpu.tensor_from("bench.targets", &targets)?;
    let wt = gpu.tensor_from("bench.class_weights", &[1.0f32])?;
    let dl = gpu.tensor("bench.dlogits", batch * width, TensorUsage::Storage)?;
    let st = gpu.tensor("bench.stats", 3, TensorUsage::Storage)?;
    let d = gpu.dispatch(
        kernel,
        &constants,
        &[
            &u, &lt.buffer, &tt.buffer, &wt.buffer, &dl.buffer, &st.buffer,
        ],
        [1, 1, 1],
    )?;
    let t = seconds_per_launch(gpu, std::slice::from_ref(&d), reps)?;
    let bytes = (4 * (2 * batch * width + batch)) as f64;
    let rate = bytes / t / 1e9;
    Ok(LossFigure {
        loss: label,
        user_kernel: matches!(kind, LossKind::User(_)),
        batch,
        width,
        microseconds: t * 1e6,
        gbytes_per_second: rate,
        fraction_of_copy: rate / copy,
    })
}

/// The user loss that ships with netdx (label-smoothed cross-entropy), measured beside the
/// built-in softmax cross-entropy.
pub(super) const SHIPPED_SMOOTHED_CE: &str =
    include_str!("../../configs/kernels/smoothed_cross_entropy.wgsl");
