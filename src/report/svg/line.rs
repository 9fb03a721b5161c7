//! Line charts: linear or log axes, reference lines, a shaded band, marked points, raw values
//! faint under their moving average.

use std::fmt::Write;

use super::*;

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
