//! The supplier JSON API for suppliers' own systems, authenticated by API keys
//! (`Authorization: Bearer kbs_...`, never a session cookie). Every answer is JSON,
//! errors included: `{"error": {"code", "message"}}`. Another supplier's record is
//! answered 404, as if it did not exist. Documented in `docs/supplier-api.md`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys;
use super::orders::flow_message;
use super::queries::{self, CaseRow, OrderDetail, OrderFilter, OrderRow, StatusFilter};
use crate::error::AppError;
use crate::i18n::Locale;
use crate::orders::model::{Case, SupplierOrder};
use crate::orders::{CaseStatus, OrderError, flow};
use crate::shop::api::json_error;
use crate::web::AppState;

/// Request bodies above this are refused before parsing.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Most rows one list call returns.
pub const MAX_PER_PAGE: i64 = 100;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/supplier/v1")
            .app_data(web::PayloadConfig::new(BODY_LIMIT))
            .route("/orders", web::get().to(list_orders))
            .route("/orders/{id}", web::get().to(show_order))
            .route("/orders/{id}/acknowledge", web::post().to(acknowledge))
            .route("/orders/{id}/reject", web::post().to(reject))
            .route("/orders/{id}/tracking", web::post().to(tracking))
            .route("/orders/{id}/delivered", web::post().to(delivered))
            .route("/returns", web::get().to(list_returns))
            .route("/returns/{id}", web::get().to(show_return))
            .route("/returns/{id}", web::post().to(act_on_return))
            .default_service(web::to(not_found)),
    );
}

// ------------------------------------------------------------------ views

fn at(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Serialize)]
struct ApiOrderSummary {
    id: i64,
    reference: String,
    status: String,
    /// Delivered to the supplier by the outbox and not acted on yet.
    new: bool,
    mode: String,
    total_fen: i64,
    carrier: Option<String>,
    tracking: Option<String>,
    created_at: String,
    updated_at: String,
}

fn summary(so: &SupplierOrder, reference: &str) -> ApiOrderSummary {
    ApiOrderSummary {
        id: so.id,
        reference: reference.to_string(),
        status: so.status.clone(),
        new: so.status == "routed" && so.notified_at.is_some(),
        mode: so.mode.clone(),
        total_fen: so.total_fen,
        carrier: so.carrier.clone(),
        tracking: so.tracking.clone(),
        created_at: at(&so.created_at),
        updated_at: at(&so.updated_at),
    }
}

#[derive(Serialize)]
struct ApiOrder {
    #[serde(flatten)]
    summary: ApiOrderSummary,
    currency: String,
    reject_reason: Option<String>,
    notified_at: Option<String>,
    shipped_at: Option<String>,
    delivered_at: Option<String>,
    ship_to: ApiShipTo,
    lines: Vec<ApiLine>,
    events: Vec<ApiEvent>,
}

#[derive(Serialize)]
struct ApiShipTo {
    name: String,
    phone: String,
    address: String,
}

#[derive(Serialize)]
struct ApiLine {
    id: i64,
    sku_id: i64,
    title: String,
    variant: String,
    quantity: i32,
    returned_quantity: i32,
}

#[derive(Serialize)]
struct ApiEvent {
    at: String,
    subject: &'static str,
    case_id: Option<i64>,
    from: Option<String>,
    to: String,
    actor: String,
    reason: String,
}

fn order_view(d: &OrderDetail) -> ApiOrder {
    ApiOrder {
        summary: summary(&d.so, &d.order.reference),
        currency: d.order.currency.clone(),
        reject_reason: d.so.reject_reason.clone(),
        notified_at: d.so.notified_at.as_ref().map(at),
        shipped_at: d.so.shipped_at.as_ref().map(at),
        delivered_at: d.so.delivered_at.as_ref().map(at),
        ship_to: ApiShipTo {
            name: d.order.buyer_name.clone(),
            phone: d.order.buyer_phone.clone(),
            address: d.order.buyer_address.clone(),
        },
        lines: d
            .lines
            .iter()
            .map(|l| ApiLine {
                id: l.id,
                sku_id: l.sku_id,
                title: l.title.clone(),
                variant: l.sku_label.clone(),
                quantity: l.quantity,
                returned_quantity: l.returned_quantity,
            })
            .collect(),
        events: d
            .events
            .iter()
            .map(|e| ApiEvent {
                at: at(&e.at),
                subject: if e.case_id.is_some() {
                    "return"
                } else {
                    "order"
                },
                case_id: e.case_id,
                from: e.from_status.clone(),
                to: e.to_status.clone(),
                // Only the kind of actor: other parties' ids are not the supplier's business.
                actor: e.actor.split(':').next().unwrap_or("").to_string(),
                reason: e.reason.clone(),
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct ApiCase {
    id: i64,
    order_id: i64,
    order_reference: String,
    status: String,
    mode: String,
    title: String,
    variant: String,
    quantity: i32,
    reason: String,
    reject_reason: Option<String>,
    return_carrier: Option<String>,
    return_tracking: Option<String>,
    refund_fen: i64,
    created_at: String,
    updated_at: String,
}

fn case_view(r: &CaseRow) -> ApiCase {
    let c: &Case = &r.case;
    ApiCase {
        id: c.id,
        order_id: c.supplier_order_id,
        order_reference: r.reference.clone(),
        status: c.status.clone(),
        mode: c.mode.clone(),
        title: r.title.clone(),
        variant: r.variant.clone(),
        quantity: c.quantity,
        reason: c.reason.clone(),
        reject_reason: c.reject_reason.clone(),
        return_carrier: c.return_carrier.clone(),
        return_tracking: c.return_tracking.clone(),
        refund_fen: c.refund_fen,
        created_at: at(&c.created_at),
        updated_at: at(&c.updated_at),
    }
}

#[derive(Serialize)]
struct Page<T> {
    page: i64,
    per_page: i64,
    total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    orders: Option<Vec<T>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    returns: Option<Vec<T>>,
}

// ------------------------------------------------------------------ plumbing

fn locale_of(req: &HttpRequest) -> Locale {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or(Locale::En)
}

fn error(status: StatusCode, code: &str, message: String) -> HttpResponse {
    json_error(status, code, message, serde_json::json!({}))
}

fn app_error(err: AppError, locale: Locale) -> HttpResponse {
    tracing::error!(error = %err, "supplier API");
    let (status, code) = match &err {
        AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    error(status, code, locale.t("errors.internal.title"))
}

fn not_found_error(locale: Locale) -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        locale.t("orders.error.not_found"),
    )
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    not_found_error(locale_of(&req))
}

/// A refusal from the order flow. Another supplier's record is "not found".
fn flow_error(err: &OrderError, current: Option<&str>, locale: Locale) -> HttpResponse {
    match err {
        OrderError::NotFound | OrderError::NotYours => not_found_error(locale),
        OrderError::Db(e) => {
            tracing::error!(error = %e, "supplier API");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                locale.t("errors.internal.title"),
            )
        }
        other => {
            let mut response = error(
                other.status(),
                other.code(),
                flow_message(other, current, locale),
            );
            if matches!(other, OrderError::Unavailable(_)) {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(2u64));
            }
            response
        }
    }
}

struct Caller {
    supplier_id: i64,
    locale: Locale,
}

/// The supplier behind the bearer key, or the 401 to answer.
async fn caller(req: &HttpRequest, state: &AppState) -> Result<Caller, HttpResponse> {
    let locale = locale_of(req);
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let unauthorized = |key: &str| {
        let mut r = error(StatusCode::UNAUTHORIZED, "unauthorized", locale.t(key));
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"kaibo-supplier\""),
        );
        r
    };
    let Some(token) = token else {
        return Err(unauthorized("supplier_orders.api.missing_key"));
    };
    let now = state.now().naive_utc();
    match state
        .db(move |conn| Ok(keys::authenticate(conn, &token, now)?))
        .await
    {
        Ok(Some(supplier_id)) => Ok(Caller {
            supplier_id,
            locale,
        }),
        Ok(None) => Err(unauthorized("supplier_orders.api.bad_key")),
        Err(e) => Err(app_error(e, locale)),
    }
}

/// Parses a JSON body. An empty body reads as `{}` for the endpoints whose fields are
/// all optional; a body must say it is JSON.
// The error is the response to send, made at most once per request.
#[allow(clippy::result_large_err)]
fn parse_body<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &web::Bytes,
    locale: Locale,
) -> Result<T, HttpResponse> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    if !empty {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "content_type",
                locale.t("supplier_orders.api.content_type"),
            ));
        }
    }
    let bytes: &[u8] = if empty { b"{}" } else { body };
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            locale.tf(
                "supplier_orders.api.invalid_json",
                &[("detail", &e.to_string())],
            ),
        )
    })
}

fn query_value(req: &HttpRequest, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

// The error is the response to send, made at most once per request.
#[allow(clippy::result_large_err)]
fn paging(req: &HttpRequest, locale: Locale) -> Result<(i64, i64), HttpResponse> {
    let bad = |key: &str| error(StatusCode::BAD_REQUEST, "invalid_query", locale.t(key));
    let page = match query_value(req, "page") {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| bad("supplier_orders.filter.bad_page"))?,
    };
    let per_page = match query_value(req, "per_page") {
        None => queries::PER_PAGE,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=MAX_PER_PAGE).contains(p))
            .ok_or_else(|| bad("supplier_orders.api.bad_per_page"))?,
    };
    Ok((page, per_page))
}

async fn detail_response(
    state: &AppState,
    supplier_id: i64,
    so_id: i64,
    locale: Locale,
) -> HttpResponse {
    match state
        .db(move |conn| Ok(queries::order_detail(conn, supplier_id, so_id)?))
        .await
    {
        Ok(Some(d)) => HttpResponse::Ok().json(order_view(&d)),
        Ok(None) => not_found_error(locale),
        Err(e) => app_error(e, locale),
    }
}

/// The current status of a supplier order the caller owns, for the wording of a refusal.
async fn current_status(state: &AppState, supplier_id: i64, so_id: i64) -> Option<String> {
    state
        .db(move |conn| Ok(queries::order_detail(conn, supplier_id, so_id)?))
        .await
        .ok()
        .flatten()
        .map(|d| d.so.status)
}

// ------------------------------------------------------------------ orders

async fn list_orders(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let me = match caller(&req, &state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut filter = OrderFilter::default();
    if let Some(s) = query_value(&req, "status").filter(|s| !s.is_empty()) {
        match StatusFilter::parse(&s) {
            Some(f) => filter.status = Some(f),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    me.locale.t("supplier_orders.filter.bad_status"),
                );
            }
        }
    }
    let (page, per_page) = match paging(&req, me.locale) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let sid = me.supplier_id;
    match state
        .db(move |conn| Ok(queries::list_orders(conn, sid, &filter, page, per_page)?))
        .await
    {
        Ok((rows, total)) => HttpResponse::Ok().json(Page {
            page,
            per_page,
            total,
            orders: Some(
                rows.iter()
                    .map(|r: &OrderRow| summary(&r.so, &r.reference))
                    .collect(),
            ),
            returns: None,
        }),
        Err(e) => app_error(e, me.locale),
    }
}

async fn show_order(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let me = match caller(&req, &state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = path.parse::<i64>() else {
        return not_found_error(me.locale);
    };
    detail_response(&state, me.supplier_id, id, me.locale).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectBody {
    reason: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackingBody {
    carrier: String,
    tracking: String,
}

enum SoCall {
    Acknowledge,
    Reject(String),
    Ship(String, String),
    Deliver,
}

async fn so_call(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Bytes,
    kind: &str,
) -> HttpResponse {
    let me = match caller(&req, &state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(so_id) = path.parse::<i64>() else {
        return not_found_error(me.locale);
    };
    let call = match kind {
        "reject" => match parse_body::<RejectBody>(&req, &body, me.locale) {
            Ok(b) => SoCall::Reject(b.reason),
            Err(r) => return r,
        },
        "tracking" => match parse_body::<TrackingBody>(&req, &body, me.locale) {
            Ok(b) => SoCall::Ship(b.carrier, b.tracking),
            Err(r) => return r,
        },
        other => match parse_body::<NoFields>(&req, &body, me.locale) {
            Ok(_) if other == "acknowledge" => SoCall::Acknowledge,
            Ok(_) => SoCall::Deliver,
            Err(r) => return r,
        },
    };
    let sid = me.supplier_id;
    let now = state.now().naive_utc();
    let result = state
        .write(move |conn| match &call {
            SoCall::Acknowledge => flow::acknowledge(conn, sid, so_id, now),
            SoCall::Reject(reason) => flow::reject(conn, sid, so_id, reason, now),
            SoCall::Ship(carrier, tracking) => flow::ship(conn, sid, so_id, carrier, tracking, now),
            SoCall::Deliver => flow::deliver(conn, sid, so_id, now),
        })
        .await;
    match result {
        Ok(_) => detail_response(&state, sid, so_id, me.locale).await,
        Err(err) => {
            let current = match &err {
                OrderError::Illegal(_) => current_status(&state, sid, so_id).await,
                _ => None,
            };
            flow_error(&err, current.as_deref(), me.locale)
        }
    }
}

async fn acknowledge(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    so_call(req, path, state, body, "acknowledge").await
}

async fn reject(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    so_call(req, path, state, body, "reject").await
}

async fn tracking(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    so_call(req, path, state, body, "tracking").await
}

async fn delivered(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    so_call(req, path, state, body, "delivered").await
}

// ------------------------------------------------------------------ returns

async fn list_returns(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let me = match caller(&req, &state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut status = None;
    if let Some(s) = query_value(&req, "status").filter(|s| !s.is_empty()) {
        match CaseStatus::parse(&s) {
            Some(c) => status = Some(c),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    me.locale.t("supplier_orders.filter.bad_status"),
                );
            }
        }
    }
    let (page, per_page) = match paging(&req, me.locale) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let sid = me.supplier_id;
    match state
        .db(move |conn| Ok(queries::list_cases(conn, sid, status, page, per_page)?))
        .await
    {
        Ok((rows, total)) => HttpResponse::Ok().json(Page {
            page,
            per_page,
            total,
            orders: None,
            returns: Some(rows.iter().map(case_view).collect()),
        }),
        Err(e) => app_error(e, me.locale),
    }
}

async fn case_response(state: &AppState, sid: i64, case_id: i64, locale: Locale) -> HttpResponse {
    match state
        .db(move |conn| Ok(queries::case_row(conn, sid, case_id)?))
        .await
    {
        Ok(Some(row)) => HttpResponse::Ok().json(case_view(&row)),
        Ok(None) => not_found_error(locale),
        Err(e) => app_error(e, locale),
    }
}

async fn show_return(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let me = match caller(&req, &state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = path.parse::<i64>() else {
        return not_found_error(me.locale);
    };
    case_response(&state, me.supplier_id, id, me.locale).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseBody {
    action: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn act_on_return(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let me = match caller(&req, &state).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(case_id) = path.parse::<i64>() else {
        return not_found_error(me.locale);
    };
    let body: CaseBody = match parse_body(&req, &body, me.locale) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if !matches!(
        body.action.as_str(),
        "approve" | "approve_refund_only" | "reject" | "received"
    ) {
        return error(
            StatusCode::BAD_REQUEST,
            "unknown_action",
            me.locale.tf(
                "supplier_orders.api.unknown_action",
                &[("action", &body.action.chars().take(40).collect::<String>())],
            ),
        );
    }
    let sid = me.supplier_id;
    let now = state.now().naive_utc();
    let reason = body.reason.unwrap_or_default();
    let action = body.action;
    let result = state
        .write(move |conn| match action.as_str() {
            "approve" => flow::approve_case(conn, sid, case_id, false, now),
            "approve_refund_only" => flow::approve_case(conn, sid, case_id, true, now),
            "reject" => flow::reject_case(conn, sid, case_id, &reason, now),
            _ => flow::receive_case(conn, sid, case_id, now),
        })
        .await;
    match result {
        Ok(_) => case_response(&state, sid, case_id, me.locale).await,
        Err(err) => flow_error(&err, None, me.locale),
    }
}
