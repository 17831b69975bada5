//! Delivery of outbox messages to suppliers, at least once and applied once. A worker in
//! every instance claims a batch (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock
//! on SQLite), applies each message through `supplier_inbox` (whose primary key makes a
//! second application a no-op) and marks it delivered, all in one transaction. A crash
//! anywhere leaves the message pending, and the next pass delivers it. Applying a message
//! also counts its lines in the platform statistics, so they are counted exactly once
//! and off the placement's hot path.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::model::{self, Actor, Subject, record_event};
use super::state::{OrderStatus, SupplierStatus};
use crate::db::schema::{orders, outbox, supplier_inbox, supplier_orders};
use crate::db::{DbConn, write_tx};

/// Orders left in `pending_payment` (a crash between reserving and paying) this long
/// are cancelled and their stock given back.
pub const PENDING_TIMEOUT_MINUTES: i64 = 30;

/// Delivers up to `limit` pending messages; returns how many.
pub fn deliver_pending(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    write_tx(conn, |conn| {
        let due = outbox::table
            .filter(outbox::delivered_at.is_null())
            .filter(outbox::available_at.le(now))
            .order(outbox::id)
            .limit(limit)
            .select((outbox::id, outbox::supplier_order_id));
        let claimed: Vec<(i64, i64)> = match conn {
            DbConn::Postgres(c) => due.for_update().skip_locked().load(c)?,
            DbConn::Sqlite(c) => due.load(c)?,
        };
        for (message_id, so_id) in &claimed {
            apply(conn, *message_id, *so_id, now)?;
            diesel::update(outbox::table.find(message_id))
                .set((
                    outbox::delivered_at.eq(now),
                    outbox::attempts.eq(outbox::attempts + 1),
                ))
                .execute(conn)?;
        }
        Ok(claimed.len())
    })
}

/// Puts one message in the supplier's inbox; applying it twice changes nothing.
pub fn apply(
    conn: &mut DbConn,
    message_id: i64,
    so_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let Some(so) = model::find_supplier_order(conn, so_id)? else {
        return Ok(false);
    };
    let insert = diesel::insert_into(supplier_inbox::table)
        .values((
            supplier_inbox::message_id.eq(message_id),
            supplier_inbox::supplier_id.eq(so.supplier_id),
            supplier_inbox::supplier_order_id.eq(so.id),
            supplier_inbox::received_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let fresh = match conn {
        DbConn::Sqlite(c) => insert.execute(c)?,
        DbConn::Postgres(c) => insert.execute(c)?,
    };
    if fresh == 1 {
        diesel::update(supplier_orders::table.find(so.id))
            .set(supplier_orders::notified_at.eq(now))
            .execute(conn)?;
        // A paid order's lines count as orders in the platform statistics, exactly once.
        if let Some(order) = model::find_order(conn, so.order_id)? {
            let lines: Vec<_> = model::lines(conn, order.id)?
                .into_iter()
                .filter(|l| l.supplier_order_id == Some(so.id))
                .collect();
            super::stats::on_paid(conn, &lines, order.buyer_segment.as_deref())?;
        }
    }
    Ok(fresh == 1)
}

pub fn pending_count(conn: &mut DbConn) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::delivered_at.is_null())
        .count()
        .get_result(conn)
}

/// Cancels orders stuck in `pending_payment` and gives their stock back.
pub fn expire_pending(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let cutoff = now - Duration::minutes(PENDING_TIMEOUT_MINUTES);
    write_tx(conn, |conn| {
        let stale: Vec<i64> = orders::table
            .filter(orders::status.eq(OrderStatus::PendingPayment.as_str()))
            .filter(orders::created_at.lt(cutoff))
            .select(orders::id)
            .limit(500)
            .load(conn)?;
        for id in &stale {
            let Some(order) = model::find_order(conn, *id)? else {
                continue;
            };
            for line in model::lines(conn, order.id)? {
                super::routing::release(conn, &line, &order.buyer_key, true)?;
            }
            diesel::update(orders::table.find(order.id))
                .set((
                    orders::status.eq(OrderStatus::Cancelled.as_str()),
                    orders::updated_at.eq(now),
                ))
                .execute(conn)?;
            record_event(
                conn,
                order.id,
                &order.mode,
                Subject::Order,
                Some(OrderStatus::PendingPayment.as_str()),
                OrderStatus::Cancelled.as_str(),
                &Actor::System,
                "payment never completed",
                now,
            )?;
        }
        Ok(stale.len())
    })
}

/// Completes delivered orders whose return windows have all closed with no open case.
pub fn complete_due(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    write_tx(conn, |conn| {
        let delivered: Vec<i64> = orders::table
            .filter(orders::status.eq(OrderStatus::Delivered.as_str()))
            .select(orders::id)
            .limit(500)
            .load(conn)?;
        let mut done = 0;
        for id in delivered {
            let parts = model::supplier_orders_of(conn, id)?;
            let mut closed = true;
            for so in &parts {
                if SupplierStatus::parse(&so.status) == Some(SupplierStatus::Delivered) {
                    match super::flow::return_until(conn, so)? {
                        Some(until) if until >= now => closed = false,
                        _ => {}
                    }
                }
            }
            let open_case = model::cases_of(conn, id)?
                .iter()
                .any(|c| super::state::CaseStatus::parse(&c.status).is_some_and(|s| s.is_open()));
            if !closed || open_case {
                continue;
            }
            let Some(order) = model::find_order(conn, id)? else {
                continue;
            };
            diesel::update(orders::table.find(id))
                .set((
                    orders::status.eq(OrderStatus::Completed.as_str()),
                    orders::updated_at.eq(now),
                ))
                .execute(conn)?;
            record_event(
                conn,
                id,
                &order.mode,
                Subject::Order,
                Some(OrderStatus::Delivered.as_str()),
                OrderStatus::Completed.as_str(),
                &Actor::System,
                "return window closed",
                now,
            )?;
            done += 1;
        }
        Ok(done)
    })
}
