//! `GET /metrics` in the Prometheus/OpenMetrics text format: requests and their latency
//! per route, orders placed, and, read when scraped, the outbox backlog and the running
//! shows. Open to loopback clients, or to anyone with `Authorization: Bearer <token>` when
//! `metrics_token` is set; everyone else gets 403.

use std::sync::atomic::AtomicI64;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::schema::{outbox, shows};
use crate::web::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// This instance's metrics. Counters are per process; the gauges are read from the
/// database when scraped, so every instance reports the same backlog.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    orders: Family<ModeLabels, Counter>,
    outbox_backlog: Gauge<i64, AtomicI64>,
    running_shows: Gauge<i64, AtomicI64>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 4 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kaibo");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        let orders = Family::<ModeLabels, Counter>::default();
        let outbox_backlog = Gauge::<i64, AtomicI64>::default();
        let running_shows = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route pattern and status class",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route pattern",
            latency.clone(),
        );
        registry.register(
            "orders_placed",
            "New orders placed by this instance (replays not counted), by mode",
            orders.clone(),
        );
        registry.register(
            "outbox_backlog",
            "Routed supplier messages not delivered yet",
            outbox_backlog.clone(),
        );
        registry.register(
            "shows_running",
            "Shows (sandbox and live) running now",
            running_shows.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            orders,
            outbox_backlog,
            running_shows,
        }
    }

    pub fn order_placed(&self, mode: &str) {
        self.orders
            .get_or_create(&ModeLabels { mode: mode.into() })
            .inc();
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        self.requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status: class,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.into(),
            })
            .observe(seconds);
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware: counts and times every request under its route pattern (`/shop/{handle}`,
/// never the raw path, so the label set stays bounded).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        state.metrics.observe(
            &method,
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

fn allowed(req: &HttpRequest, token: Option<&str>) -> bool {
    match token {
        Some(token) => req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| crate::web::csrf::constant_time_eq(given, token)),
        // The socket's own peer, never a forwarded header: a proxy on this host would
        // otherwise open it to everyone behind it.
        None => {
            req.peer_addr().is_some_and(|a| a.ip().is_loopback())
                && req.headers().get("x-forwarded-for").is_none()
        }
    }
}

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !allowed(&req, state.settings.metrics_token.as_deref()) {
        return HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body("metrics are open to loopback clients or with the configured token\n");
    }
    let pool = state.pool.clone();
    let counts = web::block(move || -> anyhow::Result<(i64, i64)> {
        let mut conn = pool.get()?;
        let backlog: i64 = outbox::table
            .filter(outbox::delivered_at.is_null())
            .count()
            .get_result(&mut conn)?;
        let running: i64 = shows::table
            .filter(shows::status.eq(crate::live::model::RUNNING))
            .count()
            .get_result(&mut conn)?;
        Ok((backlog, running))
    })
    .await;
    match counts {
        Ok(Ok((backlog, running))) => {
            state.metrics.outbox_backlog.set(backlog);
            state.metrics.running_shows.set(running);
        }
        // The counters still answer; the gauges keep their last reading.
        _ => tracing::warn!("metrics: the database did not answer the gauge queries"),
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}
