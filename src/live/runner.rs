//! The tick worker: advances every running sandbox show on its virtual clock. Each show
//! is leased by one instance at a time (a lease row update that only one instance can
//! win, on SQLite and on PostgreSQL), so with several instances on one database a show is
//! ticked in exactly one place. The worker keeps each show's engine in memory; an
//! instance that takes a show over (after a restart or a lost lease) rebuilds the engine
//! by replaying the seed and the action log, which gives the same state.
//!
//! One pass over a show: (1) in one transaction, claim the simulated time up to now
//! (`sim_ms`), so every action recorded later is stamped after it, and read the log;
//! (2) run the engine to that time; (3) place the simulated buyers' orders through the
//! order service, with idempotency keys from the simulation; (4) in one transaction,
//! store the questions and the audience curve and move `done_ms`. A crash between (1)
//! and (4) replays (2)–(4) from `done_ms`: the orders come back as replays of their keys.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;

use super::model::{self, ENDED, RUNNING, Show};
use super::sim::{self, Engine, SimConfig, Tick};
use crate::db::schema::{show_comments, show_minutes, shows};
use crate::db::{DbConn, write_tx};
use crate::error::{AppError, AppResult};
use crate::orders::payments::{CardNumber, Method, TEST_CARDS};
use crate::orders::{Mode, NewLine, NewOrder, OrderError};
use crate::web::AppState;

/// How long a lease lasts without renewal; another instance takes the show after it.
pub const LEASE_SECONDS: i64 = 15;
/// At most this much simulated time per pass, so one pass stays short.
pub const MAX_SLICE_MS: i64 = 120_000;
/// Real time between passes.
pub const PASS_MS: u64 = 250;

/// This instance's worker: its name in leases and the engines of the shows it ticks.
pub struct Runner {
    pub instance: String,
    engines: Mutex<HashMap<i64, Engine>>,
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    pub fn new() -> Self {
        let tail: u64 = rand::rng().random();
        Runner {
            instance: format!("kaibo-{}-{tail:016x}", std::process::id()),
            engines: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, show_id: i64) -> Option<Engine> {
        self.engines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&show_id)
    }

    fn put(&self, show_id: i64, engine: Engine) {
        self.engines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(show_id, engine);
    }
}

/// Parses a show's stored setup.
pub fn setup_of(show: &Show) -> AppResult<SimConfig> {
    serde_json::from_str(&show.setup)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("show {} setup: {e}", show.id)))
}

/// The engine of `show` advanced to `until_ms`, replayed from the seed and `actions`.
pub fn replay(show: &Show, actions: &[sim::Action], until_ms: i64) -> AppResult<Engine> {
    let mut engine = Engine::new(setup_of(show)?);
    engine.run_until(actions, until_ms.max(0) as u64);
    Ok(engine)
}

fn log_of(conn: &mut DbConn, show_id: i64) -> QueryResult<Vec<sim::Action>> {
    Ok(model::actions(conn, show_id)?
        .iter()
        .filter_map(model::ActionRow::action)
        .collect())
}

/// Step (1): take or renew the lease and claim simulated time up to `now`.
/// None when another instance holds the show, or it is not running.
fn claim(
    conn: &mut DbConn,
    instance: &str,
    show_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<(Show, Vec<sim::Action>)>> {
    write_tx(conn, |conn| {
        let won = diesel::update(
            shows::table
                .filter(shows::id.eq(show_id))
                .filter(shows::status.eq(RUNNING))
                .filter(
                    shows::lease_owner
                        .is_null()
                        .or(shows::lease_owner.eq(instance))
                        .or(shows::lease_until.lt(now)),
                ),
        )
        .set((
            shows::lease_owner.eq(Some(instance)),
            shows::lease_until.eq(Some(now + Duration::seconds(LEASE_SECONDS))),
        ))
        .execute(conn)?;
        if won == 0 {
            return Ok(None);
        }
        let Some(show) = model::find(conn, show_id)? else {
            return Ok(None);
        };
        // Whole simulated seconds, no further than one slice past what is stored.
        let target = (show.sim_ms_at(now) / 1000 * 1000)
            .min(show.done_ms + MAX_SLICE_MS)
            .max(show.sim_ms);
        if target > show.sim_ms {
            diesel::update(shows::table.find(show.id))
                .set(shows::sim_ms.eq(target))
                .execute(conn)?;
        }
        let show = model::find(conn, show_id)?.unwrap_or(show);
        let log = log_of(conn, show_id)?;
        Ok(Some((show, log)))
    })
}

/// What one pass placed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassResult {
    pub ticks: usize,
    pub placed: usize,
    pub refused: usize,
    pub ended: bool,
}

/// One pass over one show: claim, simulate, place, store.
pub async fn pass(state: &AppState, runner: &Runner, show_id: i64) -> AppResult<PassResult> {
    let now = state.now().naive_utc();
    let instance = runner.instance.clone();
    let Some((show, log)) = state
        .write(move |conn| claim(conn, &instance, show_id, now).map_err(AppError::from))
        .await?
    else {
        runner.take(show_id);
        return Ok(PassResult::default());
    };
    let mut engine = match runner.take(show_id) {
        // A kept engine is used only if it is exactly where the stored show is; anything
        // else (another instance ticked meanwhile, the setup changed) is rebuilt.
        Some(e) if e.now_ms() as i64 == show.done_ms && e.seed() == show.seed as u64 => e,
        _ => replay(&show, &log, show.done_ms)?,
    };
    let ticks = engine.run_until(&log, show.sim_ms.max(0) as u64);
    let (placed, refused) = place_purchases(state, &show, &ticks).await?;
    let finished = engine.finished();
    let done_ms = engine.now_ms() as i64;
    let summary = finished.then(|| serde_json::to_string(&engine.summary()).unwrap_or_default());
    let stored_show = show.clone();
    let ticks_len = ticks.len();
    state
        .write(move |conn| {
            store(
                conn,
                &stored_show,
                &ticks,
                done_ms,
                placed,
                refused,
                summary,
            )
            .map_err(AppError::from)
        })
        .await?;
    if !finished {
        runner.put(show_id, engine);
    }
    Ok(PassResult {
        ticks: ticks_len,
        placed,
        refused,
        ended: finished,
    })
}

/// A simulated buyer's details, the same for the same viewer of the same show.
fn buyer_for(show: &Show, p: &sim::Purchase) -> Result<crate::orders::Buyer, OrderError> {
    const CITIES: &[&str] = &[
        "Hangzhou, Xihu District, Wensan Road 88",
        "Shanghai, Pudong, Century Avenue 100",
        "Chengdu, Wuhou District, Kehua Road 12",
        "Guangzhou, Tianhe District, Tiyu Road 5",
        "Beijing, Haidian District, Zhongguancun Street 27",
        "Wuhan, Hongshan District, Luoyu Road 66",
    ];
    let n = (show.id.unsigned_abs() * 1_000_003 + p.viewer as u64) % 100_000_000;
    let phone = format!("139{n:08}");
    let address = CITIES[(p.viewer as usize) % CITIES.len()];
    let name = format!("Viewer {}", p.viewer);
    let segment = sim::segment_code(p.segment);
    crate::orders::checkout::parse_buyer(&name, &phone, address, Some(&segment)).map_err(|_| {
        OrderError::Field {
            field: "buyer",
            key: "checkout.buyer_invalid",
        }
    })
}

/// Step (3): every purchase of the slice through the order service, concurrently (the
/// writer batches them), on the show's virtual clock.
async fn place_purchases(
    state: &AppState,
    show: &Show,
    ticks: &[Tick],
) -> AppResult<(usize, usize)> {
    let fee_bp = {
        let uid = show.user_id;
        state
            .db(move |conn| Ok(crate::orders::shop::fee_bp(conn, uid)?))
            .await?
    };
    let mut jobs = Vec::new();
    for p in ticks.iter().flat_map(|t| t.purchases.iter()) {
        let buyer = match buyer_for(show, p) {
            Ok(b) => b,
            Err(_) => continue,
        };
        let card_number = TEST_CARDS
            .get(p.card as usize)
            .map(|(n, _)| *n)
            .unwrap_or(TEST_CARDS[0].0);
        let new = NewOrder {
            shop_user_id: show.user_id,
            mode: Mode::Sandbox,
            idempotency_key: format!("show{}-{}", show.id, p.key),
            lines: vec![NewLine {
                sku_id: p.sku_id,
                quantity: p.quantity,
                deal_id: p.deal_id,
            }],
            buyer,
            method: Method::Card,
            card: CardNumber::parse(card_number).ok(),
            show_id: Some(show.id),
            fee_bp,
        };
        let at = show.at(p.at_ms as i64);
        jobs.push(crate::orders::place_order_at(state, new, at));
    }
    let results = futures_util::future::join_all(jobs).await;
    let mut placed = 0;
    let mut refused = 0;
    for r in results {
        match r {
            Ok(p) if p.declined.is_none() => placed += 1,
            Ok(_) => refused += 1,
            Err(OrderError::Unavailable(e)) => return Err(AppError::Unavailable(e)),
            Err(OrderError::Db(e)) => return Err(e.into()),
            // Sold out by someone else, a deal over: the buyer goes away.
            Err(e) => {
                tracing::debug!(show = show.id, error = %e, "simulated order refused");
                refused += 1;
            }
        }
    }
    Ok((placed, refused))
}

/// Per simulated minute: seconds, viewer-seconds, peak, arrivals, comments, orders.
type MinuteAgg = (i32, i64, i32, i32, i32, i32);

/// Step (4): the slice's questions and audience curve, `done_ms`, and the end.
fn store(
    conn: &mut DbConn,
    show: &Show,
    ticks: &[Tick],
    done_ms: i64,
    placed: usize,
    refused: usize,
    summary: Option<String>,
) -> QueryResult<()> {
    write_tx(conn, |conn| {
        // Another pass stored this slice already (a lease that moved): nothing to do.
        let current = model::find(conn, show.id)?;
        if current.as_ref().is_none_or(|c| c.done_ms != show.done_ms) {
            return Ok(());
        }
        let mut minutes: std::collections::BTreeMap<i32, MinuteAgg> = Default::default();
        for t in ticks {
            let minute = (t.at_ms / 60_000) as i32;
            let m = minutes.entry(minute).or_default();
            m.0 += 1;
            m.1 += t.viewers as i64;
            m.2 = m.2.max(t.viewers as i32);
            m.3 += t.arrivals as i32;
            m.4 += t.comments.len() as i32;
            m.5 += t.purchases.len() as i32;
            for c in &t.comments {
                let insert = diesel::insert_into(show_comments::table)
                    .values((
                        show_comments::show_id.eq(show.id),
                        show_comments::comment_id.eq(c.id as i64),
                        show_comments::at_ms.eq(c.at_ms as i64),
                        show_comments::viewer.eq(c.viewer as i32),
                        show_comments::topic.eq(c.topic.as_str()),
                        show_comments::variant.eq(c.variant as i32),
                        show_comments::product_id.eq(c.product_id),
                        show_comments::overclaim.eq(false),
                    ))
                    .on_conflict_do_nothing();
                match conn {
                    DbConn::Sqlite(c) => insert.execute(c)?,
                    DbConn::Postgres(c) => insert.execute(c)?,
                };
            }
        }
        for (minute, m) in minutes {
            use diesel::upsert::excluded;
            let upsert = diesel::insert_into(show_minutes::table)
                .values((
                    show_minutes::show_id.eq(show.id),
                    show_minutes::minute.eq(minute),
                    show_minutes::ticks.eq(m.0),
                    show_minutes::viewer_seconds.eq(m.1),
                    show_minutes::peak.eq(m.2),
                    show_minutes::arrivals.eq(m.3),
                    show_minutes::comments.eq(m.4),
                    show_minutes::orders.eq(m.5),
                ))
                .on_conflict((show_minutes::show_id, show_minutes::minute))
                .do_update()
                .set((
                    show_minutes::ticks.eq(show_minutes::ticks + excluded(show_minutes::ticks)),
                    show_minutes::viewer_seconds
                        .eq(show_minutes::viewer_seconds + excluded(show_minutes::viewer_seconds)),
                    show_minutes::arrivals
                        .eq(show_minutes::arrivals + excluded(show_minutes::arrivals)),
                    show_minutes::comments
                        .eq(show_minutes::comments + excluded(show_minutes::comments)),
                    show_minutes::orders.eq(show_minutes::orders + excluded(show_minutes::orders)),
                ));
            match conn {
                DbConn::Sqlite(c) => upsert.execute(c)?,
                DbConn::Postgres(c) => upsert.execute(c)?,
            };
            // The peak is a maximum, not a sum.
            diesel::update(show_minutes::table.find((show.id, minute)))
                .filter(show_minutes::peak.lt(m.2))
                .set(show_minutes::peak.eq(m.2))
                .execute(conn)?;
        }
        diesel::update(shows::table.find(show.id))
            .set((
                shows::done_ms.eq(done_ms),
                shows::sim_ms.eq(current.as_ref().map_or(done_ms, |c| c.sim_ms.max(done_ms))),
                shows::orders_placed.eq(shows::orders_placed + placed as i32),
                shows::orders_refused.eq(shows::orders_refused + refused as i32),
            ))
            .execute(conn)?;
        if let Some(summary) = summary {
            let ended_by_trainee = current.as_ref().is_some_and(|c| done_ms < c.length_ms());
            let end = show.at(done_ms);
            diesel::update(shows::table.find(show.id))
                .set((
                    shows::status.eq(ENDED),
                    shows::ended_at.eq(Some(end)),
                    shows::clock_at.eq(end),
                    shows::end_reason.eq(Some(if ended_by_trainee { "ended" } else { "length" })),
                    shows::pinned_product_id.eq(None::<i64>),
                    shows::summary.eq(Some(summary)),
                    shows::lease_owner.eq(None::<String>),
                    shows::lease_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Running sandbox shows this instance may tick now (free, expired or its own lease).
fn due(conn: &mut DbConn, instance: &str, now: NaiveDateTime) -> QueryResult<Vec<i64>> {
    shows::table
        .filter(shows::status.eq(RUNNING))
        .filter(shows::mode.eq(Mode::Sandbox.as_str()))
        .filter(
            shows::lease_owner
                .is_null()
                .or(shows::lease_owner.eq(instance))
                .or(shows::lease_until.lt(now)),
        )
        .order(shows::id)
        .select(shows::id)
        .load(conn)
}

/// Ticks every due show once, concurrently; returns how many were ticked.
pub async fn pass_all(state: &AppState, runner: &Runner) -> AppResult<usize> {
    let now = state.now().naive_utc();
    let instance = runner.instance.clone();
    let ids = state.db(move |conn| Ok(due(conn, &instance, now)?)).await?;
    let results =
        futures_util::future::join_all(ids.iter().map(|id| pass(state, runner, *id))).await;
    for (id, r) in ids.iter().zip(&results) {
        if let Err(e) = r {
            tracing::warn!(show = id, error = %e, "show tick failed");
        }
    }
    Ok(ids.len())
}

/// Runs passes until the show has ended (used by tests, the CLI and fast-forward).
pub async fn run_to_end(state: &AppState, runner: &Runner, show_id: i64) -> AppResult<()> {
    loop {
        let r = pass(state, runner, show_id).await?;
        if r.ended {
            return Ok(());
        }
        let show = state
            .db(move |conn| Ok(model::find(conn, show_id)?))
            .await?
            .ok_or(AppError::NotFound)?;
        if !show.is_running() {
            return Ok(());
        }
        if r.ticks == 0 {
            return Err(AppError::Unavailable(format!(
                "show {show_id} has not reached its end on this clock"
            )));
        }
    }
}

/// The worker's loop.
pub fn spawn(state: actix_web::web::Data<AppState>, runner: std::sync::Arc<Runner>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_millis(PASS_MS));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = pass_all(&state, &runner).await {
                tracing::warn!(error = %e, "show worker pass failed");
            }
        }
    });
}
