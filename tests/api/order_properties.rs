//! Property tests of the order flow on a real database: random sequences of buyer,
//! supplier and creator actions never leave a record in a state the state machines do
//! not allow, every logged transition is a legal one, money always balances
//! (paid = refunded + kept), the creator's earnings match what was kept, and stock is
//! conserved (what left the shelf is in live orders).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use kaibo::accounts::domain::{DisplayName, Email, Role};
use kaibo::accounts::{hashing, users};
use kaibo::db::schema::{payments, products, skus};
use kaibo::db::{self, DatabaseUrl, DbConn, Pool};
use kaibo::orders::links::LinkKey;
use kaibo::orders::payments::{CardNumber, Method};
use kaibo::orders::place::{self, Buyer, NewLine, NewOrder, Reserved};
use kaibo::orders::{CaseStatus, Mode, OrderStatus, SupplierStatus, flow, model, money};
use kaibo::selection::showcase;
use proptest::prelude::*;

use crate::helpers::*;

#[derive(Debug, Clone)]
enum Op {
    Place {
        lines: Vec<(usize, i64)>,
        card: usize,
    },
    Ack(usize, usize),
    Reject(usize, usize),
    Ship(usize, usize),
    Deliver(usize, usize),
    Cancel(usize),
    Request {
        order: usize,
        line: usize,
        quantity: i64,
    },
    Approve(usize, bool),
    RejectCase(usize),
    ShipBack(usize),
    Receive(usize),
    Days(i64),
    /// The natural next step of a supplier order (acknowledge, ship, deliver).
    Next(usize, usize),
    /// The natural next step of a case (approve, ship back, receive).
    NextCase(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (
            prop::collection::vec((0..3usize, 1..4i64), 1..4),
            prop_oneof![6 => Just(0usize), 1 => 1..4usize],
        )
            .prop_map(|(lines, card)| Op::Place { lines, card }),
        1 => (0..8usize, 0..3usize).prop_map(|(o, p)| Op::Ack(o, p)),
        1 => (0..8usize, 0..3usize).prop_map(|(o, p)| Op::Reject(o, p)),
        2 => (0..8usize, 0..3usize).prop_map(|(o, p)| Op::Ship(o, p)),
        2 => (0..8usize, 0..3usize).prop_map(|(o, p)| Op::Deliver(o, p)),
        1 => (0..8usize).prop_map(Op::Cancel),
        3 => (0..8usize, 0..3usize, prop_oneof![5 => 1..3i64, 1 => -1..5i64])
            .prop_map(|(order, line, quantity)| Op::Request { order, line, quantity }),
        1 => (0..6usize, any::<bool>()).prop_map(|(c, r)| Op::Approve(c, r)),
        1 => (0..6usize).prop_map(Op::RejectCase),
        1 => (0..6usize).prop_map(Op::ShipBack),
        1 => (0..6usize).prop_map(Op::Receive),
        1 => (1..20i64).prop_map(Op::Days),
        6 => (0..8usize, 0..3usize).prop_map(|(o, p)| Op::Next(o, p)),
        4 => (0..6usize).prop_map(Op::NextCase),
    ]
}

const CARDS: [&str; 4] = [
    "4242424242424242",
    "4000000000000002",
    "4000000000000341",
    "4000000000000119",
];

struct World {
    pool: Pool,
    keys: LinkKey,
    shop: i64,
    /// (sku, supplier) of three products from three suppliers.
    skus: Vec<(i64, i64)>,
    initial: BTreeMap<i64, i32>,
}

fn world(url: &DatabaseUrl) -> World {
    let pool = db::build_pool(url, 2).unwrap();
    db::run_migrations(&pool).unwrap();
    let mut conn = pool.get().unwrap();
    let now = chrono::Utc::now().naive_utc();
    kaibo::catalog::seed::generate_into(&mut conn, 11, 200, now, |_| {}).unwrap();
    let user = users::create(
        &mut conn,
        &Email::parse("prop-creator@example.com").unwrap(),
        &hashing::hash_now(PASSWORD).unwrap(),
        Role::Trainee,
        &DisplayName::parse("Prop Creator").unwrap(),
        None,
        now,
    )
    .unwrap();
    let rows: Vec<(i64, i64, i64, i64)> = skus::table
        .inner_join(products::table)
        .select((
            products::id,
            skus::id,
            skus::supplier_id,
            products::suggested_fen,
        ))
        .order(skus::id)
        .load(&mut conn)
        .unwrap();
    let mut chosen: Vec<(i64, i64)> = Vec::new();
    for (product, sku, supplier, price) in rows {
        if chosen.len() == 3 || chosen.iter().any(|(_, s)| *s == supplier) {
            continue;
        }
        showcase::put(&mut conn, user.id, product, price, now).unwrap();
        diesel::update(skus::table.find(sku))
            .set(skus::stock.eq(10_000))
            .execute(&mut conn)
            .unwrap();
        chosen.push((sku, supplier));
    }
    let initial = chosen.iter().map(|(sku, _)| (*sku, 10_000)).collect();
    World {
        pool,
        keys: LinkKey::from_hex(&"ab".repeat(32)).unwrap(),
        shop: user.id,
        skus: chosen,
        initial,
    }
}

fn place(
    w: &World,
    conn: &mut DbConn,
    lines: &[(usize, i64)],
    card: usize,
    n: usize,
    now: NaiveDateTime,
) -> Option<i64> {
    let card = CardNumber::parse(CARDS[card]).unwrap();
    let new = NewOrder {
        shop_user_id: w.shop,
        mode: Mode::Sandbox,
        idempotency_key: format!("prop-order-{n:08}"),
        lines: lines
            .iter()
            .map(|(i, q)| NewLine {
                sku_id: w.skus[*i].0,
                quantity: *q,
                deal_id: None,
            })
            .collect(),
        buyer: Buyer {
            name: "Prop Buyer".into(),
            phone: "13800000000".into(),
            address: "1 Property Road, Beijing".into(),
            key: "13800000000".into(),
            segment: Some("f25-34".into()),
        },
        method: Method::Card,
        card: Some(card.clone()),
        show_id: None,
        fee_bp: 500,
    };
    let Ok(Reserved::Fresh(order, _)) = place::reserve(conn, &new, &w.keys, now) else {
        return None;
    };
    let outcome = place::pay(&order, Method::Card, Some(&card));
    place::settle(conn, order.id, &outcome, now).unwrap();
    Some(order.id)
}

/// Applies one operation; refusals are expected and ignored, but never a database error.
fn apply(
    w: &World,
    conn: &mut DbConn,
    orders: &mut Vec<i64>,
    cases: &mut Vec<i64>,
    op: &Op,
    n: usize,
    now: &mut NaiveDateTime,
) {
    let part = |conn: &mut DbConn, o: usize, p: usize| -> Option<model::SupplierOrder> {
        let id = *orders.get(o % orders.len().max(1))?;
        let parts = model::supplier_orders_of(conn, id).unwrap();
        parts.get(p % parts.len().max(1)).cloned()
    };
    let result: Result<(), kaibo::orders::OrderError> = match op {
        Op::Place { lines, card } => {
            if let Some(id) = place(w, conn, lines, *card, n, *now) {
                orders.push(id);
            }
            Ok(())
        }
        Op::Ack(o, p) => match part(conn, *o, *p) {
            Some(so) => flow::acknowledge(conn, so.supplier_id, so.id, *now).map(drop),
            None => Ok(()),
        },
        Op::Reject(o, p) => match part(conn, *o, *p) {
            Some(so) => flow::reject(conn, so.supplier_id, so.id, "out of stock", *now).map(drop),
            None => Ok(()),
        },
        Op::Ship(o, p) => match part(conn, *o, *p) {
            Some(so) => {
                flow::ship(conn, so.supplier_id, so.id, "SF Express", "SF1234567", *now).map(drop)
            }
            None => Ok(()),
        },
        Op::Deliver(o, p) => match part(conn, *o, *p) {
            Some(so) => flow::deliver(conn, so.supplier_id, so.id, *now).map(drop),
            None => Ok(()),
        },
        Op::Cancel(o) => match orders.get(o % orders.len().max(1)) {
            Some(id) => flow::cancel(conn, w.shop, *id, "buyer changed their mind", *now).map(drop),
            None => Ok(()),
        },
        Op::Request {
            order,
            line,
            quantity,
        } => match orders.get(order % orders.len().max(1)) {
            Some(id) => {
                let lines = model::lines(conn, *id).unwrap();
                let l = &lines[line % lines.len()];
                match flow::request_case(conn, *id, l.id, *quantity, "does not fit", *now) {
                    Ok(case) => {
                        cases.push(case.id);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            None => Ok(()),
        },
        Op::Next(o, p) => match part(conn, *o, *p) {
            Some(so) => match SupplierStatus::parse(&so.status) {
                Some(SupplierStatus::Routed) => {
                    flow::acknowledge(conn, so.supplier_id, so.id, *now).map(drop)
                }
                Some(SupplierStatus::Acknowledged) => {
                    flow::ship(conn, so.supplier_id, so.id, "SF Express", "SF1234567", *now)
                        .map(drop)
                }
                Some(SupplierStatus::Shipped) => {
                    flow::deliver(conn, so.supplier_id, so.id, *now).map(drop)
                }
                _ => Ok(()),
            },
            None => Ok(()),
        },
        Op::Approve(..)
        | Op::RejectCase(_)
        | Op::ShipBack(_)
        | Op::Receive(_)
        | Op::NextCase(_)
            if cases.is_empty() =>
        {
            Ok(())
        }
        Op::NextCase(c) => {
            let case = model::find_case(conn, cases[c % cases.len()])
                .unwrap()
                .unwrap();
            match CaseStatus::parse(&case.status) {
                Some(CaseStatus::Requested) => {
                    flow::approve_case(conn, case.supplier_id, case.id, false, *now).map(drop)
                }
                Some(CaseStatus::Approved) => {
                    flow::ship_back(conn, case.order_id, case.id, "YTO", "YT7654321", *now)
                        .map(drop)
                }
                Some(CaseStatus::ReturnShipped) => {
                    flow::receive_case(conn, case.supplier_id, case.id, *now).map(drop)
                }
                _ => Ok(()),
            }
        }
        Op::Approve(c, refund_only) => {
            let case = model::find_case(conn, cases[c % cases.len()])
                .unwrap()
                .unwrap();
            flow::approve_case(conn, case.supplier_id, case.id, *refund_only, *now).map(drop)
        }
        Op::RejectCase(c) => {
            let case = model::find_case(conn, cases[c % cases.len()])
                .unwrap()
                .unwrap();
            flow::reject_case(conn, case.supplier_id, case.id, "worn", *now).map(drop)
        }
        Op::ShipBack(c) => {
            let case = model::find_case(conn, cases[c % cases.len()])
                .unwrap()
                .unwrap();
            flow::ship_back(conn, case.order_id, case.id, "YTO", "YT7654321", *now).map(drop)
        }
        Op::Receive(c) => {
            let case = model::find_case(conn, cases[c % cases.len()])
                .unwrap()
                .unwrap();
            flow::receive_case(conn, case.supplier_id, case.id, *now).map(drop)
        }
        Op::Days(d) => {
            *now += Duration::days(*d);
            Ok(())
        }
    };
    if let Err(kaibo::orders::OrderError::Db(e)) = result {
        panic!("database error on {op:?}: {e}");
    }
}

/// Checks the orders `only` (after each step), or every order and the stock.
fn check(w: &World, conn: &mut DbConn, only: Option<&[i64]>) -> Result<(), TestCaseError> {
    let all: Vec<i64> = match only {
        Some(ids) => ids.to_vec(),
        None => kaibo::db::schema::orders::table
            .select(kaibo::db::schema::orders::id)
            .load(conn)
            .unwrap(),
    };
    let mut held: BTreeMap<i64, i64> = BTreeMap::new();
    for id in all {
        let order = model::find_order(conn, id).unwrap().unwrap();
        let status = OrderStatus::parse(&order.status);
        prop_assert!(status.is_some(), "order status {}", order.status);
        let status = status.unwrap();
        let lines = model::lines(conn, id).unwrap();
        let parts = model::supplier_orders_of(conn, id).unwrap();
        let cases = model::cases_of(conn, id).unwrap();
        let part_status: Vec<SupplierStatus> = parts
            .iter()
            .map(|p| SupplierStatus::parse(&p.status).unwrap())
            .collect();
        if matches!(
            status,
            OrderStatus::Routed
                | OrderStatus::PartiallyShipped
                | OrderStatus::Shipped
                | OrderStatus::Delivered
        ) {
            prop_assert_eq!(
                OrderStatus::from_parts(&part_status),
                status,
                "order {} parts",
                id
            );
        }
        // Every logged transition is one the state machines allow.
        for e in model::events_of(conn, id).unwrap() {
            let Some(from) = e.from_status.as_deref() else {
                continue;
            };
            let legal = match e.entity.as_str() {
                "order" => OrderStatus::parse(from)
                    .unwrap()
                    .can_go(OrderStatus::parse(&e.to_status).unwrap()),
                "supplier_order" => SupplierStatus::parse(from)
                    .unwrap()
                    .can_go(SupplierStatus::parse(&e.to_status).unwrap()),
                _ => CaseStatus::parse(from)
                    .unwrap()
                    .can_go(CaseStatus::parse(&e.to_status).unwrap()),
            };
            prop_assert!(legal, "event {} {} -> {}", e.entity, from, e.to_status);
        }
        // Money: what the gateway captured and refunded is what the order says.
        let pays: Vec<(String, bool, i64)> = payments::table
            .filter(payments::order_id.eq(id))
            .select((payments::kind, payments::succeeded, payments::amount_fen))
            .load(conn)
            .unwrap();
        let captured: i64 = pays
            .iter()
            .filter(|p| p.0 == "capture" && p.1)
            .map(|p| p.2)
            .sum();
        let refunded: i64 = pays
            .iter()
            .filter(|p| p.0 == "refund" && p.1)
            .map(|p| p.2)
            .sum();
        prop_assert_eq!(order.paid_fen, captured);
        prop_assert_eq!(order.refunded_fen, refunded);
        let kept: i64 = lines.iter().map(|l| l.total_fen() - l.refunded_fen).sum();
        if order.paid_fen > 0 {
            prop_assert_eq!(
                order.paid_fen,
                order.refunded_fen + kept,
                "paid = refunded + kept"
            );
        } else {
            prop_assert_eq!(order.refunded_fen, 0);
        }
        prop_assert!(
            lines
                .iter()
                .all(|l| l.refunded_fen <= l.total_fen() && l.returned_quantity <= l.quantity)
        );
        let (commission, earnings) = money::kept_earnings(&lines, order.fee_bp);
        prop_assert_eq!(
            (order.commission_fen, order.earnings_fen),
            (commission, earnings)
        );
        // Stock: units still out of the shelf for this order.
        for line in &lines {
            let part = parts.iter().find(|p| Some(p.id) == line.supplier_order_id);
            let released = !status.holds_stock()
                || part.is_some_and(|p| {
                    matches!(
                        SupplierStatus::parse(&p.status),
                        Some(SupplierStatus::Rejected | SupplierStatus::Cancelled)
                    )
                });
            let returned: i64 = cases
                .iter()
                .filter(|c| {
                    c.line_id == line.id && c.status == "refunded" && c.return_tracking.is_some()
                })
                .map(|c| c.quantity as i64)
                .sum();
            let out = if released {
                0
            } else {
                line.quantity as i64 - returned
            };
            *held.entry(line.sku_id).or_default() += out;
        }
    }
    if only.is_some() {
        return Ok(());
    }
    for (sku, initial) in &w.initial {
        let stock: i32 = skus::table
            .find(sku)
            .select(skus::stock)
            .first(conn)
            .unwrap();
        let out = held.get(sku).copied().unwrap_or(0);
        prop_assert_eq!(
            *initial as i64,
            stock as i64 + out,
            "stock of sku {} is conserved",
            sku
        );
    }
    Ok(())
}

#[test]
fn random_operations_keep_every_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = postgres_url().map(|server| {
        let (url, name) = create_postgres_database(&server);
        (server, name, url)
    });
    let url = match &postgres {
        Some((_, _, u)) => DatabaseUrl::Postgres(u.clone()),
        None => DatabaseUrl::Sqlite(dir.path().join("prop.db")),
    };
    let w = world(&url);
    let counter = std::cell::Cell::new(0usize);
    let config = ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let result = proptest::test_runner::TestRunner::new(config).run(
        &prop::collection::vec(op(), 10..60),
        |ops| {
            let mut conn = w.pool.get().unwrap();
            let mut now = chrono::Utc::now().naive_utc();
            let (mut orders, mut cases) = (Vec::new(), Vec::new());
            for op in &ops {
                counter.set(counter.get() + 1);
                apply(
                    &w,
                    &mut conn,
                    &mut orders,
                    &mut cases,
                    op,
                    counter.get(),
                    &mut now,
                );
                check(&w, &mut conn, Some(&orders))?;
            }
            check(&w, &mut conn, None)
        },
    );
    // The run reached deep states, not only placements.
    let mut conn = w.pool.get().unwrap();
    let statuses: Vec<String> = kaibo::db::schema::after_sales::table
        .select(kaibo::db::schema::after_sales::status)
        .load(&mut conn)
        .unwrap();
    let delivered: i64 = kaibo::db::schema::supplier_orders::table
        .filter(kaibo::db::schema::supplier_orders::status.eq("delivered"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    let by_status: Vec<String> = kaibo::db::schema::orders::table
        .select(kaibo::db::schema::orders::status)
        .load(&mut conn)
        .unwrap();
    eprintln!("cases: {statuses:?}; delivered parts: {delivered}; orders: {by_status:?}");
    assert!(delivered > 0, "the random runs reached delivery");
    drop(conn);
    drop(w);
    if let Some((server, name, _)) = &postgres {
        drop_postgres_database(server, name);
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}
