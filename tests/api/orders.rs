//! Order placement through `POST /api/orders`: idempotency, exact stock, prices, flash
//! deals, test cards, and every kind of bad input with a clear answer and no writes.

use diesel::prelude::*;
use kaibo::db::schema::{
    flash_deals, idempotency_keys, order_events, orders, outbox, payments, skus, supplier_orders,
};
use kaibo::orders::Mode;
use serde_json::{Value, json};

use crate::shop_fixture::*;

fn count_orders(f: &ShopFixture) -> i64 {
    orders::table
        .count()
        .get_result(&mut f.app.pool.get().unwrap())
        .unwrap()
}

#[tokio::test]
async fn a_live_order_is_placed_paid_and_routed_once_per_key() {
    let f = shop_fixture(Mode::Live, 2).await;
    let (a, b) = (f.products[0].clone(), f.products[1].clone());
    let body = f.order_json(&[(a.sku_id, 2), (b.sku_id, 1)], json!({"method": "cod"}));
    let r = f.post_order("order-key-0001", &body).await;
    assert_eq!(r.status(), 201);
    let placed: Value = r.json().await.unwrap();
    assert_eq!(placed["status"], "routed");
    assert_eq!(placed["mode"], "live");
    assert_eq!(placed["total_fen"], a.price_fen * 2 + b.price_fen);
    assert_eq!(
        placed["shipments"].as_array().unwrap().len(),
        2,
        "one per supplier"
    );
    assert_eq!(f.stock(a.sku_id), a.stock - 2);

    // The same key and body: the same order, no second one, stock taken once.
    let r = f.post_order("order-key-0001", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["idempotent-replayed"], "true");
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["reference"], placed["reference"]);
    assert_eq!(again["url"], placed["url"]);
    assert_eq!(count_orders(&f), 1);
    assert_eq!(f.stock(a.sku_id), a.stock - 2);

    // The same key with another body is refused.
    let other = f.order_json(&[(a.sku_id, 1)], json!({"method": "cod"}));
    let r = f.post_order("order-key-0001", &other).await;
    assert_eq!(r.status(), 409);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["code"], "idempotency_key_reused");

    // The buyer's link reads the order back; every step is in the event log and the
    // outbox holds one message per supplier order.
    let r = f
        .app
        .get(&format!("/api{}", placed["url"].as_str().unwrap()))
        .await;
    assert_eq!(r.status(), 200);
    let mut conn = f.app.pool.get().unwrap();
    let events: Vec<String> = order_events::table
        .filter(order_events::entity.eq("order"))
        .order(order_events::id)
        .select(order_events::to_status)
        .load(&mut conn)
        .unwrap();
    assert_eq!(events, ["pending_payment", "paid", "routed"]);
    let messages: i64 = outbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(messages, 2);
    let modes: Vec<String> = supplier_orders::table
        .select(supplier_orders::mode)
        .load(&mut conn)
        .unwrap();
    assert_eq!(modes, ["live", "live"]);
}

#[tokio::test]
async fn bad_orders_get_clear_answers_and_write_nothing() {
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    let cod = json!({"method": "cod"});
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            f.order_json(&[(a.sku_id, 0)], cod.clone()),
            400,
            "bad_quantity",
        ),
        (
            f.order_json(&[(a.sku_id, -3)], cod.clone()),
            400,
            "bad_quantity",
        ),
        (
            f.order_json(&[(a.sku_id, 1_000_000_000_000)], cod.clone()),
            400,
            "bad_quantity",
        ),
        (f.order_json(&[], cod.clone()), 400, "empty_cart"),
        (
            f.order_json(&[(99_999_999, 1)], cod.clone()),
            400,
            "unknown_sku",
        ),
        (
            f.order_json(
                &[(a.sku_id, 1)],
                json!({"method": "card", "card_number": "4242424242424242"}),
            ),
            400,
            "invalid_field",
        ),
        (
            f.order_json(&[(a.sku_id, 1)], json!({"method": "gold"})),
            400,
            "invalid_field",
        ),
        (
            json!({"shop": f.handle, "lines": "many"}),
            400,
            "invalid_json",
        ),
        (
            json!({"shop": "no-such-shop", "lines": [{"sku_id": a.sku_id, "quantity": 1}],
                   "buyer": {"name": "A", "phone": "1234567", "address": "Somewhere 1"},
                   "payment": {"method": "cod"}}),
            404,
            "shop_not_found",
        ),
    ];
    for (i, (body, status, code)) in cases.iter().enumerate() {
        let r = f.post_order(&format!("bad-order-{i:04}"), body).await;
        assert_eq!(r.status().as_u16(), *status, "case {i}: {body}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], *code, "case {i}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    // A quantity error names its line.
    let r = f
        .post_order(
            "bad-order-line",
            &f.order_json(&[(a.sku_id, 1), (a.sku_id, 0)], cod.clone()),
        )
        .await;
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["error"]["line"], 2);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Line 2:")
    );

    // A SKU of a product this shop does not sell.
    let foreign: i64 = {
        use kaibo::db::schema::{showcase_items, skus};
        let mut conn = f.app.pool.get().unwrap();
        let sold: Vec<i64> = showcase_items::table
            .select(showcase_items::product_id)
            .load(&mut conn)
            .unwrap();
        skus::table
            .filter(skus::product_id.ne_all(sold))
            .select(skus::id)
            .first(&mut conn)
            .unwrap()
    };
    let r = f
        .post_order(
            "bad-order-foreign",
            &f.order_json(&[(foreign, 1)], cod.clone()),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_in_shop"
    );

    // No key, a non-JSON body.
    let r = f
        .app
        .client
        .post(f.app.url("/api/orders"))
        .json(&f.order_json(&[(a.sku_id, 1)], cod.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "idempotency_key_missing"
    );
    let r = f
        .app
        .client
        .post(f.app.url("/api/orders"))
        .header("Idempotency-Key", "form-body-1")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("shop=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    assert_eq!(count_orders(&f), 0, "nothing was written");
    assert_eq!(f.stock(a.sku_id), a.stock, "no stock was taken");
}

#[tokio::test]
async fn the_server_price_wins_and_stock_runs_out_exactly() {
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    let body = json!({
        "shop": f.handle,
        "lines": [{"sku_id": a.sku_id, "quantity": 1, "unit_price_fen": 1}],
        "buyer": {"name": "Li Na", "phone": "13800138000", "address": "1 Nanjing Road, Shanghai"},
        "payment": {"method": "cod"},
    });
    let r = f.post_order("tampered-price", &body).await;
    assert_eq!(r.status(), 201);
    let placed: Value = r.json().await.unwrap();
    assert_eq!(placed["lines"][0]["unit_price_fen"], a.price_fen);

    let left = f.stock(a.sku_id) as i64;
    let r = f
        .post_order(
            "too-many",
            &f.order_json(&[(a.sku_id, left + 1)], json!({"method": "cod"})),
        )
        .await;
    // More than 99 is a quantity error, otherwise it is sold out with the count left.
    let err: Value = r.json().await.unwrap();
    if left + 1 > 99 {
        assert_eq!(err["error"]["code"], "bad_quantity");
    } else {
        assert_eq!(err["error"]["code"], "sold_out");
    }
}

#[tokio::test]
async fn sandbox_test_cards_behave_as_documented() {
    let f = shop_fixture(Mode::Sandbox, 1).await;
    let a = f.products[0].clone();
    let card = |n: &str| json!({"method": "card", "card_number": n});

    // Without the sandbox token, a sandbox shop does not exist.
    let r = f
        .app
        .client
        .post(f.app.url("/api/orders"))
        .header("Idempotency-Key", "no-token-1")
        .json(&f.order_json(&[(a.sku_id, 1)], card("4242424242424242")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = f
        .post_order(
            "card-ok-1",
            &f.order_json(&[(a.sku_id, 1)], card("4242 4242 4242 4242")),
        )
        .await;
    assert_eq!(r.status(), 201);
    let ok: Value = r.json().await.unwrap();
    assert_eq!(ok["status"], "routed");
    assert_eq!(ok["mode"], "sandbox");
    assert_eq!(ok["paid_fen"], a.price_fen);

    for (i, (number, code)) in [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000341", "capture_failed"),
        ("4000000000000119", "processing_error"),
    ]
    .iter()
    .enumerate()
    {
        let before = f.stock(a.sku_id);
        let r = f
            .post_order(
                &format!("card-fail-{i}"),
                &f.order_json(&[(a.sku_id, 2)], card(number)),
            )
            .await;
        assert_eq!(r.status(), 402, "{number}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], *code);
        assert_eq!(err["error"]["order"]["status"], "payment_failed");
        assert_eq!(err["error"]["order"]["paid_fen"], 0);
        assert_eq!(f.stock(a.sku_id), before, "{number}: stock released");
    }
    let mut conn = f.app.pool.get().unwrap();
    // The processing error was tried three times; the failed capture was voided.
    let kinds: Vec<(String, bool)> = payments::table
        .order(payments::id)
        .select((payments::kind, payments::succeeded))
        .load(&mut conn)
        .unwrap();
    let authorize_failures = kinds
        .iter()
        .filter(|(k, ok)| k == "authorize" && !ok)
        .count();
    assert_eq!(
        authorize_failures,
        2 + 3,
        "two declines, three processing errors"
    );
    assert!(kinds.contains(&("void".to_string(), true)));

    let r = f
        .post_order(
            "card-other",
            &f.order_json(&[(a.sku_id, 1)], card("5555555555554444")),
        )
        .await;
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(
        err["error"]["fields"]["card_number"],
        "This is a sandbox shop: use one of the test card numbers."
    );
}

#[tokio::test]
async fn flash_deals_have_a_price_a_quantity_a_limit_and_an_end() {
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    let now = f.app.clock_now();
    let deal_id: i64 = {
        let mut conn = f.app.pool.get().unwrap();
        diesel::insert_into(flash_deals::table)
            .values((
                flash_deals::shop_user_id.eq(f.creator_id),
                flash_deals::sku_id.eq(a.sku_id),
                flash_deals::mode.eq("live"),
                flash_deals::price_fen.eq(a.price_fen / 2),
                flash_deals::quantity.eq(3),
                flash_deals::sold.eq(0),
                flash_deals::per_buyer_limit.eq(2),
                flash_deals::starts_at.eq(now),
                flash_deals::ends_at.eq(now + chrono::Duration::minutes(5)),
                flash_deals::created_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap();
        flash_deals::table
            .select(flash_deals::id)
            .first(&mut conn)
            .unwrap()
    };
    let deal_order = |phone: &str, q: i64| {
        json!({
            "shop": f.handle,
            "lines": [{"sku_id": a.sku_id, "quantity": q, "deal_id": deal_id}],
            "buyer": {"name": "Buyer", "phone": phone, "address": "2 Deal Street, Hangzhou"},
            "payment": {"method": "cod"},
        })
    };
    let r = f
        .post_order("flash-deal-1", &deal_order("13900000001", 2))
        .await;
    let status = r.status();
    let placed: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["lines"][0]["unit_price_fen"], a.price_fen / 2);
    // The same buyer is over the limit.
    let r = f
        .post_order("flash-deal-2", &deal_order("139-0000-0001", 1))
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "deal_limit"
    );
    // Another buyer wants 2 of the 1 left.
    let r = f
        .post_order("flash-deal-3", &deal_order("13900000002", 2))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "deal_sold_out"
    );
    let r = f
        .post_order("flash-deal-4", &deal_order("13900000002", 1))
        .await;
    assert_eq!(r.status(), 201);
    // After the end time the deal is refused, not silently charged at full price.
    f.app.clock.advance(chrono::Duration::minutes(6));
    let r = f
        .post_order("flash-deal-5", &deal_order("13900000003", 1))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "deal_ended"
    );
    assert_eq!(f.stock(a.sku_id), a.stock - 3);
}

/// Waits (bounded) for background work such as outbox delivery.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn the_outbox_delivers_each_supplier_order_once() {
    use kaibo::db::schema::supplier_inbox;
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("outbox-order-1").await;
    assert_eq!(placed["status"], "routed");
    let supplier = f.products[0].supplier_id;
    let pool = f.app.pool.clone();
    eventually("outbox delivery", || {
        outbox::table
            .filter(outbox::delivered_at.is_null())
            .count()
            .get_result::<i64>(&mut pool.get().unwrap())
            .unwrap()
            == 0
    })
    .await;
    let mut conn = f.app.pool.get().unwrap();
    let inbox: Vec<i64> = supplier_inbox::table
        .select(supplier_inbox::supplier_id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(inbox, [supplier]);
    // Applying the same message again (a redelivery) changes nothing.
    let (message, so): (i64, i64) = outbox::table
        .select((outbox::id, outbox::supplier_order_id))
        .first(&mut conn)
        .unwrap();
    let now = f.app.clock_now();
    assert!(!kaibo::orders::outbox::apply(&mut conn, message, so, now).unwrap());
    let inbox: i64 = supplier_inbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(inbox, 1);
    let notified: Option<chrono::NaiveDateTime> = supplier_orders::table
        .find(so)
        .select(supplier_orders::notified_at)
        .first(&mut conn)
        .unwrap();
    assert!(notified.is_some());
}

#[tokio::test]
async fn paid_delivered_and_returned_orders_update_the_statistics() {
    use kaibo::db::schema::product_stats;
    use kaibo::orders::{flow, model};
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    let stats = |segment: &str| -> (i64, i64, i64) {
        product_stats::table
            .find((a.product_id, segment))
            .select((
                product_stats::orders,
                product_stats::delivered,
                product_stats::returns,
            ))
            .first(&mut f.app.pool.get().unwrap())
            .optional()
            .unwrap()
            .unwrap_or((0, 0, 0))
    };
    let (all_before, seg_before) = (stats("all"), stats("f25-34"));
    let body = json!({
        "shop": f.handle,
        "lines": [{"sku_id": a.sku_id, "quantity": 2}],
        "buyer": {"name": "Zhao Min", "phone": "13611112222", "address": "5 Stats Street, Wuhan",
                  "segment": "f25-34"},
        "payment": {"method": "cod"},
    });
    let r = f.post_order("stats-order-01", &body).await;
    assert_eq!(r.status(), 201);
    let pool = f.app.pool.clone();
    eventually("outbox delivery", || {
        outbox::table
            .filter(outbox::delivered_at.is_null())
            .count()
            .get_result::<i64>(&mut pool.get().unwrap())
            .unwrap()
            == 0
    })
    .await;
    assert_eq!(
        stats("all").0,
        all_before.0 + 1,
        "a paid line counts as an order"
    );
    assert_eq!(
        stats("f25-34").0,
        seg_before.0 + 1,
        "in the buyer's segment too"
    );

    let mut conn = f.app.pool.get().unwrap();
    let (order_id, so_id): (i64, i64) = supplier_orders::table
        .select((supplier_orders::order_id, supplier_orders::id))
        .first(&mut conn)
        .unwrap();
    let now = f.app.clock_now();
    flow::ship(
        &mut conn,
        a.supplier_id,
        so_id,
        "SF Express",
        "SF55500011",
        now,
    )
    .unwrap();
    flow::deliver(&mut conn, a.supplier_id, so_id, now).unwrap();
    assert_eq!(stats("all").1, all_before.1 + 1, "delivered");
    let line = model::lines(&mut conn, order_id).unwrap()[0].id;
    let case = flow::request_case(&mut conn, order_id, line, 1, "Too big for me", now).unwrap();
    flow::approve_case(&mut conn, a.supplier_id, case.id, true, now).unwrap();
    assert_eq!(stats("all").2, all_before.2 + 1, "returned");
    assert_eq!(stats("f25-34").2, seg_before.2 + 1);
}

/// The order keeps the platform fee of the creator's platform as it was when the order
/// was placed (read in the placement's own transaction).
#[tokio::test]
async fn an_order_keeps_the_fee_of_the_creators_platform() {
    use kaibo::db::schema::creator_profiles;
    let f = shop_fixture(Mode::Live, 1).await;
    let a = f.products[0].clone();
    let body = f.order_json(&[(a.sku_id, 1)], json!({"method": "cod"}));
    assert_eq!(f.post_order("fee-key-0001", &body).await.status(), 201);
    let mut conn = f.app.pool.get().unwrap();
    diesel::delete(creator_profiles::table.find(f.creator_id))
        .execute(&mut conn)
        .unwrap();
    diesel::insert_into(creator_profiles::table)
        .values((
            creator_profiles::user_id.eq(f.creator_id),
            creator_profiles::niche_categories.eq("beauty"),
            creator_profiles::top_regions.eq(""),
            creator_profiles::platform.eq("tiktok"),
            creator_profiles::updated_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(&mut conn)
        .unwrap();
    drop(conn);
    let body = f.order_json(&[(a.sku_id, 1)], json!({"method": "cod"}));
    assert_eq!(f.post_order("fee-key-0002", &body).await.status(), 201);
    let fees: Vec<i32> = orders::table
        .order(orders::id)
        .select(orders::fee_bp)
        .load(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(
        fees,
        vec![
            kaibo::matching::weights::platform_fee_bp(None) as i32,
            kaibo::matching::weights::platform_fee_bp(Some("tiktok")) as i32,
        ],
        "the default fee, then the creator's platform's"
    );
}

/// Concurrent orders share a write batch on SQLite, where their rows are written together
/// at the batch's end with ids given in advance: every answer (paid or declined, original
/// or a replay racing it) is exactly what is stored, every key finds its order again, and
/// each order has its events, payment attempts, outbox messages and stock.
#[tokio::test]
async fn concurrent_orders_are_stored_exactly_as_they_were_answered() {
    let f = shop_fixture(Mode::Sandbox, 2).await;
    let (a, b) = (f.products[0].clone(), f.products[1].clone());
    {
        let mut conn = f.app.pool.get().unwrap();
        diesel::update(skus::table.filter(skus::id.eq_any([a.sku_id, b.sku_id])))
            .set(skus::stock.eq(500))
            .execute(&mut conn)
            .unwrap();
    }
    // 30 orders with a line at each supplier; every fifth card is declined. Each key is
    // sent twice at once, so a replay can land in the same batch as its original.
    let orders: Vec<(String, Value, bool, i64)> = (0..30)
        .map(|i| {
            let declined = i % 5 == 4;
            let number = if declined {
                "4000000000000002"
            } else {
                "4242424242424242"
            };
            let b_units = 1 + (i % 3);
            let body = f.order_json(
                &[(a.sku_id, 1), (b.sku_id, b_units)],
                json!({"method": "card", "card_number": number}),
            );
            (format!("batch-key-{i:03}"), body, declined, b_units)
        })
        .collect();
    let sent = futures_util::future::join_all(
        orders
            .iter()
            .flat_map(|(key, body, _, _)| [f.post_order(key, body), f.post_order(key, body)]),
    )
    .await;
    let mut answers = Vec::new();
    for r in sent {
        let replayed = r.headers().contains_key("idempotent-replayed");
        answers.push((
            r.status().as_u16(),
            replayed,
            r.json::<Value>().await.unwrap(),
        ));
    }

    let mut conn = f.app.pool.get().unwrap();
    let (mut paid, mut a_units, mut b_taken) = (0, 0, 0);
    for ((key, _, declined, b_units), pair) in orders.iter().zip(answers.chunks(2)) {
        let order = |(status, _, body): &(u16, bool, Value)| match status {
            402 => body["error"]["order"].clone(),
            _ => body.clone(),
        };
        let (first, second) = (order(&pair[0]), order(&pair[1]));
        assert_eq!(first, second, "{key}: the original and its replay agree");
        let statuses = [pair[0].0, pair[1].0];
        let originals = pair.iter().filter(|(_, replayed, _)| !replayed).count();
        assert_eq!(
            originals, 1,
            "{key}: one original, one replay: {statuses:?}"
        );
        if *declined {
            assert_eq!(statuses, [402, 402], "{key}");
            assert_eq!(first["status"], "payment_failed", "{key}");
        } else {
            assert!(
                statuses.contains(&201) && statuses.contains(&200),
                "{key}: {statuses:?}"
            );
            assert_eq!(first["status"], "routed", "{key}");
            assert_eq!(first["shipments"].as_array().unwrap().len(), 2, "{key}");
            paid += 1;
            a_units += 1;
            b_taken += b_units;
        }
        // The stored order reads back exactly as it was answered, line ids included.
        let stored: Value = f
            .app
            .get(&format!("/api{}", first["url"].as_str().unwrap()))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stored, first, "{key}: stored as answered");
        // The key points at its order.
        let (reference, keyed): (String, Option<i64>) = orders::table
            .inner_join(
                idempotency_keys::table.on(idempotency_keys::order_id.eq(orders::id.nullable())),
            )
            .filter(idempotency_keys::key.eq(key))
            .select((orders::reference, idempotency_keys::order_id))
            .first(&mut conn)
            .unwrap();
        assert_eq!(reference, first["reference"].as_str().unwrap(), "{key}");
        assert!(keyed.is_some());
        let order_id = keyed.unwrap();
        let events: Vec<String> = order_events::table
            .filter(order_events::order_id.eq(order_id))
            .filter(order_events::entity.eq("order"))
            .order(order_events::id)
            .select(order_events::to_status)
            .load(&mut conn)
            .unwrap();
        let parts: i64 = supplier_orders::table
            .filter(supplier_orders::order_id.eq(order_id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        let messages: i64 = outbox::table
            .inner_join(
                supplier_orders::table.on(supplier_orders::id.eq(outbox::supplier_order_id)),
            )
            .filter(supplier_orders::order_id.eq(order_id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        let attempts: i64 = payments::table
            .filter(payments::order_id.eq(order_id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        if *declined {
            assert_eq!(events, ["pending_payment", "payment_failed"], "{key}");
            assert_eq!((parts, messages, attempts), (0, 0, 1), "{key}");
        } else {
            assert_eq!(events, ["pending_payment", "paid", "routed"], "{key}");
            assert_eq!((parts, messages, attempts), (2, 2, 2), "{key}");
        }
    }
    assert_eq!(count_orders(&f), 30);
    assert_eq!(paid, 24);
    assert_eq!(f.stock(a.sku_id), 500 - a_units);
    assert_eq!(f.stock(b.sku_id), 500 - b_taken as i32);
}
