//! Orders feed the platform statistics that matching reads: a paid line counts as an
//! order (when the outbox delivers it to its supplier), a delivery as delivered, a refunded return as a return, for the whole platform
//! (`all`) and for the buyer's audience segment when it is known.

use diesel::prelude::*;

use super::model::Line;
use crate::catalog::taxonomy::segment_index;
use crate::db::DbConn;
use crate::db::schema::product_stats;

const ALL: &str = "all";

#[derive(Clone, Copy)]
enum Counter {
    Orders,
    Delivered,
    Returns,
}

fn bump(conn: &mut DbConn, product_id: i64, segment: &str, counter: Counter) -> QueryResult<()> {
    let (orders, delivered, returns) = match counter {
        Counter::Orders => (1i64, 0i64, 0i64),
        Counter::Delivered => (0, 1, 0),
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
    match conn {
        DbConn::Sqlite(c) => upsert.execute(c)?,
        DbConn::Postgres(c) => upsert.execute(c)?,
    };
    Ok(())
}

fn bump_all(
    conn: &mut DbConn,
    product_id: i64,
    segment: Option<&str>,
    counter: Counter,
) -> QueryResult<()> {
    bump(conn, product_id, ALL, counter)?;
    // Only segments the matching engine knows; anything else counts under `all` only.
    if let Some(segment) = segment.filter(|s| *s != ALL && segment_index(s).is_some()) {
        bump(conn, product_id, segment, counter)?;
    }
    Ok(())
}

pub fn on_paid(conn: &mut DbConn, lines: &[Line], segment: Option<&str>) -> QueryResult<()> {
    for line in lines {
        bump_all(conn, line.product_id, segment, Counter::Orders)?;
    }
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
