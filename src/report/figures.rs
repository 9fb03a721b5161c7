//! The plots of the HTML report, built from a run's metrics lines and its findings: each a
//! [`Figure`] that knows which checks it illustrates and for which case, so that the findings
//! table can link a failed check to its plot. A sweep's cases are overlaid where the axes are
//! shared (loss, accuracy) and drawn one chart each, named by the case, elsewhere.

use std::collections::BTreeMap;

use serde_json::Value;

use super::names::LayerNames;
use super::svg::{BarChart, HeatMap, ImageGrid, LineChart, Series, Tile, SMOOTHING};
use crate::checks::Finding;
use crate::suite::SuiteReport;

/// One plot of the page.
pub struct Figure {
    /// The anchor the findings table links to.
    pub id: String,
    pub caption: String,
    pub svg: String,
    /// The checks whose failure or warning this plot shows.
    pub checks: &'static [&'static str],
    /// The case it is drawn for; `None` when it shows every case (or the suite has none).
    pub case: Option<String>,
}

impl Figure {
    /// Whether the table's row for `f` should link here.
    pub fn shows(&self, f: &Finding) -> bool {
        self.checks.contains(&f.check.as_str()) && (self.case.is_none() || self.case == f.case)
    }
}

/// A figure before it is given its id.
struct Plot {
    caption: String,
    svg: String,
    checks: &'static [&'static str],
    case: Option<String>,
}

/// The sweep's case names in order (`[None]` for a suite without cases).
fn cases(report: Option<&SuiteReport>, metrics: &[Value]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = report
        .map(|r| r.cases.iter().cloned().map(Some).collect())
        .unwrap_or_default();
    for m in metrics {
        let case = m["case"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if case.is_some() && !out.contains(&case) {
            out.push(case);
        }
    }
    if out.is_empty() {
        out.push(None);
    }
    out
}

/// `title`, naming the case a chart is drawn for.
fn titled(title: &str, case: &Option<String>) -> String {
    match case {
        Some(c) => format!("{title} — {c}"),
        None => title.to_string(),
    }
}

/// The findings of `check`, one per case.
fn findings<'a>(
    report: Option<&'a SuiteReport>,
    check: &'a str,
) -> impl Iterator<Item = &'a Finding> {
    report
        .into_iter()
        .flat_map(|r| &r.findings)
        .filter(move |f| f.check == check)
}

/// The layer names of `case`'s model (any case's when it has none of its own).
fn layer_names(report: Option<&SuiteReport>, case: &Option<String>) -> LayerNames {
    findings(report, "activation_stats")
        .find(|f| &f.case == case)
        .or_else(|| findings(report, "activation_stats").next())
        .map(|f| LayerNames::from_details(&f.details))
        .unwrap_or_default()
}

/// Per key of the metric group `group` (`grad_norm`, …) in `case`'s lines: the series over
/// steps.
fn grouped(
    metrics: &[Value],
    group: &str,
    case: &Option<String>,
) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let wanted = case.as_deref().unwrap_or("");
    for m in metrics
        .iter()
        .filter(|m| m["case"].as_str().unwrap_or("") == wanted)
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

/// Per case, in the sweep's order: (step, value of `key`), one series named by the case
/// (`default_name` without cases).
fn per_case(
    metrics: &[Value],
    key: &str,
    cases: &[Option<String>],
    default_name: &str,
) -> Vec<Series> {
    cases
        .iter()
        .map(|case| {
            let wanted = case.as_deref().unwrap_or("");
            let points = metrics
                .iter()
                .filter(|m| m["case"].as_str().unwrap_or("") == wanted)
                .filter_map(|m| {
                    // serde_json writes NaN as null: keep it as a gap in the line.
                    Some((m["step"].as_f64()?, m[key].as_f64().unwrap_or(f64::NAN)))
                })
                .collect();
            Series {
                name: case.clone().unwrap_or_else(|| default_name.to_string()),
                points,
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect()
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

/// One series per tensor, in depth order, named with its layer's type.
fn per_tensor(map: BTreeMap<String, Vec<(f64, f64)>>, names: &LayerNames) -> Vec<Series> {
    let mut entries: Vec<(String, Vec<(f64, f64)>)> = map.into_iter().collect();
    entries.sort_by_key(|(name, _)| depth_order(name));
    entries
        .into_iter()
        .map(|(name, points)| Series {
            name: names.tensor(&name),
            points,
        })
        .collect()
}

const WINDOW: &str = "steps of the observation run (or of training)";

fn loss_plot(metrics: &[Value], cases: &[Option<String>]) -> Option<Plot> {
    let mut loss = per_case(metrics, "loss", cases, "loss");
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
    loss.iter().any(|s| !s.points.is_empty()).then(|| Plot {
        caption: format!("Batch loss per step ({WINDOW}), with its moving average; the legend gives each line's last value."),
        svg: LineChart {
            title: "Loss".into(),
            x_label: "step".into(),
            y_label: "batch loss".into(),
            log_y: true,
            series: loss,
            smoothing: Some(SMOOTHING),
            show_final: true,
            ..Default::default()
        }
        .to_svg(),
        checks: &["smoke", "overfit_small", "initial_loss", "loss_fit", "loss_scale", "numerics", "shuffled_labels"],
        case: None,
    })
}

fn accuracy_plot(metrics: &[Value], cases: &[Option<String>]) -> Option<Plot> {
    let acc = per_case(metrics, "batch_accuracy", cases, "batch accuracy");
    acc.iter()
        .any(|s| s.points.iter().any(|p| p.1.is_finite()))
        .then(|| Plot {
            caption: "Accuracy on each training batch, with its moving average.".into(),
            svg: LineChart {
                title: "Accuracy".into(),
                x_label: "step".into(),
                y_label: "batch accuracy".into(),
                series: acc,
                h_lines: vec![(1.0, "100 %".into())],
                smoothing: Some(SMOOTHING),
                show_final: true,
                ..Default::default()
            }
            .to_svg(),
            checks: &["input_independent"],
            case: None,
        })
}

fn lr_range_plot(f: &Finding) -> Option<Plot> {
    let d = &f.details;
    let number = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let sweeps: Vec<Series> = d["sweeps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| {
            let lrs = s["lrs"].as_array().cloned().unwrap_or_default();
            let sm = s["smoothed"].as_array().cloned().unwrap_or_default();
            Series {
                name: format!("sweep {}", i + 1),
                points: lrs
                    .iter()
                    .zip(&sm)
                    .map(|(a, b)| (number(a), number(b)))
                    .collect(),
            }
        })
        .collect();
    let mut marks = Vec::new();
    if let Some(s) = d["median_suggestion"].as_f64() {
        marks.push((s, format!("suggested {}", crate::text::number(s))));
    }
    if let Some(c) = d["configured_lr"].as_f64() {
        marks.push((c, format!("configured {}", crate::text::number(c))));
    }
    (!sweeps.is_empty()).then(|| Plot {
        caption: "Learning-rate range test: the smoothed loss as the learning rate grows exponentially each step; the suggestion and the configured rate are marked.".into(),
        svg: LineChart {
            title: titled("Learning-rate range test", &f.case),
            x_label: "learning rate".into(),
            y_label: "smoothed loss".into(),
            log_x: true,
            log_y: true,
            series: sweeps,
            v_lines: marks,
            ..Default::default()
        }
        .to_svg(),
        checks: &["lr_range"],
        case: f.case.clone(),
    })
}

/// Gradient norms and update ratios of each tensor over the steps of `case`.
fn tensor_plots(
    report: Option<&SuiteReport>,
    metrics: &[Value],
    case: &Option<String>,
) -> Vec<Plot> {
    let names = layer_names(report, case);
    let mut out = Vec::new();
    let grads = per_tensor(grouped(metrics, "grad_norm", case), &names);
    if !grads.is_empty() {
        out.push(Plot {
            caption: "Gradient norm of each tensor per step (faint) and its moving average: vanishing gradients sink toward 0 in the early layers, exploding ones climb.".into(),
            svg: LineChart {
                title: titled("Gradient norms per tensor", case),
                x_label: "step".into(),
                y_label: "‖∇W‖".into(),
                log_y: true,
                series: grads,
                smoothing: Some(SMOOTHING),
                ..Default::default()
            }
            .to_svg(),
            checks: &["gradient_flow", "clipping", "grow"],
            case: case.clone(),
        });
    }
    let ratios = per_tensor(grouped(metrics, "update_ratio", case), &names);
    if !ratios.is_empty() {
        out.push(Plot {
            caption: "Update/weight ratio ‖ΔW‖/‖W‖ of each tensor per step (faint) and its moving average; the shaded band is 1e-4 to 1e-2 around the usual 1e-3.".into(),
            svg: LineChart {
                title: titled("Update / weight ratios", case),
                x_label: "step".into(),
                y_label: "‖ΔW‖ / ‖W‖".into(),
                log_y: true,
                series: ratios,
                band: Some((1e-4, 1e-2, "healthy range".into())),
                h_lines: vec![(1e-3, "1e-3".into())],
                smoothing: Some(SMOOTHING),
                ..Default::default()
            }
            .to_svg(),
            checks: &["update_ratio", "weights_update"],
            case: case.clone(),
        });
    }
    out
}

fn dead_units_plot(report: Option<&SuiteReport>, f: &Finding) -> Option<Plot> {
    let layers = f.details["layers"].as_array().filter(|l| !l.is_empty())?;
    let names = layer_names(report, &f.case);
    let pct = |k: &str| -> Vec<f64> {
        layers
            .iter()
            .map(|l| 100.0 * l[k].as_f64().unwrap_or(0.0))
            .collect()
    };
    Some(Plot {
        caption: "Share of ReLU units that no example of the dataset activates, before and after the observation run.".into(),
        svg: BarChart {
            title: titled("Dead ReLU units", &f.case),
            y_label: "% of units".into(),
            labels: layers
                .iter()
                .map(|l| names.layer(l["layer"].as_i64().unwrap_or(-1)))
                .collect(),
            series: vec![
                ("at init".into(), pct("dead_at_init")),
                ("after training".into(), pct("dead_after_training")),
            ],
        }
        .to_svg(),
        checks: &["dead_units"],
        case: f.case.clone(),
    })
}

/// A histogram's range (lo, hi) and its counts over equal bins of it.
type Bins = ((f64, f64), Vec<f64>);

/// One histogram snapshot's bins of the layer at `slot`.
fn snapshot_bins(snapshot: &Value, slot: i64) -> Option<Bins> {
    let h = snapshot["layers"]
        .as_array()?
        .iter()
        .find(|l| l["layer"].as_i64() == Some(slot))?;
    let counts = h["counts"]
        .as_array()
        .map(|c| c.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    Some((
        (
            h["lo"].as_f64().unwrap_or(0.0),
            h["hi"].as_f64().unwrap_or(0.0),
        ),
        counts,
    ))
}

/// What a heat map of the activation tensor at `slot` is called: (what it counts, title).
fn histogram_names(snaps: &[Value], slot: i64, names: &LayerNames) -> (String, String) {
    let tensor = snaps
        .first()
        .and_then(|s| s["layers"].as_array())
        .and_then(|ls| ls.iter().find(|l| l["layer"].as_i64() == Some(slot)))
        .and_then(|l| l["name"].as_str())
        .unwrap_or("");
    match names.output(tensor) {
        Some(layer) => (
            format!("{layer}'s outputs"),
            format!("{layer} outputs over time"),
        ),
        // A graph's tensors by name (`act.2.1`); a layer list's by layer.
        None if tensor.matches('.').count() > 1 => {
            (format!("{tensor}'s values"), format!("{tensor} over time"))
        }
        None => (
            format!("layer {slot}'s outputs"),
            format!("Layer {slot} outputs over time"),
        ),
    }
}

/// One heat map per activation tensor: its histogram at each snapshot, a column per step.
fn histogram_plots(report: Option<&SuiteReport>, f: &Finding) -> Vec<Plot> {
    let snaps = f.details["histograms"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names = layer_names(report, &f.case);
    let slots: Vec<i64> = snaps
        .first()
        .and_then(|s| s["layers"].as_array())
        .map(|ls| ls.iter().filter_map(|l| l["layer"].as_i64()).collect())
        .unwrap_or_default();
    slots
        .into_iter()
        .map(|slot| {
            let (columns, binned): (Vec<String>, Vec<Bins>) = snaps
                .iter()
                .filter_map(|s| Some((format!("{}", s["step"]), snapshot_bins(s, slot)?)))
                .unzip();
            // Each snapshot was binned over its own range; drawn on the range they span
            // together.
            let range = binned
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |r, (b, _)| {
                    (r.0.min(b.0), r.1.max(b.1))
                });
            let rows = binned.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
            let values = binned
                .iter()
                .map(|(from, counts)| rebin(counts, *from, range, rows))
                .collect();
            let (what, title) = histogram_names(&snaps, slot, &names);
            Plot {
                caption: format!("Histogram of {what} over the dataset's first examples at steps of the observation run (shade: log count, read off the scale). Each step is binned over its own range, drawn here on the range they span together; the TensorBoard export keeps each step's own bins."),
                svg: HeatMap {
                    title: titled(&title, &f.case),
                    x_label: "step".into(),
                    y_label: "output value".into(),
                    columns,
                    y_range: range,
                    values,
                    scale_label: "count".into(),
                }
                .to_svg(),
                checks: &["activation_stats", "residual_growth"],
                case: f.case.clone(),
            }
        })
        .collect()
}

fn saliency_plots(f: &Finding) -> Vec<Plot> {
    let mut out = image_figures(&f.details, &f.case);
    if let Some(top) = f.details["top_features"]
        .as_array()
        .filter(|t| !t.is_empty())
    {
        out.push(Plot {
            caption: "Saliency: mean |∂loss/∂input| per input feature over the examples checked (the features the model uses most).".into(),
            svg: BarChart {
                title: titled("Input saliency", &f.case),
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
            checks: &["saliency"],
            case: f.case.clone(),
        });
    }
    out
}

/// The plots the record supports, in the page's order.
pub fn figures(report: Option<&SuiteReport>, metrics: &[Value]) -> Vec<Figure> {
    let cases = cases(report, metrics);
    let mut plots: Vec<Plot> = Vec::new();
    plots.extend(loss_plot(metrics, &cases));
    plots.extend(accuracy_plot(metrics, &cases));
    plots.extend(findings(report, "lr_range").filter_map(lr_range_plot));
    for case in &cases {
        plots.extend(tensor_plots(report, metrics, case));
    }
    plots.extend(findings(report, "dead_units").filter_map(|f| dead_units_plot(report, f)));
    plots.extend(findings(report, "activation_stats").flat_map(|f| histogram_plots(report, f)));
    plots.extend(findings(report, "saliency").flat_map(saliency_plots));
    plots
        .into_iter()
        .enumerate()
        .map(|(k, p)| Figure {
            id: format!("plot-{}", k + 1),
            caption: p.caption,
            svg: p.svg,
            checks: p.checks,
            case: p.case,
        })
        .collect()
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
fn image_figures(details: &Value, case: &Option<String>) -> Vec<Plot> {
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
        out.push(Plot {
            caption: "Saliency maps: |∂loss/∂input| per pixel (summed over channels), averaged over the examples checked and for the first few; dark pixels are the ones the loss depends on most.".into(),
            svg: ImageGrid {
                title: titled("Saliency maps", case),
                tiles,
                signed: false,
            }
            .to_svg(),
            checks: &["saliency"],
            case: case.clone(),
        });
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
        out.push(Plot {
            caption: format!(
                "Filters of the first convolution (layer {}) after training, each scaled to its own largest weight: red positive, blue negative. Smooth, varied filters are healthy; noisy or identical ones point at too high a learning rate or too little training.",
                filters["layer"]
            ),
            svg: ImageGrid {
                title: titled("First-layer filters", case),
                tiles,
                signed: true,
            }
            .to_svg(),
            checks: &[],
            case: case.clone(),
        });
    }
    out
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
