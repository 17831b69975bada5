//! Stored progress, keyed by course, module and lesson slugs and by question ids, so
//! editing a course never rewrites history: each attempt records the quiz version.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::courses::grading::{Answer, Graded};
use crate::courses::model::{Course, Module};
use crate::db::schema::{lesson_completions, quiz_answers, quiz_attempts};
use crate::db::{DbConn, write_tx};

/// Marks a lesson complete; doing it twice is harmless.
pub fn complete_lesson(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
    module: &str,
    lesson: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    super::enrolment::insert_ignoring_duplicate(conn, |conn| {
        diesel::insert_into(lesson_completions::table)
            .values((
                lesson_completions::user_id.eq(user_id),
                lesson_completions::course_slug.eq(course),
                lesson_completions::module_slug.eq(module),
                lesson_completions::lesson_slug.eq(lesson),
                lesson_completions::completed_at.eq(now.naive_utc()),
            ))
            .execute(conn)
    })?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CourseProgress {
    /// (module, lesson) pairs.
    pub lessons: HashSet<(String, String)>,
    /// Modules whose quiz has a passing attempt.
    pub passed_quizzes: HashSet<String>,
}

impl CourseProgress {
    pub fn load(conn: &mut DbConn, user_id: i64, course: &str) -> QueryResult<Self> {
        let lessons = lesson_completions::table
            .filter(lesson_completions::user_id.eq(user_id))
            .filter(lesson_completions::course_slug.eq(course))
            .select((
                lesson_completions::module_slug,
                lesson_completions::lesson_slug,
            ))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        let passed_quizzes = quiz_attempts::table
            .filter(quiz_attempts::user_id.eq(user_id))
            .filter(quiz_attempts::course_slug.eq(course))
            .filter(quiz_attempts::passed.eq(true))
            .select(quiz_attempts::module_slug)
            .distinct()
            .load::<String>(conn)?
            .into_iter()
            .collect();
        Ok(Self {
            lessons,
            passed_quizzes,
        })
    }

    pub fn lesson_done(&self, module: &str, lesson: &str) -> bool {
        self.lessons
            .contains(&(module.to_string(), lesson.to_string()))
    }

    /// A module is complete when its quiz is passed, or without a quiz when every lesson
    /// is marked complete.
    pub fn module_complete(&self, module: &Module) -> bool {
        match module.quiz {
            Some(_) => self.passed_quizzes.contains(&module.slug),
            None => module
                .lessons
                .iter()
                .all(|l| self.lesson_done(&module.slug, &l.slug)),
        }
    }

    /// The required modules still to finish before `module` opens.
    pub fn missing<'c>(&self, course: &'c Course, module: &Module) -> Vec<&'c Module> {
        module
            .requires
            .iter()
            .filter_map(|slug| course.module(slug))
            .filter(|m| !self.module_complete(m))
            .collect()
    }

    pub fn unlocked(&self, course: &Course, module: &Module) -> bool {
        self.missing(course, module).is_empty()
    }

    /// Completed lessons as a share of all lessons, in percent.
    pub fn percent(&self, course: &Course) -> u32 {
        let total = course.lesson_count();
        if total == 0 {
            return 0;
        }
        let done = course
            .modules
            .iter()
            .flat_map(|m| m.lessons.iter().map(move |l| (m, l)))
            .filter(|(m, l)| self.lesson_done(&m.slug, &l.slug))
            .count();
        (done * 100 / total) as u32
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quiz_attempts)]
pub struct Attempt {
    pub id: i64,
    pub attempt_number: i32,
    pub quiz_version: String,
    pub score_milli: i64,
    pub max_milli: i64,
    pub passed: bool,
    pub submitted_at: NaiveDateTime,
}

impl Attempt {
    pub fn percent(&self) -> i64 {
        if self.max_milli == 0 {
            0
        } else {
            self.score_milli * 100 / self.max_milli
        }
    }
}

pub fn attempts(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
    module: &str,
) -> QueryResult<Vec<Attempt>> {
    quiz_attempts::table
        .filter(quiz_attempts::user_id.eq(user_id))
        .filter(quiz_attempts::course_slug.eq(course))
        .filter(quiz_attempts::module_slug.eq(module))
        .order(quiz_attempts::attempt_number.asc())
        .select(Attempt::as_select())
        .load(conn)
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("no attempts left")]
    NoAttemptsLeft,
    #[error(transparent)]
    Database(#[from] DieselError),
}

pub struct NewAttempt<'a> {
    pub user_id: i64,
    pub course: &'a str,
    pub module: &'a str,
    pub quiz_version: &'a str,
    pub max_attempts: u32,
    pub pass_mark: u32,
    pub graded: &'a [Graded],
}

/// Stores an attempt and its answers in one transaction, enforcing the attempt limit.
/// Two submissions racing for the last attempt cannot both land: the attempt number is
/// unique per trainee and quiz.
pub fn record_attempt(
    conn: &mut DbConn,
    new: &NewAttempt<'_>,
    now: DateTime<Utc>,
) -> Result<i32, RecordError> {
    write_tx(conn, |conn| {
        // On PostgreSQL, concurrent submissions of one trainee queue on their user row,
        // so each counts the attempts the others stored (SQLite's BEGIN IMMEDIATE already
        // runs writers one at a time). Without it two would draw the same number.
        if let DbConn::Postgres(pg) = conn {
            crate::db::schema::users::table
                .find(new.user_id)
                .select(crate::db::schema::users::id)
                .for_update()
                .first::<i64>(pg)?;
        }
        let taken: i64 = quiz_attempts::table
            .filter(quiz_attempts::user_id.eq(new.user_id))
            .filter(quiz_attempts::course_slug.eq(new.course))
            .filter(quiz_attempts::module_slug.eq(new.module))
            .count()
            .get_result(conn)?;
        if new.max_attempts > 0 && taken >= i64::from(new.max_attempts) {
            return Err(RecordError::NoAttemptsLeft);
        }
        let number = i32::try_from(taken + 1).unwrap_or(i32::MAX);
        let score: i64 = new.graded.iter().map(|g| g.score_milli).sum();
        let max: i64 = new.graded.iter().map(|g| g.max_milli).sum();
        let passed = crate::courses::grading::passes(score, max, new.pass_mark);
        let inserted = diesel::insert_into(quiz_attempts::table)
            .values((
                quiz_attempts::user_id.eq(new.user_id),
                quiz_attempts::course_slug.eq(new.course),
                quiz_attempts::module_slug.eq(new.module),
                quiz_attempts::attempt_number.eq(number),
                quiz_attempts::quiz_version.eq(new.quiz_version),
                quiz_attempts::score_milli.eq(score),
                quiz_attempts::max_milli.eq(max),
                quiz_attempts::passed.eq(passed),
                quiz_attempts::submitted_at.eq(now.naive_utc()),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(RecordError::NoAttemptsLeft);
            }
            Err(e) => return Err(e.into()),
        }
        let attempt_id: i64 = quiz_attempts::table
            .filter(quiz_attempts::user_id.eq(new.user_id))
            .filter(quiz_attempts::course_slug.eq(new.course))
            .filter(quiz_attempts::module_slug.eq(new.module))
            .filter(quiz_attempts::attempt_number.eq(number))
            .select(quiz_attempts::id)
            .first(conn)?;
        for g in new.graded {
            diesel::insert_into(quiz_answers::table)
                .values((
                    quiz_answers::attempt_id.eq(attempt_id),
                    quiz_answers::question_id.eq(&g.question_id),
                    quiz_answers::answer.eq(serde_json::to_string(&g.answer).unwrap_or_default()),
                    quiz_answers::score_milli.eq(g.score_milli),
                    quiz_answers::max_milli.eq(g.max_milli),
                ))
                .execute(conn)?;
        }
        super::review::enqueue_missed(conn, new.user_id, new.course, new.module, new.graded, now)?;
        Ok(number)
    })
}

#[derive(Debug, Clone)]
pub struct StoredAnswer {
    pub question_id: String,
    pub answer: Answer,
    pub score_milli: i64,
    pub max_milli: i64,
}

/// One attempt of this trainee with its answers; another trainee's attempt is `None`.
pub fn attempt_with_answers(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
    module: &str,
    number: i32,
) -> QueryResult<Option<(Attempt, Vec<StoredAnswer>)>> {
    let attempt = quiz_attempts::table
        .filter(quiz_attempts::user_id.eq(user_id))
        .filter(quiz_attempts::course_slug.eq(course))
        .filter(quiz_attempts::module_slug.eq(module))
        .filter(quiz_attempts::attempt_number.eq(number))
        .select(Attempt::as_select())
        .first(conn)
        .optional()?;
    let Some(attempt) = attempt else {
        return Ok(None);
    };
    let answers = quiz_answers::table
        .filter(quiz_answers::attempt_id.eq(attempt.id))
        .select((
            quiz_answers::question_id,
            quiz_answers::answer,
            quiz_answers::score_milli,
            quiz_answers::max_milli,
        ))
        .load::<(String, String, i64, i64)>(conn)?
        .into_iter()
        .map(
            |(question_id, answer, score_milli, max_milli)| StoredAnswer {
                question_id,
                answer: serde_json::from_str(&answer).unwrap_or(Answer::Text(answer)),
                score_milli,
                max_milli,
            },
        )
        .collect();
    Ok(Some((attempt, answers)))
}

/// A trainee's latest attempts over all courses, newest first, as (course, module, attempt).
pub fn recent_attempts(
    conn: &mut DbConn,
    user_id: i64,
    limit: i64,
) -> QueryResult<Vec<(String, String, Attempt)>> {
    quiz_attempts::table
        .filter(quiz_attempts::user_id.eq(user_id))
        .order((quiz_attempts::submitted_at.desc(), quiz_attempts::id.desc()))
        .limit(limit)
        .select((
            quiz_attempts::course_slug,
            quiz_attempts::module_slug,
            Attempt::as_select(),
        ))
        .load(conn)
}
