//! Routing: a paid order becomes one supplier order per supplier, each with an outbox
//! message written in the same transaction, so a crash after the commit loses nothing.
//! Also the inverse: giving stock (and flash-deal quantity) back.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Actor, Line, NewEvent, Order, Subject, SupplierOrder};
use super::state::SupplierStatus;
use crate::db::schema::{deal_purchases, flash_deals, order_lines, outbox, skus, supplier_orders};
use crate::db::{CachedExt, DbConn, on_backend};

pub const TOPIC_ROUTED: &str = "supplier_order.routed";

/// Makes one supplier order per supplier of `lines` (and sets the lines' supplier
/// order: in the database too when `lines_stored`, else only in `lines`, which the
/// caller then inserts), each with its outbox message, and adds a "routed" event per
/// supplier order to `events`. The caller moves the order itself to routed and writes
/// the events.
pub fn route(
    conn: &mut DbConn,
    order: &Order,
    lines: &mut [Line],
    lines_stored: bool,
    now: NaiveDateTime,
    events: &mut Vec<NewEvent>,
) -> QueryResult<Vec<SupplierOrder>> {
    let suppliers = by_supplier(lines);
    let mut parts = Vec::with_capacity(suppliers.len());
    for (supplier_id, total) in suppliers {
        let part: SupplierOrder = on_backend!(conn, |c| {
            diesel::insert_into(supplier_orders::table)
                .values((
                    supplier_orders::order_id.eq(order.id),
                    supplier_orders::supplier_id.eq(supplier_id),
                    supplier_orders::mode.eq(&order.mode),
                    supplier_orders::status.eq(SupplierStatus::Routed.as_str()),
                    supplier_orders::total_fen.eq(total),
                    supplier_orders::created_at.eq(now),
                    supplier_orders::updated_at.eq(now),
                ))
                .returning(SupplierOrder::as_returning())
                .cached()
                .get_result(c)
        })?;
        if lines_stored {
            on_backend!(conn, |c| {
                diesel::update(
                    order_lines::table
                        .filter(order_lines::order_id.eq(order.id))
                        .filter(order_lines::supplier_id.eq(supplier_id)),
                )
                .set(order_lines::supplier_order_id.eq(part.id))
                .returning(order_lines::id)
                .cached()
                .load::<i64>(c)
            })?;
        }
        assign(lines, supplier_id, part.id);
        let payload = payload(order, lines, &part);
        on_backend!(conn, |c| {
            diesel::insert_into(outbox::table)
                .values((
                    outbox::topic.eq(TOPIC_ROUTED),
                    outbox::supplier_order_id.eq(part.id),
                    outbox::payload.eq(payload),
                    outbox::attempts.eq(0),
                    outbox::available_at.eq(now),
                    outbox::created_at.eq(now),
                ))
                .returning(outbox::id)
                .cached()
                .get_result::<i64>(c)
        })?;
        events.push(routed_event(&part));
        parts.push(part);
    }
    Ok(parts)
}

/// Each supplier of `lines` with the total of its lines, by supplier id.
pub fn by_supplier(lines: &[Line]) -> BTreeMap<i64, i64> {
    let mut suppliers: BTreeMap<i64, i64> = BTreeMap::new();
    for line in lines {
        *suppliers.entry(line.supplier_id).or_default() += line.total_fen();
    }
    suppliers
}

/// Points the lines of `supplier_id` at its supplier order.
pub fn assign(lines: &mut [Line], supplier_id: i64, part_id: i64) {
    for line in lines.iter_mut().filter(|l| l.supplier_id == supplier_id) {
        line.supplier_order_id = Some(part_id);
    }
}

/// The outbox message that hands `part` to its supplier.
pub fn payload(order: &Order, lines: &[Line], part: &SupplierOrder) -> String {
    let items: Vec<_> = lines
        .iter()
        .filter(|l| l.supplier_order_id == Some(part.id))
        .map(|line| {
            serde_json::json!({
                "sku_id": line.sku_id, "title": line.title, "variant": line.sku_label,
                "quantity": line.quantity,
            })
        })
        .collect();
    serde_json::json!({
        "supplier_order_id": part.id,
        "order_reference": order.reference,
        "mode": order.mode,
        "lines": items,
    })
    .to_string()
}

/// The event of a supplier order made by routing.
pub fn routed_event(part: &SupplierOrder) -> NewEvent {
    NewEvent {
        subject: Subject::SupplierOrder(part.id),
        from: None,
        to: SupplierStatus::Routed.as_str(),
        actor: Actor::System,
        reason: format!("supplier {}", part.supplier_id),
    }
}

/// Gives a line's units back to stock; with `deal`, also to its flash deal and the
/// buyer's count (an order that never happened). A returned item gives stock only.
pub fn release(conn: &mut DbConn, line: &Line, buyer_key: &str, deal: bool) -> QueryResult<()> {
    restock(conn, line.sku_id, line.quantity)?;
    if let (true, Some(deal_id)) = (deal, line.deal_id) {
        diesel::update(flash_deals::table.find(deal_id))
            .set(flash_deals::sold.eq(flash_deals::sold - line.quantity))
            .execute(conn)?;
        diesel::update(deal_purchases::table.find((deal_id, buyer_key)))
            .set(deal_purchases::quantity.eq(deal_purchases::quantity - line.quantity))
            .execute(conn)?;
    }
    Ok(())
}

pub fn restock(conn: &mut DbConn, sku_id: i64, quantity: i32) -> QueryResult<()> {
    diesel::update(skus::table.find(sku_id))
        .set(skus::stock.eq(skus::stock + quantity))
        .execute(conn)?;
    Ok(())
}
