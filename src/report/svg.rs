//! Small SVG charts for the HTML report, written as text with no dependencies: line charts
//! (linear or log axes, reference lines, a shaded band, marked points), heat maps and bar
//! charts. Every chart has a title, labelled axes and a legend, and scales to its container.

use std::fmt::Write;

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

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart.
#[derive(Clone, Debug, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Horizontal reference lines with labels.
    pub h_lines: Vec<(f64, String)>,
    /// A shaded horizontal band (e.g. the healthy range of update ratios).
    pub band: Option<(f64, f64, String)>,
    /// Vertical marks with labels (e.g. learning-rate suggestions).
    pub v_lines: Vec<(f64, String)>,
    /// Draw each series' raw values faint under their moving average of this weight (see
    /// [`smooth`]): noisy per-step values hide the trend a reader looks for.
    pub smoothing: Option<f64>,
    /// Mark each series' last finite point and write its value in the legend.
    pub show_final: bool,
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

impl LineChart {
    fn drawable(&self, (a, b): (f64, f64)) -> bool {
        a.is_finite() && b.is_finite() && (!self.log_y || b > 0.0) && (!self.log_x || a > 0.0)
    }

    /// Why a series shows no line, for its legend entry: an empty chart must say so.
    fn why_not_drawn(&self, points: &[(f64, f64)]) -> &'static str {
        let finite: Vec<f64> = points
            .iter()
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .collect();
        match () {
            _ if finite.is_empty() => "no finite value",
            _ if finite.iter().all(|v| *v == 0.0) => "0 throughout, below the log axis",
            _ => "no positive value for the log axis",
        }
    }

    /// The path through `points`; a point the axes cannot show (non-finite, or not positive
    /// on a log axis) breaks the line.
    fn path(&self, points: &[(f64, f64)], to_px: impl Fn((f64, f64)) -> (f64, f64)) -> String {
        let mut d = String::new();
        let mut pen_down = false;
        for &p in points {
            if !self.drawable(p) {
                pen_down = false;
                continue;
            }
            let (x, y) = to_px(p);
            let _ = write!(d, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
            pen_down = true;
        }
        d.trim_end().to_string()
    }

    /// The series' moving average, taken on the logarithms on a log axis (a geometric mean),
    /// so that one spike does not lift a decade of the line.
    fn smoothed(&self, points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
        let values: Vec<f64> = points
            .iter()
            .map(|&p| match (self.drawable(p), self.log_y) {
                (false, _) => f64::NAN,
                (true, true) => p.1.ln(),
                (true, false) => p.1,
            })
            .collect();
        smooth(&values, weight)
            .into_iter()
            .zip(points)
            .map(|(s, p)| (p.0, if self.log_y { s.exp() } else { s }))
            .collect()
    }

    fn legend_entries(&self) -> Vec<Entry> {
        let mut entries = Vec::new();
        let smoothed = self.series.iter().any(|s| s.points.len() >= MIN_SMOOTHED);
        if let Some(w) = self.smoothing.filter(|_| smoothed) {
            entries.push(Entry {
                text: format!("faint: raw values; solid: moving average (weight {w})"),
                colour: None,
            });
        }
        for (k, s) in self.series.iter().enumerate() {
            let last = last_finite(&s.points).filter(|_| self.show_final);
            let text = match last {
                _ if !s.points.iter().any(|p| self.drawable(*p)) => {
                    format!("{} ({})", s.name, self.why_not_drawn(&s.points))
                }
                Some((x, y)) => format!(
                    "{}: final {} at {} {}",
                    s.name,
                    label(y),
                    self.x_label,
                    label(x)
                ),
                None => s.name.clone(),
            };
            entries.push(Entry {
                text,
                colour: Some(PALETTE[k % PALETTE.len()]),
            });
        }
        // A lone series with nothing to add is named by the title and the y axis.
        if entries.len() == 1 && !self.show_final {
            entries.clear();
        }
        entries
    }

    pub fn to_svg(&self) -> String {
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let x = Axis::fit(xs.chain(self.v_lines.iter().map(|v| v.0)), self.log_x);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1));
        let extra = self
            .h_lines
            .iter()
            .map(|h| h.0)
            .chain(self.band.iter().flat_map(|b| [b.0, b.1]));
        let y = Axis::fit(ys.chain(extra), self.log_y);
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let px = |v: f64| LEFT + pw * x.unit(v).clamp(0.0, 1.0);
        let py = |v: f64| TOP + ph * (1.0 - y.unit(v).clamp(0.0, 1.0));
        let entries = self.legend_entries();
        let mut out = String::new();
        frame(&mut out, &self.title, height_with_legend(&entries));
        if let Some((lo, hi, name)) = &self.band {
            let _ = write!(
                out,
                "<rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{pw}\" height=\"{:.1}\" fill=\"#2a2\" opacity=\"0.12\"><title>{}</title></rect>",
                py(*hi),
                (py(*lo) - py(*hi)).max(0.0),
                escape(name)
            );
        }
        axes(&mut out, &x, &y, &self.x_label, &self.y_label);
        for (v, name) in &self.h_lines {
            let _ = write!(
                out,
                "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#555\" stroke-dasharray=\"5 4\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
                LEFT + pw,
                LEFT + pw - 4.0,
                py(*v) - 4.0,
                escape(name),
                y = py(*v)
            );
        }
        let to_px = |(a, b): (f64, f64)| (px(a), py(b));
        for (k, s) in self.series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            let name = escape(&s.name);
            // An average over a handful of points (a validation loss every 50 steps) would hide
            // the points themselves.
            match self.smoothing.filter(|_| s.points.len() >= MIN_SMOOTHED) {
                Some(w) => {
                    let _ = write!(
                        out,
                        "<path class=\"raw\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1\" stroke-opacity=\"0.3\"><title>{name} (raw)</title></path><path class=\"smoothed\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\"><title>{name}</title></path>",
                        self.path(&s.points, to_px),
                        self.path(&self.smoothed(&s.points, w), to_px)
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"><title>{name}</title></path>",
                        self.path(&s.points, to_px)
                    );
                }
            }
            if let Some(p) = last_finite(&s.points).filter(|p| self.show_final && self.drawable(*p))
            {
                let (cx, cy) = to_px(p);
                let _ = write!(
                    out,
                    "<circle class=\"final\" cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3\" fill=\"{colour}\"><title>{name}: final {}</title></circle>",
                    label(p.1)
                );
            }
        }
        for (k, (v, name)) in self.v_lines.iter().enumerate() {
            let xv = px(*v);
            // In the right half the label reads leftward, so that it stays inside the plot.
            let (tx, anchor) = if xv > LEFT + pw / 2.0 {
                (xv - 3.0, "end")
            } else {
                (xv + 3.0, "start")
            };
            let _ = write!(
                out,
                "<line x1=\"{xv:.1}\" x2=\"{xv:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#D55E00\" stroke-dasharray=\"3 3\"/><text x=\"{tx:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#D55E00\" text-anchor=\"{anchor}\">{}</text>",
                TOP + ph,
                TOP + ph - 6.0 - 13.0 * k as f64,
                escape(name)
            );
        }
        legend(&mut out, &entries);
        out.push_str("</svg>");
        out
    }
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

/// A heat map: `rows` from bottom to top, `columns` left to right; cell shade ∝ log(1 + value),
/// read off the colour scale at the right.
pub struct HeatMap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Column labels (e.g. steps).
    pub columns: Vec<String>,
    /// Row range for the y axis labels (e.g. activation value of the lowest and highest bin).
    pub y_range: (f64, f64),
    /// values[column][row]
    pub values: Vec<Vec<f64>>,
    /// What a cell's value counts (`count`), written over the colour scale.
    pub scale_label: String,
}

/// Room at the right of a heat map for its colour scale.
const SCALE_ROOM: f64 = 72.0;

/// The shade (fill opacity) of `v` when `top` is ln(1 + the largest value): a log scale, so
/// that the few values in a distribution's tails still show beside its peak.
fn shade(v: f64, top: f64) -> f64 {
    if top > 0.0 && v.is_finite() && v > 0.0 {
        ((1.0 + v).ln() / top).min(1.0)
    } else {
        0.0
    }
}

/// The colour scale's labels, (value, shade): 0, the powers of ten below the largest value,
/// and the largest value itself (`top` is ln(1 + it)) unless a power of ten sits too close.
fn scale_ticks(top: f64) -> Vec<(f64, f64)> {
    let largest = top.exp() - 1.0;
    let mut ticks = vec![(0.0, 0.0)];
    let mut p = 1.0;
    while p < largest && shade(p, top) < 0.85 {
        ticks.push((p, shade(p, top)));
        p *= 10.0;
    }
    if largest > 0.0 {
        ticks.push((largest, 1.0));
    }
    ticks
}

impl HeatMap {
    fn cells(&self, out: &mut String, top: f64, (pw, ph): (f64, f64)) {
        let cols = self.values.len().max(1);
        let rows = self.values.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let (cw, ch) = (pw / cols as f64, ph / rows as f64);
        for (i, col) in self.values.iter().enumerate() {
            for (j, v) in col.iter().enumerate() {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#0072B2\" fill-opacity=\"{:.3}\"/>",
                    LEFT + cw * i as f64,
                    TOP + ph - ch * (j + 1) as f64,
                    cw + 0.3,
                    ch + 0.3,
                    shade(*v, top)
                );
            }
        }
    }

    /// Column labels, thinned so that neighbours never overlap.
    fn column_labels(&self, out: &mut String, (pw, ph): (f64, f64)) {
        let cw = pw / self.columns.len().max(1) as f64;
        let widest = self
            .columns
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(1);
        let every = ((6.5 * widest as f64 + 8.0) / cw).ceil().max(1.0) as usize;
        let last = self.columns.len().saturating_sub(1);
        for (i, c) in self.columns.iter().enumerate() {
            // The last column is always labelled (it is the end of the run); the one before it
            // gives way when they would touch.
            let shown = i == last || (i % every == 0 && last - i >= every);
            if shown {
                category_label(out, LEFT + cw * (i as f64 + 0.5), ph, c);
            }
        }
    }

    /// A vertical bar of shades from none to full, labelled with the values they stand for.
    fn colour_scale(&self, out: &mut String, top: f64, ph: f64) {
        let (x, steps) = (W - RIGHT - SCALE_ROOM + 18.0, 24);
        let step_h = ph / steps as f64;
        let _ = write!(
            out,
            "<g class=\"scale\"><text x=\"{x}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            TOP - 10.0,
            escape(&self.scale_label)
        );
        for k in 0..steps {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{:.1}\" width=\"12\" height=\"{:.1}\" fill=\"#0072B2\" fill-opacity=\"{:.3}\"/>",
                TOP + ph - step_h * (k + 1) as f64,
                step_h + 0.3,
                (k as f64 + 0.5) / steps as f64
            );
        }
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{TOP}\" width=\"12\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>"
        );
        for (v, s) in scale_ticks(top) {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{:.1}\" font-size=\"10\">{}</text>",
                x + 16.0,
                TOP + ph * (1.0 - s) + 3.5,
                short_label(v)
            );
        }
        out.push_str("</g>");
    }

    pub fn to_svg(&self) -> String {
        let mut out = String::new();
        frame(&mut out, &self.title, H);
        let (pw, ph) = (W - LEFT - RIGHT - SCALE_ROOM, H - TOP - BOTTOM);
        let top = self
            .values
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold(0.0f64, |a, b| a.max((1.0 + b.max(0.0)).ln()));
        self.cells(&mut out, top, (pw, ph));
        let _ = write!(
            out,
            "<g font-size=\"11\" fill=\"#333\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>"
        );
        self.column_labels(&mut out, (pw, ph));
        let (lo, hi) = self.y_range;
        for (v, y) in [
            (lo, TOP + ph),
            ((lo + hi) / 2.0, TOP + ph / 2.0 + 4.0),
            (hi, TOP + 10.0),
        ] {
            if v.is_finite() {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{y:.1}\" text-anchor=\"end\">{}</text>",
                    LEFT - 6.0,
                    short_label(v)
                );
            }
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            LEFT + pw / 2.0,
            H - 8.0,
            escape(&self.x_label),
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        self.colour_scale(&mut out, top, ph);
        out.push_str("</g></svg>");
        out
    }
}

/// Grouped bars: one group per label, one bar per series.
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    pub labels: Vec<String>,
    /// (series name, one value per label)
    pub series: Vec<(String, Vec<f64>)>,
}

impl BarChart {
    pub fn to_svg(&self) -> String {
        let y = Axis::fit(
            self.series
                .iter()
                .flat_map(|s| s.1.iter().copied())
                .chain([0.0]),
            false,
        );
        let x = Axis {
            lo: 0.0,
            hi: self.labels.len().max(1) as f64,
            log: false,
        };
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        // One series is named by the title and the y axis.
        let entries: Vec<Entry> = self
            .series
            .iter()
            .enumerate()
            .filter(|_| self.series.len() > 1)
            .map(|(k, s)| Entry {
                text: s.0.clone(),
                colour: Some(PALETTE[k % PALETTE.len()]),
            })
            .collect();
        let mut out = String::new();
        frame(&mut out, &self.title, height_with_legend(&entries));
        // The label names stand in for numeric x ticks.
        frame_and_y_axis(&mut out, &y);
        let group = pw / x.hi;
        let bar = group * 0.8 / self.series.len().max(1) as f64;
        for (i, l) in self.labels.iter().enumerate() {
            category_label(&mut out, LEFT + group * (i as f64 + 0.5), ph, l);
            for (k, (name, values)) in self.series.iter().enumerate() {
                let v = values.get(i).copied().unwrap_or(0.0);
                let (y0, y1) = (TOP + ph * (1.0 - y.unit(0.0)), TOP + ph * (1.0 - y.unit(v)));
                // A zero still shows: a bar of at least 1.5 px, and every bar its value.
                let height = (y0 - y1).abs().max(1.5);
                let top = y1.min(y0).min(y0 - height);
                let left = LEFT + group * (i as f64 + 0.1) + bar * k as f64;
                let _ = write!(
                    out,
                    "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{bar:.1}\" height=\"{height:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
                     <text class=\"value\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                    PALETTE[k % PALETTE.len()],
                    escape(name),
                    label(v),
                    left + bar / 2.0,
                    top - 3.0,
                    label(v)
                );
            }
        }
        let _ = write!(
            out,
            "<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text></g>",
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        legend(&mut out, &entries);
        out.push_str("</svg>");
        out
    }
}

/// One small image of an [`ImageGrid`]: `values` row-major, `height` × `width`.
pub struct Tile {
    pub label: String,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f64>,
}

/// Small images side by side (convolution filters, saliency maps), each scaled to its own
/// largest magnitude: signed values in blue (negative) and red (positive) over white,
/// magnitudes in black over white.
pub struct ImageGrid {
    pub title: String,
    pub tiles: Vec<Tile>,
    pub signed: bool,
}

impl ImageGrid {
    /// Tiles per row.
    const COLUMNS: usize = 8;

    pub fn to_svg(&self) -> String {
        let n = self.tiles.len().max(1);
        let cols = n.min(Self::COLUMNS);
        let rows = n.div_ceil(cols);
        let (pw, ph) = (W - 2.0 * RIGHT, H - TOP - 8.0);
        // Square pixels: the tile's longer side fills its cell, less a gap and a label line.
        let cell = (pw / cols as f64).min(ph / rows as f64);
        // As tall as the tiles need, no taller than the other charts.
        let height = (TOP + cell * rows as f64 + 8.0).min(H);
        let mut out = String::new();
        let _ = write!(
            out,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height:.0}" role="img" aria-label="{t}" class="chart"><rect width="{W}" height="{height:.0}" fill="#fff"/><text x="{x}" y="18" text-anchor="middle" font-size="14" font-weight="600">{t}</text>"##,
            t = escape(&self.title),
            x = W / 2.0
        );
        for (k, t) in self.tiles.iter().enumerate() {
            let (cx, cy) = (
                RIGHT + cell * (k % cols) as f64,
                TOP + cell * (k / cols) as f64,
            );
            let side = t.height.max(t.width).max(1) as f64;
            let px = (cell - 18.0).max(4.0) / side;
            let top = t.values.iter().fold(
                0.0f64,
                |a, v| {
                    if v.is_finite() {
                        a.max(v.abs())
                    } else {
                        a
                    }
                },
            );
            for (i, v) in t.values.iter().enumerate() {
                let (y, x) = (i / t.width.max(1), i % t.width.max(1));
                let shade = if top > 0.0 && v.is_finite() {
                    v.abs() / top
                } else {
                    0.0
                };
                let fill = match (self.signed, *v < 0.0) {
                    (false, _) => "#000000",
                    (true, true) => "#0072B2",
                    (true, false) => "#D55E00",
                };
                let _ = write!(
                    out,
                    "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{fill}\" fill-opacity=\"{shade:.3}\"/>",
                    cx + px * x as f64,
                    cy + px * y as f64,
                    px + 0.05,
                    px + 0.05
                );
            }
            let _ = write!(
                out,
                "<rect x=\"{cx:.2}\" y=\"{cy:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"none\" stroke=\"#999\" stroke-width=\"0.5\"/><text x=\"{cx:.2}\" y=\"{:.2}\" font-size=\"10\" fill=\"#333\">{}</text>",
                px * t.width as f64,
                px * t.height as f64,
                cy + px * t.height as f64 + 11.0,
                escape(&t.label)
            );
        }
        out.push_str("</svg>");
        out
    }
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
