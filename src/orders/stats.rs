//! Orders feed the platform statistics that matching reads: a paid line counts as an
//! order (when the outbox delivers it to its supplier), a delivery as delivered, a refunded return as a return, for the whole platform
//! (`all`) and for the buyer's audience segment when it is known.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::model::Line;
use crate::catalog::taxonomy::segment_index;
use crate::db::schema::product_stats;
use crate::db::{CachedExt, DbConn, InsertMany, on_backend};

const ALL: &str = "all";

#[derive(Clone, Copy)]
enum Counter {
    Delivered,
    Returns,
}

/// Adds one to `counter` of a product in a segment. Orders are counted in bulk
/// ([`count_paid`]).
fn bump(conn: &mut DbConn, product_id: i64, segment: &str, counter: Counter) -> QueryResult<()> {
    let (orders, delivered, returns) = match counter {
        Counter::Delivered => (0i64, 1i64, 0i64),
        Counter::Returns => (0, 0, 1),
    };
    let upsert = diesel::insert_into(product_stats::table)
        .values((
            product_stats::product_id.eq(product_id),
            product_stats::segment.eq(segment),
            product_stats::views.eq(0i64),
            product_stats::orders.eq(orders),
            product_stats::returns.eq(returns),
            product_stats::delivered.eq(delivered),
        ))
        .on_conflict((product_stats::product_id, product_stats::segment))
        .do_update()
        .set((
            product_stats::orders.eq(product_stats::orders + orders),
            product_stats::delivered.eq(product_stats::delivered + delivered),
            product_stats::returns.eq(product_stats::returns + returns),
        ));
    on_backend!(conn, |c| upsert
        .returning(product_stats::orders)
        .cached()
        .get_result::<i64>(c))?;
    Ok(())
}

/// The segment a line counts under besides `all`: only segments the matching engine
/// knows; anything else counts under `all` only.
fn known_segment(segment: Option<&str>) -> Option<&str> {
    segment.filter(|s| *s != ALL && segment_index(s).is_some())
}

fn bump_all(
    conn: &mut DbConn,
    product_id: i64,
    segment: Option<&str>,
    counter: Counter,
) -> QueryResult<()> {
    bump(conn, product_id, ALL, counter)?;
    if let Some(segment) = known_segment(segment) {
        bump(conn, product_id, segment, counter)?;
    }
    Ok(())
}

/// Counts paid lines, each given as its product and its buyer's segment: one upsert per
/// product and segment however many lines there are (the outbox delivers in batches).
pub fn count_paid(conn: &mut DbConn, lines: &[(i64, Option<String>)]) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Text};
    let mut counts: BTreeMap<(i64, &str), i64> = BTreeMap::new();
    for (product_id, segment) in lines {
        *counts.entry((*product_id, ALL)).or_default() += 1;
        if let Some(segment) = known_segment(segment.as_deref()) {
            *counts.entry((*product_id, segment)).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return Ok(());
    }
    // One statement, its rows in key order: two deliveries at once lock them in the same
    // order.
    let rows: Vec<((i64, &str), i64)> = counts.into_iter().collect();
    on_backend!(conn, |c| {
        c.insert_many(
            "product_stats",
            &[
                "product_id",
                "segment",
                "views",
                "orders",
                "returns",
                "delivered",
            ],
            "ON CONFLICT (product_id, segment) DO UPDATE \
             SET orders = product_stats.orders + excluded.orders \
             RETURNING product_id AS id",
            &rows,
            |q, ((product_id, segment), n)| {
                q.bind::<BigInt, _>(*product_id)
                    .bind::<Text, _>(*segment)
                    .bind::<BigInt, _>(0i64)
                    .bind::<BigInt, _>(*n)
                    .bind::<BigInt, _>(0i64)
                    .bind::<BigInt, _>(0i64)
            },
        )
    })?;
    Ok(())
}

pub fn on_delivered(conn: &mut DbConn, lines: &[Line], segment: Option<&str>) -> QueryResult<()> {
    for line in lines {
        bump_all(conn, line.product_id, segment, Counter::Delivered)?;
    }
    Ok(())
}

pub fn on_returned(conn: &mut DbConn, line: &Line, segment: Option<&str>) -> QueryResult<()> {
    bump_all(conn, line.product_id, segment, Counter::Returns)
}
