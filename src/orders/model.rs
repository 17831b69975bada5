//! The stored records of the order flow and the one function that appends an event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    after_sales, case_notes, flash_deals, order_events, order_lines, orders, payments,
    supplier_orders,
};
use crate::db::{CachedExt, DbConn, InsertMany, on_backend};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: i64,
    pub reference: String,
    pub access_hash: String,
    pub shop_user_id: i64,
    pub mode: String,
    pub status: String,
    pub buyer_name: String,
    pub buyer_phone: String,
    pub buyer_address: String,
    pub buyer_key: String,
    pub buyer_segment: Option<String>,
    pub payment_method: String,
    pub card_last4: Option<String>,
    pub currency: String,
    pub total_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub commission_fen: i64,
    pub earnings_fen: i64,
    pub fee_bp: i32,
    pub show_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = order_lines)]
pub struct Line {
    pub id: i64,
    pub order_id: i64,
    pub supplier_order_id: Option<i64>,
    pub product_id: i64,
    pub sku_id: i64,
    pub supplier_id: i64,
    pub deal_id: Option<i64>,
    pub title: String,
    pub sku_label: String,
    pub quantity: i32,
    pub unit_price_fen: i64,
    pub unit_cost_fen: i64,
    pub commission_bp: i32,
    pub refunded_fen: i64,
    pub returned_quantity: i32,
}

impl Line {
    pub fn total_fen(&self) -> i64 {
        self.unit_price_fen * self.quantity as i64
    }
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = supplier_orders)]
pub struct SupplierOrder {
    pub id: i64,
    pub order_id: i64,
    pub supplier_id: i64,
    pub mode: String,
    pub status: String,
    pub total_fen: i64,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    pub reject_reason: Option<String>,
    pub notified_at: Option<NaiveDateTime>,
    pub shipped_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = after_sales)]
pub struct Case {
    pub id: i64,
    pub order_id: i64,
    pub line_id: i64,
    pub supplier_order_id: i64,
    pub supplier_id: i64,
    pub shop_user_id: i64,
    pub mode: String,
    pub status: String,
    pub quantity: i32,
    pub reason: String,
    pub reject_reason: Option<String>,
    pub return_carrier: Option<String>,
    pub return_tracking: Option<String>,
    pub refund_fen: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = case_notes)]
pub struct CaseNote {
    pub id: i64,
    pub case_id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = order_events)]
pub struct Event {
    pub id: i64,
    pub order_id: i64,
    pub supplier_order_id: Option<i64>,
    pub case_id: Option<i64>,
    pub mode: String,
    pub entity: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    pub reason: String,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = payments)]
pub struct Payment {
    pub id: i64,
    pub order_id: i64,
    pub mode: String,
    pub gateway: String,
    pub kind: String,
    pub amount_fen: i64,
    pub succeeded: bool,
    pub reference: Option<String>,
    pub error_code: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = flash_deals)]
pub struct FlashDeal {
    pub id: i64,
    pub shop_user_id: i64,
    pub sku_id: i64,
    pub mode: String,
    pub price_fen: i64,
    pub quantity: i32,
    pub sold: i32,
    pub per_buyer_limit: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl FlashDeal {
    pub fn is_running(&self, now: NaiveDateTime) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    pub fn left(&self) -> i32 {
        (self.quantity - self.sold).max(0)
    }
}

/// Who made a change, as the event log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Buyer,
    Creator(i64),
    Supplier(i64),
    Gateway,
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Buyer => "buyer".into(),
            Actor::Creator(id) => format!("creator:{id}"),
            Actor::Supplier(id) => format!("supplier:{id}"),
            Actor::Gateway => "gateway".into(),
            Actor::System => "system".into(),
        }
    }
}

/// What an event is about; the ids say which record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Order,
    SupplierOrder(i64),
    Case(i64),
}

impl Subject {
    /// The stored entity name and the supplier order and case ids.
    fn columns(self) -> (&'static str, Option<i64>, Option<i64>) {
        match self {
            Subject::Order => ("order", None, None),
            Subject::SupplierOrder(id) => ("supplier_order", Some(id), None),
            Subject::Case(id) => ("case", None, Some(id)),
        }
    }
}

/// One event of several appended together by [`record_events`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub subject: Subject,
    pub from: Option<&'static str>,
    pub to: &'static str,
    pub actor: Actor,
    pub reason: String,
}

#[allow(clippy::too_many_arguments)]
pub fn record_event(
    conn: &mut DbConn,
    order_id: i64,
    mode: &str,
    subject: Subject,
    from: Option<&str>,
    to: &str,
    actor: &Actor,
    reason: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let (entity, so, case) = subject.columns();
    on_backend!(conn, |c| {
        diesel::insert_into(order_events::table)
            .values((
                order_events::order_id.eq(order_id),
                order_events::supplier_order_id.eq(so),
                order_events::case_id.eq(case),
                order_events::mode.eq(mode),
                order_events::entity.eq(entity),
                order_events::from_status.eq(from),
                order_events::to_status.eq(to),
                order_events::actor.eq(actor.label()),
                order_events::reason.eq(reason),
                order_events::at.eq(at),
            ))
            .returning(order_events::id)
            .cached()
            .get_result::<i64>(c)
    })?;
    Ok(())
}

/// An event of an order, as one row of a multi-row insert.
pub struct EventRow<'e> {
    pub order_id: i64,
    pub mode: &'e str,
    pub event: &'e NewEvent,
    pub at: NaiveDateTime,
}

/// Inserts events of one or several orders in one statement (diesel cannot write a
/// multi-row insert for SQLite, nor one from borrowed rows).
pub fn insert_events(conn: &mut DbConn, rows: &[EventRow]) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
    const COLUMNS: [&str; 10] = [
        "order_id",
        "supplier_order_id",
        "case_id",
        "mode",
        "entity",
        "from_status",
        "to_status",
        "actor",
        "reason",
        "at",
    ];
    on_backend!(conn, |c| {
        c.insert_many("order_events", &COLUMNS, "RETURNING id", rows, |q, r| {
            let (entity, so, case) = r.event.subject.columns();
            q.bind::<BigInt, _>(r.order_id)
                .bind::<Nullable<BigInt>, _>(so)
                .bind::<Nullable<BigInt>, _>(case)
                .bind::<Text, _>(r.mode)
                .bind::<Text, _>(entity)
                .bind::<Nullable<Text>, _>(r.event.from)
                .bind::<Text, _>(r.event.to)
                .bind::<Text, _>(r.event.actor.label())
                .bind::<Text, _>(r.event.reason.as_str())
                .bind::<Timestamp, _>(r.at)
        })
    })?;
    Ok(())
}

/// Appends `events` in this order, in one statement: a placement's events as one
/// statement instead of four is worth the hand-written SQL on the hot path.
pub fn record_events(
    conn: &mut DbConn,
    order_id: i64,
    mode: &str,
    events: &[NewEvent],
    at: NaiveDateTime,
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<EventRow> = events
        .iter()
        .map(|event| EventRow {
            order_id,
            mode,
            event,
            at,
        })
        .collect();
    insert_events(conn, &rows)
}

pub fn find_order(conn: &mut DbConn, id: i64) -> QueryResult<Option<Order>> {
    orders::table
        .find(id)
        .select(Order::as_select())
        .first(conn)
        .optional()
}

pub fn order_by_access(conn: &mut DbConn, access_hash: &str) -> QueryResult<Option<Order>> {
    orders::table
        .filter(orders::access_hash.eq(access_hash))
        .select(Order::as_select())
        .first(conn)
        .optional()
}

pub fn order_by_reference(conn: &mut DbConn, reference: &str) -> QueryResult<Option<Order>> {
    orders::table
        .filter(orders::reference.eq(reference))
        .select(Order::as_select())
        .first(conn)
        .optional()
}

pub fn lines(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<Line>> {
    order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .order(order_lines::id)
        .select(Line::as_select())
        .load(conn)
}

pub fn supplier_orders_of(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<SupplierOrder>> {
    supplier_orders::table
        .filter(supplier_orders::order_id.eq(order_id))
        .order(supplier_orders::id)
        .select(SupplierOrder::as_select())
        .load(conn)
}

pub fn find_supplier_order(conn: &mut DbConn, id: i64) -> QueryResult<Option<SupplierOrder>> {
    supplier_orders::table
        .find(id)
        .select(SupplierOrder::as_select())
        .first(conn)
        .optional()
}

pub fn cases_of(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<Case>> {
    after_sales::table
        .filter(after_sales::order_id.eq(order_id))
        .order(after_sales::id)
        .select(Case::as_select())
        .load(conn)
}

pub fn find_case(conn: &mut DbConn, id: i64) -> QueryResult<Option<Case>> {
    after_sales::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()
}

pub fn case_notes_of(conn: &mut DbConn, case_id: i64) -> QueryResult<Vec<CaseNote>> {
    case_notes::table
        .filter(case_notes::case_id.eq(case_id))
        .order(case_notes::id)
        .select(CaseNote::as_select())
        .load(conn)
}

pub fn events_of(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<Event>> {
    order_events::table
        .filter(order_events::order_id.eq(order_id))
        .order(order_events::id)
        .select(Event::as_select())
        .load(conn)
}

pub fn payments_of(conn: &mut DbConn, order_id: i64) -> QueryResult<Vec<Payment>> {
    payments::table
        .filter(payments::order_id.eq(order_id))
        .order(payments::id)
        .select(Payment::as_select())
        .load(conn)
}

/// A flash deal to store: `quantity` units of `sku_id` at `price_fen` between `starts`
/// and `ends`, at most `per_buyer_limit` each.
#[derive(Debug, Clone)]
pub struct NewDeal<'a> {
    pub shop_user_id: i64,
    pub sku_id: i64,
    pub mode: &'a str,
    pub price_fen: i64,
    pub quantity: i32,
    pub per_buyer_limit: i32,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

/// Stores a flash deal (the caller has checked its price and stock) and returns its id.
pub fn insert_deal(conn: &mut DbConn, deal: &NewDeal<'_>, now: NaiveDateTime) -> QueryResult<i64> {
    diesel::insert_into(flash_deals::table)
        .values((
            flash_deals::shop_user_id.eq(deal.shop_user_id),
            flash_deals::sku_id.eq(deal.sku_id),
            flash_deals::mode.eq(deal.mode),
            flash_deals::price_fen.eq(deal.price_fen),
            flash_deals::quantity.eq(deal.quantity),
            flash_deals::sold.eq(0),
            flash_deals::per_buyer_limit.eq(deal.per_buyer_limit),
            flash_deals::starts_at.eq(deal.starts_at),
            flash_deals::ends_at.eq(deal.ends_at),
            flash_deals::created_at.eq(now),
        ))
        .returning(flash_deals::id)
        .get_result(conn)
}

pub fn find_deal(conn: &mut DbConn, id: i64) -> QueryResult<Option<FlashDeal>> {
    flash_deals::table
        .find(id)
        .select(FlashDeal::as_select())
        .first(conn)
        .optional()
}

/// The shop's deals that run at `now`, by SKU.
pub fn running_deals(
    conn: &mut DbConn,
    shop_user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<FlashDeal>> {
    flash_deals::table
        .filter(flash_deals::shop_user_id.eq(shop_user_id))
        .filter(flash_deals::starts_at.le(now))
        .filter(flash_deals::ends_at.gt(now))
        .order(flash_deals::id.desc())
        .select(FlashDeal::as_select())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::{DatabaseUrl, build_pool, run_migrations};

    /// On SQLite the events go in as one hand-written multi-row insert: it must store
    /// what diesel's own insert would (read back here through the typed schema), and stay
    /// prepared from one order to the next.
    #[test]
    fn events_are_one_kept_prepared_insert_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let pool = build_pool(&DatabaseUrl::Sqlite(dir.path().join("kaibo.db")), 1).unwrap();
        run_migrations(&pool).unwrap();
        let mut conn = pool.get().unwrap();
        // Events only: no order rows behind them in this test.
        conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = seen.clone();
        let DbConn::Sqlite(c) = &mut *conn else {
            unreachable!("a SQLite pool")
        };
        c.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
            if let diesel::connection::InstrumentationEvent::CacheQuery { sql, .. } = event {
                log.lock().unwrap().push(sql.to_string());
            }
        });
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_milli_opt(21, 5, 7, 250)
            .unwrap();
        let events = |order: i64| {
            vec![
                NewEvent {
                    subject: Subject::Order,
                    from: None,
                    to: "pending_payment",
                    actor: Actor::Buyer,
                    reason: "placed".into(),
                },
                NewEvent {
                    subject: Subject::SupplierOrder(order * 10),
                    from: Some("paid"),
                    to: "routed",
                    actor: Actor::Supplier(7),
                    reason: format!("supplier {order}"),
                },
            ]
        };
        record_events(&mut conn, 1, "live", &events(1), at).unwrap();
        record_events(&mut conn, 2, "sandbox", &events(2), at).unwrap();
        let stored: Vec<Event> = order_events::table
            .filter(order_events::order_id.eq(2))
            .order(order_events::id)
            .select(Event::as_select())
            .load(&mut conn)
            .unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0].entity, "order");
        assert_eq!(stored[0].from_status, None);
        assert_eq!(stored[0].actor, "buyer");
        assert_eq!(stored[0].mode, "sandbox");
        assert_eq!(stored[0].at, at);
        assert_eq!(stored[1].supplier_order_id, Some(20));
        assert_eq!(stored[1].from_status.as_deref(), Some("paid"));
        assert_eq!(stored[1].actor, "supplier:7");
        assert_eq!(stored[1].reason, "supplier 2");
        let inserts = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.starts_with("INSERT INTO order_events"))
            .count();
        assert_eq!(inserts, 1, "prepared once for both orders");
    }
}
