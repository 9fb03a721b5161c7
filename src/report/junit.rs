//! JUnit XML, written by `quick-junit` (nextest's writer): one test case per check (classname:
//! the checklist section) with its time and properties; a `<failure>` for a failed check, an
//! `<error>` for a check that could not run, `<skipped>` for one that does not apply; warnings
//! and info notes pass with the message in `<system-out>`, since JUnit has no warning state.
//! The suite carries its start (`timestamp`), the host and the adapter.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::checks::{Finding, Verdict};
use crate::suite::SuiteReport;

/// `s` with every character that XML 1.0 forbids (C0 controls but tab, newline and carriage
/// return; U+FFFE, U+FFFF) written out as the visible text `\u{1b}`: the XML writer would
/// drop them (and the escape sequences they start) without a trace. A tab becomes a space, as
/// an XML parser reads one in an attribute (the writer would drop it).
fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\t' {
            out.push(' ');
        } else if xml_char(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// Whether XML 1.0 allows `c` in a document: #x9 | #xA | #xD | [#x20-#xD7FF] |
/// [#xE000-#xFFFD] | [#x10000-#x10FFFF] (a Rust `char` is never a surrogate).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

/// The one-line summary of a finding, as `<system-out>` and a failure's description carry it.
fn summary(f: &Finding) -> String {
    let measured = f.measured.map(|v| format!("{v}")).unwrap_or_default();
    format!(
        "{}: {} = {} [{}] {}",
        f.verdict.label(),
        f.quantity,
        measured,
        f.threshold,
        f.message
    )
}

fn test_case(f: &Finding) -> TestCase {
    let status = match f.verdict {
        Verdict::Fail => {
            let kind = if f.error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(visible(&f.message))
                .set_type(visible(&f.check))
                .set_description(visible(&format!(
                    "{}\nfix: {}",
                    summary(f),
                    f.fix.clone().unwrap_or_default()
                )));
            s
        }
        Verdict::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(visible(&f.message));
            s
        }
        Verdict::Pass | Verdict::Warn | Verdict::Info => TestCaseStatus::success(),
    };
    let name = match &f.case {
        Some(c) => format!("{} [{c}]", f.check),
        None => f.check.clone(),
    };
    let mut t = TestCase::new(visible(&name), status);
    t.set_classname(format!("{:?}", f.section))
        .set_time(seconds(f.seconds.unwrap_or(0.0)))
        .set_system_out(visible(&summary(f)))
        .add_property(Property::new("check", f.check.as_str()))
        .add_property(Property::new("verdict", f.verdict.label().to_lowercase()));
    if let Some(c) = &f.case {
        t.add_property(Property::new("case", visible(c)));
    }
    if let Some(m) = f.measured {
        t.add_property(Property::new("measured", format!("{m}")));
    }
    t
}

pub fn to_junit(r: &SuiteReport) -> String {
    let mut suite = TestSuite::new(visible(&r.suite));
    suite.set_time(seconds(r.seconds));
    let started = r
        .started
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if let Some(t) = started {
        suite.set_timestamp(t);
    }
    suite.extra.insert(
        "hostname".into(),
        visible(&crate::runs::liveness::host_name()).into(),
    );
    suite.add_properties([
        Property::new("adapter", visible(&r.adapter)),
        Property::new("backend", visible(&r.backend)),
        Property::new("driver", visible(&r.driver)),
        Property::new("seed", r.seed.to_string()),
        Property::new("netdx_version", r.netdx_version.as_str()),
    ]);
    suite.add_test_cases(r.findings.iter().map(test_case));
    let mut report = Report::new("netdx");
    report.set_time(seconds(r.seconds));
    if let Some(t) = started {
        report.set_timestamp(t);
    }
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Section;
    use crate::suite::Counts;

    /// A report of four findings: a pass, a failure, a check that could not run and a skip.
    fn report() -> SuiteReport {
        let f = |check: &str, verdict| Finding {
            seconds: Some(0.25),
            ..Finding::new(check, Section::ConfirmLoss, verdict, "q")
                .measured(1.5)
                .message(format!("{check} says"))
                .fix("do this")
        };
        let findings = vec![
            f("smoke", Verdict::Pass),
            f("loss_fit", Verdict::Fail),
            Finding {
                error: true,
                ..f("gradient_check", Verdict::Fail)
            },
            f("attention_entropy", Verdict::Skip),
        ];
        let mut counts = Counts::default();
        for x in &findings {
            counts.count(x.verdict);
        }
        SuiteReport {
            schema_version: 1,
            suite: "s".into(),
            file: "s.yaml".into(),
            model: "m".into(),
            dataset: "d".into(),
            data: None,
            adapter: "a".into(),
            backend: "vulkan".into(),
            driver: "drv".into(),
            netdx_version: "0".into(),
            seed: 7,
            seconds: 1.0,
            counts,
            cases: Vec::new(),
            findings,
            interrupted: false,
            shard: None,
            stopped_early: false,
            started: Some("2026-12-07T08:30:00Z".into()),
        }
    }

    /// Reads the XML as a JUnit consumer does (the attributes of the Ant/Jenkins schema that CI
    /// systems read): counts that agree with the test cases, times, a timestamp, a host.
    #[test]
    fn junit_has_the_attributes_ci_consumers_read() {
        let xml = to_junit(&report());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        let attr = |n: roxmltree::Node, a: &str| {
            n.attribute(a)
                .unwrap_or_else(|| panic!("{a}: {xml}"))
                .to_string()
        };
        assert_eq!(attr(suite, "tests"), "4");
        assert_eq!(attr(suite, "failures"), "1");
        assert_eq!(attr(suite, "errors"), "1");
        assert_eq!(attr(suite, "skipped"), "1");
        assert!(attr(suite, "timestamp").starts_with("2026-12-07T08:30:00"));
        assert!(!attr(suite, "hostname").is_empty());
        assert!(attr(suite, "time").parse::<f64>().is_ok());
        let cases: Vec<roxmltree::Node> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases.len(), 4);
        for c in &cases {
            assert_eq!(attr(*c, "classname"), "ConfirmLoss");
            assert_eq!(attr(*c, "time").parse::<f64>().unwrap(), 0.25);
        }
        let child = |i: usize| {
            cases[i]
                .children()
                .find(|n| {
                    n.is_element() && !n.has_tag_name("properties") && !n.has_tag_name("system-out")
                })
                .map(|n| n.tag_name().name().to_string())
        };
        assert_eq!(child(0), None);
        assert_eq!(child(1).as_deref(), Some("failure"));
        assert_eq!(child(2).as_deref(), Some("error"));
        assert_eq!(child(3).as_deref(), Some("skipped"));
        let properties: Vec<(String, String)> = suite
            .children()
            .find(|n| n.has_tag_name("properties"))
            .unwrap()
            .children()
            .filter(|n| n.has_tag_name("property"))
            .map(|n| (attr(n, "name"), attr(n, "value")))
            .collect();
        assert!(properties.contains(&("adapter".into(), "a".into())));
        assert!(properties.contains(&("seed".into(), "7".into())));
    }
}
