//! The show records: the show itself, its action log, the viewers' questions and the
//! per-minute audience curve; reads and the few writes that are not simulation ticks.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{show_actions, show_comments, show_minutes, shows};
use crate::db::{DbConn, on_backend};

pub const RUNNING: &str = "running";
pub const ENDED: &str = "ended";

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = shows)]
pub struct Show {
    pub id: i64,
    pub user_id: i64,
    pub mode: String,
    pub status: String,
    pub seed: i64,
    pub minutes: i32,
    pub speed: i32,
    pub setup: String,
    pub started_at: NaiveDateTime,
    pub sim_ms: i64,
    pub done_ms: i64,
    pub actions: i32,
    pub clock_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub end_reason: Option<String>,
    pub pinned_product_id: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub orders_placed: i32,
    pub orders_refused: i32,
    pub summary: Option<String>,
    pub created_at: NaiveDateTime,
}

impl Show {
    pub fn is_running(&self) -> bool {
        self.status == RUNNING
    }

    pub fn is_sandbox(&self) -> bool {
        self.mode == crate::orders::Mode::Sandbox.as_str()
    }

    pub fn length_ms(&self) -> i64 {
        self.minutes as i64 * 60_000
    }

    /// Simulated milliseconds reached at the real time `now`: the show runs `speed`
    /// times faster than the wall clock, and stops at its length. A live session runs
    /// at the wall clock.
    pub fn sim_ms_at(&self, now: NaiveDateTime) -> i64 {
        let real = (now - self.started_at).num_milliseconds().max(0);
        let speed = if self.is_sandbox() {
            self.speed.max(1)
        } else {
            1
        };
        real.saturating_mul(speed as i64).min(self.length_ms())
    }

    /// The simulated moment `at_ms` into the show, on the virtual clock.
    pub fn at(&self, at_ms: i64) -> NaiveDateTime {
        self.started_at + Duration::milliseconds(at_ms)
    }

    pub fn summary(&self) -> Option<super::sim::Summary> {
        self.summary
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = show_actions)]
pub struct ActionRow {
    pub show_id: i64,
    pub seq: i32,
    pub at_ms: i64,
    pub kind: String,
    pub payload: String,
    pub body: Option<String>,
    pub created_at: NaiveDateTime,
}

impl ActionRow {
    pub fn action(&self) -> Option<super::sim::Action> {
        let kind = serde_json::from_str(&self.payload).ok()?;
        Some(super::sim::Action {
            at_ms: self.at_ms.max(0) as u64,
            kind,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = show_comments)]
pub struct CommentRow {
    pub show_id: i64,
    pub comment_id: i64,
    pub at_ms: i64,
    pub viewer: i32,
    pub topic: String,
    pub variant: i32,
    pub product_id: Option<i64>,
    pub answered_ms: Option<i64>,
    pub answer: Option<String>,
    pub overclaim: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = show_minutes)]
pub struct MinuteRow {
    pub show_id: i64,
    pub minute: i32,
    pub ticks: i32,
    pub viewer_seconds: i64,
    pub peak: i32,
    pub arrivals: i32,
    pub comments: i32,
    pub orders: i32,
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<Show>> {
    shows::table
        .find(id)
        .select(Show::as_select())
        .first(conn)
        .optional()
}

/// The show if it belongs to `user_id`; anyone else's is "not found".
pub fn find_own(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<Option<Show>> {
    Ok(find(conn, id)?.filter(|s| s.user_id == user_id))
}

/// On the backend's own connection: every API order asks, and through the
/// `MultiConnection` its SQL would be built again on each call.
pub fn running_of(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<Show>> {
    on_backend!(conn, |c| {
        shows::table
            .filter(shows::user_id.eq(user_id))
            .filter(shows::status.eq(RUNNING))
            .select(Show::as_select())
            .first(c)
            .optional()
    })
}

/// An order named a show that is not its shop's running show in the shop's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShowNotRunning;

/// The show an order placed now on a shop in `mode` belongs to, given the creator's
/// running show (id and mode): the one the client names, which must be that running
/// show in that mode (`Err` if it is not), or else the running show in that mode, if any.
pub fn pick_show_for_order(
    running: Option<(i64, &str)>,
    mode: &str,
    requested: Option<i64>,
) -> Result<Option<i64>, ShowNotRunning> {
    let running = running.filter(|(_, m)| *m == mode).map(|(id, _)| id);
    match (requested, running) {
        (Some(id), Some(show)) if show == id => Ok(Some(id)),
        (Some(_), _) => Err(ShowNotRunning),
        (None, show) => Ok(show),
    }
}

pub fn of_user(conn: &mut DbConn, user_id: i64) -> QueryResult<Vec<Show>> {
    shows::table
        .filter(shows::user_id.eq(user_id))
        .order(shows::id.desc())
        .select(Show::as_select())
        .load(conn)
}

/// Every show, newest first, with its creator's name (the instructors' list).
pub fn all_with_names(
    conn: &mut DbConn,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<(Show, String)>> {
    use crate::db::schema::users;
    shows::table
        .inner_join(users::table)
        .order(shows::id.desc())
        .limit(limit)
        .offset(offset)
        .select((Show::as_select(), users::display_name))
        .load(conn)
}

pub fn actions(conn: &mut DbConn, show_id: i64) -> QueryResult<Vec<ActionRow>> {
    show_actions::table
        .filter(show_actions::show_id.eq(show_id))
        .order(show_actions::seq)
        .select(ActionRow::as_select())
        .load(conn)
}

pub fn comments(conn: &mut DbConn, show_id: i64) -> QueryResult<Vec<CommentRow>> {
    show_comments::table
        .filter(show_comments::show_id.eq(show_id))
        .order(show_comments::comment_id)
        .select(CommentRow::as_select())
        .load(conn)
}

/// The newest `limit` questions, newest first.
pub fn recent_comments(
    conn: &mut DbConn,
    show_id: i64,
    limit: i64,
) -> QueryResult<Vec<CommentRow>> {
    show_comments::table
        .filter(show_comments::show_id.eq(show_id))
        .order(show_comments::comment_id.desc())
        .limit(limit)
        .select(CommentRow::as_select())
        .load(conn)
}

pub fn find_comment(
    conn: &mut DbConn,
    show_id: i64,
    comment_id: i64,
) -> QueryResult<Option<CommentRow>> {
    show_comments::table
        .find((show_id, comment_id))
        .select(CommentRow::as_select())
        .first(conn)
        .optional()
}

pub fn minutes(conn: &mut DbConn, show_id: i64) -> QueryResult<Vec<MinuteRow>> {
    show_minutes::table
        .filter(show_minutes::show_id.eq(show_id))
        .order(show_minutes::minute)
        .select(MinuteRow::as_select())
        .load(conn)
}
