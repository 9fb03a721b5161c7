//! The terminal report: grouped by the checklist's sections, one line per check with the
//! measurement and threshold, the message, and the fix for anything that did not pass.

use std::io::IsTerminal;

use crate::checks::Verdict;
use crate::suite::{by_section, SuiteReport};
use crate::text::{number, printable};

/// Colour only on a terminal and when NO_COLOR is unset (no-color.org).
pub fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(s: &str, verdict: Verdict, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match verdict {
        Verdict::Pass => "32",
        Verdict::Info => "36",
        Verdict::Warn => "33",
        Verdict::Fail => "1;31",
        Verdict::Skip => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

pub fn to_text(r: &SuiteReport, color: bool) -> String {
    // Names and messages come from the user's files: their control characters are shown, not
    // obeyed by the terminal.
    let mut s = format!(
        "netdx {}: {} — model {}, data {}\nadapter: {} ({}, {})\n",
        r.netdx_version,
        printable(&r.suite, false),
        r.model,
        printable(&r.dataset, false),
        r.adapter,
        r.backend,
        r.driver
    );
    let cases: Vec<Option<&str>> = if r.cases.is_empty() {
        vec![None]
    } else {
        r.cases.iter().map(|c| Some(c.as_str())).collect()
    };
    for case in cases {
        if let Some(c) = case {
            s.push_str(&format!("\n== case {}\n", printable(c, false)));
        }
        render_sections(&mut s, r, case, color);
    }
    let c = &r.counts;
    s.push_str(&format!("\n{} in {:.1} s\n", c.summary(), r.seconds));
    s
}

fn render_sections(s: &mut String, r: &SuiteReport, case: Option<&str>, color: bool) {
    for (section, findings) in by_section(r, case) {
        s.push_str(&format!("\n{}\n", section.title()));
        for f in findings {
            let label = paint(&format!("{:<4}", f.verdict.label()), f.verdict, color);
            let measured = f.measured_text();
            s.push_str(&format!(
                "  {label}  {:<18} {}: {}",
                f.check, f.quantity, measured
            ));
            if !f.threshold.is_empty() {
                s.push_str(&format!("  [{}]", f.threshold));
            }
            s.push('\n');
            if !f.message.is_empty() {
                s.push_str(&format!("        {}\n", printable(&f.message, true)));
            }
            if let Some(fix) = &f.fix {
                match f.verdict {
                    Verdict::Pass => {}
                    Verdict::Info => {
                        s.push_str(&format!("        note: {}\n", printable(fix, true)))
                    }
                    _ => s.push_str(&format!("        fix: {}\n", printable(fix, true))),
                }
            }
            if let Some(t) = &f.tried_fix {
                let after = paint(t.verdict_after.label(), t.verdict_after, color);
                let measured = t.measured_after.map(number).unwrap_or_else(|| "—".into());
                s.push_str(&format!(
                    "        tried {}: {after} ({}: {measured})\n",
                    t.change, f.quantity
                ));
            }
        }
    }
}
