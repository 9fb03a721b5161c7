//! The list of checks, built once by a macro so the catalogue printed by `netdx checks` and the
//! dispatch to `run` cannot disagree with the YAML names and parameter types
//! (`config::check_params`, where the `checks:` list is parsed).

use serde::Serialize;

pub use crate::config::check_params::CheckSpec;

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
        impl CheckSpec {
            pub fn section(&self) -> Section {
                match self {
                    $(CheckSpec::$variant(_) => <super::$module::$check as Check>::SECTION,)*
                }
            }

            pub fn run(&self, ctx: &mut Context) -> Result<Finding> {
                match self {
                    $(CheckSpec::$variant(p) => <super::$module::$check as Check>::run(ctx, p),)*
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
        assert_eq!(crate::config::check_params::NAMES.len(), catalogue().len());
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
