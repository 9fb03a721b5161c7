//! Training-step figures: steps per second of one workload bare, fully instrumented, and on a
//! track schedule, measured in turns; the GPU time of an instrumented step over a bare one's,
//! profiled in turns; and the GPU time of each kernel in one step.

use std::time::Instant;

use serde::Serialize;

use super::timing::step_factor;
use super::workloads::step_flops;
use crate::config::Config;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::plan::DispatchTime;
use crate::train::{Instrumentation, Trainer};

#[derive(Clone, Debug, Serialize)]
pub struct StepFigure {
    pub batch: usize,
    pub bare_steps_per_second: f64,
    pub instrumented_steps_per_second: f64,
    /// instrumented step time / bare step time: the median over the rounds of the two taking
    /// turns (a burst of other work on the host moves one round, not the median).
    pub instrumentation_overhead: f64,
    /// That ratio in each round, in order.
    pub instrumentation_overhead_rounds: Vec<f64>,
    /// Summed GPU time of an instrumented step / a bare step's: the median over
    /// [`PROFILED_PAIRS`] profiled steps of each, taking turns. What instrumentation costs the
    /// device, steadier than the wall-clock ratio on a shared host, where other work moves
    /// whole rounds; it leaves out the host's own cost per step.
    pub instrumentation_gpu_overhead: f64,
    /// That ratio for each pair, in order.
    pub instrumentation_gpu_overhead_pairs: Vec<f64>,
    /// Fully instrumented on a track schedule of every [`TRACK_EVERY`]th step
    /// (`training.track_every`): steps/s and its overhead over bare steps (median of rounds).
    pub scheduled_steps_per_second: f64,
    pub scheduled_overhead: f64,
    pub scheduled_overhead_rounds: Vec<f64>,
    /// Matmul GFLOP/s of the bare step (6·batch·weights per step).
    pub bare_gflops: f64,
    /// GPU time per kernel in the last profiled bare step (timestamp queries, or wall clock
    /// per dispatch).
    pub kernels: Vec<KernelTime>,
    /// The same for the last profiled fully instrumented step.
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

/// One trainer's figures from [`step_rates`]: steps/s over all rounds, seconds per round, the
/// summed GPU time of each profiled step and the GPU time per kernel of the last (none for the
/// scheduled trainer).
struct Rates {
    steps_per_second: f64,
    round_seconds: Vec<f64>,
    profiled_seconds: Vec<f64>,
    kernels: Vec<KernelTime>,
}

/// Rounds in which the trainers take turns.
const ROUNDS: usize = 4;

/// Profiled steps of the bare and the instrumented trainer, taking turns.
pub const PROFILED_PAIRS: usize = 5;

/// Steps per second of one workload bare, fully instrumented, and fully instrumented every
/// [`TRACK_EVERY`]th step, then [`PROFILED_PAIRS`] profiled bare and instrumented steps in
/// turns. The trainers take turns in blocks of steps, so that a machine that
/// speeds up or slows down during the measurement (a shared host, a GPU's clocks) moves every
/// figure alike and their ratios stay honest.
fn step_rates(
    gpu: &Gpu,
    workload: impl Fn() -> Result<(Config, Dataset)>,
    steps: usize,
) -> Result<[Rates; 3]> {
    let block = steps.div_ceil(ROUNDS).max(TRACK_EVERY);
    let total = block * ROUNDS + 2 + PROFILED_PAIRS;
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
    let mut seconds = [[0.0f64; ROUNDS]; 3];
    for round in 0..ROUNDS {
        for (trainer, s) in trainers.iter_mut().zip(&mut seconds) {
            let t = Instant::now();
            for _ in 0..block {
                trainer.step(total)?;
            }
            s[round] = t.elapsed().as_secs_f64();
        }
    }
    // The scheduled trainer's kernels are the instrumented one's.
    let mut profiled = [Vec::new(), Vec::new()];
    let mut kernels = [Vec::new(), Vec::new()];
    for _ in 0..PROFILED_PAIRS {
        for (k, trainer) in trainers.iter_mut().take(2).enumerate() {
            let times = trainer.profile_step(total)?;
            profiled[k].push(times.iter().map(|t| t.seconds).sum::<f64>());
            kernels[k] = kernel_times(&times);
        }
    }
    let mut out = Vec::new();
    for (k, s) in seconds.iter().enumerate() {
        out.push(Rates {
            steps_per_second: (block * ROUNDS) as f64 / s.iter().sum::<f64>(),
            round_seconds: s.to_vec(),
            profiled_seconds: profiled.get(k).cloned().unwrap_or_default(),
            kernels: kernels.get(k).cloned().unwrap_or_default(),
        });
    }
    let [bare, full, scheduled]: [Rates; 3] = out
        .try_into()
        .unwrap_or_else(|_| unreachable!("three trainers"));
    Ok([bare, full, scheduled])
}

/// `over`'s time / `base`'s time in each round, and their median.
fn round_ratios(over: &Rates, base: &Rates) -> (f64, Vec<f64>) {
    ratios(&over.round_seconds, &base.round_seconds)
}

/// `over[i] / base[i]` for each i, and their median.
fn ratios(over: &[f64], base: &[f64]) -> (f64, Vec<f64>) {
    let ratios: Vec<f64> = over
        .iter()
        .zip(base)
        .map(|(o, b)| o / b.max(1e-12))
        .collect();
    (median(&ratios), ratios)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// GPU time per kernel of one profiled step, kernels in order of first use.
fn kernel_times(times: &[DispatchTime]) -> Vec<KernelTime> {
    let sum: f64 = times.iter().map(|t| t.seconds).sum();
    let mut kernels: Vec<KernelTime> = Vec::new();
    for t in times {
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
    kernels
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
        let [bare_rates, full_rates, scheduled_rates] =
            step_rates(gpu, || workload(batch, steps), steps)?;
        let (instrumentation_overhead, instrumentation_overhead_rounds) =
            round_ratios(&full_rates, &bare_rates);
        let (instrumentation_gpu_overhead, instrumentation_gpu_overhead_pairs) =
            ratios(&full_rates.profiled_seconds, &bare_rates.profiled_seconds);
        let (scheduled_overhead, scheduled_overhead_rounds) =
            round_ratios(&scheduled_rates, &bare_rates);
        let (bare, full, scheduled) = (
            bare_rates.steps_per_second,
            full_rates.steps_per_second,
            scheduled_rates.steps_per_second,
        );
        let (config, data) = workload(batch, steps)?;
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&data))?;
        log(&format!(
            "{what} batch {batch}: {bare:.2} steps/s bare, {full:.2} instrumented"
        ));
        figures.push(StepFigure {
            batch,
            bare_steps_per_second: bare,
            instrumented_steps_per_second: full,
            instrumentation_overhead,
            instrumentation_overhead_rounds,
            instrumentation_gpu_overhead,
            instrumentation_gpu_overhead_pairs,
            scheduled_steps_per_second: scheduled,
            scheduled_overhead,
            scheduled_overhead_rounds,
            bare_gflops: bare * step_flops(&model, batch) / 1e9,
            kernels: bare_rates.kernels,
            instrumented_kernels: full_rates.kernels,
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
            instrumentation_overhead_rounds: vec![2.0; 4],
            instrumentation_gpu_overhead: 1.5,
            instrumentation_gpu_overhead_pairs: vec![1.5; 3],
            scheduled_steps_per_second: 3.0,
            scheduled_overhead: 4.0 / 3.0,
            scheduled_overhead_rounds: vec![4.0 / 3.0; 4],
            bare_gflops: 5.0,
            kernels: Vec::new(),
            instrumented_kernels: Vec::new(),
        };
        let v = serde_json::to_value(TransformerStepFigure::new(step, 64)).unwrap();
        assert_eq!(v["context"], 64);
        assert_eq!(v["batch"], 32);
        assert_eq!(v["bare_steps_per_second"], 4.0);
        assert_eq!(v["instrumentation_overhead"], 2.0);
        assert_eq!(v["instrumentation_gpu_overhead"], 1.5);
        assert_eq!(v["bare_tokens_per_second"], 4.0 * 32.0 * 64.0);
        assert_eq!(v["instrumented_tokens_per_second"], 2.0 * 32.0 * 64.0);
        assert_eq!(v["scheduled_tokens_per_second"], 3.0 * 32.0 * 64.0);
        assert!(v["kernels"].is_array() && v.get("step").is_none());
    }

    /// The overhead is the median of the rounds' ratios: one slow round does not move it.
    #[test]
    fn overhead_is_the_median_of_the_rounds() {
        let rates = |seconds: &[f64]| Rates {
            steps_per_second: 0.0,
            round_seconds: seconds.to_vec(),
            profiled_seconds: Vec::new(),
            kernels: Vec::new(),
        };
        let bare = rates(&[1.0, 1.0, 1.0, 1.0]);
        let full = rates(&[1.1, 1.05, 3.0, 1.07]);
        let (m, each) = round_ratios(&full, &bare);
        assert!((m - 1.085).abs() < 1e-12, "{m}");
        assert_eq!(each, vec![1.1, 1.05, 3.0, 1.07]);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    }
}
