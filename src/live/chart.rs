//! The live-show report chart: viewers and orders per simulated minute, with the trainee's
//! actions marked on the time axis, as an inline SVG drawn with `plotters`.
//!
//! It follows the approach of the course funnel chart (`analytics::funnel_chart`):
//!
//! * **Naive text, no font files.** Without the `ttf` feature plotters writes plain
//!   `<text font-family="sans-serif">` elements and the browser renders the glyphs
//!   (Chinese included). Plotters' own text-extent estimate is not relied upon: label
//!   areas have fixed sizes, and where this module needs a width (legend, marker label
//!   backgrounds) it estimates it from display columns (see [`columns`]).
//! * **Escaping is done by plotters** for everything it writes, so labels are *not*
//!   escaped before they reach it; [`clean_label`] only removes control characters (which
//!   XML 1.0 forbids and plotters passes through). The few texts this module writes itself
//!   (`<title>`, `<desc>`, `aria-label`) go through [`escape_xml`].
//! * **The root element is post-processed** to `width="100%"` with a `viewBox` (so the
//!   640-unit-wide chart scales down to a 360 px phone), `role="img"`, `aria-label`, and
//!   `<title>`/`<desc>` children; the `<desc>` is the text alternative listing the data.
//!   Font sizes are large for the `viewBox` (15–20 units) so that they stay legible at
//!   that scale (about 0.56). No `style` attributes are written: the CSP forbids them.
//! * **Empty ranges are avoided.** Plotters panics on an empty coordinate range, so the
//!   time axis always spans at least one minute and both value axes at least `0..1`.
//! * **Many markers stay cheap.** Every marker gets a line, but lines of the same kind that
//!   land on the same pixel column are drawn once, and at most [`MAX_MARKER_LABELS`]
//!   labels are drawn, spaced so that they do not overlap.
//!
//! The texts in [`ShowChartLabels`] are already translated. The chart has no translated
//! names for the marker kinds, so the legend names a kind after the first marker of that
//! kind (the part of its label before a `:`/`：`, e.g. "Pinned" for "Pinned: Linen
//! shirt"). The `<desc>` is built from the translated labels, numbers and the
//! language-neutral "max" and "Σ".

use std::collections::HashSet;
use std::fmt::Write as _;

use plotters::prelude::*;

use crate::svg::{accessible_root, clean_label, columns, truncate};
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Texts, already translated.
#[derive(Debug, Clone, Copy)]
pub struct ShowChartLabels<'a> {
    /// The chart title, also its accessible name.
    pub title: &'a str,
    /// The time axis description, e.g. "Minutes".
    pub minutes_axis: &'a str,
    /// The viewers series and left axis, e.g. "Viewers".
    pub viewers: &'a str,
    /// The orders series and right axis, e.g. "Orders".
    pub orders: &'a str,
}

/// A trainee action to mark on the time axis, e.g. "Pinned: Linen shirt", "Flash deal ¥39",
/// "Answered".
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Minutes since the start of the show; non-finite values are skipped, others are
    /// clamped to the time axis.
    pub minute: f64,
    pub label: String,
    pub kind: MarkerKind,
}

/// What kind of action a [`Marker`] is; each kind has its own colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkerKind {
    /// A product was pinned.
    Pin,
    /// A deal (discount, flash sale) was announced.
    Deal,
    /// A viewer question was answered.
    Answer,
    /// The show ended.
    End,
}

impl MarkerKind {
    const ALL: [MarkerKind; 4] = [
        MarkerKind::Pin,
        MarkerKind::Deal,
        MarkerKind::Answer,
        MarkerKind::End,
    ];

    fn color(self) -> RGBColor {
        match self {
            MarkerKind::Pin => PIN,
            MarkerKind::Deal => DEAL,
            MarkerKind::Answer => ANSWER,
            MarkerKind::End => END,
        }
    }
}

/// Width of the `viewBox`; the SVG itself is `width="100%"`.
const WIDTH: u32 = 640;
const MARGIN: u32 = 8;
/// Title row (the title is drawn at the top left, 20 units high).
const TITLE_HEIGHT: u32 = 28;
/// One row of legend entries; the legend wraps when it is wider than the chart.
const LEGEND_ROW: u32 = 22;
/// Space between the legend and the top of the plot (where the top tick label sits).
const HEADER_GAP: u32 = 10;
const PLOT_HEIGHT: u32 = 210;
const X_LABEL_AREA: u32 = 46;
const Y_LABEL_AREA: u32 = 62;
const BOTTOM: u32 = 6;

/// At most this many marker labels are drawn (every marker still gets its line).
const MAX_MARKER_LABELS: usize = 12;
/// Minimum horizontal distance between two drawn marker labels, in `viewBox` units.
const MARKER_LABEL_GAP: i32 = 19;
/// Maximum widths in display columns (CJK characters count as two), ellipsis included.
const TITLE_COLUMNS: usize = 54;
const AXIS_COLUMNS: usize = 30;
const LEGEND_COLUMNS: usize = 16;
const MARKER_COLUMNS: usize = 20;
/// Marker labels in the `<desc>` are kept whole up to this width.
const DESC_COLUMNS: usize = 80;
/// The `<desc>` lists at most this many minutes and markers.
const DESC_MINUTES: usize = 360;
const DESC_MARKERS: usize = 60;
/// Viewer counts are clamped to this, keeping the axis arithmetic finite.
const MAX_VIEWERS: f64 = 1e12;

// Font sizes in `viewBox` units. Plotters writes `font-size` as the requested size / 1.24
// (see `SVGBackend::draw_text`), hence the factor.
const TITLE_PX: f64 = 20.0;
const LABEL_PX: f64 = 16.0;
const LEGEND_PX: f64 = 15.0;
const MARKER_PX: f64 = 15.0;
/// Estimated advance of one display column, as a fraction of the font size: generous for
/// the legend layout (so that entries do not overflow), small for the marker label
/// backgrounds (which need not cover every glyph).
const LEGEND_COLUMN_EM: f64 = 0.62;
const MARKER_COLUMN_EM: f64 = 0.5;

// Colours with a contrast ratio of at least 4.5:1 on white.
const INK: RGBColor = RGBColor(0x1F, 0x29, 0x37);
const AXIS: RGBColor = RGBColor(0x6B, 0x72, 0x80);
const GRID: RGBColor = RGBColor(0xE5, 0xE7, 0xEB);
const VIEWERS: RGBColor = RGBColor(0x25, 0x63, 0xEB);
const ORDERS: RGBColor = RGBColor(0xB4, 0x53, 0x09);
const PIN: RGBColor = RGBColor(0x7C, 0x3A, 0xED);
const DEAL: RGBColor = RGBColor(0xBE, 0x12, 0x3C);
const ANSWER: RGBColor = RGBColor(0x15, 0x80, 0x3D);
const END: RGBColor = RGBColor(0x11, 0x18, 0x27);

/// The chart's inputs, cleaned: equal lengths, finite non-negative values, markers with
/// finite minutes on the axis, sorted by minute.
struct ShowData {
    viewers: Vec<f64>,
    orders: Vec<u32>,
    /// (minute, display label, kind), sorted by minute.
    markers: Vec<(f64, String, MarkerKind)>,
    /// End of the time axis: the number of minutes, at least 1.
    minutes: f64,
}

impl ShowData {
    fn new(viewers: &[f64], orders: &[u32], markers: &[Marker]) -> Self {
        let n = viewers.len().max(orders.len());
        let viewers: Vec<f64> = (0..n)
            .map(|i| match viewers.get(i) {
                Some(&v) if v.is_finite() && v > 0.0 => v.min(MAX_VIEWERS),
                _ => 0.0,
            })
            .collect();
        let orders: Vec<u32> = (0..n)
            .map(|i| orders.get(i).copied().unwrap_or(0))
            .collect();
        let minutes = n.max(1) as f64;
        let mut markers: Vec<(f64, String, MarkerKind)> = markers
            .iter()
            .filter(|m| m.minute.is_finite())
            .map(|m| (m.minute.clamp(0.0, minutes), clean_label(&m.label), m.kind))
            .collect();
        markers.sort_by(|a, b| a.0.total_cmp(&b.0));
        ShowData {
            viewers,
            orders,
            markers,
            minutes,
        }
    }

    /// The peak viewer count and the minute it was reached (the first one on ties).
    fn peak(&self) -> (f64, usize) {
        self.viewers.iter().enumerate().fold(
            (0.0, 0),
            |(best, at), (i, &v)| {
                if v > best { (v, i) } else { (best, at) }
            },
        )
    }

    fn total_orders(&self) -> u64 {
        self.orders.iter().map(|&o| u64::from(o)).sum()
    }

    fn max_orders(&self) -> u32 {
        self.orders.iter().copied().max().unwrap_or(0)
    }
}

/// One legend entry: a colour swatch (filled square or line) and its text.
struct LegendEntry {
    text: String,
    color: RGBColor,
    filled: bool,
}

impl LegendEntry {
    /// Estimated width including the swatch and the gap to the next entry.
    fn width(&self) -> i32 {
        14 + 6 + text_width(&self.text, LEGEND_PX * LEGEND_COLUMN_EM) + 16
    }
}

/// Draws the show chart: viewers as a filled area on the left axis, orders per minute as
/// bars on the right axis, a vertical line per marker in its kind's colour with (some of)
/// their labels, and a legend. Returns a standalone `<svg>` element string suitable for
/// inlining in HTML.
///
/// `viewers[i]` is the average number of viewers in simulated minute `i`, `orders[i]` the
/// orders placed in that minute. The slices may differ in length (the longer one sets the
/// length of the show; missing values count as 0); non-finite and negative viewer counts
/// count as 0.
pub fn show_svg(
    viewers: &[f64],
    orders: &[u32],
    markers: &[Marker],
    labels: &ShowChartLabels<'_>,
) -> String {
    let data = ShowData::new(viewers, orders, markers);
    let title = truncate(&clean_label(labels.title), TITLE_COLUMNS);
    let legend = legend_entries(&data, labels);
    let legend_rows = layout_legend(&legend).last().map_or(1, |&(_, row)| row + 1);
    let header = MARGIN + TITLE_HEIGHT + legend_rows * LEGEND_ROW + HEADER_GAP;
    let height = header + PLOT_HEIGHT + X_LABEL_AREA + BOTTOM;

    let mut svg = String::with_capacity(8192 + data.viewers.len() * 160);
    // Drawing into a String cannot fail for I/O reasons; plotters' errors here would be
    // programming errors (e.g. an empty range, which `ShowData` rules out). Degrade to an
    // empty chart instead of panicking in a request handler.
    if draw(
        &mut svg,
        (WIDTH, height),
        header,
        &data,
        labels,
        &title,
        &legend,
    )
    .is_err()
    {
        svg.clear();
        let _ = write!(
            svg,
            r#"<svg width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">
</svg>
"#
        );
    }
    let desc = describe(&data, labels);
    accessible_root(svg, (WIDTH, height), &title, &desc)
}

fn draw(
    buf: &mut String,
    size: (u32, u32),
    header_height: u32,
    data: &ShowData,
    labels: &ShowChartLabels<'_>,
    title: &str,
    legend: &[LegendEntry],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(buf, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (header, body) = root.split_vertically(header_height);

    // Title and legend.
    let m = MARGIN as i32;
    header.draw(&Text::new(
        title.to_owned(),
        (m, m),
        ("sans-serif", TITLE_PX * 1.24)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    let legend_font = ("sans-serif", LEGEND_PX * 1.24)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (entry, ((x, row), _)) in legend.iter().zip(layout_legend(legend).iter().zip(0..)) {
        let x = m + x;
        let y = (MARGIN + TITLE_HEIGHT + row * LEGEND_ROW) as i32 + LEGEND_ROW as i32 / 2;
        if entry.filled {
            header.draw(&Rectangle::new(
                [(x, y - 6), (x + 14, y + 6)],
                entry.color.filled(),
            ))?;
        } else {
            header.draw(&Rectangle::new(
                [(x + 6, y - 8), (x + 9, y + 8)],
                entry.color.filled(),
            ))?;
        }
        header.draw(&Text::new(
            entry.text.clone(),
            (x + 20, y),
            legend_font.clone(),
        ))?;
    }

    // Axes. Plotters only offers label formatting for custom key points on integer axes,
    // so the axes are integers in fixed units: seconds, hundredths of a viewer, orders.
    let x_end = secs(data.minutes);
    let x_ticks: Vec<i64> = minute_ticks(data.minutes).into_iter().map(secs).collect();
    let (v_top, v_ticks) = value_ticks(data.peak().0);
    let (v_top, v_ticks) = (
        hundredths(v_top),
        v_ticks.into_iter().map(hundredths).collect::<Vec<_>>(),
    );
    // Headroom above the highest bar keeps the top of the plot for the marker labels.
    let (o_top, o_ticks) = value_ticks(f64::from(data.max_orders()) * 1.5);
    let (o_top, o_ticks) = (
        o_top as i64,
        o_ticks.into_iter().map(|t| t as i64).collect::<Vec<_>>(),
    );
    let mut chart = ChartBuilder::on(&body)
        .margin_left(MARGIN)
        .margin_right(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .right_y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(
            (0..x_end).with_key_points(x_ticks.clone()),
            (0..v_top).with_key_points(v_ticks),
        )?
        .set_secondary_coord(
            (0..x_end).with_key_points(x_ticks),
            (0..o_top).with_key_points(o_ticks),
        );

    let label_font = ("sans-serif", LABEL_PX * 1.24).into_font().color(&INK);
    let format_minutes = |v: &i64| compact_number(*v as f64 / 60.0);
    let format_viewers = |v: &i64| compact_number(*v as f64 / 100.0);
    let format_orders = |v: &i64| compact_number(*v as f64);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS)
        .label_style(label_font.clone())
        .axis_desc_style(label_font.clone())
        .x_label_formatter(&format_minutes)
        .y_label_formatter(&format_viewers)
        .x_desc(truncate(&clean_label(labels.minutes_axis), AXIS_COLUMNS))
        .y_desc(truncate(&clean_label(labels.viewers), AXIS_COLUMNS))
        .draw()?;
    chart
        .configure_secondary_axes()
        .axis_style(AXIS)
        .label_style(label_font.clone())
        .axis_desc_style(label_font)
        .y_label_formatter(&format_orders)
        .y_desc(truncate(&clean_label(labels.orders), AXIS_COLUMNS))
        .draw()?;

    // Viewers: minute i is drawn at its middle, flat to both edges of the axis.
    let n = data.viewers.len();
    let mut points = Vec::with_capacity(n + 2);
    if let (Some(&first), Some(&last)) = (data.viewers.first(), data.viewers.last()) {
        points.push((0, hundredths(first)));
        points.extend(
            data.viewers
                .iter()
                .enumerate()
                .map(|(i, &v)| (secs(i as f64 + 0.5), hundredths(v))),
        );
        points.push((secs(n as f64), hundredths(last)));
    }
    chart.draw_series(AreaSeries::new(
        points.iter().copied(),
        0,
        VIEWERS.mix(0.15),
    ))?;

    // Orders: one bar per minute with orders; narrow minutes get full-width bars so that
    // they stay at least a pixel or two wide.
    let (plot_x, _) = chart.plotting_area().get_pixel_range();
    let plot_width = (plot_x.end - plot_x.start).max(1);
    let gap = if f64::from(plot_width) / data.minutes >= 6.0 {
        12
    } else {
        0
    };
    chart.draw_secondary_series(data.orders.iter().enumerate().filter(|(_, o)| **o > 0).map(
        |(i, &o)| {
            let x = secs(i as f64);
            Rectangle::new(
                [(x + gap, 0), (x + 60 - gap, i64::from(o))],
                ORDERS.mix(0.8).filled(),
            )
        },
    ))?;

    chart.draw_series(std::iter::once(PathElement::new(
        points,
        VIEWERS.stroke_width(2),
    )))?;

    // Marker lines: every marker, but one line per pixel column and kind.
    let positions: Vec<i32> = data
        .markers
        .iter()
        .map(|(minute, _, _)| chart.backend_coord(&(secs(*minute), 0)).0)
        .collect();
    let mut seen = HashSet::new();
    let lines: Vec<(i64, MarkerKind)> = data
        .markers
        .iter()
        .zip(&positions)
        .filter(|((_, _, kind), px)| seen.insert((**px, *kind)))
        .map(|((minute, _, kind), _)| (secs(*minute), *kind))
        .collect();
    // Dense markers get thin translucent lines, so that the data stays visible.
    let (line_width, line_alpha) = if lines.len() as i32 > plot_width / 8 {
        (1, 0.5)
    } else {
        (2, 1.0)
    };
    chart.draw_series(lines.iter().map(|&(x, kind)| {
        PathElement::new(
            vec![(x, 0), (x, v_top)],
            kind.color().mix(line_alpha).stroke_width(line_width),
        )
    }))?;

    // Marker labels, rotated to run up along their line from its top, on a translucent
    // white background; to the left of the line near the right edge.
    let mut shown = pick_labels(&positions, MARKER_LABEL_GAP);
    if shown.len() > MAX_MARKER_LABELS {
        let spread = plot_width / MAX_MARKER_LABELS as i32;
        shown = pick_labels(&positions, MARKER_LABEL_GAP.max(spread));
        shown.truncate(MAX_MARKER_LABELS);
    }
    let thickness = (MARKER_PX * 1.2).round() as i32;
    for i in shown {
        let (minute, label, kind) = &data.markers[i];
        let text = truncate(label, MARKER_COLUMNS);
        if text.is_empty() {
            continue;
        }
        let color = kind.color();
        let length = text_width(&text, MARKER_PX * MARKER_COLUMN_EM);
        let right_side = positions[i] + 4 + thickness <= plot_x.end;
        let (x0, v_pos) = if right_side {
            (3, VPos::Top)
        } else {
            (-3, VPos::Bottom)
        };
        let background = if right_side {
            [(2, 2), (3 + thickness, 6 + length)]
        } else {
            [(-3 - thickness, 2), (-2, 6 + length)]
        };
        let font = ("sans-serif", MARKER_PX * 1.24)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&color)
            .pos(Pos::new(HPos::Right, v_pos));
        chart.draw_series(std::iter::once(
            EmptyElement::at((secs(*minute), v_top))
                + Rectangle::new(background, WHITE.mix(0.8).filled())
                + Text::new(text, (x0, 4), font),
        ))?;
    }

    root.present()?;
    Ok(())
}

/// The legend: viewers, orders, and each marker kind present, named after its first
/// marker.
fn legend_entries(data: &ShowData, labels: &ShowChartLabels<'_>) -> Vec<LegendEntry> {
    let mut entries = vec![
        LegendEntry {
            text: truncate(&clean_label(labels.viewers), LEGEND_COLUMNS),
            color: VIEWERS,
            filled: true,
        },
        LegendEntry {
            text: truncate(&clean_label(labels.orders), LEGEND_COLUMNS),
            color: ORDERS,
            filled: true,
        },
    ];
    for kind in MarkerKind::ALL {
        if let Some((_, label, _)) = data.markers.iter().find(|(_, _, k)| *k == kind) {
            entries.push(LegendEntry {
                text: truncate(kind_name(label), LEGEND_COLUMNS),
                color: kind.color(),
                filled: false,
            });
        }
    }
    entries
}

/// The part of a marker label before its first colon, e.g. "Pinned" for "Pinned: Linen
/// shirt"; the whole label when it has none.
fn kind_name(label: &str) -> &str {
    let name = label.split([':', '：']).next().unwrap_or(label).trim();
    if name.is_empty() { label } else { name }
}

/// Minutes to the time axis unit (seconds).
fn secs(minutes: f64) -> i64 {
    (minutes * 60.0).round() as i64
}

/// Viewers to the viewer axis unit (hundredths).
fn hundredths(viewers: f64) -> i64 {
    (viewers * 100.0).round() as i64
}

/// Positions of the legend entries: (x offset from the left margin, row), wrapping to a
/// new row when an entry would overflow the chart width.
fn layout_legend(entries: &[LegendEntry]) -> Vec<(i32, u32)> {
    let available = (WIDTH - 2 * MARGIN) as i32;
    let mut x = 0;
    let mut row = 0;
    entries
        .iter()
        .map(|entry| {
            let w = entry.width();
            if x > 0 && x + w - 16 > available {
                x = 0;
                row += 1;
            }
            let at = (x, row);
            x += w;
            at
        })
        .collect()
}

/// Indices of the markers whose labels are drawn: greedily from the left, each at least
/// `gap` pixels right of the previous one. `positions` is sorted.
fn pick_labels(positions: &[i32], gap: i32) -> Vec<usize> {
    let mut last: Option<i32> = None;
    let mut picked = Vec::new();
    for (i, &x) in positions.iter().enumerate() {
        if last.is_none_or(|l| x - l >= gap) {
            picked.push(i);
            last = Some(x);
        }
    }
    picked
}

/// Tick positions on the time axis: multiples of a round number of minutes, at most 9.
fn minute_ticks(end: f64) -> Vec<f64> {
    const STEPS: [f64; 12] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 180.0, 240.0, 360.0,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| end / s <= 8.0)
        .unwrap_or_else(|| nice_step(end, 8));
    (0..)
        .map(|k| f64::from(k) * step)
        .take_while(|&t| t <= end + 1e-9)
        .collect()
}

/// The top of a value axis showing `max` and its ticks: up to 6 round numbers from 0.
fn value_ticks(max: f64) -> (f64, Vec<f64>) {
    let max = if max.is_finite() { max.max(1.0) } else { 1.0 };
    let step = nice_step(max, 5);
    let top = ((max / step).ceil() * step).max(step);
    let ticks = (0..)
        .map(|k| f64::from(k) * step)
        .take_while(|&t| t <= top * (1.0 + 1e-9))
        .collect();
    (top, ticks)
}

/// The smallest 1, 2 or 5 × 10ⁿ step (at least 1) that covers `max` in `ticks` steps.
fn nice_step(max: f64, ticks: u32) -> f64 {
    let raw = max / f64::from(ticks);
    if raw.is_nan() || raw <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|f| f * magnitude)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Axis numbers: whole numbers, with "k"/"M" suffixes from 10 000 / 10 000 000.
fn compact_number(v: f64) -> String {
    let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
    let (scaled, suffix) = if v >= 1e7 {
        (v / 1e6, "M")
    } else if v >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if scaled >= 100.0 || scaled.fract() < 0.05 || suffix.is_empty() {
        format!("{scaled:.0}{suffix}")
    } else {
        format!("{scaled:.1}{suffix}")
    }
}

/// The text alternative: peak viewers and total orders, the per-minute values and the
/// markers, using only the translated labels, numbers, "max" and "Σ".
fn describe(data: &ShowData, labels: &ShowChartLabels<'_>) -> String {
    let viewers = clean_label(labels.viewers);
    let orders = clean_label(labels.orders);
    let minutes = clean_label(labels.minutes_axis);
    let (peak, peak_minute) = data.peak();
    let mut desc = String::with_capacity(256 + data.viewers.len() * 12);
    let _ = write!(
        desc,
        "{viewers} max {peak:.0} ({minutes} {peak_minute}); {orders} Σ {total}. {minutes} 0–{n}, {viewers} / {orders}:",
        total = data.total_orders(),
        n = data.viewers.len(),
    );
    for (i, (v, o)) in data
        .viewers
        .iter()
        .zip(&data.orders)
        .enumerate()
        .take(DESC_MINUTES)
    {
        let sep = if i == 0 { " " } else { ", " };
        let _ = write!(desc, "{sep}{i}: {v:.0} / {o}");
    }
    if data.viewers.len() > DESC_MINUTES {
        desc.push_str(", …");
    }
    desc.push('.');
    for (i, (minute, label, _)) in data.markers.iter().take(DESC_MARKERS).enumerate() {
        let sep = if i == 0 { " " } else { "; " };
        let label = truncate(label, DESC_COLUMNS);
        let _ = write!(desc, "{sep}{minutes} {}: {label}", compact_minute(*minute));
    }
    if data.markers.len() > DESC_MARKERS {
        let _ = write!(desc, "; … (+{})", data.markers.len() - DESC_MARKERS);
    }
    desc
}

/// A marker minute for the description: whole minutes without decimals, else one.
fn compact_minute(m: f64) -> String {
    if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

/// Estimated rendered width of `s`, in `viewBox` units, given the advance of one column.
fn text_width(s: &str, column: f64) -> i32 {
    let cols: usize = s.chars().map(columns).sum();
    (cols as f64 * column).ceil() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: ShowChartLabels<'static> = ShowChartLabels {
        title: "Live show",
        minutes_axis: "Minutes",
        viewers: "Viewers",
        orders: "Orders",
    };

    fn marker(minute: f64, label: &str, kind: MarkerKind) -> Marker {
        Marker {
            minute,
            label: label.to_owned(),
            kind,
        }
    }

    /// A 30-minute show with 10 markers.
    fn sample() -> (Vec<f64>, Vec<u32>, Vec<Marker>) {
        let viewers: Vec<f64> = (0..30)
            .map(|i| 40.0 + 300.0 * (f64::from(i) / 6.0).sin().abs() + f64::from(i) * 3.5)
            .collect();
        let orders: Vec<u32> = (0..30).map(|i| (i * 7 % 5) as u32).collect();
        let kinds = [
            MarkerKind::Pin,
            MarkerKind::Deal,
            MarkerKind::Answer,
            MarkerKind::Pin,
        ];
        let mut markers: Vec<Marker> = (0..9)
            .map(|i| {
                let kind = kinds[i % kinds.len()];
                let label = match kind {
                    MarkerKind::Pin => format!("Pinned: Linen {i}"),
                    MarkerKind::Deal => "Flash deal ¥39".to_owned(),
                    _ => "Answered".to_owned(),
                };
                marker(1.0 + i as f64 * 3.2, &label, kind)
            })
            .collect();
        markers.push(marker(30.0, "Show ended", MarkerKind::End));
        (viewers, orders, markers)
    }

    fn bars(svg: &str) -> usize {
        svg.matches(r##"opacity="0.8" fill="#B45309""##).count()
    }

    /// Lines (and only lines: legend swatches are filled) in `color`.
    fn lines_of(svg: &str, color: RGBColor) -> usize {
        let RGBColor(r, g, b) = color;
        svg.matches(&format!(r##"stroke="#{r:02X}{g:02X}{b:02X}""##))
            .count()
    }

    /// The rotated texts: marker labels and the two y axis descriptions.
    fn rotated_texts(svg: &str) -> Vec<&str> {
        svg.split("<text ")
            .skip(1)
            .filter(|t| t.contains("transform=\"rotate("))
            .map(|t| {
                let body = &t[t.find(">\n").unwrap() + 2..];
                &body[..body.find("\n</text>").unwrap()]
            })
            .collect()
    }

    fn has_marker_label(svg: &str, label: &str) -> bool {
        rotated_texts(svg).contains(&label)
    }

    fn marker_labels(svg: &str) -> usize {
        rotated_texts(svg).len() - 2
    }

    /// Writes a sample to `$SHOW_CHART_DIR/{name}.svg`, for looking at.
    fn dump(name: &str, svg: &str) {
        if let Ok(dir) = std::env::var("SHOW_CHART_DIR") {
            std::fs::write(format!("{dir}/{name}.svg"), svg).unwrap();
        }
    }

    fn root_tag(svg: &str) -> &str {
        &svg[..svg.find('>').unwrap()]
    }

    fn desc(svg: &str) -> &str {
        let start = svg.find("<desc>").expect("no <desc>") + "<desc>".len();
        &svg[start..svg.find("</desc>").expect("no </desc>")]
    }

    /// Minimal well-formedness check: tags balance, every `<svg` is closed, and nothing
    /// raw slips through.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), svg.matches("</svg>").count());
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("unterminated tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "raw '<' inside tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap());
            }
            let text = &rest[end + 1..];
            let text = &text[..text.find('<').unwrap_or(text.len())];
            assert!(!text.contains('>'), "raw '>' in text: {text}");
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&lt;", "&gt;", "&amp;", "&quot;", "&apos;"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "raw '&' in text: {text}"
                );
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert!(!svg.chars().any(|c| c.is_control() && c != '\n'));
        assert!(!svg.contains("style="), "inline style: {svg}");
        for bad in ["NaN", "inf"] {
            assert!(!svg.contains(&format!("=\"{bad}")), "{bad} in {svg}");
            assert!(!svg.contains(&format!("=\"-{bad}")), "{bad} in {svg}");
        }
    }

    #[test]
    fn draws_a_30_minute_show() {
        let (viewers, orders, markers) = sample();
        let svg = show_svg(&viewers, &orders, &markers, &LABELS);
        assert_well_formed(&svg);
        dump("show30", &svg);
        // One bar per minute with orders.
        assert_eq!(bars(&svg), orders.iter().filter(|&&o| o > 0).count());
        // The viewers area (translucent) and line.
        assert!(svg.contains(r##"opacity="0.15" fill="#2563EB""##), "{svg}");
        assert_eq!(lines_of(&svg, VIEWERS), 1);
        // One line per marker, in the kind's colour (+1 for each legend line swatch is not
        // a stroke, so counts are exact).
        assert_eq!(lines_of(&svg, PIN), 5);
        assert_eq!(lines_of(&svg, DEAL), 2);
        assert_eq!(lines_of(&svg, ANSWER), 2);
        assert_eq!(lines_of(&svg, END), 1);
        // Marker labels, rotated, as real text.
        for label in [
            "Pinned: Linen 0",
            "Flash deal ¥39",
            "Answered",
            "Show ended",
        ] {
            assert!(has_marker_label(&svg, label), "{label}: {svg}");
        }
        assert_eq!(marker_labels(&svg), 10);
        // Axis descriptions, ticks and the legend (kinds named before the colon).
        for text in [
            "Minutes", "Viewers", "Orders", "Pinned", "Answered", "30", "0",
        ] {
            assert!(svg.contains(&format!("\n{text}\n</text>")), "{text}: {svg}");
        }
        assert!(svg.len() < 20_000, "{} bytes", svg.len());
    }

    #[test]
    fn root_is_responsive_and_accessible() {
        let (viewers, orders, markers) = sample();
        let svg = show_svg(
            &viewers,
            &orders,
            &markers,
            &ShowChartLabels {
                title: "Show \"Q&A\" <b>",
                ..LABELS
            },
        );
        assert_well_formed(&svg);
        let root = root_tag(&svg);
        assert!(root.contains(r#"viewBox="0 0 640 "#), "{root}");
        assert!(root.contains(r#"width="100%""#), "{root}");
        assert!(!root.contains("height="), "{root}");
        assert!(root.contains(r#"role="img""#), "{root}");
        assert!(
            root.contains(r#"aria-label="Show &quot;Q&amp;A&quot; &lt;b&gt;""#),
            "{root}"
        );
        assert!(svg.contains("<title>Show &quot;Q&amp;A&quot; &lt;b&gt;</title>"));
        let height: u32 = root.split("viewBox=\"0 0 640 ").nth(1).unwrap()[..3]
            .parse()
            .unwrap();
        assert!((300..=360).contains(&height), "{height}");
    }

    #[test]
    fn desc_lists_peak_total_and_data() {
        let svg = show_svg(
            &[10.0, 52.4, 30.0],
            &[0, 3, 4],
            &[marker(1.5, "Pinned: <Linen> shirt", MarkerKind::Pin)],
            &LABELS,
        );
        assert_well_formed(&svg);
        let desc = desc(&svg);
        assert!(
            desc.starts_with("Viewers max 52 (Minutes 1); Orders Σ 7. "),
            "{desc}"
        );
        assert!(desc.contains("0: 10 / 0, 1: 52 / 3, 2: 30 / 4."), "{desc}");
        assert!(
            desc.contains("Minutes 1.5: Pinned: &lt;Linen&gt; shirt"),
            "{desc}"
        );
    }

    #[test]
    fn escapes_dangerous_labels_exactly_once() {
        let svg = show_svg(
            &[5.0],
            &[1],
            &[marker(
                0.0,
                "<script>alert('x')</script> & \"more\"",
                MarkerKind::Deal,
            )],
            &ShowChartLabels {
                title: "<T&itle>",
                minutes_axis: "<min>",
                viewers: "\"V\" & 'v'",
                orders: "O<rders>",
            },
        );
        assert_well_formed(&svg);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("&amp;"));
        assert!(svg.contains("\n&lt;min&gt;\n</text>"), "{svg}");
        assert!(svg.contains("\nO&lt;rders&gt;\n</text>"), "{svg}");
        assert!(!svg.contains("&amp;lt;"), "double escaped: {svg}");
        assert!(!svg.contains("&amp;amp;"), "double escaped: {svg}");
        assert!(svg.contains("<title>&lt;T&amp;itle&gt;</title>"));
    }

    #[test]
    fn control_characters_are_removed() {
        let svg = show_svg(
            &[1.0, 2.0],
            &[0, 1],
            &[marker(1.0, "bad\u{0}\u{1b}label\nnext", MarkerKind::Answer)],
            &ShowChartLabels {
                title: "ti\u{7}tle",
                ..LABELS
            },
        );
        assert_well_formed(&svg);
        assert!(has_marker_label(&svg, "bad label next"), "{svg}");
        assert!(svg.contains("<title>ti tle</title>"), "{svg}");
    }

    #[test]
    fn empty_and_degenerate_inputs_give_valid_svg() {
        let empty = show_svg(&[], &[], &[], &LABELS);
        dump("empty", &empty);
        assert_well_formed(&empty);
        assert_eq!(bars(&empty), 0);
        assert!(empty.contains("\n0\n</text>"), "{empty}");
        assert!(empty.contains("<title>Live show</title>"));
        assert!(desc(&empty).starts_with("Viewers max 0 (Minutes 0); Orders Σ 0."));

        let blank = show_svg(
            &[],
            &[],
            &[],
            &ShowChartLabels {
                title: "",
                minutes_axis: "",
                viewers: "",
                orders: "",
            },
        );
        assert_well_formed(&blank);

        let bad = show_svg(
            &[
                f64::NAN,
                -5.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                0.0,
            ],
            &[u32::MAX, 0],
            &[
                marker(f64::NAN, "nan", MarkerKind::Pin),
                marker(-3.0, "before", MarkerKind::Deal),
                marker(1e300, "after", MarkerKind::End),
                marker(f64::INFINITY, "inf", MarkerKind::Answer),
            ],
            &LABELS,
        );
        assert_well_formed(&bad);
        assert_eq!(bars(&bad), 1);
        assert!(!bad.contains("\nnan\n</text>"));
        assert!(has_marker_label(&bad, "after"), "{bad}");
        assert!(has_marker_label(&bad, "before"), "{bad}");
        assert!(
            desc(&bad).contains("Orders Σ 4294967295."),
            "{}",
            desc(&bad)
        );

        let zeros = show_svg(&[0.0; 5], &[0; 5], &[], &LABELS);
        assert_well_formed(&zeros);
        assert_eq!(bars(&zeros), 0);

        let one = show_svg(
            &[7.0],
            &[],
            &[marker(0.5, "Only", MarkerKind::Pin)],
            &LABELS,
        );
        assert_well_formed(&one);
        assert!(has_marker_label(&one, "Only"));
    }

    #[test]
    fn different_lengths_use_the_longer() {
        let svg = show_svg(&[3.0; 4], &[1; 10], &[], &LABELS);
        assert_well_formed(&svg);
        assert_eq!(bars(&svg), 10);
        assert!(desc(&svg).contains("Minutes 0–10,"), "{}", desc(&svg));
        assert!(desc(&svg).contains("9: 0 / 1."), "{}", desc(&svg));

        let svg = show_svg(&[3.0; 12], &[2; 2], &[], &LABELS);
        assert_eq!(bars(&svg), 2);
        assert!(desc(&svg).contains("11: 3 / 0."), "{}", desc(&svg));
    }

    #[test]
    fn long_show_with_many_markers_stays_bounded() {
        let viewers: Vec<f64> = (0..240).map(|i| f64::from(i * 37 % 1000) * 13.7).collect();
        let orders: Vec<u32> = (0..240).map(|i| i % 9).collect();
        let markers: Vec<Marker> = (0..500)
            .map(|i| {
                let kind = MarkerKind::ALL[i % 4];
                marker(
                    i as f64 * 0.48,
                    &format!("Action {i} with a longish label"),
                    kind,
                )
            })
            .collect();
        let svg = show_svg(&viewers, &orders, &markers, &LABELS);
        dump("show240", &svg);
        assert_well_formed(&svg);
        assert_eq!(bars(&svg), orders.iter().filter(|&&o| o > 0).count());
        let labels = marker_labels(&svg);
        assert!((6..=MAX_MARKER_LABELS).contains(&labels), "{labels} labels");
        assert!(has_marker_label(&svg, "Action 0 with a lon…"), "{svg}");
        // Every marker has a line (deduplicated per pixel column and kind, so at least
        // one per kind per few pixels).
        let marker_lines: usize = MarkerKind::ALL
            .iter()
            .map(|k| lines_of(&svg, k.color()))
            .sum();
        assert!(marker_lines >= 400, "{marker_lines}");
        assert!(marker_lines <= 500, "{marker_lines}");
        assert!(desc(&svg).contains("(+440)"), "{}", desc(&svg));
        assert!(svg.len() < 150_000, "{} bytes", svg.len());
    }

    #[test]
    fn close_markers_keep_their_lines_but_drop_labels() {
        let markers: Vec<Marker> = (0..5)
            .map(|i| marker(10.0 + f64::from(i) * 0.1, &format!("m{i}"), MarkerKind::Pin))
            .collect();
        let svg = show_svg(&[1.0; 60], &[], &markers, &LABELS);
        assert_well_formed(&svg);
        assert!(has_marker_label(&svg, "m0"));
        assert_eq!(marker_labels(&svg), 1);
        // 0.1 minutes is about a pixel here: some lines merge, but at least two remain.
        assert!(lines_of(&svg, PIN) >= 2);
    }

    #[test]
    fn chinese_text_is_intact_and_long_labels_truncated() {
        let svg = show_svg(
            &[10.0, 20.0],
            &[1, 2],
            &[
                marker(0.5, "置顶：亚麻衬衫夏季新款男女同款宽松", MarkerKind::Pin),
                marker(1.5, "回答了", MarkerKind::Answer),
            ],
            &ShowChartLabels {
                title: "直播复盘：亚麻衬衫专场",
                minutes_axis: "分钟",
                viewers: "观众",
                orders: "订单",
            },
        );
        assert_well_formed(&svg);
        dump("chinese", &svg);
        assert!(svg.contains("<title>直播复盘：亚麻衬衫专场</title>"));
        assert!(svg.contains("\n分钟\n</text>"));
        // 20 columns: 9 wide characters plus the ellipsis.
        assert!(has_marker_label(&svg, "置顶：亚麻衬衫夏季…"), "{svg}");
        assert!(has_marker_label(&svg, "回答了"));
        // Legend: the kind is named by the part before the full-width colon.
        assert!(svg.contains("\n置顶\n</text>"), "{svg}");
        assert!(desc(&svg).contains("置顶：亚麻衬衫夏季新款男女同款宽松"));
    }

    #[test]
    fn legend_wraps_when_wide() {
        let height = |labels: &ShowChartLabels<'_>, markers: &[Marker]| {
            let svg = show_svg(&[1.0], &[1], markers, labels);
            let vb = svg.split("viewBox=\"0 0 640 ").nth(1).unwrap();
            vb[..vb.find('"').unwrap()].parse::<u32>().unwrap()
        };
        let narrow = height(&LABELS, &[]);
        let all_kinds: Vec<Marker> = MarkerKind::ALL
            .iter()
            .map(|&k| marker(0.0, "A rather long action name", k))
            .collect();
        assert_eq!(height(&LABELS, &all_kinds), narrow + LEGEND_ROW);
    }

    #[test]
    fn helpers() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("汉字汉字汉字", 7), "汉字汉…");
        assert_eq!(kind_name("Pinned: Linen shirt"), "Pinned");
        assert_eq!(kind_name(":x"), ":x");
        assert_eq!(compact_number(0.0), "0");
        assert_eq!(compact_number(2500.0), "2500");
        assert_eq!(compact_number(12_000.0), "12k");
        assert_eq!(compact_number(25_000_000.0), "25M");
        assert_eq!(value_ticks(0.0), (1.0, vec![0.0, 1.0]));
        assert_eq!(
            value_ticks(340.0),
            (400.0, vec![0.0, 100.0, 200.0, 300.0, 400.0])
        );
        assert_eq!(
            minute_ticks(30.0),
            vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
        );
        assert_eq!(minute_ticks(1.0), vec![0.0, 1.0]);
        assert_eq!(minute_ticks(240.0).len(), 9);
        assert_eq!(pick_labels(&[0, 5, 20, 30, 45], 15), vec![0, 2, 4]);
    }
}
