//! Diagnose parameters: dropout before batch norm (Li et al. 2019, "Understanding the
//! disharmony between dropout and batch normalization"). During training batch norm sees its
//! input with dropout's variance; at test time dropout is off and the real variance differs
//! from the running variance batch norm learnt. Per channel of every batch norm placed after a
//! dropout layer: max(real_var / running_var, running_var / real_var), the real variance
//! measured in evaluation mode over the dataset after the observation run.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{grade_upper, Check, Context, Finding, ParamDoc, Section, Verdict};
use crate::error::Result;
use crate::gpu::TensorUsage;
use crate::kernels::{BatchNormParams, StepUniform, BATCHNORM_TRAIN};
use crate::model::LayerSpec;
use crate::train::EvalPlans;

pub struct DropoutBn;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    pub warn: f64,
    pub fail: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            warn: 1.2,
            fail: 2.0,
        }
    }
}

impl Check for DropoutBn {
    const NAME: &'static str = "dropout_bn";
    const SECTION: Section = Section::DiagnoseParameters;
    const SUMMARY: &'static str =
        "variance shift of batch norm placed after dropout: real vs running variance per channel";
    const PARAMS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "warn",
            doc: "variance-shift ratio that warns",
        },
        ParamDoc {
            name: "fail",
            doc: "variance-shift ratio that fails",
        },
    ];
    type Params = Params;

    fn run(ctx: &mut Context, p: &Params) -> Result<Finding> {
        let f = Finding::new(
            Self::NAME,
            Self::SECTION,
            Verdict::Pass,
            "largest variance shift",
        );
        let layers = ctx.model.layers.clone();
        let targets: Vec<(usize, f64)> = layers
            .iter()
            .filter_map(|l| match l.spec {
                LayerSpec::BatchNorm { eps, .. }
                    if layers[..l.index]
                        .iter()
                        .any(|d| matches!(d.spec, LayerSpec::Dropout { rate } if rate > 0.0)) =>
                {
                    Some((l.index, eps))
                }
                _ => None,
            })
            .collect();
        if targets.is_empty() {
            return Ok(Finding {
                verdict: Verdict::Skip,
                ..f
            }
            .message("no batch norm after a dropout layer"));
        }
        let gpu = ctx.gpu;
        let trainer = ctx.trained()?;
        let state = trainer.net.download(gpu)?.state;
        let plans = EvalPlans::new(gpu, &trainer.net, &trainer.data, &trainer.config)?;
        // The first evaluation chunk (up to 4096 examples) measures the real input variance of
        // each batch norm with the batch-statistics kernel, into scratch buffers.
        let plan = &plans.plans[0];
        let mut probes = Vec::new();
        let mut outputs = Vec::new();
        for &(layer, eps) in &targets {
            let width = layers[layer].output;
            let ones = gpu.tensor_from("probe.gamma", &vec![1.0f32; width])?;
            let zeros = gpu.tensor_from("probe.beta", &vec![0.0f32; width])?;
            let y = gpu.tensor("probe.y", plan.batch * width, TensorUsage::Storage)?;
            let mean = gpu.tensor("probe.mean", width, TensorUsage::Storage)?;
            let invstd = gpu.tensor("probe.invstd", width, TensorUsage::Storage)?;
            let rm = gpu.tensor("probe.running_mean", width, TensorUsage::Storage)?;
            let rv = gpu.tensor("probe.running_var", width, TensorUsage::Storage)?;
            let u = gpu.uniform(
                "batchnorm",
                &BatchNormParams {
                    batch: plan.batch as u32,
                    features: width as u32,
                    eps: eps as f32,
                    momentum: 0.0,
                },
            )?;
            probes.push(gpu.dispatch(
                &BATCHNORM_TRAIN,
                &[],
                &[
                    &u,
                    &plan.acts[layer].buffer,
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
            outputs.push((layer, eps, invstd));
        }
        let idx: Vec<u32> = (0..plan.batch as u32).collect();
        plan.run_with(gpu, &trainer.net, &idx, &StepUniform::default(), &probes)?;
        let mut rows = Vec::new();
        let mut worst: Option<(f64, usize, usize)> = None;
        for (layer, eps, invstd) in outputs {
            let inv = gpu.read::<f32>(&invstd)?;
            let name = format!("layers.{layer}.running_var");
            let running = &state
                .iter()
                .find(|t| t.name == name)
                .expect("batch norm has running stats")
                .data;
            let mut layer_worst = 1.0f64;
            for (c, (&s, &rv)) in inv.iter().zip(running).enumerate() {
                let real = 1.0 / (s as f64).powi(2) - eps;
                let rv = rv as f64;
                // A constant channel (a dead unit feeding batch norm) has no variance to shift.
                if real <= eps || rv <= eps {
                    continue;
                }
                let shift = (real / rv).max(rv / real);
                layer_worst = layer_worst.max(shift);
                if worst.is_none_or(|w| shift.total_cmp(&w.0).is_gt()) {
                    worst = Some((shift, layer, c));
                }
            }
            rows.push(json!({"layer": layer, "max_variance_shift": layer_worst}));
        }
        let (shift, layer, channel) = worst.expect("at least one target");
        let verdict = grade_upper(shift, p.warn, p.fail);
        let f = Finding { verdict, ..f }
            .measured(shift)
            .threshold(format!("≤ {} (fail above {})", p.warn, p.fail))
            .margin(p.warn - shift)
            .window(format!(
                "after {} training steps; {} examples in evaluation mode",
                ctx.observe_steps, plan.batch
            ))
            .details(json!({"layers": rows}));
        Ok(if verdict == Verdict::Pass {
            f.message(format!(
                "batch norm after dropout sees a variance shift of at most {shift:.2}×"
            ))
        } else {
            f.message(format!(
                "batch norm layer {layer} channel {channel}: test-time variance differs {shift:.2}× from its running variance"
            ))
            .fix("move dropout after the last batch norm, or re-estimate the batch-norm statistics with dropout off")
        })
    }
}
