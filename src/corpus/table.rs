//! The corpus report as text: a confusion row per check, totals per part, warnings per healthy
//! suite, every false alarm and miss by config and seed, and the slowest suites.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{severity, Catches, CorpusReport, Part, Tally, SUITES_PER_WARNING};
use crate::checks::{CheckSpec, Verdict};

/// The whole report, ending with whether the targets are met.
pub fn to_text(r: &CorpusReport) -> String {
    let mut s = String::new();
    let selection = format!(
        "{}{}",
        r.part.map_or("all parts", |p| p.label()),
        if r.fast { ", fast subset" } else { "" }
    );
    let _ = writeln!(
        s,
        "corpus {} on {}: {} healthy and {} planted suite runs ({selection}; seeds 0–{})",
        r.manifest,
        r.adapter,
        r.healthy.len(),
        r.planted.len(),
        r.seeds.saturating_sub(1)
    );
    checks_table(&mut s, r);
    parts_table(&mut s, r);
    warnings_per_suite(&mut s, r);
    listings(&mut s, r);
    slowest(&mut s, r);
    let problems = r.problems();
    let t = r.totals(None);
    let _ = writeln!(
        s,
        "\n{} healthy fails, {} healthy warnings over {} suite runs (target 0 and ≤ 1 per {SUITES_PER_WARNING}); {}/{} planted runs caught (target all); {:.0} s",
        t.healthy.fail,
        t.healthy.warn,
        t.healthy_runs,
        t.planted.caught,
        t.planted.total(),
        r.seconds
    );
    let _ = writeln!(
        s,
        "{}",
        if problems.is_empty() {
            "targets met".to_string()
        } else {
            format!("targets not met ({} problems)", problems.len())
        }
    );
    s
}

fn checks_table(s: &mut String, r: &CorpusReport) {
    let mut healthy: BTreeMap<&str, Tally> = BTreeMap::new();
    for f in r.healthy.iter().flat_map(|x| &x.findings) {
        healthy
            .entry(f.check.as_str())
            .or_default()
            .count(f.verdict);
    }
    let mut planted: BTreeMap<&str, Catches> = BTreeMap::new();
    for x in &r.planted {
        if let (Some(e), Some(o)) = (&x.expect, x.outcome) {
            planted.entry(e.check.as_str()).or_default().count(o);
        }
    }
    // Checks in report order, then anything else that reported (a suite that could not run).
    let mut names: Vec<String> = CheckSpec::all()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    for n in healthy.keys().chain(planted.keys()) {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_string());
        }
    }
    let _ = writeln!(
        s,
        "\n{:<22} {:<29}   planted runs expecting it",
        "", "healthy findings"
    );
    let _ = writeln!(
        s,
        "{:<22} {:>5} {:>5} {:>5} {:>5} {:>5}   {:>6} {:>6} {:>6}",
        "check", "pass", "info", "warn", "fail", "skip", "caught", "other", "missed"
    );
    for n in &names {
        let h = healthy.get(n.as_str()).copied().unwrap_or_default();
        let p = planted.get(n.as_str()).copied().unwrap_or_default();
        let planted = if p.total() == 0 {
            format!("{:>6} {:>6} {:>6}", "", "", "")
        } else {
            format!("{:>6} {:>6} {:>6}", p.caught, p.other, p.missed)
        };
        let _ = writeln!(
            s,
            "{n:<22} {:>5} {:>5} {:>5} {:>5} {:>5}   {planted}",
            h.pass, h.info, h.warn, h.fail, h.skip
        );
    }
}

fn parts_table(s: &mut String, r: &CorpusReport) {
    let _ = writeln!(
        s,
        "\n{:<12} {:>8} {:>6} {:>6} {:>10}   {:>8} {:>6} {:>6} {:>6}",
        "part", "healthy", "fails", "warns", "warns/run", "planted", "caught", "other", "missed"
    );
    for (label, part) in Part::ALL
        .iter()
        .map(|p| (p.label(), Some(*p)))
        .chain([("all", None)])
    {
        let t = r.totals(part);
        if t.healthy_runs + t.planted_runs == 0 {
            continue;
        }
        let per = if t.healthy_runs == 0 {
            "—".to_string()
        } else {
            format!("{:.2}", t.healthy.warn as f64 / t.healthy_runs as f64)
        };
        let _ = writeln!(
            s,
            "{label:<12} {:>8} {:>6} {:>6} {per:>10}   {:>8} {:>6} {:>6} {:>6}",
            t.healthy_runs,
            t.healthy.fail,
            t.healthy.warn,
            t.planted_runs,
            t.planted.caught,
            t.planted.other,
            t.planted.missed
        );
    }
}

fn warnings_per_suite(s: &mut String, r: &CorpusReport) {
    if r.healthy.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nwarnings (fails) per healthy suite, by seed");
    let mut by: BTreeMap<&str, Vec<(usize, usize)>> = BTreeMap::new();
    for x in &r.healthy {
        let mut t = Tally::default();
        for f in &x.findings {
            t.count(f.verdict);
        }
        by.entry(x.config.as_str())
            .or_default()
            .push((t.warn, t.fail));
    }
    for (config, counts) in by {
        let cells: Vec<String> = counts
            .iter()
            .map(|(w, f)| {
                if *f > 0 {
                    format!("{w} ({f})")
                } else {
                    w.to_string()
                }
            })
            .collect();
        let _ = writeln!(s, "  {config:<44} {}", cells.join("  "));
    }
}

fn listings(s: &mut String, r: &CorpusReport) {
    let alarms: Vec<String> = r
        .healthy
        .iter()
        .flat_map(|x| {
            x.findings
                .iter()
                .filter(|f| severity(f.verdict) > 0)
                .map(move |f| {
                    format!(
                        "  {} seed {}: {} {} ({}): {}",
                        x.config,
                        x.seed,
                        f.check,
                        f.verdict.label(),
                        f.measured.map_or("—".into(), crate::text::number),
                        f.message
                    )
                })
        })
        .collect();
    let _ = writeln!(s, "\nhealthy false alarms: {}", alarms.len());
    for a in alarms {
        let _ = writeln!(s, "{a}");
    }
    let misses: Vec<String> = r
        .planted
        .iter()
        .filter(|x| x.outcome != Some(super::Outcome::Caught))
        .map(|x| {
            let e = x.expect.as_ref();
            format!(
                "  {} seed {}: {} (expected {} ≥ {}, fix \"{}\"): {}",
                x.config,
                x.seed,
                match x.outcome {
                    Some(super::Outcome::Other) => "flagged only by another check",
                    _ => "missed",
                },
                e.map_or("?", |e| e.check.as_str()),
                e.map_or(Verdict::Fail, |e| e.verdict).label(),
                e.map_or("", |e| e.fix.as_str()),
                x.why_not_caught()
            )
        })
        .collect();
    let _ = writeln!(s, "\nplanted entries not caught: {}", misses.len());
    for m in misses {
        let _ = writeln!(s, "{m}");
    }
}

fn slowest(s: &mut String, r: &CorpusReport) {
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for x in r.healthy.iter().chain(&r.planted) {
        by.entry(x.config.as_str()).or_default().push(x.seconds);
    }
    let mut mean: Vec<(&str, f64)> = by
        .into_iter()
        .map(|(c, v)| (c, v.iter().sum::<f64>() / v.len() as f64))
        .collect();
    mean.sort_by(|a, b| b.1.total_cmp(&a.1));
    let _ = writeln!(s, "\nslowest suites (mean seconds per seed)");
    for (c, t) in mean.iter().take(10) {
        let _ = writeln!(s, "  {c:<44} {t:>6.1}");
    }
}
