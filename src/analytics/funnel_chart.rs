//! The course completion funnel as an inline SVG bar chart, drawn with `plotters`.
//!
//! Notes on how plotters is used here (plotters 0.3.7, features `svg_backend` only):
//!
//! * **Text needs no font feature.** Without `ttf`/`ab_glyph`, plotters uses its "naive"
//!   font backend, which only *estimates* text extents and never loads a font file. The
//!   SVG backend overrides `draw_text` and writes a `<text font-family="sans-serif">`
//!   element, so glyphs (including Chinese) are rendered by the browser with its own
//!   fonts. Enabling `ttf` would make plotters look up system fonts at runtime through
//!   font-kit, which is slow, platform dependent and pointless for SVG output. The
//!   naive estimate counts bytes rather than characters, so it is only used where it does
//!   not matter: every label area here has a fixed size.
//! * **Escaping is done by plotters.** `SVGBackend` escapes `<`, `>`, `&`, `"` and `'` in
//!   text content and attribute values, so labels must *not* be escaped beforehand (that
//!   would double-escape). What it does not do is drop characters that XML 1.0 forbids
//!   (C0 control characters), so [`clean_label`] replaces control characters with spaces
//!   before any text reaches plotters. The tests check both.
//! * **The root element is post-processed.** Plotters writes
//!   `<svg width=".." height=".." viewBox=".." xmlns="..">`; [`funnel_svg`] swaps that
//!   opening tag for one with `width="100%"` (height follows from the `viewBox`, so the chart
//!   scales down on a 360 px phone), `role="img"`, `aria-label`, and `<title>`/`<desc>`
//!   children (the accessible name and a textual version of the data). No `style`
//!   attributes are used, as the site's CSP forbids inline styles.
//! * **Empty ranges are avoided.** Plotters panics on an empty coordinate range, so there
//!   is always at least one row and the count axis always spans at least `0..1`.

use std::fmt::Write as _;

use plotters::prelude::*;

use crate::svg::{clean_label, truncate};
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One stage of the funnel, e.g. "completed module 3".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelStep {
    pub label: String,
    pub count: u64,
}

/// Translated texts for the chart.
#[derive(Debug, Clone, Copy)]
pub struct FunnelLabels<'a> {
    pub title: &'a str,
    /// The count axis description, e.g. "Trainees".
    pub axis: &'a str,
}

/// Width of the `viewBox`; the SVG itself is `width="100%"`.
const WIDTH: u32 = 400;
/// Vertical space per step.
const ROW_HEIGHT: u32 = 40;
const MARGIN: u32 = 8;
const CAPTION_HEIGHT: u32 = 28;
const X_LABEL_AREA: u32 = 40;
const Y_LABEL_AREA: u32 = 136;
/// Maximum step label width in "columns" (CJK characters count as two), ellipsis included.
const LABEL_COLUMNS: usize = 22;
const TITLE_COLUMNS: usize = 56;
/// Step labels in the `<desc>` text alternative are kept whole up to this width.
const DESC_COLUMNS: usize = 120;

// Plotters writes `font-size` as the requested size / 1.24 (see `SVGBackend::draw_text`);
// these give font sizes of 12 px and 14 px.
const LABEL_SIZE: f64 = 12.0 * 1.24;
const TITLE_SIZE: f64 = 14.0 * 1.24;

const BAR: RGBColor = RGBColor(0x25, 0x63, 0xEB);
const INK: RGBColor = RGBColor(0x1F, 0x29, 0x37);
const AXIS: RGBColor = RGBColor(0x6B, 0x72, 0x80);

/// A horizontal bar chart: one bar per step (first step at the top), bar length = count,
/// the count written at the end of each bar. Returns a standalone `<svg>` element string
/// suitable for inlining in HTML.
pub fn funnel_svg(steps: &[FunnelStep], labels: &FunnelLabels<'_>) -> String {
    let rows = steps.len().max(1) as u32;
    let height = MARGIN * 2 + CAPTION_HEIGHT + X_LABEL_AREA + rows * ROW_HEIGHT;
    let mut svg = String::with_capacity(2048 + steps.len() * 800);
    let title = truncate(&clean_label(labels.title), TITLE_COLUMNS);
    // Drawing into a String cannot fail for I/O reasons; plotters' errors here would be
    // programming errors (e.g. an empty range, which `draw` rules out). Degrade to an
    // empty chart instead of panicking in a request handler.
    if let Err(err) = draw(&mut svg, (WIDTH, height), steps, labels, &title) {
        tracing::warn!(error = %err, "funnel chart drawing failed");
        svg.clear();
        let _ = write!(
            svg,
            r#"<svg width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">
</svg>
"#
        );
    }
    accessible_root(svg, (WIDTH, height), &title, steps)
}

fn draw(
    buf: &mut String,
    size: (u32, u32),
    steps: &[FunnelStep],
    labels: &FunnelLabels<'_>,
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let n = steps.len();
    let rows = n.max(1);
    let max = steps.iter().map(|s| s.count).max().unwrap_or(0).max(1);
    // Leave room after the longest bar for its count.
    let x_end = max.saturating_add(max / 5).saturating_add(1);
    let step_labels: Vec<String> = steps
        .iter()
        .map(|s| truncate(&clean_label(&s.label), LABEL_COLUMNS))
        .collect();
    let axis_desc = truncate(&clean_label(labels.axis), TITLE_COLUMNS);

    let root = SVGBackend::with_string(buf, size).into_drawing_area();
    root.fill(&WHITE)?;

    // Row r (from the bottom) spans 2r..2r+2 on an integer y axis, so that the row centre
    // 2r+1 is an integer key point (plotters only offers default label formatting for
    // integer axes with custom key points). Step i sits in row n-1-i, so the first step
    // is at the top.
    let rows = rows as u32;
    let centres: Vec<u32> = (0..n as u32).map(|r| 2 * r + 1).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", TITLE_SIZE).into_font().color(&INK))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0u64..x_end, (0u32..2 * rows).with_key_points(centres))?;

    let label_font = ("sans-serif", LABEL_SIZE).into_font().color(&INK);
    let step_label = |y: &u32| {
        let row = (y / 2) as usize;
        n.checked_sub(row + 1)
            .and_then(|i| step_labels.get(i))
            .cloned()
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_labels(5)
        .x_desc(axis_desc)
        .axis_style(AXIS)
        .label_style(label_font.clone())
        .axis_desc_style(label_font.clone())
        .y_label_formatter(&step_label)
        .set_tick_mark_size(LabelAreaPosition::Left, 3)
        .draw()?;

    // Bottom edge of step i's row on the y axis.
    let row_of = |i: usize| 2 * (n - 1 - i) as u32;
    let bar_margin = ROW_HEIGHT / 5;
    chart.draw_series(steps.iter().enumerate().map(|(i, s)| {
        let y = row_of(i);
        let mut bar = Rectangle::new([(0, y), (s.count, y + 2)], BAR.filled());
        bar.set_margin(bar_margin, bar_margin, 0, 0);
        bar
    }))?;

    let count_font = label_font.pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(steps.iter().enumerate().map(|(i, s)| {
        EmptyElement::at((s.count, row_of(i) + 1))
            + Text::new(s.count.to_string(), (4, 0), count_font.clone())
    }))?;

    root.present()?;
    Ok(())
}

/// Replaces plotters' fixed-size root tag with a responsive, accessible one.
fn accessible_root(svg: String, dims: (u32, u32), title: &str, steps: &[FunnelStep]) -> String {
    let mut desc = String::new();
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            desc.push_str("; ");
        }
        let label = truncate(&clean_label(&s.label), DESC_COLUMNS);
        let _ = write!(desc, "{label}: {}", s.count);
    }
    crate::svg::accessible_root(svg, dims, title, &desc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: FunnelLabels<'static> = FunnelLabels {
        title: "Course funnel",
        axis: "Trainees",
    };

    fn step(label: &str, count: u64) -> FunnelStep {
        FunnelStep {
            label: label.to_owned(),
            count,
        }
    }

    fn bars(svg: &str) -> usize {
        svg.matches(r##"fill="#2563EB""##).count()
    }

    /// Minimal well-formedness check: tags balance and nothing raw slips through.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), 1);
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
        for bad in ["NaN", "inf"] {
            assert!(!svg.contains(&format!("=\"{bad}")), "{bad} in {svg}");
            assert!(!svg.contains(&format!("=\"-{bad}")), "{bad} in {svg}");
        }
    }

    #[test]
    fn draws_one_bar_per_step_with_counts() {
        let steps = [
            step("Enrolled", 120),
            step("Module 1", 87),
            step("Module 2", 40),
            step("Certificate", 9),
        ];
        let svg = funnel_svg(&steps, &LABELS);
        assert_well_formed(&svg);
        assert_eq!(bars(&svg), 4);
        for s in &steps {
            assert!(svg.contains(&format!("\n{}\n</text>", s.label)), "{svg}");
            assert!(svg.contains(&format!("\n{}\n</text>", s.count)), "{svg}");
        }
        // Text is emitted as real <text> elements, no font files involved.
        assert!(svg.contains("<text "));
        assert!(svg.contains("Trainees"));
        // First step at the top: its label comes out with the smallest y.
        let y_of = |label: &str| -> i32 {
            let at = svg.find(&format!("\n{label}\n</text>")).unwrap();
            let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
            let y = tag.split(" y=\"").nth(1).unwrap();
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        assert!(y_of("Enrolled") < y_of("Module 1"));
        assert!(y_of("Module 2") < y_of("Certificate"));
    }

    #[test]
    fn root_is_responsive_and_accessible() {
        let svg = funnel_svg(
            &[step("a", 1), step("b", 2)],
            &FunnelLabels {
                title: "Funnel \"Q&A\" <b>",
                axis: "Trainees",
            },
        );
        assert_well_formed(&svg);
        let root = &svg[..svg.find('>').unwrap()];
        assert!(root.contains(r#"viewBox="0 0 400 "#), "{root}");
        assert!(root.contains(r#"width="100%""#), "{root}");
        assert!(!root.contains("height="), "{root}");
        assert!(root.contains(r#"role="img""#), "{root}");
        assert!(
            root.contains(r#"aria-label="Funnel &quot;Q&amp;A&quot; &lt;b&gt;""#),
            "{root}"
        );
        assert!(svg.contains("<title>Funnel &quot;Q&amp;A&quot; &lt;b&gt;</title>"));
        assert!(svg.contains("<desc>a: 1; b: 2</desc>"));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn height_grows_with_steps() {
        let height = |n: usize| {
            let steps: Vec<_> = (0..n).map(|i| step(&format!("s{i}"), i as u64)).collect();
            let svg = funnel_svg(&steps, &LABELS);
            let vb = svg.split("viewBox=\"0 0 400 ").nth(1).unwrap();
            vb[..vb.find('"').unwrap()].parse::<u32>().unwrap()
        };
        assert_eq!(height(3) + 40, height(4));
        assert_eq!(height(8), height(1) + 7 * 40);
    }

    #[test]
    fn escapes_dangerous_labels_exactly_once() {
        let steps = [step("<script>alert('x')</script> & \"more\"", 3)];
        let svg = funnel_svg(&steps, &LABELS);
        assert_well_formed(&svg);
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
        assert!(svg.contains("&amp;"));
        assert!(!svg.contains("&amp;lt;"), "double escaped: {svg}");
        assert!(svg.contains("<desc>&lt;script&gt;alert(&apos;x&apos;)"));
    }

    #[test]
    fn control_characters_are_removed() {
        let steps = [step("bad\u{0}\u{1b}label\nnext", 2)];
        let svg = funnel_svg(&steps, &LABELS);
        assert_well_formed(&svg);
        assert!(svg.contains("bad label next"), "{svg}");
    }

    #[test]
    fn empty_and_zero_input_give_valid_svg() {
        let empty = funnel_svg(&[], &LABELS);
        assert_well_formed(&empty);
        assert_eq!(bars(&empty), 0);
        assert!(empty.contains("Course funnel"));

        let zeros = funnel_svg(&[step("A", 0), step("B", 0)], &LABELS);
        assert_well_formed(&zeros);
        assert_eq!(bars(&zeros), 2);
        assert!(zeros.matches("\n0\n</text>").count() >= 2);

        let one = funnel_svg(&[step("Only", 5)], &LABELS);
        assert_well_formed(&one);
        assert_eq!(bars(&one), 1);

        let huge = funnel_svg(&[step("Big", u64::MAX), step("Small", 1)], &LABELS);
        assert_well_formed(&huge);
        assert_eq!(bars(&huge), 2);
    }

    #[test]
    fn chinese_text_is_intact_and_long_labels_truncated() {
        let steps = [
            step("第一单元：安全培训", 30),
            step("第二单元：设备操作与日常维护保养规程详解", 12),
            step(&"Very long module title ".repeat(5), 4),
        ];
        let svg = funnel_svg(
            &steps,
            &FunnelLabels {
                title: "课程完成漏斗",
                axis: "学员",
            },
        );
        assert_well_formed(&svg);
        assert!(svg.contains("\n第一单元：安全培训\n</text>"), "{svg}");
        assert!(svg.contains("<title>课程完成漏斗</title>"));
        assert!(svg.contains("学员"));
        // 22 columns: 10 wide characters plus the ellipsis.
        assert!(svg.contains("\n第二单元：设备操作与…\n</text>"), "{svg}");
        assert!(svg.contains("\nVery long module titl…\n</text>"), "{svg}");
        // The description keeps the full labels.
        assert!(svg.contains("第二单元：设备操作与日常维护保养规程详解: 12"));
    }

    #[test]
    fn huge_labels_do_not_bloat_the_output() {
        let label = "长".repeat(10_000);
        let svg = funnel_svg(&[step(&label, 1)], &LABELS);
        assert_well_formed(&svg);
        assert!(svg.len() < 4_000, "{} bytes", svg.len());
    }

    #[test]
    fn truncate_counts_chars_not_bytes() {
        assert_eq!(truncate("short", 22), "short");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("汉字汉字汉字", 7), "汉字汉…");
        assert_eq!(truncate("ab cd", 4), "ab…");
        assert_eq!(truncate("", 3), "");
    }

    #[test]
    fn eight_steps_stay_small() {
        let steps: Vec<_> = (0..8)
            .map(|i| {
                step(
                    &format!("模块 {i}: a fairly long module title & more"),
                    1000 - i * 120,
                )
            })
            .collect();
        let svg = funnel_svg(&steps, &LABELS);
        assert_well_formed(&svg);
        assert_eq!(bars(&svg), 8);
        assert!(svg.len() < 15_000, "{} bytes", svg.len());
    }
}
