//! The trainee dashboard and the review queue, through HTTP.

use chrono::Duration;
use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::clock::Clock;
use kaibo::courses::loader;
use kaibo::db::schema::{quiz_attempts, review_answers, review_cards, users};
use kaibo::learning::review;

use crate::courses::{answers, fixtures, html, mini_app, submit, trainee};
use crate::helpers::*;

fn mini() -> kaibo::courses::model::Course {
    loader::load_course(&fixtures().join("mini"))
        .course
        .expect("mini course loads")
}

/// The first question id and form fields of the review page's current question.
fn review_form(page: &str) -> (String, String, String) {
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} in {page}"))
            + marker.len();
        page[start..start + page[start..].find('"').unwrap()].to_string()
    };
    (field("course"), field("module"), field("question"))
}

fn right_answer(question: &str) -> Vec<(String, String)> {
    answers(&mini(), "basics", true)
        .into_iter()
        .filter(|(k, _)| k == &format!("q-{question}"))
        .collect()
}

#[tokio::test]
async fn missed_questions_come_back_for_review_and_are_rescheduled() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let course = mini();
    let wrong = answers(&course, "basics", false);
    let response = submit(&app, &client, "/courses/mini/basics/quiz", &wrong).await;
    assert_eq!(response.status(), 303);

    // Every question was missed: all five are due.
    let (_, dashboard) = html(&app, &client, "/learn").await;
    assert!(
        dashboard.contains("Questions due for review: 5"),
        "{dashboard}"
    );

    let (status, page) = html(&app, &client, "/review").await;
    assert_eq!(status, 200);
    assert!(page.contains("5 due"));
    let (c, m, q) = review_form(&page);
    assert_eq!((c.as_str(), m.as_str()), ("mini", "basics"));
    let mut fields = vec![
        ("course".to_string(), c.clone()),
        ("module".to_string(), m.clone()),
        ("question".to_string(), q.clone()),
    ];
    fields.extend(right_answer(&q));
    let response = submit(&app, &client, "/review", &fields).await;
    assert_eq!(response.status(), 303);
    let result_url = location(&response);
    assert!(result_url.starts_with("/review/answers/"), "{result_url}");
    let (status, result) = html(&app, &client, &result_url).await;
    assert_eq!(status, 200);
    assert!(result.contains("Correct"), "{result}");
    assert!(result.contains("This question comes back on"));
    assert!(result.contains("Next question (4 due)"));

    // Rescheduled into the future; the quiz attempt is untouched.
    let now = app.clock.now().naive_utc();
    let mut conn = app.pool.get().unwrap();
    let due: chrono::NaiveDateTime = review_cards::table
        .filter(review_cards::question_id.eq(&q))
        .select(review_cards::due_at)
        .first(&mut conn)
        .unwrap();
    assert!(due > now, "{due} should be after {now}");
    let (attempts, score): (i64, i64) = (
        quiz_attempts::table.count().get_result(&mut conn).unwrap(),
        quiz_attempts::table
            .select(quiz_attempts::score_milli)
            .first(&mut conn)
            .unwrap(),
    );
    assert_eq!((attempts, score), (1, 0));
    assert_eq!(
        review_answers::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        1
    );

    // The same card again before it is due: not counted twice.
    let response = submit(&app, &client, "/review", &fields).await;
    assert_eq!(location(&response), "/review");
    assert_eq!(
        review_answers::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        1
    );
    let (_, dashboard) = html(&app, &client, "/learn").await;
    assert!(
        dashboard.contains("Questions due for review: 4"),
        "{dashboard}"
    );

    // Two days on, the card answered right is due again.
    app.clock.advance(Duration::days(2));
    let user: i64 = users::table
        .filter(users::role.eq("trainee"))
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    let due = review::due_count(&mut conn, user, app.clock.now()).unwrap();
    assert_eq!(due, 5);
}

#[tokio::test]
async fn a_wrong_review_answer_comes_back_sooner_than_a_right_one() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let wrong = answers(&mini(), "basics", false);
    submit(&app, &client, "/courses/mini/basics/quiz", &wrong).await;
    let mut due_after = Vec::new();
    for right in [false, true] {
        let (_, page) = html(&app, &client, "/review").await;
        let (c, m, q) = review_form(&page);
        let mut fields = vec![
            ("course".to_string(), c),
            ("module".to_string(), m),
            ("question".to_string(), q.clone()),
        ];
        if right {
            fields.extend(right_answer(&q));
        } else {
            fields.extend(
                wrong
                    .iter()
                    .filter(|(k, _)| k == &format!("q-{q}"))
                    .cloned(),
            );
        }
        let response = submit(&app, &client, "/review", &fields).await;
        assert_eq!(response.status(), 303);
        let mut conn = app.pool.get().unwrap();
        due_after.push(
            review_cards::table
                .filter(review_cards::question_id.eq(&q))
                .select(review_cards::due_at)
                .first::<chrono::NaiveDateTime>(&mut conn)
                .unwrap(),
        );
    }
    assert!(due_after[0] < due_after[1], "{due_after:?}");
}

#[tokio::test]
async fn bad_review_submissions_are_refused() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    submit(
        &app,
        &client,
        "/courses/mini/basics/quiz",
        &answers(&mini(), "basics", false),
    )
    .await;
    let (_, page) = html(&app, &client, "/review").await;
    let (c, m, q) = review_form(&page);
    // An option that does not exist.
    let response = app
        .post_form_with(
            &client,
            "/review",
            &[
                ("course", &c),
                ("module", &m),
                ("question", &q),
                (&format!("q-{q}"), "zz"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("role=\"alert\""));
    // A question that is not in the course.
    let response = app
        .post_form_with(
            &client,
            "/review",
            &[
                ("course", &c),
                ("module", &m),
                ("question", "nope"),
                ("q-nope", "a"),
            ],
        )
        .await;
    assert_eq!(response.status(), 404);
    // No target at all.
    let response = app
        .post_form_with(&client, "/review", &[("q-sky", "a")])
        .await;
    assert_eq!(response.status(), 400);
    let mut conn = app.pool.get().unwrap();
    assert_eq!(
        review_answers::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn another_trainee_cannot_open_my_review_answer() {
    let app = mini_app().await;
    let me = trainee(&app).await;
    submit(
        &app,
        &me,
        "/courses/mini/basics/quiz",
        &answers(&mini(), "basics", false),
    )
    .await;
    let (_, page) = html(&app, &me, "/review").await;
    let (c, m, q) = review_form(&page);
    let mut fields = vec![
        ("course".to_string(), c),
        ("module".to_string(), m),
        ("question".to_string(), q.clone()),
    ];
    fields.extend(right_answer(&q));
    let url = location(&submit(&app, &me, "/review", &fields).await);
    assert_eq!(html(&app, &me, &url).await.0, 200);
    let other = trainee(&app).await;
    assert_eq!(html(&app, &other, &url).await.0, 404);
    let instructor = app.logged_in_as(Role::Instructor).await;
    assert_eq!(html(&app, &instructor, &url).await.0, 403);
}

#[tokio::test]
async fn the_dashboard_shows_progress_where_to_continue_time_steps_and_history() {
    let app = mini_app().await;
    let client = trainee(&app).await;
    let (_, empty) = html(&app, &client, "/learn").await;
    assert!(empty.contains("Start a course"), "{empty}");
    assert!(empty.contains("href=\"/courses/mini\""));

    // Read the first lesson for 6 minutes, then the second.
    html(&app, &client, "/courses/mini/basics/hello").await;
    app.post_form_with(&client, "/courses/mini/basics/hello/complete", &[])
        .await;
    app.clock.advance(Duration::minutes(6));
    html(&app, &client, "/courses/mini/basics/second").await;

    let (_, page) = html(&app, &client, "/learn").await;
    assert!(page.contains("Continue where you left off"));
    assert!(
        page.contains("href=\"/courses/mini/basics/second\""),
        "{page}"
    );
    // 6 minutes on the first lesson plus the second lesson's own estimate of 4.
    assert!(page.contains("Time spent: 10 min"), "{page}");
    // The basics module unlocks the profile step, still locked.
    assert!(page.contains("your creator profile"));
    assert!(page.contains("Finish Basics to unlock it."));
    assert!(page.contains("Quiz history"));

    // Pass the quiz: the step opens and the attempt is in the history with its link.
    let response = submit(
        &app,
        &client,
        "/courses/mini/basics/quiz",
        &answers(&mini(), "basics", true),
    )
    .await;
    assert_eq!(response.status(), 303);
    let (_, page) = html(&app, &client, "/learn").await;
    assert!(
        page.contains("href=\"/courses/mini/basics/quiz/attempts/1\""),
        "{page}"
    );
    assert!(page.contains("100%"));
    assert!(
        page.contains("href=\"/profile\">your creator profile</a>"),
        "{page}"
    );
    assert!(page.contains("Unlocked"));
}
