//! The HTML report of a recorded run: one self-contained file (inline CSS and SVG, no scripts,
//! nothing fetched) with the verdict table and plots of the loss and accuracy, the learning-rate
//! range test with its suggestions, per-tensor gradient norms and update ratios over time,
//! dead-unit fractions, activation histograms over time, and input saliency.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::svg::{escape, BarChart, HeatMap, ImageGrid, LineChart, Series, Tile};
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
.fix{color:#555;font-size:12px}th.section{background:#f4f6f8;padding-top:8px}";

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Info => "info",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
        Verdict::Skip => "skip",
    }
}

fn finding<'a>(report: Option<&'a SuiteReport>, check: &str) -> Option<&'a Finding> {
    report?.findings.iter().find(|f| f.check == check)
}

/// Per case, per key of the metric group `group` (`grad_norm`, …): the series over steps.
fn grouped(metrics: &[Value], group: &str) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let first_case = metrics
        .first()
        .and_then(|m| m["case"].as_str())
        .unwrap_or("");
    for m in metrics
        .iter()
        .filter(|m| m["case"].as_str().unwrap_or("") == first_case)
    {
        let step = m["step"].as_f64().unwrap_or(0.0);
        if let Some(map) = m[group].as_object() {
            for (k, v) in map {
                out.entry(k.clone())
                    .or_default()
                    .push((step, v.as_f64().unwrap_or(f64::NAN)));
            }
        }
    }
    out
}

/// Per case: (step, value of `key`).
fn per_case(metrics: &[Value], key: &str) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for m in metrics {
        let case = m["case"].as_str().unwrap_or("").to_string();
        if let Some(step) = m["step"].as_f64() {
            // serde_json writes NaN as null: keep it as a gap in the line.
            let v = m[key].as_f64().unwrap_or(f64::NAN);
            out.entry(case).or_default().push((step, v));
        }
    }
    out
}

/// A name's order by depth: its digit runs compared as numbers (`layers.2` before
/// `layers.10`, `act.1.2` before `act.1.10`), the rest as text.
fn depth_order(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let (mut text, mut digits) = (String::new(), String::new());
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(c);
        }
    }
    key.push((text, digits.parse().unwrap_or(0)));
    key
}

fn series(map: BTreeMap<String, Vec<(f64, f64)>>, default_name: &str) -> Vec<Series> {
    let mut entries: Vec<(String, Vec<(f64, f64)>)> = map.into_iter().collect();
    entries.sort_by_key(|(name, _)| depth_order(name));
    entries
        .into_iter()
        .map(|(name, points)| Series {
            name: if name.is_empty() {
                default_name.to_string()
            } else {
                name
            },
            points,
        })
        .collect()
}

/// The charts the record supports, each as (caption, SVG).
fn charts(report: Option<&SuiteReport>, metrics: &[Value]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let window = "steps of the observation run (or of training)";
    let mut loss = series(per_case(metrics, "loss"), "loss");
    // `train --eval-every`: the validation loss at the steps it was measured.
    let validation: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|m| Some((m["step"].as_f64()?, m["validation_loss"].as_f64()?)))
        .collect();
    if !validation.is_empty() {
        loss.push(Series {
            name: "validation loss".into(),
            points: validation,
        });
    }
    if loss.iter().any(|s| !s.points.is_empty()) {
        out.push((
            format!("Batch loss per step ({window})."),
            LineChart {
                title: "Loss".into(),
                x_label: "step".into(),
                y_label: "batch loss".into(),
                log_y: true,
                series: loss,
                ..Default::default()
            }
            .to_svg(),
        ));
    }
    let acc = series(per_case(metrics, "batch_accuracy"), "batch accuracy");
    if acc.iter().any(|s| s.points.iter().any(|p| p.1.is_finite())) {
        out.push((
            "Accuracy on each training batch.".into(),
            LineChart {
                title: "Accuracy".into(),
                x_label: "step".into(),
                y_label: "batch accuracy".into(),
                series: acc,
                h_lines: vec![(1.0, "100 %".into())],
                ..Default::default()
            }
            .to_svg(),
        ));
    }
    if let Some(f) = finding(report, "lr_range") {
        let d = &f.details;
        let sweeps: Vec<Series> = d["sweeps"]
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let lrs = s["lrs"].as_array().cloned().unwrap_or_default();
                        let sm = s["smoothed"].as_array().cloned().unwrap_or_default();
                        Series {
                            name: format!("sweep {}", i + 1),
                            points: lrs
                                .iter()
                                .zip(&sm)
                                .map(|(a, b)| {
                                    (
                                        a.as_f64().unwrap_or(f64::NAN),
                                        b.as_f64().unwrap_or(f64::NAN),
                                    )
                                })
                                .collect(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut marks = Vec::new();
        if let Some(s) = d["median_suggestion"].as_f64() {
            marks.push((s, format!("suggested {}", crate::text::number(s))));
        }
        if let Some(c) = d["configured_lr"].as_f64() {
            marks.push((c, format!("configured {}", crate::text::number(c))));
        }
        if !sweeps.is_empty() {
            out.push((
                "Learning-rate range test: the smoothed loss as the learning rate grows exponentially each step; the suggestion and the configured rate are marked.".into(),
                LineChart {
                    title: "Learning-rate range test".into(),
                    x_label: "learning rate".into(),
                    y_label: "smoothed loss".into(),
                    log_x: true,
                    log_y: true,
                    series: sweeps,
                    v_lines: marks,
                    ..Default::default()
                }
                .to_svg(),
            ));
        }
    }
    let grads = series(grouped(metrics, "grad_norm"), "");
    if !grads.is_empty() {
        out.push((
            "Gradient norm of each tensor per step: vanishing gradients sink toward 0 in the early layers, exploding ones climb.".into(),
            LineChart {
                title: "Gradient norms per tensor".into(),
                x_label: "step".into(),
                y_label: "‖∇W‖".into(),
                log_y: true,
                series: grads,
                ..Default::default()
            }
            .to_svg(),
        ));
    }
    let ratios = series(grouped(metrics, "update_ratio"), "");
    if !ratios.is_empty() {
        out.push((
            "Update/weight ratio ‖ΔW‖/‖W‖ of each tensor per step; the shaded band is 1e-4 to 1e-2 around the usual 1e-3.".into(),
            LineChart {
                title: "Update / weight ratios".into(),
                x_label: "step".into(),
                y_label: "‖ΔW‖ / ‖W‖".into(),
                log_y: true,
                series: ratios,
                band: Some((1e-4, 1e-2, "healthy range".into())),
                h_lines: vec![(1e-3, "1e-3".into())],
                ..Default::default()
            }
            .to_svg(),
        ));
    }
    if let Some(f) = finding(report, "dead_units") {
        if let Some(layers) = f.details["layers"].as_array().filter(|l| !l.is_empty()) {
            let pct = |k: &str| -> Vec<f64> {
                layers
                    .iter()
                    .map(|l| 100.0 * l[k].as_f64().unwrap_or(0.0))
                    .collect()
            };
            out.push((
                "Share of ReLU units that no example of the dataset activates, before and after the observation run.".into(),
                BarChart {
                    title: "Dead ReLU units".into(),
                    y_label: "% of units".into(),
                    labels: layers
                        .iter()
                        .map(|l| format!("layer {}", l["layer"]))
                        .collect(),
                    series: vec![
                        ("at init".into(), pct("dead_at_init")),
                        ("after training".into(), pct("dead_after_training")),
                    ],
                }
                .to_svg(),
            ));
        }
    }
    if let Some(f) = finding(report, "activation_stats") {
        let snaps = f.details["histograms"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let layers: Vec<i64> = snaps
            .first()
            .and_then(|s| s["layers"].as_array())
            .map(|ls| ls.iter().filter_map(|l| l["layer"].as_i64()).collect())
            .unwrap_or_default();
        for layer in layers {
            // Each snapshot was binned over its own range; drawn on the range they span
            // together.
            let mut columns = Vec::new();
            let mut binned: Vec<((f64, f64), Vec<f64>)> = Vec::new();
            for s in &snaps {
                let Some(h) = s["layers"]
                    .as_array()
                    .and_then(|ls| ls.iter().find(|l| l["layer"].as_i64() == Some(layer)))
                else {
                    continue;
                };
                columns.push(format!("{}", s["step"]));
                binned.push((
                    (
                        h["lo"].as_f64().unwrap_or(0.0),
                        h["hi"].as_f64().unwrap_or(0.0),
                    ),
                    h["counts"]
                        .as_array()
                        .map(|c| c.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect())
                        .unwrap_or_default(),
                ));
            }
            let range = binned
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |r, (b, _)| {
                    (r.0.min(b.0), r.1.max(b.1))
                });
            let rows = binned.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
            let values: Vec<Vec<f64>> = binned
                .iter()
                .map(|(from, counts)| rebin(counts, *from, range, rows))
                .collect();
            // A graph's tensors by name (`act.2.1`); a layer list's by layer.
            let name = snaps
                .first()
                .and_then(|s| s["layers"].as_array())
                .and_then(|ls| ls.iter().find(|l| l["layer"].as_i64() == Some(layer)))
                .and_then(|l| l["name"].as_str())
                .filter(|n| n.matches('.').count() > 1)
                .map(str::to_string);
            let (what, title) = match &name {
                Some(n) => (format!("{n}'s values"), format!("{n} over time")),
                None => (
                    format!("layer {layer}'s outputs"),
                    format!("Layer {layer} outputs over time"),
                ),
            };
            out.push((
                format!("Histogram of {what} over the dataset's first examples at steps of the observation run (shade: log count). Each step is binned over its own range, drawn here on the range they span together; the TensorBoard export keeps each step's own bins."),
                HeatMap {
                    title,
                    x_label: "step".into(),
                    y_label: "output value".into(),
                    columns,
                    y_range: range,
                    values,
                }
                .to_svg(),
            ));
        }
    }
    if let Some(f) = finding(report, "saliency") {
        out.extend(image_figures(&f.details));
        if let Some(top) = f.details["top_features"]
            .as_array()
            .filter(|t| !t.is_empty())
        {
            out.push((
                "Saliency: mean |∂loss/∂input| per input feature over the examples checked (the features the model uses most).".into(),
                BarChart {
                    title: "Input saliency".into(),
                    y_label: "mean |∂L/∂x|".into(),
                    labels: top
                        .iter()
                        .map(|t| match t["name"].as_str() {
                            Some(name) if name.starts_with("pixel") => name.to_string(),
                            _ => format!("feature {}", t["feature"]),
                        })
                        .collect(),
                    series: vec![(
                        "mean |∂L/∂x|".into(),
                        top.iter().map(|t| t["mean_abs_gradient"].as_f64().unwrap_or(0.0)).collect(),
                    )],
                }
                .to_svg(),
            ));
        }
    }
    out
}

/// `counts` over `rows` equal bins of `from` redistributed over `rows` equal bins of `to` (which
/// holds `from`), each bin's count shared by overlap: the total is kept.
fn rebin(counts: &[f64], from: (f64, f64), to: (f64, f64), rows: usize) -> Vec<f64> {
    let mut out = vec![0.0; rows];
    let (width, target) = (to.1 - to.0, rows as f64);
    if counts.is_empty() || rows == 0 || width.is_nan() || width <= 0.0 {
        return counts.to_vec();
    }
    let step = (from.1 - from.0) / counts.len() as f64;
    for (j, &c) in counts.iter().enumerate() {
        // Source bin j in target-bin units.
        let a = (from.0 + j as f64 * step - to.0) / width * target;
        let b = (from.0 + (j + 1) as f64 * step - to.0) / width * target;
        if b.is_nan() || b <= a {
            out[(a.max(0.0) as usize).min(rows - 1)] += c;
            continue;
        }
        let mut k = a.floor().max(0.0) as usize;
        while k < rows && (k as f64) < b {
            let overlap = (b.min(k as f64 + 1.0) - a.max(k as f64)).max(0.0);
            out[k] += c * overlap / (b - a);
            k += 1;
        }
    }
    out
}

/// For an image model, the saliency maps and the first convolution's filters that the
/// saliency check keeps in its details, drawn as images.
fn image_figures(details: &Value) -> Vec<(String, String)> {
    let floats = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
            .unwrap_or_default()
    };
    let dims = |v: &Value| -> Vec<usize> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64())
                    .map(|x| x as usize)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let image = &details["image"];
    if let [_, h, w] = dims(&image["shape"])[..] {
        let mut tiles = vec![Tile {
            label: "mean".into(),
            height: h,
            width: w,
            values: floats(&image["mean_map"]),
        }];
        for (k, m) in image["maps"].as_array().into_iter().flatten().enumerate() {
            tiles.push(Tile {
                label: format!("example {k}"),
                height: h,
                width: w,
                values: floats(m),
            });
        }
        out.push((
            "Saliency maps: |∂loss/∂input| per pixel (summed over channels), averaged over the examples checked and for the first few; dark pixels are the ones the loss depends on most.".into(),
            ImageGrid {
                title: "Saliency maps".into(),
                tiles,
                signed: false,
            }
            .to_svg(),
        ));
    }
    let filters = &details["first_layer_filters"];
    if let [o, c, kh, kw] = dims(&filters["shape"])[..] {
        let values = floats(&filters["values"]);
        // Each filter's input channels side by side, a blank column between them.
        let width = c * kw + c.saturating_sub(1);
        let tiles = (0..o.min(32))
            .map(|f| Tile {
                label: format!("{f}"),
                height: kh,
                width,
                values: (0..kh * width)
                    .map(|i| {
                        let (y, x) = (i / width, i % width);
                        let (ch, kx) = (x / (kw + 1), x % (kw + 1));
                        if kx == kw {
                            0.0
                        } else {
                            values
                                .get(((f * c + ch) * kh + y) * kw + kx)
                                .copied()
                                .unwrap_or(0.0)
                        }
                    })
                    .collect(),
            })
            .collect();
        out.push((
            format!(
                "Filters of the first convolution (layer {}) after training, each scaled to its own largest weight: red positive, blue negative. Smooth, varied filters are healthy; noisy or identical ones point at too high a learning rate or too little training.",
                filters["layer"]
            ),
            ImageGrid {
                title: "First-layer filters".into(),
                tiles,
                signed: true,
            }
            .to_svg(),
        ));
    }
    out
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
                "<tr><td>{}{}</td><td class=\"v {c}\">{}</td><td>{} <span class=\"fix\">{}</span></td><td>{}</td><td>{}{fix}</td></tr>",
                escape(&case),
                escape(&f.check),
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
    let charts = charts(report, metrics);
    if !charts.is_empty() {
        h.push_str("<h2>Plots</h2><div class=\"grid\">");
        for (caption, svg) in charts {
            let _ = write!(
                h,
                "<figure>{svg}<figcaption class=\"fix\">{}</figcaption></figure>",
                escape(&caption)
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::{depth_order, rebin};

    #[test]
    fn per_tensor_lines_are_ordered_by_depth() {
        let mut names = vec![
            "layers.10.weight",
            "layers.2.weight",
            "layers.0.bias",
            "layers.0.weight",
            "act.1.10",
            "act.1.2",
        ];
        names.sort_by_key(|n| depth_order(n));
        assert_eq!(
            names,
            [
                "act.1.2",
                "act.1.10",
                "layers.0.bias",
                "layers.0.weight",
                "layers.2.weight",
                "layers.10.weight"
            ]
        );
    }

    #[test]
    fn rebinning_keeps_the_counts_and_places_them_by_overlap() {
        // The same range: unchanged.
        let c = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(rebin(&c, (0.0, 4.0), (0.0, 4.0), 4), c.to_vec());
        // A range half as wide, in the middle of the common one: the middle two bins.
        assert_eq!(
            rebin(&c, (1.0, 3.0), (0.0, 4.0), 4),
            vec![0.0, 3.0, 7.0, 0.0]
        );
        // Bins straddling target bins are shared by overlap; the total is kept.
        let r = rebin(&[3.0, 3.0, 3.0], (0.0, 3.0), (0.0, 4.0), 3);
        assert!((r.iter().sum::<f64>() - 9.0).abs() < 1e-12, "{r:?}");
        assert!(
            (r[0] - 4.0).abs() < 1e-12 && (r[2] - 1.0).abs() < 1e-12,
            "{r:?}"
        );
    }
}
