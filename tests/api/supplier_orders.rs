//! The supplier portal's order and return pages through HTTP: a supplier sees and
//! fulfils its own routed orders, never another supplier's; rejecting refunds and
//! restocks; a cancelled order cannot be shipped; returns are decided and received.

use diesel::prelude::*;
use kaibo::accounts::domain::{Email, Role};
use kaibo::accounts::users;
use kaibo::db::schema::{order_lines, supplier_orders, suppliers};
use kaibo::orders::{Mode, flow, model};

use crate::helpers::*;
use crate::orders::eventually;
use crate::shop_fixture::{ShopFixture, shop_fixture};

/// A supplier account, logged in, that manages the fixture's supplier `supplier_id`.
pub async fn supplier_client(app: &TestApp, supplier_id: i64) -> reqwest::Client {
    let email = app.create_user(Role::Supplier);
    let mut conn = app.pool.get().unwrap();
    let uid = users::find_by_email(&mut conn, &Email::parse(&email).unwrap())
        .unwrap()
        .unwrap()
        .id;
    diesel::update(suppliers::table.find(supplier_id))
        .set(suppliers::user_id.eq(Some(uid)))
        .execute(&mut conn)
        .unwrap();
    let client = new_client();
    let r = app.login_with(&client, &email, PASSWORD).await;
    assert_eq!(r.status(), 303);
    client
}

/// `(order id, supplier order id)` of a placed order's part for `supplier_id`.
pub fn ids_of(f: &ShopFixture, placed: &serde_json::Value, supplier_id: i64) -> (i64, i64) {
    let mut conn = f.app.pool.get().unwrap();
    let order = model::order_by_reference(&mut conn, placed["reference"].as_str().unwrap())
        .unwrap()
        .unwrap();
    let so: i64 = supplier_orders::table
        .filter(supplier_orders::order_id.eq(order.id))
        .filter(supplier_orders::supplier_id.eq(supplier_id))
        .select(supplier_orders::id)
        .first(&mut conn)
        .unwrap();
    (order.id, so)
}

/// The outbox has delivered every supplier order of this order.
pub async fn delivered_to_supplier(f: &ShopFixture, so_id: i64) {
    let pool = f.app.pool.clone();
    eventually("outbox delivery", || {
        supplier_orders::table
            .find(so_id)
            .select(supplier_orders::notified_at)
            .first::<Option<chrono::NaiveDateTime>>(&mut pool.get().unwrap())
            .unwrap()
            .is_some()
    })
    .await;
}

/// The order as its buyer's link reads it.
pub async fn order_json(f: &ShopFixture, placed: &serde_json::Value) -> serde_json::Value {
    let url = format!("/api{}", placed["url"].as_str().unwrap());
    let r = f.app.get(&url).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = app.get_with(client, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let r = app.post_form_with(client, path, fields).await;
    let status = r.status().as_u16();
    let loc = location(&r);
    (status, loc, r.text().await.unwrap())
}

#[tokio::test]
async fn a_supplier_fulfils_its_order_from_acceptance_to_delivery() {
    let f = shop_fixture(Mode::Live, 2).await;
    let placed = f.paid_order("supplier-portal-1").await;
    let sid = f.products[0].supplier_id;
    let (_, so) = ids_of(&f, &placed, sid);
    delivered_to_supplier(&f, so).await;
    let supplier = supplier_client(&f.app, sid).await;
    let reference = placed["reference"].as_str().unwrap();

    let (status, html) = page(&f.app, &supplier, "/supplier/orders?status=new").await;
    assert_eq!(status, 200);
    assert!(html.contains(reference), "the new order is listed");
    assert!(html.contains(&format!("/supplier/orders/{so}")));
    let (status, html) = page(
        &f.app,
        &supplier,
        &format!("/supplier/orders?q={}", &reference[..5]),
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains(reference), "found by reference");
    let (status, html) = page(&f.app, &supplier, "/supplier/orders?mode=sandbox").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains(reference),
        "a live order is not a sandbox one"
    );

    let detail = format!("/supplier/orders/{so}");
    let (status, html) = page(&f.app, &supplier, &detail).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Li Na") && html.contains("1 Nanjing Road"),
        "ship-to"
    );
    assert!(html.contains("× 1"), "the line and its quantity");
    assert!(html.contains("History"));

    let (status, loc, _) = post(&f.app, &supplier, &format!("{detail}/acknowledge"), &[]).await;
    assert_eq!((status, loc.as_str()), (303, detail.as_str()));
    let (_, html) = page(&f.app, &supplier, &detail).await;
    assert!(html.contains("Order accepted."), "flash");
    assert!(html.contains("Accepted by supplier"));

    let (status, _, _) = post(
        &f.app,
        &supplier,
        &format!("{detail}/ship"),
        &[("carrier", "SF Express"), ("tracking", "sf1234567890")],
    )
    .await;
    assert_eq!(status, 303);
    let json = order_json(&f, &placed).await;
    assert_eq!(json["status"], "shipped");
    assert_eq!(json["shipments"][0]["tracking"], "SF1234567890");
    assert_eq!(json["shipments"][0]["carrier"], "SF Express");

    let (status, _, _) = post(&f.app, &supplier, &format!("{detail}/deliver"), &[]).await;
    assert_eq!(status, 303);
    let json = order_json(&f, &placed).await;
    assert_eq!(json["status"], "delivered");
    let (_, html) = page(&f.app, &supplier, "/supplier/orders?status=delivered").await;
    assert!(html.contains(reference));
}

#[tokio::test]
async fn another_supplier_cannot_see_or_touch_the_order() {
    let f = shop_fixture(Mode::Live, 2).await;
    let placed = f.paid_order("supplier-portal-2").await;
    let (_, so) = ids_of(&f, &placed, f.products[0].supplier_id);
    let other = supplier_client(&f.app, f.products[1].supplier_id).await;
    let detail = format!("/supplier/orders/{so}");
    let (status, html) = page(&f.app, &other, &detail).await;
    assert_eq!(status, 404);
    assert!(!html.contains("Li Na"));
    let (_, html) = page(&f.app, &other, "/supplier/orders").await;
    assert!(!html.contains(placed["reference"].as_str().unwrap()));
    for (action, fields) in [
        ("acknowledge", vec![]),
        (
            "ship",
            vec![("carrier", "SF Express"), ("tracking", "SF000111")],
        ),
        ("reject", vec![("reason", "not mine to reject")]),
        ("deliver", vec![]),
    ] {
        let (status, _, _) = post(&f.app, &other, &format!("{detail}/{action}"), &fields).await;
        assert_eq!(status, 404, "{action}");
    }
    let json = order_json(&f, &placed).await;
    assert_eq!(json["status"], "routed");
    assert_eq!(json["shipments"][0]["status"], "routed");
    assert_eq!(json["refunded_fen"], 0);
}

#[tokio::test]
async fn only_supplier_accounts_reach_the_pages() {
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("supplier-portal-3").await;
    let (_, so) = ids_of(&f, &placed, f.products[0].supplier_id);
    let pages = [
        "/supplier/orders".to_string(),
        format!("/supplier/orders/{so}"),
        "/supplier/returns".to_string(),
        "/supplier/api-keys".to_string(),
    ];
    for role in [Role::Trainee, Role::Instructor, Role::Admin] {
        let client = f.app.logged_in_as(role).await;
        for p in &pages {
            let (status, _) = page(&f.app, &client, p).await;
            assert_eq!(status, 403, "{p} as {role:?}");
        }
        let (status, _, _) = post(
            &f.app,
            &client,
            &format!("/supplier/orders/{so}/acknowledge"),
            &[],
        )
        .await;
        assert_eq!(status, 403, "acknowledge as {role:?}");
    }
    let guest = new_client();
    for p in &pages {
        let r = f.app.get_with(&guest, p).await;
        assert_eq!(r.status(), 303, "{p} as a guest");
        assert!(location(&r).starts_with("/login"), "{p}");
    }
    // A supplier account without a supplier record is told to set one up.
    let fresh = f.app.logged_in_as(Role::Supplier).await;
    let (status, html) = page(&f.app, &fresh, "/supplier/orders").await;
    assert_eq!(status, 200);
    assert!(html.contains("/supplier/catalog"));
    let (status, _) = page(&f.app, &fresh, &format!("/supplier/orders/{so}")).await;
    assert_eq!(status, 404);
    assert_eq!(
        order_json(&f, &placed).await["shipments"][0]["status"],
        "routed"
    );
}

#[tokio::test]
async fn rejecting_refunds_that_part_and_restocks() {
    let f = shop_fixture(Mode::Live, 1).await;
    let sku = f.products[0].sku_id;
    let before = f.stock(sku);
    let placed = f.paid_order("supplier-portal-4").await;
    assert_eq!(f.stock(sku), before - 1);
    let sid = f.products[0].supplier_id;
    let (_, so) = ids_of(&f, &placed, sid);
    let supplier = supplier_client(&f.app, sid).await;
    let detail = format!("/supplier/orders/{so}");

    let (status, _, html) = post(
        &f.app,
        &supplier,
        &format!("{detail}/reject"),
        &[("reason", " ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Give a reason of 3 to 500 characters."),
        "{html}"
    );
    assert_eq!(order_json(&f, &placed).await["refunded_fen"], 0);

    let (status, _, _) = post(
        &f.app,
        &supplier,
        &format!("{detail}/reject"),
        &[("reason", "Out of stock in our warehouse")],
    )
    .await;
    assert_eq!(status, 303);
    let json = order_json(&f, &placed).await;
    assert_eq!(json["refunded_fen"], json["total_fen"]);
    assert_eq!(json["status"], "cancelled");
    assert_eq!(json["shipments"][0]["status"], "rejected");
    assert_eq!(f.stock(sku), before, "stock restored");
    let (_, html) = page(&f.app, &supplier, &detail).await;
    assert!(html.contains("Out of stock in our warehouse"));
    // Shipping what was rejected is refused in words.
    let (status, _, html) = post(
        &f.app,
        &supplier,
        &format!("{detail}/ship"),
        &[("carrier", "SF Express"), ("tracking", "SF1234567")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(html.contains("You rejected this order"));
}

#[tokio::test]
async fn a_cancelled_order_cannot_be_shipped() {
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("supplier-portal-5").await;
    let sid = f.products[0].supplier_id;
    let (order_id, so) = ids_of(&f, &placed, sid);
    {
        let mut conn = f.app.pool.get().unwrap();
        flow::cancel(
            &mut conn,
            f.creator_id,
            order_id,
            "Buyer changed their mind",
            f.app.clock_now(),
        )
        .unwrap();
    }
    let supplier = supplier_client(&f.app, sid).await;
    let (status, _, html) = post(
        &f.app,
        &supplier,
        &format!("/supplier/orders/{so}/ship"),
        &[("carrier", "SF Express"), ("tracking", "SF1234567")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        html.contains("The creator cancelled this order, so it can no longer be shipped"),
        "{html}"
    );
    let json = order_json(&f, &placed).await;
    assert_eq!(json["status"], "cancelled");
    assert_eq!(json["shipments"][0]["tracking"], serde_json::Value::Null);
    // Bad filters get a message, not an error page.
    let (status, html) = page(
        &f.app,
        &supplier,
        "/supplier/orders?status=lost&from=2026-13-01&page=x",
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("Unknown status"));
    assert!(html.contains("is not a date"));
    assert!(html.contains("The page must be a whole number"));
}

/// A delivered order of one unit from the first product, and the buyer's return request.
pub fn delivered_with_case(f: &ShopFixture, placed: &serde_json::Value) -> (i64, i64, i64) {
    let sid = f.products[0].supplier_id;
    let (order_id, so) = ids_of(f, placed, sid);
    let mut conn = f.app.pool.get().unwrap();
    let now = f.app.clock_now();
    flow::ship(&mut conn, sid, so, "SF Express", "SF5550001", now).unwrap();
    flow::deliver(&mut conn, sid, so, now).unwrap();
    let line: i64 = order_lines::table
        .filter(order_lines::order_id.eq(order_id))
        .select(order_lines::id)
        .first(&mut conn)
        .unwrap();
    let case = flow::request_case(
        &mut conn,
        order_id,
        line,
        1,
        "Arrived with a cracked lid",
        now,
    )
    .unwrap();
    (order_id, so, case.id)
}

#[tokio::test]
async fn a_return_is_approved_received_and_refunded() {
    let f = shop_fixture(Mode::Live, 2).await;
    let sku = f.products[0].sku_id;
    let before = f.stock(sku);
    let placed = f.paid_order("supplier-portal-6").await;
    let sid = f.products[0].supplier_id;
    let (order_id, _, case) = delivered_with_case(&f, &placed);
    let supplier = supplier_client(&f.app, sid).await;
    let (status, html) = page(&f.app, &supplier, "/supplier/returns?status=requested").await;
    assert_eq!(status, 200);
    assert!(html.contains("Arrived with a cracked lid"));
    // Another supplier neither sees nor decides it.
    let other = supplier_client(&f.app, f.products[1].supplier_id).await;
    let (_, html) = page(&f.app, &other, "/supplier/returns").await;
    assert!(!html.contains("cracked lid"));
    let (status, _, _) = post(
        &f.app,
        &other,
        &format!("/supplier/returns/{case}/approve"),
        &[],
    )
    .await;
    assert_eq!(status, 404);

    let (status, loc, _) = post(
        &f.app,
        &supplier,
        &format!("/supplier/returns/{case}/approve"),
        &[],
    )
    .await;
    assert_eq!((status, loc.as_str()), (303, "/supplier/returns"));
    {
        let mut conn = f.app.pool.get().unwrap();
        flow::ship_back(
            &mut conn,
            order_id,
            case,
            "SF Express",
            "SF7770001",
            f.app.clock_now(),
        )
        .unwrap();
    }
    let (status, _, _) = post(
        &f.app,
        &supplier,
        &format!("/supplier/returns/{case}/receive"),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&f.app, &supplier, "/supplier/returns").await;
    assert!(html.contains("Return received: the buyer is refunded"));
    assert!(html.contains("Refunded"));
    let json = order_json(&f, &placed).await;
    assert_eq!(json["refunded_fen"], json["total_fen"]);
    assert_eq!(f.stock(sku), before, "restocked");
    // Receiving again changes nothing.
    let (status, _, _) = post(
        &f.app,
        &supplier,
        &format!("/supplier/returns/{case}/receive"),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        order_json(&f, &placed).await["refunded_fen"],
        json["total_fen"]
    );
}

#[tokio::test]
async fn a_return_is_rejected_with_a_reason() {
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("supplier-portal-7").await;
    let sid = f.products[0].supplier_id;
    let (_, _, case) = delivered_with_case(&f, &placed);
    let supplier = supplier_client(&f.app, sid).await;
    let path = format!("/supplier/returns/{case}/reject");
    let (status, _, html) = post(&f.app, &supplier, &path, &[("reason", "")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("Give a reason of 3 to 500 characters."));
    let (_, html) = page(&f.app, &supplier, "/supplier/returns?status=requested").await;
    assert!(html.contains("cracked lid"), "still requested");
    let (status, _, _) = post(
        &f.app,
        &supplier,
        &path,
        &[("reason", "The photos show the lid was fine on delivery")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&f.app, &supplier, "/supplier/returns?status=rejected").await;
    assert!(html.contains("The photos show the lid was fine on delivery"));
    assert_eq!(order_json(&f, &placed).await["refunded_fen"], 0);
}
