//! Text helpers shared by the SVG charts drawn with `plotters` (the course funnel and
//! the show report): the accessible root element, escaping, control-character clean-up
//! and truncation by display columns (a CJK character takes two).

use std::fmt::Write as _;

/// Replaces plotters' fixed-size root tag with a responsive, accessible one.
pub fn accessible_root(svg: String, (w, h): (u32, u32), title: &str, desc: &str) -> String {
    // Plotters' root tag only holds numbers and a URL, so the first '>' ends it.
    let body = match (svg.starts_with("<svg "), svg.find('>')) {
        (true, Some(end)) => &svg[end + 1..],
        _ => {
            debug_assert!(false, "unexpected plotters output");
            return svg;
        }
    };
    let title = escape_xml(title);
    let desc = escape_xml(desc);
    let mut out = String::with_capacity(svg.len() + 2 * title.len() + desc.len() + 160);
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">
<title>{title}</title>
<desc>{desc}</desc>"#
    );
    out.push_str(body);
    out
}

/// Escapes text for XML content and double-quoted attributes (only used for the text this
/// module writes itself; plotters escapes what it writes).
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Collapses whitespace and control characters (which XML 1.0 mostly forbids and plotters
/// passes through) into single spaces, and trims.
pub fn clean_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for part in s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|p| !p.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

/// Display columns of a character: 2 for East Asian wide/fullwidth ranges, else 1.
pub fn columns(c: char) -> usize {
    match c as u32 {
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// Shortens `s` to at most `max` display columns, ending with `…` when cut. Works on
/// characters, never splitting one.
pub fn truncate(s: &str, max: usize) -> String {
    let total: usize = s.chars().map(columns).sum();
    if total <= max {
        return s.to_owned();
    }
    let budget = max.saturating_sub(1); // the ellipsis takes one column
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        let w = columns(c);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    out.push('…');
    out
}
