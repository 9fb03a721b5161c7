//! The HParams plugin's data: each session's hyperparameters, start and end, and the experiment
//! that declares the table's columns — every hyperparameter with its type and the values the
//! sessions took, and the final metrics to show beside them — as TensorBoard's own
//! `hparams_config` writes it (`tensorboard/plugins/hparams/summary_v2.py`). Without the
//! experiment the plugin infers the columns from whatever runs it finds, metrics included.
//! This module builds messages only; [`super::EventWriter`] writes them.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::value::Kind;

use super::proto::hparams::{
    h_param_info::Domain, h_params_plugin_data::Data, DataType, DatasetType, Experiment,
    HParamInfo, HParamsPluginData, Interval, MetricInfo, MetricName, SessionEndInfo,
    SessionStartInfo, Status,
};
use super::proto::{
    summary, summary_metadata::PluginData, tensor_shape_proto::Dim, SummaryMetadata, TensorProto,
    TensorShapeProto,
};

pub const EXPERIMENT_TAG: &str = "_hparams_/experiment";
pub const SESSION_START_TAG: &str = "_hparams_/session_start_info";
pub const SESSION_END_TAG: &str = "_hparams_/session_end_info";

/// The scalars a session's row shows (its last value of each), in column order, with the data
/// they come from; only those some session wrote become columns.
const METRICS: [(&str, DatasetType); 4] = [
    ("loss", DatasetType::DatasetTraining),
    ("batch_accuracy", DatasetType::DatasetTraining),
    ("validation_loss", DatasetType::DatasetValidation),
    ("validation_accuracy", DatasetType::DatasetValidation),
];

/// One session as the experiment sees it: its hyperparameters, when it started, and the scalar
/// tags its run folder holds.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub hparams: Vec<(String, serde_json::Value)>,
    pub start_secs: f64,
    pub tags: BTreeSet<String>,
}

/// A hyperparameter as the plugin stores it; `None` for what it cannot hold (arrays, objects,
/// null), which is left out of the table.
fn value(v: &serde_json::Value) -> Option<prost_types::Value> {
    let kind = match v {
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(t) => Kind::StringValue(t.clone()),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        _ => return None,
    };
    Some(prost_types::Value { kind: Some(kind) })
}

/// A summary value carrying `data` for the plugin, shaped as TensorBoard writes it: the content
/// in the metadata, and an empty float tensor as the value (the plugin reads these series as
/// tensors).
fn summary_value(tag: &str, data: Data) -> summary::Value {
    let content = HParamsPluginData {
        version: 0,
        data: Some(data),
    };
    summary::Value {
        tag: tag.to_string(),
        metadata: Some(SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "hparams".into(),
                content: prost::Message::encode_to_vec(&content),
            }),
            ..Default::default()
        }),
        value: Some(summary::value::Value::Tensor(TensorProto {
            dtype: super::proto::DataType::DtFloat as i32,
            tensor_shape: Some(TensorShapeProto {
                dim: vec![Dim {
                    size: 0,
                    name: String::new(),
                }],
                unknown_rank: false,
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The session's start (its hyperparameters) and successful end, in that order.
pub fn session(s: &Session, end_secs: f64) -> [summary::Value; 2] {
    let hparams = s
        .hparams
        .iter()
        .filter_map(|(name, v)| Some((name.clone(), value(v)?)))
        .collect();
    [
        summary_value(
            SESSION_START_TAG,
            Data::SessionStartInfo(SessionStartInfo {
                hparams,
                start_time_secs: s.start_secs,
                ..Default::default()
            }),
        ),
        summary_value(
            SESSION_END_TAG,
            Data::SessionEndInfo(SessionEndInfo {
                status: Status::Success as i32,
                end_time_secs: end_secs,
            }),
        ),
    ]
}

/// The column of hyperparameter `name` over the values the sessions gave it, typed and bounded
/// as the plugin would infer them (`backend_context.py`): numbers an interval, booleans and text
/// their distinct values, a mix of kinds text.
fn column(name: &str, values: &[&prost_types::Value]) -> HParamInfo {
    let kinds: Vec<&Kind> = values.iter().filter_map(|v| v.kind.as_ref()).collect();
    let number = |k: &&Kind| match k {
        Kind::NumberValue(x) => Some(*x),
        _ => None,
    };
    let boolean = |k: &&Kind| match k {
        Kind::BoolValue(b) => Some(*b),
        _ => None,
    };
    let (kind, domain, differs) =
        if let Some(numbers) = kinds.iter().map(number).collect::<Option<Vec<f64>>>() {
            let lo = numbers.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let interval = Interval {
                min_value: lo,
                max_value: hi,
            };
            (DataType::Float64, Domain::DomainInterval(interval), lo < hi)
        } else if let Some(bools) = kinds
            .iter()
            .map(boolean)
            .collect::<Option<BTreeSet<bool>>>()
        {
            let differs = bools.len() > 1;
            let list = bools.into_iter().map(Kind::BoolValue).collect();
            (DataType::Bool, discrete(list), differs)
        } else {
            let texts: BTreeSet<String> = kinds.iter().map(|k| text(k)).collect();
            let differs = texts.len() > 1;
            let list = texts.into_iter().map(Kind::StringValue).collect();
            (DataType::String, discrete(list), differs)
        };
    HParamInfo {
        name: name.to_string(),
        r#type: kind as i32,
        domain: Some(domain),
        differs,
        ..Default::default()
    }
}

fn discrete(kinds: Vec<Kind>) -> Domain {
    Domain::DomainDiscrete(prost_types::ListValue {
        values: kinds
            .into_iter()
            .map(|k| prost_types::Value { kind: Some(k) })
            .collect(),
    })
}

/// A hyperparameter as text, for a column whose sessions disagree on its kind.
fn text(k: &Kind) -> String {
    match k {
        Kind::StringValue(t) => t.clone(),
        Kind::NumberValue(x) => x.to_string(),
        Kind::BoolValue(b) => b.to_string(),
        _ => String::new(),
    }
}

/// The experiment of `sessions`: a column per hyperparameter any session has (first seen
/// first), and a metric column per headline scalar any session wrote.
pub fn experiment(sessions: &[&Session]) -> summary::Value {
    let mut order: Vec<&str> = Vec::new();
    let mut values: BTreeMap<&str, Vec<prost_types::Value>> = BTreeMap::new();
    for s in sessions {
        for (name, v) in &s.hparams {
            let Some(v) = value(v) else { continue };
            let seen = values.entry(name).or_default();
            if seen.is_empty() {
                order.push(name);
            }
            seen.push(v);
        }
    }
    let hparam_infos = order
        .iter()
        .map(|name| column(name, &values[name].iter().collect::<Vec<_>>()))
        .collect();
    let metric_infos = METRICS
        .iter()
        .filter(|(tag, _)| sessions.iter().any(|s| s.tags.contains(*tag)))
        .map(|(tag, dataset)| MetricInfo {
            // An empty group: the scalar lives in the session's own run folder.
            name: Some(MetricName {
                group: String::new(),
                tag: tag.to_string(),
            }),
            dataset_type: *dataset as i32,
            ..Default::default()
        })
        .collect();
    let created = sessions
        .iter()
        .map(|s| s.start_secs)
        .fold(f64::INFINITY, f64::min);
    summary_value(
        EXPERIMENT_TAG,
        Data::Experiment(Experiment {
            hparam_infos,
            metric_infos,
            time_created_secs: if created.is_finite() { created } else { 0.0 },
            ..Default::default()
        }),
    )
}

/// A config's hyperparameters for the HParams table: the seed and every scalar under
/// `training` by its key path (`training.optimizer.lr`, `training.batch_size`, …).
pub fn hparams_of(config: &crate::config::Config) -> Vec<(String, serde_json::Value)> {
    fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    leaves(&format!("{prefix}.{k}"), x, out);
                }
            }
            serde_json::Value::Number(_)
            | serde_json::Value::String(_)
            | serde_json::Value::Bool(_) => out.push((prefix.to_string(), v.clone())),
            _ => {}
        }
    }
    let mut out = vec![("seed".to_string(), serde_json::json!(config.seed))];
    let training = serde_json::to_value(&config.training).unwrap_or_default();
    leaves("training", &training, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use serde_json::json;

    fn session_with(hparams: &[(&str, serde_json::Value)], tags: &[&str]) -> Session {
        Session {
            hparams: hparams
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            start_secs: 100.0,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn decode(v: &summary::Value) -> Data {
        let content = &v.metadata.as_ref().unwrap().plugin_data.as_ref().unwrap();
        assert_eq!(content.plugin_name, "hparams");
        HParamsPluginData::decode(content.content.as_slice())
            .unwrap()
            .data
            .unwrap()
    }

    #[test]
    fn the_experiment_declares_typed_columns_over_every_sessions_values() {
        let a = session_with(
            &[
                ("seed", json!(1)),
                ("training.optimizer.lr", json!(0.5)),
                ("training.optimizer.kind", json!("sgd")),
                ("training.shuffle", json!(true)),
                ("odd", json!(3)),
            ],
            &["loss", "lr", "grad_norm/w"],
        );
        let b = session_with(
            &[
                ("seed", json!(1)),
                ("training.optimizer.lr", json!(0.05)),
                ("training.optimizer.kind", json!("adam")),
                ("training.shuffle", json!(true)),
                ("odd", json!("three")),
                ("training.optimizer.beta1", json!(0.9)),
            ],
            &["loss", "validation_accuracy"],
        );
        let v = experiment(&[&a, &b]);
        assert_eq!(v.tag, EXPERIMENT_TAG);
        let Data::Experiment(e) = decode(&v) else {
            panic!("not an experiment")
        };
        let names: Vec<&str> = e.hparam_infos.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "seed",
                "training.optimizer.lr",
                "training.optimizer.kind",
                "training.shuffle",
                "odd",
                "training.optimizer.beta1"
            ]
        );
        let info = |n: &str| e.hparam_infos.iter().find(|h| h.name == n).unwrap();
        let lr = info("training.optimizer.lr");
        assert_eq!(lr.r#type, DataType::Float64 as i32);
        assert_eq!(
            lr.domain,
            Some(Domain::DomainInterval(Interval {
                min_value: 0.05,
                max_value: 0.5
            }))
        );
        assert!(lr.differs);
        assert!(!info("seed").differs);
        let kind = info("training.optimizer.kind");
        assert_eq!(kind.r#type, DataType::String as i32);
        let Some(Domain::DomainDiscrete(list)) = &kind.domain else {
            panic!("{kind:?}")
        };
        let texts: Vec<String> = list
            .values
            .iter()
            .map(|v| text(v.kind.as_ref().unwrap()))
            .collect();
        assert_eq!(texts, ["adam", "sgd"]);
        assert_eq!(info("training.shuffle").r#type, DataType::Bool as i32);
        assert_eq!(info("odd").r#type, DataType::String as i32);
        let metrics: Vec<(&str, i32)> = e
            .metric_infos
            .iter()
            .map(|m| (m.name.as_ref().unwrap().tag.as_str(), m.dataset_type))
            .collect();
        assert_eq!(
            metrics,
            [
                ("loss", DatasetType::DatasetTraining as i32),
                ("validation_accuracy", DatasetType::DatasetValidation as i32)
            ]
        );
        assert_eq!(e.time_created_secs, 100.0);
    }

    #[test]
    fn a_session_starts_with_its_hyperparameters_and_ends_successfully() {
        let s = session_with(&[("lr", json!(0.1)), ("list", json!([1, 2]))], &[]);
        let [start, end] = session(&s, 130.0);
        let Data::SessionStartInfo(info) = decode(&start) else {
            panic!("not a start")
        };
        assert_eq!(info.start_time_secs, 100.0);
        assert_eq!(info.hparams.len(), 1, "the list is left out");
        assert_eq!(info.hparams["lr"].kind, Some(Kind::NumberValue(0.1)));
        let Data::SessionEndInfo(info) = decode(&end) else {
            panic!("not an end")
        };
        assert_eq!(info.status, Status::Success as i32);
        assert_eq!(info.end_time_secs, 130.0);
        // The empty float tensor TensorBoard's own summaries carry.
        let Some(summary::value::Value::Tensor(t)) = &start.value else {
            panic!("no tensor")
        };
        assert_eq!(t.tensor_shape.as_ref().unwrap().dim[0].size, 0);
    }
}
