//! Line charts as plain SVG text: one figure against N, one line per server, with the
//! spread of the runs as a bar at each point. No plotting library: an SVG is a few
//! dozen elements, and writing them here keeps `make bench` free of anything to
//! install (SVG 1.1, <https://www.w3.org/TR/SVG11/>; GitHub shows it inline).
//!
//! N runs over two orders of magnitude and more, so the x axis is logarithmic; so is
//! the y axis when a figure grows with N (latency), where a straight line of slope one
//! reads "proportional to N".

use std::fmt::Write as _;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 380.0;
/// The plot area's distance from each edge: room for the title, the legend and the
/// axes' labels.
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 64.0;
const BOTTOM: f64 = 52.0;

/// One server's line: at each N, the median and the spread (min, max) of its runs.
pub struct Series {
    pub label: &'static str,
    pub color: &'static str,
    /// `(n, median, min, max)`, in increasing n.
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// How the y axis is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// From zero, for figures that should stay flat as N grows.
    Linear,
    /// Decades, for figures that grow with N.
    Log,
}

/// An SVG document charting `series` against N.
pub fn draw(title: &str, y_label: &str, scale: Scale, series: &[Series]) -> String {
    let points = || series.iter().flat_map(|s| s.points.iter());
    let (mut n_min, mut n_max) = (f64::MAX, f64::MIN);
    let (mut y_min, mut y_max) = (f64::MAX, f64::MIN);
    for &(n, _, low, high) in points() {
        n_min = n_min.min(n);
        n_max = n_max.max(n);
        y_min = y_min.min(low);
        y_max = y_max.max(high);
    }
    if n_min > n_max {
        (n_min, n_max, y_min, y_max) = (1.0, 10.0, 0.0, 1.0);
    }
    // A twentieth of the span free at either end, so that no point sits on an axis.
    let pad = (n_max.log10() - n_min.log10()).max(0.5) / 20.0;
    let (x_low, x_high) = (n_min.log10() - pad, n_max.log10() + pad);
    let x_of = |n: f64| LEFT + (n.log10() - x_low) / (x_high - x_low) * (WIDTH - LEFT - RIGHT);
    let (ticks, y_low, y_high) = match scale {
        Scale::Linear => linear_ticks(y_max),
        Scale::Log => log_ticks(y_min, y_max),
    };
    let y_of = |value: f64| {
        let fraction = match scale {
            Scale::Linear => (value - y_low) / (y_high - y_low),
            Scale::Log => {
                (value.max(y_low).log10() - y_low.log10()) / (y_high.log10() - y_low.log10())
            }
        };
        HEIGHT - BOTTOM - fraction * (HEIGHT - TOP - BOTTOM)
    };

    let mut svg = open_svg(WIDTH, HEIGHT, LEFT, title);
    // Grid and y labels.
    for &tick in &ticks {
        let y = y_of(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            number(tick)
        );
    }
    // x labels at each N measured.
    let mut ns: Vec<f64> = points().map(|p| p.0).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    for &n in &ns {
        let x = x_of(n);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>\n\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            number(n)
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom:.1}\" stroke=\"#333\"/>\n\
         <line x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"#333\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">N, concurrent streams (log scale)</text>\n\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        WIDTH - RIGHT,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 12.0,
        (TOP + HEIGHT - BOTTOM) / 2.0,
        escape(&format!(
            "{y_label}{}",
            if scale == Scale::Log {
                " (log scale)"
            } else {
                ""
            }
        )),
        bottom = HEIGHT - BOTTOM,
    );
    // One line per server, a bar for the spread at each point, and the legend.
    for (index, series) in series.iter().enumerate() {
        let path: Vec<String> = series
            .points
            .iter()
            .map(|&(n, median, _, _)| format!("{:.1},{:.1}", x_of(n), y_of(median)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            path.join(" "),
            series.color
        );
        for &(n, median, low, high) in &series.points {
            let x = x_of(n);
            let _ = writeln!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{color}\"/>\n\
                 <circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"/>",
                y_of(low),
                y_of(high),
                y_of(median),
                color = series.color
            );
        }
        let legend_x = LEFT + 150.0 * index as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{legend_x:.1}\" y1=\"42\" x2=\"{:.1}\" y2=\"42\" stroke=\"{}\" \
             stroke-width=\"3\"/>\n<text x=\"{:.1}\" y=\"46\">{}</text>",
            legend_x + 20.0,
            series.color,
            legend_x + 26.0,
            escape(series.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Ticks from zero to at least `max`, a round step apart (1, 2 or 5 times a power of
/// ten), and the axis's ends.
fn linear_ticks(max: f64) -> (Vec<f64>, f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let rough = max / 5.0;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * power);
    let top = (max / step).ceil() * step;
    let ticks = (0..=(top / step).round() as usize)
        .map(|i| i as f64 * step)
        .collect();
    (ticks, 0.0, top)
}

/// Ticks at 1, 2 and 5 times each power of ten from below `min` to above `max`.
fn log_ticks(min: f64, max: f64) -> (Vec<f64>, f64, f64) {
    let min = if min > 0.0 {
        min
    } else {
        max.max(1e-3) / 100.0
    };
    let low = 10f64.powf(min.log10().floor());
    let high = 10f64.powf(max.max(min).log10().ceil()).max(low * 10.0);
    let mut ticks = Vec::new();
    let mut decade = low;
    while decade < high * 1.001 {
        for m in [1.0, 2.0, 5.0] {
            if decade * m <= high * 1.001 {
                ticks.push(decade * m);
            }
        }
        decade *= 10.0;
    }
    (ticks, low, high)
}

/// A tick label: `2M` for 2,000,000, `19.5k` for 19,500, `0.2` for 0.2.
fn number(value: f64) -> String {
    if value >= 1e6 {
        format!("{}M", (value / 1e5).round() / 10.0)
    } else if value >= 1000.0 {
        let thousands = value / 1000.0;
        if thousands.fract().abs() < 1e-9 {
            format!("{thousands:.0}k")
        } else {
            format!("{thousands:.1}k")
        }
    } else if value >= 1.0 || value == 0.0 {
        format!("{}", (value * 100.0).round() / 100.0)
    } else {
        format!("{value:.2}")
    }
}

/// The start of an SVG document of `width` × `height` on white, with `title` at
/// `title_x`; the caller adds the elements and `</svg>`.
pub fn open_svg(width: f64, height: f64, title_x: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{title_x}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        escape(title)
    );
    svg
}

/// `text` as SVG character data.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
