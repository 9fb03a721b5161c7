//! JUnit XML: one test case per check (classname: the checklist section), a `<failure>` for a
//! failed check, `<skipped>` for a check that does not apply; warnings and info notes pass with
//! the message in `<system-out>`, since JUnit has no warning state.

use crate::checks::Verdict;
use crate::suite::SuiteReport;

/// `s` as XML 1.0 text or attribute value: markup characters as entities; tab, newline and
/// carriage return as character references (so attribute values keep them); every character
/// XML 1.0 forbids even as a reference (other C0 controls, U+FFFE, U+FFFF) written out as
/// the visible text `\u{1b}`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// Whether XML 1.0 allows `c` in a document: #x9 | #xA | #xD | [#x20-#xD7FF] |
/// [#xE000-#xFFFD] | [#x10000-#x10FFFF] (a Rust `char` is never a surrogate).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
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
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\">\n",
            escape(&format!("{:?}", f.section)),
            escape(&name),
            f.seconds.unwrap_or(0.0)
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
