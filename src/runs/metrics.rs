//! One line of `metrics.jsonl`: a step's loss and learning rate, and, for instrumented runs,
//! every tensor's gradient norm and update/weight ratio and every layer's output mean and
//! standard deviation (what the HTML report plots and baselines compare).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::ParamInfo;
use crate::train::StepRecord;

#[derive(Clone, Debug, Serialize)]
pub struct StepLine<'a> {
    /// The suite variant (suites with `cases:` or `matrix:`; empty otherwise).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub case: &'a str,
    #[serde(flatten)]
    pub record: &'a StepRecord,
    /// ‖∇W‖ per parameter tensor, by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub grad_norm: BTreeMap<String, f64>,
    /// ‖ΔW‖ / ‖W‖ per linear weight (as the update_ratio check measures it; biases start at
    /// zero, where the ratio means nothing).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub update_ratio: BTreeMap<String, f64>,
    /// Mean and standard deviation of each activation tensor over the batch, by its name
    /// (`act.{i}` for layer i, `act.{i}.{j}` inside a block).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub act_mean: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub act_std: BTreeMap<String, f64>,
}

/// The line for `record`; `infos` name the parameter tensors and `activations` the reduced
/// activation tensors (both empty without statistics).
pub fn step_line<'a>(
    case: &'a str,
    record: &'a StepRecord,
    infos: &[ParamInfo],
    activations: &[String],
) -> StepLine<'a> {
    let s = &record.stats;
    let named = |f: &dyn Fn(usize) -> Option<f64>| -> BTreeMap<String, f64> {
        infos
            .iter()
            .enumerate()
            .filter_map(|(k, i)| f(k).map(|v| (i.name.clone(), v)))
            .collect()
    };
    let grad_norm = named(&|k| s.grads.get(k).map(|g| g.norm()));
    let update_ratio = named(&|k| {
        let (u, w) = (s.updates.get(k)?, s.weights.get(k)?);
        (infos[k].regularized() && w.norm() > 0.0).then(|| u.norm() / w.norm())
    });
    let acts = |f: fn(&crate::reference::ReduceStats) -> f64| -> BTreeMap<String, f64> {
        s.acts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let name = activations
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| format!("act.{i}"));
                (name, f(a))
            })
            .collect()
    };
    StepLine {
        case,
        record,
        grad_norm,
        update_ratio,
        act_mean: acts(|a| a.mean),
        act_std: acts(|a| a.std),
    }
}
