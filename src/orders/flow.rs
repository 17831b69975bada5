//! Everything after placement: suppliers acknowledge, reject, ship and deliver; creators
//! cancel before shipping; buyers ask for returns, suppliers decide and receive them;
//! refunds go back through the gateway. Each function is one write transaction, checks
//! who is acting on whose record, and answers a repeated call with the same result.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::error::OrderError;
use super::model::{self, Actor, Case, Line, Order, Subject, SupplierOrder, record_event};
use super::payments::gateway_named;
use super::state::{CaseStatus, OrderStatus, SupplierStatus};
use super::{money, routing, stats};
use crate::accounts::domain::is_printable_text;
use crate::db::schema::{
    after_sales, case_notes, order_lines, orders, payments, supplier_orders, suppliers,
};
use crate::db::{DbConn, write_tx};

// ------------------------------------------------------------------ field checks

fn text_field(
    raw: &str,
    field: &'static str,
    min: usize,
    max: usize,
    key: &'static str,
) -> Result<String, OrderError> {
    let text = raw.trim();
    let n = text.chars().count();
    if n < min || n > max || !is_printable_text(text) {
        return Err(OrderError::Field { field, key });
    }
    Ok(text.to_string())
}

pub fn parse_reason(raw: &str) -> Result<String, OrderError> {
    text_field(raw, "reason", 3, 500, "orders.field.reason")
}

pub fn parse_carrier(raw: &str) -> Result<String, OrderError> {
    text_field(raw, "carrier", 2, 40, "orders.field.carrier")
}

pub fn parse_tracking(raw: &str) -> Result<String, OrderError> {
    let t = raw.trim();
    if (4..=40).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(t.to_ascii_uppercase())
    } else {
        Err(OrderError::Field {
            field: "tracking",
            key: "orders.field.tracking",
        })
    }
}

pub fn parse_note(raw: &str) -> Result<String, OrderError> {
    text_field(raw, "note", 1, 1000, "orders.field.note")
}

// ------------------------------------------------------------------ helpers

fn so_status(so: &SupplierOrder) -> SupplierStatus {
    SupplierStatus::parse(&so.status).unwrap_or(SupplierStatus::Routed)
}

fn order_status(order: &Order) -> OrderStatus {
    OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment)
}

/// The supplier order, if it is this supplier's.
fn supplier_order_for(
    conn: &mut DbConn,
    supplier_id: i64,
    so_id: i64,
) -> Result<(SupplierOrder, Order), OrderError> {
    let so = model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)?;
    if so.supplier_id != supplier_id {
        return Err(OrderError::NotYours);
    }
    let order = model::find_order(conn, so.order_id)?.ok_or(OrderError::NotFound)?;
    Ok((so, order))
}

fn set_so_status(
    conn: &mut DbConn,
    so: &SupplierOrder,
    order: &Order,
    to: SupplierStatus,
    actor: &Actor,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), OrderError> {
    let from = so_status(so);
    from.check(to)?;
    diesel::update(supplier_orders::table.find(so.id))
        .set((
            supplier_orders::status.eq(to.as_str()),
            supplier_orders::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_event(
        conn,
        order.id,
        &order.mode,
        Subject::SupplierOrder(so.id),
        Some(from.as_str()),
        to.as_str(),
        actor,
        reason,
        now,
    )?;
    Ok(())
}

/// Moves the order to the status its supplier orders now imply.
fn sync_order(
    conn: &mut DbConn,
    order_id: i64,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), OrderError> {
    let order = model::find_order(conn, order_id)?.ok_or(OrderError::NotFound)?;
    let parts: Vec<SupplierStatus> = model::supplier_orders_of(conn, order_id)?
        .iter()
        .map(so_status)
        .collect();
    let from = order_status(&order);
    let to = OrderStatus::from_parts(&parts);
    if to == from {
        return Ok(());
    }
    from.check(to)?;
    diesel::update(orders::table.find(order_id))
        .set((orders::status.eq(to.as_str()), orders::updated_at.eq(now)))
        .execute(conn)?;
    record_event(
        conn,
        order_id,
        &order.mode,
        Subject::Order,
        Some(from.as_str()),
        to.as_str(),
        actor,
        "",
        now,
    )?;
    Ok(())
}

/// Refunds `amount` through the gateway that took the money, marks `units` of each
/// line as refunded, and recomputes what the creator keeps.
fn refund(
    conn: &mut DbConn,
    order: &Order,
    parts: &[(&Line, i32, i64)],
    now: NaiveDateTime,
) -> Result<i64, OrderError> {
    let amount: i64 = parts.iter().map(|(_, _, fen)| fen).sum();
    if amount <= 0 {
        return Ok(0);
    }
    let captured: Option<(String, Option<String>)> = payments::table
        .filter(payments::order_id.eq(order.id))
        .filter(payments::kind.eq("capture"))
        .filter(payments::succeeded.eq(true))
        .select((payments::gateway, payments::reference))
        .first(conn)
        .optional()?;
    let (gateway_name, reference) = captured.ok_or(OrderError::Refund("no captured payment"))?;
    let gateway = gateway_named(&gateway_name).ok_or(OrderError::Refund("unknown gateway"))?;
    let seq: i64 = payments::table
        .filter(payments::order_id.eq(order.id))
        .filter(payments::kind.eq("refund"))
        .count()
        .get_result(conn)?;
    let reference = reference.unwrap_or_else(|| order.reference.clone());
    let receipt = gateway
        .refund(&reference, amount, seq as u32 + 1)
        .map_err(|e| OrderError::Refund(e.code()))?;
    diesel::insert_into(payments::table)
        .values((
            payments::order_id.eq(order.id),
            payments::mode.eq(&order.mode),
            payments::gateway.eq(&gateway_name),
            payments::kind.eq("refund"),
            payments::amount_fen.eq(amount),
            payments::succeeded.eq(true),
            payments::reference.eq(receipt.reference),
            payments::created_at.eq(now),
        ))
        .execute(conn)?;
    for (line, units, fen) in parts {
        diesel::update(order_lines::table.find(line.id))
            .set((
                order_lines::refunded_fen.eq(order_lines::refunded_fen + *fen),
                order_lines::returned_quantity.eq(order_lines::returned_quantity + *units),
            ))
            .execute(conn)?;
    }
    let lines = model::lines(conn, order.id)?;
    let (commission, earnings) = money::kept_earnings(&lines, order.fee_bp);
    diesel::update(orders::table.find(order.id))
        .set((
            orders::refunded_fen.eq(orders::refunded_fen + amount),
            orders::commission_fen.eq(commission),
            orders::earnings_fen.eq(earnings),
            orders::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(amount)
}

/// The units of a line not yet refunded, and their price.
fn unrefunded(line: &Line) -> (i32, i64) {
    let units = (line.quantity - line.returned_quantity).max(0);
    (units, line.total_fen() - line.refunded_fen)
}

// ------------------------------------------------------------------ suppliers

pub fn acknowledge(
    conn: &mut DbConn,
    supplier_id: i64,
    so_id: i64,
    now: NaiveDateTime,
) -> Result<SupplierOrder, OrderError> {
    write_tx(conn, |conn| {
        let (so, order) = supplier_order_for(conn, supplier_id, so_id)?;
        // Already acknowledged, or further along: a repeated call changes nothing.
        if !matches!(
            so_status(&so),
            SupplierStatus::Acknowledged | SupplierStatus::Shipped | SupplierStatus::Delivered
        ) {
            set_so_status(
                conn,
                &so,
                &order,
                SupplierStatus::Acknowledged,
                &Actor::Supplier(supplier_id),
                "",
                now,
            )?;
        }
        model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)
    })
}

/// Refuses a supplier order (out of stock, say): its lines are refunded and restocked.
pub fn reject(
    conn: &mut DbConn,
    supplier_id: i64,
    so_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<SupplierOrder, OrderError> {
    let reason = parse_reason(reason)?;
    write_tx(conn, |conn| {
        let (so, order) = supplier_order_for(conn, supplier_id, so_id)?;
        if so_status(&so) == SupplierStatus::Rejected {
            return Ok(so);
        }
        let actor = Actor::Supplier(supplier_id);
        set_so_status(
            conn,
            &so,
            &order,
            SupplierStatus::Rejected,
            &actor,
            &reason,
            now,
        )?;
        diesel::update(supplier_orders::table.find(so.id))
            .set(supplier_orders::reject_reason.eq(&reason))
            .execute(conn)?;
        let lines: Vec<Line> = model::lines(conn, order.id)?
            .into_iter()
            .filter(|l| l.supplier_order_id == Some(so.id))
            .collect();
        let parts: Vec<(&Line, i32, i64)> = lines
            .iter()
            .map(|l| {
                let (units, fen) = unrefunded(l);
                (l, units, fen)
            })
            .collect();
        refund(conn, &order, &parts, now)?;
        for line in &lines {
            routing::release(conn, line, &order.buyer_key, false)?;
        }
        sync_order(conn, order.id, &actor, now)?;
        model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)
    })
}

pub fn ship(
    conn: &mut DbConn,
    supplier_id: i64,
    so_id: i64,
    carrier: &str,
    tracking: &str,
    now: NaiveDateTime,
) -> Result<SupplierOrder, OrderError> {
    let carrier = parse_carrier(carrier)?;
    let tracking = parse_tracking(tracking)?;
    write_tx(conn, |conn| {
        let (so, order) = supplier_order_for(conn, supplier_id, so_id)?;
        let status = so_status(&so);
        if status == SupplierStatus::Shipped
            && so.carrier.as_deref() == Some(carrier.as_str())
            && so.tracking.as_deref() == Some(tracking.as_str())
        {
            return Ok(so);
        }
        let actor = Actor::Supplier(supplier_id);
        // Shipping what was never acknowledged acknowledges it on the way.
        if status == SupplierStatus::Routed {
            set_so_status(
                conn,
                &so,
                &order,
                SupplierStatus::Acknowledged,
                &actor,
                "",
                now,
            )?;
        }
        let so = model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)?;
        let reason = format!("{carrier} {tracking}");
        set_so_status(
            conn,
            &so,
            &order,
            SupplierStatus::Shipped,
            &actor,
            &reason,
            now,
        )?;
        diesel::update(supplier_orders::table.find(so.id))
            .set((
                supplier_orders::carrier.eq(&carrier),
                supplier_orders::tracking.eq(&tracking),
                supplier_orders::shipped_at.eq(now),
            ))
            .execute(conn)?;
        sync_order(conn, order.id, &actor, now)?;
        model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)
    })
}

pub fn deliver(
    conn: &mut DbConn,
    supplier_id: i64,
    so_id: i64,
    now: NaiveDateTime,
) -> Result<SupplierOrder, OrderError> {
    write_tx(conn, |conn| {
        let (so, order) = supplier_order_for(conn, supplier_id, so_id)?;
        if so_status(&so) == SupplierStatus::Delivered {
            return Ok(so);
        }
        let actor = Actor::Supplier(supplier_id);
        set_so_status(
            conn,
            &so,
            &order,
            SupplierStatus::Delivered,
            &actor,
            "",
            now,
        )?;
        diesel::update(supplier_orders::table.find(so.id))
            .set(supplier_orders::delivered_at.eq(now))
            .execute(conn)?;
        let lines: Vec<Line> = model::lines(conn, order.id)?
            .into_iter()
            .filter(|l| l.supplier_order_id == Some(so.id))
            .collect();
        stats::on_delivered(conn, &lines, order.buyer_segment.as_deref())?;
        sync_order(conn, order.id, &actor, now)?;
        model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)
    })
}

// ------------------------------------------------------------------ creators

/// Cancels an order that has not shipped: every supplier part is cancelled, the money
/// refunded and the stock (and flash-deal quantity) given back.
pub fn cancel(
    conn: &mut DbConn,
    shop_user_id: i64,
    order_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Order, OrderError> {
    let reason = parse_reason(reason)?;
    write_tx(conn, |conn| {
        let order = model::find_order(conn, order_id)?.ok_or(OrderError::NotFound)?;
        if order.shop_user_id != shop_user_id {
            return Err(OrderError::NotYours);
        }
        let from = order_status(&order);
        if from == OrderStatus::Cancelled {
            return Ok(order);
        }
        from.check(OrderStatus::Cancelled)?;
        let actor = Actor::Creator(shop_user_id);
        for so in model::supplier_orders_of(conn, order.id)? {
            if matches!(
                so_status(&so),
                SupplierStatus::Rejected | SupplierStatus::Cancelled
            ) {
                continue;
            }
            set_so_status(
                conn,
                &so,
                &order,
                SupplierStatus::Cancelled,
                &actor,
                &reason,
                now,
            )?;
        }
        let lines = model::lines(conn, order.id)?;
        let parts: Vec<(&Line, i32, i64)> = lines
            .iter()
            .map(|l| {
                let (units, fen) = unrefunded(l);
                (l, units, fen)
            })
            .filter(|(_, units, _)| *units > 0)
            .collect();
        if order.paid_fen > 0 {
            refund(conn, &order, &parts, now)?;
        }
        for (line, _, _) in &parts {
            routing::release(conn, line, &order.buyer_key, true)?;
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
            Some(from.as_str()),
            OrderStatus::Cancelled.as_str(),
            &actor,
            &reason,
            now,
        )?;
        model::find_order(conn, order.id)?.ok_or(OrderError::NotFound)
    })
}

// ------------------------------------------------------------------ after-sales

fn case_status(case: &Case) -> CaseStatus {
    CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Requested)
}

fn set_case_status(
    conn: &mut DbConn,
    case: &Case,
    to: CaseStatus,
    actor: &Actor,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), OrderError> {
    let from = case_status(case);
    from.check(to)?;
    diesel::update(after_sales::table.find(case.id))
        .set((
            after_sales::status.eq(to.as_str()),
            after_sales::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_event(
        conn,
        case.order_id,
        &case.mode,
        Subject::Case(case.id),
        Some(from.as_str()),
        to.as_str(),
        actor,
        reason,
        now,
    )?;
    Ok(())
}

/// The last day a delivered supplier order can be returned.
pub fn return_until(conn: &mut DbConn, so: &SupplierOrder) -> QueryResult<Option<NaiveDateTime>> {
    let days: i32 = suppliers::table
        .find(so.supplier_id)
        .select(suppliers::return_days)
        .first(conn)?;
    Ok(so.delivered_at.map(|at| at + Duration::days(days as i64)))
}

/// Units of a line that a new case may still cover.
pub fn returnable(conn: &mut DbConn, line: &Line) -> QueryResult<i64> {
    let open: Vec<(String, i32)> = after_sales::table
        .filter(after_sales::line_id.eq(line.id))
        .select((after_sales::status, after_sales::quantity))
        .load(conn)?;
    let held: i64 = open
        .iter()
        .filter(|(s, _)| CaseStatus::parse(s).is_some_and(|s| s.is_open()))
        .map(|(_, q)| *q as i64)
        .sum();
    Ok((line.quantity - line.returned_quantity) as i64 - held)
}

/// A buyer asks to return (or be refunded for) `quantity` units of a delivered line.
pub fn request_case(
    conn: &mut DbConn,
    order_id: i64,
    line_id: i64,
    quantity: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    let reason = parse_reason(reason)?;
    write_tx(conn, |conn| {
        let order = model::find_order(conn, order_id)?.ok_or(OrderError::NotFound)?;
        let line = model::lines(conn, order.id)?
            .into_iter()
            .find(|l| l.id == line_id)
            .ok_or(OrderError::NotFound)?;
        let so_id = line.supplier_order_id.ok_or(OrderError::NotDelivered)?;
        let so = model::find_supplier_order(conn, so_id)?.ok_or(OrderError::NotFound)?;
        if so_status(&so) != SupplierStatus::Delivered {
            return Err(OrderError::NotDelivered);
        }
        if let Some(until) = return_until(conn, &so)?
            && now > until
        {
            return Err(OrderError::WindowClosed {
                until: until.format("%Y-%m-%d").to_string(),
            });
        }
        let max = returnable(conn, &line)?;
        if quantity < 1 || quantity > max {
            return Err(OrderError::ReturnQuantity { max: max.max(0) });
        }
        diesel::insert_into(after_sales::table)
            .values((
                after_sales::order_id.eq(order.id),
                after_sales::line_id.eq(line.id),
                after_sales::supplier_order_id.eq(so.id),
                after_sales::supplier_id.eq(so.supplier_id),
                after_sales::shop_user_id.eq(order.shop_user_id),
                after_sales::mode.eq(&order.mode),
                after_sales::status.eq(CaseStatus::Requested.as_str()),
                after_sales::quantity.eq(quantity as i32),
                after_sales::reason.eq(&reason),
                after_sales::refund_fen.eq(0),
                after_sales::created_at.eq(now),
                after_sales::updated_at.eq(now),
            ))
            .execute(conn)?;
        let case: Case = after_sales::table
            .filter(after_sales::line_id.eq(line.id))
            .order(after_sales::id.desc())
            .select(Case::as_select())
            .first(conn)?;
        let held = line.unit_price_fen * quantity;
        record_event(
            conn,
            order.id,
            &order.mode,
            Subject::Case(case.id),
            None,
            CaseStatus::Requested.as_str(),
            &Actor::Buyer,
            &format!("{reason} (on hold: {})", money::fen(held)),
            now,
        )?;
        Ok(case)
    })
}

fn case_for_supplier(
    conn: &mut DbConn,
    supplier_id: i64,
    case_id: i64,
) -> Result<Case, OrderError> {
    case_for(conn, &Actor::Supplier(supplier_id), case_id)
}

/// The case if `actor` may decide it: its supplier, or the shop that sold the line (the
/// creator answers the buyer; in the sandbox the simulated supplier follows them).
fn case_for(conn: &mut DbConn, actor: &Actor, case_id: i64) -> Result<Case, OrderError> {
    let case = model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)?;
    let allowed = match actor {
        Actor::Supplier(id) => case.supplier_id == *id,
        Actor::Creator(id) => case.shop_user_id == *id,
        _ => false,
    };
    if !allowed {
        return Err(OrderError::NotYours);
    }
    Ok(case)
}

/// The supplier accepts a case. With `refund_only` the buyer keeps the item and is
/// refunded at once (damaged in transit, say); otherwise the buyer ships it back.
pub fn approve_case(
    conn: &mut DbConn,
    supplier_id: i64,
    case_id: i64,
    refund_only: bool,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    approve_case_by(
        conn,
        Actor::Supplier(supplier_id),
        case_id,
        refund_only,
        now,
    )
}

/// `approve_case` by the supplier or by the shop's creator.
pub fn approve_case_by(
    conn: &mut DbConn,
    actor: Actor,
    case_id: i64,
    refund_only: bool,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    write_tx(conn, |conn| {
        let case = case_for(conn, &actor, case_id)?;
        let status = case_status(&case);
        // Approved already (and perhaps further along): the same answer again.
        let already = if refund_only {
            status == CaseStatus::Refunded && case.return_tracking.is_none()
        } else {
            matches!(
                status,
                CaseStatus::Approved | CaseStatus::ReturnShipped | CaseStatus::Received
            ) || (status == CaseStatus::Refunded && case.return_tracking.is_some())
        };
        if already {
            return Ok(case);
        }
        set_case_status(
            conn,
            &case,
            CaseStatus::Approved,
            &actor,
            if refund_only {
                "refund without return"
            } else {
                "return approved"
            },
            now,
        )?;
        if refund_only {
            let case = model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)?;
            settle_case(conn, &case, &actor, false, now)?;
        }
        model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)
    })
}

pub fn reject_case(
    conn: &mut DbConn,
    supplier_id: i64,
    case_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    reject_case_by(conn, Actor::Supplier(supplier_id), case_id, reason, now)
}

/// `reject_case` by the supplier or by the shop's creator.
pub fn reject_case_by(
    conn: &mut DbConn,
    actor: Actor,
    case_id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    let reason = parse_reason(reason)?;
    write_tx(conn, |conn| {
        let case = case_for(conn, &actor, case_id)?;
        if case_status(&case) == CaseStatus::Rejected {
            return Ok(case);
        }
        set_case_status(conn, &case, CaseStatus::Rejected, &actor, &reason, now)?;
        diesel::update(after_sales::table.find(case.id))
            .set(after_sales::reject_reason.eq(&reason))
            .execute(conn)?;
        model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)
    })
}

/// The buyer sends the item back with its tracking number.
pub fn ship_back(
    conn: &mut DbConn,
    order_id: i64,
    case_id: i64,
    carrier: &str,
    tracking: &str,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    let carrier = parse_carrier(carrier)?;
    let tracking = parse_tracking(tracking)?;
    write_tx(conn, |conn| {
        let case = model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)?;
        if case.order_id != order_id {
            return Err(OrderError::NotFound);
        }
        if case_status(&case) == CaseStatus::ReturnShipped
            && case.return_tracking.as_deref() == Some(tracking.as_str())
        {
            return Ok(case);
        }
        set_case_status(
            conn,
            &case,
            CaseStatus::ReturnShipped,
            &Actor::Buyer,
            &format!("{carrier} {tracking}"),
            now,
        )?;
        diesel::update(after_sales::table.find(case.id))
            .set((
                after_sales::return_carrier.eq(&carrier),
                after_sales::return_tracking.eq(&tracking),
            ))
            .execute(conn)?;
        model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)
    })
}

/// The supplier has the item back: the refund is issued and the stock restored.
pub fn receive_case(
    conn: &mut DbConn,
    supplier_id: i64,
    case_id: i64,
    now: NaiveDateTime,
) -> Result<Case, OrderError> {
    write_tx(conn, |conn| {
        let case = case_for_supplier(conn, supplier_id, case_id)?;
        if case_status(&case) == CaseStatus::Refunded {
            return Ok(case);
        }
        let actor = Actor::Supplier(supplier_id);
        set_case_status(conn, &case, CaseStatus::Received, &actor, "", now)?;
        let case = model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)?;
        settle_case(conn, &case, &actor, true, now)?;
        model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)
    })
}

fn settle_case(
    conn: &mut DbConn,
    case: &Case,
    actor: &Actor,
    restock: bool,
    now: NaiveDateTime,
) -> Result<(), OrderError> {
    let order = model::find_order(conn, case.order_id)?.ok_or(OrderError::NotFound)?;
    let line = model::lines(conn, order.id)?
        .into_iter()
        .find(|l| l.id == case.line_id)
        .ok_or(OrderError::NotFound)?;
    let units = case
        .quantity
        .min(line.quantity - line.returned_quantity)
        .max(0);
    let fen = (line.unit_price_fen * units as i64).min(line.total_fen() - line.refunded_fen);
    let amount = refund(conn, &order, &[(&line, units, fen)], now)?;
    diesel::update(after_sales::table.find(case.id))
        .set(after_sales::refund_fen.eq(amount))
        .execute(conn)?;
    if restock {
        routing::restock(conn, line.sku_id, units)?;
    }
    stats::on_returned(conn, &line, order.buyer_segment.as_deref())?;
    set_case_status(
        conn,
        case,
        CaseStatus::Refunded,
        actor,
        &money::fen(amount),
        now,
    )
}

/// A creator's note on a case in their shop.
pub fn add_note(
    conn: &mut DbConn,
    shop_user_id: i64,
    case_id: i64,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), OrderError> {
    let body = parse_note(body)?;
    write_tx(conn, |conn| {
        let case = model::find_case(conn, case_id)?.ok_or(OrderError::NotFound)?;
        if case.shop_user_id != shop_user_id {
            return Err(OrderError::NotYours);
        }
        diesel::insert_into(case_notes::table)
            .values((
                case_notes::case_id.eq(case.id),
                case_notes::author_id.eq(shop_user_id),
                case_notes::body.eq(&body),
                case_notes::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(())
    })
}
