//! Deferred rows for order placement. A placement with an in-process gateway
//! takes its key, stock and deal units in its own savepoint of the writer's batch, as
//! always; everything that could refuse it happens there. What is left are plain
//! inserts: the order, its lines, supplier orders, outbox messages, payment attempts and
//! events, and the key's link to the order. Those wait here, and the writer writes the
//! rows of every placement of the batch as one multi-row insert per table, before any job
//! that does not defer and before the commit (`db::writer`). A placement is answered only
//! after that commit, as before.
//!
//! Ids are handed out here, so a placement's answer carries them before its rows are
//! written. On SQLite they come from each table's `AUTOINCREMENT` sequence: nothing else
//! inserts into those tables while rows wait, since only deferring jobs run between two
//! flushes and they insert through here. On PostgreSQL they are taken from each table's
//! sequence a block at a time (`nextval`, once per table and batch), which other
//! instances share safely. Outside
//! the writer nothing is deferred.

use std::cell::RefCell;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use super::error::OrderError;
use super::links;
use super::model::{EventRow, Line, NewEvent, Order, SupplierOrder, insert_events};
use super::payments::PayError;
use super::place::{self, NewOrder, PaymentOutcome, PaymentRow, Settled, Taken, insert_payments};
use super::routing;
use super::state::{OrderStatus, SupplierStatus};
use crate::db::writer::Deferred;
use crate::db::{CachedExt, DbConn, Id, InsertMany, hand_query, on_backend, values_list};

/// What the writer calls: see the module's text.
pub const HOOKS: Deferred = Deferred {
    flush,
    discard,
    claim,
};

/// Locks a batch's SKUs, in id order, before its placements run (PostgreSQL; SQLite's
/// batch holds the database's one write lock already). Every batch then takes its SKU
/// locks in the same order, so two threads' or instances' batches queue behind each
/// other instead of deadlocking. A writer on the pool that locks several SKUs out of
/// order can still deadlock with it; PostgreSQL then cancels one side, and if that is
/// this claim (no placement has run yet), it is tried again.
fn claim(conn: &mut DbConn, skus: &[i64]) -> QueryResult<()> {
    if !matches!(conn, DbConn::Postgres(_)) {
        return Ok(());
    }
    let mut tries = 0;
    loop {
        tries += 1;
        // Nested in the batch, the transaction is a savepoint: a cancelled claim gives
        // back the locks it took and leaves the batch usable.
        match conn.transaction(|conn| lock_skus(conn, skus)) {
            Err(e) if tries < 3 && is_deadlock(&e) => {
                tracing::warn!(error = %e, "a batch's SKU claim deadlocked; claiming again");
            }
            done => return done,
        }
    }
}

/// Locks `skus` for update in id order, on PostgreSQL. Any writer that locks several
/// SKUs at once and may run beside placements should take them this way first.
pub fn lock_skus(conn: &mut DbConn, skus: &[i64]) -> QueryResult<()> {
    if let DbConn::Postgres(c) = conn {
        use crate::db::schema::skus as s;
        s::table
            .filter(s::id.eq_any(skus))
            .order(s::id)
            .select(s::id)
            .for_no_key_update()
            .load::<i64>(c)?;
    }
    Ok(())
}

fn is_deadlock(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(_, info) if info.message().contains("deadlock"))
}

/// One placement whose rows wait.
struct Placement {
    key: String,
    order: Order,
    lines: Vec<Line>,
    parts: Vec<SupplierOrder>,
    /// The outbox message of each part, in the order of `parts`.
    messages: Vec<String>,
    outcome: PaymentOutcome,
    events: Vec<NewEvent>,
}

impl Placement {
    fn declined(&self) -> Option<PayError> {
        self.outcome.result.err()
    }

    fn answer(&self) -> (Settled, Option<PayError>) {
        (
            (self.order.clone(), self.lines.clone(), self.parts.clone()),
            self.declined(),
        )
    }
}

/// The tables whose ids are handed out here.
#[derive(Clone, Copy)]
enum Table {
    Orders = 0,
    SupplierOrders = 1,
    OrderLines = 2,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Orders => "orders",
            Table::SupplierOrders => "supplier_orders",
            Table::OrderLines => "order_lines",
        }
    }
}

#[derive(Default)]
struct Pending {
    /// The next id of each [`Table`] on SQLite; 0 until read from its sequence in this
    /// batch.
    next: [i64; 3],
    placed: Vec<Placement>,
}

thread_local! {
    static PENDING: RefCell<Pending> = RefCell::new(Pending::default());
    /// Ids of each [`Table`] taken from its PostgreSQL sequence in this batch and not used
    /// yet. Dropped with the batch: kept longer, an idle thread's old ids would put a new
    /// order below others in every newest-first list. The sequence skips them.
    static SPARE: RefCell<[Vec<i64>; 3]> = RefCell::new(Default::default());
}

/// How many ids a PostgreSQL sequence is asked for at once: a batch's worth of orders.
const ID_BLOCK: usize = crate::db::writer::MAX_BATCH;

/// After every batch, committed or rolled back: forgets what waits (written or gone), the
/// shops read and the unused ids.
fn discard() {
    super::shop::forget_batch_shops();
    SPARE.with(|s| *s.borrow_mut() = Default::default());
    PENDING.with(|p| *p.borrow_mut() = Pending::default());
}

/// The placement of this batch that holds the key, as its own answer gave it: a replay
/// that arrives in the same batch as its original.
pub fn pending(shop_user_id: i64, key: &str) -> Option<(Settled, Option<PayError>)> {
    PENDING.with(|p| {
        p.borrow()
            .placed
            .iter()
            .find(|w| w.order.shop_user_id == shop_user_id && w.key == key)
            .map(Placement::answer)
    })
}

/// `n` new ids of `table`.
fn take_ids(conn: &mut DbConn, table: Table, n: usize) -> QueryResult<Vec<i64>> {
    match conn {
        DbConn::Sqlite(c) => {
            let next = PENDING.with(|p| p.borrow().next[table as usize]);
            let first = if next > 0 {
                next
            } else {
                // AUTOINCREMENT keeps the largest id ever used here, explicit ones included.
                let seq: Option<Id> =
                    diesel::sql_query("SELECT seq AS id FROM sqlite_sequence WHERE name = ?")
                        .bind::<Text, _>(table.name())
                        .get_result(c)
                        .optional()?;
                seq.map_or(0, |s| s.id) + 1
            };
            PENDING.with(|p| p.borrow_mut().next[table as usize] = first + n as i64);
            Ok((first..first + n as i64).collect())
        }
        DbConn::Postgres(c) => {
            let spare = SPARE.with(|s| s.borrow()[table as usize].len());
            if spare < n {
                // Enough for the rest of the batch if its placements are like this one,
                // at most a block: ids left over are dropped with the batch.
                let want = (n * crate::db::writer::jobs_left()).clamp(n, ID_BLOCK.max(n));
                let more: Vec<Id> = diesel::sql_query(
                    "SELECT nextval(s.seq) AS id \
                     FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq) AS s, \
                     generate_series(1, $2)",
                )
                .bind::<Text, _>(table.name())
                .bind::<Integer, _>((want - spare) as i32)
                .load(c)?;
                SPARE.with(|s| s.borrow_mut()[table as usize].extend(more.iter().map(|i| i.id)));
            }
            Ok(SPARE.with(|s| s.borrow_mut()[table as usize].drain(..n).collect()))
        }
    }
}

/// Stores a taken order whose in-process payment has answered: paid, it is routed; refused,
/// its stock and deal units go back at once (the only writes made here) and it is kept as
/// failed. The rows wait for the batch's flush; the answer is what they will be.
pub fn place(
    c: &mut DbConn,
    new: &NewOrder,
    keys: &links::LinkKey,
    taken: Taken,
    outcome: PaymentOutcome,
    now: NaiveDateTime,
) -> Result<(Settled, Option<PayError>), OrderError> {
    let placed = OrderStatus::PendingPayment;
    let (status, paid_fen, mut events) = match outcome.result {
        Ok(()) => {
            let (routed, paid_event, routed_event) =
                place::paid_and_routed(placed, &outcome, taken.total_fen)?;
            (
                routed,
                taken.total_fen,
                vec![place::placed_event(), paid_event, routed_event],
            )
        }
        Err(declined) => {
            let (failed, event) = place::payment_failed(placed, declined)?;
            (failed, 0, vec![place::placed_event(), event])
        }
    };
    let order_id = take_ids(c, Table::Orders, 1)?[0];
    let order = place::new_order(new, keys, &taken, order_id, status, paid_fen, now);
    let mut lines = taken.lines;
    let line_ids = take_ids(c, Table::OrderLines, lines.len())?;
    for (line, id) in lines.iter_mut().zip(line_ids) {
        line.id = id;
        line.order_id = order_id;
    }
    let mut parts = Vec::new();
    let mut messages = Vec::new();
    if outcome.result.is_ok() {
        let suppliers = routing::by_supplier(&lines);
        let part_ids = take_ids(c, Table::SupplierOrders, suppliers.len())?;
        let mut routed = Vec::with_capacity(suppliers.len());
        for ((supplier_id, total_fen), id) in suppliers.into_iter().zip(part_ids) {
            let part = SupplierOrder {
                id,
                order_id,
                supplier_id,
                mode: order.mode.clone(),
                status: SupplierStatus::Routed.as_str().to_string(),
                total_fen,
                carrier: None,
                tracking: None,
                reject_reason: None,
                notified_at: None,
                shipped_at: None,
                delivered_at: None,
                created_at: now,
                updated_at: now,
            };
            routing::assign(&mut lines, supplier_id, part.id);
            routed.push(routing::routed_event(&part));
            parts.push(part);
        }
        messages = parts
            .iter()
            .map(|part| routing::payload(&order, &lines, part))
            .collect();
        // The order's last event (to routed) comes after its supplier orders'.
        let last = events.pop();
        events.extend(routed);
        events.extend(last);
    } else {
        for line in &lines {
            routing::release(c, line, &order.buyer_key, true)?;
        }
    }
    let placement = Placement {
        key: new.idempotency_key.clone(),
        order,
        lines,
        parts,
        messages,
        outcome,
        events,
    };
    let answer = placement.answer();
    PENDING.with(|p| p.borrow_mut().placed.push(placement));
    Ok(answer)
}

/// Writes what waits, one statement per table (more only past the limit of bound
/// values). Every count is checked: a row that did not go in fails the whole batch.
fn flush(conn: &mut DbConn) -> QueryResult<()> {
    // A job that is not a placement may come next and change a shop.
    super::shop::forget_batch_shops();
    let pending = PENDING.with(|p| std::mem::take(&mut *p.borrow_mut()));
    if pending.placed.is_empty() {
        return Ok(());
    }
    let c = conn;
    let placed = &pending.placed;
    let orders: Vec<&Order> = placed.iter().map(|p| &p.order).collect();
    expect(insert_orders(c, &orders)?, orders.len(), "orders")?;
    let parts: Vec<&SupplierOrder> = placed.iter().flat_map(|p| &p.parts).collect();
    if !parts.is_empty() {
        expect(insert_parts(c, &parts)?, parts.len(), "supplier orders")?;
        let messages: Vec<(i64, &str, NaiveDateTime)> = placed
            .iter()
            .flat_map(|p| {
                p.parts
                    .iter()
                    .zip(&p.messages)
                    .map(|(part, m)| (part.id, m.as_str(), part.created_at))
            })
            .collect();
        expect(insert_messages(c, &messages)?, messages.len(), "outbox")?;
    }
    let lines: Vec<&Line> = placed.iter().flat_map(|p| &p.lines).collect();
    expect(insert_lines(c, &lines)?, lines.len(), "order lines")?;
    let payments: Vec<PaymentRow> = placed
        .iter()
        .flat_map(|p| place::payment_rows(&p.order, &p.outcome, p.order.created_at))
        .collect();
    if !payments.is_empty() {
        insert_payments(c, &payments)?;
    }
    let events: Vec<EventRow> = placed
        .iter()
        .flat_map(|p| {
            p.events.iter().map(|event| EventRow {
                order_id: p.order.id,
                mode: &p.order.mode,
                event,
                at: p.order.created_at,
            })
        })
        .collect();
    insert_events(c, &events)?;
    expect(link_keys(c, placed)?, placed.len(), "idempotency keys")
}

fn expect(got: usize, want: usize, what: &str) -> QueryResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(diesel::result::Error::QueryBuilderError(
            format!("deferred {what}: {got} rows written of {want}").into(),
        ))
    }
}

fn insert_orders(conn: &mut DbConn, rows: &[&Order]) -> QueryResult<usize> {
    const COLUMNS: [&str; 23] = [
        "id",
        "reference",
        "access_hash",
        "shop_user_id",
        "mode",
        "status",
        "buyer_name",
        "buyer_phone",
        "buyer_address",
        "buyer_key",
        "buyer_segment",
        "payment_method",
        "card_last4",
        "currency",
        "total_fen",
        "paid_fen",
        "refunded_fen",
        "commission_fen",
        "earnings_fen",
        "fee_bp",
        "show_id",
        "created_at",
        "updated_at",
    ];
    let ids = on_backend!(conn, |c| {
        c.insert_many("orders", &COLUMNS, "RETURNING id", rows, |q, o| {
            q.bind::<BigInt, _>(o.id)
                .bind::<Text, _>(o.reference.as_str())
                .bind::<Text, _>(o.access_hash.as_str())
                .bind::<BigInt, _>(o.shop_user_id)
                .bind::<Text, _>(o.mode.as_str())
                .bind::<Text, _>(o.status.as_str())
                .bind::<Text, _>(o.buyer_name.as_str())
                .bind::<Text, _>(o.buyer_phone.as_str())
                .bind::<Text, _>(o.buyer_address.as_str())
                .bind::<Text, _>(o.buyer_key.as_str())
                .bind::<Nullable<Text>, _>(o.buyer_segment.as_deref())
                .bind::<Text, _>(o.payment_method.as_str())
                .bind::<Nullable<Text>, _>(o.card_last4.as_deref())
                .bind::<Text, _>(o.currency.as_str())
                .bind::<BigInt, _>(o.total_fen)
                .bind::<BigInt, _>(o.paid_fen)
                .bind::<BigInt, _>(o.refunded_fen)
                .bind::<BigInt, _>(o.commission_fen)
                .bind::<BigInt, _>(o.earnings_fen)
                .bind::<Integer, _>(o.fee_bp)
                .bind::<Nullable<BigInt>, _>(o.show_id)
                .bind::<Timestamp, _>(o.created_at)
                .bind::<Timestamp, _>(o.updated_at)
        })
    })?;
    Ok(ids.len())
}

fn insert_parts(conn: &mut DbConn, rows: &[&SupplierOrder]) -> QueryResult<usize> {
    const COLUMNS: [&str; 8] = [
        "id",
        "order_id",
        "supplier_id",
        "mode",
        "status",
        "total_fen",
        "created_at",
        "updated_at",
    ];
    let ids = on_backend!(conn, |c| {
        c.insert_many("supplier_orders", &COLUMNS, "RETURNING id", rows, |q, p| {
            q.bind::<BigInt, _>(p.id)
                .bind::<BigInt, _>(p.order_id)
                .bind::<BigInt, _>(p.supplier_id)
                .bind::<Text, _>(p.mode.as_str())
                .bind::<Text, _>(p.status.as_str())
                .bind::<BigInt, _>(p.total_fen)
                .bind::<Timestamp, _>(p.created_at)
                .bind::<Timestamp, _>(p.updated_at)
        })
    })?;
    Ok(ids.len())
}

fn insert_messages(conn: &mut DbConn, rows: &[(i64, &str, NaiveDateTime)]) -> QueryResult<usize> {
    const COLUMNS: [&str; 6] = [
        "topic",
        "supplier_order_id",
        "payload",
        "attempts",
        "available_at",
        "created_at",
    ];
    let ids = on_backend!(conn, |c| {
        c.insert_many(
            "outbox",
            &COLUMNS,
            "RETURNING id",
            rows,
            |q, (part_id, payload, at)| {
                q.bind::<Text, _>(routing::TOPIC_ROUTED)
                    .bind::<BigInt, _>(*part_id)
                    .bind::<Text, _>(*payload)
                    .bind::<Integer, _>(0)
                    .bind::<Timestamp, _>(*at)
                    .bind::<Timestamp, _>(*at)
            },
        )
    })?;
    Ok(ids.len())
}

fn insert_lines(conn: &mut DbConn, rows: &[&Line]) -> QueryResult<usize> {
    const COLUMNS: [&str; 15] = [
        "id",
        "order_id",
        "supplier_order_id",
        "product_id",
        "sku_id",
        "supplier_id",
        "deal_id",
        "title",
        "sku_label",
        "quantity",
        "unit_price_fen",
        "unit_cost_fen",
        "commission_bp",
        "refunded_fen",
        "returned_quantity",
    ];
    let ids = on_backend!(conn, |c| {
        c.insert_many("order_lines", &COLUMNS, "RETURNING id", rows, |q, l| {
            q.bind::<BigInt, _>(l.id)
                .bind::<BigInt, _>(l.order_id)
                .bind::<Nullable<BigInt>, _>(l.supplier_order_id)
                .bind::<BigInt, _>(l.product_id)
                .bind::<BigInt, _>(l.sku_id)
                .bind::<BigInt, _>(l.supplier_id)
                .bind::<Nullable<BigInt>, _>(l.deal_id)
                .bind::<Text, _>(l.title.as_str())
                .bind::<Text, _>(l.sku_label.as_str())
                .bind::<Integer, _>(l.quantity)
                .bind::<BigInt, _>(l.unit_price_fen)
                .bind::<BigInt, _>(l.unit_cost_fen)
                .bind::<Integer, _>(l.commission_bp)
                .bind::<BigInt, _>(l.refunded_fen)
                .bind::<Integer, _>(l.returned_quantity)
        })
    })?;
    Ok(ids.len())
}

/// Points each placement's key (inserted by its savepoint, without an order) at its
/// order: one UPDATE over a VALUES list.
fn link_keys(conn: &mut DbConn, placed: &[Placement]) -> QueryResult<usize> {
    let mut linked = 0;
    for chunk in placed.chunks(10_000) {
        let sql = |placeholder| {
            format!(
                "UPDATE idempotency_keys SET order_id = v.column3 FROM (VALUES {}) AS v \
                 WHERE idempotency_keys.shop_user_id = v.column1 \
                 AND idempotency_keys.key = v.column2 \
                 RETURNING idempotency_keys.order_id AS id",
                values_list(placeholder, 3, chunk.len())
            )
        };
        macro_rules! bound {
            ($c:expr) => {{
                let mut query = hand_query(&*$c, sql);
                for p in chunk {
                    query = query
                        .bind::<BigInt, _>(p.order.shop_user_id)
                        .bind::<Text, _>(p.key.as_str())
                        .bind::<BigInt, _>(p.order.id);
                }
                query
            }};
        }
        let got: Vec<Id> = match conn {
            DbConn::Sqlite(c) => bound!(c).cached().load(c)?,
            // Not kept prepared: a kept statement's generic plan, chosen while the keys
            // table was nearly empty, went on hashing the whole table for every batch
            // (3 ms and growing); planned with its values it joins by the primary key.
            DbConn::Postgres(c) => bound!(c).load(c)?,
        };
        linked += got.len();
    }
    Ok(linked)
}
