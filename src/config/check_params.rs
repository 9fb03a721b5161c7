//! What a suite's `checks:` list holds: each check by name with its parameters and their
//! defaults, parsed here (with the config's file, line and column in every error) so that the
//! configuration depends on nothing above it. What each check measures with them lives in
//! `checks::`, one file per check, each of which takes its `Params` from here.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

pub mod overfit_small {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "overfit_small";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub examples: usize,
        pub max_steps: usize,
        pub loss_below: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                examples: 2,
                max_steps: 500,
                loss_below: 0.01,
            }
        }
    }
}

pub mod smoke {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "smoke";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Required relative decrease of the loss from the first to the last tenth of the run.
        pub min_decrease: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params { min_decrease: 0.1 }
        }
    }
}

pub mod grow {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "grow";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Training steps for each depth.
        pub steps: usize,
        /// The checks run at each depth.
        pub checks: Vec<String>,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                steps: 150,
                checks: vec!["smoke".into(), "gradient_flow".into(), "numerics".into()],
            }
        }
    }
}

pub mod loss_fit {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "loss_fit";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub imbalance_ratio: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                imbalance_ratio: 3.0,
            }
        }
    }
}

pub mod initial_loss {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "initial_loss";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Relative deviation from chance that warns.
        pub warn: f64,
        /// Relative deviation from chance that fails.
        pub fail: f64,
        /// Fraction of the observation run within which an over-confident start must have
        /// fallen below chance to count as recovered.
        pub recover_within: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                warn: 0.15,
                fail: 3.0,
                recover_within: 0.25,
            }
        }
    }
}

pub mod loss_scale {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "loss_scale";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub ratio: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params { ratio: 10.0 }
        }
    }
}

pub mod input_independent {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "input_independent";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Steps for each of the two runs.
        pub steps: usize,
        /// The real-input loss must be below this fraction of the zero-input loss.
        pub max_ratio: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                steps: 200,
                max_ratio: 0.9,
            }
        }
    }
}

pub mod gradient_check {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "gradient_check";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Entries sampled per parameter tensor.
        pub samples: usize,
        /// Examples in the batch.
        pub batch: usize,
        /// Finite-difference step (in f64).
        pub step: f64,
        pub warn: f64,
        pub fail: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                samples: 12,
                batch: 8,
                step: 1e-5,
                warn: 1e-3,
                fail: 1e-2,
            }
        }
    }
}

pub mod kernel_gradient_check {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "kernel_gradient_check";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Points spread evenly over the range (ends included).
        pub samples: usize,
        pub warn: f64,
        pub fail: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                samples: 257,
                warn: 1e-3,
                fail: 1e-2,
            }
        }
    }
}

pub mod batch_independence {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "batch_independence";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub batch: usize,
        pub train_mode: bool,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                batch: 8,
                train_mode: false,
            }
        }
    }
}

pub mod weights_update {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "weights_update";

    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {}
}

pub mod gradient_flow {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "gradient_flow";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub window: usize,
        pub vanish_ratio: f64,
        pub explode_ratio: f64,
        pub growth: f64,
        pub require_symptom: bool,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                window: 50,
                vanish_ratio: 1e-3,
                explode_ratio: 70.0,
                growth: 10.0,
                require_symptom: true,
            }
        }
    }
}

pub mod dead_units {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "dead_units";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub warn: f64,
        pub fail: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                warn: 0.2,
                fail: 0.5,
            }
        }
    }
}

pub mod activation_stats {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "activation_stats";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub warn: f64,
        pub fail: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                warn: 0.2,
                fail: 0.5,
            }
        }
    }
}

pub mod update_ratio {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "update_ratio";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub warn_low: f64,
        pub warn_high: f64,
        pub fail_low: f64,
        pub fail_high: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                warn_low: 1e-5,
                warn_high: 1e-1,
                fail_low: 1e-6,
                fail_high: 1.0,
            }
        }
    }
}

pub mod numerics {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "numerics";

    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {}
}

pub mod saliency {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "saliency";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub examples: usize,
        pub top: usize,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                examples: 8,
                top: 5,
            }
        }
    }
}

pub mod attention_entropy {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "attention_entropy";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Normalized entropy below which a head has collapsed.
        pub collapse: f64,
        /// The part of the run (from the start) in which a collapse fails.
        pub early: f64,
        /// Normalized entropy above which a head is (near) uniform.
        pub uniform: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                collapse: 0.1,
                early: 0.3,
                uniform: 0.97,
            }
        }
    }
}

pub mod residual_growth {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "residual_growth";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Smallest growth per block over the deeper half of the blocks that warns.
        pub warn: f64,
        /// Smallest growth per block that fails.
        pub fail: f64,
        /// Blocks needed before growth can be called geometric.
        pub min_blocks: usize,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                warn: 1.3,
                fail: 2.0,
                min_blocks: 3,
            }
        }
    }
}

pub mod lr_range {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "lr_range";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub min_lr: f64,
        pub max_lr: f64,
        pub steps: usize,
        /// Examples each point of the sweep averages: at batches below it, each rate runs
        /// ⌈examples / batch⌉ steps.
        pub examples: usize,
        pub seeds: usize,
        /// Smoothing factor of the moving average.
        pub beta: f64,
        /// Stop once the smoothed loss exceeds this multiple of its minimum.
        pub diverge: f64,
        /// The configured rate passes within this factor of the median suggestion.
        pub tolerance: f64,
        /// Beyond this factor it fails.
        pub fail_factor: f64,
        /// From this factor above the suggestion, a rate past the sweep's loss minimum warns.
        pub rising: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                min_lr: 1e-5,
                max_lr: 10.0,
                steps: 100,
                examples: 16,
                seeds: 2,
                beta: 0.9,
                diverge: 4.0,
                tolerance: 10.0,
                fail_factor: 100.0,
                rising: 8.0,
            }
        }
    }
}

pub mod clipping {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "clipping";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Clipping on this fraction of steps or more counts as "always".
        pub always: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params { always: 0.9 }
        }
    }
}

pub mod batch_size {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "batch_size";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// Training steps before the measurement.
        pub warmup: usize,
        /// Batches averaged at each size.
        pub batches: usize,
        /// The configured batch size passes within this factor of B_simple.
        pub factor: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                warmup: 20,
                batches: 20,
                factor: 10.0,
            }
        }
    }
}

pub mod regularization {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "regularization";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub window: usize,
        pub warn: f64,
        pub fail: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                window: 10,
                warn: 0.5,
                fail: 1.0,
            }
        }
    }
}

pub mod dropout_bn {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "dropout_bn";

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
}

pub mod optimizer_compare {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "optimizer_compare";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        pub steps: usize,
        pub sgd_lr: f64,
        pub nesterov_lr: f64,
        pub adam_lr: f64,
        /// Warn when the configured run's final loss exceeds the best alternative's by this factor.
        pub factor: f64,
        /// Fraction of the initial loss added to both final losses before dividing.
        pub floor: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                steps: 200,
                sgd_lr: 0.1,
                nesterov_lr: 0.05,
                adam_lr: 1e-3,
                factor: 2.0,
                floor: 0.1,
            }
        }
    }
}

pub mod data_stats {
    use serde::{Deserialize, Serialize};

    /// The check's name in a suite's `checks:` list.
    pub const NAME: &str = "data";

    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Params {
        /// A feature whose |mean| exceeds this many of its standard deviations, or whose standard
        /// deviation is outside [1/scale, scale], is unnormalized.
        pub scale: f64,
        /// Fraction of duplicated examples that warns.
        pub duplicates: f64,
    }

    impl Default for Params {
        fn default() -> Self {
            Params {
                scale: 10.0,
                duplicates: 0.05,
            }
        }
    }
}

macro_rules! specs {
    ($($variant:ident => $module:ident),* $(,)?) => {
        /// A check with its parameters, as written in a suite's `checks:` list.
        #[derive(Clone, Debug, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum CheckSpec {
            $($variant($module::Params),)*
        }

        /// Every check name, in catalogue order.
        pub const NAMES: &[&str] = &[$($module::NAME,)*];

        impl CheckSpec {
            pub fn name(&self) -> &'static str {
                match self {
                    $(CheckSpec::$variant(_) => $module::NAME,)*
                }
            }

            /// The parameters as a YAML map (NaN stays NaN, as it would not in JSON).
            pub fn params_yaml(&self) -> serde_yaml::Value {
                match self {
                    $(CheckSpec::$variant(p) => serde_yaml::to_value(p).unwrap_or(serde_yaml::Value::Null),)*
                }
            }

            /// The check `name` with default parameters.
            pub fn with_defaults(name: &str) -> Option<CheckSpec> {
                match name {
                    $(n if n == $module::NAME => Some(CheckSpec::$variant(Default::default())),)*
                    _ => None,
                }
            }

            fn from_map<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<CheckSpec, A::Error> {
                match name {
                    $(n if n == $module::NAME => Ok(CheckSpec::$variant(map.next_value()?)),)*
                    other => Err(de::Error::custom(unknown_check(other))),
                }
            }
        }
    };
}

specs! {
    OverfitSmall => overfit_small,
    Smoke => smoke,
    Grow => grow,
    LossFit => loss_fit,
    InitialLoss => initial_loss,
    LossScale => loss_scale,
    InputIndependent => input_independent,
    GradientCheck => gradient_check,
    KernelGradientCheck => kernel_gradient_check,
    BatchIndependence => batch_independence,
    WeightsUpdate => weights_update,
    GradientFlow => gradient_flow,
    DeadUnits => dead_units,
    ActivationStats => activation_stats,
    UpdateRatio => update_ratio,
    Numerics => numerics,
    Saliency => saliency,
    AttentionEntropy => attention_entropy,
    ResidualGrowth => residual_growth,
    LrRange => lr_range,
    Clipping => clipping,
    BatchSize => batch_size,
    Regularization => regularization,
    DropoutBn => dropout_bn,
    OptimizerCompare => optimizer_compare,
    Data => data_stats,
}

impl CheckSpec {
    /// Every check, with default parameters.
    pub fn all() -> Vec<CheckSpec> {
        NAMES
            .iter()
            .filter_map(|n| CheckSpec::with_defaults(n))
            .collect()
    }
}

/// "unknown check `x`", with the nearest name when one is close.
fn unknown_check(name: &str) -> String {
    match crate::text::nearest(name, NAMES) {
        Some(n) => {
            format!("unknown check `{name}`; did you mean `{n}`? (`netdx checks` lists them)")
        }
        None => format!("unknown check `{name}`; `netdx checks` lists the checks"),
    }
}

impl<'de> Deserialize<'de> for CheckSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CheckSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a check name, or {name: {parameters}}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<CheckSpec, E> {
                CheckSpec::with_defaults(s).ok_or_else(|| E::custom(unknown_check(s)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CheckSpec, A::Error> {
                let name: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("empty check map"))?;
                let spec = CheckSpec::from_map(&name, &mut map)?;
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "a check map has exactly one key; found `{extra}` after `{name}`"
                    )));
                }
                Ok(spec)
            }
        }
        d.deserialize_any(V)
    }
}

/// Validates the parameters of a `checks:` list at load (not when a check runs): each number
/// against its declared range (`checks[].NAME.PARAM` in [`super::ranges`]), then the rules
/// that relate two parameters of one check.
pub(crate) fn validate(
    checks: &[CheckSpec],
    bad: &dyn Fn(&str, String) -> crate::Error,
) -> crate::error::Result<()> {
    for (i, spec) in checks.iter().enumerate() {
        let name = spec.name();
        let at = format!("checks[{i}].{name}");
        if let serde_yaml::Value::Mapping(m) = spec.params_yaml() {
            for (k, v) in &m {
                let number = v
                    .as_u64()
                    .map(super::ranges::Number::Int)
                    .or_else(|| v.as_f64().map(super::ranges::Number::Float));
                let (Some(k), Some(v)) = (k.as_str(), number) else {
                    continue;
                };
                super::ranges::check(&format!("checks[].{name}.{k}"), v)
                    .map_err(|message| bad(&format!("{at}.{k}"), message))?;
            }
        }
        rules(spec, &at, bad)?;
    }
    Ok(())
}

/// `lo` (named `lo_name`) must be below `hi` (or at most `hi` when `equal` is allowed).
fn ordered(
    at: &str,
    (lo_name, lo): (&str, f64),
    (hi_name, hi): (&str, f64),
    equal: bool,
    bad: &dyn Fn(&str, String) -> crate::Error,
) -> crate::error::Result<()> {
    if lo < hi || (equal && lo == hi) {
        return Ok(());
    }
    let relation = if equal { "at most" } else { "below" };
    Err(bad(
        &format!("{at}.{lo_name}"),
        format!("must be {relation} `{hi_name}` ({hi}), got {lo}"),
    ))
}

/// The rules that relate parameters of one check: a warning threshold at most the failing
/// one, a sweep's lower end below its upper end, the checks `grow` runs known.
fn rules(
    spec: &CheckSpec,
    at: &str,
    bad: &dyn Fn(&str, String) -> crate::Error,
) -> crate::error::Result<()> {
    let warn_fail = |warn: f64, fail: f64| ordered(at, ("warn", warn), ("fail", fail), true, bad);
    match spec {
        CheckSpec::InitialLoss(p) => warn_fail(p.warn, p.fail),
        CheckSpec::GradientCheck(p) => warn_fail(p.warn, p.fail),
        CheckSpec::KernelGradientCheck(p) => warn_fail(p.warn, p.fail),
        CheckSpec::DeadUnits(p) => warn_fail(p.warn, p.fail),
        CheckSpec::ActivationStats(p) => warn_fail(p.warn, p.fail),
        CheckSpec::ResidualGrowth(p) => warn_fail(p.warn, p.fail),
        CheckSpec::Regularization(p) => warn_fail(p.warn, p.fail),
        CheckSpec::DropoutBn(p) => warn_fail(p.warn, p.fail),
        CheckSpec::UpdateRatio(p) => {
            ordered(
                at,
                ("fail_low", p.fail_low),
                ("warn_low", p.warn_low),
                true,
                bad,
            )?;
            ordered(
                at,
                ("warn_low", p.warn_low),
                ("warn_high", p.warn_high),
                false,
                bad,
            )?;
            ordered(
                at,
                ("warn_high", p.warn_high),
                ("fail_high", p.fail_high),
                true,
                bad,
            )
        }
        CheckSpec::LrRange(p) => {
            ordered(at, ("min_lr", p.min_lr), ("max_lr", p.max_lr), false, bad)?;
            ordered(
                at,
                ("tolerance", p.tolerance),
                ("fail_factor", p.fail_factor),
                true,
                bad,
            )
        }
        CheckSpec::AttentionEntropy(p) => ordered(
            at,
            ("collapse", p.collapse),
            ("uniform", p.uniform),
            false,
            bad,
        ),
        CheckSpec::GradientFlow(p) => ordered(
            at,
            ("vanish_ratio", p.vanish_ratio),
            ("explode_ratio", p.explode_ratio),
            false,
            bad,
        ),
        CheckSpec::Grow(p) => {
            for (j, c) in p.checks.iter().enumerate() {
                if CheckSpec::with_defaults(c).is_none() {
                    return Err(bad(&format!("{at}.checks[{j}]"), unknown_check(c)));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numeric_parameter_has_a_declared_range_holding_its_default() {
        let bad = |k: &str, m: String| crate::Error::Usage(format!("{k}: {m}"));
        if let Err(e) = validate(&CheckSpec::all(), &bad) {
            panic!("the defaults are refused: {e}");
        }
        for spec in CheckSpec::all() {
            let serde_yaml::Value::Mapping(m) = spec.params_yaml() else {
                continue;
            };
            for (k, v) in &m {
                if v.is_number() {
                    let pattern = format!("checks[].{}.{}", spec.name(), k.as_str().unwrap());
                    assert!(
                        super::super::ranges::find(&pattern).is_some(),
                        "no declared range for {pattern}"
                    );
                }
            }
        }
    }
}
