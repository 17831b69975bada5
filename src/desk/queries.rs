//! What the desk reads: a shop's orders under filters, daily totals, and cases.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{after_sales, order_lines, orders};
use crate::orders::model::{Case, Order};

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub mode: Option<&'static str>,
    pub status: Option<&'static str>,
    pub from: Option<NaiveDate>,
    /// Inclusive: the whole day.
    pub to: Option<NaiveDate>,
    pub product_id: Option<i64>,
}

fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// The shop's orders under `filters`, newest first, at most `limit` from `offset`.
pub fn orders(
    conn: &mut DbConn,
    shop_user_id: i64,
    f: &Filters,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<Order>> {
    let mut q = orders::table
        .filter(orders::shop_user_id.eq(shop_user_id))
        .into_boxed();
    if let Some(mode) = f.mode {
        q = q.filter(orders::mode.eq(mode));
    }
    if let Some(status) = f.status {
        q = q.filter(orders::status.eq(status));
    }
    if let Some(from) = f.from {
        q = q.filter(orders::created_at.ge(day_start(from)));
    }
    if let Some(to) = f.to.and_then(|d| d.succ_opt()) {
        q = q.filter(orders::created_at.lt(day_start(to)));
    }
    if let Some(product) = f.product_id {
        q = q.filter(
            orders::id.eq_any(
                order_lines::table
                    .filter(order_lines::product_id.eq(product))
                    .select(order_lines::order_id),
            ),
        );
    }
    q.order((orders::created_at.desc(), orders::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(Order::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayTotals {
    pub day: NaiveDate,
    /// Paid value of the orders placed that day.
    pub gmv_fen: i64,
    pub orders: i64,
    pub refunds_fen: i64,
    pub commission_fen: i64,
    pub earnings_fen: i64,
}

/// Totals per day (newest first) over the shop's paid orders under `filters`; the caller
/// bounds the range (the desk shows at most the last 31 days unless asked).
pub fn daily_totals(
    conn: &mut DbConn,
    shop_user_id: i64,
    f: &Filters,
) -> QueryResult<Vec<DayTotals>> {
    let rows = orders(conn, shop_user_id, f, 0, 100_000)?;
    let mut days: BTreeMap<NaiveDate, DayTotals> = BTreeMap::new();
    for o in rows.iter().filter(|o| o.paid_fen > 0) {
        let day = o.created_at.date();
        let t = days.entry(day).or_insert_with(|| DayTotals {
            day,
            ..Default::default()
        });
        t.gmv_fen += o.paid_fen;
        t.orders += 1;
        t.refunds_fen += o.refunded_fen;
        t.commission_fen += o.commission_fen;
        t.earnings_fen += o.earnings_fen;
    }
    Ok(days.into_values().rev().collect())
}

pub fn cases(
    conn: &mut DbConn,
    shop_user_id: i64,
    status: Option<&'static str>,
) -> QueryResult<Vec<(Case, String)>> {
    let mut q = after_sales::table
        .inner_join(orders::table)
        .filter(after_sales::shop_user_id.eq(shop_user_id))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(after_sales::status.eq(s));
    }
    q.order(after_sales::id.desc())
        .limit(500)
        .select((Case::as_select(), orders::reference))
        .load(conn)
}
