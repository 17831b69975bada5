//! `/orders/<secret>`: the buyer's order page through its unguessable link, with the
//! after-sales forms (ask for a return, send the item back). No account: the link is
//! the key, and the forms carry a CSRF token bound to the visitor.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::cart::parse_id;
use super::pages::{service_failure, time_text};
use crate::catalog::pricing::yuan_text;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::orders::model::{self, Case, Line, Order, SupplierOrder};
use crate::orders::state::{CaseStatus, SupplierStatus};
use crate::orders::{OrderError, flow, links};
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, PageCtx, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/orders/{token}", web::get().to(order_page))
        .route("/orders/{token}/cases", web::post().to(request_return))
        .route(
            "/orders/{token}/cases/{id}/ship-back",
            web::post().to(ship_back),
        );
}

/// A link secret has the shape `LinkKey::token` gives it; anything else is not looked up.
fn token_shape(token: &str) -> bool {
    token.len() == 24
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

struct Loaded {
    order: Order,
    lines: Vec<Line>,
    parts: Vec<SupplierOrder>,
    cases: Vec<Case>,
    events: Vec<model::Event>,
    /// Per supplier order: the last day it can be returned.
    until: Vec<(i64, Option<NaiveDateTime>)>,
    /// Per line: units a new case may still cover.
    returnable: Vec<(i64, i64)>,
}

async fn load(state: &AppState, token: &str) -> AppResult<Loaded> {
    if !token_shape(token) {
        return Err(AppError::NotFound);
    }
    let hash = links::hash(token);
    let found = state
        .db(move |conn| {
            let Some(order) = model::order_by_access(conn, &hash)? else {
                return Ok(None);
            };
            let lines = model::lines(conn, order.id)?;
            let parts = model::supplier_orders_of(conn, order.id)?;
            let cases = model::cases_of(conn, order.id)?;
            let events = model::events_of(conn, order.id)?;
            let mut until = Vec::with_capacity(parts.len());
            for so in &parts {
                until.push((so.id, flow::return_until(conn, so)?));
            }
            let mut returnable = Vec::with_capacity(lines.len());
            for line in &lines {
                returnable.push((line.id, flow::returnable(conn, line)?));
            }
            Ok(Some(Loaded {
                order,
                lines,
                parts,
                cases,
                events,
                until,
                returnable,
            }))
        })
        .await?;
    found.ok_or(AppError::NotFound)
}

pub struct ReturnForm {
    pub max: i64,
    pub until: String,
    pub quantity: String,
    pub reason: String,
    pub quantity_error: Option<String>,
    pub reason_error: Option<String>,
}

pub struct LineView {
    pub id: i64,
    pub title: String,
    pub variant: String,
    pub quantity: i32,
    pub unit: String,
    pub total: String,
    pub returned: i32,
    pub refunded: Option<String>,
    pub return_form: Option<ReturnForm>,
    pub note: Option<String>,
}

pub struct ShipmentView {
    pub status: String,
    pub status_code: String,
    pub items: String,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    pub shipped_at: Option<String>,
    pub delivered_at: Option<String>,
}

pub struct ShipBackForm {
    pub carrier: String,
    pub tracking: String,
    pub carrier_error: Option<String>,
    pub tracking_error: Option<String>,
    pub error: Option<String>,
}

pub struct CaseView {
    pub id: i64,
    pub item: String,
    pub quantity: i32,
    pub status: String,
    pub status_code: String,
    pub reason: String,
    pub reject_reason: Option<String>,
    pub return_carrier: Option<String>,
    pub return_tracking: Option<String>,
    pub refund: Option<String>,
    pub ship_back: Option<ShipBackForm>,
}

#[derive(Template)]
#[template(path = "shop/order.html")]
struct OrderPage {
    ctx: PageCtx,
    token: String,
    reference: String,
    status: String,
    status_code: String,
    sandbox: bool,
    placed_at: String,
    buyer_name: String,
    buyer_address: String,
    payment: String,
    total: String,
    paid: String,
    /// Cash on delivery not yet delivered: the amount is due to the courier, not paid.
    cod_due: bool,
    refunded: Option<String>,
    lines: Vec<LineView>,
    shipments: Vec<ShipmentView>,
    cases: Vec<CaseView>,
    history: Vec<(String, String)>,
    top_error: Option<String>,
}

/// What a refused form sent back, to show again with its message.
enum Failed {
    Return {
        line_id: i64,
        quantity: String,
        reason: String,
        error: OrderError,
        message: String,
    },
    ShipBack {
        case_id: i64,
        carrier: String,
        tracking: String,
        error: OrderError,
        message: String,
    },
}

fn status_text(locale: Locale, status: &str) -> String {
    locale.t(&format!("orders.status.{status}"))
}

fn field_of(err: &OrderError) -> Option<&'static str> {
    match err {
        OrderError::Field { field, .. } => Some(field),
        _ => None,
    }
}

fn view(
    ctx: PageCtx,
    token: String,
    data: Loaded,
    now: NaiveDateTime,
    failed: Option<Failed>,
) -> OrderPage {
    let locale = ctx.locale;
    let mut top_error = None;
    let mut failed = failed;
    let lines: Vec<LineView> = data
        .lines
        .iter()
        .map(|l| {
            let part = data
                .parts
                .iter()
                .find(|p| Some(p.id) == l.supplier_order_id);
            let delivered = part.is_some_and(|p| {
                SupplierStatus::parse(&p.status) == Some(SupplierStatus::Delivered)
            });
            let until = part.and_then(|p| {
                data.until
                    .iter()
                    .find(|(id, _)| *id == p.id)
                    .and_then(|(_, u)| *u)
            });
            let max = data
                .returnable
                .iter()
                .find(|(id, _)| *id == l.id)
                .map(|(_, m)| *m)
                .unwrap_or(0);
            let mut note = None;
            let mut return_form = None;
            if delivered {
                match until {
                    Some(u) if now > u => {
                        note = Some(locale.tf(
                            "shop.order.returns_closed",
                            &[("date", &u.format("%Y-%m-%d").to_string())],
                        ))
                    }
                    _ if max <= 0 => {}
                    u => {
                        let mut form = ReturnForm {
                            max,
                            until: u.map(time_text).unwrap_or_default(),
                            quantity: "1".into(),
                            reason: String::new(),
                            quantity_error: None,
                            reason_error: None,
                        };
                        if let Some(Failed::Return {
                            line_id,
                            quantity,
                            reason,
                            error,
                            message,
                        }) = &failed
                            && *line_id == l.id
                        {
                            form.quantity = quantity.clone();
                            form.reason = reason.clone();
                            if field_of(error) == Some("reason") {
                                form.reason_error = Some(message.clone());
                            } else {
                                form.quantity_error = Some(message.clone());
                            }
                            failed = None;
                        }
                        return_form = Some(form);
                    }
                }
            }
            LineView {
                id: l.id,
                title: l.title.clone(),
                variant: l.sku_label.clone(),
                quantity: l.quantity,
                unit: yuan_text(l.unit_price_fen),
                total: yuan_text(l.total_fen()),
                returned: l.returned_quantity,
                refunded: (l.refunded_fen > 0).then(|| yuan_text(l.refunded_fen)),
                return_form,
                note,
            }
        })
        .collect();
    let shipments = data
        .parts
        .iter()
        .map(|p| ShipmentView {
            status: status_text(locale, &p.status),
            status_code: p.status.clone(),
            items: data
                .lines
                .iter()
                .filter(|l| l.supplier_order_id == Some(p.id))
                .map(|l| format!("{} × {}", l.title, l.quantity))
                .collect::<Vec<_>>()
                .join(", "),
            carrier: p.carrier.clone(),
            tracking: p.tracking.clone(),
            shipped_at: p.shipped_at.map(time_text),
            delivered_at: p.delivered_at.map(time_text),
        })
        .collect();
    let cases = data
        .cases
        .iter()
        .map(|c| {
            let approved = CaseStatus::parse(&c.status) == Some(CaseStatus::Approved);
            let mut ship_back = approved.then(|| ShipBackForm {
                carrier: String::new(),
                tracking: String::new(),
                carrier_error: None,
                tracking_error: None,
                error: None,
            });
            if let Some(Failed::ShipBack {
                case_id,
                carrier,
                tracking,
                error,
                message,
            }) = &failed
                && *case_id == c.id
                && let Some(form) = ship_back.as_mut()
            {
                form.carrier = carrier.clone();
                form.tracking = tracking.clone();
                match field_of(error) {
                    Some("carrier") => form.carrier_error = Some(message.clone()),
                    Some("tracking") => form.tracking_error = Some(message.clone()),
                    _ => form.error = Some(message.clone()),
                }
                failed = None;
            }
            CaseView {
                id: c.id,
                item: data
                    .lines
                    .iter()
                    .find(|l| l.id == c.line_id)
                    .map(|l| l.title.clone())
                    .unwrap_or_default(),
                quantity: c.quantity,
                status: status_text(locale, &c.status),
                status_code: c.status.clone(),
                reason: c.reason.clone(),
                reject_reason: c.reject_reason.clone(),
                return_carrier: c.return_carrier.clone(),
                return_tracking: c.return_tracking.clone(),
                refund: (c.refund_fen > 0).then(|| yuan_text(c.refund_fen)),
                ship_back,
            }
        })
        .collect();
    // A refused form whose place on the page is gone (the window closed meanwhile, say)
    // still says why, at the top.
    if let Some(Failed::Return { message, .. } | Failed::ShipBack { message, .. }) = failed {
        top_error = Some(message);
    }
    let o = &data.order;
    let payment = match (o.payment_method.as_str(), &o.card_last4) {
        ("card", Some(last4)) => locale.tf("shop.payment.card", &[("last4", last4)]),
        ("card", None) => locale.t("shop.payment.card_plain"),
        _ => locale.t("shop.payment.cod"),
    };
    OrderPage {
        token,
        reference: o.reference.clone(),
        status: status_text(locale, &o.status),
        status_code: o.status.clone(),
        sandbox: o.mode == "sandbox",
        placed_at: time_text(o.created_at),
        buyer_name: o.buyer_name.clone(),
        buyer_address: o.buyer_address.clone(),
        payment,
        total: yuan_text(o.total_fen),
        paid: yuan_text(o.paid_fen),
        cod_due: o.payment_method == "cod"
            && !matches!(o.status.as_str(), "delivered" | "completed"),
        refunded: (o.refunded_fen > 0).then(|| yuan_text(o.refunded_fen)),
        lines,
        shipments,
        cases,
        history: data
            .events
            .iter()
            .map(|e| (time_text(e.at), status_text(locale, &e.to_status)))
            .collect(),
        top_error,
        ctx,
    }
}

pub async fn order_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let data = load(&state, &token).await?;
    let now = state.now().naive_utc();
    render_with_status(&view(ctx, token, data, now, None), StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct ReturnRequest {
    line_id: Option<String>,
    quantity: Option<String>,
    reason: Option<String>,
}

fn refused(err: OrderError) -> Result<OrderError, AppError> {
    match err {
        OrderError::Db(_)
        | OrderError::Unavailable(_)
        | OrderError::NotFound
        | OrderError::NotYours => Err(service_failure(err)),
        other => Ok(other),
    }
}

pub async fn request_return(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ReturnRequest>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let token = path.into_inner();
    let data = load(&state, &token).await?;
    let line_id = parse_id(form.line_id.as_deref().unwrap_or(""))
        .ok_or_else(|| AppError::bad_request("errors.bad_form", "line_id"))?;
    let quantity_input: String = form
        .quantity
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .take(20)
        .collect();
    let reason: String = form.reason.clone().unwrap_or_default();
    let now = state.now().naive_utc();
    let result = match quantity_input.parse::<i64>() {
        Ok(quantity) => {
            let (order_id, reason) = (data.order.id, reason.clone());
            state
                .write(move |conn| {
                    flow::request_case(conn, order_id, line_id, quantity, &reason, now)
                })
                .await
        }
        Err(_) => Err(OrderError::Field {
            field: "quantity",
            key: "shop.order.quantity_invalid",
        }),
    };
    match result {
        Ok(_) => {
            let mut response = see_other(&format!("/orders/{token}"));
            response
                .add_cookie(&flash_cookie("flash.case_requested", &state.settings))
                .ok();
            Ok(response)
        }
        Err(e) => {
            let error = refused(e)?;
            let message = error.message(ctx.locale);
            let failed = Failed::Return {
                line_id,
                quantity: quantity_input,
                reason: reason.trim().chars().take(500).collect(),
                error,
                message,
            };
            render_with_status(
                &view(ctx, token, data, now, Some(failed)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ShipBackRequest {
    carrier: Option<String>,
    tracking: Option<String>,
}

pub async fn ship_back(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ShipBackRequest>,
    ctx: PageCtx,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (token, case_id) = path.into_inner();
    let data = load(&state, &token).await?;
    let case_id = parse_id(&case_id).ok_or(AppError::NotFound)?;
    let carrier = form.carrier.clone().unwrap_or_default();
    let tracking = form.tracking.clone().unwrap_or_default();
    let now = state.now().naive_utc();
    let (order_id, c, t) = (data.order.id, carrier.clone(), tracking.clone());
    let result = state
        .write(move |conn| flow::ship_back(conn, order_id, case_id, &c, &t, now))
        .await;
    match result {
        Ok(_) => {
            let mut response = see_other(&format!("/orders/{token}"));
            response
                .add_cookie(&flash_cookie("flash.return_shipped", &state.settings))
                .ok();
            Ok(response)
        }
        Err(e) => {
            let error = refused(e)?;
            let message = error.message(ctx.locale);
            let failed = Failed::ShipBack {
                case_id,
                carrier: carrier.trim().chars().take(40).collect(),
                tracking: tracking.trim().chars().take(40).collect(),
                error,
                message,
            };
            render_with_status(
                &view(ctx, token, data, now, Some(failed)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}
