//! The list of checks, built once by a macro so the YAML names, the parameter types, the
//! catalogue printed by `netdx checks` and the dispatch to `run` cannot disagree.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Check, Context, Finding, Section};
use crate::error::Result;

/// One documented parameter.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamDoc {
    pub name: &'static str,
    pub doc: &'static str,
}

/// A check as `netdx checks` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct CheckInfo {
    pub name: &'static str,
    pub section: Section,
    pub summary: &'static str,
    /// Parameter names to their default values.
    pub defaults: serde_json::Value,
    pub params: &'static [ParamDoc],
}

macro_rules! registry {
    ($($variant:ident => $module:ident :: $check:ident),* $(,)?) => {
        /// A check with its parameters, as written in a suite's `checks:` list.
        #[derive(Clone, Debug, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum CheckSpec {
            $($variant(<super::$module::$check as Check>::Params),)*
        }

        /// Every check name, in catalogue order.
        pub const NAMES: &[&str] = &[$(<super::$module::$check as Check>::NAME,)*];

        impl CheckSpec {
            pub fn name(&self) -> &'static str {
                match self {
                    $(CheckSpec::$variant(_) => <super::$module::$check as Check>::NAME,)*
                }
            }

            pub fn section(&self) -> Section {
                match self {
                    $(CheckSpec::$variant(_) => <super::$module::$check as Check>::SECTION,)*
                }
            }

            /// The check `name` with default parameters.
            pub fn with_defaults(name: &str) -> Option<CheckSpec> {
                match name {
                    $(n if n == <super::$module::$check as Check>::NAME => Some(CheckSpec::$variant(Default::default())),)*
                    _ => None,
                }
            }

            /// Every check, with default parameters.
            pub fn all() -> Vec<CheckSpec> {
                NAMES.iter().filter_map(|n| CheckSpec::with_defaults(n)).collect()
            }

            pub fn run(&self, ctx: &mut Context) -> Result<Finding> {
                match self {
                    $(CheckSpec::$variant(p) => <super::$module::$check as Check>::run(ctx, p),)*
                }
            }

            fn from_map<'de, A: MapAccess<'de>>(name: &str, map: &mut A) -> Result<CheckSpec, A::Error> {
                match name {
                    $(n if n == <super::$module::$check as Check>::NAME => Ok(CheckSpec::$variant(map.next_value()?)),)*
                    other => Err(de::Error::custom(unknown_check(other))),
                }
            }
        }

        /// Every check with its section, summary, parameters and defaults.
        pub fn catalogue() -> Vec<CheckInfo> {
            vec![$(CheckInfo {
                name: <super::$module::$check as Check>::NAME,
                section: <super::$module::$check as Check>::SECTION,
                summary: <super::$module::$check as Check>::SUMMARY,
                defaults: serde_json::to_value(<super::$module::$check as Check>::Params::default())
                    .unwrap_or(serde_json::Value::Null),
                params: <super::$module::$check as Check>::PARAMS,
            },)*]
        }
    };
}

registry! {
    OverfitSmall => overfit_small::OverfitSmall,
    Smoke => smoke::Smoke,
    Grow => grow::Grow,
    LossFit => loss_fit::LossFit,
    InitialLoss => initial_loss::InitialLoss,
    LossScale => loss_scale::LossScale,
    InputIndependent => input_independent::InputIndependent,
    GradientCheck => gradient_check::GradientCheck,
    KernelGradientCheck => kernel_gradient_check::KernelGradientCheck,
    BatchIndependence => batch_independence::BatchIndependence,
    WeightsUpdate => weights_update::WeightsUpdate,
    GradientFlow => gradient_flow::GradientFlow,
    DeadUnits => dead_units::DeadUnits,
    ActivationStats => activation_stats::ActivationStats,
    UpdateRatio => update_ratio::UpdateRatio,
    Numerics => numerics::Numerics,
    Saliency => saliency::Saliency,
    AttentionEntropy => attention_entropy::AttentionEntropy,
    ResidualGrowth => residual_growth::ResidualGrowth,
    LrRange => lr_range::LrRange,
    Clipping => clipping::Clipping,
    BatchSize => batch_size::BatchSize,
    Regularization => regularization::Regularization,
    DropoutBn => dropout_bn::DropoutBn,
    OptimizerCompare => optimizer_compare::OptimizerCompare,
    Data => data_stats::DataStats,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_of_every_check_is_documented() {
        for c in catalogue() {
            let mut fields: Vec<&str> = c
                .defaults
                .as_object()
                .map(|m| m.keys().map(|k| k.as_str()).collect())
                .unwrap_or_default();
            let mut docs: Vec<&str> = c.params.iter().map(|p| p.name).collect();
            fields.sort();
            docs.sort();
            assert_eq!(
                fields, docs,
                "{}: documented parameters differ from its Params fields",
                c.name
            );
        }
        assert_eq!(NAMES.len(), catalogue().len());
    }

    #[test]
    fn checks_parse_from_names_and_maps_with_clear_errors() {
        let specs: Vec<CheckSpec> =
            serde_yaml::from_str("[smoke, {dead_units: {warn: 0.1}}, {lr_range: {steps: 20}}]")
                .unwrap();
        assert_eq!(
            specs.iter().map(|s| s.name()).collect::<Vec<_>>(),
            ["smoke", "dead_units", "lr_range"]
        );
        let err = serde_yaml::from_str::<Vec<CheckSpec>>("[gradiant_check]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean `gradient_check`"), "{err}");
        let err = serde_yaml::from_str::<Vec<CheckSpec>>("[{dead_units: {warm: 0.1}}]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `warm`"), "{err}");
    }
}
