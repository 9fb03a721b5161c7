//! What checks share: the GPU, the case's config and data, the built model, and one
//! instrumented training run (the observation) that several checks read instead of each
//! training again.

use crate::config::Config;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Dispatch, Gpu, Tensor, TensorUsage};
use crate::graph::{Graph, Op, ParamInfo, TensorId};
use crate::kernels::{
    histogram_groups, BatchNormParams, CountPositiveParams, HistogramParams, StepUniform,
    BATCHNORM_TRAIN, COUNT_POSITIVE, HISTOGRAM, HISTOGRAM_MAX_BINS, REDUCE_WIDTH,
};
use crate::ops::Activation;
use crate::plan::reduction;
use crate::train::{BatchPlan, EvalPlans, Instrumentation, StepRecord, Trainer};

/// The shared instrumented training run.
#[derive(Clone, Debug)]
pub struct Observation {
    /// Every step's record, up to and including the first non-finite loss.
    pub records: Vec<StepRecord>,
    pub infos: Vec<ParamInfo>,
    /// The name of each reduced activation tensor (`StepStats::acts` order).
    pub activation_names: Vec<String>,
    /// Per node: for ReLU-family nodes, how many examples of the dataset make each unit
    /// positive (a unit: a feature, a channel of an image, a feature of a sequence over its
    /// positions), before training and after the observation run.
    pub activity_before: Vec<Option<Vec<u32>>>,
    pub activity_after: Vec<Option<Vec<u32>>>,
    /// Loss and accuracy over the dataset after the run (absent after a non-finite loss).
    pub final_eval: Option<(f64, Option<f64>)>,
    /// Per node: for tanh and sigmoid nodes, the fraction of outputs over the dataset that
    /// are saturated (|y| > 0.99 for tanh, y < 0.01 or y > 0.99 for sigmoid), before and after.
    pub saturation_before: Vec<Option<f64>>,
    pub saturation_after: Vec<Option<f64>>,
    /// Histograms of every activation tensor over the dataset at several steps of the run.
    pub histograms: Vec<HistogramSnapshot>,
    /// `training.track_every` of the run (see [`Observation::sampled`]).
    pub track_every: usize,
    /// The model's attention layers and residual blocks, and their measurements on a probe
    /// batch at the histograms' steps and after the last step (see `snapshots`).
    pub attention_sites: Vec<super::snapshots::AttentionSite>,
    pub residual_sites: Vec<super::snapshots::ResidualSite>,
    pub snapshots: Vec<super::snapshots::Snapshot>,
    /// The loss and gradient norm's course over the run, against its start and chance.
    pub trajectory: super::trajectory::Trajectory,
}

/// Steps at the start of the observation run tracked whatever `training.track_every` says: the
/// windows of `gradient_flow` (50 steps) and `regularization` (10) read them, and a schedule
/// of every 50th step would leave them one sample.
pub const TRACK_FIRST: usize = 50;

/// The decrease of the loss below which the checks gated on a symptom report what they see.
pub const SYMPTOM_DECREASE: f64 = 0.1;

impl Observation {
    /// The records of the first `window` steps whose statistics were all gathered (every step
    /// unless `training.track_every` thins them out).
    pub fn tracked(&self, window: usize) -> Vec<&StepRecord> {
        self.records[..self.records.len().min(window.max(1))]
            .iter()
            .filter(|r| r.stats.tracked)
            .collect()
    }

    /// The tracked records spread evenly over the whole run: steps 0, n, 2n, … of the track
    /// schedule and the last, without the extra [`TRACK_FIRST`] steps at the start (which
    /// would weigh the start of training in a median over the run).
    pub fn sampled(&self) -> Vec<&StepRecord> {
        let every = self.track_every.max(1);
        let last = self.records.len().saturating_sub(1);
        self.records
            .iter()
            .enumerate()
            .filter(|(i, r)| r.stats.tracked && (r.step.is_multiple_of(every) || *i == last))
            .map(|(_, r)| r)
            .collect()
    }
}

/// Histograms of every activation tensor over the dataset's first `examples` examples
/// ([`histogram_examples`]; evaluation mode) before `step`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HistogramSnapshot {
    pub step: usize,
    pub examples: usize,
    pub layers: Vec<LayerHistogram>,
}

/// Counts of one activation tensor's values in `counts.len()` equal bins over [lo, hi);
/// values outside fall in the edge bins. `layer` is the tensor's position among the
/// activations (`Graph::activations`): for a layer list, the layer's index.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerHistogram {
    pub layer: usize,
    /// The tensor's name (`act.3`, `act.2.1`).
    pub name: String,
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u32>,
}

/// Bins per activation histogram.
pub const HISTOGRAM_BINS: usize = 32;

/// The most examples an activation histogram snapshot counts (the first of the dataset):
/// eleven snapshots over a large dataset would cost more than the training they watch.
pub const HISTOGRAM_EXAMPLES: usize = 1024;

/// The fewest examples a snapshot counts where the run is short (or all, where fewer).
pub const HISTOGRAM_MIN_EXAMPLES: usize = 256;

/// Examples each histogram snapshot counts: as many as keep the eleven snapshots together
/// within the examples the observation run trains on (`steps` × `batch`), between
/// [`HISTOGRAM_MIN_EXAMPLES`] and [`HISTOGRAM_EXAMPLES`]. At 1024 examples each, the snapshots
/// of the shipped transformer suite (200 steps at batch 16) took 12 s on lavapipe against 7.4 s
/// for the training itself.
pub fn histogram_examples(steps: usize, batch: usize) -> usize {
    (steps.saturating_mul(batch) / HISTOGRAM_SNAPSHOTS)
        .clamp(HISTOGRAM_MIN_EXAMPLES, HISTOGRAM_EXAMPLES)
}

/// Activation histogram snapshots per observation run (every tenth of it): the report's heat
/// map shows one column each, and five were too few to see when a distribution moved.
pub const HISTOGRAM_SNAPSHOTS: usize = 11;

/// `count` steps spread evenly over a run of `steps`, from its first to its last.
fn evenly_spaced(steps: usize, count: usize) -> Vec<usize> {
    (0..count)
        .map(|i| i * steps.saturating_sub(1) / (count - 1).max(1))
        .collect()
}

impl Observation {
    /// Whether training shows a symptom: the loss did not fall by at least 10 % from its
    /// start, rose, diverged (finite or not) or climbed back to chance (see `trajectory`).
    pub fn has_symptom(&self) -> bool {
        self.trajectory.course(SYMPTOM_DECREASE).is_symptom()
    }

    pub fn window(&self) -> String {
        format!("steps 0–{}", self.records.len().saturating_sub(1))
    }
}

pub struct Context<'g> {
    pub gpu: &'g Gpu,
    pub config: Config,
    pub dataset: Dataset,
    pub model: Graph,
    /// Steps of the observation run: the config's steps, at most `max_observe_steps`.
    pub observe_steps: usize,
    observation: Option<Observation>,
    /// The network after the observation run, for checks that probe a trained model.
    trained: Option<Trainer<'g>>,
    /// Whether the observation run takes activation histograms (a nested context that only
    /// runs a few checks, as `grow`'s, leaves them out).
    pub histograms: bool,
}

impl<'g> Context<'g> {
    pub fn new(
        gpu: &'g Gpu,
        config: Config,
        dataset: Dataset,
        max_observe_steps: usize,
    ) -> Result<Self> {
        let model = crate::model::build(&config.model, crate::model::DataShape::of(&dataset))?;
        // Errors every check would hit: report them once, as the config errors they are.
        crate::model::check_output(config.loss.name, &model, dataset.y_width, dataset.classes)?;
        if config.training.batch_size > dataset.n {
            return Err(crate::Error::Usage(format!(
                "training.batch_size {} is larger than the dataset ({} examples)",
                config.training.batch_size, dataset.n
            )));
        }
        let observe_steps = config.training.steps.min(max_observe_steps).max(1);
        Ok(Context {
            gpu,
            config,
            dataset,
            model,
            observe_steps,
            observation: None,
            trained: None,
            histograms: true,
        })
    }

    /// A trainer for `config` on `dataset` (both may differ from the case's own).
    pub fn trainer(
        &self,
        config: &Config,
        dataset: Dataset,
        inst: Instrumentation,
    ) -> Result<Trainer<'g>> {
        Trainer::new(self.gpu, config, dataset, inst, None)
    }

    /// The case's config with L2, weight decay and dropout off (for measurements the checklist
    /// wants without regularization).
    pub fn config_without_regularization(&self) -> Config {
        let mut c = self.config.clone();
        c.training.l2 = 0.0;
        c.training.weight_decay = 0.0;
        c.model.without_dropout = true;
        c
    }

    /// The observation run if a check has asked for it already (never trains).
    pub fn observed(&self) -> Option<&Observation> {
        self.observation.as_ref()
    }

    /// The observation run, trained on first use.
    pub fn observation(&mut self) -> Result<&Observation> {
        if self.observation.is_none() {
            let (obs, trainer) = self.observe()?;
            self.observation = Some(obs);
            self.trained = Some(trainer);
        }
        Ok(self.observation.as_ref().expect("set above"))
    }

    /// The model beside the observation run (for checks that read both).
    pub fn model_and_observation(&mut self) -> Result<(&Graph, &Observation)> {
        self.observation()?;
        Ok((
            &self.model,
            self.observation.as_ref().expect("set by observation()"),
        ))
    }

    /// The trainer after the observation run (its weights trained for `observe_steps`).
    pub fn trained(&mut self) -> Result<&Trainer<'g>> {
        self.observation()?;
        Ok(self.trained.as_ref().expect("set with the observation"))
    }

    fn observe(&self) -> Result<(Observation, Trainer<'g>)> {
        let mut trainer =
            self.trainer(&self.config, self.dataset.clone(), Instrumentation::Full)?;
        trainer.track_every = self.config.training.track_every;
        trainer.track_first = TRACK_FIRST;
        let activity_before = unit_activity(self.gpu, &trainer)?;
        let saturation_before = saturation(self.gpu, &trainer)?;
        let mut records = Vec::with_capacity(self.observe_steps);
        // Activation histograms at every tenth of the run, each binned over the layer's own
        // range at that point: bins fixed at the step-0 range put 856 of 900 logits in the two
        // edge bins by step 199 of the default suite (their std had grown from 0.1 to 4).
        let marks = evenly_spaced(self.observe_steps, 5);
        let histogram_marks = evenly_spaced(self.observe_steps, HISTOGRAM_SNAPSHOTS);
        let mut histograms: Vec<HistogramSnapshot> = Vec::new();
        let attention_sites = super::snapshots::attention_sites(&self.model);
        let residual_sites = super::snapshots::residual_sites(&self.model);
        let probe = |trainer: &Trainer, step: usize| {
            super::snapshots::snapshot(self.gpu, trainer, &attention_sites, &residual_sites, step)
        };
        let mut snapshots = Vec::new();
        for step in 0..self.observe_steps {
            if self.histograms
                && histogram_marks.contains(&step)
                && histograms.last().is_none_or(|h| h.step != step)
            {
                let examples =
                    histogram_examples(self.observe_steps, self.config.training.batch_size)
                        .min(self.dataset.n);
                histograms.push(HistogramSnapshot {
                    step,
                    examples,
                    layers: activation_histograms(self.gpu, &trainer, examples)?,
                });
            }
            if marks.contains(&step)
                && snapshots
                    .last()
                    .is_none_or(|s: &super::snapshots::Snapshot| s.step != step)
            {
                snapshots.push(probe(&trainer, step)?);
            }
            let r = trainer.step_with(self.observe_steps, None)?;
            let stop = !r.loss.is_finite();
            records.push(r);
            if stop {
                break;
            }
        }
        let finite = records.iter().all(|r| r.loss.is_finite());
        if finite {
            snapshots.push(probe(&trainer, records.len())?);
        }
        let activity_after = unit_activity(self.gpu, &trainer)?;
        let saturation_after = saturation(self.gpu, &trainer)?;
        let final_eval = if finite {
            Some(trainer.evaluate()?)
        } else {
            None
        };
        let chance =
            super::trajectory::chance_loss(&self.config, &self.dataset, self.model.output_width())
                .map(|(c, _)| c);
        let trajectory =
            super::trajectory::Trajectory::of(&records, self.config.training.batch_size, chance);
        let obs = Observation {
            records,
            infos: trainer.net.infos.clone(),
            activation_names: trainer
                .model
                .activations()
                .into_iter()
                .map(|t| trainer.model.tensors[t].name.clone())
                .collect(),
            activity_before,
            activity_after,
            final_eval,
            saturation_before,
            saturation_after,
            histograms,
            track_every: trainer.track_every,
            attention_sites,
            residual_sites,
            snapshots,
            trajectory,
        };
        Ok((obs, trainer))
    }
}

/// Per-channel mean and 1/sqrt(var + eps) of one layer's values.
pub struct Moments {
    pub mean: Vec<f32>,
    pub invstd: Vec<f32>,
}

/// Per channel (per feature of a vector) of the batch-norm input at each `(layer, eps)`
/// target, its mean and 1/sqrt(var + eps) over the first evaluation chunk (up to 4096
/// examples, evaluation mode), measured by the batch-norm statistics kernel into scratch
/// buffers (one normalized-output scratch shared by every probe: it is never read).
/// `layer` is a tensor (it indexes `BatchPlan::acts`: 0 is the input, for a layer list i + 1
/// layer i's output).
/// Returns the number of examples measured and the moments per target.
pub fn channel_moments(
    gpu: &Gpu,
    trainer: &Trainer,
    targets: &[(usize, f64)],
) -> Result<(usize, Vec<Moments>)> {
    let model = &trainer.model;
    let plans = EvalPlans::new(gpu, &trainer.net, &trainer.data, &trainer.config)?;
    let plan = &plans.plans[0];
    let shape_of = |act: usize| model.tensors[act].shape;
    let widest = targets
        .iter()
        .map(|&(act, _)| shape_of(act).len())
        .max()
        .unwrap_or(1);
    let y = gpu.tensor("probe.y", plan.batch * widest, TensorUsage::Storage)?;
    let mut probes = Vec::new();
    let mut outputs = Vec::new();
    for &(act, eps) in targets {
        let shape = shape_of(act);
        let width = shape.features();
        let ones = gpu.tensor_from("probe.gamma", &vec![1.0f32; width])?;
        let zeros = gpu.tensor_from("probe.beta", &vec![0.0f32; width])?;
        let mean = gpu.tensor("probe.mean", width, TensorUsage::Storage)?;
        let invstd = gpu.tensor("probe.invstd", width, TensorUsage::Storage)?;
        let rm = gpu.tensor("probe.running_mean", width, TensorUsage::Storage)?;
        let rv = gpu.tensor("probe.running_var", width, TensorUsage::Storage)?;
        let u = gpu.uniform(
            "batchnorm",
            &BatchNormParams::new(plan.batch, shape, eps, 0.0),
        )?;
        probes.push(gpu.dispatch(
            &BATCHNORM_TRAIN,
            &[],
            &[
                &u,
                &plan.acts[act].buffer,
                &ones.buffer,
                &zeros.buffer,
                &y.buffer,
                &mean.buffer,
                &invstd.buffer,
                &rm.buffer,
                &rv.buffer,
            ],
            [(width as u32).div_ceil(64), 1, 1],
        )?);
        outputs.push((mean, invstd));
    }
    let idx: Vec<u32> = (0..plan.batch as u32).collect();
    plan.run_with(gpu, &trainer.net, &idx, &StepUniform::default(), &probes)?;
    let moments = outputs
        .iter()
        .map(|(m, s)| {
            Ok(Moments {
                mean: gpu.read::<f32>(m)?,
                invstd: gpu.read::<f32>(s)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((plan.batch, moments))
}

/// Runs the evaluation plans over the whole dataset with one probe dispatch per plan and per
/// `(tensor, counter length)` target, each accumulating into its own zeroed u32 buffer, and
/// returns the counters.
fn probe(
    gpu: &Gpu,
    trainer: &Trainer,
    targets: &[(usize, usize)],
    examples: usize,
    make: impl Fn(&BatchPlan, usize, &Tensor) -> Result<Dispatch>,
) -> Result<Vec<Vec<u32>>> {
    // A model without the probed layers needs no pass over the dataset.
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let counters: Vec<Tensor> = targets
        .iter()
        .map(|&(layer, len)| zeroed_counter(gpu, trainer, layer, len))
        .collect::<Result<_>>()?;
    let plans = EvalPlans::first(gpu, &trainer.net, &trainer.data, &trainer.config, examples)?;
    let extras = plans
        .plans
        .iter()
        .map(|plan| {
            targets
                .iter()
                .zip(&counters)
                .map(|(&(layer, _), c)| make(plan, layer, c))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    plans.run(gpu, &trainer.net, &trainer.config, &extras)?;
    counters.iter().map(|c| gpu.read::<u32>(c)).collect()
}

/// A u32 counter of `len` zeros for a probe of tensor `t`.
fn zeroed_counter(gpu: &Gpu, trainer: &Trainer, t: TensorId, len: usize) -> Result<Tensor> {
    let c = gpu.tensor(
        &format!("{}.probe", trainer.model.tensors[t].name),
        len,
        TensorUsage::Storage,
    )?;
    gpu.write(&c.buffer, &vec![0u32; len]);
    Ok(c)
}

/// For each ReLU and leaky-ReLU node, per unit (a feature; a channel of an image; a feature of
/// a sequence, over its positions) the number of positive outputs over the dataset in
/// evaluation mode (examples, times pixels or positions); `None` for other nodes. Counted on
/// the GPU by `count_positive`.
pub fn unit_activity(gpu: &Gpu, trainer: &Trainer) -> Result<Vec<Option<Vec<u32>>>> {
    let model = &trainer.model;
    let nodes = model.activation_nodes(&[Activation::Relu, Activation::LeakyRelu]);
    let targets: Vec<(TensorId, usize)> = nodes
        .iter()
        .map(|&i| {
            let out = &model.nodes[i];
            (out.output(), out.out_shape.unit_layout().1)
        })
        .collect();
    let counts = probe(
        gpu,
        trainer,
        &targets,
        usize::MAX,
        |plan, tensor, counts| {
            let (rows, width, spatial) = model.tensors[tensor].shape.unit_layout();
            let u = gpu.uniform(
                "count_positive",
                &CountPositiveParams {
                    rows: (plan.batch * rows) as u32,
                    features: width as u32,
                    spatial: spatial as u32,
                    _pad: 0,
                },
            )?;
            gpu.dispatch(
                &COUNT_POSITIVE,
                &[],
                &[&u, &plan.acts[tensor].buffer, &counts.buffer],
                [(width as u32).div_ceil(64), 1, 1],
            )
        },
    )?;
    let mut out: Vec<Option<Vec<u32>>> = vec![None; model.nodes.len()];
    for (node, c) in nodes.iter().zip(counts) {
        out[*node] = Some(c);
    }
    Ok(out)
}

/// Saturated fraction of each tanh and sigmoid node's outputs over the dataset, from GPU
/// histograms whose edge bins are the saturated ranges.
pub fn saturation(gpu: &Gpu, trainer: &Trainer) -> Result<Vec<Option<f64>>> {
    let model = &trainer.model;
    let nodes: Vec<(usize, TensorId, usize, f32, f32)> = model
        .nodes
        .iter()
        .filter_map(|n| match n.op {
            Op::Activation {
                kind: Activation::Tanh,
                ..
            } => Some((n.index, n.output(), 200, -1.0, 1.0)),
            Op::Activation {
                kind: Activation::Sigmoid,
                ..
            } => Some((n.index, n.output(), 100, 0.0, 1.0)),
            _ => None,
        })
        .collect();
    let targets: Vec<(TensorId, usize, f32, f32)> = nodes
        .iter()
        .map(|&(_, t, bins, lo, hi)| (t, bins, lo, hi))
        .collect();
    let hists = output_histograms(gpu, trainer, &targets, usize::MAX)?;
    let mut out = vec![None; model.nodes.len()];
    for (&(node, _, bins, _, _), h) in nodes.iter().zip(hists) {
        let total: u64 = h.iter().map(|&c| c as u64).sum();
        let edge = h[0] as u64 + h[bins - 1] as u64;
        out[node] = Some(edge as f64 / total.max(1) as f64);
    }
    Ok(out)
}

/// Histograms (`bins` over [lo, hi)) of the tensors `targets` over the whole dataset in
/// evaluation mode, computed on the GPU.
pub fn output_histograms(
    gpu: &Gpu,
    trainer: &Trainer,
    targets: &[(TensorId, usize, f32, f32)],
    examples: usize,
) -> Result<Vec<Vec<u32>>> {
    let counters: Vec<(usize, usize)> = targets.iter().map(|&(t, bins, _, _)| (t, bins)).collect();
    probe(gpu, trainer, &counters, examples, |plan, tensor, counts| {
        let &(_, bins, lo, hi) = targets
            .iter()
            .find(|t| t.0 == tensor)
            .expect("target from this list");
        histogram(gpu, &plan.acts[tensor], bins, lo, hi, counts)
    })
}

/// The dispatch adding the histogram of `x` (`bins` over [lo, hi)) into `counts`.
fn histogram(
    gpu: &Gpu,
    x: &Tensor,
    bins: usize,
    lo: f32,
    hi: f32,
    counts: &Tensor,
) -> Result<Dispatch> {
    debug_assert!(bins <= HISTOGRAM_MAX_BINS, "{bins} histogram bins");
    let u = gpu.uniform(
        "histogram",
        &HistogramParams {
            n: x.len as u32,
            bins: bins as u32,
            lo,
            hi,
        },
    )?;
    gpu.dispatch(
        &HISTOGRAM,
        &[],
        &[&u, &x.buffer, &counts.buffer],
        histogram_groups(x.len, gpu.limits().max_compute_workgroups_per_dimension),
    )
}

/// Histograms of every activation tensor over the dataset's first `examples` examples at the
/// current weights, each over its own range there, widened by a thousandth of
/// its width on each side so that the largest value falls inside the last bin. One forward pass
/// serves both: the first chunk's reduces each activation's range, and its activations, still
/// in place, are binned once the ranges are read back; only further chunks (where an image
/// layer's output for that many examples needs several) run again, with the histograms alone,
/// their values outside the first chunk's range counted in the edge bins.
fn activation_histograms(
    gpu: &Gpu,
    trainer: &Trainer,
    examples: usize,
) -> Result<Vec<LayerHistogram>> {
    let activations = trainer.model.activations();
    let plans = EvalPlans::first(gpu, &trainer.net, &trainer.data, &trainer.config, examples)?;
    let first = &plans.plans[0];
    let stats = gpu.tensor(
        "activation ranges",
        activations.len() * REDUCE_WIDTH,
        TensorUsage::Storage,
    )?;
    let jobs: Vec<(&Tensor, usize)> = activations
        .iter()
        .enumerate()
        .map(|(slot, &t)| (&first.acts[t], slot * REDUCE_WIDTH))
        .collect();
    let reductions = reduction::reduce_all(gpu, &jobs, &stats)?;
    let idx: Vec<u32> = (0..first.batch as u32).collect();
    first.run_with(
        gpu,
        &trainer.net,
        &idx,
        &StepUniform::default(),
        &reductions,
    )?;
    let s: Vec<f32> = gpu.read(&stats)?;
    let ranges: Vec<(f32, f32)> = (0..activations.len())
        .map(|slot| {
            let (lo, hi) = (s[slot * REDUCE_WIDTH + 2], s[slot * REDUCE_WIDTH + 3]);
            let pad = ((hi - lo) * 1e-3).max(1e-6);
            (lo - pad, hi + pad)
        })
        .collect();
    let counters = activations
        .iter()
        .map(|&t| zeroed_counter(gpu, trainer, t, HISTOGRAM_BINS))
        .collect::<Result<Vec<_>>>()?;
    let binning = |plan: &BatchPlan| {
        activations
            .iter()
            .zip(&ranges)
            .zip(&counters)
            .map(|((&t, &(lo, hi)), c)| histogram(gpu, &plan.acts[t], HISTOGRAM_BINS, lo, hi, c))
            .collect::<Result<Vec<_>>>()
    };
    let extras = plans
        .plans
        .iter()
        .map(binning)
        .collect::<Result<Vec<_>>>()?;
    gpu.run(&extras[0])?;
    // Further chunks: a remainder plan, or more full chunks of the first plan.
    if plans.examples() > first.batch {
        plans.run_from(gpu, &trainer.net, &trainer.config, &extras, first.batch)?;
    }
    activations
        .iter()
        .enumerate()
        .zip(ranges.iter().zip(&counters))
        .map(|((slot, &t), (&(lo, hi), c))| {
            Ok(LayerHistogram {
                layer: slot,
                name: trainer.model.tensors[t].name.clone(),
                lo,
                hi,
                counts: gpu.read::<u32>(c)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_snapshots_count_no_more_examples_than_the_run_trains_on_within_bounds() {
        // The shipped transformer suite: 200 observed steps at batch 16.
        assert_eq!(histogram_examples(200, 16), 3200 / HISTOGRAM_SNAPSHOTS);
        assert_eq!(histogram_examples(200, 100), HISTOGRAM_EXAMPLES);
        assert_eq!(histogram_examples(10, 8), HISTOGRAM_MIN_EXAMPLES);
        assert_eq!(histogram_examples(usize::MAX, 2), HISTOGRAM_EXAMPLES);
        assert_eq!(histogram_examples(0, 32), HISTOGRAM_MIN_EXAMPLES);
    }
}
