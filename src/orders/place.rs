//! Placing an order: reserve (idempotency key, prices, stock and deal quantities, all in
//! one write transaction), pay through the gateway outside any transaction, then settle
//! (record the payment; paid orders are routed to their suppliers, failed ones give
//! their stock back). No SKU is oversold: every unit is taken with a conditional UPDATE.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::error::OrderError;
use super::links;
use super::model::{self, Actor, Line, NewEvent, Order, Subject, SupplierOrder, record_events};
use super::payments::{CardNumber, Charge, Method, PayError, gateway_for};
use super::state::{Mode, OrderStatus};
use super::{money, routing};
use crate::db::schema::{
    deal_purchases, flash_deals, idempotency_keys, order_lines, orders, products, showcase_items,
    skus,
};
use crate::db::{CachedExt, DbConn, InsertMany, on_backend, write_tx, writer};

pub const MAX_LINES: usize = 20;
pub const MAX_QUANTITY: i64 = 99;
/// Tries of a payment that failed with a retryable error.
pub const PAYMENT_TRIES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub sku_id: i64,
    /// As sent; checked here, so 0, negative and huge numbers get a line-numbered answer.
    pub quantity: i64,
    pub deal_id: Option<i64>,
}

/// The buyer's details, already checked by `checkout::parse_buyer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    pub name: String,
    pub phone: String,
    pub address: String,
    /// Digits of the phone number: who counts as "one buyer" for deal limits.
    pub key: String,
    /// The audience segment (`f25-34`, ...) when known, for platform statistics.
    pub segment: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub shop_user_id: i64,
    pub mode: Mode,
    pub idempotency_key: String,
    pub lines: Vec<NewLine>,
    pub buyer: Buyer,
    pub method: Method,
    pub card: Option<CardNumber>,
    pub show_id: Option<i64>,
    /// The creator's platform fee in basis points.
    pub fee_bp: i32,
}

impl NewOrder {
    /// The SKUs of its lines: the rows a placement locks (see `Writer::write_deferring`).
    pub fn skus(&self) -> Vec<i64> {
        skus_of(&self.lines)
    }
}

/// The SKUs of `lines`.
pub fn skus_of(lines: &[NewLine]) -> Vec<i64> {
    lines.iter().map(|l| l.sku_id).collect()
}

/// An Idempotency-Key as sent: 8 to 100 visible ASCII characters.
pub fn parse_key(raw: Option<&str>) -> Result<String, OrderError> {
    let key = raw.map(str::trim).unwrap_or("");
    if (8..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(key.to_string())
    } else {
        Err(OrderError::MissingKey)
    }
}

/// What identifies "the same request" under one key: everything but the key itself.
pub fn request_hash(order: &NewOrder) -> String {
    let mut text = format!(
        "{}|{}|{}|{}|{}|{:?}|{:?}",
        order.shop_user_id,
        order.mode.as_str(),
        order.buyer.name,
        order.buyer.phone,
        order.buyer.address,
        order.method.as_str(),
        order.card.as_ref().map(|c| c.last4().to_string()),
    );
    for line in &order.lines {
        text.push_str(&format!(
            "|{}x{}@{:?}",
            line.sku_id, line.quantity, line.deal_id
        ));
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[derive(Debug, Clone)]
pub enum Reserved {
    /// A new order, waiting for its payment, and its lines.
    Fresh(Order, Vec<Line>),
    /// The key was seen before with the same request: that order, as it is now.
    Replay(Order),
}

/// Merges lines of the same SKU and deal, checks quantities and sorts by SKU, so every
/// transaction takes row locks in the same order (no deadlocks on PostgreSQL).
fn normalise(lines: &[NewLine]) -> Result<Vec<(usize, NewLine)>, OrderError> {
    if lines.is_empty() {
        return Err(OrderError::EmptyCart);
    }
    if lines.len() > MAX_LINES {
        return Err(OrderError::TooManyLines { max: MAX_LINES });
    }
    let mut merged: BTreeMap<(i64, Option<i64>), (usize, NewLine)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(OrderError::Quantity {
                line: n,
                max: MAX_QUANTITY,
            });
        }
        let entry = merged.entry((line.sku_id, line.deal_id)).or_insert((
            n,
            NewLine {
                quantity: 0,
                ..line.clone()
            },
        ));
        entry.1.quantity += line.quantity;
        if entry.1.quantity > MAX_QUANTITY {
            return Err(OrderError::Quantity {
                line: n,
                max: MAX_QUANTITY,
            });
        }
    }
    Ok(merged.into_values().collect())
}

fn sku_label(code: &str, size: Option<&str>, colour: Option<&str>) -> String {
    let parts: Vec<&str> = [size, colour]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        code.to_string()
    } else {
        parts.join(" / ")
    }
}

/// Step one: the idempotency key, the prices and the stock, in one transaction.
pub fn reserve(
    conn: &mut DbConn,
    new: &NewOrder,
    keys: &links::LinkKey,
    now: NaiveDateTime,
) -> Result<Reserved, OrderError> {
    write_tx(conn, |conn| reserve_in(conn, new, keys, now))
}

/// What placement reads of a SKU in one statement: the product it belongs to, its
/// supplier, its label parts, the product's title, cost and commission, and this shop's
/// price (none if the shop does not sell the product).
type SkuFacts = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i32,
    Option<i64>,
);

/// What [`take_in`] took for a new order: its lines with their prices (not stored yet),
/// its sums and the reference it will have.
#[derive(Debug, Clone)]
pub struct Taken {
    pub lines: Vec<Line>,
    pub total_fen: i64,
    pub commission_fen: i64,
    pub earnings_fen: i64,
    pub reference: String,
}

/// The first half of a placement: the idempotency key, then each line's price, stock and
/// deal units, taken with conditional updates. Nothing of the order is stored yet.
pub enum Took {
    Replay(Box<Order>),
    /// The key's order was placed earlier in this write batch and is not written yet
    /// (see `deferred`): that order, as its own answer gave it.
    Pending(Box<(Settled, Option<PayError>)>),
    Fresh(Taken),
}

/// [`reserve`] inside a transaction the caller holds (a job of the writer). Few
/// statements, each on the backend's own connection: this is the hot path of a sale.
pub fn reserve_in(
    conn: &mut DbConn,
    new: &NewOrder,
    keys: &links::LinkKey,
    now: NaiveDateTime,
) -> Result<Reserved, OrderError> {
    let taken = match take_in(conn, new, now)? {
        Took::Replay(order) => return Ok(Reserved::Replay(*order)),
        // Only a deferring job leaves orders unwritten, and this is not one.
        Took::Pending(_) => return Err(OrderError::NotFound),
        Took::Fresh(taken) => taken,
    };
    let (order, stored) = store_pending(conn, new, keys, taken, now)?;
    Ok(Reserved::Fresh(order, stored))
}

/// Stores a taken order as waiting for its payment: the order, its lines, its key's link
/// and the "placed" event.
fn store_pending(
    conn: &mut DbConn,
    new: &NewOrder,
    keys: &links::LinkKey,
    taken: Taken,
    now: NaiveDateTime,
) -> Result<(Order, Vec<Line>), OrderError> {
    let order = store_order(conn, new, keys, &taken, OrderStatus::PendingPayment, 0, now)?;
    let stored = store_lines(conn, order.id, &taken.lines)?;
    link_key(conn, new, order.id)?;
    record_events(conn, order.id, &order.mode, &[placed_event()], now)?;
    Ok((order, stored))
}

/// The first half of a placement; see [`Took`].
pub fn take_in(conn: &mut DbConn, new: &NewOrder, now: NaiveDateTime) -> Result<Took, OrderError> {
    let lines = normalise(&new.lines)?;
    let hash = request_hash(new);
    // The usual order on PostgreSQL, one plain line, takes its key and its stock in one
    // statement that writes only when both succeed, so it needs no savepoint (see
    // `Writer::write_deferring_lazy`). Everything else gets its savepoint first.
    let mut first_tried: Option<Option<SkuFacts>> = None;
    let quick = match lines.as_slice() {
        [(_, line)] if line.deal_id.is_none() => key_with_listed(conn, new, &hash, line, now)?,
        _ => None,
    };
    let fresh = match quick {
        Some(KeyListed::Taken(facts)) => {
            writer::wrote_unguarded();
            first_tried = Some(Some(*facts));
            true
        }
        Some(KeyListed::Seen) => false,
        Some(KeyListed::NotTaken) | None => {
            writer::savepoint(conn)?;
            if quick.is_some() {
                // The line could not be taken in one step: the steps say why.
                first_tried = Some(None);
            }
            // A concurrent twin waits here for this transaction, then sees the key.
            let inserted: Option<i64> = on_backend!(conn, |c| {
                diesel::insert_into(idempotency_keys::table)
                    .values((
                        idempotency_keys::shop_user_id.eq(new.shop_user_id),
                        idempotency_keys::key.eq(&new.idempotency_key),
                        idempotency_keys::request_hash.eq(&hash),
                        idempotency_keys::created_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .returning(idempotency_keys::shop_user_id)
                    .cached()
                    .get_result(c)
                    .optional()
            })?;
            inserted.is_some()
        }
    };
    if !fresh {
        let (stored_hash, order_id): (String, Option<i64>) = idempotency_keys::table
            .find((new.shop_user_id, &new.idempotency_key))
            .select((idempotency_keys::request_hash, idempotency_keys::order_id))
            .first(conn)?;
        if stored_hash != hash {
            return Err(OrderError::KeyReused);
        }
        if order_id.is_none()
            && let Some(pending) = super::deferred::pending(new.shop_user_id, &new.idempotency_key)
        {
            return Ok(Took::Pending(Box::new(pending)));
        }
        let order = match order_id {
            Some(id) => model::find_order(conn, id)?,
            None => None,
        };
        return order
            .map(|o| Took::Replay(Box::new(o)))
            .ok_or(OrderError::NotFound);
    }

    let mut taken: Vec<Line> = Vec::with_capacity(lines.len());
    for (n, line) in &lines {
        let n = *n;
        let q = line.quantity as i32;
        let listed = match first_tried.take() {
            Some(tried) => tried,
            None => take_listed(conn, new.shop_user_id, line, q)?,
        };
        let (facts, price) = match listed {
            Some(facts) => {
                let price = facts.8.unwrap_or_default();
                (facts, price)
            }
            None => take_line(conn, new, n, line, q, now)?,
        };
        let (product_id, supplier_id, sku_code, size, colour, title, cost, bp, _) = facts;
        taken.push(Line {
            id: 0,
            order_id: 0,
            supplier_order_id: None,
            product_id,
            sku_id: line.sku_id,
            supplier_id,
            deal_id: line.deal_id,
            title,
            sku_label: sku_label(&sku_code, size.as_deref(), colour.as_deref()),
            quantity: q,
            unit_price_fen: price,
            unit_cost_fen: cost,
            commission_bp: bp,
            refunded_fen: 0,
            returned_quantity: 0,
        });
    }

    let total_fen: i64 = taken.iter().map(Line::total_fen).sum();
    let (commission_fen, earnings_fen) = money::kept_earnings(&taken, new.fee_bp);
    Ok(Took::Fresh(Taken {
        lines: taken,
        total_fen,
        commission_fen,
        earnings_fen,
        reference: links::new_reference(),
    }))
}

/// One statement for the usual line on PostgreSQL: a SKU of this shop's showcase, no
/// deal, in stock. It takes the stock and reads the SKU's facts with the shop's price
/// together. `None` when any of that does not hold (or on SQLite, whose `UPDATE .. FROM`
/// cannot return the joined tables): [`take_line`] then takes it, or says why not.
fn take_listed(
    conn: &mut DbConn,
    shop_user_id: i64,
    line: &NewLine,
    q: i32,
) -> Result<Option<SkuFacts>, OrderError> {
    use diesel::sql_types::{BigInt, Integer};
    let DbConn::Postgres(c) = conn else {
        return Ok(None);
    };
    if line.deal_id.is_some() {
        return Ok(None);
    }
    let row: Option<ListedRow> = diesel::sql_query(
        "UPDATE skus SET stock = skus.stock - $1 \
         FROM products p JOIN showcase_items si ON si.product_id = p.id AND si.user_id = $2 \
         WHERE skus.id = $3 AND p.id = skus.product_id AND skus.stock >= $1 \
         RETURNING skus.product_id, skus.supplier_id, skus.sku_code, skus.size, skus.colour, \
         p.title, p.cost_fen, p.commission_bp, si.price_fen",
    )
    .bind::<Integer, _>(q)
    .bind::<BigInt, _>(shop_user_id)
    .bind::<BigInt, _>(line.sku_id)
    .cached()
    .get_result(c)
    .optional()?;
    Ok(row.map(ListedRow::facts))
}

/// What [`key_with_listed`] did.
enum KeyListed {
    /// The key is new, now stored, and the line's stock taken: its facts.
    Taken(Box<SkuFacts>),
    /// The key was stored before (by this batch or a committed transaction): nothing
    /// was written.
    Seen,
    /// The line could not be taken in one step (not in the showcase, unknown, short of
    /// stock): nothing was written.
    NotTaken,
}

/// The idempotency key and an order's one plain line (no deal) in one statement, on
/// PostgreSQL; `None` on SQLite. It writes nothing unless both succeed: the stock is
/// taken only if the key is unseen, and the key stored only if the stock was taken. A
/// twin committed by another instance between the two is the one case that takes stock
/// without the key; the stock is then given back before returning [`KeyListed::Seen`].
fn key_with_listed(
    conn: &mut DbConn,
    new: &NewOrder,
    hash: &str,
    line: &NewLine,
    now: NaiveDateTime,
) -> Result<Option<KeyListed>, OrderError> {
    use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
    let DbConn::Postgres(c) = conn else {
        return Ok(None);
    };
    let q = line.quantity as i32;
    let row: KeyListedRow = diesel::sql_query(
        "WITH u AS (UPDATE skus SET stock = skus.stock - $5 \
         FROM products p JOIN showcase_items si ON si.product_id = p.id AND si.user_id = $1 \
         WHERE skus.id = $6 AND p.id = skus.product_id AND skus.stock >= $5 \
         AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE shop_user_id = $1 AND key = $2) \
         RETURNING skus.product_id, skus.supplier_id, skus.sku_code, skus.size, skus.colour, \
         p.title, p.cost_fen, p.commission_bp, si.price_fen), \
         k AS (INSERT INTO idempotency_keys (shop_user_id, key, request_hash, created_at) \
         SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM u) \
         ON CONFLICT DO NOTHING RETURNING shop_user_id) \
         SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE shop_user_id = $1 AND key = $2) \
         AS seen, (SELECT count(*) FROM k) AS inserted, u.* \
         FROM (SELECT 1) AS one LEFT JOIN u ON true",
    )
    .bind::<BigInt, _>(new.shop_user_id)
    .bind::<Text, _>(&new.idempotency_key)
    .bind::<Text, _>(hash)
    .bind::<Timestamp, _>(now)
    .bind::<Integer, _>(q)
    .bind::<BigInt, _>(line.sku_id)
    .cached()
    .get_result(c)?;
    let (seen, inserted) = (row.seen, row.inserted);
    let facts = match row {
        KeyListedRow {
            product_id: Some(product_id),
            supplier_id: Some(supplier_id),
            sku_code: Some(sku_code),
            size,
            colour,
            title: Some(title),
            cost_fen: Some(cost_fen),
            commission_bp: Some(commission_bp),
            price_fen: Some(price_fen),
            ..
        } => Some(
            ListedRow {
                product_id,
                supplier_id,
                sku_code,
                size,
                colour,
                title,
                cost_fen,
                commission_bp,
                price_fen,
            }
            .facts(),
        ),
        _ => None,
    };
    Ok(Some(match facts {
        Some(facts) if inserted > 0 => KeyListed::Taken(Box::new(facts)),
        Some(_) => {
            // The key's twin committed while this statement waited for it.
            diesel::update(skus::table.find(line.sku_id))
                .set(skus::stock.eq(skus::stock + q))
                .execute(c)?;
            KeyListed::Seen
        }
        None if seen => KeyListed::Seen,
        None => KeyListed::NotTaken,
    }))
}

/// What [`key_with_listed`] returns: one row, the line's columns null when its stock was
/// not taken.
#[derive(diesel::QueryableByName)]
struct KeyListedRow {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    seen: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    inserted: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    product_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    supplier_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sku_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    size: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    colour: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    title: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    cost_fen: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    commission_bp: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    price_fen: Option<i64>,
}

/// What [`take_listed`] returns.
#[derive(diesel::QueryableByName)]
struct ListedRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    product_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    supplier_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sku_code: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    size: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    colour: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    title: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    cost_fen: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    commission_bp: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    price_fen: i64,
}

impl ListedRow {
    fn facts(self) -> SkuFacts {
        (
            self.product_id,
            self.supplier_id,
            self.sku_code,
            self.size,
            self.colour,
            self.title,
            self.cost_fen,
            self.commission_bp,
            Some(self.price_fen),
        )
    }
}

/// Takes line `n` step by step: the SKU's facts and the shop's price, the deal's units
/// and price if the line names one, then the stock. Each refusal says which step failed.
fn take_line(
    conn: &mut DbConn,
    new: &NewOrder,
    n: usize,
    line: &NewLine,
    q: i32,
    now: NaiveDateTime,
) -> Result<(SkuFacts, i64), OrderError> {
    let facts: Option<SkuFacts> = on_backend!(conn, |c| {
        skus::table
            .inner_join(products::table)
            .left_join(
                showcase_items::table.on(showcase_items::product_id
                    .eq(products::id)
                    .and(showcase_items::user_id.eq(new.shop_user_id))),
            )
            .filter(skus::id.eq(line.sku_id))
            .select((
                skus::product_id,
                skus::supplier_id,
                skus::sku_code,
                skus::size,
                skus::colour,
                products::title,
                products::cost_fen,
                products::commission_bp,
                showcase_items::price_fen.nullable(),
            ))
            // No `.first()`: its bound LIMIT makes SQLite prepare the statement again
            // on every call (the planner looks at the value); the id is unique anyway.
            .cached()
            .get_result(c)
            .optional()
    })?;
    let Some(facts) = facts else {
        return Err(OrderError::UnknownSku { line: n });
    };
    // The server's price: the showcase's, or the running deal's.
    let shop_price = facts.8.ok_or(OrderError::NotInShop { line: n })?;
    let price = match line.deal_id {
        Some(deal_id) => take_deal(conn, new, n, deal_id, line.sku_id, q, now)?,
        None => shop_price,
    };
    let took = on_backend!(conn, |c| {
        diesel::update(
            skus::table
                .filter(skus::id.eq(line.sku_id))
                .filter(skus::stock.ge(q)),
        )
        .set(skus::stock.eq(skus::stock - q))
        .returning(skus::stock)
        .cached()
        .get_result::<i32>(c)
        .optional()
    })?;
    if took.is_none() {
        let left: i32 = skus::table
            .find(line.sku_id)
            .select(skus::stock)
            .first(conn)?;
        return Err(OrderError::SoldOut {
            line: n,
            left: left.max(0) as i64,
        });
    }
    Ok((facts, price))
}

/// The order of `taken` in `status` with `paid_fen` paid, as it will be stored (with
/// `id`, or 0 when the database gives it).
pub fn new_order(
    new: &NewOrder,
    keys: &links::LinkKey,
    taken: &Taken,
    id: i64,
    status: OrderStatus,
    paid_fen: i64,
    now: NaiveDateTime,
) -> Order {
    Order {
        id,
        reference: taken.reference.clone(),
        access_hash: links::hash(&keys.token(&taken.reference)),
        shop_user_id: new.shop_user_id,
        mode: new.mode.as_str().to_string(),
        status: status.as_str().to_string(),
        buyer_name: new.buyer.name.clone(),
        buyer_phone: new.buyer.phone.clone(),
        buyer_address: new.buyer.address.clone(),
        buyer_key: new.buyer.key.clone(),
        buyer_segment: new.buyer.segment.clone(),
        payment_method: new.method.as_str().to_string(),
        card_last4: new.card.as_ref().map(|c| c.last4().to_string()),
        currency: "CNY".into(),
        total_fen: taken.total_fen,
        paid_fen,
        refunded_fen: 0,
        commission_fen: taken.commission_fen,
        earnings_fen: taken.earnings_fen,
        fee_bp: new.fee_bp,
        show_id: new.show_id,
        created_at: now,
        updated_at: now,
    }
}

/// Inserts the order of `taken` in `status` with `paid_fen` paid.
fn store_order(
    conn: &mut DbConn,
    new: &NewOrder,
    keys: &links::LinkKey,
    taken: &Taken,
    status: OrderStatus,
    paid_fen: i64,
    now: NaiveDateTime,
) -> Result<Order, OrderError> {
    let o = new_order(new, keys, taken, 0, status, paid_fen, now);
    let order: Order = on_backend!(conn, |c| {
        diesel::insert_into(orders::table)
            .values((
                orders::reference.eq(&o.reference),
                orders::access_hash.eq(&o.access_hash),
                orders::shop_user_id.eq(o.shop_user_id),
                orders::mode.eq(&o.mode),
                orders::status.eq(&o.status),
                orders::buyer_name.eq(&o.buyer_name),
                orders::buyer_phone.eq(&o.buyer_phone),
                orders::buyer_address.eq(&o.buyer_address),
                orders::buyer_key.eq(&o.buyer_key),
                orders::buyer_segment.eq(&o.buyer_segment),
                orders::payment_method.eq(&o.payment_method),
                orders::card_last4.eq(&o.card_last4),
                orders::currency.eq(&o.currency),
                orders::total_fen.eq(o.total_fen),
                orders::paid_fen.eq(o.paid_fen),
                orders::refunded_fen.eq(o.refunded_fen),
                orders::commission_fen.eq(o.commission_fen),
                orders::earnings_fen.eq(o.earnings_fen),
                orders::fee_bp.eq(o.fee_bp),
                orders::show_id.eq(o.show_id),
                orders::created_at.eq(o.created_at),
                orders::updated_at.eq(o.updated_at),
            ))
            .returning(Order::as_returning())
            .cached()
            .get_result(c)
    })?;
    Ok(order)
}

/// Inserts an order's lines (with their supplier order when it is already routed).
fn store_lines(conn: &mut DbConn, order_id: i64, lines: &[Line]) -> Result<Vec<Line>, OrderError> {
    let mut stored = Vec::with_capacity(lines.len());
    for line in lines {
        let row: Line = on_backend!(conn, |c| {
            diesel::insert_into(order_lines::table)
                .values((
                    order_lines::order_id.eq(order_id),
                    order_lines::supplier_order_id.eq(line.supplier_order_id),
                    order_lines::product_id.eq(line.product_id),
                    order_lines::sku_id.eq(line.sku_id),
                    order_lines::supplier_id.eq(line.supplier_id),
                    order_lines::deal_id.eq(line.deal_id),
                    order_lines::title.eq(&line.title),
                    order_lines::sku_label.eq(&line.sku_label),
                    order_lines::quantity.eq(line.quantity),
                    order_lines::unit_price_fen.eq(line.unit_price_fen),
                    order_lines::unit_cost_fen.eq(line.unit_cost_fen),
                    order_lines::commission_bp.eq(line.commission_bp),
                    order_lines::refunded_fen.eq(0),
                    order_lines::returned_quantity.eq(0),
                ))
                .returning(Line::as_returning())
                .cached()
                .get_result(c)
        })?;
        stored.push(row);
    }
    Ok(stored)
}

/// Points the idempotency key at its order, so a replay finds it.
fn link_key(conn: &mut DbConn, new: &NewOrder, order_id: i64) -> Result<(), OrderError> {
    on_backend!(conn, |c| {
        diesel::update(idempotency_keys::table.find((new.shop_user_id, &new.idempotency_key)))
            .set(idempotency_keys::order_id.eq(order_id))
            .returning(idempotency_keys::shop_user_id)
            .cached()
            .get_result::<i64>(c)
    })?;
    Ok(())
}

/// Takes `q` units of a running flash deal for this buyer and returns the deal's price.
/// One conditional update takes the units if the deal is this shop's, for this SKU,
/// running and not sold out; only a refusal reads the deal to say why.
fn take_deal(
    conn: &mut DbConn,
    new: &NewOrder,
    n: usize,
    deal_id: i64,
    sku_id: i64,
    q: i32,
    now: NaiveDateTime,
) -> Result<i64, OrderError> {
    let took: Option<(i64, i32)> = on_backend!(conn, |c| {
        diesel::update(
            flash_deals::table
                .filter(flash_deals::id.eq(deal_id))
                .filter(flash_deals::shop_user_id.eq(new.shop_user_id))
                .filter(flash_deals::sku_id.eq(sku_id))
                .filter(flash_deals::starts_at.le(now))
                .filter(flash_deals::ends_at.gt(now))
                .filter((flash_deals::sold + q).le(flash_deals::quantity)),
        )
        .set(flash_deals::sold.eq(flash_deals::sold + q))
        .returning((flash_deals::price_fen, flash_deals::per_buyer_limit))
        .cached()
        .get_result(c)
        .optional()
    })?;
    let Some((price, limit)) = took else {
        let deal = model::find_deal(conn, deal_id)?
            .filter(|d| d.shop_user_id == new.shop_user_id && d.sku_id == sku_id)
            .ok_or(OrderError::UnknownDeal { line: n })?;
        if !deal.is_running(now) {
            return Err(OrderError::DealEnded { line: n });
        }
        return Err(OrderError::DealSoldOut {
            line: n,
            left: deal.left() as i64,
        });
    };
    let bought: i32 = on_backend!(conn, |c| {
        diesel::insert_into(deal_purchases::table)
            .values((
                deal_purchases::deal_id.eq(deal_id),
                deal_purchases::buyer_key.eq(&new.buyer.key),
                deal_purchases::quantity.eq(q),
            ))
            .on_conflict((deal_purchases::deal_id, deal_purchases::buyer_key))
            .do_update()
            .set(deal_purchases::quantity.eq(deal_purchases::quantity + q))
            .returning(deal_purchases::quantity)
            .cached()
            .get_result(c)
    })?;
    if bought > limit {
        return Err(OrderError::DealLimit {
            line: n,
            limit: limit as i64,
        });
    }
    Ok(price)
}

/// The "placed" event of a new order.
pub fn placed_event() -> NewEvent {
    NewEvent {
        subject: Subject::Order,
        from: None,
        to: OrderStatus::PendingPayment.as_str(),
        actor: Actor::Buyer,
        reason: "placed".into(),
    }
}

/// A paid order's move from `from` to paid (by the gateway) and on to routed (by the
/// system), checked against the state machine: the routed status and the two events
/// that go around routing's own.
pub fn paid_and_routed(
    from: OrderStatus,
    outcome: &PaymentOutcome,
    total_fen: i64,
) -> Result<(OrderStatus, NewEvent, NewEvent), OrderError> {
    let paid = from.check(OrderStatus::Paid)?;
    let routed = paid.check(OrderStatus::Routed)?;
    Ok((
        routed,
        NewEvent {
            subject: Subject::Order,
            from: Some(from.as_str()),
            to: paid.as_str(),
            actor: Actor::Gateway,
            reason: format!("{} {}", outcome.gateway, money::fen(total_fen)),
        },
        NewEvent {
            subject: Subject::Order,
            from: Some(paid.as_str()),
            to: routed.as_str(),
            actor: Actor::System,
            reason: "routed".into(),
        },
    ))
}

/// A refused payment's move from `from` to payment failed, and its event.
pub fn payment_failed(
    from: OrderStatus,
    declined: PayError,
) -> Result<(OrderStatus, NewEvent), OrderError> {
    let next = from.check(OrderStatus::PaymentFailed)?;
    Ok((
        next,
        NewEvent {
            subject: Subject::Order,
            from: Some(from.as_str()),
            to: next.as_str(),
            actor: Actor::Gateway,
            reason: declined.code().into(),
        },
    ))
}

/// One call to the gateway and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub kind: &'static str,
    pub amount_fen: i64,
    pub reference: Option<String>,
    pub error: Option<PayError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOutcome {
    pub gateway: &'static str,
    pub attempts: Vec<Attempt>,
    pub result: Result<(), PayError>,
}

/// Authorises and captures; retries a retryable failure; voids an authorisation whose
/// capture failed. No database work: a real gateway is a network call.
pub fn pay(order: &Order, method: Method, card: Option<&CardNumber>) -> PaymentOutcome {
    pay_for(&order.reference, order.total_fen, method, card)
}

/// [`pay`] for the order with this reference and total, stored or not.
pub fn pay_for(
    reference: &str,
    total_fen: i64,
    method: Method,
    card: Option<&CardNumber>,
) -> PaymentOutcome {
    let gateway = gateway_for(method);
    let charge = Charge {
        reference,
        amount_fen: total_fen,
        card,
    };
    let mut attempts = Vec::new();
    let mut auth = Err(PayError::ProcessingError);
    for _ in 0..PAYMENT_TRIES {
        auth = gateway.authorize(&charge);
        attempts.push(Attempt {
            kind: "authorize",
            amount_fen: total_fen,
            reference: auth.as_ref().ok().map(|r| r.reference.clone()),
            error: auth.as_ref().err().copied(),
        });
        match &auth {
            Err(e) if e.retryable() => continue,
            _ => break,
        }
    }
    let auth = match auth {
        Ok(auth) => auth,
        Err(e) => {
            return PaymentOutcome {
                gateway: gateway.name(),
                attempts,
                result: Err(e),
            };
        }
    };
    let capture = gateway.capture(&charge, &auth);
    attempts.push(Attempt {
        kind: "capture",
        amount_fen: total_fen,
        reference: capture.as_ref().ok().map(|r| r.reference.clone()),
        error: capture.as_ref().err().copied(),
    });
    if let Err(e) = capture {
        let void = gateway.void(&charge, &auth);
        attempts.push(Attempt {
            kind: "void",
            amount_fen: total_fen,
            reference: void.as_ref().ok().map(|r| r.reference.clone()),
            error: void.as_ref().err().copied(),
        });
        return PaymentOutcome {
            gateway: gateway.name(),
            attempts,
            result: Err(e),
        };
    }
    PaymentOutcome {
        gateway: gateway.name(),
        attempts,
        result: Ok(()),
    }
}

/// An order after its payment was recorded: the order, its lines and its supplier parts.
pub type Settled = (Order, Vec<Line>, Vec<SupplierOrder>);

/// Step three: records the payment; a paid order is routed, a failed one gives back its
/// stock. Reads the order again: another transaction may have changed it while the
/// gateway was called.
pub fn settle(
    conn: &mut DbConn,
    order_id: i64,
    outcome: &PaymentOutcome,
    now: NaiveDateTime,
) -> Result<Settled, OrderError> {
    write_tx(conn, |conn| {
        let order = model::find_order(conn, order_id)?.ok_or(OrderError::NotFound)?;
        let lines = model::lines(conn, order.id)?;
        settle_in(conn, order, lines, outcome, now)
    })
}

/// [`settle`] inside the caller's transaction, on the order and lines as that
/// transaction last wrote them (an in-process gateway: reserve, pay and settle are one
/// job). The answer is built from what was written, not read back.
pub fn settle_in(
    conn: &mut DbConn,
    mut order: Order,
    mut lines: Vec<Line>,
    outcome: &PaymentOutcome,
    now: NaiveDateTime,
) -> Result<Settled, OrderError> {
    let status = OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment);
    record_payments(conn, &order, outcome, now)?;
    match outcome.result {
        Ok(()) => {
            let (routed, paid_event, routed_event) =
                paid_and_routed(status, outcome, order.total_fen)?;
            let mut events = vec![paid_event];
            // The product statistics are counted when the outbox delivers each supplier
            // order (once, guarded by the inbox), not here: a placement's transaction
            // then touches no row shared by every order of a product.
            let parts = routing::route(conn, &order, &mut lines, true, now, &mut events)?;
            events.push(routed_event);
            on_backend!(conn, |c| {
                diesel::update(orders::table.find(order.id))
                    .set((
                        orders::status.eq(routed.as_str()),
                        orders::paid_fen.eq(order.total_fen),
                        orders::updated_at.eq(now),
                    ))
                    .returning(orders::id)
                    .cached()
                    .get_result::<i64>(c)
            })?;
            record_events(conn, order.id, &order.mode, &events, now)?;
            order.status = routed.as_str().to_string();
            order.paid_fen = order.total_fen;
            order.updated_at = now;
            Ok((order, lines, parts))
        }
        Err(e) => {
            let (next, failed) = payment_failed(status, e)?;
            on_backend!(conn, |c| {
                diesel::update(orders::table.find(order.id))
                    .set((orders::status.eq(next.as_str()), orders::updated_at.eq(now)))
                    .returning(orders::id)
                    .cached()
                    .get_result::<i64>(c)
            })?;
            for line in &lines {
                routing::release(conn, line, &order.buyer_key, true)?;
            }
            record_events(conn, order.id, &order.mode, &[failed], now)?;
            order.status = next.as_str().to_string();
            order.updated_at = now;
            Ok((order, lines, Vec::new()))
        }
    }
}

/// A call to the gateway for an order, as one row of a multi-row insert.
pub struct PaymentRow<'a> {
    pub order_id: i64,
    pub mode: &'a str,
    pub gateway: &'static str,
    pub attempt: &'a Attempt,
    pub at: NaiveDateTime,
}

/// Inserts gateway calls of one or several orders in one statement.
pub fn insert_payments(conn: &mut DbConn, rows: &[PaymentRow]) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
    const COLUMNS: [&str; 9] = [
        "order_id",
        "mode",
        "gateway",
        "kind",
        "amount_fen",
        "succeeded",
        "reference",
        "error_code",
        "created_at",
    ];
    on_backend!(conn, |c| {
        c.insert_many("payments", &COLUMNS, "RETURNING id", rows, |q, r| {
            q.bind::<BigInt, _>(r.order_id)
                .bind::<Text, _>(r.mode)
                .bind::<Text, _>(r.gateway)
                .bind::<Text, _>(r.attempt.kind)
                .bind::<BigInt, _>(r.attempt.amount_fen)
                .bind::<Bool, _>(r.attempt.error.is_none())
                .bind::<Nullable<Text>, _>(r.attempt.reference.as_deref())
                .bind::<Nullable<Text>, _>(r.attempt.error.map(PayError::code))
                .bind::<Timestamp, _>(r.at)
        })
    })?;
    Ok(())
}

/// The rows of an order's calls to the gateway.
pub fn payment_rows<'a>(
    order: &'a Order,
    outcome: &'a PaymentOutcome,
    at: NaiveDateTime,
) -> impl Iterator<Item = PaymentRow<'a>> {
    outcome.attempts.iter().map(move |attempt| PaymentRow {
        order_id: order.id,
        mode: &order.mode,
        gateway: outcome.gateway,
        attempt,
        at,
    })
}

/// Records each call to the gateway, in one statement.
fn record_payments(
    conn: &mut DbConn,
    order: &Order,
    outcome: &PaymentOutcome,
    now: NaiveDateTime,
) -> Result<(), OrderError> {
    if outcome.attempts.is_empty() {
        return Ok(());
    }
    let rows: Vec<PaymentRow> = payment_rows(order, outcome, now).collect();
    insert_payments(conn, &rows)?;
    Ok(())
}

/// What a placement with an in-process gateway gives: a replay's order, or the new
/// order as stored with its lines, parts and the payment's refusal if any.
pub enum InProcess {
    Replay(Order),
    /// A replay of an order placed earlier in the same write batch (see [`Took::Pending`]).
    Pending(Box<(Settled, Option<PayError>)>),
    Placed(Settled, Option<PayError>),
}

/// Reserve, pay and settle as one job, for a gateway that runs in the process (sandbox
/// cards, cash on delivery). The gateway is asked before anything of the order is
/// stored, so a paid order is written once, already routed: no status update and no
/// second pass over its lines. A refused payment is stored as waiting and then settled
/// as failed, which gives its stock back, exactly as the two-step path does.
pub fn place_in_process(
    conn: &mut DbConn,
    new: &NewOrder,
    keys: &links::LinkKey,
    now: NaiveDateTime,
) -> Result<InProcess, OrderError> {
    let taken = match take_in(conn, new, now)? {
        Took::Replay(order) => return Ok(InProcess::Replay(*order)),
        Took::Pending(pending) => return Ok(InProcess::Pending(pending)),
        Took::Fresh(taken) => taken,
    };
    let outcome = pay_for(
        &taken.reference,
        taken.total_fen,
        new.method,
        new.card.as_ref(),
    );
    if crate::db::writer::may_defer() {
        let (settled, declined) = super::deferred::place(conn, new, keys, taken, outcome, now)?;
        return Ok(InProcess::Placed(settled, declined));
    }
    if let Err(declined) = outcome.result {
        let (order, lines) = store_pending(conn, new, keys, taken, now)?;
        let settled = settle_in(conn, order, lines, &outcome, now)?;
        return Ok(InProcess::Placed(settled, Some(declined)));
    }
    let (routed, paid_event, routed_event) =
        paid_and_routed(OrderStatus::PendingPayment, &outcome, taken.total_fen)?;
    let order = store_order(conn, new, keys, &taken, routed, taken.total_fen, now)?;
    let mut events = vec![placed_event(), paid_event];
    let mut lines = taken.lines;
    let parts = routing::route(conn, &order, &mut lines, false, now, &mut events)?;
    events.push(routed_event);
    let lines = store_lines(conn, order.id, &lines)?;
    link_key(conn, new, order.id)?;
    record_payments(conn, &order, &outcome, now)?;
    record_events(conn, order.id, &order.mode, &events, now)?;
    Ok(InProcess::Placed((order, lines, parts), None))
}
