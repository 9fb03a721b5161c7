//! Grouped bar charts with a value on every bar.

use std::fmt::Write;

use super::*;

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
