//! What a phone downloads: every main page fetched as a phone browser asks for it
//! (`Accept-Encoding: gzip, deflate, br`; the server compresses), with every stylesheet,
//! script, icon and image it references, counted in requests and bytes as sent. Budgets:
//! the lesson page at most 30 KB in at most 5 requests, every other main page at most
//! 60 KB. The test client has no decompression, so a body's length is its size on the
//! wire (headers aside).
//!
//! In the same style, every main page is checked for inline script and inline style,
//! which the Content-Security-Policy (`script-src 'self'; style-src 'self'`) would block:
//! no `<script>` without `src`, no `on…=` handler, no `javascript:` URL, no `style=`
//! attribute and no `<style>` element.

use std::collections::BTreeSet;

use crate::main_pages::{MainPage, main_pages};

/// 1 KB = 1,000 bytes.
const KB: usize = 1000;
const LESSON_BUDGET: (usize, usize) = (30 * KB, 5);
const PAGE_BUDGET: usize = 60 * KB;

/// A start tag: its name and attributes (names lower-cased, values unescaped of quotes).
#[derive(Debug)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, Option<String>)>,
    /// The text up to the next tag, for `<script>` and `<style>` bodies.
    pub body: String,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }
}

/// The start tags of an HTML document, in order; comments and end tags are skipped.
pub fn start_tags(html: &str) -> Vec<Tag> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(lt) = html[i..].find('<').map(|p| p + i) {
        if html[lt..].starts_with("<!--") {
            i = html[lt..].find("-->").map_or(html.len(), |p| lt + p + 3);
            continue;
        }
        let mut j = lt + 1;
        if j >= bytes.len() || !bytes[j].is_ascii_alphabetic() {
            i = j;
            continue;
        }
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-') {
            j += 1;
        }
        let name = html[lt + 1..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while j < bytes.len() && (bytes[j].is_ascii_whitespace() || bytes[j] == b'/') {
                j += 1;
            }
            if j >= bytes.len() || bytes[j] == b'>' {
                break;
            }
            let start = j;
            while j < bytes.len()
                && !bytes[j].is_ascii_whitespace()
                && !matches!(bytes[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let attr = html[start..j].to_ascii_lowercase();
            let mut value = None;
            if j < bytes.len() && bytes[j] == b'=' {
                j += 1;
                if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                    let quote = bytes[j] as char;
                    let end = html[j + 1..].find(quote).map_or(html.len(), |p| j + 1 + p);
                    value = Some(html[j + 1..end].to_string());
                    j = (end + 1).min(html.len());
                } else {
                    let start = j;
                    while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                        j += 1;
                    }
                    value = Some(html[start..j].to_string());
                }
            }
            attrs.push((attr, value));
        }
        let after = (j + 1).min(html.len());
        let body = match name.as_str() {
            "script" | "style" => {
                let close = format!("</{name}");
                html[after..]
                    .to_ascii_lowercase()
                    .find(&close)
                    .map_or(String::new(), |p| html[after..after + p].to_string())
            }
            _ => String::new(),
        };
        i = after + body.len();
        tags.push(Tag { name, attrs, body });
    }
    tags
}

/// Every stylesheet, script, icon and image the page makes a browser fetch, as paths or
/// URLs in the page's terms (`data:` URLs cost no request and are left out).
pub fn referenced(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in start_tags(html) {
        let mut push = |v: &str| {
            let v = v.trim().replace("&amp;", "&");
            if !v.is_empty() && !v.starts_with("data:") && !v.starts_with('#') {
                found.push(v);
            }
        };
        match tag.name.as_str() {
            "link" => {
                let rel = tag.attr("rel").unwrap_or("").to_ascii_lowercase();
                if rel.split_whitespace().any(|r| {
                    matches!(
                        r,
                        "stylesheet"
                            | "icon"
                            | "apple-touch-icon"
                            | "preload"
                            | "modulepreload"
                            | "manifest"
                    )
                }) && let Some(href) = tag.attr("href")
                {
                    push(href);
                }
            }
            "script" | "img" | "source" | "iframe" | "embed" | "video" | "audio" | "input" => {
                if let Some(src) = tag.attr("src") {
                    push(src);
                }
                if let Some(set) = tag.attr("srcset") {
                    for candidate in set.split(',') {
                        if let Some(url) = candidate.split_whitespace().next() {
                            push(url);
                        }
                    }
                }
                if let Some(poster) = tag.attr("poster") {
                    push(poster);
                }
            }
            "image" | "use" => {
                if let Some(href) = tag.attr("href").or(tag.attr("xlink:href"))
                    && !href.starts_with('#')
                {
                    push(href);
                }
            }
            "object" => {
                if let Some(data) = tag.attr("data") {
                    push(data);
                }
            }
            _ => {}
        }
    }
    found
}

/// `url(...)` references in a stylesheet (fonts, background images).
fn css_urls(css: &str) -> Vec<String> {
    let mut found = Vec::new();
    for part in css.split("url(").skip(1) {
        let Some(end) = part.find(')') else { continue };
        let url = part[..end].trim().trim_matches(|c| c == '"' || c == '\'');
        if !url.is_empty() && !url.starts_with("data:") {
            found.push(url.to_string());
        }
    }
    found
}

struct Fetched {
    status: u16,
    encoding: String,
    body: Vec<u8>,
}

async fn fetch_as_phone(client: &reqwest::Client, url: &str) -> Fetched {
    let r = client
        .get(url)
        .header("Accept-Encoding", "gzip, deflate, br")
        .header(
            "User-Agent",
            "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/126.0 Mobile Safari/537.36",
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = r.status().as_u16();
    let encoding = r
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .to_string();
    let body = r.bytes().await.unwrap().to_vec();
    Fetched {
        status,
        encoding,
        body,
    }
}

/// The same resource uncompressed (what the compressed body decodes to), to read the
/// references in it.
async fn text_of(client: &reqwest::Client, url: &str) -> String {
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    r.text().await.unwrap()
}

struct Weight {
    page: String,
    requests: usize,
    bytes: usize,
    html_bytes: usize,
    encoding: String,
    resources: Vec<(String, usize)>,
}

async fn weigh(page: &MainPage<'_>, client: &reqwest::Client) -> Weight {
    let url = page.url();
    let fetched = fetch_as_phone(client, &url).await;
    assert_eq!(fetched.status, 200, "{} ({})", page.name, page.path);
    assert_ne!(
        fetched.encoding, "identity",
        "{} is sent compressed to a phone",
        page.name
    );
    let html = text_of(client, &url).await;
    let base = url::Url::parse(&url).unwrap();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<url::Url> = referenced(&html)
        .iter()
        .map(|r| base.join(r).unwrap())
        .collect();
    let mut resources = Vec::new();
    while let Some(resource) = queue.pop() {
        if !seen.insert(resource.to_string()) {
            continue;
        }
        let f = fetch_as_phone(client, resource.as_str()).await;
        assert_eq!(f.status, 200, "{}: {resource}", page.name);
        if resource.path().ends_with(".css") {
            for u in css_urls(&text_of(client, resource.as_str()).await) {
                queue.push(resource.join(&u).unwrap());
            }
        }
        resources.push((resource.path().to_string(), f.body.len()));
    }
    resources.sort();
    Weight {
        page: page.name.to_string(),
        requests: 1 + resources.len(),
        bytes: fetched.body.len() + resources.iter().map(|(_, b)| b).sum::<usize>(),
        html_bytes: fetched.body.len(),
        encoding: fetched.encoding,
        resources,
    }
}

#[tokio::test]
async fn every_main_page_fits_its_budget_on_a_phone() {
    let fixture = main_pages().await;
    let mut weights = Vec::new();
    for group in fixture.by_viewer() {
        let client = group[0].http_client().await;
        for page in &group {
            weights.push(weigh(page, &client).await);
        }
    }
    let mut table = format!(
        "{:<16} {:>8} {:>10} {:>10} {:>9}  {:<8} resources\n",
        "page", "requests", "bytes", "html", "budget", "encoding"
    );
    let mut over = Vec::new();
    for w in &weights {
        let (budget, max_requests) = if w.page == "lesson" {
            LESSON_BUDGET
        } else {
            (PAGE_BUDGET, usize::MAX)
        };
        let ok = w.bytes <= budget && w.requests <= max_requests;
        table.push_str(&format!(
            "{:<16} {:>8} {:>10} {:>10} {:>8}K  {:<8} {}\n",
            w.page,
            w.requests,
            w.bytes,
            w.html_bytes,
            budget / KB,
            w.encoding,
            w.resources
                .iter()
                .map(|(p, b)| format!("{p} {b}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if !ok {
            over.push(format!(
                "{}: {} bytes in {} requests (budget {} bytes{})",
                w.page,
                w.bytes,
                w.requests,
                budget,
                if max_requests < usize::MAX {
                    format!(", {max_requests} requests")
                } else {
                    String::new()
                }
            ));
        }
    }
    eprintln!("{table}");
    assert_eq!(weights.len(), fixture.pages().len());
    assert!(
        over.is_empty(),
        "over budget:\n{}\n{table}",
        over.join("\n")
    );
}

/// What the Content-Security-Policy would block on a page, one line per finding.
pub fn inline_code(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for tag in start_tags(html) {
        if tag.name == "script" && tag.attr("src").is_none() {
            found.push(format!(
                "<script> without src: {}",
                tag.body.chars().take(80).collect::<String>()
            ));
        }
        if tag.name == "style" {
            found.push("<style> element".to_string());
        }
        for (name, value) in &tag.attrs {
            let value = value.as_deref().unwrap_or("");
            if name.starts_with("on") && name.len() > 2 {
                found.push(format!("<{} {name}=\"{value}\">", tag.name));
            }
            if name == "style" {
                found.push(format!("<{} style=\"{value}\">", tag.name));
            }
            let v: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if v.starts_with("javascript:") {
                found.push(format!("<{} {name}=\"{value}\">", tag.name));
            }
        }
    }
    found
}

#[test]
fn the_inline_code_check_finds_what_it_should() {
    let bad = r#"<p>text with onclick= in it and style= too</p>
        <script>alert(1)</script><script src="/static/studio.js"></script>
        <a href=" JavaScript:go()" onClick='x()'>a</a><div style="color:red"></div>
        <svg><style>.x{}</style></svg><!-- <script>no</script> -->"#;
    let found = inline_code(bad);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found[0].contains("alert(1)"));
    assert!(inline_code(r#"<a href="/ok" class="on">x</a><input name="onion">"#).is_empty());
    assert_eq!(
        referenced(
            r#"<link rel="stylesheet" href="/a.css?v=1&amp;x=2"><link rel="icon" href="/i.svg"><img src="data:x"><img srcset="/a.png 1x, /b.png 2x"><script src="/s.js"></script>"#
        ),
        ["/a.css?v=1&x=2", "/i.svg", "/a.png", "/b.png", "/s.js"]
    );
}

#[tokio::test]
async fn no_main_page_has_inline_script_or_style() {
    let fixture = main_pages().await;
    let mut report = String::new();
    let mut checked = 0;
    for group in fixture.by_viewer() {
        let client = group[0].http_client().await;
        for page in &group {
            let r = client.get(page.url()).send().await.unwrap();
            assert_eq!(r.status(), 200, "{}", page.name);
            let csp = r
                .headers()
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            assert!(
                csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
                "{}: {csp}",
                page.name
            );
            let html = r.text().await.unwrap();
            for finding in inline_code(&html) {
                report.push_str(&format!("{} ({}): {finding}\n", page.name, page.path));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, fixture.pages().len());
    assert!(report.is_empty(), "inline code the CSP blocks:\n{report}");
}
