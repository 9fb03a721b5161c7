//! Training: the step loop over a [`BatchPlan`], learning-rate schedule, batch sampling, and
//! the per-step records it hands to its caller as they happen (so an interrupted or failed run
//! keeps everything up to that step).

pub mod capture;
pub mod checkpoint;
pub mod schedule;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::config::Config;
use crate::data::{DataSummary, Dataset, LoadedData};
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, Gpu};
use crate::graph::Graph;
use crate::kernels::StepUniform;
use crate::model::{init_params, HostParams, HostTensor};
use crate::rng::SplitMix64;
use checkpoint::Checkpoint;

pub use crate::model::check_output;
/// The plan's building blocks, where older code looks for them.
pub use crate::plan::{column_sums, conv, reduction};
pub use crate::plan::{
    BatchPlan, DeviceData, DeviceNetwork, Instrumentation, Placement, PlanMode, PlanOptions,
    Residency, StepStats,
};

/// One training step as recorded.
#[derive(Clone, Debug, Serialize)]
pub struct StepRecord {
    pub step: usize,
    pub lr: f64,
    /// Mean data loss of the batch.
    pub loss: f64,
    /// 0.5·λ·Σ‖W‖² before the update: 0 without L2, absent where the weights' norms were not
    /// reduced (bare instrumentation, or a step off the track schedule).
    pub l2_term: Option<f64>,
    /// Accuracy on the batch (classification only).
    pub batch_accuracy: Option<f64>,
    /// Loss and accuracy on the validation split after this step, at the steps `train
    /// --eval-every` asks for (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f64>,
    #[serde(skip)]
    pub stats: StepStats,
}

/// The end of a training run.
#[derive(Clone, Debug, Serialize)]
pub struct TrainSummary {
    pub steps: usize,
    /// Loss over the whole training set in evaluation mode, after training.
    pub loss: f64,
    /// Accuracy over the whole training set (classification only).
    pub train_accuracy: Option<f64>,
    pub last_batch_loss: f64,
    pub seconds: f64,
    pub steps_per_second: f64,
    pub adapter: String,
    pub backend: String,
    pub model: String,
    pub parameters: usize,
    pub dataset: String,
    pub dataset_hash: String,
    /// The training data: shape, class counts, hash.
    pub data: DataSummary,
    /// The validation data, when the config holds one out (absent otherwise, as the next two).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<DataSummary>,
    /// Loss and accuracy on the validation data in evaluation mode, after training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_accuracy: Option<f64>,
    /// The first step whose loss was NaN or Inf, with `training.on_nonfinite: continue`
    /// (absent when every loss was finite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_nonfinite: Option<usize>,
    /// The step a resumed run started with (`train --resume`; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<usize>,
}

/// How [`train_with`] runs beyond the config.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Steps to run instead of `training.steps`.
    pub steps: Option<usize>,
    pub instrumentation: Instrumentation,
    /// Capture every tensor of this 0-based step (see [`capture`]).
    pub capture_step: Option<usize>,
    /// Write the captured tensors to this safetensors file as soon as they are read, so that
    /// a step whose loss is NaN is still dumped before the run stops.
    pub dump_to: Option<std::path::PathBuf>,
    /// Evaluate on the validation split every this many steps (and after the last).
    pub eval_every: Option<usize>,
    /// Continue from this checkpoint instead of starting at step 0.
    pub resume: Option<Checkpoint>,
    /// Where to save the state: when interrupted, and every so many steps if asked.
    pub checkpoint: Option<CheckpointTo>,
}

/// Where and how often [`train_with`] writes checkpoints.
#[derive(Clone, Debug)]
pub struct CheckpointTo {
    pub path: PathBuf,
    /// Also after every this many steps and after the last; `None`: only when interrupted.
    pub every: Option<usize>,
    /// The command that resumes from `path`, for the interrupted run's message.
    pub resume_command: String,
}

/// A finished run: its summary, the trainer (trained weights on the device), and the tensors
/// of the captured step.
pub struct TrainOutcome<'g> {
    pub summary: TrainSummary,
    pub trainer: Trainer<'g>,
    pub captured: Option<(StepRecord, Vec<HostTensor>)>,
}

/// Epoch-wise shuffled batches (dropping the incomplete tail of each epoch).
pub struct BatchSampler {
    order: Vec<u32>,
    pos: usize,
    batch: usize,
    shuffle: bool,
    rng: SplitMix64,
}

impl BatchSampler {
    pub fn new(n: usize, batch: usize, shuffle: bool, seed: u64) -> Self {
        let mut s = BatchSampler {
            order: (0..n as u32).collect(),
            pos: 0,
            batch,
            shuffle,
            rng: SplitMix64::stream(seed, 0xBA7C),
        };
        if shuffle {
            s.rng.shuffle(&mut s.order);
        }
        s
    }

    pub fn next_batch(&mut self) -> &[u32] {
        if self.pos + self.batch > self.order.len() {
            self.pos = 0;
            if self.shuffle {
                self.rng.shuffle(&mut self.order);
            }
        }
        let b = &self.order[self.pos..self.pos + self.batch];
        self.pos += self.batch;
        b
    }
}

/// Everything a run needs on the device, built once.
pub struct Trainer<'g> {
    pub gpu: &'g Gpu,
    pub config: Config,
    /// Shared with the device data when that is streamed.
    pub dataset: Arc<Dataset>,
    pub model: Graph,
    pub net: DeviceNetwork,
    pub data: DeviceData,
    pub plan: BatchPlan,
    /// The track schedule of a fully instrumented run (Cockpit's `track_schedule`): every
    /// statistic is gathered at the first `track_first` steps, at steps 0, n, 2n, … and at the
    /// last; the steps between run without the instrumentation-only dispatches. 1 (the
    /// default) tracks every step; the checks' observation run takes `training.track_every`.
    pub track_every: usize,
    pub track_first: usize,
    sampler: BatchSampler,
    step: usize,
}

/// How to build a [`Trainer`] beyond its config and data.
#[derive(Clone, Debug, Default)]
pub struct TrainerOptions {
    pub instrumentation: Instrumentation,
    /// Initial weights instead of the seeded init.
    pub initial: Option<HostParams>,
    /// Also compute the gradient with respect to the input (saliency).
    pub input_grad: bool,
    /// Resident or streamed data (streamed anyway when it exceeds a storage binding).
    pub placement: Placement,
    /// Reduce the weight and update statistics in passes of their own instead of in the
    /// optimizer (the same numbers; for the tests that compare the two).
    pub separate_statistics: bool,
}

impl<'g> Trainer<'g> {
    /// Builds the model from the config, uploads data and initial weights (`initial` overrides
    /// the seeded init), and records the training plan.
    pub fn new(
        gpu: &'g Gpu,
        config: &Config,
        dataset: Dataset,
        instrumentation: Instrumentation,
        initial: Option<HostParams>,
    ) -> Result<Self> {
        Self::with_options(
            gpu,
            config,
            dataset,
            TrainerOptions {
                instrumentation,
                initial,
                input_grad: false,
                placement: Placement::Auto,
                separate_statistics: false,
            },
        )
    }

    pub fn with_options(
        gpu: &'g Gpu,
        config: &Config,
        dataset: Dataset,
        options: TrainerOptions,
    ) -> Result<Self> {
        let TrainerOptions {
            instrumentation,
            initial,
            input_grad,
            placement,
            separate_statistics,
        } = options;
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&dataset))?;
        check_output(config.loss.name, &model, dataset.y_width, dataset.classes)?;
        let batch = config.training.batch_size;
        if batch > dataset.n {
            return Err(Error::Usage(format!(
                "training.batch_size {batch} is larger than the dataset ({} examples)",
                dataset.n
            )));
        }
        let host = match (initial, &config.model.weights) {
            (Some(host), _) => host,
            (None, Some(file)) => {
                crate::model::weights::load(&crate::io::resolve(&config.base_dir, file), &model)?
            }
            (None, None) => init_params(&model, config.seed),
        };
        let mut opts = PlanOptions::from_config(config, instrumentation);
        opts.input_grad = input_grad;
        opts.fused_statistics = !separate_statistics;
        let net = DeviceNetwork::upload(gpu, &model, &host, opts.optimizer)?;
        let dataset = Arc::new(dataset);
        let data = DeviceData::upload_shared(gpu, &dataset, placement)?;
        let plan = BatchPlan::new(gpu, &net, &data, batch, PlanMode::Train, &opts)?;
        let sampler = BatchSampler::new(dataset.n, batch, config.training.shuffle, config.seed);
        Ok(Trainer {
            gpu,
            config: config.clone(),
            dataset,
            model,
            net,
            data,
            plan,
            track_every: 1,
            track_first: 0,
            sampler,
            step: 0,
        })
    }

    /// The step uniform for 0-based step `t` of `total`.
    pub fn step_uniform(&self, t: usize, total: usize) -> StepUniform {
        let o = &self.config.training.optimizer;
        let lr = schedule::learning_rate(o.lr, &self.config.training.schedule, t, total);
        let n = (t + 1) as i32;
        StepUniform {
            lr: lr as f32,
            bias_correction1: (1.0 - o.beta1.powi(n)) as f32,
            bias_correction2: (1.0 - o.beta2.powi(n)) as f32,
            step: t as u32,
            seed: self.config.seed as u32,
            _pad: [0; 3],
        }
    }

    /// Runs one step and returns its record; a non-finite loss is an error (the records of
    /// earlier steps were already handed out).
    pub fn step(&mut self, total: usize) -> Result<StepRecord> {
        let record = self.step_recorded(total, None)?;
        if !record.loss.is_finite() {
            return Err(Error::NonFinite { step: record.step });
        }
        if crate::interrupt::requested() {
            return Err(Error::Interrupted { step: record.step });
        }
        Ok(record)
    }

    /// Runs one step and returns its record whatever the loss, optionally with the learning
    /// rate `lr` instead of the schedule's (the learning-rate range test). An interrupt
    /// requested by then is an error, so every loop of steps a check runs ends on Ctrl-C or
    /// SIGTERM, however many steps it asked for.
    pub fn step_with(&mut self, total: usize, lr: Option<f64>) -> Result<StepRecord> {
        let record = self.step_recorded(total, lr)?;
        if crate::interrupt::requested() {
            return Err(Error::Interrupted { step: record.step });
        }
        Ok(record)
    }

    /// One step whatever the loss and whatever was requested meanwhile: for the training loop,
    /// which records the step before it reads the interrupt flag.
    fn step_recorded(&mut self, total: usize, lr: Option<f64>) -> Result<StepRecord> {
        let t = self.step;
        if self
            .config
            .faults
            .iter()
            .any(|f| f.kind == crate::config::FaultKind::LoseDevice && f.step == Some(t))
        {
            self.gpu.destroy();
        }
        let mut u = self.step_uniform(t, total);
        if let Some(lr) = lr {
            u.lr = lr as f32;
        }
        let indices = self.sampler.next_batch().to_vec();
        let tracked = self.track_every <= 1
            || t < self.track_first
            || t.is_multiple_of(self.track_every)
            || t + 1 >= total;
        let stats = self
            .plan
            .run_scheduled(self.gpu, &self.net, &indices, &u, tracked)?;
        self.step += 1;
        let l2 = self.config.training.l2;
        // Weight norms are reduced only with full instrumentation.
        let l2_term = if l2 <= 0.0 {
            Some(0.0)
        } else if stats.weights.is_empty() {
            None
        } else {
            Some(
                0.5 * l2
                    * self
                        .net
                        .infos
                        .iter()
                        .zip(&stats.weights)
                        .filter(|(i, _)| i.regularized())
                        .map(|(_, s)| s.sumsq)
                        .sum::<f64>(),
            )
        };
        let batch_accuracy = self.config.loss.name.is_classification().then(|| {
            // A sequence model predicts every scored position (the weight counts them).
            if self.model.predictions() > 1 {
                stats.correct / stats.total_weight.max(1.0)
            } else {
                stats.correct / self.plan.batch as f64
            }
        });
        Ok(StepRecord {
            step: t,
            lr: u.lr as f64,
            loss: stats.loss,
            l2_term,
            batch_accuracy,
            validation_loss: None,
            validation_accuracy: None,
            stats,
        })
    }

    /// Continues from `checkpoint`, whose weights this trainer was built with: the
    /// optimizer's moments, the step count, and the batch order replayed up to it.
    pub fn resume(&mut self, checkpoint: &Checkpoint) {
        self.net.set_moments(self.gpu, &checkpoint.m, &checkpoint.v);
        for _ in 0..checkpoint.step {
            self.sampler.next_batch();
        }
        self.step = checkpoint.step;
    }

    /// Steps taken so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Runs the next step with per-kernel GPU timing (see `BatchPlan::profile`).
    pub fn profile_step(&mut self, total: usize) -> Result<Vec<crate::plan::DispatchTime>> {
        let u = self.step_uniform(self.step, total);
        let indices = self.sampler.next_batch().to_vec();
        self.step += 1;
        self.plan.profile(self.gpu, &self.net, &indices, &u)
    }

    /// Loss and accuracy over the whole training set in evaluation mode.
    pub fn evaluate(&self) -> Result<(f64, Option<f64>)> {
        evaluate(self.gpu, &self.net, &self.data, &self.config)
    }
}

/// Evaluation plans covering every example of a dataset in chunks of at most 4096 (fewer when
/// a layer's output for 4096 examples would not fit one storage binding, as an image layer's
/// can): one plan for the full chunks and one for the remainder.
pub struct EvalPlans {
    pub plans: Vec<BatchPlan>,
    n: usize,
}

impl EvalPlans {
    pub const CHUNK: usize = 4096;

    /// Examples per chunk: `CHUNK`, or as many as keep the widest activation within one
    /// storage binding.
    pub fn chunk(gpu: &Gpu, model: &Graph) -> usize {
        let widest = model
            .tensors
            .iter()
            .map(|t| t.shape.len())
            .max()
            .unwrap_or(1)
            .max(1) as u64;
        let fits = gpu.limits().max_storage_buffer_binding_size / (4 * widest);
        (fits as usize).clamp(1, Self::CHUNK)
    }

    pub fn new(gpu: &Gpu, net: &DeviceNetwork, data: &DeviceData, config: &Config) -> Result<Self> {
        Self::first(gpu, net, data, config, data.n)
    }

    /// Evaluation plans over the first `n` examples of `data` (all of them when `n` is larger).
    pub fn first(
        gpu: &Gpu,
        net: &DeviceNetwork,
        data: &DeviceData,
        config: &Config,
        n: usize,
    ) -> Result<Self> {
        let opts = PlanOptions::from_config(config, Instrumentation::Bare);
        let n = n.clamp(1, data.n.max(1));
        let full = n.min(Self::chunk(gpu, &net.graph));
        let mut plans = vec![BatchPlan::new(gpu, net, data, full, PlanMode::Eval, &opts)?];
        let rest = n % full;
        if rest > 0 && n > full {
            plans.push(BatchPlan::new(gpu, net, data, rest, PlanMode::Eval, &opts)?);
        }
        Ok(EvalPlans { plans, n })
    }

    /// The examples these plans cover.
    pub fn examples(&self) -> usize {
        self.n
    }

    /// Mean loss and accuracy over the dataset; `extras[i]` are encoded after each run of
    /// `plans[i]` (probes such as unit activity counts).
    pub fn run(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        config: &Config,
        extras: &[Vec<Dispatch>],
    ) -> Result<(f64, Option<f64>)> {
        self.run_from(gpu, net, config, extras, 0)
    }

    /// Like [`EvalPlans::run`] over the examples from `start` on (a whole number of chunks:
    /// the chunks before it ran already); loss and accuracy are those of these examples.
    pub fn run_from(
        &self,
        gpu: &Gpu,
        net: &DeviceNetwork,
        config: &Config,
        extras: &[Vec<Dispatch>],
        start: usize,
    ) -> Result<(f64, Option<f64>)> {
        let (mut loss_w, mut weight, mut correct) = (0.0, 0.0, 0.0);
        let examples = self.n.saturating_sub(start);
        let mut start = start;
        let u = StepUniform::default();
        let none = Vec::new();
        while start < self.n {
            let which = if self.n - start >= self.plans[0].batch {
                0
            } else {
                1
            };
            let plan = &self.plans[which];
            let idx: Vec<u32> = (start as u32..(start + plan.batch) as u32).collect();
            let s = plan.run_with(gpu, net, &idx, &u, extras.get(which).unwrap_or(&none))?;
            // The loss is a weighted mean per chunk; recombine with each chunk's weight (for
            // MSE the weight is the batch size, matching its per-example mean).
            loss_w += s.loss * s.total_weight;
            weight += s.total_weight;
            correct += s.correct;
            start += plan.batch;
        }
        let accuracy = config.loss.name.is_classification().then(|| {
            if net.graph.predictions() > 1 {
                correct / weight.max(1.0)
            } else {
                correct / examples as f64
            }
        });
        Ok((loss_w / weight, accuracy))
    }
}

/// Loss and accuracy over every example of `data` in evaluation mode.
pub fn evaluate(
    gpu: &Gpu,
    net: &DeviceNetwork,
    data: &DeviceData,
    config: &Config,
) -> Result<(f64, Option<f64>)> {
    EvalPlans::new(gpu, net, data, config)?.run(gpu, net, config, &[])
}

/// Trains per the config for `steps` steps (default: the config's), calling `on_step` with each
/// record as soon as it is read back.
pub fn train<'g>(
    gpu: &'g Gpu,
    config: &Config,
    data: impl Into<LoadedData>,
    steps: Option<usize>,
    instrumentation: Instrumentation,
    on_step: impl FnMut(&StepRecord),
) -> Result<(TrainSummary, Trainer<'g>)> {
    let options = TrainOptions {
        steps,
        instrumentation,
        ..Default::default()
    };
    let outcome = train_with(gpu, config, data.into(), &options, on_step)?;
    Ok((outcome.summary, outcome.trainer))
}

/// Periodic evaluation (`--eval-every`) needs a validation split to evaluate on.
pub fn check_eval_every(eval_every: Option<usize>, data: &LoadedData) -> Result<()> {
    if eval_every.is_some() && data.validation.is_none() {
        return Err(Error::Usage(
            "--eval-every needs a validation split (`data: {..., validation: 0.2}`)".into(),
        ));
    }
    Ok(())
}

/// Trains per the config and `options`, calling `on_step` with each record as soon as it is
/// read back; evaluates on the training and validation data at the end.
pub fn train_with<'g>(
    gpu: &'g Gpu,
    config: &Config,
    data: LoadedData,
    options: &TrainOptions,
    mut on_step: impl FnMut(&StepRecord),
) -> Result<TrainOutcome<'g>> {
    let total = options.steps.unwrap_or(config.training.steps);
    if let Some(k) = options.capture_step.filter(|k| *k >= total) {
        return Err(Error::Usage(format!(
            "--dump-step {k} is past the run's last step ({})",
            total.saturating_sub(1)
        )));
    }
    check_eval_every(options.eval_every, &data)?;
    let LoadedData { train, validation } = data;
    let summary_of_data = train.summary();
    // The validation split on the device once, for the evaluations during training.
    let periodic = match (options.eval_every, &validation) {
        (Some(n), Some(v)) if n > 0 => Some((n, DeviceData::upload(gpu, v)?)),
        _ => None,
    };
    let initial = options.resume.as_ref().map(|c| c.params.clone());
    let mut trainer = Trainer::new(gpu, config, train, options.instrumentation, initial)?;
    let first = match &options.resume {
        Some(c) => {
            trainer.resume(c);
            c.step
        }
        None => 0,
    };
    if let Some(k) = options.capture_step.filter(|k| *k < first) {
        return Err(Error::Usage(format!(
            "--dump-step {k} is before the resumed run's first step ({first})"
        )));
    }
    let start = Instant::now();
    let mut last = f64::NAN;
    let mut captured = None;
    let mut first_nonfinite = None;
    let keep_going = config.training.on_nonfinite == crate::config::OnNonFinite::Continue;
    for t in first..total {
        let r = if options.capture_step == Some(t) {
            let (r, tensors) = capture::capture_step(&mut trainer, total)?;
            if let Some(path) = &options.dump_to {
                capture::write(path, &tensors, &trainer, config, r.step)?;
            }
            captured = Some((r.clone(), tensors));
            r
        } else {
            trainer.step_recorded(total, None)?
        };
        let mut r = r;
        if let Some((n, device)) = &periodic {
            if (t + 1) % n == 0 || t + 1 == total {
                let (l, a) = evaluate(gpu, &trainer.net, device, config)?;
                r.validation_loss = Some(l);
                r.validation_accuracy = a;
            }
        }
        last = r.loss;
        // The caller records the step first, so a NaN step or the last step before an
        // interrupt is kept.
        on_step(&r);
        if !r.loss.is_finite() {
            if !keep_going {
                return Err(Error::NonFinite { step: r.step });
            }
            first_nonfinite.get_or_insert(r.step);
        }
        if crate::interrupt::requested() {
            return Err(interrupted(
                &trainer,
                total,
                r.step,
                options.checkpoint.as_ref(),
            ));
        }
        if let Some(to) = &options.checkpoint {
            if to.every.is_some_and(|n| (t + 1) % n == 0 || t + 1 == total) {
                checkpoint::save(&to.path, &trainer, total)?;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let (loss, train_accuracy) = trainer.evaluate()?;
    let (validation_loss, validation_accuracy) = match &validation {
        Some(v) => {
            let device = DeviceData::upload(gpu, v)?;
            let (l, a) = evaluate(gpu, &trainer.net, &device, config)?;
            (Some(l), a)
        }
        None => (None, None),
    };
    let info = gpu.info();
    let summary = TrainSummary {
        steps: total,
        loss,
        train_accuracy,
        last_batch_loss: last,
        seconds,
        steps_per_second: total.saturating_sub(first) as f64 / seconds.max(1e-9),
        adapter: info.name.clone(),
        backend: format!("{:?}", info.backend).to_lowercase(),
        model: trainer.model.describe(),
        parameters: trainer.model.param_count(),
        dataset: summary_of_data.name.clone(),
        dataset_hash: summary_of_data.hash.clone(),
        data: summary_of_data,
        validation: validation.as_ref().map(Dataset::summary),
        validation_loss,
        validation_accuracy,
        first_nonfinite,
        resumed_from: options.resume.as_ref().map(|c| c.step),
    };
    Ok(TrainOutcome {
        summary,
        trainer,
        captured,
    })
}

/// The error of a run interrupted after `step`: with its state saved where `to` says, the
/// error names the checkpoint and the command that resumes it. A checkpoint that cannot be
/// written leaves the plain interruption (the records so far are kept either way).
fn interrupted(trainer: &Trainer, total: usize, step: usize, to: Option<&CheckpointTo>) -> Error {
    let Some(to) = to else {
        return Error::Interrupted { step };
    };
    match checkpoint::save(&to.path, trainer, total) {
        Ok(()) => Error::InterruptedResumable {
            step,
            checkpoint: to.path.clone(),
            resume: to.resume_command.clone(),
        },
        Err(e) => {
            eprintln!("warning: the checkpoint could not be saved: {e}");
            Error::Interrupted { step }
        }
    }
}
