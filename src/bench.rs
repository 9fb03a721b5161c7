//! `netdx bench`: the adapter's own peaks (a register-only FMA probe and a vec4 copy probe),
//! matmul against the roofline those peaks imply, and training steps per second with and
//! without full instrumentation — all measured in one run on one adapter, reported as ratios.
//! Kernel times are wall clock around completed submissions (best of several repetitions), each
//! submission holding enough back-to-back launches of the kernel to last
//! [`MIN_TIMED_SECONDS`], so that a fast GPU is timed by its kernels, not by the cost of one
//! submission and wait. Per-kernel shares of a training step use timestamp queries where the
//! adapter has them.

use std::time::Instant;

use serde::Serialize;

use crate::config::{Config, LossConfig, OptimizerSpec, ScheduleConfig, TrainingConfig};
use crate::data::{BuiltinKind, DataSpec, Dataset};
use crate::error::Result;
use crate::gpu::Dispatch;
use crate::gpu::{Gpu, TensorUsage};
use crate::kernels::{MatmulVariant, ProbeParams, COPY_PROBE, FMA_PROBE};
use crate::model::{Init, LayerSpec, ModelSpec};
use crate::ops::{Activation, LossKind, OptimizerKind};
use crate::rng::SplitMix64;
use crate::train::{Instrumentation, Trainer};

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

#[derive(Clone, Debug, Serialize)]
pub struct StepFigure {
    pub batch: usize,
    pub bare_steps_per_second: f64,
    pub instrumented_steps_per_second: f64,
    /// instrumented step time / bare step time.
    pub instrumentation_overhead: f64,
    /// Fully instrumented on a track schedule of every [`TRACK_EVERY`]th step
    /// (`training.track_every`): steps/s and its overhead over bare steps.
    pub scheduled_steps_per_second: f64,
    pub scheduled_overhead: f64,
    /// Matmul GFLOP/s of the bare step (6·batch·weights per step).
    pub bare_gflops: f64,
    /// GPU time per kernel in one bare step (timestamp queries, or wall clock per dispatch).
    pub kernels: Vec<KernelTime>,
    /// The same for one fully instrumented step.
    pub instrumented_kernels: Vec<KernelTime>,
}

/// A long fully instrumented run: does a step get slower, or allocate, as steps go on?
#[derive(Clone, Debug, Serialize)]
pub struct SustainedFigure {
    pub batch: usize,
    pub steps: usize,
    /// Steps per second of each tenth of the run, in order.
    pub steps_per_second_by_tenth: Vec<f64>,
    /// The last tenth's rate over the first's: 1 when nothing grows from step to step.
    pub last_over_first: f64,
    /// The slowest tenth's rate over the fastest's: the run's noise.
    pub min_over_max: f64,
    /// Buffers, bind groups and pipelines created after the first step (none expected).
    pub objects_created: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct KernelTime {
    pub kernel: String,
    pub milliseconds: f64,
    /// Share of the summed GPU time of the step.
    pub share: f64,
}

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

/// The conv2d kernels on one layer shape: GFLOP/s (2 flops per multiply-add, taps in the
/// padding not counted) and the fraction of the FMA probe's peak.
#[derive(Clone, Debug, Serialize)]
pub struct ConvFigure {
    /// `batch×in×h×w → out, k×k, stride s, padding p`.
    pub shape: String,
    pub forward_gflops: f64,
    pub backward_input_gflops: f64,
    pub backward_weight_gflops: f64,
    pub forward_fraction_of_fma: f64,
    pub backward_input_fraction_of_fma: f64,
    pub backward_weight_fraction_of_fma: f64,
}

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

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub adapter: String,
    pub backend: String,
    pub driver: String,
    /// `Cpu` for software adapters, `DiscreteGpu`, `IntegratedGpu`, …
    pub device_type: String,
    /// The matmul kernel this adapter's plans use.
    pub matmul_variant: MatmulVariant,
    pub fma_gflops: f64,
    pub copy_gbytes_per_second: f64,
    pub matmul: Vec<MatmulFigure>,
    pub activations: Vec<ActivationFigure>,
    pub losses: Vec<LossFigure>,
    pub conv2d: Vec<ConvFigure>,
    pub mlp: Vec<StepFigure>,
    /// The small CNN of configs/mnist_cnn.yaml on 1×28×28 images.
    pub cnn: Vec<StepFigure>,
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
            s.push_str("conv2d (direct; the weight gradient split over the batch's rows and summed; fraction of the FMA probe):\n");
        }
        for c in &self.conv2d {
            s.push_str(&format!(
                "  {}: forward {:.2} GFLOP/s ({:.1}%), input gradient {:.2} ({:.1}%), weight gradient {:.2} ({:.1}%)\n",
                c.shape,
                c.forward_gflops,
                100.0 * c.forward_fraction_of_fma,
                c.backward_input_gflops,
                100.0 * c.backward_input_fraction_of_fma,
                c.backward_weight_gflops,
                100.0 * c.backward_weight_fraction_of_fma
            ));
        }
        s.push_str("MLP 784-256-256-10, softmax cross-entropy, SGD, loss read back every step:\n");
        step_lines(&mut s, &self.mlp);
        if !self.cnn.is_empty() {
            s.push_str("CNN 1×28×28-conv3(8)-relu-maxpool2-conv3(16)-relu-maxpool2-flatten-10 (configs/mnist_cnn.yaml), SGD:\n");
            step_lines(&mut s, &self.cnn);
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

/// One line per batch size of a training-step figure, and its per-kernel GPU time.
fn step_lines(s: &mut String, figures: &[StepFigure]) {
    for f in figures {
        s.push_str(&format!(
                "  batch {:>4}: {:7.2} steps/s bare ({:.2} GFLOP/s), {:7.2} steps/s fully instrumented, overhead ×{:.3}; instrumented every {}th step {:7.2} steps/s, ×{:.3}\n",
                f.batch, f.bare_steps_per_second, f.bare_gflops, f.instrumented_steps_per_second, f.instrumentation_overhead,
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

/// Best-of-`reps` seconds of `f`, after one warm-up call.
fn best_of(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// A timed submission lasts at least this long, so that submitting and waiting (tens of
/// microseconds) is a small part of what is timed.
const MIN_TIMED_SECONDS: f64 = 0.02;

/// Back-to-back launches in one timed submission, at most (4096 launches of a 5 µs kernel on a
/// GPU make the 20 ms).
const MAX_LAUNCHES: usize = 4096;

/// Seconds per launch of the dispatches `d`: the best of `reps` submissions, each of as many
/// back-to-back launches as one calibrating launch says will last [`MIN_TIMED_SECONDS`] (one
/// on a software adapter, many on a GPU).
fn seconds_per_launch(gpu: &Gpu, d: &[Dispatch], reps: usize) -> Result<f64> {
    let one = best_of(1, || gpu.run(d))?;
    let launches = ((MIN_TIMED_SECONDS / one.max(1e-7)).ceil() as usize).clamp(1, MAX_LAUNCHES);
    let batch: Vec<Dispatch> = (0..launches).flat_map(|_| d.iter().cloned()).collect();
    Ok(best_of(reps, || gpu.run(&batch))? / launches as f64)
}

/// Problem sizes grow by this factor on hardware GPUs, whose caches hold the software adapter's
/// sizes and whose thousands of threads they would not fill.
fn size_factor(gpu: &Gpu) -> usize {
    if is_software(gpu) {
        1
    } else {
        16
    }
}

/// Training steps measured grow by this factor on hardware GPUs, which run them hundreds of
/// times faster, so that each figure covers a good fraction of a second.
fn step_factor(gpu: &Gpu) -> usize {
    if is_software(gpu) {
        1
    } else {
        25
    }
}

fn is_software(gpu: &Gpu) -> bool {
    gpu.info().device_type == wgpu::DeviceType::Cpu
}

fn fma_peak(gpu: &Gpu, quick: bool) -> Result<f64> {
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

fn copy_bandwidth(gpu: &Gpu, quick: bool) -> Result<f64> {
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

fn matmul_figure(
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

/// The benchmark MLP: 784-256-256-10 on random data with random labels.
pub fn mlp_config(batch: usize, steps: usize) -> (Config, Dataset) {
    let linear = |out| LayerSpec::Linear {
        out,
        input: None,
        init: Init::KaimingUniform,
        bias: 0.0,
    };
    let relu = LayerSpec::Activation {
        kind: Activation::Relu,
        slope: 0.0,
    };
    let config = Config {
        name: Some("bench MLP".into()),
        checks: None,
        faults: Vec::new(),
        cases: Vec::new(),
        matrix: Default::default(),
        base_dir: Default::default(),
        seed: 0,
        data: DataSpec {
            builtin: Some(BuiltinKind::Blobs),
            classes: Some(10),
            dims: Some(784),
            ..Default::default()
        },
        model: ModelSpec {
            input: Some(784),
            shape: None,
            layers: vec![linear(256), relu.clone(), linear(256), relu, linear(10)],
            weights: None,
        },
        loss: LossConfig {
            name: LossKind::SoftmaxCrossEntropy,
            ..Default::default()
        },
        training: TrainingConfig {
            optimizer: OptimizerSpec {
                name: OptimizerKind::Sgd,
                lr: 0.01,
                momentum: None,
                nesterov: false,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            batch_size: batch,
            steps,
            l2: 0.0,
            weight_decay: 0.0,
            clip: Default::default(),
            schedule: ScheduleConfig::default(),
            shuffle: true,
            on_nonfinite: Default::default(),
            track_every: 1,
        },
    };
    let n = batch.max(1024);
    let mut rng = SplitMix64::new(7);
    let dataset = Dataset::new(
        "random 784-d",
        (0..n * 784).map(|_| rng.uniform() as f32).collect(),
        (0..n).map(|_| rng.below(10) as f32).collect(),
        784,
        1,
        Some(10),
    );
    (config, dataset)
}

/// The small CNN of configs/mnist_cnn.yaml on the built-in shapes images at MNIST's size
/// (1×28×28), batch `batch`, SGD.
pub fn cnn_config(batch: usize, steps: usize) -> Result<(Config, Dataset)> {
    let yaml = format!(
        "data: {{builtin: shapes, classes: 10, points_per_class: {per}, size: 28}}
model:
  layers:
    - {{conv2d: {{out: 8, kernel: 3, padding: 1}}}}
    - relu
    - {{max_pool2d: {{kernel: 2}}}}
    - {{conv2d: {{out: 16, kernel: 3, padding: 1}}}}
    - relu
    - {{max_pool2d: {{kernel: 2}}}}
    - flatten
    - {{linear: {{out: 10}}}}
training: {{optimizer: {{name: sgd, lr: 0.01}}, batch_size: {batch}, steps: {steps}}}
",
        per = batch.div_ceil(10)
    );
    let config = Config::parse(&yaml, std::path::Path::new("bench-cnn.yaml"))?;
    let data = crate::data::load(&config.data, 0, std::path::Path::new("."))?.train;
    Ok((config, data))
}

/// Multiply-adds × 2 of one training step of `model` at `batch` (forward, input and weight
/// gradients of its linear and conv2d layers, and attention's batched products).
fn step_flops(model: &crate::graph::Graph, batch: usize) -> f64 {
    use crate::graph::{Op, Shape};
    model
        .nodes
        .iter()
        .map(|n| match &n.op {
            Op::Linear { input, output } => {
                6.0 * (batch * n.in_shape.rows() * input * output) as f64
            }
            Op::Conv2d { .. } => {
                let conv = n.in_shape.image().and_then(|i| n.op.conv(i, batch));
                6.0 * conv.map_or(0, |c| c.taps()) as f64
            }
            Op::Matmul { .. } => match (n.in_shape, n.out_shape) {
                (Shape::Heads { heads, len, dim }, Shape::Heads { dim: cols, .. }) => {
                    6.0 * (batch * heads * len * dim * cols) as f64
                }
                _ => 0.0,
            },
            _ => 0.0,
        })
        .sum()
}

/// The track schedule the bench measures beside every-step instrumentation.
pub const TRACK_EVERY: usize = 10;

/// Steps per second of one workload bare, fully instrumented, and fully instrumented every
/// [`TRACK_EVERY`]th step, with the per-kernel GPU time of one more bare and one more
/// instrumented step. The trainers take turns in blocks of steps, so that a machine that
/// speeds up or slows down during the measurement (a shared host, a GPU's clocks) moves every
/// figure alike and their ratios stay honest.
fn step_rates(
    gpu: &Gpu,
    workload: impl Fn() -> Result<(Config, Dataset)>,
    steps: usize,
) -> Result<[(f64, Vec<KernelTime>); 3]> {
    const ROUNDS: usize = 4;
    let block = steps.div_ceil(ROUNDS).max(TRACK_EVERY);
    let total = block * ROUNDS + 3;
    let mut trainers = Vec::new();
    for (inst, every) in [
        (Instrumentation::Bare, 1),
        (Instrumentation::Full, 1),
        (Instrumentation::Full, TRACK_EVERY),
    ] {
        let (config, dataset) = workload()?;
        let mut trainer = Trainer::new(gpu, &config, dataset, inst, None)?;
        trainer.track_every = every;
        // Warm-up, a tracked step and (on the schedule) an untracked one: first-use costs.
        trainer.step(total)?;
        trainer.step(total)?;
        trainers.push(trainer);
    }
    let mut seconds = [0.0f64; 3];
    for _ in 0..ROUNDS {
        for (trainer, s) in trainers.iter_mut().zip(&mut seconds) {
            let t = Instant::now();
            for _ in 0..block {
                trainer.step(total)?;
            }
            *s += t.elapsed().as_secs_f64();
        }
    }
    let mut out = Vec::new();
    for (k, (trainer, s)) in trainers.iter_mut().zip(seconds).enumerate() {
        // The scheduled trainer's kernels are the instrumented one's.
        let kernels = if k < 2 {
            kernel_times(trainer, total)?
        } else {
            Vec::new()
        };
        out.push(((block * ROUNDS) as f64 / s, kernels));
    }
    let scheduled = out.pop().unwrap_or_default();
    let full = out.pop().unwrap_or_default();
    let bare = out.pop().unwrap_or_default();
    Ok([bare, full, scheduled])
}

/// GPU time per kernel of one profiled step, kernels in order of first use.
fn kernel_times(trainer: &mut Trainer, total: usize) -> Result<Vec<KernelTime>> {
    let times = trainer.profile_step(total)?;
    let sum: f64 = times.iter().map(|t| t.seconds).sum();
    let mut kernels: Vec<KernelTime> = Vec::new();
    for t in &times {
        match kernels.iter_mut().find(|k| k.kernel == t.kernel) {
            Some(k) => k.milliseconds += t.seconds * 1e3,
            None => kernels.push(KernelTime {
                kernel: t.kernel.to_string(),
                milliseconds: t.seconds * 1e3,
                share: 0.0,
            }),
        }
    }
    for k in &mut kernels {
        k.share = k.milliseconds / 1e3 / sum.max(1e-12);
    }
    Ok(kernels)
}

/// The step figures of one workload at each `(batch, steps)` of `runs` (steps grown on GPUs).
fn step_figures(
    gpu: &Gpu,
    what: &str,
    runs: &[(usize, usize)],
    workload: impl Fn(usize, usize) -> Result<(Config, Dataset)>,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<StepFigure>> {
    let mut figures = Vec::new();
    for &(batch, steps) in runs {
        let steps = steps * step_factor(gpu);
        let [(bare, kernels), (full, instrumented_kernels), (scheduled, _)] =
            step_rates(gpu, || workload(batch, steps), steps)?;
        let (config, data) = workload(batch, steps)?;
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&data))?;
        log(&format!(
            "{what} batch {batch}: {bare:.2} steps/s bare, {full:.2} instrumented"
        ));
        figures.push(StepFigure {
            batch,
            bare_steps_per_second: bare,
            instrumented_steps_per_second: full,
            instrumentation_overhead: bare / full,
            scheduled_steps_per_second: scheduled,
            scheduled_overhead: bare / scheduled,
            bare_gflops: bare * step_flops(&model, batch) / 1e9,
            kernels,
            instrumented_kernels,
        });
    }
    Ok(figures)
}

/// `steps` fully instrumented MLP steps at `batch`, timed by tenths, counting the GPU objects
/// created after the first step.
fn sustained(gpu: &Gpu, batch: usize, steps: usize) -> Result<SustainedFigure> {
    let (config, dataset) = mlp_config(batch, steps + 1);
    let mut trainer = Trainer::new(gpu, &config, dataset, Instrumentation::Full, None)?;
    trainer.step(steps + 1)?;
    let created = gpu.objects_created();
    let tenth = (steps / 10).max(1);
    let mut rates = Vec::new();
    for _ in 0..steps / tenth {
        let t = Instant::now();
        for _ in 0..tenth {
            trainer.step(steps + 1)?;
        }
        rates.push(tenth as f64 / t.elapsed().as_secs_f64());
    }
    let max = rates.iter().copied().fold(0.0, f64::max);
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(SustainedFigure {
        batch,
        steps: tenth * rates.len(),
        last_over_first: rates[rates.len() - 1] / rates[0],
        min_over_max: min / max,
        steps_per_second_by_tenth: rates,
        objects_created: gpu.objects_created() - created,
    })
}

/// Forward and backward of `kind` over `n` elements, through the same dispatch path training
/// uses (`kernels::activation_kernels`).
fn activation_figure(
    gpu: &Gpu,
    kind: Activation,
    label: String,
    n: usize,
    copy: f64,
    reps: usize,
) -> Result<ActivationFigure> {
    let (forward, backward, constants) = crate::kernels::activation_kernels(kind);
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
            _pad: [0; 2],
        },
    )?;
    let f = gpu.dispatch(
        forward,
        &constants,
        &[&u, &xt.buffer, &yt.buffer],
        gpu.groups_1d(forward, n),
    )?;
    let b = gpu.dispatch(
        backward,
        &constants,
        &[&u, &xt.buffer, &yt.buffer, &dyt.buffer, &dxt.buffer],
        gpu.groups_1d(backward, n),
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

/// The loss kernel of `kind` over `batch` × `width` logits, through the dispatch path training
/// uses (`kernels::loss_kernel`).
fn loss_figure(
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

/// The three conv2d kernels on `c`, each timed alone (best of `reps`).
fn conv_figure(
    gpu: &Gpu,
    c: &crate::reference::conv::Conv2d,
    fma: f64,
    reps: usize,
) -> Result<ConvFigure> {
    use crate::kernels::{CONV2D_BACKWARD_INPUT, CONV2D_FORWARD};
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
    let f = gpu.dispatch(
        &CONV2D_FORWARD,
        &params.constants(),
        &[&u, &x.buffer, &w.buffer, &b.buffer, &y.buffer],
        gpu.groups_1d(&CONV2D_FORWARD, params.forward_invocations()),
    )?;
    let bi = gpu.dispatch(
        &CONV2D_BACKWARD_INPUT,
        &params.constants(),
        &[&u, &dy.buffer, &w.buffer, &dx.buffer],
        gpu.groups_1d(&CONV2D_BACKWARD_INPUT, params.backward_input_invocations()),
    )?;
    // As training runs it: split into partial gradients and summed.
    let bw = crate::train::conv::weight_gradient(
        gpu,
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
        forward_gflops: fr,
        backward_input_gflops: bir,
        backward_weight_gflops: bwr,
        forward_fraction_of_fma: fr / fma,
        backward_input_fraction_of_fma: bir / fma,
        backward_weight_fraction_of_fma: bwr / fma,
    })
}

/// The user loss that ships with netdx (label-smoothed cross-entropy), measured beside the
/// built-in softmax cross-entropy.
const SHIPPED_SMOOTHED_CE: &str = include_str!("../configs/kernels/smoothed_cross_entropy.wgsl");

/// The user kernel that ships with netdx (configs/kernels/swish.wgsl), measured by default
/// beside the built-ins.
const SHIPPED_SWISH: &str = include_str!("../configs/kernels/swish.wgsl");

/// Every activation to measure: two built-ins, the shipped swish, and `user_kernels`.
fn activations_to_measure(
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
    let f = conv_figure(gpu, &conv, fma, if quick { 2 } else { 3 })?;
    log(&format!(
        "conv2d {}: forward {:.2} GFLOP/s",
        f.shape, f.forward_gflops
    ));
    conv2d.push(f);
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
        fma_gflops: fma,
        copy_gbytes_per_second: copy,
        matmul,
        activations,
        losses,
        conv2d,
        mlp,
        cnn,
        sustained,
    })
}
