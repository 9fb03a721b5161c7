//! The activation kernels (built-in, the shipped swish, and user WGSL files), elementwise and
//! memory-bound: bytes moved per second against the copy probe.

use serde::Serialize;

use super::timing::seconds_per_launch;
use crate::error::Result;
use crate::gpu::{Gpu, TensorUsage};
use crate::ops::Activation;
use crate::rng::SplitMix64;

/// One activation's forward and backward kernels, elementwise and memory-bound: bytes moved
/// per second against the copy probe's.
#[derive(Clone, Debug, Serialize)]
pub struct ActivationFigure {
    /// `relu`, `gelu`, … or a user kernel's file.
    pub activation: String,
    pub user_kernel: bool,
    pub elements: usize,
    /// Reads x, writes y: 8 bytes per element.
    pub forward_gbytes_per_second: f64,
    /// Reads x, y and dy, writes dx: 16 bytes per element.
    pub backward_gbytes_per_second: f64,
    pub forward_fraction_of_copy: f64,
    pub backward_fraction_of_copy: f64,
}

/// Forward and backward of `kind` over `n` elements, through the same dispatch path training
/// uses (`kernels::activation_kernels`).
pub(super) fn activation_figure(
    gpu: &Gpu,
    kind: Activation,
    label: String,
    n: usize,
    copy: f64,
    reps: usize,
) -> Result<ActivationFigure> {
    let k = crate::kernels::activation_kernels(kind);
    let mut rng = SplitMix64::new(n as u64);
    let x: Vec<f32> = (0..n).map(|_| rng.uniform_in(-4.0, 4.0) as f32).collect();
    let xt = gpu.tensor_from("bench.x", &x)?;
    let yt = gpu.tensor("bench.y", n, TensorUsage::Storage)?;
    let dyt = gpu.tensor_from("bench.dy", &x)?;
    let dxt = gpu.tensor("bench.dx", n, TensorUsage::Storage)?;
    let u = gpu.uniform(
        "bench.activation",
        &crate::kernels::ActivationParams {
            n: n as u32,
            slope: 0.01,
            ..Default::default()
        },
    )?;
    let f = gpu.dispatch(
        k.forward,
        &k.constants,
        &[&u, &xt.buffer, &yt.buffer],
        gpu.groups_1d(k.forward, k.invocations(n)),
    )?;
    let b = gpu.dispatch(
        k.backward,
        &k.constants,
        &[&u, &xt.buffer, &yt.buffer, &dyt.buffer, &dxt.buffer],
        gpu.groups_1d(k.backward, k.invocations(n)),
    )?;
    let tf = seconds_per_launch(gpu, std::slice::from_ref(&f), reps)?;
    let tb = seconds_per_launch(gpu, std::slice::from_ref(&b), reps)?;
    let (fwd, bwd) = (8.0 * n as f64 / tf / 1e9, 16.0 * n as f64 / tb / 1e9);
    Ok(ActivationFigure {
        activation: label,
        user_kernel: matches!(kind, Activation::User(_)),
        elements: n,
        forward_gbytes_per_second: fwd,
        backward_gbytes_per_second: bwd,
        forward_fraction_of_copy: fwd / copy,
        backward_fraction_of_copy: bwd / copy,
    })
}

/// The user kernel that ships with netdx (configs/kernels/swish.wgsl), measured by default
/// beside the built-ins.
const SHIPPED_SWISH: &str = include_str!("../../configs/kernels/swish.wgsl");

/// Every activation to measure: two built-ins, the shipped swish, and `user_kernels`.
pub(super) fn activations_to_measure(
    user_kernels: &[std::path::PathBuf],
) -> Result<Vec<(Activation, String)>> {
    let mut out = vec![
        (Activation::Relu, "relu".to_string()),
        (Activation::Gelu, "gelu".to_string()),
    ];
    let spec = |file: std::path::PathBuf| crate::kernels::user::UserActivationSpec {
        file,
        params: Default::default(),
        kinks: Vec::new(),
        range: crate::kernels::user::DEFAULT_RANGE,
    };
    let shipped = std::path::PathBuf::from("configs/kernels/swish.wgsl");
    let id = crate::kernels::user::load_text(
        spec(shipped.clone()),
        &shipped,
        SHIPPED_SWISH.to_string(),
    )?;
    out.push((Activation::User(id), "swish.wgsl (shipped)".to_string()));
    for file in user_kernels {
        let id = crate::kernels::user::load(spec(file.clone()), std::path::Path::new("."))?;
        out.push((Activation::User(id), file.display().to_string()));
    }
    Ok(out)
}
