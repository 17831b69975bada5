//! Instructor views through HTTP: cohort progress, drill-down, item analysis checked
//! against a hand-computed example, groups, and exports (CSV and xAPI).

use chrono::Duration;
use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::analytics::xapi;
use kaibo::db::schema::{quiz_attempts, users};

use crate::courses::{fixtures, html, mini_app, submit, trainee};
use crate::helpers::*;

/// True when the page shows a number that is not one ("NaN", "inf"). The page's CSRF
/// token is random base64 and may spell either by chance, so it is left out of the search.
fn shows_a_non_number(page: &str) -> bool {
    let text = page.replace(&csrf_token(page), "");
    text.contains("NaN") || text.contains("inf")
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The mini quiz: sky (1 pt; a Green, b Blue ✓, c Red), fruit (2 pt, multiple; a Apple
/// ✓, b Pear ✓, c Carrot), boil (1 pt; a True ✓), gmv (1 pt, short), percent (1 pt,
/// numeric 25 ± 0.5).
///
/// Four first attempts, with points per question (sky, fruit, boil, gmv, percent):
///   T1: 1, 2,  1, 1, 1 = 6
///   T2: 1, 1,  1, 0, 0 = 3   (fruit: Apple only = half)
///   T3: 0, 0,  1, 1, 0 = 2   (fruit: Carrot)
///   T4: 0, 0,  1, 0, 0 = 1   (fruit: Apple + Carrot = one right, one wrong = 0)
fn answer_sheets() -> Vec<Vec<(String, String)>> {
    vec![
        fields(&[
            ("q-sky", "b"),
            ("q-fruit", "a"),
            ("q-fruit", "b"),
            ("q-boil", "a"),
            ("q-gmv", "GMV"),
            ("q-percent", "25"),
        ]),
        fields(&[
            ("q-sky", "b"),
            ("q-fruit", "a"),
            ("q-boil", "a"),
            ("q-gmv", "no"),
            ("q-percent", "99"),
        ]),
        fields(&[
            ("q-sky", "a"),
            ("q-fruit", "c"),
            ("q-boil", "a"),
            ("q-gmv", "gmv"),
            ("q-percent", "1"),
        ]),
        fields(&[
            ("q-sky", "a"),
            ("q-fruit", "a"),
            ("q-fruit", "c"),
            ("q-boil", "a"),
            ("q-gmv", "x"),
            ("q-percent", "2"),
        ]),
    ]
}

/// The section of one question on the item-analysis page.
fn item_row<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"item-{id}\""))
        .unwrap_or_else(|| panic!("no row for {id}"));
    &page[start..start + page[start..].find("</article>").unwrap()]
}

async fn four_trainees(app: &TestApp) -> Vec<reqwest::Client> {
    let mut clients = Vec::new();
    for sheet in answer_sheets() {
        let client = trainee(app).await;
        let response = submit(app, &client, "/courses/mini/basics/quiz", &sheet).await;
        assert_eq!(response.status(), 303);
        clients.push(client);
    }
    clients
}

#[tokio::test]
async fn item_analysis_matches_the_hand_computed_example() {
    let app = mini_app().await;
    let clients = four_trainees(&app).await;
    let instructor = app.logged_in_as(Role::Instructor).await;
    let (status, page) = html(&app, &instructor, "/instructor/courses/mini/quizzes/basics").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Attempts: 4"));
    assert!(!shows_a_non_number(&page), "{page}");

    // sky: scores 1,1,0,0 → facility 0.5, SD √(1/3) = 0.577; rest of test 5,2,2,1 →
    // Σdxdy = 2, Σdx² = 1, Σdy² = 9 → r = 2/3.
    let sky = item_row(&page, "sky");
    assert!(sky.contains("<dd>4</dd>"), "{sky}");
    assert!(sky.contains("<dd>50%</dd>"), "{sky}");
    assert!(sky.contains("<dd>58%</dd>"), "{sky}");
    assert!(sky.contains("<dd>0.67</dd>"), "{sky}");
    // Green was picked twice, Blue twice, Red never.
    assert!(sky.contains("<code>a</code> Green: 2 (50%)"), "{sky}");
    assert!(sky.contains("<code>c</code> Red: 0 (0%)"), "{sky}");
    // gmv: 1,0,1,0; rest 5,3,1,1 → Σdxdy = 1, Σdy² = 11 → r = 1/√11 = 0.30 (flagged).
    let gmv = item_row(&page, "gmv");
    assert!(gmv.contains("<dd>0.30</dd>"), "{gmv}");
    assert!(!gmv.contains("low discrimination"), "{gmv}");
    // percent: 1,0,0,0 → facility 25%; rest 5,3,2,1 → r = 2.25/√(0.75 × 8.75) = 0.88.
    let percent = item_row(&page, "percent");
    assert!(percent.contains("<dd>25%</dd>"), "{percent}");
    assert!(percent.contains("<dd>0.88</dd>"), "{percent}");
    // boil: everyone right → too easy, and no spread to correlate.
    let boil = item_row(&page, "boil");
    assert!(boil.contains("<dd>100%</dd>"), "{boil}");
    assert!(boil.contains("too easy"), "{boil}");
    assert!(boil.contains("not enough data"), "{boil}");

    // A second attempt counts only when all attempts are asked for.
    let retry = fields(&[
        ("q-sky", "b"),
        ("q-fruit", "a"),
        ("q-fruit", "b"),
        ("q-boil", "a"),
        ("q-gmv", "GMV"),
        ("q-percent", "25"),
    ]);
    submit(&app, &clients[3], "/courses/mini/basics/quiz", &retry).await;
    let (_, first) = html(&app, &instructor, "/instructor/courses/mini/quizzes/basics").await;
    assert!(first.contains("Attempts: 4"));
    let (_, all) = html(
        &app,
        &instructor,
        "/instructor/courses/mini/quizzes/basics?attempts=all",
    )
    .await;
    assert!(all.contains("Attempts: 5"), "{all}");
    let (status, _) = html(
        &app,
        &instructor,
        "/instructor/courses/mini/quizzes/basics?attempts=some",
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn one_attempt_or_none_shows_not_enough_data_never_nan() {
    let app = mini_app().await;
    let instructor = app.logged_in_as(Role::Instructor).await;
    let (status, page) = html(&app, &instructor, "/instructor/courses/mini/quizzes/basics").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Attempts: 0"), "{page}");
    assert!(page.contains("not enough data"), "{page}");
    let one = trainee(&app).await;
    let response = submit(&app, &one, "/courses/mini/basics/quiz", &answer_sheets()[1]).await;
    let status = response.status();
    assert_eq!(status, 303, "{}", response.text().await.unwrap());
    let (status, page) = html(&app, &instructor, "/instructor/courses/mini/quizzes/basics").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Attempts: 1"), "{page}");
    assert!(page.contains("With fewer than two attempts"), "{page}");
    assert!(!shows_a_non_number(&page), "{page}");
    let (status, cohort) = html(&app, &instructor, "/instructor/courses/mini/progress").await;
    assert_eq!(status, 200, "{cohort}");
    assert!(!shows_a_non_number(&cohort), "{cohort}");
    assert!(
        cohort.contains("not enough data"),
        "median time without completions: {cohort}"
    );
}

#[tokio::test]
async fn a_changed_quiz_splits_its_statistics_by_version() {
    let app = mini_app().await;
    four_trainees(&app).await;
    {
        let mut conn = app.pool.get().unwrap();
        let first: i64 = quiz_attempts::table
            .select(diesel::dsl::min(quiz_attempts::id))
            .first::<Option<i64>>(&mut conn)
            .unwrap()
            .unwrap();
        diesel::update(quiz_attempts::table.filter(quiz_attempts::id.eq(first)))
            .set(quiz_attempts::quiz_version.eq("0ld-version-hash"))
            .execute(&mut conn)
            .unwrap();
    }
    let instructor = app.logged_in_as(Role::Instructor).await;
    let (_, page) = html(&app, &instructor, "/instructor/courses/mini/quizzes/basics").await;
    assert!(
        page.contains("The statistics are split by version"),
        "{page}"
    );
    assert!(page.contains("Current version"));
    assert!(page.contains("Earlier version"));
    assert!(page.contains("Attempts: 3"));
    assert!(page.contains("Attempts: 1"));
}

/// The mini course with sessions that outlive the days the clock is moved on.
async fn long_sessions_app() -> TestApp {
    spawn_app_with(|raw| {
        raw.courses = fixtures();
        raw.session_idle_minutes = 60 * 24 * 30;
        raw.session_absolute_hours = 24 * 30;
    })
    .await
}

#[tokio::test]
async fn the_cohort_page_shows_the_funnel_median_and_who_is_stuck() {
    let app = long_sessions_app().await;
    let clients = four_trainees(&app).await;
    // T1 passed basics; finishing the last lesson completes the course.
    let done = &clients[0];
    app.clock.advance(Duration::days(2));
    app.post_form_with(done, "/courses/mini/next/after/complete", &[])
        .await;
    // Everyone else goes quiet for 8 days.
    app.clock.advance(Duration::days(8));
    let instructor = app.logged_in_as(Role::Instructor).await;
    let (status, page) = html(&app, &instructor, "/instructor/courses/mini/progress").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<svg"), "the funnel is drawn");
    assert!(page.contains("Completion funnel"));
    // Enrolled 4, Basics 1 (only T1 passed at 80%), Next steps 1.
    assert!(
        page.contains("<dt>Trainees enrolled</dt><dd>4</dd>"),
        "{page}"
    );
    assert!(page.contains("<dt>Completed the course</dt><dd>1</dd>"));
    assert!(
        page.contains("<dt>Median time to complete</dt><dd>2.0 days</dd>"),
        "{page}"
    );
    assert!(
        page.contains("<dt>No progress for 7+ days</dt><dd>3</dd>"),
        "{page}"
    );
    // Drill down into one trainee, with their answers.
    let start = page.find("/instructor/courses/mini/trainees/").unwrap();
    let link = &page[start..start + page[start..].find('"').unwrap()];
    let (status, detail) = html(&app, &instructor, link).await;
    assert_eq!(status, 200);
    assert!(detail.contains("Attempt 1"));
    assert!(detail.contains("Your answer"));
    // Stuck after 30 days: nobody yet.
    let (_, relaxed) = html(
        &app,
        &instructor,
        "/instructor/courses/mini/progress?stuck_days=30",
    )
    .await;
    assert!(relaxed.contains("Nobody is stuck."));
}

#[tokio::test]
async fn trainees_are_refused_instructor_pages_and_drill_downs() {
    let app = mini_app().await;
    let clients = four_trainees(&app).await;
    let mut conn = app.pool.get().unwrap();
    let ids: Vec<i64> = users::table
        .filter(users::role.eq("trainee"))
        .select(users::id)
        .load(&mut conn)
        .unwrap();
    for path in [
        "/instructor/courses/mini/progress".to_string(),
        format!("/instructor/courses/mini/trainees/{}", ids[1]),
        "/instructor/courses/mini/quizzes/basics".to_string(),
        "/instructor/export/attempts.csv?course=mini".to_string(),
        "/instructor/groups".to_string(),
    ] {
        assert_eq!(html(&app, &clients[0], &path).await.0, 403, "{path}");
    }
    let supplier = app.logged_in_as(Role::Supplier).await;
    assert_eq!(
        html(&app, &supplier, "/instructor/courses/mini/progress")
            .await
            .0,
        403
    );
    // Staff see an enrolled trainee; a non-trainee or unknown id is simply not found.
    let instructor = app.logged_in_as(Role::Instructor).await;
    let url = format!("/instructor/courses/mini/trainees/{}", ids[1]);
    assert_eq!(html(&app, &instructor, &url).await.0, 200);
    assert_eq!(
        html(
            &app,
            &instructor,
            "/instructor/courses/mini/trainees/999999"
        )
        .await
        .0,
        404
    );
    assert_eq!(
        html(&app, &instructor, "/instructor/courses/mini/trainees/x")
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn groups_from_invite_codes_filter_every_view() {
    let app = mini_app().await;
    let instructor = app.logged_in_as(Role::Instructor).await;
    let response = app
        .post_form_with(&instructor, "/instructor/groups", &[("name", "  ")])
        .await;
    assert_eq!(response.status(), 422);
    let response = app
        .post_form_with(
            &instructor,
            "/instructor/groups",
            &[("name", "Nov <intake>")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, page) = html(&app, &instructor, "/instructor/groups").await;
    assert!(
        page.contains("Nov &") && !page.contains("<intake>"),
        "the name is escaped"
    );
    let start = page.find("<code class=\"code\">").unwrap() + "<code class=\"code\">".len();
    let code = page[start..start + 8].to_string();

    // A bad code is refused with a message at the field; a good one joins the group.
    let visitor = new_client();
    let csrf = app.csrf_with(&visitor).await;
    let form = |invite: &str, email: &str| {
        vec![
            ("csrf".to_string(), csrf.clone()),
            ("email".into(), email.into()),
            ("display_name".into(), "王小明".into()),
            ("password".into(), PASSWORD.into()),
            ("password_confirm".into(), PASSWORD.into()),
            ("invite".into(), invite.into()),
        ]
    };
    let response = visitor
        .post(app.url("/register"))
        .form(&form("WRONG123", "wang@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("invite-error"));
    let response = visitor
        .post(app.url("/register"))
        .form(&form(&code.to_lowercase(), "wang@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    submit(
        &app,
        &visitor,
        "/courses/mini/basics/quiz",
        &answer_sheets()[0],
    )
    .await;
    // Someone outside the group.
    let outsider = trainee(&app).await;
    submit(
        &app,
        &outsider,
        "/courses/mini/basics/quiz",
        &answer_sheets()[3],
    )
    .await;

    let (_, all) = html(&app, &instructor, "/instructor/courses/mini/progress").await;
    assert!(all.contains("<dt>Trainees enrolled</dt><dd>2</dd>"));
    let group_id = {
        let start = all.find("<option value=\"").unwrap();
        let rest = &all[start..];
        let id_start = rest[15..].find("<option value=\"").unwrap() + 15 + "<option value=\"".len();
        rest[id_start..id_start + rest[id_start..].find('"').unwrap()].to_string()
    };
    let (status, grouped) = html(
        &app,
        &instructor,
        &format!("/instructor/courses/mini/progress?group={group_id}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        grouped.contains("<dt>Trainees enrolled</dt><dd>1</dd>"),
        "{grouped}"
    );
    assert!(grouped.contains("王小明"));
    let (_, items) = html(
        &app,
        &instructor,
        &format!("/instructor/courses/mini/quizzes/basics?group={group_id}"),
    )
    .await;
    assert!(items.contains("Attempts: 1"));
    let month = app.clock.now().format("%Y-%m").to_string();
    let (_, intake) = html(
        &app,
        &instructor,
        &format!("/instructor/courses/mini/progress?intake={month}"),
    )
    .await;
    assert!(intake.contains("<dt>Trainees enrolled</dt><dd>2</dd>"));
    let (_, empty) = html(
        &app,
        &instructor,
        "/instructor/courses/mini/progress?intake=2020-01",
    )
    .await;
    assert!(empty.contains("No trainees match these filters yet."));
    assert!(!shows_a_non_number(&empty), "{empty}");

    for bad in [
        "group=abc",
        "group=999999",
        "intake=2026-13",
        "intake=soon",
        "stuck_days=0",
        "page=-1",
    ] {
        let response = app
            .get_with(
                &instructor,
                &format!("/instructor/courses/mini/progress?{bad}"),
            )
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        let body = response.text().await.unwrap();
        let value = bad.split('=').nth(1).unwrap();
        assert!(body.contains(value), "the message names {value}");
    }
}

use kaibo::clock::Clock;

#[tokio::test]
async fn exports_stream_csv_with_chinese_names_and_valid_xapi() {
    let app = mini_app().await;
    let instructor = app.logged_in_as(Role::Instructor).await;
    // A trainee with a Chinese name and a formula-like group never breaks the file.
    let visitor = new_client();
    let response = app
        .register_with_name(&visitor, "li@example.com", "李华, \"Lily\"")
        .await;
    assert_eq!(response.status(), 303);
    html(&app, &visitor, "/courses/mini/basics/hello").await;
    app.post_form_with(&visitor, "/courses/mini/basics/hello/complete", &[])
        .await;
    submit(
        &app,
        &visitor,
        "/courses/mini/basics/quiz",
        &answer_sheets()[1],
    )
    .await;
    submit(
        &app,
        &visitor,
        "/courses/mini/basics/quiz",
        &answer_sheets()[0],
    )
    .await;

    let response = app
        .get_with(&instructor, "/instructor/export/attempts.csv?course=mini")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte-order mark");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "attempt_id");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let name = header.iter().position(|h| h == "name").unwrap();
    assert_eq!(&rows[0][name], "李华, \"Lily\"");
    let passed = header.iter().position(|h| h == "passed").unwrap();
    assert_eq!((&rows[0][passed], &rows[1][passed]), ("false", "true"));

    let progress = app
        .get_with(&instructor, "/instructor/export/progress.csv?course=mini")
        .await
        .bytes()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(&progress[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "one row per module");
    assert_eq!(&rows[0][2], "李华, \"Lily\"");
    assert_eq!(
        (&rows[0][10], &rows[0][11], &rows[0][12], &rows[0][13]),
        ("1", "2", "2", "100.0")
    );

    // Dates outside the records leave only the header.
    let none = app
        .get_with(
            &instructor,
            "/instructor/export/attempts.csv?course=mini&from=2020-01-01&to=2020-01-31",
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(none.lines().count(), 1);

    let response = app
        .get_with(&instructor, "/instructor/export/xapi.json?course=mini")
        .await;
    assert_eq!(response.status(), 200);
    let statements: Vec<serde_json::Value> = response.json().await.unwrap();
    // 1 lesson completed + 2 attempts × (5 answered + 1 passed/failed).
    assert_eq!(statements.len(), 13);
    for s in &statements {
        let problems = xapi::shape_problems(s);
        assert!(problems.is_empty(), "{problems:?} in {s}");
        assert_eq!(s["actor"]["account"]["homePage"], app.settings_public_url());
    }
    let verbs: Vec<&str> = statements
        .iter()
        .map(|s| s["verb"]["display"]["en-US"].as_str().unwrap())
        .collect();
    for verb in ["completed", "answered", "failed", "passed"] {
        assert!(verbs.contains(&verb), "{verb} in {verbs:?}");
    }
    let passed = statements
        .iter()
        .find(|s| s["verb"]["display"]["en-US"] == "passed")
        .unwrap();
    assert_eq!(passed["result"]["success"], true);
    assert_eq!(passed["result"]["score"]["scaled"], 1.0);
    assert_eq!(passed["actor"]["name"], "李华, \"Lily\"");
}

#[tokio::test]
async fn bad_export_filters_get_a_400_with_a_message() {
    let app = mini_app().await;
    let instructor = app.logged_in_as(Role::Instructor).await;
    for (query, shown) in [
        ("course=nope", "nope"),
        ("", "Choose a course"),
        ("course=mini&from=2026-02-30", "from=2026-02-30"),
        ("course=mini&to=yesterday", "to=yesterday"),
        ("course=mini&from=2026-12-01&to=2026-11-01", "2026-12-01"),
        ("course=mini&group=x", "x"),
        ("course=mini&intake=2026-1", "2026-1"),
    ] {
        let response = app
            .get_with(
                &instructor,
                &format!("/instructor/export/attempts.csv?{query}"),
            )
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let body = response.text().await.unwrap();
        assert!(body.contains(shown), "{query}: {body}");
    }
    assert_eq!(
        app.get_with(&instructor, "/instructor/export/other.csv?course=mini")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_hundred_thousand_attempts_stream_out() {
    let app = mini_app().await;
    let email = app.create_user(Role::Trainee);
    let mut conn = app.pool.get().unwrap();
    let id: i64 = users::table
        .filter(users::email.eq(&email))
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    let postgres = matches!(app.database_url, kaibo::db::DatabaseUrl::Postgres(_));
    let at = if postgres {
        "TIMESTAMP '2026-11-01 10:00:00'"
    } else {
        "'2026-11-01 10:00:00'"
    };
    diesel::sql_query(format!(
        "INSERT INTO enrolments (user_id, course_slug, enrolled_at, last_activity_at, modules_done)
         VALUES ({id}, 'mini', {at}, {at}, 0)"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
         INSERT INTO quiz_attempts (user_id, course_slug, module_slug, attempt_number, quiz_version,
                                    score_milli, max_milli, passed, submitted_at)
         SELECT {id}, 'mini', 'basics', i, 'v', 3000, 6000, FALSE, {at} FROM n"
    ))
    .execute(&mut conn)
    .unwrap();
    let instructor = app.logged_in_as(Role::Instructor).await;
    let response = app
        .get_with(&instructor, "/instructor/export/attempts.csv?course=mini")
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed, not buffered"
    );
    let body = response.bytes().await.unwrap();
    let lines = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines, 100_001);
}
