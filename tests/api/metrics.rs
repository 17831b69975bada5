//! `/metrics`: the figures it reports after real traffic, and who may read it (loopback
//! only by default, a bearer token when one is configured, never a forwarded client).

use kaibo::orders::Mode;

use crate::helpers::*;
use crate::shop_fixture::shop_fixture;

/// The value of the sample line that starts with `prefix`, if any.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_orders_placed() {
    let f = shop_fixture(Mode::Live, 1).await;
    let p = &f.products[0];
    for _ in 0..3 {
        assert_eq!(
            f.app.get(&format!("/shop/{}", f.handle)).await.status(),
            200
        );
    }
    let body = f.order_json(&[(p.sku_id, 1)], serde_json::json!({"method": "cod"}));
    assert_eq!(f.post_order("metrics-1", &body).await.status(), 201);
    // A replay is not a second order.
    assert_eq!(f.post_order("metrics-1", &body).await.status(), 200);

    let r = f.app.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            "kaibo_http_requests_total{method=\"GET\",route=\"/shop/{handle}\",status=\"2xx\"}"
        ),
        Some(3.0),
        "{text}"
    );
    assert!(
        text.contains(
            "kaibo_http_request_duration_seconds_bucket{le=\"0.001\",route=\"/shop/{handle}\"}"
        ) || text.contains(
            "kaibo_http_request_duration_seconds_bucket{route=\"/shop/{handle}\",le=\"0.001\"}"
        ),
        "latency histogram per route pattern: {text}"
    );
    assert_eq!(
        sample(&text, "kaibo_orders_placed_total{mode=\"live\"}"),
        Some(1.0),
        "{text}"
    );
    // The order's routing message waits in the outbox or was delivered; either way the
    // gauge is a count read from the database.
    assert!(sample(&text, "kaibo_outbox_backlog ").is_some(), "{text}");
    assert_eq!(sample(&text, "kaibo_shows_running "), Some(0.0), "{text}");
    // Raw paths never become labels.
    assert!(!text.contains(&f.handle), "{text}");
}

#[tokio::test]
async fn metrics_refuse_forwarded_clients_and_demand_the_token_when_set() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/metrics"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a client behind a proxy is not loopback");

    let token = "metrics-token-0123456789abcdef";
    let app = spawn_app_with(|raw| raw.metrics_token = token.into()).await;
    assert_eq!(app.get("/metrics").await.status(), 403, "token required");
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-0123456789abcdeX")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a wrong token");
    let r = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("kaibo_http_requests_total")
    );
}

#[tokio::test]
async fn a_short_metrics_token_is_refused_at_start() {
    let mut raw = kaibo::config::RawSettings {
        metrics_token: "short".into(),
        ..Default::default()
    };
    raw.data = std::env::temp_dir().join("kaibo-metrics-token-test");
    let err = kaibo::config::Settings::from_raw(raw).unwrap_err();
    assert!(err.to_string().contains("metrics_token"), "{err}");
    assert!(
        !err.to_string().contains("short"),
        "the token is not echoed: {err}"
    );
}
