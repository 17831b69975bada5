//! Routing: a paid order becomes one supplier order per supplier, each with an outbox
//! message written in the same transaction, so a crash after the commit loses nothing.
//! Also the inverse: giving stock (and flash-deal quantity) back.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Actor, Line, Order, Subject, record_event};
use super::state::{OrderStatus, SupplierStatus};
use crate::db::DbConn;
use crate::db::schema::{
    deal_purchases, flash_deals, order_lines, orders, outbox, skus, supplier_orders,
};

pub const TOPIC_ROUTED: &str = "supplier_order.routed";

pub fn route(
    conn: &mut DbConn,
    order: &Order,
    lines: &[Line],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut by_supplier: BTreeMap<i64, Vec<&Line>> = BTreeMap::new();
    for line in lines {
        by_supplier.entry(line.supplier_id).or_default().push(line);
    }
    for (supplier_id, lines) in by_supplier {
        let total: i64 = lines.iter().map(|l| l.total_fen()).sum();
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
            .execute(conn)?;
        let so_id: i64 = supplier_orders::table
            .filter(supplier_orders::order_id.eq(order.id))
            .filter(supplier_orders::supplier_id.eq(supplier_id))
            .select(supplier_orders::id)
            .first(conn)?;
        let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
        diesel::update(order_lines::table.filter(order_lines::id.eq_any(&ids)))
            .set(order_lines::supplier_order_id.eq(so_id))
            .execute(conn)?;
        let payload = serde_json::json!({
            "supplier_order_id": so_id,
            "order_reference": order.reference,
            "mode": order.mode,
            "lines": lines.iter().map(|l| serde_json::json!({
                "sku_id": l.sku_id, "title": l.title, "variant": l.sku_label,
                "quantity": l.quantity,
            })).collect::<Vec<_>>(),
        });
        diesel::insert_into(outbox::table)
            .values((
                outbox::topic.eq(TOPIC_ROUTED),
                outbox::supplier_order_id.eq(so_id),
                outbox::payload.eq(payload.to_string()),
                outbox::attempts.eq(0),
                outbox::available_at.eq(now),
                outbox::created_at.eq(now),
            ))
            .execute(conn)?;
        record_event(
            conn,
            order.id,
            &order.mode,
            Subject::SupplierOrder(so_id),
            None,
            SupplierStatus::Routed.as_str(),
            &Actor::System,
            &format!("supplier {supplier_id}"),
            now,
        )?;
    }
    diesel::update(orders::table.find(order.id))
        .set((
            orders::status.eq(OrderStatus::Routed.as_str()),
            orders::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_event(
        conn,
        order.id,
        &order.mode,
        Subject::Order,
        Some(OrderStatus::Paid.as_str()),
        OrderStatus::Routed.as_str(),
        &Actor::System,
        "routed",
        now,
    )
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
