//! The trainee dashboard (`/learn`) and the review queue (`/review`).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::dashboard::{self, Place, StepState};
use super::progress::{self, Attempt, CourseProgress};
use super::review::{self, CardKey, ReviewError};
use super::{enrolment, visits};
use crate::accounts::domain::Role;
use crate::accounts::profile;
use crate::courses::grading::{self, Answer};
use crate::courses::model::{Course, Module, Question, Quiz};
use crate::courses::routes::{ResultRow, result_row};
use crate::error::{AppError, AppResult};
use crate::web::{AppState, CsrfForm, CurrentUser, PageCtx, render, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/learn", web::get().to(dashboard_page))
        .route("/review", web::get().to(review_page))
        .route("/review", web::post().to(submit_review))
        .route("/review/answers/{id}", web::get().to(review_result));
}

/// "1 h 05 min" / "12 min" in the page's language.
pub fn duration_text(ctx: &PageCtx, seconds: i64) -> String {
    let minutes = (seconds + 30) / 60;
    if minutes >= 60 {
        ctx.tf(
            "dashboard.hours_minutes",
            &[
                ("hours", &(minutes / 60).to_string()),
                ("minutes", &format!("{:02}", minutes % 60)),
            ],
        )
    } else {
        ctx.tf("dashboard.minutes", &[("minutes", &minutes.to_string())])
    }
}

pub fn when(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

// ---------------------------------------------------------------- dashboard

struct ModuleLine<'c> {
    module: &'c Module,
    percent: u32,
    complete: bool,
    unlocked: bool,
    time_spent: Option<String>,
}

struct CourseCard<'c> {
    course: Arc<Course>,
    percent: u32,
    modules: Vec<ModuleLine<'c>>,
    continue_at: Option<Place>,
    steps: Vec<StepState<'c>>,
    next_step: Option<usize>,
}

struct HistoryRow {
    course_title: String,
    quiz_title: String,
    url: String,
    attempt: Attempt,
    when: String,
}

#[derive(Template)]
#[template(path = "learning/dashboard.html")]
struct DashboardPage<'c> {
    ctx: PageCtx,
    name: String,
    profile_done: bool,
    cards: Vec<CourseCard<'c>>,
    /// Courses on offer that the trainee has not opened yet.
    other_courses: Vec<Arc<Course>>,
    history: Vec<HistoryRow>,
    due: i64,
    queued: i64,
}

struct TraineeData {
    profile_done: bool,
    enrolled: Vec<String>,
    progress: HashMap<String, CourseProgress>,
    visits: HashMap<String, Vec<visits::Visit>>,
    history: Vec<(String, String, Attempt)>,
    due: i64,
    queued: i64,
}

async fn dashboard_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?.clone();
    let (id, now) = (user.id, state.now());
    let data = state
        .db(move |conn| {
            let enrolled: Vec<String> = enrolment::for_user(conn, id)?
                .into_iter()
                .map(|e| e.course_slug)
                .collect();
            let mut progress = HashMap::new();
            let mut all_visits = HashMap::new();
            for slug in &enrolled {
                progress.insert(slug.clone(), CourseProgress::load(conn, id, slug)?);
                all_visits.insert(slug.clone(), visits::visits(conn, id, slug)?);
            }
            Ok(TraineeData {
                profile_done: profile::load(conn, id)?
                    .is_some_and(|p| !p.niche_categories.is_empty()),
                enrolled,
                progress,
                visits: all_visits,
                history: progress::recent_attempts(conn, id, 30)?,
                due: review::due_count(conn, id, now)?,
                queued: review::total_count(conn, id)?,
            })
        })
        .await?;
    let courses: Vec<Arc<Course>> = data
        .enrolled
        .iter()
        .filter_map(|slug| state.courses.get(slug))
        .collect();
    let mut cards = Vec::new();
    for course in &courses {
        let progress = &data.progress[&course.slug];
        let course_visits = &data.visits[&course.slug];
        let spent = visits::time_per_module(course, course_visits);
        let steps = dashboard::sandbox_steps(course, progress);
        let next_step = dashboard::next_step(&steps).map(|s| {
            steps
                .iter()
                .position(|x| x.step == s.step)
                .unwrap_or_default()
        });
        cards.push(CourseCard {
            course: Arc::clone(course),
            percent: progress.percent(course),
            modules: course
                .modules
                .iter()
                .map(|m| ModuleLine {
                    module: m,
                    percent: dashboard::module_percent(progress, m),
                    complete: progress.module_complete(m),
                    unlocked: progress.unlocked(course, m),
                    time_spent: spent
                        .get(&m.slug)
                        .filter(|s| **s > 0)
                        .map(|s| duration_text(&ctx, *s)),
                })
                .collect(),
            continue_at: dashboard::continue_at(course, progress, course_visits.last()),
            steps,
            next_step,
        });
    }
    let history = data
        .history
        .into_iter()
        .map(|(c, m, attempt)| {
            let course = state.courses.get(&c);
            let course_title = course.as_ref().map_or(c.clone(), |x| x.title.clone());
            let quiz_title = course
                .as_ref()
                .and_then(|x| x.module(&m))
                .and_then(|x| x.quiz.as_ref())
                .map_or(m.clone(), |q| q.title.clone());
            HistoryRow {
                url: format!("/courses/{c}/{m}/quiz/attempts/{}", attempt.attempt_number),
                when: when(&attempt.submitted_at),
                course_title,
                quiz_title,
                attempt,
            }
        })
        .collect();
    let other_courses = state
        .courses
        .served()
        .into_iter()
        .filter(|c| !data.enrolled.contains(&c.slug))
        .collect();
    // The cards borrow modules from the courses they hold; build the page in a scope
    // where both live.
    render(&DashboardPage {
        ctx,
        name: user.display_name.clone(),
        profile_done: data.profile_done,
        cards,
        other_courses,
        history,
        due: data.due,
        queued: data.queued,
    })
}

// ---------------------------------------------------------------- review

/// A card with the question it asks, from the course as it is served now.
struct DueQuestion {
    key: CardKey,
    course: Arc<Course>,
}

impl DueQuestion {
    fn module(&self) -> &Module {
        self.course
            .module(&self.key.module)
            .expect("checked on lookup")
    }
    fn quiz(&self) -> &Quiz {
        self.module().quiz.as_ref().expect("checked on lookup")
    }
    fn question(&self) -> &Question {
        self.quiz()
            .question(&self.key.question)
            .expect("checked on lookup")
    }
}

fn lookup(state: &AppState, key: &CardKey) -> Option<DueQuestion> {
    let course = state.courses.get(&key.course)?;
    course
        .module(&key.module)?
        .quiz
        .as_ref()?
        .question(&key.question)?;
    Some(DueQuestion {
        key: key.clone(),
        course,
    })
}

#[derive(Template)]
#[template(path = "learning/review.html")]
struct ReviewPage<'a> {
    ctx: PageCtx,
    due: usize,
    current: Option<&'a DueQuestion>,
    q: Option<&'a Question>,
    choices: Vec<&'a crate::courses::model::Choice>,
    next_due: Option<String>,
    queued: i64,
    error: Option<String>,
    typed: HashMap<String, String>,
}

impl ReviewPage<'_> {
    fn picked(&self, _question: &str, _option: &str) -> bool {
        false
    }
    fn typed(&self, question: &str) -> String {
        self.typed.get(question).cloned().unwrap_or_default()
    }
}

/// Due cards whose questions still exist; cards of removed questions are retired.
async fn due_questions(state: &AppState, user_id: i64) -> AppResult<Vec<DueQuestion>> {
    let now = state.now();
    let cards = state
        .db(move |conn| Ok(review::due_cards(conn, user_id, now, 200)?))
        .await?;
    let mut due = Vec::new();
    let mut gone = Vec::new();
    for card in cards {
        match lookup(state, &card.key()) {
            Some(q) => due.push(q),
            None => gone.push(card.key()),
        }
    }
    if !gone.is_empty() {
        state
            .db(move |conn| {
                for key in &gone {
                    review::retire(conn, user_id, key)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(due)
}

fn review_page_for(
    ctx: PageCtx,
    due: &[DueQuestion],
    next_due: Option<NaiveDateTime>,
    queued: i64,
    error: Option<String>,
    typed: HashMap<String, String>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let current = due.first();
    let q = current.map(DueQuestion::question);
    render_with_status(
        &ReviewPage {
            ctx,
            due: due.len(),
            current,
            q,
            choices: q
                .map(|q| q.kind.choices().iter().collect())
                .unwrap_or_default(),
            next_due: next_due.as_ref().map(when),
            queued,
            error,
            typed,
        },
        status,
    )
}

async fn review_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?.clone();
    let due = due_questions(&state, user.id).await?;
    let id = user.id;
    let (next_due, queued) = state
        .db(move |conn| Ok((review::next_due(conn, id)?, review::total_count(conn, id)?)))
        .await?;
    review_page_for(
        ctx,
        &due,
        next_due,
        queued,
        None,
        HashMap::new(),
        StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
struct ReviewTarget {
    course: String,
    module: String,
    question: String,
}

async fn submit_review(
    state: web::Data<AppState>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = ctx.require_role(&[Role::Trainee])?;
    if pairs.len() > 100 {
        return Err(AppError::bad_request("errors.bad_form", "too many fields"));
    }
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| AppError::bad_request("errors.bad_form", name))
    };
    let target = ReviewTarget {
        course: field("course")?,
        module: field("module")?,
        question: field("question")?,
    };
    let key = CardKey {
        course: target.course,
        module: target.module,
        question: target.question,
    };
    let Some(due_q) = lookup(&state, &key) else {
        return Err(AppError::NotFound);
    };
    let question = due_q.question();
    // The same reader and grader as the quiz, on a quiz of this one question.
    let single = Quiz {
        questions: vec![question.clone()],
        ..due_q.quiz().clone()
    };
    let answer_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "course" | "module" | "question"))
        .cloned()
        .collect();
    let answers = match grading::read_submission(&single, &answer_pairs) {
        Ok(a) => a,
        Err(e) => {
            let error = Some(format!("{} {}", ctx.t(e.key()), e.detail()));
            let typed = answer_pairs
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("q-").map(|id| {
                        (
                            id.to_string(),
                            v.chars().take(grading::MAX_ANSWER_CHARS).collect(),
                        )
                    })
                })
                .collect();
            let due = vec![due_q];
            return review_page_for(
                ctx,
                &due,
                None,
                0,
                error,
                typed,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let answer = answers
        .get(&question.id)
        .cloned()
        .unwrap_or(Answer::Text(String::new()));
    let graded = grading::grade_question(question, &answer);
    let (id, now) = (user.id, state.now());
    let stored = state
        .db(
            move |conn| match review::answer(conn, id, &key, &graded, now) {
                Ok(answer_id) => Ok(Ok(answer_id)),
                Err(ReviewError::Database(e)) => Err(e.into()),
                Err(other) => Ok(Err(other)),
            },
        )
        .await?;
    match stored {
        Ok(answer_id) => Ok(see_other(&format!("/review/answers/{answer_id}"))),
        // Answered twice (a double click, a second tab): the first answer counted.
        Err(ReviewError::NotDue | ReviewError::NoCard) => Ok(see_other("/review")),
        Err(ReviewError::Database(_)) => unreachable!("handled above"),
    }
}

#[derive(Template)]
#[template(path = "learning/review_result.html")]
struct ReviewResultPage<'a> {
    ctx: PageCtx,
    course: &'a Course,
    module: &'a Module,
    row: ResultRow<'a>,
    next_due: String,
    due: i64,
}

async fn review_result(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?.clone();
    let answer_id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let (id, now) = (user.id, state.now());
    // Keyed by the trainee's id: another trainee's answer is not found.
    let (stored, due) = state
        .db(move |conn| {
            Ok((
                review::review_answer(conn, id, answer_id)?,
                review::due_count(conn, id, now)?,
            ))
        })
        .await?;
    let stored = stored.ok_or(AppError::NotFound)?;
    let key = CardKey {
        course: stored.course_slug.clone(),
        module: stored.module_slug.clone(),
        question: stored.question_id.clone(),
    };
    let found = lookup(&state, &key).ok_or(AppError::NotFound)?;
    let answer: Answer =
        serde_json::from_str(&stored.answer).unwrap_or(Answer::Text(stored.answer.clone()));
    let module = found.module();
    render(&ReviewResultPage {
        row: result_row(
            found.question(),
            Some((&answer, stored.score_milli, stored.max_milli)),
        ),
        course: &found.course,
        module,
        next_due: when(&stored.next_due_at),
        due,
        ctx,
    })
}
