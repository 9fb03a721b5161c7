//! The declared range of every numeric parameter a config can set — model, training, data and
//! each check's — in one table. Three readers share it, so that they cannot disagree:
//! validation (`Config::validate`, which `netdx validate`, every run and the `--steps`
//! override go through before the GPU opens), the checks' parameters (validated at load, not
//! when the check runs), and the JSON Schema (`netdx schema`, whose `minimum`/`maximum` bounds
//! are generated from here; a test compares them).
//!
//! A key pattern is the YAML key path with `[]` for any list index: `training.optimizer.lr`,
//! `checks[].gradient_check.batch`. Layer parameters are patterns under `layer.` (they apply at
//! any depth of residual blocks) and init parameters under `init.` (any layer with an init);
//! data parameters under `data.` also apply to `data.fallback`. Every float must be finite.
//! Rules that relate two values (min below max, warn at most fail) are not ranges: they are
//! named rules in the same validation pass (`Config::validate`).
//!
//! This module must not know the config structs: it maps a pattern and a number to a verdict.

use crate::limits;

/// Whether a parameter is a whole number or a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
}

/// One end of a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub inclusive: bool,
}

/// The declared range of one parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub key: &'static str,
    pub kind: Kind,
    pub min: Option<Bound>,
    pub max: Option<Bound>,
}

const fn at_least(v: f64) -> Option<Bound> {
    Some(Bound {
        value: v,
        inclusive: true,
    })
}

const fn above(v: f64) -> Option<Bound> {
    Some(Bound {
        value: v,
        inclusive: false,
    })
}

const fn below(v: f64) -> Option<Bound> {
    Some(Bound {
        value: v,
        inclusive: false,
    })
}

const fn at_most(v: f64) -> Option<Bound> {
    Some(Bound {
        value: v,
        inclusive: true,
    })
}

/// A float in the given bounds (finite in any case).
const fn float(key: &'static str, min: Option<Bound>, max: Option<Bound>) -> Range {
    Range {
        key,
        kind: Kind::Float,
        min,
        max,
    }
}

/// An integer from `min` to `max` (inclusive; `None`: no ceiling).
const fn int(key: &'static str, min: usize, max: Option<usize>) -> Range {
    Range {
        key,
        kind: Kind::Int,
        min: at_least(min as f64),
        max: match max {
            Some(m) => at_most(m as f64),
            None => None,
        },
    }
}

const STEPS: Option<usize> = Some(limits::MAX_STEPS);
const BATCH: Option<usize> = Some(limits::MAX_BATCH);
const WIDTH: Option<usize> = Some(limits::MAX_WIDTH);
const SIDE: Option<usize> = Some(limits::MAX_IMAGE_SIDE);
/// Samples, seeds and batches a check may ask for: more is hours of work, not a diagnosis.
const SAMPLES: Option<usize> = Some(1 << 20);
const ANY: Option<Bound> = None;
const POSITIVE: Option<Bound> = above(0.0);
const NON_NEGATIVE: Option<Bound> = at_least(0.0);

/// Every numeric parameter's range.
pub const RANGES: &[Range] = &[
    // training
    float("training.optimizer.lr", POSITIVE, ANY),
    float("training.optimizer.momentum", NON_NEGATIVE, below(1.0)),
    float("training.optimizer.beta1", NON_NEGATIVE, below(1.0)),
    float("training.optimizer.beta2", NON_NEGATIVE, below(1.0)),
    float("training.optimizer.eps", POSITIVE, ANY),
    int("training.batch_size", 1, BATCH),
    int("training.steps", 1, STEPS),
    int("training.track_every", 1, STEPS),
    float("training.l2", NON_NEGATIVE, ANY),
    float("training.weight_decay", NON_NEGATIVE, ANY),
    float("training.clip.norm", POSITIVE, ANY),
    float("training.clip.value", POSITIVE, ANY),
    int("training.schedule.warmup_steps", 0, STEPS),
    int("training.schedule.step_size", 1, STEPS),
    float("training.schedule.gamma", POSITIVE, ANY),
    float("training.schedule.min_lr", NON_NEGATIVE, ANY),
    // loss
    float("loss.gamma", NON_NEGATIVE, ANY),
    float("loss.alpha", POSITIVE, ANY),
    float("loss.pos_weight", POSITIVE, ANY),
    float("loss.class_weights[]", NON_NEGATIVE, ANY),
    // faults
    int("faults[].step", 0, STEPS),
    // model
    int("model.input", 1, WIDTH),
    int("layer.linear.out", 1, WIDTH),
    int("layer.linear.in", 1, WIDTH),
    float("layer.linear.bias", ANY, ANY),
    float("layer.leaky_relu.slope", ANY, ANY),
    float("layer.batch_norm.eps", POSITIVE, ANY),
    float("layer.batch_norm.momentum", NON_NEGATIVE, at_most(1.0)),
    float("layer.dropout.rate", NON_NEGATIVE, below(1.0)),
    int("layer.conv2d.out", 1, WIDTH),
    int("layer.conv2d.kernel", 1, SIDE),
    int("layer.conv2d.stride", 1, SIDE),
    int("layer.conv2d.padding", 0, SIDE),
    int("layer.conv2d.dilation", 1, SIDE),
    float("layer.conv2d.bias", ANY, ANY),
    int("layer.max_pool2d.kernel", 1, SIDE),
    int("layer.max_pool2d.stride", 1, SIDE),
    int("layer.max_pool2d.padding", 0, SIDE),
    int("layer.avg_pool2d.kernel", 1, SIDE),
    int("layer.avg_pool2d.stride", 1, SIDE),
    int("layer.avg_pool2d.padding", 0, SIDE),
    float("layer.layer_norm.eps", POSITIVE, ANY),
    int("layer.embedding.vocab", 1, WIDTH),
    int("layer.embedding.dim", 1, WIDTH),
    int("layer.position.max_len", 1, WIDTH),
    int("layer.attention.heads", 1, WIDTH),
    float("layer.attention.dropout", NON_NEGATIVE, below(1.0)),
    float("init.normal.std", NON_NEGATIVE, ANY),
    float("init.uniform.low", ANY, ANY),
    float("init.uniform.high", ANY, ANY),
    // data
    int("data.classes", 1, Some(limits::MAX_WIDTH)),
    int(
        "data.points_per_class",
        1,
        Some(limits::MAX_GENERATED_EXAMPLES),
    ),
    int("data.points", 1, Some(limits::MAX_GENERATED_EXAMPLES)),
    int("data.dims", 1, WIDTH),
    int(
        "data.size",
        crate::data::SHAPES_SIZE_RANGE.0,
        Some(crate::data::SHAPES_SIZE_RANGE.1),
    ),
    int("data.length", 1, Some(limits::MAX_CONTEXT / 2)),
    int("data.symbols", 1, Some(limits::MAX_VOCAB - 1)),
    int(
        "data.modulus",
        1,
        Some(limits::MAX_GENERATED_EXAMPLES.isqrt()),
    ),
    float("data.noise", NON_NEGATIVE, ANY),
    float("data.scale", ANY, ANY),
    float("data.offset", ANY, ANY),
    float("data.normalize.scale", ANY, ANY),
    int("data.text.context", 1, Some(limits::MAX_CONTEXT)),
    int("data.text.stride", 1, Some(limits::MAX_CONTEXT)),
    int("data.tokens.vocab", 1, Some(limits::MAX_VOCAB)),
    // checks
    int("checks[].overfit_small.examples", 1, BATCH),
    int("checks[].overfit_small.max_steps", 1, STEPS),
    float("checks[].overfit_small.loss_below", POSITIVE, ANY),
    float("checks[].smoke.min_decrease", NON_NEGATIVE, at_most(1.0)),
    int("checks[].grow.steps", 1, STEPS),
    float("checks[].loss_fit.imbalance_ratio", at_least(1.0), ANY),
    float("checks[].initial_loss.warn", NON_NEGATIVE, ANY),
    float("checks[].initial_loss.fail", NON_NEGATIVE, ANY),
    float(
        "checks[].initial_loss.recover_within",
        NON_NEGATIVE,
        at_most(1.0),
    ),
    float("checks[].loss_scale.ratio", at_least(1.0), ANY),
    int("checks[].input_independent.steps", 1, STEPS),
    float("checks[].input_independent.max_ratio", POSITIVE, ANY),
    int("checks[].gradient_check.samples", 1, SAMPLES),
    int("checks[].gradient_check.batch", 1, BATCH),
    float("checks[].gradient_check.step", POSITIVE, at_most(1.0)),
    float("checks[].gradient_check.warn", NON_NEGATIVE, ANY),
    float("checks[].gradient_check.fail", NON_NEGATIVE, ANY),
    int("checks[].kernel_gradient_check.samples", 2, SAMPLES),
    float("checks[].kernel_gradient_check.warn", NON_NEGATIVE, ANY),
    float("checks[].kernel_gradient_check.fail", NON_NEGATIVE, ANY),
    int("checks[].batch_independence.batch", 2, BATCH),
    int("checks[].gradient_flow.window", 1, STEPS),
    float("checks[].gradient_flow.vanish_ratio", POSITIVE, ANY),
    float("checks[].gradient_flow.explode_ratio", POSITIVE, ANY),
    float("checks[].gradient_flow.growth", POSITIVE, ANY),
    float("checks[].dead_units.warn", NON_NEGATIVE, at_most(1.0)),
    float("checks[].dead_units.fail", NON_NEGATIVE, at_most(1.0)),
    float("checks[].activation_stats.warn", NON_NEGATIVE, at_most(1.0)),
    float("checks[].activation_stats.fail", NON_NEGATIVE, at_most(1.0)),
    float("checks[].update_ratio.warn_low", POSITIVE, ANY),
    float("checks[].update_ratio.warn_high", POSITIVE, ANY),
    float("checks[].update_ratio.fail_low", POSITIVE, ANY),
    float("checks[].update_ratio.fail_high", POSITIVE, ANY),
    int("checks[].saliency.examples", 1, BATCH),
    int("checks[].saliency.top", 1, WIDTH),
    float(
        "checks[].attention_entropy.collapse",
        NON_NEGATIVE,
        at_most(1.0),
    ),
    float(
        "checks[].attention_entropy.early",
        NON_NEGATIVE,
        at_most(1.0),
    ),
    float(
        "checks[].attention_entropy.uniform",
        NON_NEGATIVE,
        at_most(1.0),
    ),
    float("checks[].residual_growth.warn", POSITIVE, ANY),
    float("checks[].residual_growth.fail", POSITIVE, ANY),
    int(
        "checks[].residual_growth.min_blocks",
        1,
        Some(limits::MAX_LAYERS),
    ),
    float("checks[].lr_range.min_lr", POSITIVE, ANY),
    float("checks[].lr_range.max_lr", POSITIVE, ANY),
    int("checks[].lr_range.steps", 1, STEPS),
    int("checks[].lr_range.examples", 1, Some(1 << 20)),
    int("checks[].lr_range.seeds", 1, Some(1000)),
    float("checks[].lr_range.beta", NON_NEGATIVE, below(1.0)),
    float("checks[].lr_range.diverge", above(1.0), ANY),
    float("checks[].lr_range.tolerance", at_least(1.0), ANY),
    float("checks[].lr_range.fail_factor", at_least(1.0), ANY),
    float("checks[].lr_range.rising", at_least(1.0), ANY),
    float("checks[].clipping.always", NON_NEGATIVE, at_most(1.0)),
    int("checks[].batch_size.warmup", 0, STEPS),
    int("checks[].batch_size.batches", 1, SAMPLES),
    float("checks[].batch_size.factor", at_least(1.0), ANY),
    int("checks[].regularization.window", 1, STEPS),
    float("checks[].regularization.warn", NON_NEGATIVE, ANY),
    float("checks[].regularization.fail", NON_NEGATIVE, ANY),
    float("checks[].dropout_bn.warn", POSITIVE, ANY),
    float("checks[].dropout_bn.fail", POSITIVE, ANY),
    int("checks[].optimizer_compare.steps", 1, STEPS),
    float("checks[].optimizer_compare.sgd_lr", POSITIVE, ANY),
    float("checks[].optimizer_compare.nesterov_lr", POSITIVE, ANY),
    float("checks[].optimizer_compare.adam_lr", POSITIVE, ANY),
    float("checks[].optimizer_compare.factor", at_least(1.0), ANY),
    float("checks[].optimizer_compare.floor", NON_NEGATIVE, ANY),
    float("checks[].data.scale", at_least(1.0), ANY),
    float("checks[].data.duplicates", NON_NEGATIVE, at_most(1.0)),
];

/// The range declared for `pattern`.
pub fn find(pattern: &str) -> Option<&'static Range> {
    RANGES.iter().find(|r| r.key == pattern)
}

/// A number as a message shows it (Rust's shortest form: `-1`, not `-1.0`).
fn show(v: f64) -> String {
    format!("{v}")
}

/// A value to check: a whole number as parsed (shown exactly, however large) or a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(u64),
    Float(f64),
}

impl From<usize> for Number {
    fn from(v: usize) -> Number {
        Number::Int(v as u64)
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Number {
        Number::Int(v)
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Number {
        Number::Float(v)
    }
}

impl Number {
    fn value(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }
    }

    fn shown(self) -> String {
        match self {
            Number::Int(v) => v.to_string(),
            Number::Float(v) => show(v),
        }
    }
}

impl Range {
    /// The range in words: "> 0", "in [0, 1)", "at least 1", "between 1 and 100000000".
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Int => match (self.min, self.max) {
                (Some(lo), Some(hi)) => {
                    format!("between {} and {}", show(lo.value), show(hi.value))
                }
                (Some(lo), None) => format!("at least {}", show(lo.value)),
                (None, Some(hi)) => format!("at most {}", show(hi.value)),
                (None, None) => "a whole number".into(),
            },
            Kind::Float => match (self.min, self.max) {
                (Some(lo), Some(hi)) => format!(
                    "in {}{}, {}{}",
                    if lo.inclusive { '[' } else { '(' },
                    show(lo.value),
                    show(hi.value),
                    if hi.inclusive { ']' } else { ')' }
                ),
                (Some(lo), None) => {
                    format!(
                        "{} {}",
                        if lo.inclusive { "≥" } else { ">" },
                        show(lo.value)
                    )
                }
                (None, Some(hi)) => {
                    format!(
                        "{} {}",
                        if hi.inclusive { "≤" } else { "<" },
                        show(hi.value)
                    )
                }
                (None, None) => "a finite number".into(),
            },
        }
    }

    /// Whether `v` lies in the range (finite, and a whole number for an integer).
    pub fn contains(&self, v: f64) -> bool {
        let lo = self
            .min
            .is_none_or(|b| v > b.value || (b.inclusive && v == b.value));
        let hi = self
            .max
            .is_none_or(|b| v < b.value || (b.inclusive && v == b.value));
        v.is_finite() && lo && hi && (self.kind == Kind::Float || v.fract() == 0.0)
    }

    /// `Err(message)` when `v` is outside the range: "must be in [0, 1), got 1.5".
    pub fn check(&self, v: impl Into<Number>) -> Result<(), String> {
        let n = v.into();
        let v = n.value();
        // Above 2⁵³ an integer's f64 is rounded: compare what is exact.
        let over = match (n, self.max) {
            (Number::Int(i), Some(hi)) => i as u128 > hi.value as u128,
            _ => false,
        };
        if !over && self.contains(v) {
            return Ok(());
        }
        // An integer above its ceiling is an absurd size rather than a typo of sign.
        if self.kind == Kind::Int {
            if let Some(hi) = self.max.filter(|hi| over || v > hi.value) {
                return Err(format!(
                    "{} is more than netdx allows ({})",
                    n.shown(),
                    show(hi.value)
                ));
            }
            if let Some(lo) = self.min.filter(|lo| v < lo.value) {
                return Err(format!(
                    "must be at least {}, got {}",
                    show(lo.value),
                    n.shown()
                ));
            }
        }
        Err(format!("must be {}, got {}", self.describe(), n.shown()))
    }

    /// The JSON Schema of a value in the range: its type and bounds.
    pub fn schema(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        let kind = match self.kind {
            Kind::Int => "integer",
            Kind::Float => "number",
        };
        o.insert("type".into(), kind.into());
        let number = |v: f64| match self.kind {
            Kind::Int => serde_json::Value::from(v as u64),
            Kind::Float => serde_json::Value::from(v),
        };
        if let Some(b) = self.min {
            let k = if b.inclusive {
                "minimum"
            } else {
                "exclusiveMinimum"
            };
            o.insert(k.into(), number(b.value));
        }
        if let Some(b) = self.max {
            let k = if b.inclusive {
                "maximum"
            } else {
                "exclusiveMaximum"
            };
            o.insert(k.into(), number(b.value));
        }
        serde_json::Value::Object(o)
    }
}

/// Checks `v` against the range of `pattern`; the message when it is outside. A pattern with
/// no declared range accepts any finite value (a test keeps every pattern declared).
pub fn check(pattern: &str, v: impl Into<Number>) -> Result<(), String> {
    let v = v.into();
    match find(pattern) {
        Some(r) => r.check(v),
        None => {
            debug_assert!(false, "no declared range for {pattern}");
            if v.value().is_finite() {
                Ok(())
            } else {
                Err(format!("must be a finite number, got {}", v.shown()))
            }
        }
    }
}

/// The pattern of a concrete key path: list indices become `[]` (`checks[3].smoke.x` →
/// `checks[].smoke.x`).
pub fn pattern_of(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut in_index = false;
    for c in key.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_unique_and_bounds_consistent() {
        let mut keys: Vec<&str> = RANGES.iter().map(|r| r.key).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a pattern is declared twice");
        for r in RANGES {
            if let (Some(lo), Some(hi)) = (r.min, r.max) {
                assert!(lo.value < hi.value, "{}: empty range", r.key);
            }
        }
    }

    #[test]
    fn messages_say_the_range_and_the_value() {
        let lr = find("training.optimizer.lr").unwrap();
        assert_eq!(lr.check(-1.0).unwrap_err(), "must be > 0, got -1");
        assert_eq!(lr.check(f64::NAN).unwrap_err(), "must be > 0, got NaN");
        let beta = find("checks[].lr_range.beta").unwrap();
        assert_eq!(beta.check(1.0).unwrap_err(), "must be in [0, 1), got 1");
        assert!(beta.check(0.0).is_ok());
        let steps = find("training.steps").unwrap();
        assert_eq!(steps.check(0.0).unwrap_err(), "must be at least 1, got 0");
        assert_eq!(
            steps.check(1e12).unwrap_err(),
            "1000000000000 is more than netdx allows (100000000)"
        );
        let bias = find("layer.linear.bias").unwrap();
        assert_eq!(
            bias.check(f64::INFINITY).unwrap_err(),
            "must be a finite number, got inf"
        );
        assert_eq!(
            steps.check(u64::MAX).unwrap_err(),
            "18446744073709551615 is more than netdx allows (100000000)"
        );
        assert_eq!(
            pattern_of("checks[3].grow.checks[0]"),
            "checks[].grow.checks[]"
        );
    }
}
