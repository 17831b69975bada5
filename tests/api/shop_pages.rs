//! The buyer's pages through HTTP: shop, product, cart cookie, guest checkout, the order
//! page behind its secret link, and returns.

use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::db::schema::{after_sales, orders, supplier_orders, suppliers};
use kaibo::orders::{Mode, flow};

use crate::helpers::*;
use crate::shop_fixture::{ShopFixture, shop_fixture};

const QUANTITY_MESSAGE: &str = "Enter a whole number from 1 to 99.";

fn count_orders(f: &ShopFixture) -> i64 {
    orders::table
        .count()
        .get_result(&mut f.app.pool.get().unwrap())
        .unwrap()
}

fn yuan(fen: i64) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

async fn get(f: &ShopFixture, client: &reqwest::Client, path: &str) -> (u16, String) {
    let r = f.app.get_with(client, path).await;
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// Adds `quantity` (as typed) of a SKU through the product page's form.
async fn add_to_cart(
    f: &ShopFixture,
    client: &reqwest::Client,
    product: usize,
    quantity: &str,
) -> reqwest::Response {
    let p = &f.products[product];
    let (status, html) = get(
        f,
        client,
        &format!("/shop/{}/products/{}", f.handle, p.product_id),
    )
    .await;
    assert_eq!(status, 200, "product page");
    client
        .post(f.app.url(&format!("/shop/{}/cart", f.handle)))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("sku_id", &p.sku_id.to_string()),
            ("quantity", quantity),
        ])
        .send()
        .await
        .unwrap()
}

/// The checkout form's fields, as the page rendered them, plus `extra`.
async fn checkout_form(
    f: &ShopFixture,
    client: &reqwest::Client,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let (status, html) = get(f, client, &format!("/shop/{}/checkout", f.handle)).await;
    assert_eq!(status, 200, "checkout page");
    let mut form = vec![
        ("csrf".to_string(), csrf_token(&html)),
        (
            "idempotency_key".to_string(),
            // An empty cart's page has no form: post a key of our own.
            hidden(&html, "idempotency_key").unwrap_or_else(|| "web-test-key-1".into()),
        ),
        ("name".to_string(), "Li Na".to_string()),
        ("phone".to_string(), "+86 138 0013 8000".to_string()),
        (
            "address".to_string(),
            "1 Nanjing Road, Huangpu, Shanghai".to_string(),
        ),
    ];
    for (k, v) in extra {
        form.retain(|(name, _)| name != k);
        form.push((k.to_string(), v.to_string()));
    }
    form
}

async fn post_checkout(
    f: &ShopFixture,
    client: &reqwest::Client,
    form: &[(String, String)],
) -> reqwest::Response {
    client
        .post(f.app.url(&format!("/shop/{}/checkout", f.handle)))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_guest_browses_a_live_shop_buys_with_cash_on_delivery_and_sees_the_order() {
    let f = shop_fixture(Mode::Live, 2).await;
    let guest = new_client();
    let a = f.products[0].clone();
    let (status, html) = get(&f, &guest, &format!("/shop/{}", f.handle)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&yuan(a.price_fen)), "showcase price shown");
    assert!(html.contains(&format!("/shop/{}/products/{}", f.handle, a.product_id)));
    assert!(html.contains("In stock"));

    // Two units, then the cart shows the server's prices and total.
    let r = add_to_cart(&f, &guest, 0, "2").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/shop/{}/cart", f.handle));
    let cookie = set_cookie(&r, "kaibo_cart").expect("cart cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        cookie.contains(&format!("Path=/shop/{}", f.handle)),
        "{cookie}"
    );
    assert!(
        !cookie.contains(&a.price_fen.to_string()),
        "no price in the cookie"
    );
    let (status, html) = get(&f, &guest, &format!("/shop/{}/cart", f.handle)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Added to your cart."));
    assert!(html.contains(&format!("Total: {}", yuan(a.price_fen * 2))));

    // Prices posted with the form are ignored: the server's price wins.
    let form = checkout_form(
        &f,
        &guest,
        &[
            ("payment_method", "cod"),
            ("unit_price_fen", "1"),
            ("price", "0.01"),
            ("total_fen", "1"),
        ],
    )
    .await;
    let r = post_checkout(&f, &guest, &form).await;
    assert_eq!(r.status(), 303);
    let order_url = location(&r);
    let token = order_url.strip_prefix("/orders/").expect("order link");
    assert_eq!(token.len(), 24);
    let cleared = set_cookie(&r, "kaibo_cart").expect("cart cleared");
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("expires"),
        "{cleared}"
    );
    let total: i64 = orders::table
        .select(orders::total_fen)
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(total, a.price_fen * 2);
    assert_eq!(f.stock(a.sku_id), a.stock - 2);

    let (status, html) = get(&f, &guest, &order_url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Sent to supplier"), "status translated");
    assert!(html.contains("Cash on delivery"));
    assert!(html.contains(&yuan(a.price_fen * 2)));
    // The cart is empty after the order.
    let (_, html) = get(&f, &guest, &format!("/shop/{}/cart", f.handle)).await;
    assert!(html.contains("Your cart is empty."));

    // The same page in Chinese.
    let zh = new_client();
    let r = zh
        .get(f.app.url(&order_url))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("货到付款"));
}

#[tokio::test]
async fn unknown_handles_tokens_and_products_are_404() {
    let f = shop_fixture(Mode::Live, 1).await;
    let guest = new_client();
    for path in [
        "/shop/no-such-shop".to_string(),
        "/shop/AB".to_string(),
        "/shop/Bad_Handle%20x".to_string(),
        format!("/shop/{}/products/999999", f.handle),
        format!("/shop/{}/products/abc", f.handle),
        "/orders/not-a-token".to_string(),
        "/orders/AAAAAAAAAAAAAAAAAAAAAAAA".to_string(),
        "/orders/%00%01".to_string(),
    ] {
        let (status, _) = get(&f, &guest, &path).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn a_sandbox_shop_is_404_for_everyone_but_its_owner() {
    let f = shop_fixture(Mode::Sandbox, 1).await;
    let guest = new_client();
    let other = f.app.logged_in_as(Role::Trainee).await;
    let p = &f.products[0];
    for path in [
        format!("/shop/{}", f.handle),
        format!("/shop/{}/products/{}", f.handle, p.product_id),
        format!("/shop/{}/cart", f.handle),
        format!("/shop/{}/checkout", f.handle),
    ] {
        assert_eq!(get(&f, &guest, &path).await.0, 404, "guest {path}");
        assert_eq!(get(&f, &other, &path).await.0, 404, "other {path}");
        assert_eq!(get(&f, &f.creator, &path).await.0, 200, "owner {path}");
    }
    // The owner finds the shop from the showcase page.
    let (status, html) = get(&f, &f.creator, "/showcase").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"/shop/{}\"", f.handle)));
    assert!(html.contains("Open my shop"));
}

#[tokio::test]
async fn bad_quantities_get_a_message_and_write_nothing() {
    let f = shop_fixture(Mode::Live, 1).await;
    let guest = new_client();
    for q in ["0", "-1", "100000", "abc", ""] {
        let r = add_to_cart(&f, &guest, 0, q).await;
        assert_eq!(r.status(), 422, "{q:?}");
        assert!(set_cookie(&r, "kaibo_cart").is_none());
        let html = r.text().await.unwrap();
        assert!(html.contains(QUANTITY_MESSAGE), "{q:?}");
        assert!(html.contains("aria-invalid=\"true\""));
    }
    // Nothing in the cart, so checkout says so, with a 422, and no order is written.
    let form = checkout_form(&f, &guest, &[("payment_method", "cod")]).await;
    let r = post_checkout(&f, &guest, &form).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Your cart is empty. Add a product first.")
    );
    assert_eq!(count_orders(&f), 0);

    // In the cart, an update to a bad quantity is refused the same way.
    assert_eq!(add_to_cart(&f, &guest, 0, "1").await.status(), 303);
    let (_, html) = get(&f, &guest, &format!("/shop/{}/cart", f.handle)).await;
    for q in ["0", "100000", "abc"] {
        let r = guest
            .post(f.app.url(&format!("/shop/{}/cart/update", f.handle)))
            .form(&[
                ("csrf", csrf_token(&html).as_str()),
                ("sku_id", &f.products[0].sku_id.to_string()),
                ("quantity", q),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{q}");
        assert!(r.text().await.unwrap().contains(QUANTITY_MESSAGE));
    }
    // More than the stock is refused with the number left.
    let r = add_to_cart(&f, &guest, 0, "99").await;
    if f.products[0].stock < 100 {
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("left"));
    }
    assert_eq!(count_orders(&f), 0);
}

#[tokio::test]
async fn a_tampered_cart_cookie_is_an_empty_cart() {
    let f = shop_fixture(Mode::Live, 1).await;
    let sku = f.products[0].sku_id;
    for value in [
        format!("{sku}-2-0~forged"),
        format!("{sku}-2-0"),
        "%%%".to_string(),
        "x".repeat(3000),
    ] {
        let r = f
            .app
            .client
            .get(f.app.url(&format!("/shop/{}/cart", f.handle)))
            .header("Cookie", format!("kaibo_cart={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{value}");
        assert!(r.text().await.unwrap().contains("Your cart is empty."));
    }
}

#[tokio::test]
async fn a_double_submit_of_one_checkout_form_is_one_order() {
    let f = shop_fixture(Mode::Live, 1).await;
    let guest = new_client();
    assert_eq!(add_to_cart(&f, &guest, 0, "1").await.status(), 303);
    let form = checkout_form(&f, &guest, &[("payment_method", "cod")]).await;
    // Both requests leave with the cart cookie, as a double click does.
    let url = f.app.url(&format!("/shop/{}/checkout", f.handle));
    let first = guest.post(&url).form(&form).send();
    let second = guest.post(&url).form(&form).send();
    let (first, second) = tokio::join!(first, second);
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.status(), 303);
    assert_eq!(second.status(), 303);
    assert_eq!(location(&first), location(&second));
    assert_eq!(count_orders(&f), 1);
    assert_eq!(f.stock(f.products[0].sku_id), f.products[0].stock - 1);
}

#[tokio::test]
async fn a_declined_test_card_shows_the_decline_and_keeps_the_cart() {
    let f = shop_fixture(Mode::Sandbox, 1).await;
    let owner = &f.creator;
    let a = f.products[0].clone();
    assert_eq!(add_to_cart(&f, owner, 0, "1").await.status(), 303);
    let form = checkout_form(
        &f,
        owner,
        &[
            ("payment_method", "card"),
            ("card_number", "4000 0000 0000 0002"),
        ],
    )
    .await;
    let r = post_checkout(&f, owner, &form).await;
    assert_eq!(r.status(), 422);
    assert!(set_cookie(&r, "kaibo_cart").is_none(), "cart kept");
    let html = r.text().await.unwrap();
    assert!(html.contains("The card was declined. Try another card."));
    assert!(html.contains("Li Na"), "the form keeps what was typed");
    assert_eq!(f.stock(a.sku_id), a.stock, "stock given back");
    let (_, cart) = get(&f, owner, &format!("/shop/{}/cart", f.handle)).await;
    assert!(cart.contains(&format!("Total: {}", yuan(a.price_fen))));

    // Not a test card: refused before any order; then a good card goes through.
    let form = checkout_form(
        &f,
        owner,
        &[
            ("payment_method", "card"),
            ("card_number", "1234 5678 9012"),
        ],
    )
    .await;
    let r = post_checkout(&f, owner, &form).await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This is a sandbox shop: use one of the test card numbers.")
    );
    let form = checkout_form(
        &f,
        owner,
        &[
            ("payment_method", "card"),
            ("card_number", "4242424242424242"),
        ],
    )
    .await;
    let r = post_checkout(&f, owner, &form).await;
    assert_eq!(r.status(), 303);
    let (status, html) = get(&f, owner, &location(&r)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Test card ending 4242"));
    assert!(html.contains("Sandbox"));
}

#[tokio::test]
async fn a_live_shop_refuses_cards_and_field_problems_show_next_to_fields() {
    let f = shop_fixture(Mode::Live, 1).await;
    let guest = new_client();
    assert_eq!(add_to_cart(&f, &guest, 0, "1").await.status(), 303);
    let form = checkout_form(
        &f,
        &guest,
        &[
            ("payment_method", "card"),
            ("card_number", "4242424242424242"),
            ("phone", "abc"),
        ],
    )
    .await;
    let r = post_checkout(&f, &guest, &form).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Enter a phone number of 6 to 15 digits."));
    assert!(html.contains("This shop takes cash on delivery only."));
    // Without its idempotency key the request is malformed.
    let form: Vec<(String, String)> = checkout_form(&f, &guest, &[("payment_method", "cod")])
        .await
        .into_iter()
        .filter(|(k, _)| k != "idempotency_key")
        .collect();
    assert_eq!(post_checkout(&f, &guest, &form).await.status(), 400);
    assert_eq!(count_orders(&f), 0);
}

/// Places a paid order through the API and delivers it through the supplier services;
/// returns the order page's path and the order's only line id.
async fn delivered_order(f: &ShopFixture, key: &str) -> (String, i64) {
    let placed = f.paid_order(key).await;
    let url = placed["url"].as_str().unwrap().to_string();
    let line_id = placed["lines"][0]["id"].as_i64().unwrap();
    let reference = placed["reference"].as_str().unwrap().to_string();
    let supplier = f.products[0].supplier_id;
    let mut conn = f.app.pool.get().unwrap();
    let order_id: i64 = orders::table
        .filter(orders::reference.eq(&reference))
        .select(orders::id)
        .first(&mut conn)
        .unwrap();
    let so: i64 = supplier_orders::table
        .filter(supplier_orders::order_id.eq(order_id))
        .select(supplier_orders::id)
        .first(&mut conn)
        .unwrap();
    let now = f.app.clock_now();
    flow::acknowledge(&mut conn, supplier, so, now).unwrap();
    flow::ship(&mut conn, supplier, so, "SF Express", "SF1234567", now).unwrap();
    flow::deliver(&mut conn, supplier, so, now).unwrap();
    (url, line_id)
}

async fn ask_return(
    f: &ShopFixture,
    client: &reqwest::Client,
    url: &str,
    line_id: i64,
    quantity: &str,
    reason: &str,
) -> reqwest::Response {
    let (status, html) = get(f, client, url).await;
    assert_eq!(status, 200);
    client
        .post(f.app.url(&format!("{url}/cases")))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("line_id", &line_id.to_string()),
            ("quantity", quantity),
            ("reason", reason),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_buyer_asks_for_a_return_and_ships_it_back_from_the_order_page() {
    let f = shop_fixture(Mode::Live, 1).await;
    let buyer = new_client();
    let (url, line_id) = delivered_order(&f, "shop-pages-return-1").await;
    let (status, html) = get(&f, &buyer, &url).await;
    assert_eq!(status, 200);
    assert!(html.contains("Delivered"));
    assert!(html.contains("SF1234567"));
    assert!(html.contains("Ask for a return"));

    // More than was bought, or not a number: a message next to the field.
    let r = ask_return(&f, &buyer, &url, line_id, "2", "Too small for me").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("You can return at most 1 of this item.")
    );
    let r = ask_return(&f, &buyer, &url, line_id, "abc", "Too small for me").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Enter how many to return, as a whole number.")
    );
    let r = ask_return(&f, &buyer, &url, line_id, "1", "x").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Give a reason of 3 to 500 characters.")
    );

    let r = ask_return(&f, &buyer, &url, line_id, "1", "Too small for me").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), url);
    let (_, html) = get(&f, &buyer, &url).await;
    assert!(html.contains("Your return request was sent."));
    assert!(html.contains("Requested"));
    assert!(!html.contains("Ask for a return"), "nothing left to return");

    // The supplier approves; the buyer enters the return's tracking.
    let case_id: i64 = after_sales::table
        .select(after_sales::id)
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    flow::approve_case(
        &mut f.app.pool.get().unwrap(),
        f.products[0].supplier_id,
        case_id,
        false,
        f.app.clock_now(),
    )
    .unwrap();
    let (_, html) = get(&f, &buyer, &url).await;
    assert!(html.contains("Approved"));
    let ship_back = format!("{url}/cases/{case_id}/ship-back");
    let r = buyer
        .post(f.app.url(&ship_back))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("carrier", "YTO"),
            ("tracking", "no spaces allowed"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("A tracking number is 4 to 40 letters, digits or dashes.")
    );
    let r = buyer
        .post(f.app.url(&ship_back))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("carrier", "YTO"),
            ("tracking", "yt-778899"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = get(&f, &buyer, &url).await;
    assert!(html.contains("Return on its way"));
    assert!(html.contains("YT-778899"));

    // Without a CSRF token nothing happens; another order's case is not found.
    let r = buyer
        .post(f.app.url(&format!("{url}/cases")))
        .form(&[("line_id", line_id.to_string()), ("quantity", "1".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (other_url, _) = delivered_order(&f, "shop-pages-return-2").await;
    let (_, html) = get(&f, &buyer, &other_url).await;
    let r = buyer
        .post(f.app.url(&format!("{other_url}/cases/{case_id}/ship-back")))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("carrier", "YTO"),
            ("tracking", "YT-1111"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_return_after_the_window_gets_a_clear_message() {
    let f = shop_fixture(Mode::Live, 1).await;
    let buyer = new_client();
    let (url, line_id) = delivered_order(&f, "shop-pages-late-1").await;
    let days: i32 = suppliers::table
        .find(f.products[0].supplier_id)
        .select(suppliers::return_days)
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    let (_, html) = get(&f, &buyer, &url).await;
    let token = csrf_token(&html);
    f.app.clock.advance(chrono::Duration::days(days as i64 + 1));
    let (_, html) = get(&f, &buyer, &url).await;
    assert!(html.contains("The return window closed on"));
    assert!(!html.contains("Ask for a return"));
    // A form kept open in a tab from before still gets the reason.
    let r = buyer
        .post(f.app.url(&format!("{url}/cases")))
        .form(&[
            ("csrf", token.as_str()),
            ("line_id", &line_id.to_string()),
            ("quantity", "1"),
            ("reason", "Changed my mind"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The return window closed on")
    );
    let cases: i64 = after_sales::table
        .count()
        .get_result(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(cases, 0);
}

/// A real phone-sized browser walks the shop in both languages: shop, product (with a
/// bad quantity), cart, checkout (with a bad phone), the order, and a delivered order
/// with its return form. Screenshots go to `target/screenshots/shop-*`.
#[tokio::test]
async fn chromium_walks_the_shop_to_an_order_in_both_languages() {
    use crate::browser::{
        body_text, browser_tools, click, fill, full_screenshot, open_browser, start_driver,
        wait_for,
    };
    use kaibo::db::schema::flash_deals;
    let Some((driver_path, chromium)) = browser_tools() else {
        assert!(
            std::env::var("KAIBO_REQUIRE_BROWSER").is_err(),
            "chromium is not installed, but KAIBO_REQUIRE_BROWSER is set"
        );
        eprintln!("SKIPPED shop browser test: chromium and chromedriver are not installed");
        return;
    };
    let f = shop_fixture(Mode::Live, 2).await;
    let b = f.products[1].clone();
    let now = f.app.clock_now();
    diesel::insert_into(flash_deals::table)
        .values((
            flash_deals::shop_user_id.eq(f.creator_id),
            flash_deals::sku_id.eq(b.sku_id),
            flash_deals::mode.eq("live"),
            flash_deals::price_fen.eq(b.price_fen * 8 / 10),
            flash_deals::quantity.eq(10),
            flash_deals::sold.eq(3),
            flash_deals::per_buyer_limit.eq(2),
            flash_deals::starts_at.eq(now),
            flash_deals::ends_at.eq(now + chrono::Duration::minutes(75)),
            flash_deals::created_at.eq(now),
        ))
        .execute(&mut f.app.pool.get().unwrap())
        .unwrap();
    let driver = start_driver(&driver_path).await;
    let a = f.products[0].clone();
    for (language, sfx, bad_quantity, order_status) in [
        ("en", "en", QUANTITY_MESSAGE, "Sent to supplier"),
        (
            "zh-CN",
            "zh",
            "请输入 1 到 99 之间的整数。",
            "已发送给供应商",
        ),
    ] {
        let browser = open_browser(&driver, &chromium, language).await;
        browser
            .goto(&f.app.url(&format!("/shop/{}", f.handle)))
            .await
            .unwrap();
        full_screenshot(&browser, &format!("shop-home-{sfx}")).await;
        browser
            .goto(
                &f.app
                    .url(&format!("/shop/{}/products/{}", f.handle, a.product_id)),
            )
            .await
            .unwrap();
        let quantity = format!("#quantity-{}", a.sku_id);
        fill(&browser, &quantity, "0").await;
        click(&browser, "form.add-form button[type=submit]").await;
        wait_for(&browser, ".field-error").await;
        assert!(body_text(&browser).await.contains(bad_quantity), "{sfx}");
        full_screenshot(&browser, &format!("shop-product-error-{sfx}")).await;
        fill(&browser, &quantity, "2").await;
        click(&browser, "form.add-form button[type=submit]").await;
        wait_for(&browser, ".flash").await;
        full_screenshot(&browser, &format!("shop-cart-{sfx}")).await;
        click(&browser, "a.button.primary").await;
        wait_for(&browser, "#name").await;
        fill(&browser, "#name", "Li Na").await;
        fill(&browser, "#phone", "abc").await;
        fill(&browser, "#address", "1 Nanjing Road, Huangpu, Shanghai").await;
        click(&browser, "form[action$='/checkout'] button[type=submit]").await;
        wait_for(&browser, ".field-error").await;
        full_screenshot(&browser, &format!("shop-checkout-error-{sfx}")).await;
        fill(&browser, "#phone", "+86 138 0013 8000").await;
        click(&browser, "form[action$='/checkout'] button[type=submit]").await;
        wait_for(&browser, ".order-status").await;
        assert!(body_text(&browser).await.contains(order_status), "{sfx}");
        assert!(
            browser
                .current_url()
                .await
                .unwrap()
                .path()
                .starts_with("/orders/")
        );
        full_screenshot(&browser, &format!("shop-order-{sfx}")).await;
        let (url, _) = delivered_order(&f, &format!("shop-browser-{sfx}")).await;
        browser.goto(&f.app.url(&url)).await.unwrap();
        click(&browser, "details.return-form summary").await;
        full_screenshot(&browser, &format!("shop-order-delivered-{sfx}")).await;
        browser.close().await.unwrap();
    }
}

#[tokio::test]
async fn a_flash_deal_sells_at_its_price_until_it_ends() {
    use kaibo::db::schema::flash_deals;
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    let deal_price = a.price_fen * 7 / 10;
    let now = f.app.clock_now();
    let deal_id: i64 = {
        let mut conn = f.app.pool.get().unwrap();
        diesel::insert_into(flash_deals::table)
            .values((
                flash_deals::shop_user_id.eq(f.creator_id),
                flash_deals::sku_id.eq(a.sku_id),
                flash_deals::mode.eq("live"),
                flash_deals::price_fen.eq(deal_price),
                flash_deals::quantity.eq(5),
                flash_deals::sold.eq(1),
                flash_deals::per_buyer_limit.eq(2),
                flash_deals::starts_at.eq(now),
                flash_deals::ends_at.eq(now + chrono::Duration::minutes(90)),
                flash_deals::created_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
        flash_deals::table
            .select(flash_deals::id)
            .first(&mut conn)
            .unwrap()
    };
    let guest = new_client();
    let (_, html) = get(&f, &guest, &format!("/shop/{}", f.handle)).await;
    assert!(html.contains(&yuan(deal_price)));
    assert!(html.contains("4 left at this price"));
    assert!(html.contains("ends in 1 h 30 min"));
    let path = format!("/shop/{}/products/{}", f.handle, a.product_id);
    let (_, html) = get(&f, &guest, &path).await;
    assert_eq!(hidden(&html, "deal_id"), Some(deal_id.to_string()));
    let r = guest
        .post(f.app.url(&format!("/shop/{}/cart", f.handle)))
        .form(&[
            ("csrf", csrf_token(&html).as_str()),
            ("sku_id", &a.sku_id.to_string()),
            ("deal_id", &deal_id.to_string()),
            ("quantity", "2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, cart) = get(&f, &guest, &format!("/shop/{}/cart", f.handle)).await;
    assert!(cart.contains(&format!("Total: {}", yuan(deal_price * 2))));
    // The deal ends before the buyer checks out: a clear message, no order, cart kept.
    let form = checkout_form(&f, &guest, &[("payment_method", "cod")]).await;
    f.app.clock.advance(chrono::Duration::minutes(91));
    let r = post_checkout(&f, &guest, &form).await;
    assert_eq!(r.status(), 422);
    assert!(set_cookie(&r, "kaibo_cart").is_none());
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Line 1: The flash deal has ended.")
    );
    assert_eq!(count_orders(&f), 0);
    assert_eq!(f.stock(a.sku_id), a.stock);
}
