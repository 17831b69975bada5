//! Exports for instructors: progress and attempts as CSV, and xAPI 1.0.3 statements as
//! JSON. Each is streamed page by page (keyset pagination), so an export of 100,000
//! attempts holds one page in memory and one database connection per page, never the
//! whole result.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use futures_util::stream;
use serde::Deserialize;

use super::queries::{Filter, narrow};
use super::routes::{STAFF, read_filter};
use super::xapi;
use crate::courses::grading::Answer;
use crate::courses::model::{Course, Module, QuestionKind};
use crate::db::DbConn;
use crate::db::schema::{
    cohort_members, enrolments, lesson_completions, module_completions, quiz_answers, quiz_attempts,
};
use crate::error::{AppError, AppResult};
use crate::learning::cohorts::{self, Cohort};
use crate::web::{AppState, CurrentUser, PageCtx, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/instructor/export", web::get().to(export_page))
        .route("/instructor/export/{file}", web::get().to(download));
}

/// Rows (attempts, or trainees) fetched per page.
const PAGE: i64 = 500;
/// A UTF-8 byte-order mark: spreadsheet programs then read Chinese names correctly.
const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Deserialize, Default)]
pub struct ExportQuery {
    course: Option<String>,
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
    intake: Option<String>,
}

/// A checked export request.
#[derive(Clone)]
struct Spec {
    course: Arc<Course>,
    filter: Filter,
    /// Records at or after this moment (start of the `from` day, UTC).
    from: Option<NaiveDateTime>,
    /// Records before this moment (end of the `to` day, UTC).
    until: Option<NaiveDateTime>,
    home: String,
}

fn parse_day(name: &'static str, raw: Option<&str>) -> AppResult<Option<NaiveDate>> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => NaiveDate::parse_from_str(r, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                AppError::bad_request(
                    "errors.bad_date",
                    format!("{name}={}", r.chars().take(40).collect::<String>()),
                )
            }),
    }
}

async fn read_spec(state: &AppState, query: &ExportQuery) -> AppResult<(Spec, Vec<Cohort>)> {
    let slug = query.course.as_deref().map(str::trim).unwrap_or_default();
    if slug.is_empty() {
        return Err(AppError::bad_request("errors.no_course", ""));
    }
    let course = state.courses.get(slug).ok_or_else(|| {
        AppError::bad_request(
            "errors.unknown_course",
            slug.chars().take(80).collect::<String>(),
        )
    })?;
    let from = parse_day("from", query.from.as_deref())?;
    let to = parse_day("to", query.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::bad_request(
            "errors.bad_range",
            format!("{f} > {t}"),
        ));
    }
    let (filter, groups) =
        read_filter(state, query.group.as_deref(), query.intake.as_deref()).await?;
    Ok((
        Spec {
            course,
            filter,
            from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
            until: to
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0)),
            home: state.settings.public_url.clone(),
        },
        groups,
    ))
}

// ---------------------------------------------------------------- the form

#[derive(Template)]
#[template(path = "analytics/export.html")]
struct ExportPage {
    ctx: PageCtx,
    courses: Vec<Arc<Course>>,
    groups: Vec<Cohort>,
    selected: String,
}

async fn export_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    query: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    user.require(STAFF)?;
    let groups = state.db(|conn| Ok(cohorts::all(conn)?)).await?;
    render(&ExportPage {
        ctx,
        courses: state.courses.served(),
        groups,
        selected: query.course.clone().unwrap_or_default(),
    })
}

// ---------------------------------------------------------------- streaming

type PageFuture = Pin<Box<dyn Future<Output = AppResult<Option<(Vec<u8>, i64)>>>>>;
/// Produces the page after a cursor: its bytes and the next cursor, or `None` at the end.
type Pager = Arc<dyn Fn(i64) -> PageFuture>;

enum Step {
    Head,
    Page(i64, bool),
    Done,
}

/// A response that sends `head`, then every page, with `separator` between pages'
/// items already handled by the pager, then `tail`.
fn streamed(
    content_type: &'static str,
    filename: String,
    head: Vec<u8>,
    tail: Vec<u8>,
    pager: Pager,
) -> HttpResponse {
    let body = stream::unfold(Step::Head, move |step| {
        let (pager, head, tail) = (Arc::clone(&pager), head.clone(), tail.clone());
        async move {
            match step {
                Step::Head => Some((Ok(Bytes::from(head)), Step::Page(0, true))),
                Step::Page(cursor, first) => {
                    match pager(if first { i64::MIN } else { cursor }).await {
                        Ok(Some((bytes, next))) => {
                            Some((Ok(Bytes::from(bytes)), Step::Page(next, false)))
                        }
                        Ok(None) => Some((Ok(Bytes::from(tail)), Step::Done)),
                        Err(e) => {
                            // The status line is long gone: end the body early; the client
                            // sees a truncated download, and the log says why.
                            tracing::error!(error = %e, "export stopped");
                            Some((Err(e), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    });
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename)],
        })
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

/// A spreadsheet would run a cell that starts with `=`, `+`, `-` or `@` as a formula;
/// such text cells get a leading apostrophe.
fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

fn csv_bytes(rows: &[Vec<String>]) -> AppResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(row)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
}

fn iso(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// People and group names for a page of user ids.
struct Who {
    people: HashMap<i64, (String, String)>,
    groups: HashMap<i64, String>,
}

impl Who {
    fn load(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Self> {
        Ok(Self {
            people: cohorts::people(conn, ids)?
                .into_iter()
                .map(|(id, email, name)| (id, (email, name)))
                .collect(),
            groups: cohorts::names_for(conn, ids)?.into_iter().collect(),
        })
    }
    fn email(&self, id: i64) -> &str {
        self.people.get(&id).map_or("", |p| p.0.as_str())
    }
    fn name(&self, id: i64) -> &str {
        self.people.get(&id).map_or("", |p| p.1.as_str())
    }
    fn group(&self, id: i64) -> &str {
        self.groups.get(&id).map_or("", String::as_str)
    }
}

/// The next page of enrolled trainees' ids after `cursor`, in id order.
fn trainee_page(conn: &mut DbConn, spec: &Spec, cursor: i64, limit: i64) -> QueryResult<Vec<i64>> {
    narrow!(
        enrolments::table
            .filter(enrolments::course_slug.eq(&spec.course.slug))
            .filter(enrolments::user_id.gt(cursor))
            .into_boxed(),
        spec.filter
    )
    .order(enrolments::user_id.asc())
    .limit(limit)
    .select(enrolments::user_id)
    .load(conn)
}

// ---------------------------------------------------------------- attempts.csv

#[derive(Queryable, Selectable)]
#[diesel(table_name = quiz_attempts)]
struct AttemptLine {
    id: i64,
    user_id: i64,
    module_slug: String,
    attempt_number: i32,
    quiz_version: String,
    score_milli: i64,
    max_milli: i64,
    passed: bool,
    submitted_at: NaiveDateTime,
}

fn attempt_lines(conn: &mut DbConn, spec: &Spec, cursor: i64) -> QueryResult<Vec<AttemptLine>> {
    let mut query = quiz_attempts::table
        .inner_join(
            enrolments::table.on(enrolments::user_id
                .eq(quiz_attempts::user_id)
                .and(enrolments::course_slug.eq(quiz_attempts::course_slug))),
        )
        .filter(quiz_attempts::course_slug.eq(&spec.course.slug))
        .filter(quiz_attempts::id.gt(cursor))
        .into_boxed();
    if let Some(from) = spec.from {
        query = query.filter(quiz_attempts::submitted_at.ge(from));
    }
    if let Some(until) = spec.until {
        query = query.filter(quiz_attempts::submitted_at.lt(until));
    }
    narrow!(query, spec.filter)
        .order(quiz_attempts::id.asc())
        .limit(PAGE)
        .select(AttemptLine::as_select())
        .load(conn)
}

fn percent_text(score: i64, max: i64) -> String {
    if max <= 0 {
        "0".into()
    } else {
        format!("{:.1}", score as f64 * 100.0 / max as f64)
    }
}

fn points(milli: i64) -> String {
    format!("{:.3}", milli as f64 / 1000.0)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

fn attempts_pager(state: web::Data<AppState>, spec: Spec) -> Pager {
    Arc::new(move |cursor| {
        let (state, spec) = (state.clone(), spec.clone());
        Box::pin(async move {
            let course = Arc::clone(&spec.course);
            let page = state
                .db(move |conn| {
                    let lines = attempt_lines(conn, &spec, cursor)?;
                    let mut ids: Vec<i64> = lines.iter().map(|l| l.user_id).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    Ok((Who::load(conn, &ids)?, lines))
                })
                .await?;
            let (who, lines) = page;
            let Some(last) = lines.last().map(|l| l.id) else {
                return Ok(None);
            };
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|l| {
                    let module = course.module(&l.module_slug);
                    vec![
                        l.id.to_string(),
                        l.user_id.to_string(),
                        cell(who.email(l.user_id)),
                        cell(who.name(l.user_id)),
                        cell(who.group(l.user_id)),
                        course.slug.clone(),
                        l.module_slug.clone(),
                        cell(
                            &module
                                .and_then(|m| m.quiz.as_ref())
                                .map_or(String::new(), |q| q.title.clone()),
                        ),
                        l.attempt_number.to_string(),
                        l.quiz_version.clone(),
                        points(l.score_milli),
                        points(l.max_milli),
                        percent_text(l.score_milli, l.max_milli),
                        l.passed.to_string(),
                        iso(&l.submitted_at),
                    ]
                })
                .collect();
            Ok(Some((csv_bytes(&rows)?, last)))
        })
    })
}

const ATTEMPT_COLUMNS: &[&str] = &[
    "attempt_id",
    "user_id",
    "email",
    "name",
    "group",
    "course",
    "module",
    "quiz",
    "attempt_number",
    "quiz_version",
    "score",
    "max_score",
    "percent",
    "passed",
    "submitted_at",
];

// ---------------------------------------------------------------- progress.csv

const PROGRESS_COLUMNS: &[&str] = &[
    "user_id",
    "email",
    "name",
    "group",
    "course",
    "enrolled_at",
    "last_progress_at",
    "course_completed_at",
    "module",
    "module_title",
    "lessons_done",
    "lessons_total",
    "quiz_attempts",
    "best_percent",
    "module_completed_at",
];

struct ProgressPage {
    who: Who,
    enrolment: HashMap<i64, (NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)>,
    lessons: HashMap<(i64, String), i64>,
    modules: HashMap<(i64, String), NaiveDateTime>,
    attempts: HashMap<(i64, String), (i64, i64, i64)>,
    ids: Vec<i64>,
}

fn progress_page(conn: &mut DbConn, spec: &Spec, cursor: i64) -> QueryResult<ProgressPage> {
    let ids = trainee_page(conn, spec, cursor, PAGE / 5)?;
    let slug = &spec.course.slug;
    let enrolment = enrolments::table
        .filter(enrolments::course_slug.eq(slug))
        .filter(enrolments::user_id.eq_any(&ids))
        .select((
            enrolments::user_id,
            enrolments::enrolled_at,
            enrolments::last_activity_at,
            enrolments::completed_at,
        ))
        .load::<(i64, NaiveDateTime, NaiveDateTime, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(id, a, b, c)| (id, (a, b, c)))
        .collect();
    let lessons = lesson_completions::table
        .filter(lesson_completions::course_slug.eq(slug))
        .filter(lesson_completions::user_id.eq_any(&ids))
        .group_by((lesson_completions::user_id, lesson_completions::module_slug))
        .select((
            lesson_completions::user_id,
            lesson_completions::module_slug,
            diesel::dsl::count_star(),
        ))
        .load::<(i64, String, i64)>(conn)?
        .into_iter()
        .map(|(u, m, n)| ((u, m), n))
        .collect();
    let modules = module_completions::table
        .filter(module_completions::course_slug.eq(slug))
        .filter(module_completions::user_id.eq_any(&ids))
        .select((
            module_completions::user_id,
            module_completions::module_slug,
            module_completions::completed_at,
        ))
        .load::<(i64, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(u, m, t)| ((u, m), t))
        .collect();
    let mut attempts: HashMap<(i64, String), (i64, i64, i64)> = HashMap::new();
    for (u, m, score, max) in quiz_attempts::table
        .filter(quiz_attempts::course_slug.eq(slug))
        .filter(quiz_attempts::user_id.eq_any(&ids))
        .select((
            quiz_attempts::user_id,
            quiz_attempts::module_slug,
            quiz_attempts::score_milli,
            quiz_attempts::max_milli,
        ))
        .load::<(i64, String, i64, i64)>(conn)?
    {
        let entry = attempts.entry((u, m)).or_insert((0, 0, 1));
        entry.0 += 1;
        // Keep the best ratio: score/max > best_score/best_max.
        if max > 0 && (score as i128) * (entry.2 as i128) > (entry.1 as i128) * (max as i128) {
            entry.1 = score;
            entry.2 = max;
        }
    }
    Ok(ProgressPage {
        who: Who::load(conn, &ids)?,
        enrolment,
        lessons,
        modules,
        attempts,
        ids,
    })
}

fn progress_rows(course: &Course, page: &ProgressPage) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for &id in &page.ids {
        let Some((enrolled, last, done)) = page.enrolment.get(&id) else {
            continue;
        };
        for m in &course.modules {
            let key = (id, m.slug.clone());
            let (tries, best) = match page.attempts.get(&key) {
                Some((n, score, max)) if *n > 0 && m.quiz.is_some() => {
                    (n.to_string(), percent_text(*score, *max))
                }
                _ => ("0".into(), String::new()),
            };
            rows.push(vec![
                id.to_string(),
                cell(page.who.email(id)),
                cell(page.who.name(id)),
                cell(page.who.group(id)),
                course.slug.clone(),
                iso(enrolled),
                iso(last),
                done.as_ref().map(iso).unwrap_or_default(),
                m.slug.clone(),
                cell(&m.title),
                page.lessons
                    .get(&key)
                    .copied()
                    .unwrap_or(0)
                    .min(m.lessons.len() as i64)
                    .to_string(),
                m.lessons.len().to_string(),
                tries,
                best,
                page.modules.get(&key).map(iso).unwrap_or_default(),
            ]);
        }
    }
    rows
}

fn progress_pager(state: web::Data<AppState>, spec: Spec) -> Pager {
    Arc::new(move |cursor| {
        let (state, spec) = (state.clone(), spec.clone());
        Box::pin(async move {
            let course = Arc::clone(&spec.course);
            let page = state
                .db(move |conn| Ok(progress_page(conn, &spec, cursor)?))
                .await?;
            let Some(last) = page.ids.last().copied() else {
                return Ok(None);
            };
            Ok(Some((csv_bytes(&progress_rows(&course, &page))?, last)))
        })
    })
}

// ---------------------------------------------------------------- xAPI

/// Plain text of a fragment of our own sanitised HTML, for xAPI names.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

struct XapiPage {
    who: Who,
    lessons: Vec<(i64, String, String, NaiveDateTime)>,
    attempts: Vec<AttemptLine>,
    answers: HashMap<i64, Vec<(String, String, i64, i64)>>,
    last: Option<i64>,
}

fn xapi_page(conn: &mut DbConn, spec: &Spec, cursor: i64) -> QueryResult<XapiPage> {
    // Fewer trainees per page: each brings all their records.
    let ids = trainee_page(conn, spec, cursor, 50)?;
    let slug = &spec.course.slug;
    let mut lessons_q = lesson_completions::table
        .filter(lesson_completions::course_slug.eq(slug))
        .filter(lesson_completions::user_id.eq_any(&ids))
        .into_boxed();
    let mut attempts_q = quiz_attempts::table
        .filter(quiz_attempts::course_slug.eq(slug))
        .filter(quiz_attempts::user_id.eq_any(&ids))
        .into_boxed();
    if let Some(from) = spec.from {
        lessons_q = lessons_q.filter(lesson_completions::completed_at.ge(from));
        attempts_q = attempts_q.filter(quiz_attempts::submitted_at.ge(from));
    }
    if let Some(until) = spec.until {
        lessons_q = lessons_q.filter(lesson_completions::completed_at.lt(until));
        attempts_q = attempts_q.filter(quiz_attempts::submitted_at.lt(until));
    }
    let lessons = lessons_q
        .order((
            lesson_completions::user_id.asc(),
            lesson_completions::completed_at.asc(),
        ))
        .select((
            lesson_completions::user_id,
            lesson_completions::module_slug,
            lesson_completions::lesson_slug,
            lesson_completions::completed_at,
        ))
        .load(conn)?;
    let attempts: Vec<AttemptLine> = attempts_q
        .order(quiz_attempts::id.asc())
        .select(AttemptLine::as_select())
        .load(conn)?;
    let attempt_ids: Vec<i64> = attempts.iter().map(|a| a.id).collect();
    let mut answers: HashMap<i64, Vec<(String, String, i64, i64)>> = HashMap::new();
    for chunk in attempt_ids.chunks(500) {
        for (attempt, q, answer, score, max) in quiz_answers::table
            .filter(quiz_answers::attempt_id.eq_any(chunk))
            .order((
                quiz_answers::attempt_id.asc(),
                quiz_answers::question_id.asc(),
            ))
            .select((
                quiz_answers::attempt_id,
                quiz_answers::question_id,
                quiz_answers::answer,
                quiz_answers::score_milli,
                quiz_answers::max_milli,
            ))
            .load::<(i64, String, String, i64, i64)>(conn)?
        {
            answers
                .entry(attempt)
                .or_default()
                .push((q, answer, score, max));
        }
    }
    Ok(XapiPage {
        who: Who::load(conn, &ids)?,
        lessons,
        attempts,
        answers,
        last: ids.last().copied(),
    })
}

fn utc(at: &NaiveDateTime) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(at)
}

/// The statements of one page, each on its own line, comma-led after the first.
fn xapi_statements(course: &Course, home: &str, page: &XapiPage, first: bool) -> Vec<u8> {
    let course_ref = || xapi::CourseRef {
        slug: &course.slug,
        title: &course.title,
        language: &course.language,
    };
    let module_ref = |m: &'_ str| -> (String, String) {
        let title = course.module(m).map_or(m.to_string(), |x| x.title.clone());
        (m.to_string(), title)
    };
    let mut statements: Vec<serde_json::Value> = Vec::new();
    let actor = |id: i64| xapi::Actor {
        home_page: home,
        account_name: id.to_string(),
        name: page.who.name(id),
    };
    for (user, module, lesson, at) in &page.lessons {
        let (mslug, mtitle) = module_ref(module);
        let title = course
            .module(module)
            .and_then(|m| m.lesson(lesson))
            .map_or(lesson.clone(), |l| l.title.clone());
        statements.push(xapi::lesson_completed(
            &actor(*user),
            &xapi::LessonCompletion {
                course: course_ref(),
                module: xapi::ModuleRef {
                    slug: &mslug,
                    title: &mtitle,
                },
                lesson_slug: lesson,
                lesson_title: &title,
                completed_at: utc(at),
            },
        ));
    }
    for a in &page.attempts {
        let (mslug, mtitle) = module_ref(&a.module_slug);
        let module: Option<&Module> = course.module(&a.module_slug);
        let quiz = module.and_then(|m| m.quiz.as_ref());
        let quiz_title = quiz.map_or(mtitle.clone(), |q| q.title.clone());
        let actor = actor(a.user_id);
        for (qid, raw, score, max) in page
            .answers
            .get(&a.id)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let answer: Answer = serde_json::from_str(raw).unwrap_or(Answer::Text(raw.clone()));
            let question = quiz.and_then(|q| q.question(qid));
            let options: Vec<(String, String)> = question
                .map(|q| {
                    q.kind
                        .choices()
                        .iter()
                        .map(|c| (c.id.clone(), plain(&c.label_html)))
                        .collect()
                })
                .unwrap_or_default();
            let correct: Vec<String> = question
                .map(|q| {
                    q.kind
                        .choices()
                        .iter()
                        .filter(|c| c.correct)
                        .map(|c| c.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            let interaction = match question.map(|q| &q.kind) {
                Some(
                    QuestionKind::Single(_)
                    | QuestionKind::Multiple(_)
                    | QuestionKind::TrueFalse(_),
                ) => xapi::Interaction::Choice {
                    options: &options,
                    correct: &correct,
                },
                Some(QuestionKind::Short(accepted)) => xapi::Interaction::FillIn { accepted },
                Some(QuestionKind::Numeric { min, max, .. }) => xapi::Interaction::Numeric {
                    min: *min,
                    max: *max,
                },
                None => xapi::Interaction::Unknown,
            };
            let text = question.map(|q| plain(&q.prompt_html)).unwrap_or_default();
            let response = match &answer {
                Answer::Choices(ids) => xapi::Response::Choices(ids),
                Answer::Text(t) => xapi::Response::Text(t),
            };
            statements.push(xapi::question_answered(
                &actor,
                &xapi::QuestionAnswer {
                    course: course_ref(),
                    module: xapi::ModuleRef {
                        slug: &mslug,
                        title: &mtitle,
                    },
                    quiz_title: &quiz_title,
                    attempt_id: a.id,
                    attempt_number: a.attempt_number,
                    quiz_version: &a.quiz_version,
                    question_id: qid,
                    question_text: &text,
                    interaction,
                    response,
                    score_milli: *score,
                    max_milli: *max,
                    submitted_at: utc(&a.submitted_at),
                },
            ));
        }
        statements.push(xapi::attempt_finished(
            &actor,
            &xapi::AttemptOutcome {
                course: course_ref(),
                module: xapi::ModuleRef {
                    slug: &mslug,
                    title: &mtitle,
                },
                quiz_title: &quiz_title,
                attempt_id: a.id,
                attempt_number: a.attempt_number,
                quiz_version: &a.quiz_version,
                score_milli: a.score_milli,
                max_milli: a.max_milli,
                passed: a.passed,
                submitted_at: utc(&a.submitted_at),
            },
        ));
    }
    let mut out = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if !(first && i == 0) {
            out.extend_from_slice(b",\n");
        }
        // A Value always serialises.
        out.extend_from_slice(&serde_json::to_vec(s).unwrap_or_default());
    }
    out
}

fn xapi_pager(state: web::Data<AppState>, spec: Spec) -> Pager {
    // Whether a statement has been written yet, to place commas.
    let written = Arc::new(std::sync::atomic::AtomicBool::new(false));
    Arc::new(move |cursor| {
        let (state, spec, written) = (state.clone(), spec.clone(), Arc::clone(&written));
        Box::pin(async move {
            let (course, home) = (Arc::clone(&spec.course), spec.home.clone());
            let page = state
                .db(move |conn| Ok(xapi_page(conn, &spec, cursor)?))
                .await?;
            let Some(last) = page.last else {
                return Ok(None);
            };
            let first = !written.load(std::sync::atomic::Ordering::Relaxed);
            let bytes = xapi_statements(&course, &home, &page, first);
            if !bytes.is_empty() {
                written.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(Some((bytes, last)))
        })
    })
}

// ---------------------------------------------------------------- download

async fn download(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    user.require(STAFF)?;
    let file = path.into_inner();
    if !matches!(file.as_str(), "progress.csv" | "attempts.csv" | "xapi.json") {
        return Err(AppError::NotFound);
    }
    let (spec, _) = read_spec(&state, &query).await?;
    let stamp = state.now().format("%Y%m%d");
    let name = |kind: &str, ext: &str| format!("kaibo-{}-{kind}-{stamp}.{ext}", spec.course.slug);
    let header_csv = |columns: &[&str]| -> AppResult<Vec<u8>> {
        let mut head = BOM.to_vec();
        head.extend(csv_bytes(&[columns
            .iter()
            .map(|c| c.to_string())
            .collect()])?);
        Ok(head)
    };
    Ok(match file.as_str() {
        "attempts.csv" => streamed(
            "text/csv; charset=utf-8",
            name("attempts", "csv"),
            header_csv(ATTEMPT_COLUMNS)?,
            Vec::new(),
            attempts_pager(state.clone(), spec),
        ),
        "progress.csv" => streamed(
            "text/csv; charset=utf-8",
            name("progress", "csv"),
            header_csv(PROGRESS_COLUMNS)?,
            Vec::new(),
            progress_pager(state.clone(), spec),
        ),
        _ => streamed(
            "application/json",
            name("xapi", "json"),
            b"[\n".to_vec(),
            b"\n]\n".to_vec(),
            xapi_pager(state.clone(), spec),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(cell("+86 138"), "'+86 138");
        assert_eq!(cell("王小明"), "王小明");
    }

    #[test]
    fn plain_text_of_html() {
        assert_eq!(
            plain("<em>Fast</em> &amp; <code>cheap</code> &lt;3"),
            "Fast & cheap <3"
        );
    }

    #[test]
    fn points_drop_trailing_zeros() {
        assert_eq!(points(1000), "1");
        assert_eq!(points(1500), "1.5");
        assert_eq!(points(333), "0.333");
    }
}
