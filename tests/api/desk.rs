//! The creator's order desk over HTTP: filters, totals, the timeline, cancelling, case
//! notes, and nobody else's orders.

use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::db::schema::{orders, supplier_orders};
use kaibo::orders::{Mode, flow};
use serde_json::json;

use crate::shop_fixture::*;

async fn page(f: &ShopFixture, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = f.app.get_with(client, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_desk_lists_filters_totals_and_cancels() {
    let f = shop_fixture(Mode::Live, 2).await;
    let first = f.paid_order("desk-order-0001").await;
    let second = f
        .post_order(
            "desk-order-0002",
            &f.order_json(&[(f.products[1].sku_id, 2)], json!({"method": "cod"})),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let (r1, r2) = (
        first["reference"].as_str().unwrap().to_string(),
        second["reference"].as_str().unwrap().to_string(),
    );

    let (status, html) = page(&f, &f.creator, "/desk/orders").await;
    assert_eq!(status, 200);
    assert!(html.contains(&r1) && html.contains(&r2));
    assert!(html.contains("Daily totals"));
    let gmv =
        kaibo::catalog::pricing::yuan_text(f.products[0].price_fen + 2 * f.products[1].price_fen);
    assert!(html.contains(&gmv), "GMV {gmv} in the daily totals");

    // Filter by product: only the second order.
    let (_, html) = page(
        &f,
        &f.creator,
        &format!("/desk/orders?product={}", f.products[1].product_id),
    )
    .await;
    assert!(html.contains(&r2) && !html.contains(&r1));
    let (_, html) = page(&f, &f.creator, "/desk/orders?mode=sandbox").await;
    assert!(!html.contains(&r1), "no sandbox orders");
    // Bad filters are named, not a 500.
    let (status, html) = page(
        &f,
        &f.creator,
        "/desk/orders?status=lost&from=yesterday&product=x",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains("Unknown status.")
            && html.contains("Use a date like")
            && html.contains("A product number")
    );

    // Detail with its timeline, then cancel: refunded, stock back.
    let (status, html) = page(&f, &f.creator, &format!("/desk/orders/{r1}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Timeline") && html.contains("Sent to supplier"));
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/desk/orders/{r1}/cancel"),
            &[("reason", "")],
        )
        .await;
    let st = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(
        st,
        422,
        "a reason is required: {}",
        &text[text.len().saturating_sub(1500)..]
    );
    assert!(text.contains("Give a reason"));
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/desk/orders/{r1}/cancel"),
            &[("reason", "Buyer asked to cancel")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let mut conn = f.app.pool.get().unwrap();
    let (status, refunded): (String, i64) = orders::table
        .filter(orders::reference.eq(&r1))
        .select((orders::status, orders::refunded_fen))
        .first(&mut conn)
        .unwrap();
    assert_eq!(status, "cancelled");
    assert_eq!(refunded, f.products[0].price_fen);
    assert_eq!(f.stock(f.products[0].sku_id), f.products[0].stock);

    // Once shipped, cancelling is refused with a clear message.
    let so: (i64, i64) = supplier_orders::table
        .inner_join(orders::table)
        .filter(orders::reference.eq(&r2))
        .select((supplier_orders::id, supplier_orders::supplier_id))
        .first(&mut conn)
        .unwrap();
    let now = f.app.clock_now();
    flow::ship(&mut conn, so.1, so.0, "SF Express", "SF100200300", now).unwrap();
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &format!("/desk/orders/{r2}/cancel"),
            &[("reason", "Too late now")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("This cannot be done now"));
}

#[tokio::test]
async fn nobody_else_reads_or_touches_a_shops_orders() {
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("desk-other-0001").await;
    let reference = placed["reference"].as_str().unwrap();
    let other = f.app.logged_in_as(Role::Trainee).await;
    let (status, _) = page(&f, &other, &format!("/desk/orders/{reference}")).await;
    assert_eq!(status, 404, "another creator's order is not found");
    let (_, html) = page(&f, &other, "/desk/orders").await;
    assert!(!html.contains(reference));
    let r = f
        .app
        .post_form_with(
            &other,
            &format!("/desk/orders/{reference}/cancel"),
            &[("reason", "Not mine at all")],
        )
        .await;
    assert_eq!(r.status(), 404);
    for role in [Role::Supplier, Role::Instructor, Role::Admin] {
        let client = f.app.logged_in_as(role).await;
        let (status, _) = page(&f, &client, "/desk/orders").await;
        assert_eq!(status, 403, "{role:?}");
    }
    let r = f.app.get("/desk/orders").await;
    assert_eq!(r.status(), 303, "guests log in first");
    let status: String = orders::table
        .select(orders::status)
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(status, "routed", "unchanged");
}

#[tokio::test]
async fn creators_see_cases_and_keep_notes() {
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("desk-case-0001").await;
    let reference = placed["reference"].as_str().unwrap().to_string();
    let mut conn = f.app.pool.get().unwrap();
    let (order_id, so_id, supplier): (i64, i64, i64) = supplier_orders::table
        .inner_join(orders::table)
        .select((
            orders::id,
            supplier_orders::id,
            supplier_orders::supplier_id,
        ))
        .first(&mut conn)
        .unwrap();
    let now = f.app.clock_now();
    flow::ship(&mut conn, supplier, so_id, "SF Express", "SF100200301", now).unwrap();
    flow::deliver(&mut conn, supplier, so_id, now).unwrap();
    let line = kaibo::orders::model::lines(&mut conn, order_id).unwrap()[0].id;
    let case =
        flow::request_case(&mut conn, order_id, line, 1, "The colour is wrong", now).unwrap();
    drop(conn);

    let (status, html) = page(&f, &f.creator, "/desk/cases").await;
    assert_eq!(status, 200);
    assert!(html.contains("The colour is wrong") && html.contains(&reference));
    let (status, _) = page(&f, &f.creator, "/desk/cases?status=nope").await;
    assert_eq!(status, 400);
    let path = format!("/desk/cases/{}/notes", case.id);
    let r = f
        .app
        .post_form_with(&f.creator, &path, &[("note", "   ")])
        .await;
    assert_eq!(r.status(), 422);
    let r = f
        .app
        .post_form_with(
            &f.creator,
            &path,
            &[("note", "Offered an exchange by phone")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page(&f, &f.creator, &format!("/desk/orders/{reference}")).await;
    assert!(html.contains("Offered an exchange by phone"));
    // Another creator cannot write on this case.
    let other = f.app.logged_in_as(Role::Trainee).await;
    let r = f
        .app
        .post_form_with(&other, &path, &[("note", "sneaky")])
        .await;
    assert_eq!(r.status(), 404);
    let (_, html) = page(&f, &f.creator, &format!("/desk/orders/{reference}")).await;
    assert!(!html.contains("sneaky"));
}
