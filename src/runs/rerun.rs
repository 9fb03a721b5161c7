//! Whether a rerun reproduced its original: bit for bit, within tolerance, or not — and the
//! differences in the environment that explain it.

use std::path::Path;

use serde::Serialize;

use super::history::{checks_of, compare_metrics, metrics_of};
use super::RunRecord;

/// Relative difference of losses and measurements still called a reproduction.
pub const TOLERANCE: f64 = 1e-3;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    BitForBit,
    WithinTolerance,
    Differs,
}

#[derive(Clone, Debug, Serialize)]
pub struct Reproduction {
    pub outcome: Match,
    /// Largest relative difference of a step loss or a check's measurement.
    pub max_relative: f64,
    /// What differs in the results (verdicts, steps, status).
    pub differences: Vec<String>,
    /// What differs in the environment and may explain it.
    pub reasons: Vec<String>,
}

fn relative(a: f64, b: f64) -> f64 {
    if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
        0.0
    } else {
        let r = (a - b).abs() / a.abs().max(b.abs()).max(1e-12);
        if r.is_nan() {
            f64::INFINITY
        } else {
            r
        }
    }
}

/// Compares the original run `a` with its rerun `b`.
pub fn compare(a: (&Path, &RunRecord), b: (&Path, &RunRecord)) -> Reproduction {
    let (da, ra) = a;
    let (db, rb) = b;
    let mut differences = Vec::new();
    let metrics = compare_metrics(&metrics_of(da), &metrics_of(db));
    let mut max_relative = metrics.max_relative;
    let mut exact = metrics.identical == metrics.common;
    if metrics.only_a + metrics.only_b > 0 {
        differences.push(format!(
            "steps recorded: {} only in the original, {} only in the rerun",
            metrics.only_a, metrics.only_b
        ));
    }
    if let Some(at) = metrics.first_difference_text() {
        differences.push(format!("loss first differs at {at}"));
    }
    if ra.status != rb.status {
        differences.push(format!(
            "status {} → {}",
            ra.status.name(),
            rb.status.name()
        ));
    }
    if let (Some(x), Some(y)) = (checks_of(da), checks_of(db)) {
        for f in &x.findings {
            let Some(g) = y
                .findings
                .iter()
                .find(|g| g.check == f.check && g.case == f.case)
            else {
                differences.push(format!("{}: not in the rerun", f.check));
                continue;
            };
            if f.verdict != g.verdict {
                differences.push(format!(
                    "{}: {} → {}",
                    f.check,
                    f.verdict.label(),
                    g.verdict.label()
                ));
            }
            if let (Some(m), Some(n)) = (f.measured, g.measured) {
                let r = relative(m, n);
                exact &= r == 0.0;
                max_relative = max_relative.max(r);
            } else if f.measured.is_some() != g.measured.is_some() {
                exact = false;
                differences.push(format!("{}: measured in only one run", f.check));
            }
        }
    }
    let outcome = if differences.is_empty() && exact {
        Match::BitForBit
    } else if differences
        .iter()
        .all(|d| d.starts_with("loss first differs"))
        && max_relative <= TOLERANCE
    {
        Match::WithinTolerance
    } else {
        Match::Differs
    };
    Reproduction {
        outcome,
        max_relative,
        differences,
        reasons: reasons(ra, rb),
    }
}

/// Environment differences that can change results.
fn reasons(a: &RunRecord, b: &RunRecord) -> Vec<String> {
    let (ea, eb) = (&a.environment, &b.environment);
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("{what}: {x} → {y}"));
        }
    };
    differ(
        "adapter",
        format!("{} ({})", ea.adapter.name, ea.adapter.backend),
        format!("{} ({})", eb.adapter.name, eb.adapter.backend),
    );
    differ(
        "driver",
        format!("{} {}", ea.adapter.driver, ea.adapter.driver_info),
        format!("{} {}", eb.adapter.driver, eb.adapter.driver_info),
    );
    differ("netdx", ea.netdx_version.clone(), eb.netdx_version.clone());
    let code = |e: &super::Environment| {
        e.git
            .as_ref()
            .map_or_else(|| "no git".into(), super::environment::GitState::to_text)
    };
    differ("code", code(ea), code(eb));
    let hash = |r: &RunRecord| r.data.as_ref().map(|d| d.hash.clone()).unwrap_or_default();
    differ("data", hash(a), hash(b));
    if a.config != b.config {
        out.push("the resolved config differs".into());
    }
    out
}

impl Reproduction {
    pub fn to_text(&self) -> String {
        let mut s = match self.outcome {
            Match::BitForBit => "reproduced bit for bit".to_string(),
            Match::WithinTolerance => format!(
                "reproduced within tolerance (largest relative difference {:.3e} ≤ {TOLERANCE:e})",
                self.max_relative
            ),
            Match::Differs => format!(
                "not reproduced (largest relative difference {:.3e})",
                self.max_relative
            ),
        };
        s.push('\n');
        for d in &self.differences {
            s.push_str(&format!("  differs: {d}\n"));
        }
        match (self.reasons.is_empty(), &self.outcome) {
            (true, Match::BitForBit) => {}
            (true, _) => s.push_str(
                "  the environment is the same (adapter, driver, netdx, code and data), so the difference is in netdx or the driver's determinism\n",
            ),
            (false, Match::BitForBit) => s.push_str("  although the environment differed:\n"),
            (false, _) => s.push_str("  the environment differed, which may explain it:\n"),
        }
        for r in &self.reasons {
            s.push_str(&format!("    {r}\n"));
        }
        s
    }
}
