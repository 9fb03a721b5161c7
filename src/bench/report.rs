//! The bench's report: every figure of one run, its terminal text, and (by `Serialize`) its
//! `--json` form, whose keys the README's Benchmarks section documents.

use serde::Serialize;

use super::{
    ActivationFigure, AttentionFigure, ConvFigure, LossFigure, MatmulFigure, StepFigure,
    SustainedFigure, TransformerStepFigure, TRACK_EVERY,
};
use crate::kernels::{ConvVariant, MatmulVariant};

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub adapter: String,
    pub backend: String,
    pub driver: String,
    /// `Cpu` for software adapters, `DiscreteGpu`, `IntegratedGpu`, …
    pub device_type: String,
    /// The matmul kernel this adapter's plans use.
    pub matmul_variant: MatmulVariant,
    /// The conv2d kernels this adapter's plans use.
    pub conv_variant: ConvVariant,
    pub fma_gflops: f64,
    pub copy_gbytes_per_second: f64,
    pub matmul: Vec<MatmulFigure>,
    pub activations: Vec<ActivationFigure>,
    pub losses: Vec<LossFigure>,
    pub conv2d: Vec<ConvFigure>,
    /// The benchmark transformer's attention, softmax and layer-norm kernels at its step's shape.
    pub attention: Vec<AttentionFigure>,
    pub mlp: Vec<StepFigure>,
    /// The small CNN of configs/mnist_cnn.yaml on 1×28×28 images.
    pub cnn: Vec<StepFigure>,
    /// The transformer of configs/transformer.yaml at context 64 (`copy` task of length 32).
    pub transformer: Vec<TransformerStepFigure>,
    pub sustained: SustainedFigure,
}

impl BenchReport {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "adapter: {} ({}, {}, {})\npeaks:   FMA probe {:.1} GFLOP/s, vec4 copy {:.2} GB/s\n",
            self.adapter,
            self.backend,
            self.device_type,
            self.driver,
            self.fma_gflops,
            self.copy_gbytes_per_second
        );
        s.push_str(&format!(
            "matmul (square, f32, C = A·Bᵀ as a linear layer's forward); every variant, this adapter uses `{}`:\n",
            self.matmul_variant.name()
        ));
        for m in &self.matmul {
            s.push_str(&format!(
                "  n = {:>4} {:<8}: {:9.2} GFLOP/s = {:5.1}% of roofline min(FMA, AI·copy) = {:.1} GFLOP/s{}\n",
                m.n,
                m.variant.name(),
                m.gflops,
                100.0 * m.fraction_of_roofline,
                m.roofline_gflops,
                if m.chosen { "  [used]" } else { "" }
            ));
        }
        if let Some(a) = self.activations.first() {
            s.push_str(&format!(
                "activations ({} elements, elementwise; bytes moved against the copy probe):\n",
                a.elements
            ));
        }
        for a in &self.activations {
            s.push_str(&format!(
                "  {:<24} forward {:6.2} GB/s ({:5.1}% of copy), backward {:6.2} GB/s ({:5.1}% of copy){}\n",
                a.activation,
                a.forward_gbytes_per_second,
                100.0 * a.forward_fraction_of_copy,
                a.backward_gbytes_per_second,
                100.0 * a.backward_fraction_of_copy,
                if a.user_kernel { "  [user kernel]" } else { "" }
            ));
        }
        if !self.losses.is_empty() {
            s.push_str("losses (one workgroup for the batch, as in training):\n");
        }
        for l in &self.losses {
            s.push_str(&format!(
                "  {:<24} batch {} × {}: {:8.1} µs, {:6.2} GB/s ({:5.1}% of copy){}\n",
                l.loss,
                l.batch,
                l.width,
                l.microseconds,
                l.gbytes_per_second,
                100.0 * l.fraction_of_copy,
                if l.user_kernel { "  [user kernel]" } else { "" }
            ));
        }
        if !self.conv2d.is_empty() {
            s.push_str("conv2d (the weight gradient split over the batch's rows and summed; fraction of the FMA probe; * = the kernels plans use):\n");
        }
        for c in &self.conv2d {
            s.push_str(&format!(
                "  {} {}{}: forward {:.2} GFLOP/s ({:.1}%), input gradient {:.2} ({:.1}%), weight gradient {:.2} ({:.1}%)\n",
                c.shape,
                c.variant.name(),
                if c.chosen { "*" } else { "" },
                c.forward_gflops,
                100.0 * c.forward_fraction_of_fma,
                c.backward_input_gflops,
                100.0 * c.backward_input_fraction_of_fma,
                c.backward_weight_gflops,
                100.0 * c.backward_weight_fraction_of_fma
            ));
        }
        for a in &self.attention {
            attention_lines(&mut s, a);
        }
        s.push_str("MLP 784-256-256-10, softmax cross-entropy, SGD, loss read back every step:\n");
        step_lines(&mut s, &self.mlp);
        if !self.cnn.is_empty() {
            s.push_str("CNN 1×28×28-conv3(8)-relu-maxpool2-conv3(16)-relu-maxpool2-flatten-10 (configs/mnist_cnn.yaml), SGD:\n");
            step_lines(&mut s, &self.cnn);
        }
        if let Some(f) = self.transformer.first() {
            s.push_str(&format!(
                "transformer 2 pre-LN layers, 4 causal heads, d = 64 (configs/transformer.yaml), copy task, context {}, AdamW:\n",
                f.context
            ));
        }
        for f in &self.transformer {
            step_lines(&mut s, std::slice::from_ref(&f.step));
            s.push_str(&format!(
                "    tokens/s: {:.0} bare, {:.0} fully instrumented, {:.0} instrumented every {}th step\n",
                f.bare_tokens_per_second,
                f.instrumented_tokens_per_second,
                f.scheduled_tokens_per_second,
                TRACK_EVERY
            ));
        }
        let f = &self.sustained;
        s.push_str(&format!(
            "sustained: MLP batch {}, {} fully instrumented steps: last tenth / first {:.3}, slowest tenth / fastest {:.3}, {} GPU objects created after the first step\n  steps/s by tenth:",
            f.batch, f.steps, f.last_over_first, f.min_over_max, f.objects_created
        ));
        for r in &f.steps_per_second_by_tenth {
            s.push_str(&format!(" {r:.1}"));
        }
        s.push('\n');
        s
    }
}

/// The attention kernels' figure: the two products, then the memory-bound kernels.
fn attention_lines(s: &mut String, a: &AttentionFigure) {
    s.push_str(&format!(
        "attention kernels ({}; products against the FMA probe and the roofline, the rest bytes read + written against the copy probe):\n",
        a.shape
    ));
    let (c, d) = (a.context, a.head_dim);
    for (what, us, rate, fma, roofline) in [
        (
            format!("Q·Kᵀ, {} × {c}×{d}·{d}×{c}", a.batch * a.heads),
            a.scores_microseconds,
            a.scores_gflops,
            a.scores_fraction_of_fma,
            a.scores_fraction_of_roofline,
        ),
        (
            format!("P·V,  {} × {c}×{c}·{c}×{d}", a.batch * a.heads),
            a.values_microseconds,
            a.values_gflops,
            a.values_fraction_of_fma,
            a.values_fraction_of_roofline,
        ),
    ] {
        s.push_str(&format!(
            "  {what:<36}: {us:8.1} µs, {rate:6.2} GFLOP/s ({:4.1}% of FMA, {:5.1}% of roofline {:.1})\n",
            100.0 * fma,
            100.0 * roofline,
            a.matmul_roofline_gflops
        ));
    }
    let (rows, tokens) = (a.batch * a.heads * c, a.batch * c);
    let width = a.heads * d;
    for (what, us, rate, fraction) in [
        (
            format!("softmax forward, {rows} rows × {c}"),
            a.softmax_forward_microseconds,
            a.softmax_forward_gbytes_per_second,
            a.softmax_forward_fraction_of_copy,
        ),
        (
            format!("softmax backward, {rows} rows × {c}"),
            a.softmax_backward_microseconds,
            a.softmax_backward_gbytes_per_second,
            a.softmax_backward_fraction_of_copy,
        ),
        (
            format!("layer norm forward, {tokens} rows × {width}"),
            a.layer_norm_forward_microseconds,
            a.layer_norm_forward_gbytes_per_second,
            a.layer_norm_forward_fraction_of_copy,
        ),
        (
            format!("layer norm backward, {tokens} rows × {width}"),
            a.layer_norm_backward_microseconds,
            a.layer_norm_backward_gbytes_per_second,
            a.layer_norm_backward_fraction_of_copy,
        ),
    ] {
        s.push_str(&format!(
            "  {what:<36}: {us:8.1} µs, {rate:6.2} GB/s ({:5.1}% of copy)\n",
            100.0 * fraction
        ));
    }
}

/// Per-round ratios as `×a ×b …`.
fn rounds(ratios: &[f64]) -> String {
    ratios
        .iter()
        .map(|r| format!("×{r:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line per batch size of a training-step figure, and its per-kernel GPU time.
fn step_lines(s: &mut String, figures: &[StepFigure]) {
    for f in figures {
        s.push_str(&format!(
                "  batch {:>4}: {:7.2} steps/s bare ({:.2} GFLOP/s), {:7.2} steps/s fully instrumented, overhead ×{:.3} (median of rounds {}), in GPU time ×{:.3} (median of profiled pairs {}); instrumented every {}th step {:7.2} steps/s, ×{:.3}\n",
                f.batch, f.bare_steps_per_second, f.bare_gflops, f.instrumented_steps_per_second, f.instrumentation_overhead,
                rounds(&f.instrumentation_overhead_rounds),
                f.instrumentation_gpu_overhead,
                rounds(&f.instrumentation_gpu_overhead_pairs),
                TRACK_EVERY, f.scheduled_steps_per_second, f.scheduled_overhead
            ));
        for (what, kernels, rate) in [
            ("bare", &f.kernels, f.bare_steps_per_second),
            (
                "instrumented",
                &f.instrumented_kernels,
                f.instrumented_steps_per_second,
            ),
        ] {
            let gpu_ms: f64 = kernels.iter().map(|k| k.milliseconds).sum();
            s.push_str(&format!(
                "    GPU time of one {what} step {:.2} ms of {:.2} ms wall:",
                gpu_ms,
                1e3 / rate
            ));
            for k in kernels {
                s.push_str(&format!(
                    " {} {:.2} ms ({:.0}%);",
                    k.kernel,
                    k.milliseconds,
                    100.0 * k.share
                ));
            }
            s.push('\n');
        }
    }
}
