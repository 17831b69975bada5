//! Delivery of outbox messages to suppliers, at least once and applied once. A worker in
//! every instance claims a batch (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock
//! on SQLite), applies each message through `supplier_inbox` (whose primary key makes a
//! second application a no-op) and marks it delivered, all in one transaction. A crash
//! anywhere leaves the message pending, and the next pass delivers it. Applying a message
//! also counts its lines in the platform statistics, so they are counted exactly once
//! and off the placement's hot path.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::model::{self, Actor, Subject, record_event};
use super::state::{OrderStatus, SupplierStatus};
use crate::db::schema::{order_lines, orders, outbox, supplier_orders};
use crate::db::{DbConn, InsertMany, on_backend, write_tx};

/// Orders left in `pending_payment` (a crash between reserving and paying) this long
/// are cancelled and their stock given back.
pub const PENDING_TIMEOUT_MINUTES: i64 = 30;

/// Delivers up to `limit` pending messages; returns how many.
pub fn deliver_pending(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    write_tx(conn, |conn| {
        if let DbConn::Postgres(c) = conn {
            // Every statement here looks rows up by keys, with an index for each. Tables
            // filled since their last ANALYZE (a new shop's first sale) have no
            // statistics, and the planner then guessed a whole-table scan for a list of
            // keys and kept that plan: 15 ms a statement, growing with the table.
            use diesel::connection::SimpleConnection;
            c.batch_execute("SET LOCAL enable_seqscan = off")?;
        }
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
        if claimed.is_empty() {
            return Ok(0);
        }
        apply_all(conn, &claimed, now)?;
        let ids: Vec<i64> = claimed.iter().map(|(id, _)| *id).collect();
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set((
                outbox::delivered_at.eq(now),
                outbox::attempts.eq(outbox::attempts + 1),
            ))
            .execute(conn)?;
        Ok(claimed.len())
    })
}

/// Applies a batch of messages `(message id, supplier order id)`: each one that the
/// inbox has not seen marks its supplier order notified and counts its lines in the
/// statistics. A handful of statements per batch, not per message: the outbox shares
/// the writer with every placement. Returns how many were applied now.
pub fn apply_all(
    conn: &mut DbConn,
    messages: &[(i64, i64)],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let so_ids: Vec<i64> = messages.iter().map(|(_, so)| *so).collect();
    let suppliers: HashMap<i64, i64> = supplier_orders::table
        .filter(supplier_orders::id.eq_any(&so_ids))
        .select((supplier_orders::id, supplier_orders::supplier_id))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let known: Vec<(i64, i64, i64)> = messages
        .iter()
        .filter_map(|(message_id, so_id)| {
            suppliers
                .get(so_id)
                .map(|supplier_id| (*message_id, *supplier_id, *so_id))
        })
        .collect();
    if known.is_empty() {
        return Ok(0);
    }
    // The inbox row is the "applied once" guard: only messages new to it count.
    // One multi-row insert for the whole delivery.
    let fresh: Vec<i64> = on_backend!(conn, |c| {
        use diesel::sql_types::{BigInt, Timestamp};
        c.insert_many(
            "supplier_inbox",
            &[
                "message_id",
                "supplier_id",
                "supplier_order_id",
                "received_at",
            ],
            "ON CONFLICT DO NOTHING RETURNING supplier_order_id AS id",
            &known,
            |q, (message_id, supplier_id, so_id)| {
                q.bind::<BigInt, _>(*message_id)
                    .bind::<BigInt, _>(*supplier_id)
                    .bind::<BigInt, _>(*so_id)
                    .bind::<Timestamp, _>(now)
            },
        )
    })?;
    if fresh.is_empty() {
        return Ok(0);
    }
    diesel::update(supplier_orders::table.filter(supplier_orders::id.eq_any(&fresh)))
        .set(supplier_orders::notified_at.eq(now))
        .execute(conn)?;
    // Two lookups by key, not a join: with a sale's fresh rows not yet analyzed,
    // PostgreSQL planned the join as a hash of every order, on every delivery.
    let lines: Vec<(i64, i64)> = order_lines::table
        .filter(order_lines::supplier_order_id.eq_any(&fresh))
        .select((order_lines::product_id, order_lines::order_id))
        .load(conn)?;
    let mut order_ids: Vec<i64> = lines.iter().map(|(_, order)| *order).collect();
    order_ids.sort_unstable();
    order_ids.dedup();
    let segments: HashMap<i64, Option<String>> = orders::table
        .filter(orders::id.eq_any(&order_ids))
        .select((orders::id, orders::buyer_segment))
        .load::<(i64, Option<String>)>(conn)?
        .into_iter()
        .collect();
    let counted: Vec<(i64, Option<String>)> = lines
        .into_iter()
        .map(|(product, order)| (product, segments.get(&order).cloned().flatten()))
        .collect();
    super::stats::count_paid(conn, &counted)?;
    Ok(fresh.len())
}

/// Applies one message; false if the inbox had it already (or its supplier order is
/// gone).
pub fn apply(
    conn: &mut DbConn,
    message_id: i64,
    so_id: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    Ok(apply_all(conn, &[(message_id, so_id)], now)? == 1)
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
