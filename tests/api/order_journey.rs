//! The whole order flow in a real browser, end to end on a live shop: a guest orders with
//! cash on delivery, the supplier logs in and ships, the buyer sees the tracking number,
//! asks for a return, the supplier approves, the buyer sends it back, the supplier
//! receives it and the buyer is refunded. Screenshots go to `target/screenshots/journey-*`.

use diesel::prelude::*;
use fantoccini::{Client, Locator};
use kaibo::accounts::domain::{Email, Role};
use kaibo::accounts::users;
use kaibo::db::schema::{orders, skus, suppliers};
use kaibo::orders::Mode;

use crate::browser::{
    body_text, browser_tools, click, fill, full_screenshot, log_in_to, open_browser, start_driver,
    wait_for, wait_gone,
};
use crate::shop_fixture::*;

async fn submit(browser: &Client, form: &str) {
    click(browser, &format!("{form} button[type=submit]")).await;
}

#[tokio::test]
async fn chromium_guest_order_to_refund_on_a_live_shop() {
    let Some((driver_path, chromium)) = browser_tools() else {
        assert!(
            std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
            "chromium is not installed, but KAIBO_REQUIRE_BROWSER is set"
        );
        eprintln!("SKIPPED journey browser test: chromium and chromedriver are not installed");
        return;
    };
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    // A supplier account that manages the product's supplier.
    let supplier_email = f.app.create_user(Role::Supplier);
    {
        let mut conn = f.app.pool.get().unwrap();
        let user = users::find_by_email(&mut conn, &Email::parse(&supplier_email).unwrap())
            .unwrap()
            .unwrap();
        diesel::update(suppliers::table.find(a.supplier_id))
            .set(suppliers::user_id.eq(user.id))
            .execute(&mut conn)
            .unwrap();
    }
    let driver = start_driver(&driver_path).await;
    let buyer = open_browser(&driver, &chromium, "en").await;
    let supplier = open_browser(&driver, &chromium, "en").await;

    // The guest buys one unit with cash on delivery.
    buyer
        .goto(
            &f.app
                .url(&format!("/shop/{}/products/{}", f.handle, a.product_id)),
        )
        .await
        .unwrap();
    fill(&buyer, &format!("#quantity-{}", a.sku_id), "1").await;
    submit(&buyer, "form.add-form").await;
    wait_for(&buyer, ".flash").await;
    click(&buyer, "a.button.primary").await;
    wait_for(&buyer, "#name").await;
    fill(&buyer, "#name", "Wang Fang").await;
    fill(&buyer, "#phone", "139 0000 1234").await;
    fill(&buyer, "#address", "18 Xihu Road, Hangzhou, Zhejiang").await;
    submit(&buyer, "form[action$='/checkout']").await;
    wait_for(&buyer, ".order-status").await;
    let order_url = buyer.current_url().await.unwrap().to_string();
    assert!(body_text(&buyer).await.contains("Sent to supplier"));
    full_screenshot(&buyer, "journey-1-ordered").await;

    // The supplier acknowledges, ships with tracking and marks it delivered.
    log_in_to(&supplier, &f.app, &supplier_email, "/supplier").await;
    supplier.goto(&f.app.url("/supplier/orders")).await.unwrap();
    click(&supplier, "h2 a[href^='/supplier/orders/']").await;
    wait_for(&supplier, "form[action$='/acknowledge']").await;
    full_screenshot(&supplier, "journey-2-supplier-order").await;
    submit(&supplier, "form[action$='/acknowledge']").await;
    wait_gone(&supplier, "form[action$='/acknowledge']").await;
    wait_for(&supplier, "#tracking").await;
    fill(&supplier, "#carrier", "SF Express").await;
    fill(&supplier, "#tracking", "SF1402938475").await;
    submit(&supplier, "form[action$='/ship']").await;
    wait_for(&supplier, "form[action$='/deliver']").await;
    full_screenshot(&supplier, "journey-3-supplier-shipped").await;

    // The buyer sees the tracking number.
    buyer.goto(&order_url).await.unwrap();
    assert!(
        body_text(&buyer).await.contains("SF1402938475"),
        "tracking shown"
    );
    full_screenshot(&buyer, "journey-4-buyer-tracking").await;

    submit(&supplier, "form[action$='/deliver']").await;
    wait_gone(&supplier, "form[action$='/deliver']").await;

    // The buyer asks for a return.
    buyer.goto(&order_url).await.unwrap();
    click(&buyer, "details.return-form summary").await;
    buyer
        .find(Locator::Css("details.return-form textarea[name=reason]"))
        .await
        .unwrap()
        .send_keys("The size is too small")
        .await
        .unwrap();
    submit(&buyer, "details.return-form form").await;
    wait_for(&buyer, ".flash").await;
    full_screenshot(&buyer, "journey-5-return-requested").await;

    // The supplier approves it with a return.
    supplier
        .goto(&f.app.url("/supplier/returns"))
        .await
        .unwrap();
    assert!(body_text(&supplier).await.contains("The size is too small"));
    click(
        &supplier,
        "form[action$='/approve']:not(:has(input[name=refund_only])) button",
    )
    .await;
    wait_for(&supplier, ".flash").await;

    // The buyer sends it back.
    buyer.goto(&order_url).await.unwrap();
    wait_for(&buyer, "form[action$='/ship-back']").await;
    fill(
        &buyer,
        "form[action$='/ship-back'] input[name=carrier]",
        "YTO Express",
    )
    .await;
    fill(
        &buyer,
        "form[action$='/ship-back'] input[name=tracking]",
        "YT8837261540",
    )
    .await;
    submit(&buyer, "form[action$='/ship-back']").await;
    wait_for(&buyer, ".flash").await;

    // The supplier receives it: refunded, stock back.
    supplier
        .goto(&f.app.url("/supplier/returns"))
        .await
        .unwrap();
    assert!(body_text(&supplier).await.contains("YT8837261540"));
    submit(&supplier, "form[action$='/receive']").await;
    wait_gone(&supplier, "form[action$='/receive']").await;
    full_screenshot(&supplier, "journey-6-supplier-received").await;

    buyer.goto(&order_url).await.unwrap();
    let text = body_text(&buyer).await;
    assert!(
        text.contains("Refunded"),
        "the buyer sees the refund: {text}"
    );
    full_screenshot(&buyer, "journey-7-refunded").await;
    buyer.close().await.unwrap();
    supplier.close().await.unwrap();

    // The creator sees the order, its timeline and the case on the desk.
    let creator = open_browser(&driver, &chromium, "zh-CN").await;
    log_in_to(&creator, &f.app, &f.creator_email, "/learn").await;
    creator.goto(&f.app.url("/desk/orders")).await.unwrap();
    assert!(body_text(&creator).await.contains("每日汇总"));
    full_screenshot(&creator, "journey-8-desk").await;
    click(&creator, "td a[href^='/desk/orders/']").await;
    wait_for(&creator, "ol.timeline").await;
    assert!(body_text(&creator).await.contains("The size is too small"));
    full_screenshot(&creator, "journey-9-desk-order").await;
    creator.close().await.unwrap();

    let mut conn = f.app.pool.get().unwrap();
    let (paid, refunded): (i64, i64) = orders::table
        .select((orders::paid_fen, orders::refunded_fen))
        .first(&mut conn)
        .unwrap();
    assert_eq!((paid, refunded), (a.price_fen, a.price_fen));
    let stock: i32 = skus::table
        .find(a.sku_id)
        .select(skus::stock)
        .first(&mut conn)
        .unwrap();
    assert_eq!(stock, a.stock, "the returned unit is back in stock");
}
