//! A real browser: headless Chromium registers, logs out and logs back in, and the
//! login and home pages are saved as 360 px screenshots in English and Chinese under
//! `target/screenshots/`. Without Chromium the test says why it is skipped; with
//! `KAIBO_REQUIRE_BROWSER=1` (as in CI) a missing browser is a failure instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::*;

pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

pub(crate) fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let driver = find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"])?;
    let chromium = find(&["/usr/bin/chromium", "/usr/bin/chromium-browser"])?;
    Some((driver, chromium))
}

pub(crate) async fn start_driver(path: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    // Wait for the driver process to accept connections (bounded, about 10 s).
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Driver { child, port }
}

pub(crate) async fn open_browser(driver: &Driver, chromium: &Path, language: &str) -> Client {
    let profile = tempfile::tempdir().unwrap().keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--window-size=360,800",
                format!("--lang={language}"),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {"intl.accept_languages": language},
            // A phone-sized viewport: headless windows cannot be narrower than 500 px.
            "mobileEmulation": {"deviceMetrics": {"width": 360, "height": 780, "pixelRatio": 1.0}},
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connect to chromedriver")
}

/// Waits (fantoccini's bounded wait) until an element matches `css`.
pub(crate) async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

/// Waits (bounded) until no element matches `css`: the page after a form's redirect,
/// when the next page may hold the same fields as the one being left.
pub(crate) async fn wait_gone(browser: &Client, css: &str) {
    for _ in 0..200 {
        if browser.find(Locator::Css(css)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{css} is still on the page");
}

/// Clicks the button at `css` and waits (bounded) until the page it was on is gone: a
/// form post's redirect has landed. Checking for an element of the next page instead can
/// match the page being left when both pages have it.
pub(crate) async fn click_and_leave(browser: &Client, css: &str) {
    let button = browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    button.click().await.unwrap();
    for _ in 0..400 {
        match button.tag_name().await {
            Err(e) if e.is_stale_element_reference() => return,
            _ => tokio::time::sleep(Duration::from_millis(25)).await,
        }
    }
    panic!("{css}: the page did not change after the click");
}

pub(crate) async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// The page's text. A page that is replaced while being read (a redirect landing, the
/// studio's script swapping a fragment) is read again, a bounded number of times.
pub(crate) async fn body_text(browser: &Client) -> String {
    let mut last = None;
    for _ in 0..20 {
        match browser.find(Locator::Css("body")).await {
            Ok(body) => match body.text().await {
                Ok(text) => return text,
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("could not read the page: {last:?}");
}

/// Logs in through the login form and waits for the trainee home page.
async fn log_in(browser: &Client, app: &TestApp, email: &str) {
    log_in_to(browser, app, email, "/learn").await;
}

/// Logs in through the login form and waits for `home`.
pub(crate) async fn log_in_to(browser: &Client, app: &TestApp, email: &str, home: &str) {
    browser.goto(&app.url("/login")).await.unwrap();
    fill(browser, "#email", email).await;
    fill(browser, "#password", PASSWORD).await;
    browser
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_url(&url::Url::parse(&app.url(home)).unwrap())
        .await
        .unwrap();
}

pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The whole page as a series of phone-screen shots (`name-1`, `name-2`, ...): the
/// emulated phone keeps its viewport, so the page is scrolled instead.
pub(crate) async fn full_screenshot(browser: &Client, name: &str) {
    let height = browser
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(780);
    let shots = height.div_ceil(700).clamp(1, 6);
    for i in 0..shots {
        browser
            .execute(&format!("window.scrollTo(0, {})", i * 700), vec![])
            .await
            .unwrap();
        screenshot(browser, &format!("{name}-{}", i + 1)).await;
    }
    browser
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
}

#[tokio::test]
async fn chromium_registers_logs_out_and_logs_in() {
    let Some((driver_path, chromium)) = browser_tools() else {
        let reason = "SKIPPED browser test: chromium and chromedriver are not installed \
                      (apt-get install chromium chromium-driver)";
        assert!(
            std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
            "{reason}, but KAIBO_REQUIRE_BROWSER is set"
        );
        eprintln!("{reason}");
        return;
    };
    let app = spawn_app().await;
    let driver = start_driver(&driver_path).await;

    for (language, suffix) in [("en", "en"), ("zh-CN", "zh")] {
        let browser = open_browser(&driver, &chromium, language).await;
        let email = format!("browser-{suffix}@example.com");

        browser.goto(&app.url("/login")).await.unwrap();
        screenshot(&browser, &format!("login-360-{suffix}")).await;

        browser.goto(&app.url("/register")).await.unwrap();
        fill(&browser, "#email", &email).await;
        fill(&browser, "#display_name", "Browser Trainee").await;
        fill(&browser, "#password", PASSWORD).await;
        fill(&browser, "#password_confirm", PASSWORD).await;
        browser
            .find(Locator::Css("form[action='/register'] button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait()
            .for_url(&url::Url::parse(&app.url("/learn")).unwrap())
            .await
            .unwrap();
        let text = body_text(&browser).await;
        let hello = if suffix == "zh" {
            "你好，Browser Trainee"
        } else {
            "Hello, Browser Trainee"
        };
        assert!(text.contains(hello), "{text}");
        screenshot(&browser, &format!("home-360-{suffix}")).await;

        browser
            .find(Locator::Css("form[action='/logout'] button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        browser
            .wait()
            .for_url(&url::Url::parse(&app.url("/")).unwrap())
            .await
            .unwrap();
        assert!(browser.find(Locator::Css("a[href='/login']")).await.is_ok());

        log_in(&browser, &app, &email).await;
        assert!(body_text(&browser).await.contains(hello));
        browser.goto(&app.url("/profile")).await.unwrap();
        screenshot(&browser, &format!("profile-360-{suffix}")).await;
        browser.close().await.unwrap();
    }
}

/// Clicks the right (or wrong) answers of a quiz in the browser and submits it.
pub(crate) async fn answer_quiz(browser: &Client, quiz: &kaibo::courses::model::Quiz, right: bool) {
    use kaibo::courses::model::QuestionKind;
    for q in &quiz.questions {
        match &q.kind {
            QuestionKind::Single(c) | QuestionKind::TrueFalse(c) => {
                let pick = c.iter().find(|c| c.correct == right).unwrap();
                let css = format!("input[name='q-{}'][value='{}']", q.id, pick.id);
                browser
                    .find(Locator::Css(&css))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
            }
            QuestionKind::Multiple(c) => {
                for pick in c.iter().filter(|c| c.correct == right) {
                    let css = format!("input[name='q-{}'][value='{}']", q.id, pick.id);
                    browser
                        .find(Locator::Css(&css))
                        .await
                        .unwrap()
                        .click()
                        .await
                        .unwrap();
                }
            }
            QuestionKind::Short(accepted) => {
                let value = if right {
                    accepted[0].clone()
                } else {
                    "no idea".into()
                };
                fill(browser, &format!("input[name='q-{}']", q.id), &value).await;
            }
            QuestionKind::Numeric { min, max, .. } => {
                let value = if right {
                    format!("{}", (min + max) / 2.0)
                } else {
                    "-1".into()
                };
                fill(browser, &format!("input[name='q-{}']", q.id), &value).await;
            }
        }
    }
    browser
        .find(Locator::Css("form.quiz button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Wait for the result page.
    browser
        .wait()
        .for_element(Locator::Css("section.score"))
        .await
        .unwrap();
}

#[tokio::test]
async fn chromium_reads_a_lesson_fails_and_passes_a_quiz() {
    let Some((driver_path, chromium)) = browser_tools() else {
        assert!(
            std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
            "chromium missing but KAIBO_REQUIRE_BROWSER is set"
        );
        eprintln!("SKIPPED course browser test: chromium and chromedriver are not installed");
        return;
    };
    let course = kaibo::courses::loader::load_course(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("courses/first-live-sale"),
    )
    .course
    .unwrap();
    let first = &course.modules[0];
    let second = &course.modules[1];
    let quiz = first.quiz.as_ref().unwrap();
    let app = spawn_app().await;
    let email = app.create_user(kaibo::accounts::domain::Role::Trainee);
    let driver = start_driver(&driver_path).await;
    let browser = open_browser(&driver, &chromium, "en").await;

    log_in(&browser, &app, &email).await;

    browser.goto(&app.url("/courses")).await.unwrap();
    browser
        .find(Locator::LinkText(&course.title))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::LinkText(&first.lessons[0].title))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(body_text(&browser).await.contains(&first.lessons[0].title));
    screenshot(&browser, "lesson-360-en").await;
    browser
        .find(Locator::Css("form[action$='/complete'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Completing a lesson moves on to the next one.
    let next_lesson = app.url(&format!(
        "/courses/{}/{}/{}",
        course.slug, first.slug, first.lessons[1].slug
    ));
    browser
        .wait()
        .for_url(&url::Url::parse(&next_lesson).unwrap())
        .await
        .unwrap();

    let quiz_url = app.url(&format!("/courses/{}/{}/quiz", course.slug, first.slug));
    browser.goto(&quiz_url).await.unwrap();
    screenshot(&browser, "quiz-360-en").await;
    answer_quiz(&browser, quiz, false).await;
    let text = body_text(&browser).await;
    assert!(text.contains("Not passed yet"), "{text}");
    assert!(text.contains("Why:"));
    screenshot(&browser, "quiz-result-failed-360-en").await;

    browser
        .find(Locator::LinkText("Try again"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    answer_quiz(&browser, quiz, true).await;
    let text = body_text(&browser).await;
    assert!(text.contains("Passed"), "{text}");
    screenshot(&browser, "quiz-result-passed-360-en").await;

    let next = browser
        .find(Locator::Css(".score a.button.primary"))
        .await
        .unwrap();
    next.click().await.unwrap();
    let lesson = browser
        .find(Locator::LinkText(&second.lessons[0].title))
        .await
        .expect("the next module's lessons are listed: it is unlocked");
    lesson.click().await.unwrap();
    assert!(body_text(&browser).await.contains(&second.lessons[0].title));
    browser.close().await.unwrap();
}

pub(crate) async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn chromium_reviews_missed_questions_and_an_instructor_reads_the_cohort() {
    let Some((driver_path, chromium)) = browser_tools() else {
        assert!(
            std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
            "chromium missing but KAIBO_REQUIRE_BROWSER is set"
        );
        eprintln!("SKIPPED review browser test: chromium and chromedriver are not installed");
        return;
    };
    use kaibo::accounts::domain::Role;
    let course = kaibo::courses::loader::load_course(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("courses/first-live-sale"),
    )
    .course
    .unwrap();
    let first = &course.modules[0];
    let app = spawn_app().await;
    let email = app.create_user(Role::Trainee);
    let driver = start_driver(&driver_path).await;
    let browser = open_browser(&driver, &chromium, "en").await;
    log_in(&browser, &app, &email).await;
    browser
        .goto(&app.url(&format!(
            "/courses/{}/{}/{}",
            course.slug, first.slug, first.lessons[0].slug
        )))
        .await
        .unwrap();
    browser
        .goto(&app.url(&format!("/courses/{}/{}/quiz", course.slug, first.slug)))
        .await
        .unwrap();
    answer_quiz(&browser, first.quiz.as_ref().unwrap(), false).await;

    browser.goto(&app.url("/learn")).await.unwrap();
    let text = body_text(&browser).await;
    let missed = first.quiz.as_ref().unwrap().questions.len();
    assert!(
        text.contains(&format!("Questions due for review: {missed}")),
        "{text}"
    );
    assert!(text.contains("Continue where you left off"));
    full_screenshot(&browser, "dashboard-360-en").await;

    click(&browser, "a[href='/review']").await;
    browser
        .wait()
        .for_element(Locator::Css("form.quiz"))
        .await
        .unwrap();
    screenshot(&browser, "review-360-en").await;
    // Answer with the first option, or a typed guess.
    if browser
        .find(Locator::Css(
            "form.quiz input.option, form.quiz label.option input",
        ))
        .await
        .is_ok()
    {
        click(&browser, "form.quiz label.option input").await;
    } else {
        fill(&browser, "form.quiz input[name^='q-']", "a guess").await;
    }
    click(&browser, "form.quiz button[type=submit]").await;
    browser
        .wait()
        .for_element(Locator::Css("section.question"))
        .await
        .unwrap();
    let text = body_text(&browser).await;
    assert!(text.contains("This question comes back on"), "{text}");
    screenshot(&browser, "review-result-360-en").await;

    // The dashboard in Chinese.
    browser.goto(&app.url("/learn")).await.unwrap();
    click(&browser, "form.lang button[value='zh-CN']").await;
    browser
        .wait()
        .for_element(Locator::Css("html[lang='zh-CN']"))
        .await
        .unwrap();
    assert!(body_text(&browser).await.contains("待复习的题目"));
    full_screenshot(&browser, "dashboard-360-zh").await;
    browser.close().await.unwrap();

    let instructor = app.create_user(Role::Instructor);
    let browser = open_browser(&driver, &chromium, "en").await;
    log_in_to(&browser, &app, &instructor, "/instructor").await;
    click(&browser, "a[href='/instructor/courses']").await;
    click(
        &browser,
        &format!("a[href='/instructor/courses/{}/progress']", course.slug),
    )
    .await;
    browser
        .wait()
        .for_element(Locator::Css(".chart svg"))
        .await
        .unwrap();
    let text = body_text(&browser).await;
    assert!(text.contains("Completion funnel"), "{text}");
    full_screenshot(&browser, "cohort-360-en").await;
    click(
        &browser,
        &format!(
            "a[href^='/instructor/courses/{}/quizzes/{}']",
            course.slug, first.slug
        ),
    )
    .await;
    browser
        .wait()
        .for_element(Locator::Css("article.item"))
        .await
        .unwrap();
    assert!(body_text(&browser).await.contains("Attempts: 1"));
    full_screenshot(&browser, "items-360-en").await;
    click(
        &browser,
        "a[href^='/instructor/courses/first-live-sale/progress']",
    )
    .await;
    click(
        &browser,
        "a[href^='/instructor/courses/first-live-sale/trainees/']",
    )
    .await;
    browser
        .wait()
        .for_element(Locator::Css("details.attempt"))
        .await
        .unwrap();
    full_screenshot(&browser, "trainee-360-en").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn chromium_picks_matched_products_into_a_showcase() {
    let Some((driver_path, chromium)) = browser_tools() else {
        let reason = "SKIPPED browser test: chromium and chromedriver are not installed";
        assert!(
            std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
            "{reason}, but KAIBO_REQUIRE_BROWSER is set"
        );
        eprintln!("{reason}");
        return;
    };
    use kaibo::accounts::domain::Role;
    let app = crate::selection::sandbox_app(5_000).await;
    // The course steps and the profile over HTTP; the selection itself in the browser.
    let email = app.create_user(Role::Trainee);
    let http = new_client();
    app.login_with(&http, &email, PASSWORD).await;
    crate::selection::unlock(&app, &http, true).await;
    crate::selection::beauty_profile(&app, &http).await;

    let driver = start_driver(&driver_path).await;
    let browser = open_browser(&driver, &chromium, "en").await;
    log_in(&browser, &app, &email).await;
    browser.goto(&app.url("/selection")).await.unwrap();
    let text = body_text(&browser).await;
    assert!(text.contains("In your niche: Beauty"), "{text}");
    full_screenshot(&browser, "selection-360-en").await;

    // Search with a typo through the form.
    fill(&browser, "#q", "sreum").await;
    click(&browser, "form[role=search] button[type=submit]").await;
    browser
        .wait()
        .for_element(Locator::Css("input#q[value='sreum']"))
        .await
        .unwrap();
    let text = body_text(&browser).await;
    assert!(text.contains("Serum"), "a typo still finds serums: {text}");
    screenshot(&browser, "selection-search-360-en").await;

    // Choose a price on the product page, check the margin, add it.
    click(&browser, "ol.matches li:first-child h2 a").await;
    browser
        .wait()
        .for_element(Locator::Css("#price"))
        .await
        .unwrap();
    let min_text = body_text(&browser).await;
    assert!(min_text.contains("Your margin per sale"));
    click(
        &browser,
        "form[action='/showcase/items'] button[type=submit]",
    )
    .await;
    browser
        .wait()
        .for_url(&url::Url::parse(&app.url("/showcase")).unwrap())
        .await
        .unwrap();
    let text = body_text(&browser).await;
    assert!(text.contains("1 / 20"), "{text}");
    full_screenshot(&browser, "showcase-360-en").await;

    // A price outside the range is named on the field.
    fill(&browser, "form.price-form input[name=price]", "0.01").await;
    click(&browser, "form.price-form button[type=submit]").await;
    browser
        .wait()
        .for_element(Locator::Css(".field-error"))
        .await
        .unwrap();
    assert!(body_text(&browser).await.contains("Choose a price from"));
    screenshot(&browser, "showcase-error-360-en").await;

    browser
        .goto(&app.url("/selection/products/1?price=1"))
        .await
        .unwrap();
    full_screenshot(&browser, "product-360-en").await;

    // The same list in Chinese.
    browser.goto(&app.url("/selection")).await.unwrap();
    click(&browser, "form.lang button[value='zh-CN']").await;
    browser
        .wait()
        .for_element(Locator::Css("html[lang='zh-CN']"))
        .await
        .unwrap();
    let text = body_text(&browser).await;
    assert!(text.contains("属于你的领域"), "{text}");
    screenshot(&browser, "selection-360-zh").await;
    browser.close().await.unwrap();

    // The supplier portal and the instructors' view.
    let supplier = app.create_user(Role::Supplier);
    let browser = open_browser(&driver, &chromium, "en").await;
    log_in_to(&browser, &app, &supplier, "/supplier").await;
    browser.goto(&app.url("/supplier/catalog")).await.unwrap();
    fill(&browser, "#name", "Hangzhou Browser Goods").await;
    browser
        .find(Locator::Css("#region option[value='zhejiang']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(
        &browser,
        "form[action='/supplier/catalog/profile'] button[type=submit]",
    )
    .await;
    browser
        .wait()
        .for_element(Locator::Css("#file"))
        .await
        .unwrap();
    assert!(body_text(&browser).await.contains("Upload a CSV file"));
    full_screenshot(&browser, "supplier-catalog-360-en").await;
    browser.close().await.unwrap();

    let instructor = app.create_user(Role::Instructor);
    let browser = open_browser(&driver, &chromium, "en").await;
    log_in_to(&browser, &app, &instructor, "/instructor").await;
    browser
        .goto(&app.url("/instructor/showcases"))
        .await
        .unwrap();
    assert!(body_text(&browser).await.contains("Most picked products"));
    full_screenshot(&browser, "instructor-showcases-360-en").await;
    browser.close().await.unwrap();
}

/// `click` on a page whose live script may replace the element between finding and
/// clicking it: finds it again until the click lands.
pub(crate) async fn click_live(browser: &Client, css: &str) {
    for _ in 0..50 {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && element.click().await.is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{css}: could not click");
}

/// Waits (bounded) until the page shows `text`: after a form post and its redirect.
pub(crate) async fn wait_text(browser: &Client, text: &str) {
    for _ in 0..100 {
        if let Ok(body) = browser.find(Locator::Css("body")).await
            && let Ok(t) = body.text().await
            && t.contains(text)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the page never showed {text:?}: {}",
        body_text(browser).await
    );
}
