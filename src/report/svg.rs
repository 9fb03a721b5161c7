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
            lo = 10f64.powf(lo.log10().floor());
            hi = 10f64.powf(hi.log10().ceil());
            if hi <= lo {
                hi = lo * 10.0;
            }
        } else {
            if hi <= lo {
                (lo, hi) = (lo - 0.5, hi + 0.5);
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
            let (a, b) = (
                self.lo.log10().round() as i32,
                self.hi.log10().round() as i32,
            );
            let step = ((b - a) / 6).max(1);
            (a..=b)
                .step_by(step as usize)
                .map(|e| 10f64.powi(e))
                .collect()
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

fn label(v: f64) -> String {
    crate::text::number(v)
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
}

fn frame(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{t}" class="chart"><rect width="{W}" height="{H}" fill="#fff"/><text x="{x}" y="18" text-anchor="middle" font-size="14" font-weight="600">{t}</text>"##,
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

fn legend(out: &mut String, names: &[(String, &str)]) {
    let mut x = LEFT + 8.0;
    let mut y = TOP + 14.0;
    for (name, colour) in names {
        let width = 24.0 + 6.5 * name.chars().count() as f64;
        if x + width > W - RIGHT {
            x = LEFT + 8.0;
            y += 14.0;
        }
        let _ = write!(
            out,
            "<g font-size=\"11\"><rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{y:.1}\">{}</text></g>",
            y - 5.0,
            x + 16.0,
            escape(name)
        );
        x += width;
    }
}

impl LineChart {
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
        let mut out = String::new();
        frame(&mut out, &self.title);
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
        for (k, s) in self.series.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            // Non-finite or (on a log axis) non-positive values break the line.
            let mut d = String::new();
            let mut pen_down = false;
            for &(a, b) in &s.points {
                let ok = a.is_finite()
                    && b.is_finite()
                    && (!self.log_y || b > 0.0)
                    && (!self.log_x || a > 0.0);
                if !ok {
                    pen_down = false;
                    continue;
                }
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    px(a),
                    py(b)
                );
                pen_down = true;
            }
            let _ = write!(
                out,
                "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"><title>{}</title></path>",
                d.trim_end(),
                escape(&s.name)
            );
        }
        for (k, (v, name)) in self.v_lines.iter().enumerate() {
            let xv = px(*v);
            let _ = write!(
                out,
                "<line x1=\"{xv:.1}\" x2=\"{xv:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#D55E00\" stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#D55E00\">{}</text>",
                TOP + ph,
                xv + 3.0,
                TOP + ph - 6.0 - 13.0 * k as f64,
                escape(name)
            );
        }
        let names: Vec<(String, &str)> = self
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| (s.name.clone(), PALETTE[k % PALETTE.len()]))
            .collect();
        if names.len() > 1 {
            legend(&mut out, &names);
        }
        out.push_str("</svg>");
        out
    }
}

/// A heat map: `rows` from bottom to top, `columns` left to right; cell shade ∝ log(1 + value).
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
}

impl HeatMap {
    pub fn to_svg(&self) -> String {
        let mut out = String::new();
        frame(&mut out, &self.title);
        let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
        let cols = self.values.len().max(1);
        let rows = self.values.first().map_or(1, |c| c.len().max(1));
        let top = self
            .values
            .iter()
            .flatten()
            .fold(0.0f64, |a, b| a.max((1.0 + b).ln()));
        let (cw, ch) = (pw / cols as f64, ph / rows as f64);
        for (i, col) in self.values.iter().enumerate() {
            for (j, v) in col.iter().enumerate() {
                let shade = if top > 0.0 { (1.0 + v).ln() / top } else { 0.0 };
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#0072B2\" fill-opacity=\"{shade:.3}\"/>",
                    LEFT + cw * i as f64,
                    TOP + ph - ch * (j + 1) as f64,
                    cw + 0.3,
                    ch + 0.3
                );
            }
        }
        let _ = write!(
            out,
            "<g font-size=\"11\" fill=\"#333\"><rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>"
        );
        for (i, c) in self.columns.iter().enumerate() {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                LEFT + cw * (i as f64 + 0.5),
                TOP + ph + 16.0,
                escape(c)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            TOP + ph,
            label(self.y_range.0),
            LEFT - 6.0,
            TOP + 10.0,
            label(self.y_range.1)
        );
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text></g></svg>",
            LEFT + pw / 2.0,
            H - 8.0,
            escape(&self.x_label),
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
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
        let mut out = String::new();
        frame(&mut out, &self.title);
        // The label names stand in for numeric x ticks.
        frame_and_y_axis(&mut out, &y);
        let group = pw / x.hi;
        let bar = group * 0.8 / self.series.len().max(1) as f64;
        for (i, l) in self.labels.iter().enumerate() {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                LEFT + group * (i as f64 + 0.5),
                TOP + ph + 16.0,
                escape(l)
            );
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
        let names: Vec<(String, &str)> = self
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| (s.0.clone(), PALETTE[k % PALETTE.len()]))
            .collect();
        if names.len() > 1 {
            legend(&mut out, &names);
        }
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
}
