//! Course pages for trainees: catalog, overview, lessons, quizzes and results; course
//! assets; and the instructor preview that shows any course, broken ones included.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use sha2::{Digest, Sha256};

use super::diagnostics::Diagnostic;
use super::grading::{self, Answer};
use super::model::{Choice, Course, Lesson, Module, Question, Quiz};
use crate::accounts::EmptyForm;
use crate::accounts::domain::Role;
use crate::db::write_tx;
use crate::error::{AppError, AppResult};
use crate::learning::progress::{self, Attempt, CourseProgress, NewAttempt, RecordError};
use crate::learning::{enrolment, visits};
use crate::web::{AppState, CsrfForm, CurrentUser, PageCtx, render, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/courses", web::get().to(catalog))
        .route("/courses/{course}", web::get().to(overview))
        .route("/courses/{course}/assets/{path:.*}", web::get().to(asset))
        .route("/courses/{course}/{module}/quiz", web::get().to(quiz_page))
        .route(
            "/courses/{course}/{module}/quiz",
            web::post().to(submit_quiz),
        )
        .route(
            "/courses/{course}/{module}/quiz/attempts/{number}",
            web::get().to(result_page),
        )
        .route(
            "/courses/{course}/{module}/{lesson}",
            web::get().to(lesson_page),
        )
        .route(
            "/courses/{course}/{module}/{lesson}/complete",
            web::post().to(complete_lesson),
        )
        .route("/instructor/courses", web::get().to(instructor_courses))
        .route(
            "/instructor/courses/{course}",
            web::get().to(instructor_preview),
        );
}

fn course(state: &AppState, slug: &str) -> AppResult<Arc<Course>> {
    state.courses.get(slug).ok_or(AppError::NotFound)
}

fn module<'c>(course: &'c Course, slug: &str) -> AppResult<&'c Module> {
    course.module(slug).ok_or(AppError::NotFound)
}

async fn load_progress(state: &AppState, user_id: i64, course: &str) -> AppResult<CourseProgress> {
    let course = course.to_string();
    state
        .db(move |conn| Ok(CourseProgress::load(conn, user_id, &course)?))
        .await
}

/// A module a trainee asked for, with their progress in its course.
struct Opened {
    course: Arc<Course>,
    index: usize,
    progress: CourseProgress,
}

impl Opened {
    fn module(&self) -> &Module {
        &self.course.modules[self.index]
    }

    fn unlocked(&self) -> bool {
        self.progress.unlocked(&self.course, self.module())
    }

    /// The 403 page for a locked module, naming what to finish first.
    fn locked(&self, ctx: PageCtx) -> AppResult<HttpResponse> {
        locked(ctx, &self.course, self.module(), &self.progress)
    }
}

async fn open_module(
    state: &AppState,
    user_id: i64,
    course_slug: &str,
    module_slug: &str,
) -> AppResult<Opened> {
    let course = course(state, course_slug)?;
    let index = course
        .modules
        .iter()
        .position(|m| m.slug == module_slug)
        .ok_or(AppError::NotFound)?;
    let progress = load_progress(state, user_id, &course.slug).await?;
    Ok(Opened {
        course,
        index,
        progress,
    })
}

// ---------------------------------------------------------------- catalog

struct CatalogEntry {
    course: Arc<Course>,
    percent: u32,
}

#[derive(Template)]
#[template(path = "courses/catalog.html")]
struct CatalogPage {
    ctx: PageCtx,
    entries: Vec<CatalogEntry>,
}

async fn catalog(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?;
    let mut entries = Vec::new();
    for course in state.courses.served() {
        let progress = load_progress(&state, user.id, &course.slug).await?;
        entries.push(CatalogEntry {
            percent: progress.percent(&course),
            course,
        });
    }
    render(&CatalogPage { ctx, entries })
}

// ---------------------------------------------------------------- overview

struct ModuleRow<'a> {
    module: &'a Module,
    unlocked: bool,
    complete: bool,
    missing: Vec<&'a Module>,
    lessons: Vec<(&'a Lesson, bool)>,
}

#[derive(Template)]
#[template(path = "courses/overview.html")]
struct OverviewPage<'a> {
    ctx: PageCtx,
    course: &'a Course,
    rows: Vec<ModuleRow<'a>>,
    percent: u32,
}

fn module_rows<'a>(course: &'a Course, progress: &CourseProgress) -> Vec<ModuleRow<'a>> {
    course
        .modules
        .iter()
        .map(|m| ModuleRow {
            module: m,
            unlocked: progress.unlocked(course, m),
            complete: progress.module_complete(m),
            missing: progress.missing(course, m),
            lessons: m
                .lessons
                .iter()
                .map(|l| (l, progress.lesson_done(&m.slug, &l.slug)))
                .collect(),
        })
        .collect()
}

async fn overview(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?;
    let course = course(&state, &path)?;
    let (slug, id, now) = (course.slug.clone(), user.id, state.now());
    if let Err(e) = state
        .db(move |conn| Ok(enrolment::ensure_enrolled(conn, id, &slug, now)?))
        .await
    {
        tracing::warn!(error = %e, "enrolment not recorded");
    }
    let progress = load_progress(&state, user.id, &course.slug).await?;
    render(&OverviewPage {
        ctx,
        rows: module_rows(&course, &progress),
        percent: progress.percent(&course),
        course: &course,
    })
}

// ---------------------------------------------------------------- gating

#[derive(Template)]
#[template(path = "courses/locked.html")]
struct LockedPage<'a> {
    ctx: PageCtx,
    course: &'a Course,
    module: &'a Module,
    missing: Vec<&'a Module>,
}

/// A locked module answers 403 with a page naming what to finish first.
fn locked(
    ctx: PageCtx,
    course: &Course,
    module: &Module,
    progress: &CourseProgress,
) -> AppResult<HttpResponse> {
    render_with_status(
        &LockedPage {
            ctx,
            course,
            module,
            missing: progress.missing(course, module),
        },
        StatusCode::FORBIDDEN,
    )
}

// ---------------------------------------------------------------- lessons

#[derive(Template)]
#[template(path = "courses/lesson.html")]
struct LessonPage<'a> {
    ctx: PageCtx,
    course: &'a Course,
    module: &'a Module,
    lesson: &'a Lesson,
    done: bool,
    previous: Option<(String, String)>,
    next: Option<(String, String)>,
}

/// A page in the course as (url, title).
type PageLink = (String, String);

/// Every lesson and quiz of the course in reading order, as (url, title).
fn reading_order(course: &Course, ctx: &PageCtx) -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for m in &course.modules {
        for l in &m.lessons {
            pages.push((
                format!("/courses/{}/{}/{}", course.slug, m.slug, l.slug),
                l.title.clone(),
            ));
        }
        if let Some(q) = &m.quiz {
            pages.push((
                format!("/courses/{}/{}/quiz", course.slug, m.slug),
                format!("{} · {}", ctx.t("quiz.label"), q.title),
            ));
        }
    }
    pages
}

fn neighbours(course: &Course, ctx: &PageCtx, url: &str) -> (Option<PageLink>, Option<PageLink>) {
    let pages = reading_order(course, ctx);
    let Some(i) = pages.iter().position(|(u, _)| u == url) else {
        return (None, None);
    };
    (
        i.checked_sub(1).map(|p| pages[p].clone()),
        pages.get(i + 1).cloned(),
    )
}

async fn lesson_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<(String, String, String)>,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?;
    let (course_slug, module_slug, lesson_slug) = path.into_inner();
    let opened = open_module(&state, user.id, &course_slug, &module_slug).await?;
    let (course, module) = (&opened.course, opened.module());
    let lesson = module.lesson(&lesson_slug).ok_or(AppError::NotFound)?;
    if !opened.unlocked() {
        return opened.locked(ctx);
    }
    let (c, m, l, now, id) = (
        course.slug.clone(),
        module.slug.clone(),
        lesson.slug.clone(),
        state.now(),
        user.id,
    );
    // Best effort: a lesson still opens when the visit cannot be written.
    let noted = state
        .db(move |conn| {
            enrolment::ensure_enrolled(conn, id, &c, now)?;
            visits::record_visit(conn, id, &c, &m, &l, now)?;
            Ok(())
        })
        .await;
    if let Err(e) = noted {
        tracing::warn!(error = %e, "lesson visit not recorded");
    }
    let progress = &opened.progress;
    let url = format!("/courses/{}/{}/{}", course.slug, module.slug, lesson.slug);
    let (previous, next) = neighbours(course, &ctx, &url);
    render(&LessonPage {
        done: progress.lesson_done(&module.slug, &lesson.slug),
        ctx,
        course,
        module,
        lesson,
        previous,
        next,
    })
}

async fn complete_lesson(
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<EmptyForm>,
    ctx: PageCtx,
    path: web::Path<(String, String, String)>,
) -> AppResult<HttpResponse> {
    let user = ctx.require_role(&[Role::Trainee])?;
    let (course_slug, module_slug, lesson_slug) = path.into_inner();
    let opened = open_module(&state, user.id, &course_slug, &module_slug).await?;
    let (course, module) = (&opened.course, opened.module());
    let lesson = module.lesson(&lesson_slug).ok_or(AppError::NotFound)?;
    if !opened.unlocked() {
        return opened.locked(ctx);
    }
    let (c, m, l, now, id) = (
        course.slug.clone(),
        module.slug.clone(),
        lesson.slug.clone(),
        state.now(),
        user.id,
    );
    let whole = Arc::clone(course);
    state
        .db(move |conn| {
            Ok(write_tx(conn, |conn| {
                progress::complete_lesson(conn, id, &c, &m, &l, now)?;
                enrolment::record_progress(conn, id, &whole, now)
            })?)
        })
        .await?;
    let url = format!("/courses/{}/{}/{}", course.slug, module.slug, lesson.slug);
    let (_, next) = neighbours(course, &ctx, &url);
    Ok(see_other(
        &next.map(|(u, _)| u).unwrap_or_else(|| course.url()),
    ))
}

// ---------------------------------------------------------------- quizzes

/// A question as the form shows it: options in this attempt's order, no answer key.
struct AskedQuestion<'a> {
    question: &'a Question,
    choices: Vec<&'a Choice>,
}

#[derive(Template)]
#[template(path = "courses/quiz.html")]
struct QuizPage<'a> {
    ctx: PageCtx,
    course: &'a Course,
    module: &'a Module,
    quiz: &'a Quiz,
    questions: Vec<AskedQuestion<'a>>,
    attempts: Vec<Attempt>,
    attempts_left: Option<u32>,
    error: Option<String>,
    /// What the trainee typed or picked, kept when the form comes back with an error.
    given: HashMap<String, Vec<String>>,
}

impl QuizPage<'_> {
    fn picked(&self, question: &str, option: &str) -> bool {
        self.given
            .get(question)
            .is_some_and(|v| v.iter().any(|o| o == option))
    }

    fn typed(&self, question: &str) -> String {
        self.given
            .get(question)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    }
}

/// Options in a fixed order for a given trainee and attempt, so a reload does not
/// reshuffle them.
fn asked<'a>(
    quiz: &'a Quiz,
    user_id: i64,
    course: &str,
    module: &str,
    attempt: usize,
) -> Vec<AskedQuestion<'a>> {
    quiz.questions
        .iter()
        .map(|q| {
            let mut choices: Vec<&Choice> = q.kind.choices().iter().collect();
            if quiz.shuffle && !matches!(q.kind, super::model::QuestionKind::TrueFalse(_)) {
                let digest =
                    Sha256::digest(format!("{user_id}/{course}/{module}/{attempt}/{}", q.id));
                let seed = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
                choices.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            }
            AskedQuestion {
                question: q,
                choices,
            }
        })
        .collect()
}

fn attempts_left(quiz: &Quiz, taken: usize) -> Option<u32> {
    (quiz.max_attempts > 0).then(|| quiz.max_attempts.saturating_sub(taken as u32))
}

async fn quiz_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?.clone();
    let (course_slug, module_slug) = path.into_inner();
    let opened = open_module(&state, user.id, &course_slug, &module_slug).await?;
    if !opened.unlocked() {
        return opened.locked(ctx);
    }
    let (course, module) = (&opened.course, opened.module());
    let quiz = module.quiz.as_ref().ok_or(AppError::NotFound)?;
    let attempts = load_attempts(&state, user.id, &course.slug, &module.slug).await?;
    render_quiz(
        ctx,
        course,
        module,
        quiz,
        user.id,
        attempts,
        None,
        HashMap::new(),
        StatusCode::OK,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_quiz(
    ctx: PageCtx,
    course: &Course,
    module: &Module,
    quiz: &Quiz,
    user_id: i64,
    attempts: Vec<Attempt>,
    error: Option<String>,
    given: HashMap<String, Vec<String>>,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let questions = asked(
        quiz,
        user_id,
        &course.slug,
        &module.slug,
        attempts.len() + 1,
    );
    render_with_status(
        &QuizPage {
            ctx,
            course,
            module,
            quiz,
            questions,
            attempts_left: attempts_left(quiz, attempts.len()),
            attempts,
            error,
            given,
        },
        status,
    )
}

async fn load_attempts(
    state: &AppState,
    user_id: i64,
    course: &str,
    module: &str,
) -> AppResult<Vec<Attempt>> {
    let (c, m) = (course.to_string(), module.to_string());
    state
        .db(move |conn| Ok(progress::attempts(conn, user_id, &c, &m)?))
        .await
}

async fn submit_quiz(
    state: web::Data<AppState>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let user = ctx.require_role(&[Role::Trainee])?;
    let (course_slug, module_slug) = path.into_inner();
    let opened = open_module(&state, user.id, &course_slug, &module_slug).await?;
    if !opened.unlocked() {
        return opened.locked(ctx);
    }
    let (course, module) = (&opened.course, opened.module());
    let quiz = module.quiz.as_ref().ok_or(AppError::NotFound)?;
    let attempts = load_attempts(&state, user.id, &course.slug, &module.slug).await?;
    if attempts_left(quiz, attempts.len()) == Some(0) {
        let error = Some(ctx.t("quiz.no_attempts_left"));
        return render_quiz(
            ctx,
            course,
            module,
            quiz,
            user.id,
            attempts,
            error,
            HashMap::new(),
            StatusCode::FORBIDDEN,
        );
    }
    if pairs.len() > 500 {
        return Err(AppError::bad_request("errors.bad_form", "too many fields"));
    }
    let answers = match grading::read_submission(quiz, &pairs) {
        Ok(answers) => answers,
        Err(e) => {
            let mut given: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in &pairs {
                if let Some(id) = k.strip_prefix("q-") {
                    given
                        .entry(id.to_string())
                        .or_default()
                        .push(v.chars().take(grading::MAX_ANSWER_CHARS).collect());
                }
            }
            let error = Some(format!("{} {}", ctx.t(e.key()), e.detail()));
            return render_quiz(
                ctx,
                course,
                module,
                quiz,
                user.id,
                attempts,
                error,
                given,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let graded = grading::grade(quiz, &answers);
    let (c, m, version, now, id) = (
        course.slug.clone(),
        module.slug.clone(),
        quiz.version.clone(),
        state.now(),
        user.id,
    );
    let (max_attempts, pass_mark) = (quiz.max_attempts, quiz.pass_mark);
    let whole = Arc::clone(course);
    let recorded = state
        .db(move |conn| {
            let new = NewAttempt {
                user_id: id,
                course: &c,
                module: &m,
                quiz_version: &version,
                max_attempts,
                pass_mark,
                graded: &graded,
            };
            let recorded = write_tx(conn, |conn| {
                let number = progress::record_attempt(conn, &new, now)?;
                enrolment::record_progress(conn, id, &whole, now)?;
                Ok::<_, RecordError>(number)
            });
            match recorded {
                Ok(n) => Ok(Some(n)),
                Err(RecordError::NoAttemptsLeft) => Ok(None),
                Err(RecordError::Database(e)) => Err(e.into()),
            }
        })
        .await?;
    match recorded {
        Some(number) => Ok(see_other(&format!(
            "/courses/{}/{}/quiz/attempts/{number}",
            course.slug, module.slug
        ))),
        None => {
            let error = Some(ctx.t("quiz.no_attempts_left"));
            let attempts = load_attempts(&state, user.id, &course.slug, &module.slug).await?;
            render_quiz(
                ctx,
                course,
                module,
                quiz,
                user.id,
                attempts,
                error,
                HashMap::new(),
                StatusCode::FORBIDDEN,
            )
        }
    }
}

// ---------------------------------------------------------------- results

/// One graded answer as the result pages show it (templates/courses/answer_row.html).
pub(crate) struct ResultRow<'a> {
    pub question: &'a Question,
    /// Options the trainee picked, or what they typed.
    pub picked: Vec<&'a Choice>,
    pub typed: Option<String>,
    pub correct: Vec<&'a Choice>,
    pub score_milli: i64,
    pub max_milli: i64,
}

impl ResultRow<'_> {
    pub fn full_marks(&self) -> bool {
        self.score_milli == self.max_milli
    }
    pub fn points(&self) -> String {
        milli(self.score_milli)
    }
    pub fn max_points(&self) -> String {
        milli(self.max_milli)
    }
}

/// A question with the stored answer (answer, score, max), if there is one.
pub(crate) fn result_row<'a>(
    q: &'a Question,
    stored: Option<(&Answer, i64, i64)>,
) -> ResultRow<'a> {
    let (picked, typed) = match stored.map(|s| s.0) {
        Some(Answer::Choices(ids)) => (
            q.kind
                .choices()
                .iter()
                .filter(|c| ids.contains(&c.id))
                .collect(),
            None,
        ),
        Some(Answer::Text(t)) => (Vec::new(), Some(t.clone())),
        None => (Vec::new(), None),
    };
    ResultRow {
        question: q,
        picked,
        typed,
        correct: q.kind.choices().iter().filter(|c| c.correct).collect(),
        score_milli: stored.map_or(0, |s| s.1),
        max_milli: stored.map_or(i64::from(q.points) * 1000, |s| s.2),
    }
}

pub(crate) fn milli(value: i64) -> String {
    if value % 1000 == 0 {
        (value / 1000).to_string()
    } else {
        format!("{:.2}", value as f64 / 1000.0)
    }
}

#[derive(Template)]
#[template(path = "courses/result.html")]
struct ResultPage<'a> {
    ctx: PageCtx,
    course: &'a Course,
    module: &'a Module,
    quiz: &'a Quiz,
    attempt: Attempt,
    rows: Vec<ResultRow<'a>>,
    changed: bool,
    can_retry: bool,
    next: Option<(String, String)>,
}

impl ResultPage<'_> {
    fn score(&self) -> String {
        milli(self.attempt.score_milli)
    }
    fn max(&self) -> String {
        milli(self.attempt.max_milli)
    }
}

async fn result_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<(String, String, String)>,
) -> AppResult<HttpResponse> {
    let user = user.require(&[Role::Trainee])?.clone();
    let (course_slug, module_slug, number) = path.into_inner();
    let number: i32 = number.parse().map_err(|_| AppError::NotFound)?;
    let course = course(&state, &course_slug)?;
    let module = module(&course, &module_slug)?;
    let quiz = module.quiz.as_ref().ok_or(AppError::NotFound)?;
    let (c, m, id) = (course.slug.clone(), module.slug.clone(), user.id);
    // Only this trainee's own attempts are found: the query is keyed by their id.
    let (attempt, answers) = state
        .db(move |conn| Ok(progress::attempt_with_answers(conn, id, &c, &m, number)?))
        .await?
        .ok_or(AppError::NotFound)?;
    let by_question: HashMap<&str, &progress::StoredAnswer> = answers
        .iter()
        .map(|a| (a.question_id.as_str(), a))
        .collect();
    let rows = quiz
        .questions
        .iter()
        .map(|q| {
            let stored = by_question.get(q.id.as_str());
            result_row(q, stored.map(|s| (&s.answer, s.score_milli, s.max_milli)))
        })
        .collect();
    let attempts = load_attempts(&state, user.id, &course.slug, &module.slug).await?;
    let passed_any = attempts.iter().any(|a| a.passed);
    let next = if passed_any {
        let index = course
            .modules
            .iter()
            .position(|x| x.slug == module.slug)
            .unwrap_or(0);
        course.modules.get(index + 1).map(|n| {
            (
                format!("{}#module-{}", course.url(), n.slug),
                n.title.clone(),
            )
        })
    } else {
        None
    };
    render(&ResultPage {
        changed: attempt.quiz_version != quiz.version,
        can_retry: !attempt.passed && attempts_left(quiz, attempts.len()) != Some(0),
        ctx,
        course: &course,
        module,
        quiz,
        attempt,
        rows,
        next,
    })
}

// ---------------------------------------------------------------- assets

/// Serves a file from the course's `assets/` folder. The path is resolved and checked
/// to stay inside that folder, so `..` in any spelling ends in 404.
async fn asset(
    state: web::Data<AppState>,
    _user: CurrentUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (course_slug, rel) = path.into_inner();
    if rel
        .split(['/', '\\'])
        .any(|s| s.is_empty() || s.starts_with('.'))
    {
        return Err(AppError::NotFound);
    }
    let course = course(&state, &course_slug)?;
    let base = course.dir.join("assets");
    let file = web::block(move || -> Option<(Vec<u8>, String)> {
        let base = base.canonicalize().ok()?;
        let full = base.join(&rel).canonicalize().ok()?;
        if !full.starts_with(&base) || !full.is_file() {
            return None;
        }
        let ext = full
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        Some((std::fs::read(&full).ok()?, ext))
    })
    .await?
    .ok_or(AppError::NotFound)?;
    let (bytes, ext) = file;
    let content_type = match ext.as_str() {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        // SVG can carry script; this keeps it inert even if opened directly.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        ))
        .body(bytes))
}

// ---------------------------------------------------------------- instructors

struct CourseStatus {
    slug: String,
    title: Option<String>,
    served: bool,
    errors: usize,
    warnings: usize,
}

#[derive(Template)]
#[template(path = "courses/instructor_list.html")]
struct InstructorList {
    ctx: PageCtx,
    courses: Vec<CourseStatus>,
}

async fn instructor_courses(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Instructor, Role::Admin])?;
    let courses = state
        .courses
        .states()
        .into_iter()
        .map(|(slug, s)| CourseStatus {
            title: s.served.as_ref().map(|c| c.title.clone()),
            served: s.served.is_some(),
            errors: s.diagnostics.iter().filter(|d| d.is_error()).count(),
            warnings: s.diagnostics.iter().filter(|d| !d.is_error()).count(),
            slug,
        })
        .collect();
    render(&InstructorList { ctx, courses })
}

#[derive(Template)]
#[template(path = "courses/instructor_preview.html")]
struct InstructorPreview {
    ctx: PageCtx,
    slug: String,
    course: Option<Arc<Course>>,
    diagnostics: Vec<Diagnostic>,
    stale: bool,
    has_errors: bool,
}

async fn instructor_preview(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    user.require(&[Role::Instructor, Role::Admin])?;
    let slug = path.into_inner();
    let s = state.courses.state(&slug).ok_or(AppError::NotFound)?;
    render(&InstructorPreview {
        ctx,
        stale: s.has_errors() && s.served.is_some(),
        has_errors: s.has_errors(),
        // Instructors see their files as they are now, errors and all.
        course: s.draft.clone().or_else(|| s.served.clone()),
        diagnostics: s.diagnostics,
        slug,
    })
}
