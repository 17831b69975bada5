//! The supplier JSON API through HTTP: API keys from the portal (shown once, stored
//! hashed, revocable), bearer authentication, fulfilment and returns, idempotent
//! repeats, clear 400s, and no way into another supplier's orders.

use diesel::prelude::*;
use kaibo::db::schema::{order_events, supplier_api_keys};
use kaibo::orders::{Mode, flow};
use sha2::{Digest, Sha256};

use crate::helpers::*;
use crate::shop_fixture::{ShopFixture, shop_fixture};
use crate::supplier_orders::{
    delivered_to_supplier, delivered_with_case, ids_of, order_json, supplier_client,
};

/// Creates a key in the portal and returns the full token shown on the result page.
async fn create_key(app: &TestApp, client: &reqwest::Client, label: &str) -> String {
    let r = app
        .post_form_with(client, "/supplier/api-keys", &[("label", label)])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let marker = "id=\"new-key\" class=\"secret\">";
    let start = html.find(marker).expect("the new key is shown") + marker.len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_string()
}

fn api(app: &TestApp, path: &str) -> String {
    app.url(&format!("/api/supplier/v1{path}"))
}

async fn get(app: &TestApp, key: &str, path: &str) -> (u16, serde_json::Value) {
    let r = app
        .client
        .get(api(app, path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn post_json(
    app: &TestApp,
    key: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = app.client.post(api(app, path)).bearer_auth(key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn post_raw(
    app: &TestApp,
    key: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let r = app
        .client
        .post(api(app, path))
        .bearer_auth(key)
        .header("content-type", content_type)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn event_count(f: &ShopFixture) -> i64 {
    order_events::table
        .count()
        .get_result(&mut f.app.pool.get().unwrap())
        .unwrap()
}

#[tokio::test]
async fn an_api_key_is_shown_once_stored_hashed_and_revocable() {
    let f = shop_fixture(Mode::Live, 1).await;
    let supplier = supplier_client(&f.app, f.products[0].supplier_id).await;
    let token = create_key(&f.app, &supplier, "Warehouse ERP").await;
    assert!(
        token.starts_with("kbs_") && token.len() == 4 + 8 + 1 + 32,
        "{token}"
    );
    let prefix = &token[4..12];
    let secret = &token[13..];

    let html = f
        .app
        .get_with(&supplier, "/supplier/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Warehouse ERP") && html.contains(prefix));
    assert!(!html.contains(secret), "the secret is never shown again");

    let (stored_prefix, hash): (String, String) = supplier_api_keys::table
        .select((supplier_api_keys::prefix, supplier_api_keys::secret_hash))
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert_eq!(stored_prefix, prefix);
    assert_ne!(hash, secret);
    assert!(!hash.contains(secret));
    assert_eq!(hash, hex::encode(Sha256::digest(secret.as_bytes())));

    let (status, body) = get(&f.app, &token, "/orders").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 0);
    let used: Option<chrono::NaiveDateTime> = supplier_api_keys::table
        .select(supplier_api_keys::last_used_at)
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    assert!(used.is_some(), "use recorded");

    // No key, a made-up key, a wrong secret, a session cookie: all 401 JSON.
    let r = f
        .app
        .client
        .get(api(&f.app, "/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = format!("kbs_{prefix}_{}", "A".repeat(32));
    for bad in ["nonsense", wrong.as_str()] {
        let (status, body) = get(&f.app, bad, "/orders").await;
        assert_eq!(status, 401);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let r = supplier.get(api(&f.app, "/orders")).send().await.unwrap();
    assert_eq!(r.status(), 401, "a session cookie is not a key");

    let id: i64 = supplier_api_keys::table
        .select(supplier_api_keys::id)
        .first(&mut f.app.pool.get().unwrap())
        .unwrap();
    let r = f
        .app
        .post_form_with(&supplier, &format!("/supplier/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let (status, body) = get(&f.app, &token, "/orders").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let html = f
        .app
        .get_with(&supplier, "/supplier/api-keys")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Revoked"));
    // Another supplier cannot revoke (or see) this supplier's keys.
    let other_f = f
        .app
        .logged_in_as(kaibo::accounts::domain::Role::Supplier)
        .await;
    let r = f
        .app
        .post_form_with(&other_f, &format!("/supplier/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 404);
    // A label is required.
    let r = f
        .app
        .post_form_with(&supplier, "/supplier/api-keys", &[("label", "  ")])
        .await;
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn a_supplier_system_fulfils_an_order_and_repeats_are_harmless() {
    let f = shop_fixture(Mode::Live, 2).await;
    let placed = f.paid_order("supplier-api-1").await;
    let sid = f.products[0].supplier_id;
    let (_, so) = ids_of(&f, &placed, sid);
    delivered_to_supplier(&f, so).await;
    let supplier = supplier_client(&f.app, sid).await;
    let key = create_key(&f.app, &supplier, "ERP").await;
    let other = supplier_client(&f.app, f.products[1].supplier_id).await;
    let other_key = create_key(&f.app, &other, "Other ERP").await;

    let (status, body) = get(&f.app, &key, "/orders?status=new").await;
    assert_eq!(status, 200);
    assert_eq!(body["orders"][0]["id"], so);
    assert_eq!(body["orders"][0]["new"], true);
    assert_eq!(body["orders"][0]["reference"], placed["reference"]);
    let (status, body) = get(&f.app, &key, "/orders?status=lost").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_query");

    let (status, body) = get(&f.app, &key, &format!("/orders/{so}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["ship_to"]["name"], "Li Na");
    assert_eq!(body["lines"][0]["quantity"], 1);

    // Another supplier: 404 on read and on every action, and nothing changes.
    let (status, body) = get(&f.app, &other_key, &format!("/orders/{so}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let (_, body) = get(&f.app, &other_key, "/orders").await;
    assert_eq!(body["total"], 0);
    for (action, payload) in [
        ("acknowledge", None),
        ("reject", Some(serde_json::json!({"reason": "not mine"}))),
        (
            "tracking",
            Some(serde_json::json!({"carrier": "SF Express", "tracking": "SF0001111"})),
        ),
        ("delivered", None),
    ] {
        let (status, _) = post_json(
            &f.app,
            &other_key,
            &format!("/orders/{so}/{action}"),
            payload,
        )
        .await;
        assert_eq!(status, 404, "{action}");
    }
    assert_eq!(
        order_json(&f, &placed).await["shipments"][0]["status"],
        "routed"
    );

    // Acknowledge twice: the same answer, one event.
    let (status, first) = post_json(&f.app, &key, &format!("/orders/{so}/acknowledge"), None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "acknowledged");
    let events = event_count(&f);
    let (status, second) =
        post_json(&f.app, &key, &format!("/orders/{so}/acknowledge"), None).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);
    assert_eq!(event_count(&f), events);

    // Bad input: clear 400s and no change.
    let path = format!("/orders/{so}/tracking");
    let (status, body) = post_json(
        &f.app,
        &key,
        &path,
        Some(serde_json::json!({"carrier": "SF Express", "tracking": "no spaces allowed"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_field");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tracking number")
    );
    let (status, body) = post_raw(&f.app, &key, &path, "application/json", "{\"carrier\": ").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("EOF"),
        "{body}"
    );
    let (status, body) = post_raw(
        &f.app,
        &key,
        &path,
        "application/json",
        r#"{"carrier": "SF Express", "tracking": "SF123456", "eta": "soon"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field")
    );
    let (status, body) = post_raw(&f.app, &key, &path, "text/plain", "carrier=SF").await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "content_type");
    let (status, body) = post_json(
        &f.app,
        &key,
        &format!("/orders/{so}/reject"),
        Some(serde_json::json!({"reason": ""})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_field");
    assert_eq!(event_count(&f), events, "nothing changed");
    let (_, now) = get(&f.app, &key, &format!("/orders/{so}")).await;
    assert_eq!(now["status"], "acknowledged");

    // The same tracking twice: one shipment.
    let tracking = serde_json::json!({"carrier": "SF Express", "tracking": "SF900800700"});
    let (status, first) = post_json(&f.app, &key, &path, Some(tracking.clone())).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "shipped");
    assert_eq!(first["tracking"], "SF900800700");
    let events = event_count(&f);
    let (status, second) = post_json(&f.app, &key, &path, Some(tracking)).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);
    assert_eq!(event_count(&f), events);
    assert_eq!(
        order_json(&f, &placed).await["shipments"][0]["tracking"],
        "SF900800700"
    );

    let (status, body) = post_json(&f.app, &key, &format!("/orders/{so}/delivered"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "delivered");
    let (status, again) = post_json(&f.app, &key, &format!("/orders/{so}/delivered"), None).await;
    assert_eq!((status, &again), (200, &body));
    assert_eq!(order_json(&f, &placed).await["status"], "delivered");
}

#[tokio::test]
async fn shipping_a_cancelled_order_is_refused_in_words() {
    let f = shop_fixture(Mode::Live, 1).await;
    let placed = f.paid_order("supplier-api-2").await;
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
    let key = create_key(&f.app, &supplier, "ERP").await;
    let (status, body) = post_json(
        &f.app,
        &key,
        &format!("/orders/{so}/tracking"),
        Some(serde_json::json!({"carrier": "SF Express", "tracking": "SF123123"})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
    let r = f
        .app
        .client
        .post(api(&f.app, &format!("/orders/{so}/acknowledge")))
        .bearer_auth(&key)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("达人已取消")
    );
}

#[tokio::test]
async fn returns_are_decided_through_the_api() {
    let f = shop_fixture(Mode::Live, 2).await;
    let sku = f.products[0].sku_id;
    let before = f.stock(sku);
    let placed = f.paid_order("supplier-api-3").await;
    let sid = f.products[0].supplier_id;
    let (order_id, _, case) = delivered_with_case(&f, &placed);
    let supplier = supplier_client(&f.app, sid).await;
    let key = create_key(&f.app, &supplier, "ERP").await;
    let other = supplier_client(&f.app, f.products[1].supplier_id).await;
    let other_key = create_key(&f.app, &other, "Other").await;

    let (status, body) = get(&f.app, &key, "/returns?status=requested").await;
    assert_eq!(status, 200);
    assert_eq!(body["returns"][0]["id"], case);
    let path = format!("/returns/{case}");
    let (status, _) = post_json(
        &f.app,
        &other_key,
        &path,
        Some(serde_json::json!({"action": "approve"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = post_json(
        &f.app,
        &key,
        &path,
        Some(serde_json::json!({"action": "refund"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "unknown_action");
    let (status, body) = post_json(
        &f.app,
        &key,
        &path,
        Some(serde_json::json!({"action": "reject"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_field");
    let (_, body) = get(&f.app, &key, &path).await;
    assert_eq!(body["status"], "requested");

    let (status, body) = post_json(
        &f.app,
        &key,
        &path,
        Some(serde_json::json!({"action": "approve"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "approved");
    let (status, again) = post_json(
        &f.app,
        &key,
        &path,
        Some(serde_json::json!({"action": "approve"})),
    )
    .await;
    assert_eq!((status, &again), (200, &body));
    {
        let mut conn = f.app.pool.get().unwrap();
        flow::ship_back(
            &mut conn,
            order_id,
            case,
            "SF Express",
            "SF7770002",
            f.app.clock_now(),
        )
        .unwrap();
    }
    let (status, body) = post_json(
        &f.app,
        &key,
        &path,
        Some(serde_json::json!({"action": "received"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "refunded");
    let json = order_json(&f, &placed).await;
    assert_eq!(body["refund_fen"], json["total_fen"]);
    assert_eq!(json["refunded_fen"], json["total_fen"]);
    assert_eq!(f.stock(sku), before);
}
