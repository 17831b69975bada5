//! Lesson visits: where a trainee left off, and an estimate of time spent per module.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::courses::model::Course;
use crate::db::DbConn;
use crate::db::schema::lesson_visits;

/// A reload of the same lesson within this many seconds is not a new visit.
const SAME_VISIT_SECS: i64 = 60;
/// A gap longer than this between two visits means the trainee stepped away.
pub const IDLE_CAP_SECS: i64 = 30 * 60;

pub fn record_visit(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
    module: &str,
    lesson: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let now = now.naive_utc();
    let last: Option<(String, String, NaiveDateTime)> = lesson_visits::table
        .filter(lesson_visits::user_id.eq(user_id))
        .filter(lesson_visits::course_slug.eq(course))
        .order(lesson_visits::visited_at.desc())
        .select((
            lesson_visits::module_slug,
            lesson_visits::lesson_slug,
            lesson_visits::visited_at,
        ))
        .first(conn)
        .optional()?;
    if let Some((m, l, at)) = last
        && m == module
        && l == lesson
        && (now - at).num_seconds() < SAME_VISIT_SECS
    {
        return Ok(());
    }
    diesel::insert_into(lesson_visits::table)
        .values((
            lesson_visits::user_id.eq(user_id),
            lesson_visits::course_slug.eq(course),
            lesson_visits::module_slug.eq(module),
            lesson_visits::lesson_slug.eq(lesson),
            lesson_visits::visited_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub module: String,
    pub lesson: String,
    pub at: NaiveDateTime,
}

pub fn visits(conn: &mut DbConn, user_id: i64, course: &str) -> QueryResult<Vec<Visit>> {
    Ok(lesson_visits::table
        .filter(lesson_visits::user_id.eq(user_id))
        .filter(lesson_visits::course_slug.eq(course))
        .order((lesson_visits::visited_at.asc(), lesson_visits::id.asc()))
        .select((
            lesson_visits::module_slug,
            lesson_visits::lesson_slug,
            lesson_visits::visited_at,
        ))
        .load::<(String, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(module, lesson, at)| Visit { module, lesson, at })
        .collect())
}

/// Seconds spent per module slug. Each visit lasts until the next one, capped at
/// [`IDLE_CAP_SECS`] (the trainee stepped away); the last visit, or one followed by a
/// long gap, is credited with the lesson's own reading estimate, under the same cap.
pub fn time_per_module(course: &Course, visits: &[Visit]) -> HashMap<String, i64> {
    let mut spent: HashMap<String, i64> = HashMap::new();
    for (i, visit) in visits.iter().enumerate() {
        let estimate = course
            .module(&visit.module)
            .and_then(|m| m.lesson(&visit.lesson))
            .map_or(0, |l| i64::from(l.minutes) * 60)
            .min(IDLE_CAP_SECS);
        let seconds = match visits.get(i + 1) {
            Some(next) => {
                let gap = (next.at - visit.at).num_seconds().max(0);
                if gap > IDLE_CAP_SECS { estimate } else { gap }
            }
            None => estimate,
        };
        *spent.entry(visit.module.clone()).or_default() += seconds;
    }
    spent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::courses::model::{Graduation, Lesson, Module};
    use chrono::NaiveDate;

    fn course() -> Course {
        let lesson = |slug: &str, minutes| Lesson {
            slug: slug.into(),
            title: slug.into(),
            minutes,
            html: String::new(),
        };
        let module = |slug: &str, lessons| Module {
            slug: slug.into(),
            title: slug.into(),
            summary: String::new(),
            requires: vec![],
            unlocks: None,
            intro_html: String::new(),
            lessons,
            quiz: None,
        };
        Course {
            slug: "c".into(),
            dir: Default::default(),
            title: "C".into(),
            summary: String::new(),
            language: "en".into(),
            version: String::new(),
            intro_html: String::new(),
            graduation: Graduation::default(),
            modules: vec![
                module("m1", vec![lesson("a", 5), lesson("b", 90)]),
                module("m2", vec![lesson("c", 4)]),
            ],
        }
    }

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn visit(module: &str, lesson: &str, at: NaiveDateTime) -> Visit {
        Visit {
            module: module.into(),
            lesson: lesson.into(),
            at,
        }
    }

    #[test]
    fn gaps_count_until_the_next_visit_and_long_gaps_fall_back_to_the_estimate() {
        let visits = [
            visit("m1", "a", at(10, 0)), // 7 min until the next visit
            visit("m1", "b", at(10, 7)), // 3 h gap: stepped away, estimate 90 -> cap 30
            visit("m2", "c", at(13, 7)), // 2 min
            visit("m1", "a", at(13, 9)), // last: estimate 5 min
        ];
        let spent = time_per_module(&course(), &visits);
        assert_eq!(spent["m1"], 7 * 60 + 30 * 60 + 5 * 60);
        assert_eq!(spent["m2"], 2 * 60);
    }

    #[test]
    fn no_visits_no_time() {
        assert!(time_per_module(&course(), &[]).is_empty());
    }
}
