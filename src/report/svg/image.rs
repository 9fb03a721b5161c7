//! Small images side by side (filters, saliency maps).

use std::fmt::Write;

use super::*;

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
