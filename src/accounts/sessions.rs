//! Server-side sessions. The browser holds a random 256-bit token; the database holds
//! only its SHA-256, so a leaked table cannot be replayed as cookies.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::users::User;
use crate::db::DbConn;
use crate::db::schema::{sessions, users};

pub const COOKIE_NAME: &str = "kaibo_session";

/// A session stays fresh for this long before `last_seen_at` is written again, so
/// reading pages does not turn every request into a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session and returns the token for the cookie.
pub fn create(conn: &mut DbConn, user_id: i64, now: DateTime<Utc>) -> QueryResult<String> {
    let token = new_token();
    let now = now.naive_utc();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(hash_token(&token)),
            sessions::user_id.eq(user_id),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

pub enum Lookup {
    Valid(Box<User>),
    /// The token was known but has timed out; its row is gone now.
    Expired,
    Unknown,
}

/// Resolves a cookie token to its user, enforcing the idle and absolute timeouts.
pub fn lookup(
    conn: &mut DbConn,
    token_hash: &str,
    now: DateTime<Utc>,
    timeouts: Timeouts,
) -> QueryResult<Lookup> {
    let found: Option<(NaiveDateTime, NaiveDateTime, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .select((
            sessions::created_at,
            sessions::last_seen_at,
            User::as_select(),
        ))
        .first(conn)
        .optional()?;
    let Some((created_at, last_seen_at, user)) = found else {
        return Ok(Lookup::Unknown);
    };
    let now = now.naive_utc();
    if now - last_seen_at > timeouts.idle || now - created_at > timeouts.absolute {
        destroy(conn, token_hash)?;
        return Ok(Lookup::Expired);
    }
    if (now - last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS {
        // Only the idle clock depends on this write: when the database cannot take it
        // (a full disk, say), the request still goes on to read.
        if let Err(e) = diesel::update(sessions::table.find(token_hash))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)
        {
            tracing::warn!(error = %e, "session last-seen time not updated");
        }
    }
    Ok(Lookup::Valid(Box::new(user)))
}

pub fn destroy(conn: &mut DbConn, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(token_hash)).execute(conn)
}

/// Ends every session of a user but one, after a password change.
pub fn destroy_others(conn: &mut DbConn, user_id: i64, keep_hash: &str) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::token_hash.ne(keep_hash)),
    )
    .execute(conn)
}

pub fn destroy_all(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Removes sessions past either timeout; run now and then so the table stays small.
pub fn purge_expired(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    timeouts: Timeouts,
) -> QueryResult<usize> {
    let now = now.naive_utc();
    diesel::delete(
        sessions::table.filter(
            sessions::last_seen_at
                .lt(now - timeouts.idle)
                .or(sessions::created_at.lt(now - timeouts.absolute)),
        ),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_stored_hashed() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        assert_ne!(token, new_token());
        let hash = hash_token(&token);
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, token);
    }
}
