//! Heat maps with their colour scale.

use std::fmt::Write;

use super::*;

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
