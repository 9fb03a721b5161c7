//! The checklist: one module per check. A check measures one thing the debugging checklist
//! asks for, compares it with documented thresholds, and returns a [`Finding`] with its
//! verdict, the measured value, the threshold, the margin and the likely fix.
//!
//! Checks read the model, data and training setup from a [`Context`]; expensive shared work
//! (an instrumented training run) is done once there. Checks must not print.

mod context;
mod registry;
pub mod snapshots;

pub mod activation_stats;
pub mod attention_entropy;
pub mod batch_independence;
pub mod batch_size;
pub mod clipping;
pub mod data_stats;
pub mod dead_units;
pub mod dropout_bn;
pub mod gradient_check;
pub mod gradient_flow;
pub mod grow;
pub mod initial_loss;
pub mod input_independent;
pub mod kernel_gradient_check;
pub mod loss_fit;
pub mod loss_scale;
pub mod lr_range;
pub mod numerics;
pub mod optimizer_compare;
pub mod overfit_small;
pub mod regularization;
pub mod residual_growth;
pub mod saliency;
pub mod setup;
pub mod smoke;
pub mod trajectory;
pub mod update_ratio;
pub mod weights_update;
pub mod wiring;

pub use context::{Context, HistogramSnapshot, LayerHistogram, Observation};
pub use registry::{catalogue, CheckInfo, CheckSpec, ParamDoc};

use crate::error::Result;
use serde::{Deserialize, Serialize};

/// The checklist's sections, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    StartSimple,
    ConfirmLoss,
    IntermediateOutputs,
    DiagnoseParameters,
    /// Comparisons with earlier runs (`netdx run --baseline`).
    TrackWork,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::StartSimple,
        Section::ConfirmLoss,
        Section::IntermediateOutputs,
        Section::DiagnoseParameters,
        Section::TrackWork,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::StartSimple => "1. Start simple",
            Section::ConfirmLoss => "2. Confirm the loss",
            Section::IntermediateOutputs => "3. Check intermediate outputs",
            Section::DiagnoseParameters => "4. Diagnose parameters",
            Section::TrackWork => "5. Track the work",
        }
    }
}

/// A check's outcome. `Info` is a pass with a note worth reading but nothing to change (a
/// measurement near a threshold the user cannot move, a setting that is unusual but harmless):
/// it is shown, never counted as a warning, and never fails a run. `Skip` means the check does
/// not apply to this model or data (the reason is in the message); it is neither a pass nor a
/// failure. A warning is kept for what the user can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Info,
    Skip,
    Warn,
    Fail,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        }
    }
}

/// What a check found.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    pub check: String,
    /// The suite variant (`cases:` / `matrix:`) the finding is for; absent for a plain suite.
    #[serde(default)]
    pub case: Option<String>,
    pub section: Section,
    pub verdict: Verdict,
    /// The headline measurement (absent when the check did not get to measure).
    pub measured: Option<f64>,
    /// What `measured` is, e.g. "initial loss" or "worst relative error".
    pub quantity: String,
    /// The rule applied, e.g. "within 15 % of ln 10 = 2.303".
    pub threshold: String,
    /// How far the measurement is from the nearest threshold, in the threshold's units
    /// (positive: inside the passing side).
    pub margin: Option<f64>,
    /// The steps or examples the measurement covers, e.g. "steps 0–199".
    pub window: Option<String>,
    /// One or two sentences for a person.
    pub message: String,
    /// The likely fix when the verdict is not a pass.
    pub fix: Option<String>,
    /// Check-specific figures (per-layer values, curves, suggestions), stable per check.
    pub details: serde_json::Value,
    /// With `--try-fixes`: the cheap fix tried and the verdict after it.
    #[serde(default)]
    pub tried_fix: Option<TriedFix>,
    /// Wall time of the check (its share of the observation run included), for `--durations`
    /// and JUnit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The check could not run (an error, not a finding about the network): a JUnit `<error>`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
}

impl Finding {
    /// `case: ` for a suite variant's finding, empty otherwise (for one-line listings).
    pub fn case_prefix(&self) -> String {
        self.case
            .as_ref()
            .map(|c| format!("{c}: "))
            .unwrap_or_default()
    }

    /// The measurement as printed, `—` when there is none.
    pub fn measured_text(&self) -> String {
        self.measured
            .map(crate::text::number)
            .unwrap_or_else(|| "—".into())
    }

    pub fn new(check: &str, section: Section, verdict: Verdict, quantity: &str) -> Self {
        Finding {
            check: check.to_string(),
            case: None,
            section,
            verdict,
            measured: None,
            quantity: quantity.to_string(),
            threshold: String::new(),
            margin: None,
            window: None,
            message: String::new(),
            fix: None,
            details: serde_json::Value::Null,
            tried_fix: None,
            seconds: None,
            error: false,
        }
    }

    pub fn measured(mut self, v: f64) -> Self {
        self.measured = Some(v);
        self
    }

    pub fn threshold(mut self, t: impl Into<String>) -> Self {
        self.threshold = t.into();
        self
    }

    pub fn margin(mut self, m: f64) -> Self {
        self.margin = Some(m);
        self
    }

    pub fn window(mut self, w: impl Into<String>) -> Self {
        self.window = Some(w.into());
        self
    }

    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = m.into();
        self
    }

    pub fn fix(mut self, f: impl Into<String>) -> Self {
        self.fix = Some(f.into());
        self
    }

    pub fn details(mut self, d: serde_json::Value) -> Self {
        self.details = d;
        self
    }
}

/// One check: its name, section, summary, parameters (with defaults from `Params::default()`)
/// and what it does.
pub trait Check {
    const NAME: &'static str;
    const SECTION: Section;
    const SUMMARY: &'static str;
    /// Documentation of each parameter, by field name (tested to cover every field).
    const PARAMS: &'static [ParamDoc];
    type Params: Default + Clone + std::fmt::Debug + Serialize + for<'de> Deserialize<'de>;

    fn run(ctx: &mut Context, params: &Self::Params) -> Result<Finding>;
}

/// The median (upper middle for an even count) of `v`, NaN sorted last; NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A verdict from a value and two thresholds on the same side: pass while `value <= warn`,
/// warn while `value <= fail`, fail above.
pub fn grade_upper(value: f64, warn: f64, fail: f64) -> Verdict {
    if !value.is_finite() || value > fail {
        Verdict::Fail
    } else if value > warn {
        Verdict::Warn
    } else {
        Verdict::Pass
    }
}

/// The outcome of re-running a failing or warning check with its cheap fix
/// (`run --try-fixes`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TriedFix {
    /// The change, e.g. "learning rate 30 → 3".
    pub change: String,
    pub verdict_after: Verdict,
    pub measured_after: Option<f64>,
    pub message_after: String,
}
