//! One picture of where a thread per client wins and where it pays: for each figure, a
//! bar per reference showing how many times better (to the right of 1×) or worse (to
//! the left) sse-server did, on a log scale so that 2× better and 2× worse are bars of
//! the same length. Plain SVG text, like `chart.rs`.

use std::fmt::Write as _;

use crate::chart::{escape, open_svg};

const WIDTH: f64 = 680.0;
/// The column of figure names, left of the bars.
const LABELS: f64 = 230.0;
const RIGHT: f64 = 48.0;
const TOP: f64 = 64.0;
const ROW: f64 = 34.0;
const BAR: f64 = 12.0;
/// The axis spans at most this many decades each way; a longer bar ends at the edge,
/// and its value is written beside it as for every bar.
const MOST_DECADES: f64 = 2.0;

/// One reference's bar in a row: its label and colour, and the ratio (how many times
/// better sse-server did: above 1 it wins) as median, min and max over the pairs.
pub struct Bar {
    pub label: &'static str,
    pub color: &'static str,
    pub ratio: (f64, f64, f64),
}

/// An SVG document with one row of bars per `(figure, bars)`.
pub fn draw(title: &str, rows: &[(String, Vec<Bar>)]) -> String {
    let extreme = rows
        .iter()
        .flat_map(|(_, bars)| bars.iter())
        .flat_map(|bar| [bar.ratio.1, bar.ratio.2])
        .filter(|ratio| *ratio > 0.0)
        .map(|ratio| ratio.log10().abs())
        .fold(1.0f64, f64::max)
        .ceil()
        .min(MOST_DECADES);
    let height = TOP + ROW * rows.len() as f64 + 48.0;
    let centre = LABELS + (WIDTH - LABELS - RIGHT) / 2.0;
    let half = (WIDTH - LABELS - RIGHT) / 2.0;
    let x_of =
        |ratio: f64| centre + ratio.max(1e-9).log10().clamp(-extreme, extreme) / extreme * half;
    let bottom = TOP + ROW * rows.len() as f64;

    let mut svg = open_svg(WIDTH, height, 12.0, title);
    // Decades, from `extreme` worse to `extreme` better.
    let decades = extreme as i32;
    for power in -decades..=decades {
        let ratio = 10f64.powi(power);
        let x = x_of(ratio);
        let label = if power >= 0 {
            format!("{}×", ratio)
        } else {
            format!("1/{}", 10f64.powi(-power))
        };
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{bottom:.1}\" stroke=\"{}\"/>\n\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            if power == 0 { "#333" } else { "#ddd" },
            bottom + 16.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">◀ sse-server pays</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\">sse-server wins ▶</text>",
        centre - 8.0,
        bottom + 36.0,
        centre + 8.0,
        bottom + 36.0
    );
    for (index, (figure, bars)) in rows.iter().enumerate() {
        let top = TOP + ROW * index as f64;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LABELS - 10.0,
            top + ROW / 2.0 + 4.0,
            escape(figure)
        );
        for (slot, bar) in bars.iter().enumerate() {
            let y = top + 4.0 + slot as f64 * (BAR + 2.0);
            let (median, low, high) = bar.ratio;
            let (from, to) = (x_of(1.0).min(x_of(median)), x_of(1.0).max(x_of(median)));
            let _ = writeln!(
                svg,
                "<rect x=\"{from:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{BAR}\" \
                 fill=\"{color}\" fill-opacity=\"0.8\"/>\n\
                 <line x1=\"{:.1}\" y1=\"{mid:.1}\" x2=\"{:.1}\" y2=\"{mid:.1}\" stroke=\"#333\"/>",
                (to - from).max(1.0),
                x_of(low),
                x_of(high),
                color = bar.color,
                mid = y + BAR / 2.0
            );
            // The value, outside the bar's end: `2.3×` better, or `1/1.7` as good.
            let (text, x, anchor) = if median >= 1.0 {
                (format!("{median:.1}×"), to + 4.0, "start")
            } else {
                (format!("1/{:.1}", 1.0 / median), from - 4.0, "end")
            };
            let _ = writeln!(
                svg,
                "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"{anchor}\">{text}</text>",
                y + BAR - 2.0
            );
        }
    }
    // The legend: the references' colours, from the first row.
    if let Some((_, bars)) = rows.first() {
        for (slot, bar) in bars.iter().enumerate() {
            let x = LABELS + 160.0 * slot as f64;
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"36\" width=\"14\" height=\"10\" fill=\"{}\"/>\n\
                 <text x=\"{:.1}\" y=\"45\">against {}</text>",
                bar.color,
                x + 20.0,
                escape(bar.label)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}
