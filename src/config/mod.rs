//! The training config (YAML): parsed with file, line and column in every error, then checked
//! for values that parse but cannot work (before any GPU work starts).

pub mod cases;
pub mod check_params;
/// The ceilings on sizes a config may ask for (where they live: below every module).
pub use crate::limits;
pub(crate) mod locate;
mod name_or_map;
pub mod ranges;
mod rules;
pub mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::DataSpec;
use crate::error::{Error, Result};
use crate::model::{LayerSpec, ModelSpec};
use crate::ops::{LossKind, OptimizerKind};
pub use cases::CaseSpec;
pub use check_params::CheckSpec;
use name_or_map::name_or_map;

/// A whole config file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A name for reports (default: the file name).
    #[serde(default)]
    pub name: Option<String>,
    /// Seeds weight init, data generation, batch order and dropout masks.
    #[serde(default)]
    pub seed: u64,
    pub data: DataSpec,
    pub model: ModelSpec,
    #[serde(default, deserialize_with = "name_or_map")]
    pub loss: LossConfig,
    pub training: TrainingConfig,
    /// The checks `netdx run` performs, each a name or `{name: {parameters}}`; absent: all.
    #[serde(default)]
    pub checks: Option<Vec<CheckSpec>>,
    /// Planted problems for testing the tests (see [`Fault`]).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Named variants (see [`cases`]).
    #[serde(default)]
    pub cases: Vec<CaseSpec>,
    /// Key path → values; every combination is a variant (see [`cases`]).
    #[serde(default)]
    pub matrix: BTreeMap<String, Vec<serde_yaml::Value>>,
    /// The folder of the config file: data paths are relative to it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// What a planted fault does to its layer during training.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Negate the layer's parameter gradients.
    FlipGradientSign,
    /// Multiply the layer's parameter gradients by `factor`.
    ScaleGradient,
    /// Zero the layer's parameter gradients.
    ZeroGradient,
    /// Do not apply the optimizer to the layer's parameters.
    SkipUpdate,
    /// Multiply the layer's forward output by `factor` (a kernel computing the wrong thing).
    CorruptOutput,
    /// Add `factor` times the first example's output of the layer to every other example's
    /// (a kernel mixing examples across the batch).
    MixBatch,
    /// Destroy the GPU device before training step `step` (a driver reset or a removed GPU);
    /// `layer` does not apply.
    LoseDevice,
}

/// `faults: [{kind: flip_gradient_sign, layer: 0}, {kind: scale_gradient, layer: 2, factor: 10}]`
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub kind: FaultKind,
    #[serde(default)]
    pub layer: usize,
    #[serde(default = "default_factor")]
    pub factor: f64,
    /// The training step (from 0) of a `lose_device` fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
}

fn default_factor() -> f64 {
    1.5
}

impl Fault {
    /// The factor applied to the layer's parameter gradients, for gradient faults.
    pub fn gradient_factor(&self) -> Option<f32> {
        match self.kind {
            FaultKind::FlipGradientSign => Some(-1.0),
            FaultKind::ScaleGradient => Some(self.factor as f32),
            FaultKind::ZeroGradient => Some(0.0),
            _ => None,
        }
    }
}

/// `loss: softmax_cross_entropy`, `loss: {name: focal, gamma: 2.0, alpha: 0.25}`, or a user
/// loss `loss: {wgsl: FILE}` / `loss: {wgsl: {file, targets, params, range}}`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, try_from = "RawLoss")]
pub struct LossConfig {
    pub name: LossKind,
    /// Per-class weights (softmax cross-entropy and focal loss).
    #[serde(default)]
    pub class_weights: Option<Vec<f64>>,
    /// Binary cross-entropy's weight of positive examples (PyTorch's `pos_weight`: negatives
    /// over positives balances the classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_weight: Option<f64>,
    /// Focal loss focusing parameter γ.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Focal loss weight α.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
}

/// The loss map as written: a built-in `name`, or a `wgsl` file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLoss {
    // Not plain `Option`: the shorthand `loss: mse` arrives as a bare string (see name_or_map).
    #[serde(default, deserialize_with = "some")]
    name: Option<LossKind>,
    #[serde(default)]
    wgsl: Option<WgslLoss>,
    #[serde(default)]
    class_weights: Option<Vec<f64>>,
    #[serde(default)]
    pos_weight: Option<f64>,
    #[serde(default = "default_gamma")]
    gamma: f64,
    #[serde(default = "default_alpha")]
    alpha: f64,
}

/// `wgsl: FILE` or `wgsl: {file, targets, params, range}` (by hand rather than an untagged
/// enum, so that a misspelt key gets serde's message and location).
struct WgslLoss(crate::kernels::user_loss::UserLossSpec);

impl<'de> Deserialize<'de> for WgslLoss {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WgslLoss;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a WGSL file, or a map {file, targets, params, range}")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<WgslLoss, E> {
                Ok(WgslLoss(
                    crate::kernels::user_loss::UserLossSpec::from_file(s.into()),
                ))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<WgslLoss, A::Error> {
                Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(WgslLoss)
            }
        }
        d.deserialize_any(V)
    }
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<LossKind>, D::Error> {
    LossKind::deserialize(d).map(Some)
}

impl TryFrom<RawLoss> for LossConfig {
    type Error = String;

    fn try_from(raw: RawLoss) -> std::result::Result<LossConfig, String> {
        let name = match (raw.name, raw.wgsl) {
            (Some(name), None) => name,
            (None, Some(WgslLoss(spec))) => LossKind::User(
                crate::kernels::user_loss::load_relative(spec).map_err(|e| e.to_string())?,
            ),
            (Some(_), Some(_)) => {
                return Err("a loss is a built-in `name` or a `wgsl` file, not both".into())
            }
            (None, None) => return Err("a loss needs a `name` (or a `wgsl` file)".into()),
        };
        Ok(LossConfig {
            name,
            class_weights: raw.class_weights,
            pos_weight: raw.pos_weight,
            gamma: raw.gamma,
            alpha: raw.alpha,
        })
    }
}

fn default_gamma() -> f64 {
    2.0
}

fn default_alpha() -> f64 {
    1.0
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            name: LossKind::SoftmaxCrossEntropy,
            class_weights: None,
            pos_weight: None,
            gamma: default_gamma(),
            alpha: default_alpha(),
        }
    }
}

/// The `training:` section.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    pub optimizer: OptimizerSpec,
    pub batch_size: usize,
    pub steps: usize,
    /// L2 penalty 0.5·λ·Σ‖W‖² over linear weights (not biases), reported as its own loss term.
    #[serde(default)]
    pub l2: f64,
    /// Decoupled weight decay w ← w·(1 − lr·wd) (AdamW's rule; applied for any optimizer).
    #[serde(default)]
    pub weight_decay: f64,
    #[serde(default)]
    pub clip: ClipConfig,
    #[serde(default, deserialize_with = "name_or_map")]
    pub schedule: ScheduleConfig,
    /// Shuffle the examples each epoch (off: batches follow dataset order).
    #[serde(default = "yes")]
    pub shuffle: bool,
    /// What `netdx train` does after a NaN or Inf loss: `stop` (default) or `continue` to the
    /// last step (every step recorded; the run still fails).
    #[serde(default)]
    pub on_nonfinite: OnNonFinite,
    /// The checks' observation run gathers every per-tensor statistic at its first 50 steps,
    /// at steps 0, n, 2n, … and at the last, and runs the steps between without them
    /// (Cockpit's track schedule): cheaper for large models, fewer samples for the checks'
    /// medians. 1 tracks every step.
    #[serde(default = "one")]
    pub track_every: usize,
}

fn one() -> usize {
    1
}

/// `training.on_nonfinite`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OnNonFinite {
    #[default]
    Stop,
    Continue,
}

fn yes() -> bool {
    true
}

/// `optimizer: {name: sgd, lr: 0.1, momentum: 0.9, nesterov: false}` or adam/adamw with betas.
/// `sgd` with a momentum above 0 is momentum SGD, as in PyTorch.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    pub name: OptimizerKind,
    pub lr: f64,
    #[serde(default)]
    pub momentum: Option<f64>,
    #[serde(default)]
    pub nesterov: bool,
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_beta1() -> f64 {
    0.9
}

fn default_beta2() -> f64 {
    0.999
}

fn default_eps() -> f64 {
    1e-8
}

impl OptimizerSpec {
    /// The update rule actually applied, after `sgd` + momentum and `nesterov: true`.
    pub fn resolved_kind(&self) -> OptimizerKind {
        match self.name {
            OptimizerKind::Sgd | OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                let m = self.momentum();
                if self.nesterov || self.name == OptimizerKind::Nesterov {
                    OptimizerKind::Nesterov
                } else if m > 0.0 {
                    OptimizerKind::Momentum
                } else {
                    OptimizerKind::Sgd
                }
            }
            k => k,
        }
    }

    /// Momentum coefficient: given, else 0.9 for `momentum`/`nesterov` and 0 for `sgd`.
    pub fn momentum(&self) -> f64 {
        self.momentum.unwrap_or(match self.name {
            OptimizerKind::Momentum | OptimizerKind::Nesterov => 0.9,
            _ => 0.0,
        })
    }
}

/// `clip: {norm: 1.0}` (global L2 norm over all gradients) and/or `{value: 0.5}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClipConfig {
    #[serde(default)]
    pub norm: Option<f64>,
    #[serde(default)]
    pub value: Option<f64>,
}

/// Learning-rate schedule kinds.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    Constant,
    /// lr · gamma^(floor(t / step_size)).
    Step,
    /// lr · gamma^t.
    Exponential,
    /// min_lr + (lr − min_lr)·(1 + cos(π·t/T))/2 over the steps after warm-up.
    Cosine,
}

/// `schedule: cosine` or `{name: step, step_size: 500, gamma: 0.1, warmup_steps: 100}`.
/// Linear warm-up from lr/warmup_steps to lr composes with every kind.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: ScheduleKind,
    #[serde(default)]
    pub warmup_steps: usize,
    #[serde(default)]
    pub step_size: Option<usize>,
    #[serde(default)]
    pub gamma: Option<f64>,
    #[serde(default)]
    pub min_lr: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            name: ScheduleKind::Constant,
            warmup_steps: 0,
            step_size: None,
            gamma: None,
            min_lr: 0.0,
        }
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        Config::parse(&read_text(path)?, path)
    }

    /// Parses and validates config text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        // A byte order mark is not part of the YAML; positions count from after it, as an
        // editor shows them.
        let text = strip_bom(text);
        if let Some(e) = control_character(text, path) {
            return Err(e);
        }
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut config: Config =
            crate::kernels::user::with_base_dir(&base_dir, || serde_yaml::from_str(text))
                .map_err(|e| yaml_error(&e, path, text))?;
        // The model file is found from the config's folder, wherever netdx runs.
        if let Some(file) = config.model.onnx.take() {
            config.model.onnx = Some(crate::io::resolve(&base_dir, &file));
        }
        config.base_dir = base_dir;
        // Values that parse but cannot work: name the line and column of their key as well.
        config.validate(path).map_err(|e| match e {
            Error::ConfigValue { file, key, message } => match locate::locate(text, &key) {
                Some((line, column)) => Error::Config {
                    file,
                    line,
                    column,
                    message: format!("{key}: {message}"),
                },
                None => Error::ConfigValue { file, key, message },
            },
            other => other,
        })?;
        Ok(config)
    }

    pub(crate) fn validate(&self, path: &Path) -> Result<()> {
        let bad = |key: &str, message: String| Error::ConfigValue {
            file: PathBuf::from(path),
            key: key.to_string(),
            message,
        };
        let t = &self.training;
        let o = &t.optimizer;
        let numbers: [(&str, ranges::Number); 7] = [
            ("training.optimizer.lr", o.lr.into()),
            ("training.batch_size", t.batch_size.into()),
            ("training.steps", t.steps.into()),
            ("training.track_every", t.track_every.into()),
            ("training.l2", t.l2.into()),
            ("training.weight_decay", t.weight_decay.into()),
            ("training.optimizer.eps", o.eps.into()),
        ];
        for (key, v) in numbers {
            ranged(&bad, key, v)?;
        }
        let d = &self.data;
        const SOURCES: &str = "`builtin: spiral|blobs|xor|regression|shapes|copy|reverse|sort|modular_addition`, `csv: {path: …}`, `npy: {x: …, y: …}`, `npz: {path: …}`, `idx: {images: …, labels: …}`, `safetensors: {path: …}`, `text: {path: …, context: …}` or `tokens: {path: …}`";
        match d.source_count() {
            0 => return Err(bad("data", format!("needs one of {SOURCES}"))),
            1 => {}
            _ => return Err(bad("data", format!("give only one of {SOURCES}"))),
        }
        if let Some(f) = &d.fallback {
            if d.file_source().is_none() {
                return Err(bad(
                    "data.fallback",
                    "replaces a file source whose files are missing; this data section has none"
                        .into(),
                ));
            }
            if f.builtin.is_none()
                || f.source_count() != 1
                || f.fallback.is_some()
                || f.validation.is_some()
                || f.normalize != crate::data::Normalize::None
            {
                return Err(bad(
                    "data.fallback",
                    "must be a built-in with its own parameters, e.g. {builtin: shapes, size: 28}; validation and normalize apply from the data section"
                        .into(),
                ));
            }
            if f.is_sequence() != d.is_sequence() {
                return Err(bad(
                    "data.fallback",
                    if d.is_sequence() {
                        "replaces token data: it must be a sequence task (copy, reverse, sort or modular_addition)"
                    } else {
                        "replaces features and labels: it cannot be a sequence task"
                    }
                    .into(),
                ));
            }
        }
        if let Some(crate::data::Validation::Fraction(f)) = d.validation {
            if !(f > 0.0 && f < 1.0) {
                return Err(bad(
                    "data.validation",
                    format!("a fraction must be between 0 and 1 (exclusive), got {f}"),
                ));
            }
        }
        if let crate::data::Normalize::Scale(f) = d.normalize {
            ranged(&bad, "data.normalize.scale", f)?;
            if f == 0.0 {
                return Err(bad(
                    "data.normalize.scale",
                    format!("must be a finite, non-zero factor, got {f}"),
                ));
            }
        }
        validate_generated(d, "data", &bad)?;
        if let Some(f) = &d.fallback {
            validate_generated(f, "data.fallback", &bad)?;
            for (key, set) in [
                ("scale", f.scale.is_some()),
                ("offset", f.offset.is_some()),
                ("shuffle_labels", f.shuffle_labels),
            ] {
                if set {
                    return Err(bad(
                        &format!("data.fallback.{key}"),
                        format!("applies from the data section: write `data.{key}`"),
                    ));
                }
            }
        }
        let l = &self.loss;
        ranged(&bad, "loss.gamma", l.gamma)?;
        ranged(&bad, "loss.alpha", l.alpha)?;
        if l.class_weights.is_some()
            && !matches!(l.name, LossKind::SoftmaxCrossEntropy | LossKind::Focal)
        {
            return Err(bad(
                "loss.class_weights",
                format!(
                    "class weights apply to softmax_cross_entropy and focal, not {}{}",
                    yaml_name(&l.name),
                    if l.name == LossKind::BinaryCrossEntropy {
                        " (binary cross-entropy weighs its positive class with `pos_weight`)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if let Some(pw) = l.pos_weight {
            if l.name != LossKind::BinaryCrossEntropy {
                return Err(bad(
                    "loss.pos_weight",
                    format!(
                        "pos_weight applies to binary_cross_entropy, not {} (which takes `class_weights`)",
                        yaml_name(&l.name)
                    ),
                ));
            }
            ranged(&bad, "loss.pos_weight", pw)?;
        }
        ranged(&bad, "training.optimizer.momentum", o.momentum())?;
        ranged(&bad, "training.optimizer.beta1", o.beta1)?;
        ranged(&bad, "training.optimizer.beta2", o.beta2)?;
        if let Some(n) = t.clip.norm {
            ranged(&bad, "training.clip.norm", n)?;
        }
        if let Some(v) = t.clip.value {
            ranged(&bad, "training.clip.value", v)?;
        }
        let s = &t.schedule;
        ranged(&bad, "training.schedule.warmup_steps", s.warmup_steps)?;
        if let Some(size) = s.step_size {
            ranged(&bad, "training.schedule.step_size", size)?;
        }
        if s.name == ScheduleKind::Step && s.step_size.is_none() {
            return Err(bad(
                "training.schedule.step_size",
                "the step schedule needs step_size ≥ 1".into(),
            ));
        }
        if let Some(g) = s.gamma {
            ranged(&bad, "training.schedule.gamma", g)?;
        }
        ranged(&bad, "training.schedule.min_lr", s.min_lr)?;
        rules::cosine_floor_below_lr(self, &bad)?;
        rules::batch_norm_needs_two_examples(self, &bad)?;
        if let Some(checks) = &self.checks {
            check_params::validate(checks, &bad)?;
        }
        if self.model.onnx.is_some() {
            if !self.model.layers.is_empty() {
                return Err(bad(
                    "model.onnx",
                    "give either an ONNX file or `layers`, not both".into(),
                ));
            }
            if self.model.shape.is_some() {
                return Err(bad(
                    "model.shape",
                    "an ONNX model takes the input's dimensions as `model.input: [c, h, w]`".into(),
                ));
            }
        } else if self.model.layers.is_empty() {
            return Err(bad(
                "model.layers",
                "the model needs at least one layer (or an ONNX file: `model: {onnx: model.onnx, input: [3, 32, 32]}`)".into(),
            ));
        } else if matches!(self.model.input, Some(crate::model::ModelInput::Dims(_))) {
            return Err(bad(
                "model.input",
                "a layer list takes the input's width (an image's shape is `model.shape: [c, h, w]`); dimensions are for ONNX models".into(),
            ));
        }
        if self.model.layers.len() > limits::MAX_LAYERS {
            return Err(bad(
                "model.layers",
                format!(
                    "{} layers is more than netdx allows ({})",
                    self.model.layers.len(),
                    limits::MAX_LAYERS
                ),
            ));
        }
        if let Some(crate::model::ModelInput::Width(w)) = &self.model.input {
            ranged(&bad, "model.input", *w)?;
        }
        if let Some(input) = &self.model.input {
            let dims = input.dims();
            let w = input.len();
            if dims.is_empty() || dims.contains(&0) || w > limits::MAX_WIDTH {
                return Err(bad(
                    "model.input",
                    format!(
                        "must be between 1 and {} values per example, got {}",
                        limits::MAX_WIDTH,
                        match input {
                            crate::model::ModelInput::Width(w) => w.to_string(),
                            crate::model::ModelInput::Dims(d) => format!("{d:?}"),
                        }
                    ),
                ));
            }
        }
        if let Some([c, h, w]) = self.model.shape {
            let side = 1..=limits::MAX_IMAGE_SIDE;
            let values = c.checked_mul(h).and_then(|v| v.checked_mul(w));
            if c == 0
                || !side.contains(&h)
                || !side.contains(&w)
                || values.is_none_or(|v| v > limits::MAX_WIDTH)
            {
                return Err(bad(
                    "model.shape",
                    format!(
                        "[channels, height, width] must each be at least 1, height and width at most {}, and their product at most {}",
                        limits::MAX_IMAGE_SIDE,
                        limits::MAX_WIDTH
                    ),
                ));
            }
        }
        validate_layers(&self.model.layers, "model.layers", &bad)?;
        for (i, f) in self.faults.iter().enumerate() {
            // NaN and infinity are what a fault plants on purpose (numerics is tested with
            // them): the factor has no range.
            if let Some(step) = f.step {
                ranged(&bad, &format!("faults[{i}].step"), step)?;
            }
            if f.kind == FaultKind::LoseDevice {
                if f.step.is_none() {
                    return Err(bad(
                        &format!("faults[{i}]"),
                        "a lose_device fault needs the step: {kind: lose_device, step: 3}".into(),
                    ));
                }
                continue;
            }
            let key = format!("faults[{i}].layer");
            if self.model.onnx.is_some() {
                return Err(bad(
                    &key,
                    "faults name a layer of a `layers:` list; an ONNX model takes only lose_device faults".into(),
                ));
            }
            match self.model.layers.get(f.layer) {
                None => {
                    return Err(bad(
                        &key,
                        format!(
                            "layer {} does not exist (the model has {})",
                            f.layer,
                            self.model.layers.len()
                        ),
                    ))
                }
                Some(l) if l.has_params() => {}
                Some(_) if !matches!(f.kind, FaultKind::CorruptOutput | FaultKind::MixBatch) => {
                    return Err(bad(
                        &key,
                        format!(
                            "layer {} has no parameters for a {} fault",
                            f.layer,
                            yaml_name(&f.kind)
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(w) = &self.loss.class_weights {
            for (i, v) in w.iter().enumerate() {
                ranged(&bad, &format!("loss.class_weights[{i}]"), *v)?;
            }
            if w.iter().all(|v| *v == 0.0) {
                return Err(bad(
                    "loss.class_weights",
                    "weights must be ≥ 0 and not all 0".into(),
                ));
            }
        }
        Ok(())
    }
}

/// How a unit enum value is written in YAML (`mse`, `flip_gradient_sign`).
fn yaml_name(v: &impl Serialize) -> String {
    serde_yaml::to_string(v)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// serde_yaml ends its messages with " at line L column C", which the error's own position
/// already says.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i)
            if message[i + 9..]
                .split(" column ")
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) =>
        {
            &message[..i]
        }
        _ => message,
    }
}

/// A YAML error with its position, or, for the document-wide refusals (alias bombs, deep
/// nesting), what they mean.
pub(crate) fn yaml_error(e: &serde_yaml::Error, path: &Path, text: &str) -> Error {
    let message = with_suggestion(without_position(&e.to_string()));
    match e.location() {
        Some(l) => {
            // A tab where YAML expects indentation reads as "cannot start any token".
            let at_tab = text
                .lines()
                .nth(l.line().saturating_sub(1))
                .and_then(|line| line.chars().nth(l.column().saturating_sub(1)))
                == Some('\t');
            let message = if at_tab {
                format!("a tab: YAML indents with spaces, not tabs ({message})")
            } else {
                message
            };
            Error::Config {
                file: path.to_path_buf(),
                line: l.line(),
                column: l.column(),
                message,
            }
        }
        None => {
            let why = if message.contains("repetition limit") {
                " (YAML aliases that expand to too many values)"
            } else if message.contains("recursion limit") {
                " (YAML nested too deeply)"
            } else {
                ""
            };
            Error::ConfigValue {
                file: path.to_path_buf(),
                key: "(document)".into(),
                message: format!("{message}{why}"),
            }
        }
    }
}

/// The text of a config or suite file, refusing files larger than any config (a wrong path to
/// a dataset, say) before reading them, and anything that is not a file (a directory, a named
/// pipe, a device) unless it is standard input (`-`) or a `/dev/fd/N` stream given on purpose;
/// those are read up to the limit and refused past it.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes =
        crate::io::bounded::read(path, &crate::io::Limit::CONFIG).map_err(
            |problem| match problem {
                crate::io::Refused::Io(source) => Error::Io {
                    path: path.to_path_buf(),
                    source,
                },
                problem => Error::File {
                    path: path.to_path_buf(),
                    problem,
                },
            },
        )?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // Where an editor shows the byte: lines counted by line feeds, the column in characters
        // of the valid text before it.
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let hint = if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            "; the file is UTF-16: save it as UTF-8"
        } else {
            "; save the file as UTF-8"
        };
        Error::Config {
            file: path.to_path_buf(),
            line,
            column,
            message: format!("not UTF-8 text (byte 0x{:02x}){hint}", bytes[at]),
        }
    })
}

/// `text` without a leading UTF-8 byte order mark (which some Windows editors write).
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// The first character YAML does not allow (a NUL byte, another control character), at its
/// line and column: serde_yaml reports it at 1:1 with a character offset.
fn control_character(text: &str, path: &Path) -> Option<Error> {
    let (pos, c) = text.char_indices().find(|&(_, c)| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
            || c == '\u{7f}'
            || (('\u{80}'..='\u{9f}').contains(&c) && c != '\u{85}')
            || matches!(c, '\u{fffe}' | '\u{ffff}')
    })?;
    let (line, column) = locate::line_col(text, pos);
    let what = if c == '\0' {
        "a NUL byte (U+0000)".to_string()
    } else {
        format!("the control character U+{:04X}", c as u32)
    };
    Some(Error::Config {
        file: path.to_path_buf(),
        line,
        column,
        message: format!("{what} is not allowed in YAML; is this a text file?"),
    })
}

/// `v` at the concrete key `key` against the declared range of its pattern ([`ranges`]).
fn ranged(
    bad: &dyn Fn(&str, String) -> Error,
    key: &str,
    v: impl Into<ranges::Number>,
) -> Result<()> {
    ranges::check(&ranges::pattern_of(key), v).map_err(|m| bad(key, m))
}

/// Adds "did you mean `x`?" to serde's "unknown field/variant `y`, expected one of `a`, `b`"
/// when one of the expected names is close.
pub(crate) fn with_suggestion(message: &str) -> String {
    let Some(start) = message.find("unknown ") else {
        return message.to_string();
    };
    let rest = &message[start..];
    let ticked: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let Some((word, candidates)) = ticked.split_first() else {
        return message.to_string();
    };
    match crate::text::nearest(word, candidates) {
        Some(n) if !message.contains("did you mean") => {
            // serde_yaml appends " at line L column C"; keep the suggestion before it.
            match message.find(" at line ") {
                Some(i) => format!("{}; did you mean `{n}`?{}", &message[..i], &message[i..]),
                None => format!("{message}; did you mean `{n}`?"),
            }
        }
        _ => message.to_string(),
    }
}

/// The values of each layer of `layers` (at key path `at`) that parse but cannot work, those
/// inside residual blocks included: each number against its declared range
/// ([`ranges`], patterns `layer.…` and `init.…`).
fn validate_layers(
    layers: &[LayerSpec],
    at: &str,
    bad: &dyn Fn(&str, String) -> Error,
) -> Result<()> {
    for (i, l) in layers.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = l.name();
        // Each number of the layer as (parameter, value): checked against `layer.NAME.PARAM`.
        let mut numbers: Vec<(&str, ranges::Number)> = Vec::new();
        match l {
            LayerSpec::Linear {
                out, input, bias, ..
            } => {
                numbers.push(("out", (*out).into()));
                if let Some(w) = input {
                    numbers.push(("in", (*w).into()));
                }
                numbers.push(("bias", (*bias).into()));
            }
            LayerSpec::Activation {
                kind: crate::ops::Activation::LeakyRelu,
                slope,
            } => numbers.push(("slope", (*slope).into())),
            LayerSpec::BatchNorm { eps, momentum } => {
                numbers.extend([("eps", (*eps).into()), ("momentum", (*momentum).into())])
            }
            LayerSpec::Dropout { rate } => numbers.push(("rate", (*rate).into())),
            LayerSpec::Conv2d {
                out,
                kernel,
                stride,
                padding,
                dilation,
                bias,
                ..
            } => numbers.extend([
                ("out", (*out).into()),
                ("kernel", kernel[0].into()),
                ("kernel", kernel[1].into()),
                ("stride", (*stride).into()),
                ("padding", (*padding).into()),
                ("dilation", (*dilation).into()),
                ("bias", (*bias).into()),
            ]),
            LayerSpec::Pool2d {
                kernel,
                stride,
                padding,
                ..
            } => numbers.extend([
                ("kernel", kernel[0].into()),
                ("kernel", kernel[1].into()),
                ("stride", stride[0].into()),
                ("stride", stride[1].into()),
                ("padding", (*padding).into()),
            ]),
            LayerSpec::LayerNorm { eps, .. } => numbers.push(("eps", (*eps).into())),
            LayerSpec::Embedding { vocab, dim, .. } => {
                numbers.extend([("vocab", (*vocab).into()), ("dim", (*dim).into())])
            }
            LayerSpec::Position { max_len, .. } => numbers.push(("max_len", (*max_len).into())),
            LayerSpec::Attention { heads, dropout, .. } => {
                numbers.extend([("heads", (*heads).into()), ("dropout", (*dropout).into())])
            }
            LayerSpec::Residual {
                layers: inner,
                mapped,
                ..
            } => {
                if inner.is_empty() {
                    return Err(bad(
                        &format!("{here}.residual"),
                        "a residual block needs at least one layer".into(),
                    ));
                }
                let inner_at = if *mapped {
                    format!("{here}.residual.layers")
                } else {
                    format!("{here}.residual")
                };
                validate_layers(inner, &inner_at, bad)?;
            }
            _ => {}
        }
        for (param, v) in numbers {
            ranges::check(&format!("layer.{name}.{param}"), v)
                .map_err(|m| bad(&format!("{here}.{name}.{param}"), m))?;
        }
        let init = match l {
            LayerSpec::Embedding { init, .. } | LayerSpec::Position { init, .. } => Some(init),
            _ => l.init().map(|(init, _)| init),
        };
        if let Some(init) = init {
            validate_init(init, &format!("{here}.{name}.init"), bad)?;
        }
    }
    Ok(())
}

/// An init whose parameters are numbers a distribution can have: each in its declared range,
/// and a uniform interval that is not upside down (rule `uniform_low_at_most_high`).
fn validate_init(
    init: &crate::model::Init,
    key: &str,
    bad: &dyn Fn(&str, String) -> Error,
) -> Result<()> {
    use crate::model::Init;
    let check = |param: &str, v: f64| {
        ranges::check(&format!("init.{param}"), v).map_err(|m| bad(&format!("{key}.{param}"), m))
    };
    match *init {
        Init::Normal { std } => check("normal.std", std),
        Init::Uniform { low, high } => {
            check("uniform.low", low)?;
            check("uniform.high", high)?;
            rules::uniform_low_at_most_high(low, high, key, bad)
        }
        _ => Ok(()),
    }
}

/// The parameters of a built-in dataset (`data`, or its `fallback` under `prefix`): positive
/// counts, sizes within the limits, finite noise, scale and offset; for sequence data (text,
/// token arrays, sequence tasks) the keys that apply to it, and no normalization.
fn validate_generated(
    d: &crate::data::DataSpec,
    prefix: &str,
    bad: &dyn Fn(&str, String) -> Error,
) -> Result<()> {
    use crate::data::BuiltinKind;
    let key = |k: &str| format!("{prefix}.{k}");
    for (k, v) in [
        ("classes", d.classes),
        ("points_per_class", d.points_per_class),
        ("points", d.points),
        ("dims", d.dims),
        ("size", d.size),
        ("length", d.length),
        ("symbols", d.symbols),
        ("modulus", d.modulus),
        ("text.context", d.text.as_ref().map(|t| t.context)),
        ("text.stride", d.text.as_ref().and_then(|t| t.stride)),
        ("tokens.vocab", d.tokens.as_ref().and_then(|t| t.vocab)),
    ] {
        if v == Some(0) {
            return Err(bad(&key(k), "must be at least 1".into()));
        }
    }
    let lists = matches!(
        d.builtin,
        Some(BuiltinKind::Copy | BuiltinKind::Reverse | BuiltinKind::Sort)
    );
    let modular = d.builtin == Some(BuiltinKind::ModularAddition);
    if d.is_sequence() {
        // What the source is, its vocabulary and the keys it takes, for the keys it does not.
        let (source, vocab, takes) = if d.text.is_some() {
            (
                "text".to_string(),
                "the file's characters (256 bytes at `level: byte`)",
                "`text: {path, context, stride, level}`",
            )
        } else if d.tokens.is_some() {
            (
                "token arrays".to_string(),
                "`tokens.vocab` (default the largest id + 1)",
                "`tokens: {path, array, vocab}`",
            )
        } else if modular {
            (
                "the sequence task `modular_addition`".to_string(),
                "`modulus` + 2",
                "`modulus`, `points` and `seed`",
            )
        } else {
            (
                format!("the sequence task `{}`", yaml_name(&d.builtin)),
                "`symbols` + 1 (the separator)",
                "`length`, `symbols`, `points` and `seed`",
            )
        };
        if d.classes.is_some() {
            return Err(bad(
                &key("classes"),
                format!("does not apply to {source}: its classes are the vocabulary, {vocab}"),
            ));
        }
        let files = d.text.is_some() || d.tokens.is_some();
        for (k, set) in [
            ("points_per_class", d.points_per_class.is_some()),
            ("dims", d.dims.is_some()),
            ("size", d.size.is_some()),
            ("noise", d.noise.is_some()),
            ("points", files && d.points.is_some()),
            ("length", !lists && d.length.is_some()),
            ("symbols", !lists && d.symbols.is_some()),
            ("modulus", !modular && d.modulus.is_some()),
        ] {
            if set {
                return Err(bad(
                    &key(k),
                    format!("does not apply to {source}, which takes {takes}"),
                ));
            }
        }
        let normalized = d.normalize != crate::data::Normalize::None;
        for (k, set) in [
            ("normalize", normalized),
            ("scale", d.scale.is_some()),
            ("offset", d.offset.is_some()),
        ] {
            if set {
                return Err(bad(
                    &key(k),
                    "token ids are not features: token data takes no normalization, scale or offset"
                        .into(),
                ));
            }
        }
        if d.shuffle_labels {
            return Err(bad(
                &key("shuffle_labels"),
                "does not apply to token data: each target is the next token of its own example"
                    .into(),
            ));
        }
    } else {
        for (k, set, tasks) in [
            ("length", d.length.is_some(), "tasks copy, reverse and sort"),
            (
                "symbols",
                d.symbols.is_some(),
                "tasks copy, reverse and sort",
            ),
            ("modulus", d.modulus.is_some(), "task modular_addition"),
        ] {
            if set {
                return Err(bad(
                    &key(k),
                    format!("is a parameter of the sequence {tasks}"),
                ));
            }
        }
    }
    if let Some(c) = d
        .text
        .as_ref()
        .map(|t| t.context)
        .filter(|c| *c > limits::MAX_CONTEXT)
    {
        return Err(bad(
            &key("text.context"),
            format!(
                "{c} tokens is more than netdx allows ({})",
                limits::MAX_CONTEXT
            ),
        ));
    }
    if let Some(v) = d
        .tokens
        .as_ref()
        .and_then(|t| t.vocab)
        .filter(|v| *v > limits::MAX_VOCAB)
    {
        return Err(bad(
            &key("tokens.vocab"),
            format!(
                "{v} is more than netdx allows ({}; token ids are held exactly as f32)",
                limits::MAX_VOCAB
            ),
        ));
    }
    if d.length.is_some_and(|l| l > limits::MAX_CONTEXT / 2) {
        return Err(bad(
            &key("length"),
            format!(
                "must be at most {} (the context is twice the length)",
                limits::MAX_CONTEXT / 2
            ),
        ));
    }
    if d.symbols.is_some_and(|s| s >= limits::MAX_VOCAB) {
        return Err(bad(
            &key("symbols"),
            format!(
                "must be at most {} (the vocabulary adds the separator)",
                limits::MAX_VOCAB - 1
            ),
        ));
    }
    // All p² pairs are generated before `points` of them are taken.
    let most_modulus = limits::MAX_GENERATED_EXAMPLES.isqrt();
    if let Some(p) = d.modulus {
        if p > most_modulus {
            return Err(bad(
                &key("modulus"),
                format!("must be at most {most_modulus} (all p² pairs are generated)"),
            ));
        }
    }
    let pairs = d
        .modulus
        .unwrap_or(crate::data::tasks::DEFAULT_MODULUS)
        .pow(2);
    if modular && d.points.is_some_and(|n| n > pairs) {
        return Err(bad(
            &key("points"),
            format!(
                "modular_addition has {pairs} pairs (modulus {}); points must be at most that",
                d.modulus.unwrap_or(crate::data::tasks::DEFAULT_MODULUS)
            ),
        ));
    }
    if d.builtin == Some(BuiltinKind::Shapes) {
        let most = crate::data::SHAPE_CLASSES.len();
        if d.classes.is_some_and(|k| k > most) {
            return Err(bad(
                &key("classes"),
                format!("the built-in shapes have {most} classes at most"),
            ));
        }
        let (lo, hi) = crate::data::SHAPES_SIZE_RANGE;
        if d.size.is_some_and(|s| !(lo..=hi).contains(&s)) {
            return Err(bad(
                &key("size"),
                format!("the side of a shapes image must be {lo} to {hi} pixels"),
            ));
        }
    } else if d.size.is_some() {
        return Err(bad(
            &key("size"),
            "is the side of the built-in `shapes` images; other sources do not take it".into(),
        ));
    }
    if d.dims.is_some_and(|v| v > limits::MAX_WIDTH) {
        return Err(bad(
            &key("dims"),
            format!("must be at most {}", limits::MAX_WIDTH),
        ));
    }
    // A file's labels decide its classes; `classes` only declares them (one output unit each).
    let file = d.file_source().is_some();
    if let Some(c) = d.classes.filter(|c| file && *c > limits::MAX_WIDTH) {
        return Err(bad(
            &key("classes"),
            format!(
                "{c} classes is more than netdx allows ({}, one output unit per class)",
                limits::MAX_WIDTH
            ),
        ));
    }
    let generated = if file {
        0
    } else if lists {
        d.points.unwrap_or(crate::data::tasks::DEFAULT_POINTS)
    } else if modular {
        d.points.unwrap_or(pairs)
    } else {
        d.classes
            .unwrap_or(1)
            .saturating_mul(d.points_per_class.unwrap_or(1))
            .max(d.points.unwrap_or(0))
    };
    let (features, unit) = match d.builtin {
        Some(BuiltinKind::Shapes) => (d.size.unwrap_or(16).pow(2), "features"),
        _ if lists => (
            2 * d.length.unwrap_or(crate::data::tasks::DEFAULT_LENGTH),
            "tokens",
        ),
        _ if modular => (4, "tokens"),
        _ => (d.dims.unwrap_or(2), "features"),
    };
    let values = generated.saturating_mul(features);
    if generated > limits::MAX_GENERATED_EXAMPLES || values > limits::MAX_TENSOR_ELEMENTS {
        let k = if d.points.is_some() {
            "points"
        } else if lists {
            "length"
        } else if d.points_per_class.is_some() {
            "points_per_class"
        } else {
            "classes"
        };
        return Err(bad(
            &key(k),
            format!(
                "{generated} examples of {features} {unit} is more than a built-in dataset can have ({} examples, {} values)",
                limits::MAX_GENERATED_EXAMPLES,
                limits::MAX_TENSOR_ELEMENTS
            ),
        ));
    }
    // Every number against its declared range (`data.…`, for the fallback as well).
    for (k, v) in [
        ("classes", d.classes.map(Into::into)),
        ("points_per_class", d.points_per_class.map(Into::into)),
        ("points", d.points.map(Into::into)),
        ("dims", d.dims.map(Into::into)),
        ("size", d.size.map(Into::into)),
        ("length", d.length.map(Into::into)),
        ("symbols", d.symbols.map(Into::into)),
        ("modulus", d.modulus.map(Into::into)),
        ("noise", d.noise.map(Into::into)),
        ("scale", d.scale.map(Into::into)),
        ("offset", d.offset.map(Into::into)),
        ("text.context", d.text.as_ref().map(|t| t.context.into())),
        (
            "text.stride",
            d.text.as_ref().and_then(|t| t.stride).map(Into::into),
        ),
        (
            "tokens.vocab",
            d.tokens.as_ref().and_then(|t| t.vocab).map(Into::into),
        ),
    ] {
        let v: Option<ranges::Number> = v;
        if let Some(v) = v {
            ranges::check(&format!("data.{k}"), v).map_err(|m| bad(&key(k), m))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_get_the_nearest_valid_key() {
        let yaml = "data: {builtin: spiral}\nmodel:\n  layers: [{linear: {out: 3}}]\ntraining:\n  optimizer: {name: sgd, lr: 0.1}\n  batch_size: 10\n  stepz: 5\n";
        let err = Config::parse(yaml, Path::new("x.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.yaml:7:3: "), "{err}");
        assert!(
            err.contains("unknown field `stepz`") && err.contains("did you mean `steps`?"),
            "{err}"
        );
        let yaml = yaml
            .replace("stepz: 5", "steps: 5")
            .replace("name: sgd", "name: adamm");
        let err = Config::parse(&yaml, Path::new("x.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `adam`?"), "{err}");
    }
}
