//! Instructor pages: the cohort overview of a course, one trainee's drill-down, quiz
//! item analysis, and groups. Instructor and admin roles only.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Duration;
use serde::Deserialize;

use super::funnel_chart::{self, FunnelLabels, FunnelStep};
use super::item_analysis::{
    self, AttemptRecord, ItemResponse, ItemStats, QuestionSpec, QuizAnalysis,
};
use super::queries::{self, EnrolledRow, Filter, FilterError};
use crate::accounts::domain::Role;
use crate::courses::grading::Answer;
use crate::courses::model::{Course, Module, Question, Quiz};
use crate::courses::routes::{ResultRow, result_row};
use crate::error::{AppError, AppResult};
use crate::learning::cohorts::{self, Cohort};
use crate::learning::progress::{self, Attempt, CourseProgress, StoredAnswer};
use crate::learning::routes::{duration_text, when};
use crate::learning::{dashboard, review, visits};
use crate::web::page::FormErrors;
use crate::web::{AppState, CsrfForm, CurrentUser, PageCtx, render, render_with_status, see_other};

pub const STAFF: &[Role] = &[Role::Instructor, Role::Admin];
const PAGE_SIZE: usize = 50;
const DEFAULT_STUCK_DAYS: i64 = 7;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/instructor/courses/{course}/progress",
        web::get().to(cohort_page),
    )
    .route(
        "/instructor/courses/{course}/trainees/{user}",
        web::get().to(trainee_page),
    )
    .route(
        "/instructor/courses/{course}/quizzes/{module}",
        web::get().to(item_page),
    )
    .route("/instructor/groups", web::get().to(groups_page))
    .route("/instructor/groups", web::post().to(create_group));
}

fn served(state: &AppState, slug: &str) -> AppResult<Arc<Course>> {
    state.courses.get(slug).ok_or(AppError::NotFound)
}

fn filter_error(e: FilterError) -> AppError {
    AppError::bad_request(e.key(), e.value().to_string())
}

/// Parses the shared filter and checks that the group exists.
pub(crate) async fn read_filter(
    state: &AppState,
    group: Option<&str>,
    intake: Option<&str>,
) -> AppResult<(Filter, Vec<Cohort>)> {
    let filter = Filter::parse(group, intake).map_err(filter_error)?;
    let groups = state.db(|conn| Ok(cohorts::all(conn)?)).await?;
    if let Some(id) = filter.cohort_id
        && !groups.iter().any(|g| g.id == id)
    {
        return Err(filter_error(FilterError::Group(id.to_string())));
    }
    Ok((filter, groups))
}

/// The filter form's current values.
pub(crate) struct FilterView {
    pub filter: Filter,
    pub groups: Vec<Cohort>,
}

impl FilterView {
    pub fn selected(&self, id: &i64) -> bool {
        self.filter.cohort_id == Some(*id)
    }
    pub fn intake(&self) -> String {
        self.filter
            .intake
            .map(|m| m.format("%Y-%m").to_string())
            .unwrap_or_default()
    }
    /// `?group=..&intake=..&` or `?`, to append more parameters to.
    pub fn query_prefix(&self) -> String {
        let q = self.filter.query();
        if q.is_empty() {
            "?".into()
        } else {
            format!("?{q}&")
        }
    }
}

// ---------------------------------------------------------------- cohort overview

#[derive(Debug, Deserialize)]
struct CohortQuery {
    group: Option<String>,
    intake: Option<String>,
    stuck_days: Option<String>,
    page: Option<String>,
}

struct TraineeLine {
    user_id: i64,
    name: String,
    email: String,
    group: Option<String>,
    enrolled: String,
    last_progress: String,
    modules_done: i32,
    completed: Option<String>,
}

#[derive(Template)]
#[template(path = "analytics/cohort.html")]
struct CohortPage {
    ctx: PageCtx,
    course: Arc<Course>,
    view: FilterView,
    stuck_days: i64,
    enrolled: usize,
    completed: usize,
    median_time: Option<String>,
    chart: String,
    stuck: Vec<TraineeLine>,
    stuck_total: usize,
    trainees: Vec<TraineeLine>,
    page: usize,
    pages: usize,
}

fn median_seconds(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2
    })
}

pub(crate) fn days_text(ctx: &PageCtx, seconds: i64) -> String {
    if seconds >= 86_400 {
        let days = format!("{:.1}", seconds as f64 / 86_400.0);
        ctx.tf("analytics.days", &[("days", &days)])
    } else {
        duration_text(ctx, seconds)
    }
}

async fn lines(state: &AppState, rows: &[&EnrolledRow]) -> AppResult<Vec<TraineeLine>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
    let (people, groups) = state
        .db(move |conn| {
            Ok((
                cohorts::people(conn, &ids)?,
                cohorts::names_for(conn, &ids)?,
            ))
        })
        .await?;
    let people: HashMap<i64, (String, String)> =
        people.into_iter().map(|(id, e, n)| (id, (e, n))).collect();
    let groups: HashMap<i64, String> = groups.into_iter().collect();
    Ok(rows
        .iter()
        .map(|r| {
            let (email, name) = people.get(&r.user_id).cloned().unwrap_or_default();
            TraineeLine {
                user_id: r.user_id,
                name,
                email,
                group: groups.get(&r.user_id).cloned(),
                enrolled: when(&r.enrolled_at),
                last_progress: when(&r.last_activity_at),
                modules_done: r.modules_done,
                completed: r.completed_at.as_ref().map(when),
            }
        })
        .collect())
}

async fn cohort_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<String>,
    query: web::Query<CohortQuery>,
) -> AppResult<HttpResponse> {
    user.require(STAFF)?;
    let course = served(&state, &path)?;
    let (filter, groups) =
        read_filter(&state, query.group.as_deref(), query.intake.as_deref()).await?;
    let stuck_days = match query.stuck_days.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_STUCK_DAYS,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| {
                AppError::bad_request(
                    "errors.bad_stuck_days",
                    raw.chars().take(20).collect::<String>(),
                )
            })?,
    };
    let page = match query.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| {
                AppError::bad_request("errors.bad_page", raw.chars().take(20).collect::<String>())
            })?,
    };
    let (slug, f) = (course.slug.clone(), filter.clone());
    let (rows, funnel) = state
        .db(move |conn| {
            Ok((
                queries::enrolled(conn, &slug, &f)?,
                queries::funnel(conn, &slug, &f)?,
            ))
        })
        .await?;
    let now = state.now().naive_utc();
    let cutoff = now - Duration::days(stuck_days);
    let completed: Vec<&EnrolledRow> = rows.iter().filter(|r| r.completed_at.is_some()).collect();
    let median = median_seconds(
        completed
            .iter()
            .filter_map(|r| r.completed_at.map(|c| (c - r.enrolled_at).num_seconds()))
            .collect(),
    );
    let mut stuck: Vec<&EnrolledRow> = rows
        .iter()
        .filter(|r| r.completed_at.is_none() && r.last_activity_at < cutoff)
        .collect();
    stuck.sort_by_key(|r| (r.last_activity_at, r.user_id));
    let stuck_total = stuck.len();
    stuck.truncate(PAGE_SIZE);
    let pages = rows.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages);
    let mut newest: Vec<&EnrolledRow> = rows.iter().collect();
    newest.sort_by_key(|r| std::cmp::Reverse((r.last_activity_at, r.user_id)));
    let shown: Vec<&EnrolledRow> = newest
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let mut steps = vec![FunnelStep {
        label: ctx.t("analytics.funnel_enrolled"),
        count: rows.len() as u64,
    }];
    steps.extend(course.modules.iter().map(|m| FunnelStep {
        label: m.title.clone(),
        count: funnel.get(&m.slug).copied().unwrap_or(0).max(0) as u64,
    }));
    let title = ctx.t("analytics.funnel_title");
    let axis = ctx.t("analytics.trainees");
    let chart = funnel_chart::funnel_svg(
        &steps,
        &FunnelLabels {
            title: &title,
            axis: &axis,
        },
    );
    render(&CohortPage {
        stuck: lines(&state, &stuck).await?,
        trainees: lines(&state, &shown).await?,
        median_time: median.map(|s| days_text(&ctx, s)),
        enrolled: rows.len(),
        completed: completed.len(),
        view: FilterView { filter, groups },
        ctx,
        course,
        stuck_days,
        chart,
        stuck_total,
        page,
        pages,
    })
}

// ---------------------------------------------------------------- trainee drill-down

struct ModuleView<'c> {
    module: &'c Module,
    percent: u32,
    complete: bool,
    time_spent: Option<String>,
    attempts: Vec<AttemptView<'c>>,
}

struct AttemptView<'c> {
    attempt: Attempt,
    when: String,
    changed: bool,
    rows: Vec<ResultRow<'c>>,
}

#[derive(Template)]
#[template(path = "analytics/trainee.html")]
struct TraineePage<'c> {
    ctx: PageCtx,
    course: &'c Course,
    name: String,
    email: String,
    group: Option<String>,
    enrolled: String,
    last_progress: String,
    completed: Option<String>,
    percent: u32,
    modules: Vec<ModuleView<'c>>,
    review_cards: i64,
}

struct TraineeData {
    person: (i64, String, String),
    group: Option<String>,
    enrolment: EnrolledRow,
    progress: CourseProgress,
    visits: Vec<visits::Visit>,
    attempts: Vec<(String, Attempt, Vec<StoredAnswer>)>,
    review_cards: i64,
}

async fn trainee_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    user.require(STAFF)?;
    let (course_slug, user_raw) = path.into_inner();
    let course = served(&state, &course_slug)?;
    let trainee: i64 = user_raw.parse().map_err(|_| AppError::NotFound)?;
    let slug = course.slug.clone();
    let modules: Vec<String> = course
        .modules
        .iter()
        .filter(|m| m.quiz.is_some())
        .map(|m| m.slug.clone())
        .collect();
    let data = state
        .db(move |conn| {
            // Only trainees enrolled in this course are shown here.
            let Some(enrolment) = queries::enrolled_one(conn, &slug, trainee)? else {
                return Ok(None);
            };
            let Some(person) = cohorts::people(conn, &[trainee])?.into_iter().next() else {
                return Ok(None);
            };
            let mut attempts = Vec::new();
            for m in &modules {
                for attempt in progress::attempts(conn, trainee, &slug, m)? {
                    let answers = progress::attempt_with_answers(
                        conn,
                        trainee,
                        &slug,
                        m,
                        attempt.attempt_number,
                    )?
                    .map(|(_, a)| a)
                    .unwrap_or_default();
                    attempts.push((m.clone(), attempt, answers));
                }
            }
            Ok(Some(TraineeData {
                person,
                group: cohorts::of_user(conn, trainee)?.map(|g| g.name),
                enrolment,
                progress: CourseProgress::load(conn, trainee, &slug)?,
                visits: visits::visits(conn, trainee, &slug)?,
                attempts,
                review_cards: review::course_count(conn, trainee, &slug)?,
            }))
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let spent = visits::time_per_module(&course, &data.visits);
    let modules = course
        .modules
        .iter()
        .map(|m| ModuleView {
            module: m,
            percent: dashboard::module_percent(&data.progress, m),
            complete: data.progress.module_complete(m),
            time_spent: spent
                .get(&m.slug)
                .filter(|s| **s > 0)
                .map(|s| duration_text(&ctx, *s)),
            attempts: m
                .quiz
                .as_ref()
                .map(|quiz| attempt_views(quiz, &m.slug, &data.attempts))
                .unwrap_or_default(),
        })
        .collect();
    let (_, email, name) = data.person;
    render(&TraineePage {
        course: &course,
        name,
        email,
        group: data.group,
        enrolled: when(&data.enrolment.enrolled_at),
        last_progress: when(&data.enrolment.last_activity_at),
        completed: data.enrolment.completed_at.as_ref().map(when),
        percent: data.progress.percent(&course),
        modules,
        review_cards: data.review_cards,
        ctx,
    })
}

fn attempt_views<'c>(
    quiz: &'c Quiz,
    module: &str,
    attempts: &[(String, Attempt, Vec<StoredAnswer>)],
) -> Vec<AttemptView<'c>> {
    attempts
        .iter()
        .filter(|(m, _, _)| m == module)
        .map(|(_, attempt, answers)| {
            let by_q: HashMap<&str, &StoredAnswer> = answers
                .iter()
                .map(|a| (a.question_id.as_str(), a))
                .collect();
            AttemptView {
                when: when(&attempt.submitted_at),
                changed: attempt.quiz_version != quiz.version,
                rows: quiz
                    .questions
                    .iter()
                    .map(|q| {
                        result_row(
                            q,
                            by_q.get(q.id.as_str())
                                .map(|s| (&s.answer, s.score_milli, s.max_milli)),
                        )
                    })
                    .collect(),
                attempt: attempt.clone(),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- item analysis

#[derive(Debug, Deserialize)]
struct ItemQuery {
    group: Option<String>,
    intake: Option<String>,
    attempts: Option<String>,
}

/// The statistics of one version of the quiz.
struct VersionStats<'q> {
    version: String,
    current: bool,
    analysis: QuizAnalysis,
    questions: HashMap<String, &'q Question>,
}

impl VersionStats<'_> {
    fn prompt(&self, item: &ItemStats) -> String {
        self.questions
            .get(&item.question_id)
            .map(|q| q.prompt_html.clone())
            .unwrap_or_default()
    }
    fn option_label(&self, item: &ItemStats, option: &str) -> String {
        self.questions
            .get(&item.question_id)
            .and_then(|q| q.kind.choices().iter().find(|c| c.id == option))
            .map(|c| c.label_html.clone())
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "analytics/items.html")]
struct ItemPage<'q> {
    ctx: PageCtx,
    course: &'q Course,
    module: &'q Module,
    quiz: &'q Quiz,
    view: FilterView,
    all: bool,
    versions: Vec<VersionStats<'q>>,
}

pub(crate) fn percent(value: &Option<f64>) -> Option<String> {
    value.map(|v| format!("{:.0}%", v * 100.0))
}

pub(crate) fn decimal(value: &Option<f64>) -> Option<String> {
    value.map(|v| format!("{v:.2}"))
}

pub fn question_specs(quiz: &Quiz) -> Vec<QuestionSpec> {
    quiz.questions
        .iter()
        .map(|q| QuestionSpec {
            id: q.id.clone(),
            options: q.kind.choices().iter().map(|c| c.id.clone()).collect(),
            correct: q
                .kind
                .choices()
                .iter()
                .filter(|c| c.correct)
                .map(|c| c.id.clone())
                .collect(),
        })
        .collect()
}

/// Groups answer rows (ordered by attempt) into attempts, split by quiz version, in
/// order of first appearance.
pub fn by_version(rows: Vec<queries::AnswerRow>) -> Vec<(String, Vec<AttemptRecord>)> {
    let mut versions: Vec<(String, Vec<AttemptRecord>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parsed: HashMap<String, (Vec<String>, Option<String>)> = HashMap::new();
    for row in rows {
        let v = *index.entry(row.quiz_version.clone()).or_insert_with(|| {
            versions.push((row.quiz_version.clone(), Vec::new()));
            versions.len() - 1
        });
        let attempts = &mut versions[v].1;
        if attempts
            .last()
            .is_none_or(|a| a.attempt_id != row.attempt_id)
        {
            attempts.push(AttemptRecord {
                attempt_id: row.attempt_id,
                responses: Vec::new(),
            });
        }
        // A question has a handful of distinct answers: parse each once.
        let (picked, text) = match parsed.get(&row.answer) {
            Some(known) => known.clone(),
            None => {
                let value = match serde_json::from_str::<Answer>(&row.answer) {
                    Ok(Answer::Choices(ids)) => (ids, None),
                    Ok(Answer::Text(t)) => (Vec::new(), Some(t)),
                    Err(_) => (Vec::new(), Some(row.answer.clone())),
                };
                parsed.insert(row.answer, value.clone());
                value
            }
        };
        if let Some(last) = attempts.last_mut() {
            last.responses.push(ItemResponse {
                question_id: row.question_id,
                score_milli: row.score_milli,
                max_milli: row.max_milli,
                picked,
                text,
            });
        }
    }
    versions
}

async fn item_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<(String, String)>,
    query: web::Query<ItemQuery>,
) -> AppResult<HttpResponse> {
    user.require(STAFF)?;
    let (course_slug, module_slug) = path.into_inner();
    let course = served(&state, &course_slug)?;
    let module = course.module(&module_slug).ok_or(AppError::NotFound)?;
    let quiz = module.quiz.as_ref().ok_or(AppError::NotFound)?;
    let all = match query.attempts.as_deref().map(str::trim) {
        None | Some("") | Some("first") => false,
        Some("all") => true,
        Some(other) => {
            return Err(AppError::bad_request(
                "errors.bad_attempts",
                other.chars().take(20).collect::<String>(),
            ));
        }
    };
    let (filter, groups) =
        read_filter(&state, query.group.as_deref(), query.intake.as_deref()).await?;
    let (c, m, f) = (course.slug.clone(), module.slug.clone(), filter.clone());
    let rows = state
        .db(move |conn| Ok(queries::quiz_answers(conn, &c, &m, all, &f)?))
        .await?;
    let specs = question_specs(quiz);
    let questions: HashMap<String, &Question> =
        quiz.questions.iter().map(|q| (q.id.clone(), q)).collect();
    let mut versions: Vec<VersionStats> = by_version(rows)
        .into_iter()
        .map(|(version, attempts)| {
            let current = version == quiz.version;
            // Older versions are analysed on their own questions: a question no longer
            // in the file shows up as unknown rather than being merged.
            let analysis = if current {
                item_analysis::analyse(&specs, &attempts)
            } else {
                item_analysis::analyse(&[], &attempts)
            };
            VersionStats {
                version,
                current,
                analysis,
                questions: questions.clone(),
            }
        })
        .collect();
    if !versions.iter().any(|v| v.current) {
        versions.push(VersionStats {
            version: quiz.version.clone(),
            current: true,
            analysis: item_analysis::analyse(&specs, &[]),
            questions: questions.clone(),
        });
    }
    // The current version first, then older ones, largest first.
    versions.sort_by_key(|v| (!v.current, std::cmp::Reverse(v.analysis.attempts)));
    render(&ItemPage {
        view: FilterView { filter, groups },
        course: &course,
        module,
        quiz,
        all,
        versions,
        ctx,
    })
}

// ---------------------------------------------------------------- groups

#[derive(Template)]
#[template(path = "analytics/groups.html")]
struct GroupsPage {
    ctx: PageCtx,
    groups: Vec<(Cohort, i64)>,
    errors: FormErrors,
    name: String,
}

async fn groups_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    user.require(STAFF)?;
    let groups = state.db(|conn| Ok(cohorts::with_sizes(conn)?)).await?;
    render(&GroupsPage {
        ctx,
        groups,
        errors: FormErrors::default(),
        name: String::new(),
    })
}

#[derive(Debug, Deserialize)]
struct GroupForm {
    name: String,
}

async fn create_group(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<GroupForm>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = ctx.require_role(STAFF)?;
    match cohorts::validate_name(&form.name) {
        Ok(name) => {
            let (id, now) = (user.id, state.now());
            state
                .db(move |conn| Ok(cohorts::create(conn, &name, id, now)?))
                .await?;
            Ok(see_other("/instructor/groups"))
        }
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add(
                "name",
                match e {
                    cohorts::NameError::Empty => ctx.t("groups.name_empty"),
                    cohorts::NameError::TooLong => ctx.t("groups.name_too_long"),
                },
            );
            let groups = state.db(|conn| Ok(cohorts::with_sizes(conn)?)).await?;
            render_with_status(
                &GroupsPage {
                    ctx,
                    groups,
                    errors,
                    name: form.name.chars().take(200).collect(),
                },
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}
