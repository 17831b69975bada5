//! Courses through HTTP: catalog, lessons, completion, quizzes (fail, feedback, retry,
//! pass), gating, attempt limits, bad submissions, assets, instructor preview, --watch.

use std::path::{Path, PathBuf};

use kaibo::accounts::domain::Role;
use kaibo::courses::model::{Course, QuestionKind};

use crate::helpers::*;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/courses")
}

pub async fn mini_app() -> TestApp {
    spawn_app_with(|raw| raw.courses = fixtures()).await
}

pub async fn trainee(app: &TestApp) -> reqwest::Client {
    app.logged_in_as(Role::Trainee).await
}

pub async fn html(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = app.get_with(client, path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Right answers for every question of a module's quiz, as form fields.
pub fn answers(course: &Course, module: &str, right: bool) -> Vec<(String, String)> {
    let quiz = course.module(module).unwrap().quiz.as_ref().unwrap();
    let mut fields = Vec::new();
    for q in &quiz.questions {
        let name = format!("q-{}", q.id);
        match &q.kind {
            QuestionKind::Single(c) | QuestionKind::TrueFalse(c) => {
                let pick = c.iter().find(|c| c.correct == right).unwrap();
                fields.push((name, pick.id.clone()));
            }
            QuestionKind::Multiple(c) => {
                for choice in c.iter().filter(|c| c.correct == right) {
                    fields.push((name.clone(), choice.id.clone()));
                }
            }
            QuestionKind::Short(accepted) => fields.push((
                name,
                if right {
                    format!("  {}  ", accepted[0].to_uppercase())
                } else {
                    "no idea".into()
                },
            )),
            QuestionKind::Numeric { min, max, .. } => fields.push((
                name,
                if right {
                    format!("{}", (min + max) / 2.0)
                } else {
                    format!("{}", max + 1000.0)
                },
            )),
        }
    }
    fields
}

pub async fn submit(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post_form_with(client, path, &refs).await
}

#[tokio::test]
async fn a_trainee_reads_fails_retries_passes_and_unlocks_the_next_module() {
    // The real starter course, as a trainee meets it.
    let app = spawn_app().await;
    let course = kaibo::courses::loader::load_course(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("courses/first-live-sale"),
    )
    .course
    .expect("starter course loads");
    let first = &course.modules[0];
    let second = &course.modules[1];
    let client = trainee(&app).await;

    let (status, catalog) = html(&app, &client, "/courses").await;
    assert_eq!(status, 200);
    assert!(catalog.contains(&course.title));

    let (_, overview) = html(&app, &client, "/courses/first-live-sale").await;
    assert!(overview.contains(&first.title) && overview.contains(&second.title));

    // The second module is locked and says what to finish first.
    let second_lesson = format!(
        "/courses/first-live-sale/{}/{}",
        second.slug, second.lessons[0].slug
    );
    let (status, page) = html(&app, &client, &second_lesson).await;
    assert_eq!(status, 403);
    assert!(page.contains(&first.title), "names the module to finish");

    let lesson = format!(
        "/courses/first-live-sale/{}/{}",
        first.slug, first.lessons[0].slug
    );
    let (status, page) = html(&app, &client, &lesson).await;
    assert_eq!(status, 200);
    assert!(page.contains(&first.lessons[0].title));
    assert!(page.contains("Mark as complete"));
    let response = app
        .post_form_with(&client, &format!("{lesson}/complete"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = html(&app, &client, &lesson).await;
    assert!(page.contains("You completed this lesson."));

    // Fail the quiz, and see feedback and explanations.
    let quiz_url = format!("/courses/first-live-sale/{}/quiz", first.slug);
    let response = submit(
        &app,
        &client,
        &quiz_url,
        &answers(&course, &first.slug, false),
    )
    .await;
    assert_eq!(response.status(), 303);
    let result_url = location(&response);
    assert!(result_url.ends_with("/quiz/attempts/1"), "{result_url}");
    let (_, result) = html(&app, &client, &result_url).await;
    assert!(result.contains("Not passed yet"), "{result}");
    assert!(result.contains("Why:"));
    assert!(
        result.contains("class=\"feedback\""),
        "feedback for the picked options"
    );
    assert!(result.contains("Correct answer"));
    assert_eq!(
        html(&app, &client, &second_lesson).await.0,
        403,
        "still locked"
    );

    // Pass on the retry; the next module opens.
    let response = submit(
        &app,
        &client,
        &quiz_url,
        &answers(&course, &first.slug, true),
    )
    .await;
    assert!(location(&response).ends_with("/quiz/attempts/2"));
    let (_, result) = html(&app, &client, &location(&response)).await;
    assert!(result.contains("100%"), "{result}");
    assert!(result.contains("Passed"));
    assert!(result.contains("Next module"));
    assert_eq!(html(&app, &client, &second_lesson).await.0, 200, "unlocked");
}

#[tokio::test]
async fn the_quiz_page_holds_no_answer_key() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let (status, page) = html(&app, &client, "/courses/mini/basics/quiz").await;
    assert_eq!(status, 200);
    for secret in ["SECRET-FEEDBACK", "SECRET-WHY", "GMV", "± 0.5", "correct"] {
        assert!(!page.contains(secret), "{secret} leaked into the quiz page");
    }
    assert!(page.contains("name=\"q-sky\""));
    // The same trainee sees the same option order on reload (shuffle is per attempt).
    let (_, page) = html(&app, &client, "/courses/mini/basics/quiz").await;
    let (_, again) = html(&app, &client, "/courses/mini/basics/quiz").await;
    assert_eq!(
        page.replace(&csrf_token(&page), ""),
        again.replace(&csrf_token(&again), "")
    );
}

#[tokio::test]
async fn grading_gives_partial_credit_and_accepts_loose_short_answers() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let fields: Vec<(String, String)> = [
        ("q-sky", "b"),
        ("q-fruit", "a"), // one of two right picks: half of 2 points
        ("q-boil", "a"),
        ("q-gmv", "  Gross   Merchandise VALUE "),
        ("q-percent", "25.3"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let response = submit(&app, &client, "/courses/mini/basics/quiz", &fields).await;
    assert_eq!(response.status(), 303);
    let (_, result) = html(&app, &client, &location(&response)).await;
    assert!(result.contains("5 of 6 points"), "{result}");
    assert!(result.contains("Partly correct"));
    assert!(result.contains("83%"));
    assert!(result.contains("Passed"));
}

#[tokio::test]
async fn bad_submissions_are_refused_and_not_counted() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let url = "/courses/mini/basics/quiz";
    let good = |extra: &[(&str, &str)], skip: &str| -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = [
            ("q-sky", "b"),
            ("q-fruit", "a"),
            ("q-boil", "a"),
            ("q-gmv", "GMV"),
            ("q-percent", "25"),
        ]
        .iter()
        .filter(|(k, _)| *k != skip)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        fields
    };
    let long = "x".repeat(201);
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (good(&[], "q-gmv"), "Please answer every question"),
        (good(&[("q-evil", "a")], ""), "not part of this quiz"),
        (good(&[("q-sky", "z")], "q-sky"), "not one of the options"),
        (good(&[("q-sky", "a")], ""), "answered more than once"),
        (good(&[("q-gmv", &long)], "q-gmv"), "too long"),
    ];
    for (fields, message) in cases {
        let response = submit(&app, &client, url, &fields).await;
        assert_eq!(response.status(), 422, "{message}");
        assert!(
            response.text().await.unwrap().contains(message),
            "{message}"
        );
    }
    // None of them used an attempt: the first real one is attempt 1.
    let response = submit(&app, &client, url, &good(&[], "")).await;
    assert!(location(&response).ends_with("/attempts/1"));
}

#[tokio::test]
async fn the_attempt_limit_is_enforced_on_the_server() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let wrong: Vec<(String, String)> = [
        ("q-sky", "a"),
        ("q-fruit", "c"),
        ("q-boil", "b"),
        ("q-gmv", "no"),
        ("q-percent", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for n in 1..=3 {
        let response = submit(&app, &client, "/courses/mini/basics/quiz", &wrong).await;
        assert!(location(&response).ends_with(&format!("/attempts/{n}")));
    }
    let response = submit(&app, &client, "/courses/mini/basics/quiz", &wrong).await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("used all your attempts")
    );
    let (_, page) = html(&app, &client, "/courses/mini/basics/quiz").await;
    assert!(!page.contains("Submit answers"));
    assert_eq!(
        html(&app, &client, "/courses/mini/basics/quiz/attempts/4")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn a_locked_module_refuses_its_quiz_and_completion() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    assert_eq!(html(&app, &client, "/courses/mini/next/after").await.0, 403);
    let response = app
        .post_form_with(&client, "/courses/mini/next/after/complete", &[])
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn another_trainee_cannot_read_my_attempt() {
    let app = mini_app().await;
    let me = trainee(&app).await;
    let fields = vec![("q-sky".to_string(), "b".to_string())];
    let _ = submit(&app, &me, "/courses/mini/basics/quiz", &fields).await;
    let all: Vec<(String, String)> = [
        ("q-sky", "b"),
        ("q-fruit", "a"),
        ("q-boil", "a"),
        ("q-gmv", "GMV"),
        ("q-percent", "25"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let response = submit(&app, &me, "/courses/mini/basics/quiz", &all).await;
    let mine = location(&response);
    assert_eq!(html(&app, &me, &mine).await.0, 200);
    let other = trainee(&app).await;
    assert_eq!(html(&app, &other, &mine).await.0, 404);
}

#[tokio::test]
async fn lesson_markdown_is_rendered_sanitised_and_linked() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let (_, page) = html(&app, &client, "/courses/mini/basics/hello").await;
    assert!(page.contains("<strong>hello</strong>"));
    assert!(page.contains("href=\"/courses/mini/basics/second\""));
    assert!(page.contains("src=\"/courses/mini/assets/dot.svg\""));
    assert!(!page.contains("<script>alert"), "author HTML is cleaned");
    assert!(page.contains("rel=\"next\" href=\"/courses/mini/basics/second\""));
}

#[tokio::test]
async fn assets_are_served_and_traversal_is_refused() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let response = app.get_with(&client, "/courses/mini/assets/dot.svg").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    for path in [
        "/courses/mini/assets/../_index.md",
        "/courses/mini/assets/%2e%2e/_index.md",
        "/courses/mini/assets/..%2f_index.md",
        "/courses/mini/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/courses/mini/assets/..%5c_index.md",
        "/courses/mini/assets/nothing.svg",
        "/courses/mini/assets/",
    ] {
        let status = app.get_with(&client, path).await.status();
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn broken_courses_are_not_served_and_instructors_see_why() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let (_, catalog) = html(&app, &client, "/courses").await;
    assert!(catalog.contains("Mini course"));
    assert!(!catalog.contains("Broken course"));
    assert_eq!(html(&app, &client, "/courses/broken-one").await.0, 404);

    let instructor = app.logged_in_as(Role::Instructor).await;
    let (status, list) = html(&app, &instructor, "/instructor/courses").await;
    assert_eq!(status, 200);
    assert!(list.contains("Not served (errors)"));
    let (_, preview) = html(&app, &instructor, "/instructor/courses/broken-one").await;
    assert!(preview.contains("01-only/_index.md:3:13"), "{preview}");
    assert!(preview.contains("requires module `nowhere`"));
    let (_, preview) = html(&app, &instructor, "/instructor/courses/mini").await;
    assert!(
        preview.contains("SECRET-FEEDBACK") || preview.contains("✓ Blue"),
        "instructors see the key"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Polls a page until `check` holds, for at most ten seconds: the watcher works in the
/// background, so the test waits for its effect rather than for a fixed time.
async fn eventually(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    for _ in 0..100 {
        let (_, page) = html(app, client, path).await;
        if check(&page) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never changed as expected");
}

#[tokio::test]
async fn watch_reloads_edits_and_keeps_the_last_good_version_while_broken() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("mini"), &dir.path().join("mini"));
    let root = dir.path().to_path_buf();
    let app = spawn_app_with(|raw| {
        raw.courses = root.clone();
        raw.watch = true;
    })
    .await;
    let client = trainee(&app).await;
    let lesson = dir.path().join("mini/01-basics/02-second.md");
    let (_, page) = html(&app, &client, "/courses/mini/basics/second").await;
    assert!(page.contains("The second lesson of the basics."));

    std::fs::write(
        &lesson,
        "+++\ntitle = \"Second\"\n+++\n\nFreshly edited text.\n",
    )
    .unwrap();
    eventually(&app, &client, "/courses/mini/basics/second", |p| {
        p.contains("Freshly edited text.")
    })
    .await;

    // A broken edit: trainees keep the last good version, instructors see the error.
    std::fs::write(
        &lesson,
        "+++\ntitle = \"Second\"\nnonsense = 1\n+++\n\nBroken text.\n",
    )
    .unwrap();
    let instructor = app.logged_in_as(Role::Instructor).await;
    eventually(&app, &instructor, "/instructor/courses/mini", |p| {
        p.contains("unknown field `nonsense`")
    })
    .await;
    let (status, page) = html(&app, &client, "/courses/mini/basics/second").await;
    assert_eq!(status, 200);
    assert!(page.contains("Freshly edited text."));
    assert!(!page.contains("Broken text."));
}

/// Submissions of one quiz that arrive at once (two tabs, a double tap) are all stored,
/// numbered 1, 2, 3…: none is refused as "no attempts left" on an unlimited quiz.
#[tokio::test]
async fn concurrent_submissions_of_one_quiz_are_all_stored() {
    use diesel::prelude::*;
    use kaibo::db::schema::quiz_attempts;
    let app = spawn_app().await;
    let course = kaibo::courses::loader::load_course(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("courses/first-live-sale"),
    )
    .course
    .unwrap();
    let module = &course.modules[0];
    let client = trainee(&app).await;
    let path = format!("/courses/{}/{}/quiz", course.slug, module.slug);
    let fields = answers(&course, &module.slug, false);
    let sent = (0..8).map(|_| submit(&app, &client, &path, &fields));
    let statuses: Vec<u16> = futures_util::future::join_all(sent)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 303),
        "{statuses:?}"
    );
    let mut conn = app.pool.get().unwrap();
    let mut numbers: Vec<i32> = quiz_attempts::table
        .filter(quiz_attempts::module_slug.eq(&module.slug))
        .select(quiz_attempts::attempt_number)
        .load(&mut conn)
        .unwrap();
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
}
