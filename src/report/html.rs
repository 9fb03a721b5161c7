//! The HTML report of a recorded run: one self-contained file (inline CSS and SVG, no scripts,
//! nothing fetched) with the verdict table and plots of the loss and accuracy, the learning-rate
//! range test with its suggestions, per-tensor gradient norms and update ratios over time,
//! dead-unit fractions, activation histograms over time, and input saliency.

use std::fmt::Write;

use serde_json::Value;

use super::figures::{figures, Figure};
use super::svg::escape;
use crate::checks::{Finding, Verdict};
use crate::runs::{effective_status, RunRecord};
use crate::suite::SuiteReport;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}\
.meta td:first-child{color:#666;width:110px}.v{font-weight:700;text-transform:uppercase;font-size:12px}\
.pass{color:#107010}.warn{color:#a06000}.fail{color:#b00000}.skip{color:#777}.info{color:#1a5f8a}\
.badge{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600}\
.b-passed{background:#1a7f37}.b-failed,.b-crashed{background:#b00000}.b-interrupted,.b-running,.b-unknown{background:#a06000}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px}\
figure{margin:0;border:1px solid #eee;border-radius:6px;padding:6px}svg.chart{width:100%;height:auto}\
.fix{color:#555;font-size:12px}th.section{background:#f4f6f8;padding-top:8px}\
a.plot{font-size:12px;margin-left:6px}figure:target{border-color:#0072B2;box-shadow:0 0 0 2px #0072B2}";

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Info => "info",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
        Verdict::Skip => "skip",
    }
}

/// A link from a failed or warned finding to the first plot that shows it, if any.
fn plot_link(f: &Finding, figures: &[Figure]) -> String {
    if !matches!(f.verdict, Verdict::Fail | Verdict::Warn) {
        return String::new();
    }
    figures
        .iter()
        .find(|fig| fig.shows(f))
        .map(|fig| format!("<a class=\"plot\" href=\"#{}\">plot</a>", fig.id))
        .unwrap_or_default()
}

/// The whole page.
pub fn page(record: &RunRecord, report: Option<&SuiteReport>, metrics: &[Value]) -> String {
    let mut h = String::new();
    let status = effective_status(record);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>netdx — {}</title><style>{STYLE}</style></head><body>",
        escape(&record.suite)
    );
    let _ = write!(
        h,
        "<h1>netdx — {}</h1><p><span class=\"badge b-{s}\">{s}</span> {}</p>",
        escape(&record.suite),
        escape(record.cause.as_deref().unwrap_or("")),
        s = status.name()
    );
    let e = &record.environment;
    let mut meta = vec![
        ("run", record.id.clone()),
        ("started", record.started.clone()),
        ("command", record.command.join(" ")),
        ("adapter", e.adapter.to_text()),
        ("code", e.code_text()),
        ("seed", record.seed.to_string()),
    ];
    if let Some(d) = &record.data {
        meta.push(("data", d.to_text()));
    }
    h.push_str("<table class=\"meta\">");
    for (k, v) in meta {
        let _ = write!(h, "<tr><td>{k}</td><td>{}</td></tr>", escape(&v));
    }
    h.push_str("</table>");
    let figures = figures(report, metrics);
    if let Some(r) = report {
        let _ = write!(
            h,
            "<h2>Checks</h2><p>{}</p><table><tr><th>check</th><th>verdict</th><th>measured</th><th>threshold</th><th>finding</th></tr>",
            r.counts.summary()
        );
        let mut section = None;
        for f in &r.findings {
            if section != Some(f.section) {
                section = Some(f.section);
                let _ = write!(
                    h,
                    "<tr><th colspan=\"5\" class=\"section\">{}</th></tr>",
                    escape(f.section.title())
                );
            }
            let (case, measured) = (f.case_prefix(), f.measured_text());
            let fix = f
                .fix
                .as_ref()
                .map(|x| {
                    let label = if f.verdict == Verdict::Info {
                        "note"
                    } else {
                        "fix"
                    };
                    format!("<div class=\"fix\">{label}: {}</div>", escape(x))
                })
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}{}{}</td><td class=\"v {c}\">{}</td><td>{} <span class=\"fix\">{}</span></td><td>{}</td><td>{}{fix}</td></tr>",
                escape(&case),
                escape(&f.check),
                plot_link(f, &figures),
                f.verdict.label(),
                escape(&measured),
                escape(&f.quantity),
                escape(&f.threshold),
                escape(&f.message),
                c = verdict_class(f.verdict)
            );
        }
        h.push_str("</table>");
    }
    if !figures.is_empty() {
        h.push_str("<h2>Plots</h2><div class=\"grid\">");
        for f in &figures {
            let _ = write!(
                h,
                "<figure id=\"{}\">{}<figcaption class=\"fix\">{}</figcaption></figure>",
                f.id,
                f.svg,
                escape(&f.caption)
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</body></html>\n");
    h
}
