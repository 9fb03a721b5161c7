//! Small SVG charts for the HTML report, written as text with no dependencies: line charts
//! (linear or log axes, reference lines, a shaded band, marked points), heat maps and bar
//! charts. Every chart has a title, labelled axes and a legend, and scales to its container.
//!
//! This module holds what every chart shares (the frame, axes, ticks, legends, smoothing);
//! each chart kind is a module of its own.

mod bar;
mod heat_map;
mod image;
mod line;

use std::fmt::Write;

pub use bar::BarChart;
pub use heat_map::HeatMap;
pub use image::{ImageGrid, Tile};
pub use line::{LineChart, Series};

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 44.0;

/// Colour-blind-safe palette (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An axis: its range and whether it is logarithmic.
#[derive(Clone, Copy, Debug)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    fn fit(values: impl Iterator<Item = f64>, log: bool) -> Axis {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            (lo, hi) = if log { (0.1, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            (lo, hi) = log_bounds(lo, hi);
        } else {
            if hi <= lo {
                // A constant: around it, and from 0 when it is not negative (a 0 % bar).
                (lo, hi) = (
                    if lo >= 0.0 {
                        (lo - 0.5).max(0.0)
                    } else {
                        lo - 0.5
                    },
                    hi + 0.5,
                );
            }
            let pad = 0.05 * (hi - lo);
            (lo, hi) = (
                if lo >= 0.0 && lo - pad < 0.0 {
                    0.0
                } else {
                    lo - pad
                },
                hi + pad,
            );
        }
        Axis { lo, hi, log }
    }

    /// Position in [0, 1] of `v`.
    fn unit(&self, v: f64) -> f64 {
        if self.log {
            (v.max(1e-300).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            log_ticks(self.lo, self.hi)
        } else {
            let raw = (self.hi - self.lo) / 5.0;
            let mag = 10f64.powf(raw.log10().floor());
            // Round the raw step to the nearest of 1, 2, 5, 10 × 10^k (about five ticks).
            let r = raw / mag;
            let step = mag
                * if r < 1.5 {
                    1.0
                } else if r < 3.0 {
                    2.0
                } else if r < 7.0 {
                    5.0
                } else {
                    10.0
                };
            let mut t = (self.lo / step).ceil() * step;
            let mut out = Vec::new();
            while t <= self.hi + 1e-9 * step {
                out.push(if t.abs() < 1e-12 * step { 0.0 } else { t });
                t += step;
            }
            out
        }
    }
}

/// The round values 1, 2 and 5 × 10^k, ascending, that a log axis may start, end or tick at.
fn round_values(lo: f64, hi: f64) -> impl Iterator<Item = f64> {
    let (a, b) = (lo.log10().floor() as i32 - 1, hi.log10().ceil() as i32 + 1);
    (a..=b).flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
}

/// A log axis's ends: whole decades when the data spans more than one, else the nearest
/// 1-2-5 values around it, so that a loss that moves from 1.10 to 1.09 is not a flat line at the
/// bottom of a decade.
fn log_bounds(lo: f64, hi: f64) -> (f64, f64) {
    let (dlo, dhi) = (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()),
    );
    if dhi / dlo > 10.0 * (1.0 + 1e-9) {
        return (dlo, dhi);
    }
    let below = round_values(lo, hi)
        .filter(|v| *v <= lo * (1.0 + 1e-9))
        .last()
        .unwrap_or(dlo);
    let above = round_values(lo, hi)
        .find(|v| *v >= hi * (1.0 - 1e-9) && *v > below)
        .unwrap_or(dhi);
    (below, above)
}

/// Decades, thinned to about six, or the 1-2-5 values inside an axis shorter than a decade.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let inside = |v: &f64| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9);
    if hi / lo <= 10.0 * (1.0 + 1e-9) {
        return round_values(lo, hi).filter(inside).collect();
    }
    let (a, b) = (lo.log10().round() as i32, hi.log10().round() as i32);
    let step = ((b - a) / 6).max(1);
    (a..=b)
        .step_by(step as usize)
        .map(|e| 10f64.powi(e))
        .collect()
}

fn label(v: f64) -> String {
    crate::text::number(v)
}

/// `v` to three significant digits (`-12.4`, `0.00761`, `1.2e4`): for labels beside a plot,
/// where a full number would run into the axis title.
fn short_label(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return label(v);
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-3..4).contains(&mag) {
        return format!("{v:.1e}");
    }
    let text = format!("{v:.*}", (2 - mag).max(0) as usize);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The weight of the moving average the report's step charts draw (TensorBoard's slider, at
/// about a ten-step memory).
pub const SMOOTHING: f64 = 0.9;

/// Series shorter than this are drawn as measured, not averaged.
const MIN_SMOOTHED: usize = 10;

/// An exponential moving average of `values` with the weight `weight` of the past, debiased as
/// TensorBoard does (divided by 1 − weight^n, so the first value is the first raw value rather
/// than pulled toward 0). Non-finite values stay gaps and leave the average as it was.
pub fn smooth(values: &[f64], weight: f64) -> Vec<f64> {
    let weight = weight.clamp(0.0, 0.999);
    let (mut last, mut n) = (0.0, 0i32);
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return f64::NAN;
            }
            last = last * weight + (1.0 - weight) * v;
            n += 1;
            last / (1.0 - weight.powi(n))
        })
        .collect()
}

fn frame(out: &mut String, title: &str, height: f64) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" role="img" aria-label="{t}" class="chart"><rect width="{W}" height="{height}" fill="#fff"/><text x="{x}" y="18" text-anchor="middle" font-size="14" font-weight="600">{t}</text>"##,
        t = escape(title),
        x = W / 2.0
    );
}

/// Opens the axes group: the plot frame, and the y axis's grid lines and tick labels.
fn frame_and_y_axis(out: &mut String, y: &Axis) {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let _ = write!(
        out,
        "<g font-size=\"11\" fill=\"#333\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>"
    );
    for t in y.ticks() {
        let py = TOP + ph * (1.0 - y.unit(t));
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{py:.1}\" y2=\"{py:.1}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + pw,
            LEFT - 6.0,
            py + 4.0,
            label(t)
        );
    }
}

fn axes(out: &mut String, x: &Axis, y: &Axis, x_label: &str, y_label: &str) {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    frame_and_y_axis(out, y);
    for t in x.ticks() {
        let px = LEFT + pw * x.unit(t);
        let _ = write!(
            out,
            "<line x1=\"{px:.1}\" x2=\"{px:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#eee\"/><text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            TOP + ph,
            TOP + ph + 16.0,
            label(t)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text></g>",
        LEFT + pw / 2.0,
        H - 8.0,
        escape(x_label),
        TOP + ph / 2.0,
        escape(y_label)
    );
}

/// One legend entry: a swatch in `colour` (none for a note) and its text.
struct Entry {
    text: String,
    colour: Option<&'static str>,
}

/// Legend entries laid out in rows under the chart, outside the data: (x, row) per entry.
fn legend_layout(entries: &[Entry]) -> (Vec<(f64, usize)>, usize) {
    let (mut x, mut row) = (LEFT, 0);
    let mut at = Vec::with_capacity(entries.len());
    for e in entries {
        let width =
            if e.colour.is_some() { 24.0 } else { 4.0 } + 6.2 * e.text.chars().count() as f64;
        if x > LEFT && x + width > W - RIGHT {
            (x, row) = (LEFT, row + 1);
        }
        at.push((x, row));
        x += width + 10.0;
    }
    let rows = if entries.is_empty() { 0 } else { row + 1 };
    (at, rows)
}

const LEGEND_ROW: f64 = 15.0;

/// The height of a chart of the standard size with `entries` in its legend below.
fn height_with_legend(entries: &[Entry]) -> f64 {
    H + LEGEND_ROW * legend_layout(entries).1 as f64 + if entries.is_empty() { 0.0 } else { 6.0 }
}

fn legend(out: &mut String, entries: &[Entry]) {
    let (at, _) = legend_layout(entries);
    out.push_str("<g class=\"legend\" font-size=\"11\" fill=\"#333\">");
    for (e, (x, row)) in entries.iter().zip(at) {
        let y = H + 10.0 + LEGEND_ROW * row as f64;
        let text_x = match e.colour {
            Some(colour) => {
                let _ = write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"16\" height=\"4\" fill=\"{colour}\"/>",
                    y - 4.0
                );
                x + 20.0
            }
            None => x,
        };
        let _ = write!(
            out,
            "<text x=\"{text_x:.1}\" y=\"{y:.1}\">{}</text>",
            escape(&e.text)
        );
    }
    out.push_str("</g>");
}

/// The last point of `points` with both coordinates finite.
fn last_finite(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    points
        .iter()
        .rev()
        .copied()
        .find(|p| p.0.is_finite() && p.1.is_finite())
}

/// A label under the plot area (of height `ph`) centred on `x`: a bar group's or a column's.
fn category_label(out: &mut String, x: f64, ph: f64, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        TOP + ph + 16.0,
        escape(text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_pick_round_ticks_and_decades() {
        let a = Axis::fit([0.13, 2.71].into_iter(), false);
        assert_eq!(a.ticks(), vec![0.5, 1.0, 1.5, 2.0, 2.5]);
        let l = Axis::fit([3e-5, 0.2].into_iter(), true);
        assert_eq!((l.lo, l.hi), (1e-5, 1.0));
        assert_eq!(l.ticks().len(), 6);
    }

    #[test]
    fn a_line_chart_breaks_at_non_finite_points_and_escapes_text() {
        let c = LineChart {
            title: "a < b".into(),
            series: vec![Series {
                name: "loss".into(),
                points: vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 0.5), (3.0, 0.25)],
            }],
            ..Default::default()
        };
        let svg = c.to_svg();
        assert!(svg.contains("a &lt; b"));
        let path = svg.split("<path d=\"").nth(1).unwrap();
        let d = &path[..path.find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
    }

    fn paths(svg: &str, class: &str) -> Vec<String> {
        svg.split(&format!("<path class=\"{class}\" d=\""))
            .skip(1)
            .map(|p| p[..p.find('"').unwrap()].to_string())
            .collect()
    }

    #[test]
    fn smoothing_is_a_debiased_moving_average_that_skips_gaps() {
        assert!(smooth(&[], 0.9).is_empty());
        // A constant stays constant: debiasing removes the pull toward the zero start.
        assert!(smooth(&[2.5; 20], 0.9)
            .iter()
            .all(|v| (v - 2.5).abs() < 1e-12));
        let s = smooth(&[4.0, 0.0, f64::NAN, 0.0], 0.5);
        assert_eq!(s[0], 4.0, "the first value is the first raw value");
        assert!((s[1] - 4.0 / 3.0).abs() < 1e-12, "{s:?}");
        assert!(s[2].is_nan(), "a gap stays a gap");
        assert!(
            s[3] < s[1] && s[3] > 0.0,
            "the gap does not reset the average: {s:?}"
        );
        assert_eq!(
            smooth(&[1.0, 3.0], 0.0),
            vec![1.0, 3.0],
            "weight 0 is the raw series"
        );
    }

    fn noisy_loss() -> LineChart {
        let points = (0..50)
            .map(|i| {
                (
                    i as f64,
                    1.0 / (1.0 + i as f64) * if i % 2 == 0 { 1.5 } else { 0.7 },
                )
            })
            .collect();
        LineChart {
            title: "Loss".into(),
            x_label: "step".into(),
            log_y: true,
            series: vec![Series {
                name: "loss".into(),
                points,
            }],
            smoothing: Some(SMOOTHING),
            show_final: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_smoothed_chart_draws_raw_faint_under_the_average_and_names_the_final_value() {
        let svg = noisy_loss().to_svg();
        let (raw, smoothed) = (paths(&svg, "raw"), paths(&svg, "smoothed"));
        assert_eq!((raw.len(), smoothed.len()), (1, 1));
        assert_ne!(raw[0], smoothed[0]);
        assert!(
            svg.contains("stroke-opacity=\"0.3\""),
            "raw values are faint"
        );
        assert!(svg.contains("loss: final 0.014 at step 49"), "{svg}");
        assert!(svg.contains("<circle class=\"final\""));
    }

    /// The number that follows the first `key` in `text`, up to a quote.
    fn number_after(text: &str, key: &str) -> f64 {
        let rest = &text[text.find(key).unwrap() + key.len()..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    }

    #[test]
    fn the_legend_sits_below_the_plot_area_and_the_chart_grows_for_it() {
        let mut chart = noisy_loss();
        chart.series = (0..12)
            .map(|k| Series {
                name: format!("layers.{k} linear weight"),
                points: vec![(0.0, 1.0 + k as f64), (1.0, 2.0)],
            })
            .collect();
        let svg = chart.to_svg();
        let legend = &svg[svg.find("class=\"legend\"").unwrap()..];
        let ys: Vec<f64> = legend
            .split("<text x=\"")
            .skip(1)
            .map(|t| number_after(t, "y=\""))
            .collect();
        assert_eq!(
            ys.len(),
            12,
            "one entry per series (too short to smooth: no note)"
        );
        assert!(
            ys.iter().all(|y| *y > H - BOTTOM),
            "legend inside the plot: {ys:?}"
        );
        let height = number_after(&svg, "viewBox=\"0 0 640 ");
        assert!(
            height > H && ys.iter().all(|y| *y < height),
            "{height} {ys:?}"
        );
    }

    #[test]
    fn one_point_all_nan_and_constant_series_render_without_nan_text() {
        let series = [
            vec![(3.0, 0.5)],
            vec![(0.0, f64::NAN), (1.0, f64::NAN)],
            vec![(0.0, 0.0); 12],
            (0..12).map(|i| (i as f64, 0.25)).collect(),
            vec![],
        ];
        for log_y in [false, true] {
            for points in &series {
                let mut chart = noisy_loss();
                chart.log_y = log_y;
                chart.series = vec![Series {
                    name: "s".into(),
                    points: points.clone(),
                }];
                let svg = chart.to_svg();
                assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
                assert!(svg.ends_with("</svg>"));
            }
        }
        let mut chart = noisy_loss();
        chart.series = vec![Series {
            name: "w".into(),
            points: vec![(0.0, 0.0); 12],
        }];
        assert!(chart
            .to_svg()
            .contains("w (0 throughout, below the log axis)"));
        chart.series[0].points = vec![(3.0, 0.5)];
        assert!(
            chart.to_svg().contains("s: final 0.5 at step 3")
                || chart.to_svg().contains("w: final 0.5 at step 3")
        );
    }

    #[test]
    fn a_log_axis_around_a_constant_is_a_1_2_5_interval_not_a_decade() {
        assert_eq!(log_bounds(1.0986, 1.0986), (1.0, 2.0));
        assert_eq!(log_bounds(0.03, 0.04), (0.02, 0.05));
        assert_eq!(log_ticks(1.0, 2.0), vec![1.0, 2.0]);
    }

    #[test]
    fn a_heat_map_has_a_colour_scale_and_survives_empty_and_zero_data() {
        let map = |values: Vec<Vec<f64>>| {
            HeatMap {
                title: "h".into(),
                x_label: "step".into(),
                y_label: "value".into(),
                columns: (0..values.len()).map(|i| format!("{}", i * 20)).collect(),
                y_range: (-1.0, 1.0),
                values,
                scale_label: "count".into(),
            }
            .to_svg()
        };
        let svg = map(vec![vec![0.0, 5.0, 1200.0]; 11]);
        let scale = &svg[svg.find("class=\"scale\"").unwrap()..];
        for tick in [">0<", ">1<", ">10<", ">100<", ">1200<"] {
            assert!(scale.contains(tick), "no {tick} on the scale: {scale}");
        }
        assert_eq!(
            svg.matches("text-anchor=\"middle\">").count() - 2,
            11,
            "a label per column"
        );
        for empty in [
            vec![],
            vec![vec![]],
            vec![vec![0.0; 4]; 3],
            vec![vec![f64::NAN; 2]],
        ] {
            let svg = map(empty);
            assert!(!svg.contains("NaN") && svg.ends_with("</svg>"), "{svg}");
        }
    }
}
