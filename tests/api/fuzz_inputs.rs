//! Malformed input at every POST route and JSON API: random form fields and values with
//! a valid CSRF token (so the handlers themselves parse them), broken encodings, bodies
//! over the cap, the wrong content type, and mangled JSON orders and supplier API calls.
//! Whatever comes in, the answer is never a 5xx and the server keeps answering.
//! Deterministic: the cases come from a fixed ChaCha seed.

use diesel::prelude::*;
use kaibo::accounts::domain::Role;
use kaibo::db::schema::suppliers;
use kaibo::orders::Mode;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::shop_fixture::shop_fixture;

/// Every field name a form of the site uses (collected from the templates).
const FIELDS: &[&str] = &[
    "address",
    "age_band",
    "card_number",
    "carrier",
    "category",
    "comment",
    "course",
    "current",
    "deal_id",
    "display_name",
    "email",
    "female_percent",
    "follower_count",
    "group",
    "handling_hours",
    "idempotency_key",
    "invite",
    "label",
    "lang",
    "line_id",
    "locale",
    "min_margin",
    "minutes",
    "mode",
    "name",
    "next",
    "niche",
    "note",
    "password",
    "password_confirm",
    "payment_method",
    "per_buyer",
    "phone",
    "platform",
    "price",
    "price_max",
    "price_min",
    "product",
    "product_id",
    "quantity",
    "question",
    "reason",
    "refund_only",
    "region",
    "reply",
    "return_days",
    "return_policy",
    "sku",
    "sku_id",
    "speed",
    "status",
    "text",
    "top_regions",
    "tracking",
    "q-who-ships-orders",
];

/// Values that have broken parsers before: empty, signs, overflow, NaN, unicode, control
/// characters, markup, SQL, paths and very long strings.
fn value(rng: &mut ChaCha8Rng) -> String {
    const POOL: &[&str] = &[
        "",
        " ",
        "0",
        "-1",
        "1",
        "99999999999999999999999999",
        "-9223372036854775808",
        "9223372036854775807",
        "1e309",
        "NaN",
        "inf",
        "0.0000001",
        "12.345.6",
        "¥100",
        "１２３",
        "😀",
        "中文名字",
        "\u{0}",
        "\u{202e}evil",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "../../etc/passwd",
        "%",
        "true",
        "null",
        "[]",
        "{\"a\":1}",
        "sandbox",
        "live",
        "beauty",
        "25-34",
        "4000000000000002",
        "4242424242424242",
    ];
    match rng.random_range(0..10) {
        0 => "x".repeat(rng.random_range(200..5_000)),
        1 => (0..rng.random_range(1..40))
            .map(|_| char::from_u32(rng.random_range(1..0x3000)).unwrap_or('?'))
            .collect(),
        _ => POOL[rng.random_range(0..POOL.len())].to_string(),
    }
}

fn random_form(rng: &mut ChaCha8Rng, csrf: &str) -> String {
    let mut pairs: Vec<(String, String)> = vec![("csrf".into(), csrf.into())];
    for _ in 0..rng.random_range(0..8) {
        let name = FIELDS[rng.random_range(0..FIELDS.len())];
        pairs.push((name.into(), value(rng)));
    }
    serde_urlencoded::to_string(&pairs).unwrap()
}

/// A JSON value of a random shape, nested at most `depth` deep.
fn random_json(rng: &mut ChaCha8Rng, depth: u32) -> Value {
    match rng.random_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random_range(-5i64..1_000_000_000_000)),
        3 => json!(rng.random::<f64>() * 1e12),
        4 => json!(value(rng)),
        5 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_json(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "shop",
                "lines",
                "buyer",
                "payment",
                "sku_id",
                "quantity",
                "deal_id",
                "name",
                "phone",
                "address",
                "method",
                "card_number",
                "show_id",
                "segment",
                "carrier",
                "tracking",
                "reason",
                "action",
                "refund_only",
            ];
            Value::Object(
                (0..rng.random_range(0..5))
                    .map(|_| {
                        (
                            keys[rng.random_range(0..keys.len())].to_string(),
                            random_json(rng, depth - 1),
                        )
                    })
                    .collect(),
            )
        }
    }
}

/// A valid order with one part broken.
fn mangled_order(rng: &mut ChaCha8Rng, valid: &Value) -> Value {
    let mut order = valid.clone();
    let paths: [&[&str]; 8] = [
        &["shop"],
        &["lines"],
        &["buyer"],
        &["buyer", "phone"],
        &["buyer", "name"],
        &["payment"],
        &["payment", "method"],
        &["show_id"],
    ];
    let path = paths[rng.random_range(0..paths.len())];
    let mut target = &mut order;
    for key in &path[..path.len() - 1] {
        target = &mut target[*key];
    }
    target[path[path.len() - 1]] = random_json(rng, 2);
    if rng.random_range(0..4) == 0
        && let Some(line) = order["lines"].get_mut(0).filter(|l| l.is_object())
    {
        line["quantity"] = random_json(rng, 1);
    }
    order
}

fn deep_array(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn malformed_forms_and_json_never_get_a_5xx() {
    let f = shop_fixture(Mode::Live, 2).await;
    let app = &f.app;
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut clients = vec![("creator", f.creator.clone()), ("visitor", new_client())];
    for role in [Role::Instructor, Role::Supplier, Role::Admin] {
        clients.push((role.as_str(), app.logged_in_as(role).await));
    }
    let mut five_hundreds = Vec::new();

    // Forms: every POST route, every role, random fields behind a valid token.
    let paths: Vec<String> = crate::routes::POST_ROUTES
        .iter()
        .map(|p| p.replace("some-shop-abcd", &f.handle))
        .collect();
    for (who, client) in &clients {
        let csrf = app.csrf_with(client).await;
        for path in &paths {
            for case in 0..6 {
                let (content_type, body): (&str, Vec<u8>) = match case {
                    0 => (
                        "application/x-www-form-urlencoded",
                        format!("csrf={csrf}&name=%E4%B8&price=%zz&\u{1}").into_bytes(),
                    ),
                    1 => {
                        let mut b = format!("csrf={csrf}&display_name=").into_bytes();
                        b.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
                        ("application/x-www-form-urlencoded", b)
                    }
                    2 => ("application/json", br#"{"csrf": 1}"#.to_vec()),
                    3 => (
                        "application/x-www-form-urlencoded",
                        format!("csrf={csrf}&note={}", "a".repeat(70 * 1024)).into_bytes(),
                    ),
                    _ => (
                        "application/x-www-form-urlencoded",
                        random_form(&mut rng, &csrf).into_bytes(),
                    ),
                };
                let r = client
                    .post(app.url(path))
                    .header("Content-Type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                if r.status().is_server_error() {
                    five_hundreds.push(format!(
                        "POST {path} as {who} (case {case}): {}",
                        r.status()
                    ));
                }
            }
        }
    }

    // The order API: mangled orders, random shapes, broken JSON and headers.
    let p = &f.products[0];
    let valid = f.order_json(&[(p.sku_id, 1)], json!({"method": "cod"}));
    let mut bodies: Vec<(String, Option<String>, &str)> = Vec::new();
    for n in 0..150 {
        let body = match n % 3 {
            0 => mangled_order(&mut rng, &valid),
            1 => random_json(&mut rng, 4),
            _ => {
                let mut o = valid.clone();
                o["lines"] = Value::Array(
                    (0..rng.random_range(0..300))
                        .map(|_| json!({"sku_id": rng.random_range(-2i64..500), "quantity": rng.random_range(-3i64..5)}))
                        .collect(),
                );
                o
            }
        };
        let key = match n % 7 {
            0 => None,
            1 => Some("x".repeat(500)),
            2 => Some("key with spaces\t".into()),
            _ => Some(format!("fuzz-{n}")),
        };
        bodies.push((body.to_string(), key, "application/json"));
    }
    for raw in [
        "",
        "{",
        "null",
        "[]",
        "\"order\"",
        "{\"shop\": \"\u{0}\"}",
        "{\"lines\": [{\"sku_id\": 1e400}]}",
    ] {
        bodies.push((raw.to_string(), Some("fuzz-raw".into()), "application/json"));
    }
    bodies.push((
        deep_array(5_000),
        Some("fuzz-deep".into()),
        "application/json",
    ));
    bodies.push((valid.to_string(), Some("fuzz-ct".into()), "text/plain"));
    bodies.push((
        "x".repeat(300 * 1024),
        Some("fuzz-big".into()),
        "application/json",
    ));
    for (body, key, content_type) in &bodies {
        let mut request = app
            .client
            .post(app.url("/api/orders"))
            .header("Content-Type", *content_type)
            .body(body.clone());
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key.as_str());
        }
        let r = request.send().await.unwrap();
        if r.status().is_server_error() {
            five_hundreds.push(format!(
                "POST /api/orders {}: {}",
                body.chars().take(120).collect::<String>(),
                r.status()
            ));
        }
    }
    for token in [
        "",
        "x",
        "AAAAAAAAAAAAAAAAAAAAAAAA",
        "%00",
        "..%2f..",
        &"A".repeat(5000),
    ] {
        let r = app
            .client
            .get(app.url(&format!("/api/orders/{token}")))
            .send()
            .await
            .unwrap();
        if r.status().is_server_error() {
            five_hundreds.push(format!("GET /api/orders/{token}: {}", r.status()));
        }
    }

    // The supplier API with a real key, random bodies on every action.
    let token = {
        let mut conn = app.pool.get().unwrap();
        let supplier = suppliers::table
            .select(suppliers::id)
            .first::<i64>(&mut conn)
            .unwrap();
        kaibo::suppliers::keys::create(&mut conn, supplier, "fuzz", app.clock_now())
            .unwrap()
            .token
    };
    for n in 0..120 {
        let id = ["1", "0", "-1", "abc", "99999999999999999999", "%20"][n % 6];
        let path = match n % 6 {
            0 => format!("/api/supplier/v1/orders/{id}/acknowledge"),
            1 => format!("/api/supplier/v1/orders/{id}/reject"),
            2 => format!("/api/supplier/v1/orders/{id}/tracking"),
            3 => format!("/api/supplier/v1/orders/{id}/delivered"),
            4 => format!("/api/supplier/v1/returns/{id}"),
            _ => format!(
                "/api/supplier/v1/orders?page={}&status={}",
                value(&mut rng),
                value(&mut rng)
            ),
        };
        let body = if n % 5 == 0 {
            "{{{".to_string()
        } else {
            random_json(&mut rng, 3).to_string()
        };
        let request = if path.contains('?') {
            app.client.get(app.url(&path))
        } else {
            app.client
                .post(app.url(&path))
                .header("Content-Type", "application/json")
                .body(body)
        };
        let bearer = if n % 9 == 0 {
            "kbs_x_y".to_string()
        } else {
            token.clone()
        };
        let r = request.bearer_auth(bearer).send().await.unwrap();
        if r.status().is_server_error() {
            five_hundreds.push(format!("{path}: {}", r.status()));
        }
    }

    assert!(five_hundreds.is_empty(), "{five_hundreds:#?}");
    assert_eq!(app.get("/healthz").await.status(), 200, "still serving");
}
