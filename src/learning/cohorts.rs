//! Groups of trainees ("cohorts"): an instructor creates one and shares its invite code;
//! a trainee who registers with the code joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::Rng;

use crate::db::DbConn;
use crate::db::schema::{cohort_members, cohorts, users};

/// Invite codes avoid letters and digits that read alike (0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 8;
pub const MAX_NAME_CHARS: usize = 80;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cohorts)]
pub struct Cohort {
    pub id: i64,
    pub name: String,
    pub invite_code: String,
    pub created_at: NaiveDateTime,
}

pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Normalises what a person typed: case, spaces and dashes do not matter.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("empty")]
    Empty,
    #[error("too long")]
    TooLong,
}

pub fn validate_name(raw: &str) -> Result<String, NameError> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        Err(NameError::Empty)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(NameError::TooLong)
    } else {
        Ok(name)
    }
}

pub fn create(
    conn: &mut DbConn,
    name: &str,
    created_by: i64,
    now: DateTime<Utc>,
) -> QueryResult<Cohort> {
    // A clash among 31^8 codes is unlikely; retry a few times rather than fail.
    let mut last_err = None;
    for _ in 0..5 {
        let code = new_code();
        let inserted = super::enrolment::insert_ignoring_duplicate(conn, |conn| {
            diesel::insert_into(cohorts::table)
                .values((
                    cohorts::name.eq(name),
                    cohorts::invite_code.eq(&code),
                    cohorts::created_by.eq(Some(created_by)),
                    cohorts::created_at.eq(now.naive_utc()),
                ))
                .execute(conn)
        });
        match inserted {
            Ok(true) => {
                return cohorts::table
                    .filter(cohorts::invite_code.eq(&code))
                    .select(Cohort::as_select())
                    .first(conn);
            }
            Ok(false) => continue,
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or(diesel::result::Error::RollbackTransaction))
}

pub fn by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Cohort>> {
    cohorts::table
        .filter(cohorts::invite_code.eq(normalise_code(code)))
        .select(Cohort::as_select())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Cohort>> {
    cohorts::table
        .order((cohorts::name.asc(), cohorts::id.asc()))
        .select(Cohort::as_select())
        .load(conn)
}

/// Each group with how many trainees joined it.
pub fn with_sizes(conn: &mut DbConn) -> QueryResult<Vec<(Cohort, i64)>> {
    let groups = all(conn)?;
    let counts: Vec<(i64, i64)> = cohort_members::table
        .group_by(cohort_members::cohort_id)
        .select((cohort_members::cohort_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let n = counts
                .iter()
                .find(|(id, _)| *id == g.id)
                .map_or(0, |(_, n)| *n);
            (g, n)
        })
        .collect())
}

/// Puts a trainee in a group, replacing any earlier one.
pub fn join(
    conn: &mut DbConn,
    user_id: i64,
    cohort_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(cohort_members::table.find(user_id)).execute(conn)?;
    diesel::insert_into(cohort_members::table)
        .values((
            cohort_members::user_id.eq(user_id),
            cohort_members::cohort_id.eq(cohort_id),
            cohort_members::joined_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The group a user belongs to, if any.
pub fn of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Cohort>> {
    cohort_members::table
        .inner_join(cohorts::table)
        .filter(cohort_members::user_id.eq(user_id))
        .select(Cohort::as_select())
        .first(conn)
        .optional()
}

/// Group names for a set of users, as (user id, group name).
pub fn names_for(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    cohort_members::table
        .inner_join(cohorts::table)
        .filter(cohort_members::user_id.eq_any(user_ids))
        .select((cohort_members::user_id, cohorts::name))
        .load(conn)
}

/// Users as (id, email, display name), for the given ids.
pub fn people(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<(i64, String, String)>> {
    users::table
        .filter(users::id.eq_any(user_ids))
        .select((users::id, users::email, users::display_name))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_and_unambiguous() {
        let code = new_code();
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(normalise_code(" abcd-efgh "), "ABCDEFGH");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  Nov   intake ").unwrap(), "Nov intake");
        assert_eq!(validate_name("   "), Err(NameError::Empty));
        assert_eq!(validate_name(&"x".repeat(81)), Err(NameError::TooLong));
    }
}
