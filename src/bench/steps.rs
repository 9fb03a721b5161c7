//! Training-step figures: steps per second of one workload bare, fully instrumented, and on a
//! track schedule, measured in turns, with the GPU time of each kernel in one step.

use std::time::Instant;

use serde::Serialize;

use super::timing::step_factor;
use super::workloads::step_flops;
use crate::config::Config;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::train::{Instrumentation, Trainer};

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

#[derive(Clone, Debug, Serialize)]
pub struct KernelTime {
    pub kernel: String,
    pub milliseconds: f64,
    /// Share of the summed GPU time of the step.
    pub share: f64,
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
pub(super) fn step_figures(
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

/// The transformer's training step: every [`StepFigure`] key (flattened into the same JSON
/// object) with the context and the tokens trained per second (batch × context × steps/s).
#[derive(Clone, Debug, Serialize)]
pub struct TransformerStepFigure {
    /// Tokens per example.
    pub context: usize,
    #[serde(flatten)]
    pub step: StepFigure,
    pub bare_tokens_per_second: f64,
    pub instrumented_tokens_per_second: f64,
    /// On the track schedule of every [`TRACK_EVERY`]th step.
    pub scheduled_tokens_per_second: f64,
}

impl TransformerStepFigure {
    pub fn new(step: StepFigure, context: usize) -> Self {
        let tokens = (step.batch * context) as f64;
        TransformerStepFigure {
            context,
            bare_tokens_per_second: tokens * step.bare_steps_per_second,
            instrumented_tokens_per_second: tokens * step.instrumented_steps_per_second,
            scheduled_tokens_per_second: tokens * step.scheduled_steps_per_second,
            step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--json` keeps every step-figure key at the top of a transformer figure, beside its own.
    #[test]
    fn transformer_figure_flattens_the_step_keys() {
        let step = StepFigure {
            batch: 32,
            bare_steps_per_second: 4.0,
            instrumented_steps_per_second: 2.0,
            instrumentation_overhead: 2.0,
            scheduled_steps_per_second: 3.0,
            scheduled_overhead: 4.0 / 3.0,
            bare_gflops: 5.0,
            kernels: Vec::new(),
            instrumented_kernels: Vec::new(),
        };
        let v = serde_json::to_value(TransformerStepFigure::new(step, 64)).unwrap();
        assert_eq!(v["context"], 64);
        assert_eq!(v["batch"], 32);
        assert_eq!(v["bare_steps_per_second"], 4.0);
        assert_eq!(v["instrumentation_overhead"], 2.0);
        assert_eq!(v["bare_tokens_per_second"], 4.0 * 32.0 * 64.0);
        assert_eq!(v["instrumented_tokens_per_second"], 2.0 * 32.0 * 64.0);
        assert_eq!(v["scheduled_tokens_per_second"], 3.0 * 32.0 * 64.0);
        assert!(v["kernels"].is_array() && v.get("step").is_none());
    }
}
