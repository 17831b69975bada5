//! The review queue: every question a trainee got wrong in a quiz becomes a card,
//! scheduled with FSRS (the `rs-fsrs` crate). Review answers are stored in their own
//! table and never touch quiz attempts or grades.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;
use rs_fsrs::{Card, FSRS, Parameters, Rating, State};

use crate::courses::grading::Graded;
use crate::db::schema::{review_answers, review_cards};
use crate::db::{DbConn, write_tx};

/// Identifies one card: a question of one quiz, for one trainee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardKey {
    pub course: String,
    pub module: String,
    pub question: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = review_cards)]
pub struct CardRow {
    pub course_slug: String,
    pub module_slug: String,
    pub question_id: String,
    pub due_at: NaiveDateTime,
    pub stability: f64,
    pub difficulty: f64,
    pub elapsed_days: i64,
    pub scheduled_days: i64,
    pub reps: i32,
    pub lapses: i32,
    pub state: i32,
    pub last_review_at: Option<NaiveDateTime>,
}

impl CardRow {
    pub fn key(&self) -> CardKey {
        CardKey {
            course: self.course_slug.clone(),
            module: self.module_slug.clone(),
            question: self.question_id.clone(),
        }
    }

    fn to_fsrs(&self) -> Card {
        let state = match self.state {
            1 => State::Learning,
            2 => State::Review,
            3 => State::Relearning,
            _ => State::New,
        };
        Card {
            due: Utc.from_utc_datetime(&self.due_at),
            stability: self.stability,
            difficulty: self.difficulty,
            elapsed_days: self.elapsed_days,
            scheduled_days: self.scheduled_days,
            reps: self.reps,
            lapses: self.lapses,
            state,
            last_review: Utc.from_utc_datetime(&self.last_review_at.unwrap_or(self.due_at)),
        }
    }
}

/// How a graded review answer rates the recall: all points is Good, some is Hard,
/// none is Again.
pub fn rating_for(graded: &Graded) -> Rating {
    if graded.score_milli >= graded.max_milli {
        Rating::Good
    } else if graded.score_milli > 0 {
        Rating::Hard
    } else {
        Rating::Again
    }
}

/// The next schedule for a card after a review, by FSRS with its default parameters.
pub fn schedule(card: Card, rating: Rating, now: DateTime<Utc>) -> Card {
    FSRS::new(Parameters::default())
        .next(card, now, rating)
        .card
}

fn key_filter<'a>(
    user_id: i64,
    key: &'a CardKey,
) -> review_cards::BoxedQuery<'a, crate::db::MultiBackend> {
    review_cards::table
        .filter(review_cards::user_id.eq(user_id))
        .filter(review_cards::course_slug.eq(&key.course))
        .filter(review_cards::module_slug.eq(&key.module))
        .filter(review_cards::question_id.eq(&key.question))
        .into_boxed()
}

/// Puts the questions missed in a quiz attempt into the trainee's queue, due now. A
/// question already queued is made due now if it was scheduled later.
pub fn enqueue_missed(
    conn: &mut DbConn,
    user_id: i64,
    course: &str,
    module: &str,
    graded: &[Graded],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let now = now.naive_utc();
    for g in graded.iter().filter(|g| !g.is_correct()) {
        let target = review_cards::table
            .filter(review_cards::user_id.eq(user_id))
            .filter(review_cards::course_slug.eq(course))
            .filter(review_cards::module_slug.eq(module))
            .filter(review_cards::question_id.eq(&g.question_id));
        let moved = diesel::update(target.filter(review_cards::due_at.gt(now)))
            .set(review_cards::due_at.eq(now))
            .execute(conn)?;
        let exists = moved > 0
            || target
                .select(review_cards::user_id)
                .first::<i64>(conn)
                .optional()?
                .is_some();
        if exists {
            continue;
        }
        super::enrolment::insert_ignoring_duplicate(conn, |conn| {
            diesel::insert_into(review_cards::table)
                .values((
                    review_cards::user_id.eq(user_id),
                    review_cards::course_slug.eq(course),
                    review_cards::module_slug.eq(module),
                    review_cards::question_id.eq(&g.question_id),
                    review_cards::due_at.eq(now),
                    review_cards::stability.eq(0.0),
                    review_cards::difficulty.eq(0.0),
                    review_cards::elapsed_days.eq(0i64),
                    review_cards::scheduled_days.eq(0i64),
                    review_cards::reps.eq(0),
                    review_cards::lapses.eq(0),
                    review_cards::state.eq(State::New as i32),
                    review_cards::created_at.eq(now),
                ))
                .execute(conn)
        })?;
    }
    Ok(())
}

pub fn due_count(conn: &mut DbConn, user_id: i64, now: DateTime<Utc>) -> QueryResult<i64> {
    review_cards::table
        .filter(review_cards::user_id.eq(user_id))
        .filter(review_cards::due_at.le(now.naive_utc()))
        .count()
        .get_result(conn)
}

pub fn total_count(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    review_cards::table
        .filter(review_cards::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

pub fn course_count(conn: &mut DbConn, user_id: i64, course: &str) -> QueryResult<i64> {
    review_cards::table
        .filter(review_cards::user_id.eq(user_id))
        .filter(review_cards::course_slug.eq(course))
        .count()
        .get_result(conn)
}

/// Due cards, most overdue first.
pub fn due_cards(
    conn: &mut DbConn,
    user_id: i64,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<CardRow>> {
    review_cards::table
        .filter(review_cards::user_id.eq(user_id))
        .filter(review_cards::due_at.le(now.naive_utc()))
        .order((review_cards::due_at.asc(), review_cards::question_id.asc()))
        .limit(limit)
        .select(CardRow::as_select())
        .load(conn)
}

/// The next time any card falls due, if none is due now.
pub fn next_due(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<NaiveDateTime>> {
    review_cards::table
        .filter(review_cards::user_id.eq(user_id))
        .select(diesel::dsl::min(review_cards::due_at))
        .first(conn)
}

/// Removes a card whose question no longer exists in its course.
pub fn retire(conn: &mut DbConn, user_id: i64, key: &CardKey) -> QueryResult<()> {
    diesel::delete(
        review_cards::table
            .filter(review_cards::user_id.eq(user_id))
            .filter(review_cards::course_slug.eq(&key.course))
            .filter(review_cards::module_slug.eq(&key.module))
            .filter(review_cards::question_id.eq(&key.question)),
    )
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such card")]
    NoCard,
    #[error("card not due yet")]
    NotDue,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Stores a review answer and reschedules its card, in one transaction. Returns the
/// stored answer's id.
pub fn answer(
    conn: &mut DbConn,
    user_id: i64,
    key: &CardKey,
    graded: &Graded,
    now: DateTime<Utc>,
) -> Result<i64, ReviewError> {
    write_tx(conn, |conn| {
        let row: CardRow = key_filter(user_id, key)
            .select(CardRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(ReviewError::NoCard)?;
        if row.due_at > now.naive_utc() {
            return Err(ReviewError::NotDue);
        }
        let rating = rating_for(graded);
        let next = schedule(row.to_fsrs(), rating, now);
        let naive = now.naive_utc();
        let due = next.due.naive_utc();
        diesel::update(
            review_cards::table
                .filter(review_cards::user_id.eq(user_id))
                .filter(review_cards::course_slug.eq(&key.course))
                .filter(review_cards::module_slug.eq(&key.module))
                .filter(review_cards::question_id.eq(&key.question)),
        )
        .set((
            review_cards::due_at.eq(due),
            review_cards::stability.eq(next.stability),
            review_cards::difficulty.eq(next.difficulty),
            review_cards::elapsed_days.eq(next.elapsed_days),
            review_cards::scheduled_days.eq(next.scheduled_days),
            review_cards::reps.eq(next.reps),
            review_cards::lapses.eq(next.lapses),
            review_cards::state.eq(next.state as i32),
            review_cards::last_review_at.eq(Some(naive)),
        ))
        .execute(conn)?;
        diesel::insert_into(review_answers::table)
            .values((
                review_answers::user_id.eq(user_id),
                review_answers::course_slug.eq(&key.course),
                review_answers::module_slug.eq(&key.module),
                review_answers::question_id.eq(&key.question),
                review_answers::answer
                    .eq(serde_json::to_string(&graded.answer).unwrap_or_default()),
                review_answers::score_milli.eq(graded.score_milli),
                review_answers::max_milli.eq(graded.max_milli),
                review_answers::rating.eq(rating as i32),
                review_answers::reviewed_at.eq(naive),
                review_answers::next_due_at.eq(due),
            ))
            .execute(conn)?;
        let id = review_answers::table
            .filter(review_answers::user_id.eq(user_id))
            .order(review_answers::id.desc())
            .select(review_answers::id)
            .first(conn)?;
        Ok(id)
    })
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = review_answers)]
pub struct ReviewAnswer {
    pub id: i64,
    pub course_slug: String,
    pub module_slug: String,
    pub question_id: String,
    pub answer: String,
    pub score_milli: i64,
    pub max_milli: i64,
    pub rating: i32,
    pub reviewed_at: NaiveDateTime,
    pub next_due_at: NaiveDateTime,
}

/// One of this trainee's review answers; another trainee's is `None`.
pub fn review_answer(
    conn: &mut DbConn,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<ReviewAnswer>> {
    review_answers::table
        .filter(review_answers::id.eq(id))
        .filter(review_answers::user_id.eq(user_id))
        .select(ReviewAnswer::as_select())
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::courses::grading::Answer;

    fn graded(score: i64) -> Graded {
        Graded {
            question_id: "q".into(),
            answer: Answer::Choices(vec!["a".into()]),
            score_milli: score,
            max_milli: 1000,
        }
    }

    #[test]
    fn ratings_follow_the_score() {
        assert_eq!(rating_for(&graded(1000)), Rating::Good);
        assert_eq!(rating_for(&graded(500)), Rating::Hard);
        assert_eq!(rating_for(&graded(0)), Rating::Again);
    }

    #[test]
    fn a_right_answer_pushes_the_card_further_than_a_wrong_one() {
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
        let new = Card {
            due: now,
            last_review: now,
            ..Card::default()
        };
        let again = schedule(new.clone(), Rating::Again, now);
        let good = schedule(new, Rating::Good, now);
        assert!(again.due > now);
        assert!(good.due > again.due);
        // Good twice graduates the card to days, not minutes.
        let later = good.due;
        let good2 = schedule(good, Rating::Good, later);
        assert!(
            good2.due - later >= chrono::Duration::days(1),
            "{:?}",
            good2.due
        );
    }
}
