//! Accessibility: axe-core runs in headless Chromium over every main page, in English and
//! in Chinese, and finds nothing against WCAG 2.0 and 2.1, levels A and AA; no page is
//! wider than the 360 px phone screen (reflow); and a quiz and a checkout are done with
//! the keyboard alone (Tab, Shift+Tab, arrows, Space, Enter, typing), with a visible
//! focus ring on every stop.
//!
//! axe-core is an npm package pinned in `tests/a11y/package.json`; install it with
//! `npm ci --prefix tests/a11y` (CI does). The script is injected through WebDriver,
//! never as a `<script>` element: the pages' Content-Security-Policy allows no inline
//! script, and the test must see the page as it is served. Screenshots of every page go
//! to `target/screenshots/a11y-*`.

use std::path::{Path, PathBuf};

use fantoccini::Client;
use fantoccini::key::Key;

use crate::browser::{full_screenshot, start_driver};
use crate::main_pages::{browser_or_skip, main_pages};

/// The rule sets every page must pass.
pub const TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

pub fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/a11y/node_modules/axe-core/axe.min.js")
}

/// The axe-core script, or a failure that says how to install it.
pub fn axe_source() -> String {
    let path = axe_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not installed ({}: {e}): run `npm ci --prefix tests/a11y`",
            path.display()
        )
    })
}

#[derive(Debug, serde::Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    #[serde(rename = "helpUrl")]
    pub help_url: String,
    pub nodes: Vec<ViolationNode>,
}

#[derive(Debug, serde::Deserialize)]
pub struct ViolationNode {
    pub target: Vec<serde_json::Value>,
    #[serde(rename = "failureSummary", default)]
    pub failure_summary: Option<String>,
}

/// Injects axe-core into the page the browser is on and returns its violations.
pub async fn run_axe(browser: &Client, axe: &str) -> Vec<Violation> {
    let loaded = browser
        .execute(
            &format!("{axe}\nreturn typeof window.axe === 'object' && window.axe.version;"),
            vec![],
        )
        .await
        .expect("inject axe-core");
    assert!(loaded.is_string(), "axe-core did not load: {loaded}");
    let script = r#"
        var done = arguments[arguments.length - 1];
        window.axe
          .run(document, {
            runOnly: { type: "tag", values: arguments[0] },
            resultTypes: ["violations", "incomplete"]
          })
          .then(
            function (results) {
              window.__axeIncomplete = results.incomplete.map(function (r) {
                return r.id + " (" + r.nodes.length + ")";
              });
              done(JSON.stringify(results.violations));
            },
            function (error) { done("error: " + error); }
          );
    "#;
    let answer = browser
        .execute_async(script, vec![serde_json::json!(TAGS)])
        .await
        .expect("run axe-core");
    let text = answer.as_str().unwrap_or_default();
    assert!(!text.starts_with("error:"), "axe-core failed: {text}");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("axe-core's answer {text}: {e}"))
}

/// Each violation as lines a person can act on: rule, impact, elements, what to do.
pub fn describe(page: &str, language: &str, violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        out.push_str(&format!(
            "{page} [{language}]: {} ({}): {}\n  {}\n",
            v.id,
            v.impact.as_deref().unwrap_or("?"),
            v.help,
            v.help_url
        ));
        for node in &v.nodes {
            let target: Vec<String> = node
                .target
                .iter()
                .map(|t| {
                    t.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| t.to_string())
                })
                .collect();
            out.push_str(&format!("    at {}\n", target.join(" ")));
            if let Some(summary) = &node.failure_summary {
                for line in summary.lines() {
                    out.push_str(&format!("       {line}\n"));
                }
            }
        }
    }
    out
}

/// Reflow (WCAG 1.4.10): nothing but a table's own scroller may be wider than the phone's
/// screen. Names what sticks out, or `None`.
pub async fn wider_than_the_screen(browser: &Client) -> Option<String> {
    let wide = browser
        .execute(
            r#"function name(e) {
                 var r = e.getBoundingClientRect();
                 return e.tagName.toLowerCase()
                   + (e.className ? "." + String(e.className).split(" ").join(".") : "")
                   + " " + Math.round(r.left) + ".." + Math.round(r.right);
               }
               var vw = document.documentElement.clientWidth, out = [];
               document.querySelectorAll("body *").forEach(function (e) {
                 if (e.closest(".scroll, .visually-hidden, .skip")) return;
                 var r = e.getBoundingClientRect();
                 if (r.width > 0 && (r.right > vw + 1 || r.left < -1)) out.push(name(e));
               });
               var sw = document.documentElement.scrollWidth;
               if (sw > vw && out.length === 0)
                 document.querySelectorAll("body *").forEach(function (e) {
                   var r = e.getBoundingClientRect();
                   if (r.width > 0 && r.right >= sw - 1) out.push(name(e));
                 });
               return [sw, vw, out.slice(0, 8)];"#,
            vec![],
        )
        .await
        .unwrap();
    let too_wide = wide[0].as_f64() > wide[1].as_f64() || !wide[2].as_array().unwrap().is_empty();
    too_wide.then(|| {
        format!(
            "wider than the {} px screen (page {} px): {}",
            wide[1], wide[0], wide[2]
        )
    })
}

#[tokio::test]
async fn every_main_page_passes_axe_core_in_english_and_chinese() {
    let Some((driver_path, chromium)) = browser_or_skip("accessibility test") else {
        return;
    };
    let axe = axe_source();
    let fixture = main_pages().await;
    let driver = start_driver(&driver_path).await;
    let mut report = String::new();
    let mut checked = 0;
    for group in fixture.by_viewer() {
        for (language, suffix) in [("en", "en"), ("zh-CN", "zh")] {
            // One browser per viewer and language, logged in once.
            let browser = group[0].browser(&driver, &chromium, language).await;
            for page in &group {
                browser.goto(&page.url()).await.unwrap();
                let lang = browser
                    .execute("return document.documentElement.lang", vec![])
                    .await
                    .unwrap();
                assert_eq!(
                    lang,
                    serde_json::json!(language),
                    "{} is in {language}",
                    page.name
                );
                if let Some(wide) = wider_than_the_screen(&browser).await {
                    report.push_str(&format!("{} [{language}]: {wide}\n", page.name));
                }
                let violations = run_axe(&browser, &axe).await;
                let incomplete = browser
                    .execute("return window.__axeIncomplete || [];", vec![])
                    .await
                    .unwrap();
                if checked == 0 {
                    // The engine does find things: a picture without a text alternative.
                    browser
                        .execute(
                            "var i = document.createElement('img'); i.id = 'axe-self-check'; \
                             i.src = '/static/favicon.svg'; document.querySelector('main').appendChild(i);",
                            vec![],
                        )
                        .await
                        .unwrap();
                    let found = run_axe(&browser, &axe).await;
                    assert!(
                        found.iter().any(|v| v.id == "image-alt"),
                        "axe-core finds a missing alt: {found:?}"
                    );
                    browser.goto(&page.url()).await.unwrap();
                }
                let shot = format!("a11y-{}-{suffix}", page.name.replace(' ', "-"));
                full_screenshot(&browser, &shot).await;
                eprintln!(
                    "{:<16} {:<6} {:<10} {} violation(s); for a person to review: {incomplete}",
                    page.name,
                    language,
                    page.viewer.who.as_str(),
                    violations.len()
                );
                report.push_str(&describe(page.name, language, &violations));
                checked += 1;
            }
            browser.close().await.unwrap();
        }
    }
    assert_eq!(checked, 2 * fixture.pages().len());
    assert!(
        report.is_empty(),
        "accessibility violations ({}):\n{report}",
        TAGS.join(", ")
    );
}

/// Every lesson and quiz of the bundled course, as a trainee who has passed the modules
/// before it sees them: the markdown renderer's output (tables, task lists, pictures) in
/// every form the course uses.
#[tokio::test]
async fn every_lesson_of_the_bundled_course_passes_axe_core() {
    let Some((driver_path, chromium)) = browser_or_skip("lesson accessibility test") else {
        return;
    };
    let axe = axe_source();
    let app = crate::helpers::spawn_app().await;
    let course = crate::main_pages::bundled_course();
    let email = app.create_user(kaibo::accounts::domain::Role::Trainee);
    let client = crate::helpers::new_client();
    app.login_with(&client, &email, crate::helpers::PASSWORD)
        .await;
    for module in &course.modules {
        let r = crate::courses::submit(
            &app,
            &client,
            &format!("/courses/{}/{}/quiz", course.slug, module.slug),
            &crate::courses::answers(&course, &module.slug, true),
        )
        .await;
        assert_eq!(r.status(), 303, "{} passed", module.slug);
    }
    let driver = start_driver(&driver_path).await;
    let browser = crate::browser::open_browser(&driver, &chromium, "en").await;
    crate::browser::log_in_to(&browser, &app, &email, "/learn").await;
    let mut report = String::new();
    for module in &course.modules {
        let mut paths: Vec<String> = module
            .lessons
            .iter()
            .map(|l| format!("/courses/{}/{}/{}", course.slug, module.slug, l.slug))
            .collect();
        paths.push(format!("/courses/{}/{}/quiz", course.slug, module.slug));
        for path in paths {
            let status = app.get_with(&client, &path).await.status();
            assert_eq!(status, 200, "{path} is open to the trainee");
            browser.goto(&app.url(&path)).await.unwrap();
            if let Some(wide) = wider_than_the_screen(&browser).await {
                report.push_str(&format!("{path}: {wide}\n"));
            }
            report.push_str(&describe(&path, "en", &run_axe(&browser, &axe).await));
        }
    }
    browser.close().await.unwrap();
    assert!(report.is_empty(), "accessibility violations:\n{report}");
}

// ------------------------------------------------------------------ keyboard only

/// Sends keys to the element that has the focus, as a keyboard does.
async fn press(browser: &Client, keys: &str) {
    let focused = browser
        .active_element()
        .await
        .expect("an element has the focus");
    focused.send_keys(keys).await.expect("keys sent");
}

fn key(k: Key) -> String {
    char::from(k).to_string()
}

/// The focused element in words: `input#name`, `input[name=q-x][value=b]`, `button`.
async fn focused(browser: &Client) -> String {
    browser
        .execute(
            r##"var e = document.activeElement;
               if (!e || e === document.body) return "body";
               var d = e.tagName.toLowerCase();
               if (e.id) d += "#" + e.id;
               if (e.name) d += "[name=" + e.name + "]";
               if (e.type === "radio" || e.type === "checkbox") d += "[value=" + e.value + "]";
               if (e.tagName === "A") d += "[href=" + e.getAttribute("href") + "]";
               return d;"##,
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn focus_matches(browser: &Client, css: &str) -> bool {
    browser
        .execute(
            "return !!document.activeElement && document.activeElement.matches(arguments[0]);",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap_or(false)
}

/// The focused element shows a focus ring: a visible outline at least 2 px wide.
async fn assert_focus_visible(browser: &Client, what: &str) {
    let ring = browser
        .execute(
            r##"var e = document.activeElement, s = getComputedStyle(e);
               return [e.matches(":focus-visible"), s.outlineStyle, parseFloat(s.outlineWidth)];"##,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        ring[0],
        serde_json::json!(true),
        "{what}: not :focus-visible ({ring})"
    );
    assert_ne!(
        ring[1],
        serde_json::json!("none"),
        "{what}: no focus outline ({ring})"
    );
    assert!(
        ring[2].as_f64().unwrap_or(0.0) >= 2.0,
        "{what}: focus outline too thin ({ring})"
    );
}

/// Presses Tab until the focus is on `css` (bounded), returning the stops passed on the way.
async fn tab_to(browser: &Client, css: &str) -> Vec<String> {
    let mut passed = Vec::new();
    for _ in 0..80 {
        if focus_matches(browser, css).await {
            return passed;
        }
        passed.push(focused(browser).await);
        press(browser, &key(Key::Tab)).await;
    }
    panic!("Tab never reached {css}; the focus went through {passed:?}");
}

/// One Tab stop of a form, as the page's markup says it should be reached.
#[derive(Debug, Clone, serde::Deserialize)]
struct Stop {
    /// `radio` (a whole group: one stop), `checkbox`, `text`, `textarea`, `submit`.
    kind: String,
    name: String,
    /// Radio and checkbox values in page order; empty for the others.
    values: Vec<String>,
    /// A selector for the element that takes the focus first.
    css: String,
}

/// The form's Tab stops in page order: each control, each radio group once.
async fn stops(browser: &Client, form: &str) -> Vec<Stop> {
    let json = browser
        .execute(
            r##"var sel = arguments[0], form = document.querySelector(sel), out = [], seen = {};
               form.querySelectorAll("input, textarea, select, button").forEach(function (e) {
                 if (e.type === "hidden" || e.disabled) return;
                 if (e.type === "radio") {
                   if (seen[e.name]) { seen[e.name].values.push(e.value); return; }
                   var group = form.querySelectorAll('input[type=radio][name="' + e.name + '"]');
                   var checked = Array.prototype.find.call(group, function (r) { return r.checked; });
                   var first = checked || e;
                   seen[e.name] = { kind: "radio", name: e.name, values: [e.value],
                     css: 'input[type=radio][name="' + e.name + '"][value="' + first.value + '"]' };
                   out.push(seen[e.name]);
                 } else if (e.type === "checkbox") {
                   out.push({ kind: "checkbox", name: e.name, values: [e.value],
                     css: 'input[type=checkbox][name="' + e.name + '"][value="' + e.value + '"]' });
                 } else if (e.tagName === "BUTTON") {
                   out.push({ kind: "submit", name: e.name || "", values: [], css: sel + " button[type=submit]" });
                 } else {
                   out.push({ kind: e.tagName === "TEXTAREA" ? "textarea" : "text", name: e.name, values: [],
                     css: e.tagName.toLowerCase() + '[name="' + e.name + '"]' });
                 }
               });
               return out;"##,
            vec![serde_json::json!(form)],
        )
        .await
        .unwrap();
    serde_json::from_value(json).unwrap()
}

async fn checked(browser: &Client, css: &str) -> bool {
    browser
        .execute(
            "return document.querySelector(arguments[0]).checked;",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

/// Walks a form's stops with Tab from its first control to its submit button, giving each
/// the answer `answers` names; then checks that Shift+Tab goes back and Tab forward again,
/// and submits with Enter.
async fn keyboard_form(browser: &Client, form: &str, answers: &dyn Fn(&Stop) -> Answer) {
    let stops = stops(browser, form).await;
    assert!(stops.len() >= 2, "{form} has controls: {stops:?}");
    assert_eq!(
        stops.last().unwrap().kind,
        "submit",
        "{form} ends with its button"
    );
    // From the top of the page, through the skip link and the header, to the form.
    let before = tab_to(browser, &stops[0].css).await;
    assert_eq!(
        before.get(1).map(String::as_str),
        Some("a[href=#main]"),
        "the skip link is the first stop: {before:?}"
    );
    eprintln!("{form}: {} stops before the form: {before:?}", before.len());
    eprintln!(
        "{form}: its stops: {:?}",
        stops.iter().map(|s| &s.css).collect::<Vec<_>>()
    );
    for (i, stop) in stops.iter().enumerate() {
        if i > 0 {
            press(browser, &key(Key::Tab)).await;
        }
        let now = focused(browser).await;
        assert!(
            focus_matches(browser, &stop.css).await,
            "stop {} of {form} should be {} but the focus is on {now}",
            i + 1,
            stop.css
        );
        assert_focus_visible(browser, &now).await;
        match (stop.kind.as_str(), answers(stop)) {
            ("radio", Answer::Pick(value)) => {
                // Arrow keys move within the group and select as they go.
                let from = stop
                    .values
                    .iter()
                    .position(|v| stop.css.contains(&format!("value=\"{v}\"")))
                    .unwrap();
                let to = stop
                    .values
                    .iter()
                    .position(|v| *v == value)
                    .expect("a value of the group");
                if to == from {
                    press(browser, &key(Key::Space)).await;
                } else {
                    let (k, n) = if to > from {
                        (Key::Down, to - from)
                    } else {
                        (Key::Up, from - to)
                    };
                    for _ in 0..n {
                        press(browser, &key(k)).await;
                    }
                }
                let css = format!(
                    "input[type=radio][name=\"{}\"][value=\"{value}\"]",
                    stop.name
                );
                assert!(
                    checked(browser, &css).await,
                    "{css} selected with the arrow keys"
                );
                assert!(
                    focus_matches(browser, &css).await,
                    "the focus follows the selection"
                );
            }
            ("checkbox", Answer::Tick(on)) => {
                if on {
                    press(browser, &key(Key::Space)).await;
                }
                assert_eq!(
                    checked(browser, &stop.css).await,
                    on,
                    "{} ticked with Space",
                    stop.css
                );
            }
            ("text" | "textarea", Answer::Type(text)) => press(browser, &text).await,
            ("submit", _) => {}
            (kind, answer) => panic!("{kind} {}: cannot {answer:?}", stop.name),
        }
    }
    // Back one stop with Shift+Tab, and forward again to the button.
    press(browser, &format!("{}{}", key(Key::Shift), key(Key::Tab))).await;
    let back = &stops[stops.len() - 2];
    let now = focused(browser).await;
    assert!(
        focus_matches(browser, &format!("{form} [name=\"{}\"]", back.name)).await,
        "Shift+Tab from the button goes back to {} (focus on {now})",
        back.css
    );
    press(browser, &key(Key::Tab)).await;
    assert!(
        focus_matches(browser, &stops.last().unwrap().css).await,
        "Tab returns to the button"
    );
    press(browser, &key(Key::Enter)).await;
}

#[derive(Debug)]
enum Answer {
    Pick(String),
    Tick(bool),
    Type(String),
    Nothing,
}

#[tokio::test]
async fn a_quiz_and_a_checkout_work_with_the_keyboard_alone() {
    use kaibo::courses::model::QuestionKind;
    let Some((driver_path, chromium)) = browser_or_skip("keyboard test") else {
        return;
    };
    let css =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("static/kaibo.css"))
            .unwrap();
    let rule = css
        .find(":focus-visible")
        .expect("the stylesheet styles :focus-visible");
    let block = &css[rule..css[rule..].find('}').unwrap() + rule];
    assert!(
        block.contains("outline:"),
        "focus-visible draws an outline: {block}"
    );

    let fixture = main_pages().await;
    let driver = start_driver(&driver_path).await;

    // The quiz: right answers, picked with Tab, arrows, Space and typing.
    let page = fixture.page("quiz");
    let quiz = fixture.course.modules[0].quiz.clone().unwrap();
    let browser = page.browser(&driver, &chromium, "en").await;
    browser.goto(&page.url()).await.unwrap();
    let answer = |stop: &Stop| -> Answer {
        let Some(q) = quiz
            .questions
            .iter()
            .find(|q| format!("q-{}", q.id) == stop.name)
        else {
            return Answer::Nothing;
        };
        match &q.kind {
            QuestionKind::Single(c) | QuestionKind::TrueFalse(c) => {
                Answer::Pick(c.iter().find(|c| c.correct).unwrap().id.clone())
            }
            QuestionKind::Multiple(c) => Answer::Tick(
                c.iter()
                    .any(|c| c.correct && stop.values.first() == Some(&c.id)),
            ),
            QuestionKind::Short(accepted) => Answer::Type(accepted[0].clone()),
            QuestionKind::Numeric { min, max, .. } => {
                Answer::Type(format!("{}", (min + max) / 2.0))
            }
        }
    };
    keyboard_form(&browser, "form.quiz", &answer).await;
    browser
        .wait()
        .for_element(fantoccini::Locator::Css("section.score"))
        .await
        .expect("the result page");
    let text = crate::browser::body_text(&browser).await;
    assert!(text.contains("Passed"), "{text}");
    full_screenshot(&browser, "keyboard-quiz-result").await;
    browser.close().await.unwrap();

    // The checkout: delivery details typed, cash on delivery, placed with Enter.
    let page = fixture.page("checkout");
    let browser = page.browser(&driver, &chromium, "en").await;
    browser.goto(&page.url()).await.unwrap();
    let fill = |stop: &Stop| -> Answer {
        match stop.name.as_str() {
            "name" => Answer::Type("Li Na".into()),
            "phone" => Answer::Type("+86 138 0013 8000".into()),
            "address" => Answer::Type("1 Nanjing Road, Huangpu, Shanghai".into()),
            "payment_method" => Answer::Pick("cod".into()),
            _ => Answer::Nothing,
        }
    };
    keyboard_form(&browser, "form[action$='/checkout']", &fill).await;
    browser
        .wait()
        .for_element(fantoccini::Locator::Css(".order-status"))
        .await
        .expect("the order page");
    let url = browser.current_url().await.unwrap();
    assert!(url.path().starts_with("/orders/"), "{url}");
    full_screenshot(&browser, "keyboard-checkout-order").await;
    browser.close().await.unwrap();
}
