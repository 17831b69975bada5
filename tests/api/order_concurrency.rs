//! Many buyers at once, on whichever database the suite runs against: the last units go
//! to exactly as many buyers as there are units, and one key makes one order.

use diesel::prelude::*;
use kaibo::db::schema::{order_lines, orders, skus};
use kaibo::orders::Mode;
use serde_json::{Value, json};

use crate::shop_fixture::*;

#[tokio::test]
async fn two_hundred_buyers_for_the_last_fifty_units() {
    let f = shop_fixture(Mode::Live, 1).await;
    let sku = f.products[0].sku_id;
    diesel::update(skus::table.find(sku))
        .set(skus::stock.eq(50))
        .execute(&mut f.app.pool.get().unwrap())
        .unwrap();
    let f = std::sync::Arc::new(f);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let client = crate::helpers::new_client();
            let body = json!({
                "shop": f.handle,
                "lines": [{"sku_id": sku, "quantity": 1}],
                "buyer": {"name": format!("Buyer {i}"), "phone": format!("139{i:08}"),
                          "address": "8 Concurrency Road, Shenzhen"},
                "payment": {"method": "cod"},
            });
            let r = f
                .post_order_with(&client, &format!("rush-buyer-{i:04}"), &body)
                .await;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut placed = 0;
    let mut sold_out = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => placed += 1,
            409 => {
                assert_eq!(body["error"]["code"], "sold_out", "{body}");
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("Sold out")
                );
                sold_out += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((placed, sold_out), (50, 150));
    assert_eq!(f.stock(sku), 0);
    let mut conn = f.app.pool.get().unwrap();
    let units: Option<i64> = order_lines::table
        .filter(order_lines::sku_id.eq(sku))
        .select(diesel::dsl::sum(order_lines::quantity))
        .first(&mut conn)
        .unwrap();
    assert_eq!(units, Some(50), "50 units in orders, none oversold");
}

#[tokio::test]
async fn one_key_sent_concurrently_makes_one_order() {
    let f = std::sync::Arc::new(shop_fixture(Mode::Live, 1).await);
    let sku = f.products[0].sku_id;
    let body = f.order_json(&[(sku, 2)], json!({"method": "cod"}));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (f, body) = (f.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let client = crate::helpers::new_client();
            let r = f.post_order_with(&client, "the-same-key-0001", &body).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut references = std::collections::BTreeSet::new();
    let mut created = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert!(status == 201 || status == 200, "{status}: {body}");
        created += usize::from(status == 201);
        references.insert(body["reference"].as_str().unwrap().to_string());
    }
    assert_eq!(created, 1, "one request created it, the others replayed it");
    assert_eq!(references.len(), 1);
    let count: i64 = orders::table
        .count()
        .get_result(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(f.stock(sku), f.products[0].stock - 2);
}

/// On PostgreSQL the usual order, one plain line, takes its key and its stock in one
/// statement. When another instance commits the same key while that statement waits
/// for it, the stock it took must be given back: the request is answered from the key
/// that won (here another request's, so it is refused) and nothing of it stays.
#[tokio::test]
async fn a_key_committed_elsewhere_meanwhile_takes_no_stock() {
    use diesel::connection::SimpleConnection;
    use kaibo::db::Backend;
    let f = shop_fixture(Mode::Live, 1).await;
    let mut elsewhere = f.app.pool.get().unwrap();
    if elsewhere.backend() != Backend::Postgres {
        // SQLite has one writer at a time: no twin is ever in flight beside a placement.
        return;
    }
    let sku = f.products[0].sku_id;
    let before = f.stock(sku);
    // "Another instance" has stored the key, for another request, and not committed yet.
    elsewhere
        .batch_execute(&format!(
            "BEGIN; INSERT INTO idempotency_keys (shop_user_id, key, request_hash, created_at) \
             VALUES ({}, 'twin-elsewhere-0001', 'another request', now())",
            f.creator_id
        ))
        .unwrap();
    let pool = f.app.pool.clone();
    let commit_when_waited_on = tokio::task::spawn_blocking(move || {
        let mut watch = pool.get().unwrap();
        // Commit only once the placement waits for that key's row.
        for _ in 0..600 {
            let waiting: i64 = diesel::sql_query(
                "SELECT count(*) AS id FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result::<kaibo::db::Id>(&mut watch)
            .unwrap()
            .id;
            if waiting > 0 {
                elsewhere.batch_execute("COMMIT").unwrap();
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        elsewhere.batch_execute("ROLLBACK").unwrap();
        false
    });
    let body = f.order_json(&[(sku, 2)], json!({"method": "cod"}));
    let r = f.post_order("twin-elsewhere-0001", &body).await;
    assert!(
        commit_when_waited_on.await.unwrap(),
        "the placement never waited for the other instance's key"
    );
    assert_eq!(r.status(), 409);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["error"]["code"], "idempotency_key_reused",
        "{answer}"
    );
    assert_eq!(
        f.stock(sku),
        before,
        "the stock taken meanwhile was given back"
    );
    let count: i64 = orders::table
        .count()
        .get_result(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(count, 0);
}
