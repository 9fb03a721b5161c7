//! JUnit XML: one test case per check (classname: the checklist section), a `<failure>` for a
//! failed check, `<skipped>` for a check that does not apply; warnings and info notes pass with
//! the message in `<system-out>`, since JUnit has no warning state.

use crate::checks::Verdict;
use crate::suite::SuiteReport;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn to_junit(r: &SuiteReport) -> String {
    let n = r.findings.len();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"netdx\" tests=\"{n}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
        r.counts.fail, r.counts.skip, r.seconds
    ));
    s.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
        escape(&r.suite),
        r.counts.fail,
        r.counts.skip,
        r.seconds
    ));
    s.push_str(&format!(
        "    <properties><property name=\"adapter\" value=\"{}\"/><property name=\"backend\" value=\"{}\"/><property name=\"seed\" value=\"{}\"/></properties>\n",
        escape(&r.adapter),
        escape(&r.backend),
        r.seed
    ));
    for f in &r.findings {
        let measured = f.measured.map(|v| format!("{v}")).unwrap_or_default();
        let summary = format!(
            "{}: {} = {} [{}] {}",
            f.verdict.label(),
            f.quantity,
            measured,
            f.threshold,
            f.message
        );
        let name = match &f.case {
            Some(c) => format!("{} [{c}]", f.check),
            None => f.check.clone(),
        };
        s.push_str(&format!(
            "    <testcase classname=\"{:?}\" name=\"{}\">\n",
            f.section,
            escape(&name)
        ));
        match f.verdict {
            Verdict::Fail => s.push_str(&format!(
                "      <failure message=\"{}\">{}</failure>\n",
                escape(&f.message),
                escape(&format!(
                    "{summary}\nfix: {}",
                    f.fix.clone().unwrap_or_default()
                ))
            )),
            Verdict::Skip => s.push_str(&format!(
                "      <skipped message=\"{}\"/>\n",
                escape(&f.message)
            )),
            _ => {}
        }
        s.push_str(&format!(
            "      <system-out>{}</system-out>\n",
            escape(&summary)
        ));
        s.push_str("    </testcase>\n");
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}
