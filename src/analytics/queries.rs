//! The database side of the instructor views: cohort filters, enrolments, the funnel,
//! and the answers an item analysis reads. Every view takes the same [`Filter`].

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{
    cohort_members, enrolments, module_completions, quiz_answers, quiz_attempts,
};

/// Which trainees a view counts: one group, one intake month (month of enrolment in
/// the course), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub cohort_id: Option<i64>,
    /// First day of the intake month.
    pub intake: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("group")]
    Group(String),
    #[error("intake")]
    Intake(String),
}

impl FilterError {
    pub fn key(&self) -> &'static str {
        match self {
            FilterError::Group(_) => "errors.bad_group",
            FilterError::Intake(_) => "errors.bad_intake",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            FilterError::Group(v) | FilterError::Intake(v) => v,
        }
    }
}

/// Reads `YYYY-MM`.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    let (y, m) = raw.trim().split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

pub fn next_month(first: NaiveDate) -> NaiveDate {
    let (y, m) = if first.month() == 12 {
        (first.year() + 1, 1)
    } else {
        (first.year(), first.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(first)
}

impl Filter {
    /// From the query-string values; empty means "all". Whether a group id exists is
    /// checked by the caller against the database.
    pub fn parse(group: Option<&str>, intake: Option<&str>) -> Result<Self, FilterError> {
        let cohort_id = match group.map(str::trim).filter(|g| !g.is_empty()) {
            None => None,
            Some(g) => Some(
                g.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| FilterError::Group(g.chars().take(40).collect()))?,
            ),
        };
        let intake = match intake.map(str::trim).filter(|i| !i.is_empty()) {
            None => None,
            Some(i) => Some(
                parse_month(i).ok_or_else(|| FilterError::Intake(i.chars().take(40).collect()))?,
            ),
        };
        Ok(Self { cohort_id, intake })
    }

    pub fn is_empty(&self) -> bool {
        self.cohort_id.is_none() && self.intake.is_none()
    }

    /// The query string that reproduces this filter, for links.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = self.cohort_id {
            parts.push(format!("group={id}"));
        }
        if let Some(m) = self.intake {
            parts.push(format!("intake={}", m.format("%Y-%m")));
        }
        parts.join("&")
    }

    pub(crate) fn intake_range(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        self.intake.map(|m| {
            (
                m.and_hms_opt(0, 0, 0).unwrap_or_default(),
                next_month(m).and_hms_opt(0, 0, 0).unwrap_or_default(),
            )
        })
    }
}

/// Narrows a query that has `enrolments` in its FROM clause to the filter's trainees.
macro_rules! narrow {
    ($query:expr, $filter:expr) => {{
        let mut query = $query;
        if let Some((start, end)) = $filter.intake_range() {
            query = query
                .filter(enrolments::enrolled_at.ge(start))
                .filter(enrolments::enrolled_at.lt(end));
        }
        if let Some(group) = $filter.cohort_id {
            query = query.filter(
                enrolments::user_id.eq_any(
                    cohort_members::table
                        .filter(cohort_members::cohort_id.eq(group))
                        .select(cohort_members::user_id),
                ),
            );
        }
        query
    }};
}
pub(crate) use narrow;

#[derive(Debug, Clone, Queryable)]
pub struct EnrolledRow {
    pub user_id: i64,
    pub enrolled_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    pub modules_done: i32,
}

pub fn enrolled(conn: &mut DbConn, course: &str, filter: &Filter) -> QueryResult<Vec<EnrolledRow>> {
    narrow!(
        enrolments::table
            .filter(enrolments::course_slug.eq(course))
            .into_boxed(),
        filter
    )
    .order((enrolments::enrolled_at.asc(), enrolments::user_id.asc()))
    .select((
        enrolments::user_id,
        enrolments::enrolled_at,
        enrolments::last_activity_at,
        enrolments::completed_at,
        enrolments::modules_done,
    ))
    .load(conn)
}

/// One trainee's enrolment in a course.
pub fn enrolled_one(
    conn: &mut DbConn,
    course: &str,
    user_id: i64,
) -> QueryResult<Option<EnrolledRow>> {
    enrolments::table
        .find((user_id, course))
        .select((
            enrolments::user_id,
            enrolments::enrolled_at,
            enrolments::last_activity_at,
            enrolments::completed_at,
            enrolments::modules_done,
        ))
        .first(conn)
        .optional()
}

/// How many of the filtered trainees completed each module.
pub fn funnel(
    conn: &mut DbConn,
    course: &str,
    filter: &Filter,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = if filter.is_empty() {
        module_completions::table
            .filter(module_completions::course_slug.eq(course))
            .group_by(module_completions::module_slug)
            .select((module_completions::module_slug, diesel::dsl::count_star()))
            .load(conn)?
    } else {
        narrow!(
            module_completions::table
                .inner_join(
                    enrolments::table.on(enrolments::user_id
                        .eq(module_completions::user_id)
                        .and(enrolments::course_slug.eq(module_completions::course_slug))),
                )
                .filter(module_completions::course_slug.eq(course))
                .group_by(module_completions::module_slug)
                .select((module_completions::module_slug, diesel::dsl::count_star()))
                .into_boxed(),
            filter
        )
        .load(conn)?
    };
    Ok(rows.into_iter().collect())
}

/// One stored answer, for the item analysis.
#[derive(Debug, Clone, Queryable)]
pub struct AnswerRow {
    pub attempt_id: i64,
    pub quiz_version: String,
    pub question_id: String,
    pub answer: String,
    pub score_milli: i64,
    pub max_milli: i64,
}

/// Every answer of the quiz's attempts (first attempts only unless `all`), in attempt
/// order, for trainees matching the filter.
pub fn quiz_answers(
    conn: &mut DbConn,
    course: &str,
    module: &str,
    all: bool,
    filter: &Filter,
) -> QueryResult<Vec<AnswerRow>> {
    let columns = (
        quiz_answers::attempt_id,
        quiz_attempts::quiz_version,
        quiz_answers::question_id,
        quiz_answers::answer,
        quiz_answers::score_milli,
        quiz_answers::max_milli,
    );
    // Ordered by the attempt's id, so an index on (course, module, attempt_number) or
    // (course, module, id) returns rows in order and the database never sorts them.
    let order = (quiz_attempts::id.asc(), quiz_answers::question_id.asc());
    if filter.is_empty() {
        let mut query = quiz_answers::table
            .inner_join(quiz_attempts::table)
            .filter(quiz_attempts::course_slug.eq(course))
            .filter(quiz_attempts::module_slug.eq(module))
            .into_boxed();
        if !all {
            query = query.filter(quiz_attempts::attempt_number.eq(1));
        }
        query.order(order).select(columns).load(conn)
    } else {
        let mut query = quiz_answers::table
            .inner_join(quiz_attempts::table)
            .inner_join(
                enrolments::table.on(enrolments::user_id
                    .eq(quiz_attempts::user_id)
                    .and(enrolments::course_slug.eq(quiz_attempts::course_slug))),
            )
            .filter(quiz_attempts::course_slug.eq(course))
            .filter(quiz_attempts::module_slug.eq(module))
            .into_boxed();
        if !all {
            query = query.filter(quiz_attempts::attempt_number.eq(1));
        }
        narrow!(query, filter)
            .order(order)
            .select(columns)
            .load(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_refuse_nonsense() {
        assert_eq!(Filter::parse(None, Some("")).unwrap(), Filter::default());
        let f = Filter::parse(Some("3"), Some("2026-11")).unwrap();
        assert_eq!(f.cohort_id, Some(3));
        assert_eq!(f.intake, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(f.query(), "group=3&intake=2026-11");
        assert!(matches!(
            Filter::parse(Some("x"), None),
            Err(FilterError::Group(_))
        ));
        assert!(matches!(
            Filter::parse(Some("-1"), None),
            Err(FilterError::Group(_))
        ));
        for bad in ["2026-13", "2026-1", "26-11", "2026/11", "november"] {
            assert!(
                matches!(Filter::parse(None, Some(bad)), Err(FilterError::Intake(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn december_rolls_over() {
        let dec = parse_month("2026-12").unwrap();
        assert_eq!(
            next_month(dec),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }
}
