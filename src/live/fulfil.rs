//! After a sandbox show: the fast-forward button moves the show's virtual clock and the
//! simulated actors do their part through the same order-flow functions people use.
//! Simulated suppliers acknowledge, ship with tracking and deliver, each with its own
//! handling time and reliability (some are late; an unreliable one may reject a part for
//! lack of stock, which refunds it). Simulated buyers ask for returns at a rate from the
//! product's return rate and how well it fitted them, ship approved returns back, and the
//! supplier receives them (the refund follows). Deciding a buyer's request is the
//! trainee's job, on the same after-sales pages a live creator uses.
//!
//! Every choice is a hash of the show's seed and the record's id, so the same show
//! fast-forwards the same way.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::model::Show;
use super::sim::SimConfig;
use crate::db::DbConn;
use crate::db::schema::{after_sales, orders, supplier_orders, suppliers};
use crate::orders::model;
use crate::orders::{CaseStatus, OrderError, SupplierStatus, flow, outbox};

/// How far one press of fast-forward moves the clock.
pub const STEP_DAYS: i64 = 7;

/// What a fast-forward did, for the flash message and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub acknowledged: usize,
    pub rejected: usize,
    pub shipped: usize,
    pub delivered: usize,
    pub returns_requested: usize,
    pub returns_shipped: usize,
    pub refunded: usize,
}

/// A number in [0, 1) from the seed, a salt and an id: the same every time.
fn roll(seed: i64, salt: u64, id: i64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed
        .to_le_bytes()
        .into_iter()
        .chain(salt.to_le_bytes())
        .chain(id.to_le_bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Finalise (splitmix64) so nearby ids spread out.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

const CARRIERS: &[&str] = &["SF Express", "ZTO Express", "YTO Express", "JD Logistics"];
const RETURN_REASONS: &[&str] = &[
    "The size is too small",
    "The colour is not what the show presented",
    "Changed my mind",
    "Arrived damaged",
    "Not as described in the live show",
];

/// A supplier's timeline for one part: when it acknowledges, ships and delivers.
struct Timeline {
    reject: bool,
    ack_at: NaiveDateTime,
    ship_at: NaiveDateTime,
    transit: Duration,
}

fn timeline(
    show: &Show,
    so: &model::SupplierOrder,
    handling_hours: i32,
    reliability_bp: i32,
) -> Timeline {
    let reliability = (reliability_bp as f64 / 10_000.0).clamp(0.0, 1.0);
    let handling = Duration::minutes((handling_hours.max(1) as f64 * 60.0) as i64);
    let late = roll(show.seed, 1, so.id) > reliability;
    let ship_after = if late { handling * 3 } else { handling };
    let transit_hours = 24 + (roll(show.seed, 2, so.id) * 48.0) as i64 + if late { 48 } else { 0 };
    Timeline {
        // Unreliable suppliers sometimes find the shelf empty.
        reject: roll(show.seed, 3, so.id) < (1.0 - reliability) * 0.3,
        ack_at: so.created_at + handling / 4,
        ship_at: so.created_at + ship_after,
        transit: Duration::hours(transit_hours),
    }
}

/// Moves the show's clock to `to`, doing what every simulated actor would have done by
/// then. Each part and case is its own transaction; a repeated call does nothing twice.
pub fn advance(conn: &mut DbConn, show: &Show, to: NaiveDateTime) -> Result<Progress, OrderError> {
    let mut progress = Progress::default();
    let setup: Option<SimConfig> = serde_json::from_str(&show.setup).ok();
    // Messages still in the outbox reach their suppliers first.
    while outbox::deliver_pending(conn, to, 500)? > 0 {}
    let parts: Vec<(model::SupplierOrder, i32, i32)> = supplier_orders::table
        .inner_join(orders::table)
        .inner_join(suppliers::table)
        .filter(orders::show_id.eq(show.id))
        .filter(orders::shop_user_id.eq(show.user_id))
        .filter(supplier_orders::mode.eq(&show.mode))
        .order(supplier_orders::id)
        .select((
            model::SupplierOrder::as_select(),
            suppliers::handling_hours,
            suppliers::reliability_bp,
        ))
        .load(conn)?;
    let mut rejected_one = false;
    for (so, handling, reliability) in &parts {
        let t = timeline(show, so, *handling, *reliability);
        let supplier = so.supplier_id;
        let mut status = SupplierStatus::parse(&so.status).unwrap_or(SupplierStatus::Routed);
        if status == SupplierStatus::Routed && t.ack_at <= to {
            if t.reject && !rejected_one {
                rejected_one = true;
                flow::reject(
                    conn,
                    supplier,
                    so.id,
                    "Out of stock at the warehouse",
                    t.ack_at,
                )?;
                progress.rejected += 1;
                continue;
            }
            flow::acknowledge(conn, supplier, so.id, t.ack_at)?;
            progress.acknowledged += 1;
            status = SupplierStatus::Acknowledged;
        }
        if status == SupplierStatus::Rejected {
            rejected_one = true;
        }
        if status == SupplierStatus::Acknowledged && t.ship_at <= to {
            let carrier = CARRIERS
                [(roll(show.seed, 4, so.id) * CARRIERS.len() as f64) as usize % CARRIERS.len()];
            let tracking = format!("SIM{:010}", (roll(show.seed, 5, so.id) * 1e10) as u64);
            flow::ship(conn, supplier, so.id, carrier, &tracking, t.ship_at)?;
            progress.shipped += 1;
            status = SupplierStatus::Shipped;
        }
        if status == SupplierStatus::Shipped {
            let shipped_at = model::find_supplier_order(conn, so.id)?
                .and_then(|s| s.shipped_at)
                .unwrap_or(t.ship_at);
            if shipped_at + t.transit <= to {
                flow::deliver(conn, supplier, so.id, shipped_at + t.transit)?;
                progress.delivered += 1;
            }
        }
    }
    progress.returns_requested += request_returns(conn, show, setup.as_ref(), to)?;
    let (shipped_back, refunded) = move_returns(conn, show, to)?;
    progress.returns_shipped += shipped_back;
    progress.refunded += refunded;
    diesel::update(crate::db::schema::shows::table.find(show.id))
        .filter(crate::db::schema::shows::clock_at.lt(to))
        .set(crate::db::schema::shows::clock_at.eq(to))
        .execute(conn)?;
    Ok(progress)
}

/// Buyers of delivered lines ask for a return a day after delivery, at a rate from the
/// product's return rate, higher when the product fitted them badly.
fn request_returns(
    conn: &mut DbConn,
    show: &Show,
    setup: Option<&SimConfig>,
    to: NaiveDateTime,
) -> Result<usize, OrderError> {
    let delivered: Vec<(model::Line, Option<String>, NaiveDateTime)> =
        crate::db::schema::order_lines::table
            .inner_join(orders::table)
            .inner_join(
                supplier_orders::table.on(supplier_orders::id
                    .nullable()
                    .eq(crate::db::schema::order_lines::supplier_order_id)),
            )
            .filter(orders::show_id.eq(show.id))
            .filter(orders::shop_user_id.eq(show.user_id))
            .filter(supplier_orders::status.eq(SupplierStatus::Delivered.as_str()))
            .filter(supplier_orders::delivered_at.is_not_null())
            .select((
                model::Line::as_select(),
                orders::buyer_segment,
                supplier_orders::delivered_at.assume_not_null(),
            ))
            .load(conn)?;
    let mut n = 0;
    for (line, segment, delivered_at) in delivered {
        let at = delivered_at + Duration::hours(20 + (roll(show.seed, 6, line.id) * 28.0) as i64);
        if at > to {
            continue;
        }
        let has_case: i64 = after_sales::table
            .filter(after_sales::line_id.eq(line.id))
            .count()
            .get_result(conn)?;
        if has_case > 0 {
            continue;
        }
        let product =
            setup.and_then(|s| s.products.iter().find(|p| p.product_id == line.product_id));
        let base = product
            .map(|p| p.return_rate as f64)
            .unwrap_or(0.08)
            .clamp(0.0, 1.0);
        let fit = match (
            product,
            segment
                .as_deref()
                .and_then(crate::catalog::taxonomy::segment_index),
        ) {
            (Some(p), Some(seg)) if seg < p.segment_fit.len() => p.segment_fit[seg] as f64,
            _ => 1.0,
        };
        // A product that suits the buyer comes back less often; one that does not, more.
        let rate = (base * (1.6 - 0.6 * fit.clamp(0.0, 2.0)).max(0.4) * 2.0).min(0.6);
        if roll(show.seed, 7, line.id) >= rate {
            continue;
        }
        let reason = RETURN_REASONS[(roll(show.seed, 8, line.id) * RETURN_REASONS.len() as f64)
            as usize
            % RETURN_REASONS.len()];
        match flow::request_case(conn, line.order_id, line.id, 1, reason, at) {
            Ok(_) => n += 1,
            // Outside the window, or nothing left to return: the buyer keeps it.
            Err(OrderError::WindowClosed { .. } | OrderError::ReturnQuantity { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Approved returns: the buyer ships the parcel back a day later, the supplier receives
/// it two days after that, and the refund follows.
fn move_returns(
    conn: &mut DbConn,
    show: &Show,
    to: NaiveDateTime,
) -> Result<(usize, usize), OrderError> {
    let cases: Vec<model::Case> = after_sales::table
        .inner_join(orders::table)
        .filter(orders::show_id.eq(show.id))
        .filter(orders::shop_user_id.eq(show.user_id))
        .filter(after_sales::status.eq_any([
            CaseStatus::Approved.as_str(),
            CaseStatus::ReturnShipped.as_str(),
        ]))
        .order(after_sales::id)
        .select(model::Case::as_select())
        .load(conn)?;
    let (mut shipped, mut refunded) = (0, 0);
    for case in cases {
        let mut status = CaseStatus::parse(&case.status).unwrap_or(CaseStatus::Approved);
        let mut since = case.updated_at;
        if status == CaseStatus::Approved {
            let at = since + Duration::days(1);
            if at > to {
                continue;
            }
            let tracking = format!("RET{:09}", (roll(show.seed, 9, case.id) * 1e9) as u64);
            flow::ship_back(
                conn,
                case.order_id,
                case.id,
                "ZTO Express",
                &tracking,
                at.max(since),
            )?;
            shipped += 1;
            status = CaseStatus::ReturnShipped;
            since = at;
        }
        if status == CaseStatus::ReturnShipped {
            let at = since + Duration::days(2);
            if at > to {
                continue;
            }
            flow::receive_case(conn, case.supplier_id, case.id, at)?;
            refunded += 1;
        }
    }
    Ok((shipped, refunded))
}

#[cfg(test)]
mod tests {
    use super::roll;

    #[test]
    fn rolls_are_stable_and_spread() {
        assert_eq!(roll(7, 1, 42), roll(7, 1, 42));
        assert_ne!(roll(7, 1, 42), roll(8, 1, 42));
        let n = 10_000;
        let below: usize = (0..n).filter(|i| roll(3, 7, *i) < 0.25).count();
        assert!((2_200..2_800).contains(&below), "{below}");
        assert!((0..n).all(|i| (0.0..1.0).contains(&roll(1, 2, i))));
    }
}
