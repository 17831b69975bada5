//! `POST /api/orders` places an order as JSON; `GET /api/orders/<secret>` reads it back.
//! Both answer JSON, errors included: `{"error": {"code", "message", "line"}}`.
//!
//! A live shop takes orders from anyone. A sandbox shop only from its simulation, which
//! sends `Authorization: Bearer <the shop's sandbox token>`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::error::AppError;
use crate::i18n::Locale;
use crate::orders::checkout::{FieldProblems, parse_buyer, parse_payment};
use crate::orders::model::{self, Order};
use crate::orders::place::{self, NewLine, NewOrder};
use crate::orders::{self, Mode, OrderError, links, shop};
use crate::web::AppState;

/// Bodies above this are refused before parsing.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/orders")
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .route(web::post().to(create)),
    )
    .route("/api/orders/{token}", web::get().to(show));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiOrder {
    shop: String,
    lines: Vec<ApiLine>,
    buyer: ApiBuyer,
    payment: ApiPayment,
    #[serde(default)]
    show_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiLine {
    sku_id: i64,
    quantity: i64,
    #[serde(default)]
    deal_id: Option<i64>,
    /// Accepted and ignored: the shop's own price always applies.
    #[serde(default)]
    #[allow(dead_code)]
    unit_price_fen: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiBuyer {
    name: String,
    phone: String,
    address: String,
    #[serde(default)]
    segment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiPayment {
    method: String,
    #[serde(default)]
    card_number: Option<String>,
}

#[derive(Serialize)]
pub struct ApiOrderView {
    pub reference: String,
    pub status: String,
    pub mode: String,
    pub total_fen: i64,
    pub paid_fen: i64,
    pub refunded_fen: i64,
    pub currency: String,
    pub url: String,
    pub lines: Vec<ApiLineView>,
    pub shipments: Vec<ApiShipment>,
}

#[derive(Serialize)]
pub struct ApiLineView {
    pub id: i64,
    pub sku_id: i64,
    pub title: String,
    pub variant: String,
    pub quantity: i32,
    pub unit_price_fen: i64,
    pub deal_id: Option<i64>,
}

#[derive(Serialize)]
pub struct ApiShipment {
    pub status: String,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
}

fn locale_of(req: &HttpRequest) -> Locale {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or(Locale::En)
}

pub fn json_error(
    status: StatusCode,
    code: &str,
    message: String,
    extra: serde_json::Value,
) -> HttpResponse {
    let mut error = serde_json::json!({ "code": code, "message": message });
    if let (Some(map), serde_json::Value::Object(more)) = (error.as_object_mut(), extra) {
        map.extend(more);
    }
    HttpResponse::build(status).json(serde_json::json!({ "error": error }))
}

fn order_error(err: &OrderError, locale: Locale) -> HttpResponse {
    match err {
        OrderError::Db(e) if crate::db::is_unavailable(e) => {
            tracing::warn!(error = %e, "order API: the database is unavailable");
        }
        OrderError::Db(e) => tracing::error!(error = %e, "order placement failed"),
        OrderError::Unavailable(e) => {
            tracing::warn!(error = %e, "order API: the database is unavailable");
        }
        _ => {}
    }
    let message = match err {
        OrderError::Db(e) if crate::db::is_unavailable(e) => locale.t("errors.unavailable.title"),
        OrderError::Db(_) => locale.t("errors.internal.title"),
        other => other.message(locale),
    };
    let extra = match err.line() {
        Some(line) => serde_json::json!({ "line": line }),
        None => serde_json::json!({}),
    };
    let mut response = json_error(err.status(), err.code(), message, extra);
    if err.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(2u64));
    }
    response
}

fn field_errors(problems: &FieldProblems, locale: Locale) -> HttpResponse {
    let fields: serde_json::Map<String, serde_json::Value> = problems
        .iter()
        .map(|(f, key)| (f.to_string(), serde_json::Value::String(locale.t(key))))
        .collect();
    let message = problems
        .iter()
        .map(|(f, key)| format!("{f}: {}", locale.t(key)))
        .collect::<Vec<_>>()
        .join("; ");
    json_error(
        StatusCode::BAD_REQUEST,
        "invalid_field",
        message,
        serde_json::json!({ "fields": fields }),
    )
}

pub fn view(
    order: &Order,
    lines: &[model::Line],
    parts: &[model::SupplierOrder],
    token: &str,
) -> ApiOrderView {
    ApiOrderView {
        reference: order.reference.clone(),
        status: order.status.clone(),
        mode: order.mode.clone(),
        total_fen: order.total_fen,
        paid_fen: order.paid_fen,
        refunded_fen: order.refunded_fen,
        currency: order.currency.clone(),
        url: format!("/orders/{token}"),
        lines: lines
            .iter()
            .map(|l| ApiLineView {
                id: l.id,
                sku_id: l.sku_id,
                title: l.title.clone(),
                variant: l.sku_label.clone(),
                quantity: l.quantity,
                unit_price_fen: l.unit_price_fen,
                deal_id: l.deal_id,
            })
            .collect(),
        shipments: parts
            .iter()
            .map(|p| ApiShipment {
                status: p.status.clone(),
                carrier: p.carrier.clone(),
                tracking: p.tracking.clone(),
            })
            .collect(),
    }
}

/// Why an API order was refused before anything was written.
enum Refusal {
    Order(OrderError),
    Fields(FieldProblems),
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

use crate::web::csrf::constant_time_eq as same;

async fn create(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let locale = locale_of(&req);
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            locale.t("orders.api.content_type"),
            serde_json::json!({}),
        );
    }
    let key = match place::parse_key(
        req.headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok()),
    ) {
        Ok(key) => key,
        Err(e) => return order_error(&e, locale),
    };
    let body: ApiOrder = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                locale.tf("orders.api.invalid_json", &[("detail", &e.to_string())]),
                serde_json::json!({}),
            );
        }
    };
    // Everything that needs the shop is checked in the placement's own write job, in the
    // order a buyer would want to hear it: the shop, the show, then the form's fields.
    let buyer = parse_buyer(
        &body.buyer.name,
        &body.buyer.phone,
        &body.buyer.address,
        body.buyer.segment.as_deref(),
    );
    let ApiOrder {
        shop: handle,
        lines,
        payment,
        show_id: requested_show,
        ..
    } = body;
    let lines: Vec<NewLine> = lines
        .iter()
        .map(|l| NewLine {
            sku_id: l.sku_id,
            quantity: l.quantity,
            deal_id: l.deal_id,
        })
        .collect();
    let skus = orders::place::skus_of(&lines);
    let bearer = bearer(&req).map(str::to_owned);
    let links = state.links.clone();
    let resolve = move |conn: &mut DbConn| -> Result<Result<NewOrder, Refusal>, OrderError> {
        let Some(found) = shop::for_order(conn, &handle)? else {
            return Ok(Err(Refusal::Order(OrderError::ShopNotFound)));
        };
        let shop = &found.shop;
        let mode = shop.mode();
        if mode == Mode::Sandbox {
            let expected = links.sandbox_token(shop.user_id);
            if !bearer.as_deref().is_some_and(|t| same(t, &expected)) {
                // A sandbox shop does not exist for anyone but its simulation.
                return Ok(Err(Refusal::Order(OrderError::ShopNotFound)));
            }
        }
        let Ok(show_id) = found.show_for(requested_show) else {
            return Ok(Err(Refusal::Fields(vec![(
                "show_id",
                "orders.api.show_not_running",
            )])));
        };
        let buyer = match buyer {
            Ok(b) => b,
            Err(problems) => return Ok(Err(Refusal::Fields(problems))),
        };
        let (method, card) = match parse_payment(
            &payment.method,
            payment.card_number.as_deref(),
            mode == Mode::Live,
        ) {
            Ok(p) => p,
            Err(problems) => return Ok(Err(Refusal::Fields(problems))),
        };
        Ok(Ok(NewOrder {
            shop_user_id: shop.user_id,
            mode,
            idempotency_key: key,
            lines,
            buyer,
            method,
            card,
            show_id,
            fee_bp: found.fee_bp,
        }))
    };
    let placed = match orders::place_resolved(&state, state.now().naive_utc(), skus, resolve).await
    {
        Ok(Ok(p)) => p,
        Ok(Err(Refusal::Order(e))) | Err(e) => return order_error(&e, locale),
        Ok(Err(Refusal::Fields(problems))) => return field_errors(&problems, locale),
    };
    let body = view(&placed.order, &placed.lines, &placed.parts, &placed.token);
    if let Some(declined) = placed.declined {
        let mut response = json_error(
            StatusCode::PAYMENT_REQUIRED,
            declined.code(),
            locale.t(&format!("checkout.declined.{}", declined.code())),
            serde_json::json!({ "order": body }),
        );
        if placed.replayed {
            response.headers_mut().insert(
                header::HeaderName::from_static("idempotent-replayed"),
                header::HeaderValue::from_static("true"),
            );
        }
        return response;
    }
    let status = if placed.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = HttpResponse::build(status).json(body);
    if placed.replayed {
        response.headers_mut().insert(
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderValue::from_static("true"),
        );
    }
    response
}

fn api_app_error(err: AppError, locale: Locale) -> HttpResponse {
    // As the pages do: a database that is down is a warning, anything else an error.
    let (status, code, title) = match &err {
        AppError::Unavailable(_) => {
            tracing::warn!(error = %err, "order API: service unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "errors.unavailable.title",
            )
        }
        _ => {
            tracing::error!(error = %err, "order API");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "errors.internal.title",
            )
        }
    };
    let mut response = json_error(status, code, locale.t(title), serde_json::json!({}));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(2u64));
    }
    response
}

async fn show(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let locale = locale_of(&req);
    let token = path.into_inner();
    if token.len() != 24
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return order_error(&OrderError::NotFound, locale);
    }
    let hash = links::hash(&token);
    let found = state
        .db(move |conn| {
            let Some(order) = model::order_by_access(conn, &hash)? else {
                return Ok(None);
            };
            let lines = model::lines(conn, order.id)?;
            let parts = model::supplier_orders_of(conn, order.id)?;
            Ok(Some((order, lines, parts)))
        })
        .await;
    match found {
        Ok(Some((order, lines, parts))) => {
            HttpResponse::Ok().json(view(&order, &lines, &parts, &token))
        }
        Ok(None) => order_error(&OrderError::NotFound, locale),
        Err(e) => api_app_error(e, locale),
    }
}
