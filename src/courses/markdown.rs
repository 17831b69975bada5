//! One markdown pipeline for every course text: a pulldown-cmark parser with explicit
//! options, link and image rewriting with diagnostics, then ammonia.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use super::diagnostics::{Diagnostic, Severity};

pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

pub fn parser(text: &str) -> Parser<'_> {
    Parser::new_ext(text, options())
}

/// Cleans rendered HTML: no script, style, event handlers or foreign frames, whatever
/// an author typed.
pub fn sanitize(html: &str) -> String {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER
        .get_or_init(|| {
            let mut builder = ammonia::Builder::default();
            builder
                .add_generic_attributes(["id"])
                .add_tag_attributes("code", ["class"])
                .add_tag_attributes("th", ["style"])
                .add_tag_attributes("td", ["style"])
                .link_rel(Some("noopener noreferrer"))
                .url_relative(ammonia::UrlRelative::PassThrough);
            builder
        })
        .clean(html)
        .to_string()
}

/// What links and images in one file can point at.
pub struct Links<'a> {
    pub course_slug: &'a str,
    /// Course-relative path of the file's folder, such as `02-niche` (empty for the root).
    pub dir: &'a str,
    /// Course-relative `.md` path -> page URL.
    pub pages: &'a HashMap<String, String>,
    /// Course-relative asset paths, such as `assets/flow.svg`.
    pub assets: &'a HashSet<String>,
}

/// Where a diagnostic goes: the file, its full text, and where `body` starts in it.
pub struct Place<'a> {
    pub file: &'a Path,
    pub source: &'a str,
    pub offset: usize,
}

/// Resolves `target` against `dir` inside the course. `None` when it climbs out.
pub fn resolve(dir: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn is_external(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || lower.starts_with('#')
}

/// Renders a markdown body with links and images rewritten; problems go to `diags`.
pub fn render(
    body: &str,
    links: &Links<'_>,
    place: &Place<'_>,
    diags: &mut Vec<Diagnostic>,
) -> String {
    let events: Vec<(Event<'_>, std::ops::Range<usize>)> =
        parser(body).into_offset_iter().collect();
    let mut out: Vec<Event<'_>> = Vec::with_capacity(events.len());
    for (i, (event, range)) in events.iter().enumerate() {
        let at = |severity, message: String| {
            Diagnostic::at(
                severity,
                place.file,
                place.source,
                place.offset + range.start,
                range.len(),
                message,
            )
        };
        match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = rewrite_link(dest_url, links).unwrap_or_else(|message| {
                    diags.push(at(Severity::Error, message));
                    dest_url.to_string()
                });
                out.push(Event::Start(Tag::Link {
                    link_type: *link_type,
                    dest_url: CowStr::from(dest),
                    title: title.clone(),
                    id: id.clone(),
                }));
            }
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest = rewrite_image(dest_url, links).unwrap_or_else(|message| {
                    diags.push(at(Severity::Error, message));
                    String::new()
                });
                if matches!(events.get(i + 1), Some((Event::End(TagEnd::Image), _))) {
                    diags.push(at(
                        Severity::Warning,
                        "image without alt text: describe it between the brackets".into(),
                    ));
                }
                out.push(Event::Start(Tag::Image {
                    link_type: *link_type,
                    dest_url: CowStr::from(dest),
                    title: title.clone(),
                    id: id.clone(),
                }));
            }
            // A checklist in a lesson is something to read, not a form: a disabled checkbox
            // without a label is noise to a screen reader. A ballot box character reads as
            // "ballot box" / "ballot box with check" and looks the same.
            Event::TaskListMarker(done) => {
                out.push(Event::Text(CowStr::from(if *done {
                    "☑ "
                } else {
                    "☐ "
                })));
            }
            other => out.push(other.clone()),
        }
    }
    let mut html = String::with_capacity(body.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, out.into_iter());
    sanitize(&html)
}

/// Renders inline markdown (a heading or an option label) without diagnostics.
pub fn render_inline(text: &str) -> String {
    let events = parser(text).filter(|e| {
        !matches!(
            e,
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph)
        )
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    sanitize(html.trim())
}

fn rewrite_link(url: &str, links: &Links<'_>) -> Result<String, String> {
    if is_external(url) || url.is_empty() {
        return Ok(url.to_string());
    }
    if url.starts_with('/') || url.contains("://") {
        return Ok(url.to_string());
    }
    let (path, fragment) = match url.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (url, None),
    };
    let resolved = resolve(links.dir, path)
        .ok_or_else(|| format!("link `{url}` points outside the course"))?;
    let with_fragment = |base: String| match fragment {
        Some(f) => format!("{base}#{f}"),
        None => base,
    };
    if let Some(page) = links.pages.get(&resolved) {
        return Ok(with_fragment(page.clone()));
    }
    if links.assets.contains(&resolved) {
        return Ok(format!("/courses/{}/{}", links.course_slug, resolved));
    }
    if resolved.ends_with(".md") {
        Err(format!("link to a lesson that does not exist: `{url}`"))
    } else {
        Err(format!("link to a file that does not exist: `{url}`"))
    }
}

fn rewrite_image(url: &str, links: &Links<'_>) -> Result<String, String> {
    if is_external(url) {
        return Err(format!(
            "image `{url}` is not in the course: put it in the course's assets/ folder"
        ));
    }
    let resolved = resolve(links.dir, url)
        .ok_or_else(|| format!("image `{url}` points outside the course"))?;
    if links.assets.contains(&resolved) {
        Ok(format!("/courses/{}/{}", links.course_slug, resolved))
    } else {
        Err(format!(
            "missing image `{url}`: no such file in the course's assets/ folder"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links_fixture() -> (HashMap<String, String>, HashSet<String>) {
        let mut pages = HashMap::new();
        pages.insert(
            "02-live/01-pinning.md".into(),
            "/courses/c/live/pinning".into(),
        );
        let assets = HashSet::from(["assets/flow.svg".to_string()]);
        (pages, assets)
    }

    /// Renders `body` as the file `x.md` in the course folder `dir` of course `c`.
    fn render_in(dir: &str, body: &str) -> (String, Vec<Diagnostic>) {
        let (pages, assets) = links_fixture();
        let links = Links {
            course_slug: "c",
            dir,
            pages: &pages,
            assets: &assets,
        };
        let place = Place {
            file: Path::new("x.md"),
            source: body,
            offset: 0,
        };
        let mut diags = Vec::new();
        let html = render(body, &links, &place, &mut diags);
        (html, diags)
    }

    #[test]
    fn links_and_images_become_urls() {
        let body = "[pin](../02-live/01-pinning.md#how) ![Flow](../assets/flow.svg) [web](https://example.com)";
        let (html, diags) = render_in("01-intro", body);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(
            html.contains("href=\"/courses/c/live/pinning#how\""),
            "{html}"
        );
        assert!(
            html.contains("src=\"/courses/c/assets/flow.svg\""),
            "{html}"
        );
        assert!(html.contains("alt=\"Flow\""));
    }

    #[test]
    fn broken_links_missing_images_and_alt_text_are_reported() {
        let body = "text\n\n[x](02-missing.md)\n\n![](../assets/flow.svg)\n\n![gone](../assets/gone.png)\n";
        let (_, diags) = render_in("01-intro", body);
        let messages: Vec<String> = diags.iter().map(|d| d.short()).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        assert!(messages[0].starts_with("x.md:3:1: error: link to a lesson that does not exist"));
        assert!(messages[1].starts_with("x.md:5:1: warning: image without alt text"));
        assert!(messages[2].starts_with("x.md:7:1: error: missing image"));
    }

    #[test]
    fn scripts_and_handlers_are_removed() {
        let body =
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[j](javascript:alert(1))";
        let (html, _) = render_in("", body);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn task_lists_read_as_ballot_boxes_not_unlabelled_inputs() {
        let body =
            "- [x] Pin the product\n- [ ] Answer the price question\n\n<input type=checkbox>";
        let (html, _) = render_in("", body);
        assert!(html.contains("<li>☑ Pin the product</li>"), "{html}");
        assert!(
            html.contains("<li>☐ Answer the price question</li>"),
            "{html}"
        );
        assert!(!html.contains("<input"), "{html}");
    }

    #[test]
    fn resolve_stays_inside_the_course() {
        assert_eq!(resolve("01-a", "../02-b/x.md"), Some("02-b/x.md".into()));
        assert_eq!(resolve("01-a", "./x.md"), Some("01-a/x.md".into()));
        assert_eq!(resolve("01-a", "../../etc/passwd"), None);
    }
}
