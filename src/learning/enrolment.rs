//! Enrolments and module completions: a small summary row per trainee and course, kept
//! up to date whenever progress is recorded, so cohort pages never rescan history.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::progress::CourseProgress;
use crate::courses::model::Course;
use crate::db::DbConn;
use crate::db::schema::{enrolments, module_completions};

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Inserts a row, treating "it is already there" as success. The insert runs in a
/// savepoint when called inside a transaction, so PostgreSQL's aborted-transaction
/// state never leaks to the caller.
pub(crate) fn insert_ignoring_duplicate<F>(conn: &mut DbConn, insert: F) -> QueryResult<bool>
where
    F: FnOnce(&mut DbConn) -> QueryResult<usize>,
{
    match conn.transaction(insert) {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records that a trainee opened a course, the first time only.
pub fn ensure_enrolled(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let exists = enrolments::table
        .find((user_id, course))
        .select(enrolments::user_id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(());
    }
    let now = now.naive_utc();
    insert_ignoring_duplicate(conn, |conn| {
        diesel::insert_into(enrolments::table)
            .values((
                enrolments::user_id.eq(user_id),
                enrolments::course_slug.eq(course),
                enrolments::enrolled_at.eq(now),
                enrolments::last_activity_at.eq(now),
                enrolments::modules_done.eq(0),
            ))
            .execute(conn)
    })?;
    Ok(())
}

/// After a lesson completion or a quiz attempt: stamps the modules that just became
/// complete, and refreshes the enrolment's last progress, module count and completion.
pub fn record_progress(
    conn: &mut DbConn,
    user_id: i64,
    course: &Course,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    ensure_enrolled(conn, user_id, &course.slug, now)?;
    let progress = CourseProgress::load(conn, user_id, &course.slug)?;
    let stamped: Vec<String> = module_completions::table
        .filter(module_completions::user_id.eq(user_id))
        .filter(module_completions::course_slug.eq(&course.slug))
        .select(module_completions::module_slug)
        .load(conn)?;
    let naive = now.naive_utc();
    let mut done = 0;
    for module in &course.modules {
        if !progress.module_complete(module) {
            continue;
        }
        done += 1;
        if stamped.contains(&module.slug) {
            continue;
        }
        insert_ignoring_duplicate(conn, |conn| {
            diesel::insert_into(module_completions::table)
                .values((
                    module_completions::user_id.eq(user_id),
                    module_completions::course_slug.eq(&course.slug),
                    module_completions::module_slug.eq(&module.slug),
                    module_completions::completed_at.eq(naive),
                ))
                .execute(conn)
        })?;
    }
    let all_done = !course.modules.is_empty() && done == course.modules.len();
    let row = enrolments::table.find((user_id, course.slug.as_str()));
    diesel::update(row)
        .set((
            enrolments::last_activity_at.eq(naive),
            enrolments::modules_done.eq(done as i32),
        ))
        .execute(conn)?;
    if all_done {
        diesel::update(row.filter(enrolments::completed_at.is_null()))
            .set(enrolments::completed_at.eq(Some(naive)))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct Enrolment {
    pub course_slug: String,
    pub enrolled_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    pub modules_done: i32,
}

pub fn for_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Enrolment>> {
    enrolments::table
        .filter(enrolments::user_id.eq(user_id))
        .order(enrolments::enrolled_at.asc())
        .select((
            enrolments::course_slug,
            enrolments::enrolled_at,
            enrolments::last_activity_at,
            enrolments::completed_at,
            enrolments::modules_done,
        ))
        .load(conn)
}
