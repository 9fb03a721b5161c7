//! `netdx bench`: the adapter's own peaks (a register-only FMA probe and a vec4 copy probe),
//! matmul against the roofline those peaks imply, the activation, loss, conv2d and attention
//! kernels against those peaks, and training steps per second (MLP, CNN, transformer) with and
//! without full instrumentation — all measured in one run on one adapter, reported as ratios.
//! Kernel times are wall clock around completed submissions (best of several repetitions), each
//! submission holding enough back-to-back launches of the kernel to last
//! [`timing::MIN_TIMED_SECONDS`], so that a fast GPU is timed by its kernels, not by the cost of
//! one submission and wait. Per-kernel shares of a training step use timestamp queries where the
//! adapter has them.
//!
//! One module per job: `timing` (how anything is timed), `probes` (the roofline), `matmul`,
//! `activations`, `losses`, `conv`, `attention` (kernel figures), `workloads` (the models
//! trained), `steps` and `sustained` (training-step figures), `onnx` (an imported model's
//! import time and steps, `--onnx`), `report` (text and JSON); this file only runs them in order. Nothing here changes a plan or a kernel: it measures them.

mod activations;
mod attention;
mod conv;
mod losses;
mod matmul;
mod onnx;
mod probes;
mod report;
mod steps;
mod sustained;
mod timing;
mod workloads;

pub use activations::ActivationFigure;
pub use attention::AttentionFigure;
pub use conv::ConvFigure;
pub use losses::LossFigure;
pub use matmul::MatmulFigure;
pub use onnx::{onnx_figure, OnnxFigure};
pub use report::BenchReport;
pub use steps::{KernelTime, StepFigure, TransformerStepFigure, PROFILED_PAIRS, TRACK_EVERY};
pub use sustained::SustainedFigure;
pub use workloads::{
    cnn_config, mlp_config, transformer_config, TRANSFORMER_BATCH, TRANSFORMER_CONTEXT,
    TRANSFORMER_HEADS, TRANSFORMER_WIDTH,
};

use crate::error::Result;
use crate::gpu::Gpu;
use crate::ops::LossKind;

use activations::{activation_figure, activations_to_measure};
use attention::attention_figure;
use conv::conv_figure;
use losses::{loss_figure, SHIPPED_SMOOTHED_CE};
use matmul::matmul_figure;
use probes::{copy_bandwidth, fma_peak};
use steps::step_figures;
use sustained::sustained;
use timing::{is_software, size_factor};

/// Runs every measurement, reporting progress lines through `log`; `user_kernels` are WGSL
/// activation files measured beside the built-ins.
pub fn run(
    gpu: &Gpu,
    quick: bool,
    user_kernels: &[std::path::PathBuf],
    log: &mut dyn FnMut(&str),
) -> Result<BenchReport> {
    let kinds = activations_to_measure(user_kernels)?;
    log(&format!("bench on {}", gpu.describe()));
    let fma = fma_peak(gpu, quick)?;
    log(&format!("FMA probe: {fma:.1} GFLOP/s"));
    let copy = copy_bandwidth(gpu, quick)?;
    log(&format!("copy probe: {copy:.2} GB/s"));
    let sizes: &[usize] = match (quick, is_software(gpu)) {
        (true, _) => &[256, 512],
        (false, true) => &[256, 512, 1024],
        // Sizes that fill a GPU, beside the ones the targets name.
        (false, false) => &[256, 512, 1024, 2048, 4096],
    };
    log(&format!(
        "matmul kernel for this adapter: {}",
        gpu.matmul_variant().name()
    ));
    let mut matmul = Vec::new();
    for &n in sizes {
        for &variant in gpu.matmul_variants() {
            let f = matmul_figure(gpu, variant, n, (fma, copy), if quick { 2 } else { 3 })?;
            log(&format!(
                "matmul n = {n} {}: {:.2} GFLOP/s",
                variant.name(),
                f.gflops
            ));
            matmul.push(f);
        }
    }
    let mut activations = Vec::new();
    let elements = size_factor(gpu).min(4) * if quick { 1 << 20 } else { 1 << 22 };
    for (kind, label) in kinds {
        let f = activation_figure(gpu, kind, label, elements, copy, if quick { 2 } else { 3 })?;
        log(&format!(
            "{}: forward {:.2} GB/s, backward {:.2} GB/s",
            f.activation, f.forward_gbytes_per_second, f.backward_gbytes_per_second
        ));
        activations.push(f);
    }
    let mut losses = Vec::new();
    let shipped = std::path::PathBuf::from("configs/kernels/smoothed_cross_entropy.wgsl");
    let user_loss = crate::kernels::user_loss::load_text(
        crate::kernels::user_loss::UserLossSpec::from_file(shipped.clone()),
        &shipped,
        SHIPPED_SMOOTHED_CE.to_string(),
    )?;
    for (kind, label) in [
        (
            LossKind::SoftmaxCrossEntropy,
            "softmax_cross_entropy".to_string(),
        ),
        (
            LossKind::User(user_loss),
            "smoothed_cross_entropy.wgsl (shipped)".to_string(),
        ),
    ] {
        let f = loss_figure(gpu, kind, label, 1024, 10, copy, if quick { 2 } else { 3 })?;
        log(&format!("loss {}: {:.1} µs", f.loss, f.microseconds));
        losses.push(f);
    }
    let mut conv2d = Vec::new();
    // A small CNN's second layer on MNIST-sized maps.
    let conv = crate::reference::conv::Conv2d {
        batch: if quick { 8 } else { 32 },
        in_channels: 16,
        out_channels: 32,
        height: 14,
        width: 14,
        kernel: [3, 3],
        stride: 1,
        padding: 1,
        dilation: 1,
    };
    for &variant in gpu.conv_variants() {
        let f = conv_figure(gpu, variant, &conv, fma, if quick { 2 } else { 3 })?;
        log(&format!(
            "conv2d {} ({}): forward {:.2} GFLOP/s",
            f.shape,
            variant.name(),
            f.forward_gflops
        ));
        conv2d.push(f);
    }
    // The benchmark transformer's attention path, at the shape its step trains.
    let f = attention_figure(
        gpu,
        (
            TRANSFORMER_BATCH,
            TRANSFORMER_CONTEXT,
            TRANSFORMER_HEADS,
            TRANSFORMER_WIDTH,
        ),
        (fma, copy),
        if quick { 2 } else { 3 },
    )?;
    log(&format!(
        "attention {}: Q·Kᵀ {:.2} GFLOP/s, softmax forward {:.2} GB/s, layer norm forward {:.2} GB/s",
        f.shape,
        f.scores_gflops,
        f.softmax_forward_gbytes_per_second,
        f.layer_norm_forward_gbytes_per_second
    ));
    let attention = vec![f];
    let mlp_runs: &[(usize, usize)] = if quick {
        &[(128, 10)]
    } else {
        &[(128, 40), (1024, 8)]
    };
    let mlp = step_figures(gpu, "MLP", mlp_runs, |b, s| Ok(mlp_config(b, s)), log)?;
    let cnn_runs: &[(usize, usize)] = if quick {
        &[(32, 5)]
    } else {
        &[(32, 20), (128, 6)]
    };
    let cnn = step_figures(gpu, "CNN", cnn_runs, cnn_config, log)?;
    // Blocks of at least TRACK_EVERY steps in 4 rounds: --quick runs that least.
    let transformer_runs: &[(usize, usize)] = if quick {
        &[(TRANSFORMER_BATCH, 10)]
    } else {
        &[(TRANSFORMER_BATCH, 80)]
    };
    let transformer: Vec<TransformerStepFigure> = step_figures(
        gpu,
        "transformer",
        transformer_runs,
        transformer_config,
        log,
    )?
    .into_iter()
    .map(|f| TransformerStepFigure::new(f, TRANSFORMER_CONTEXT))
    .collect();
    for f in &transformer {
        log(&format!(
            "transformer batch {}: {:.0} tokens/s bare, {:.0} instrumented",
            f.step.batch, f.bare_tokens_per_second, f.instrumented_tokens_per_second
        ));
    }
    let steps = if quick { 100 } else { 1000 };
    let sustained = sustained(gpu, 128, steps)?;
    log(&format!(
        "sustained MLP batch 128, {steps} steps: last tenth / first {:.3}",
        sustained.last_over_first
    ));
    let info = gpu.info();
    Ok(BenchReport {
        adapter: info.name.clone(),
        backend: format!("{:?}", info.backend).to_lowercase(),
        driver: format!("{} {}", info.driver, info.driver_info),
        device_type: format!("{:?}", info.device_type),
        matmul_variant: gpu.matmul_variant(),
        conv_variant: gpu.conv_variant(),
        fma_gflops: fma,
        copy_gbytes_per_second: copy,
        matmul,
        activations,
        losses,
        conv2d,
        attention,
        mlp,
        cnn,
        transformer,
        sustained,
    })
}
