//! The creator's order desk: orders with filters (mode, status, dates, product), an
//! order's detail with its event timeline, daily totals (GMV, orders, refunds,
//! commission), and the after-sales cases of their shop with notes. Trainees only, and
//! only their own shop's records: anyone else's order is "not found".

pub mod queries;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use crate::accounts::domain::Role;
use crate::catalog::pricing::yuan_text;
use crate::error::{AppError, AppResult};
use crate::orders::model::{self, Case, CaseNote, Event, Line, Order, Payment, SupplierOrder};
use crate::orders::{CaseStatus, Mode, OrderError, OrderStatus, flow, shop};
use crate::web::page::FormErrors;
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, PageCtx, render_with_status, see_other};
use queries::{DayTotals, Filters};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/desk/orders", web::get().to(orders_page))
        .route("/desk/orders/{reference}", web::get().to(order_page))
        .route("/desk/orders/{reference}/cancel", web::post().to(cancel))
        .route("/desk/cases", web::get().to(cases_page))
        .route("/desk/cases/{id}/notes", web::post().to(add_note))
        .route("/desk/cases/{id}/approve", web::post().to(approve_case))
        .route("/desk/cases/{id}/reject", web::post().to(reject_case));
}

pub const PAGE_SIZE: i64 = 50;

fn creator(ctx: &PageCtx) -> AppResult<i64> {
    Ok(ctx.require_role(&[Role::Trainee])?.id)
}

/// Turns a status name into its text, whatever the record.
fn status_text(ctx: &PageCtx, status: &str) -> String {
    ctx.t(&format!("orders.status.{status}"))
}

// ------------------------------------------------------------------ the list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    mode: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    product: Option<String>,
    page: Option<String>,
}

pub struct OrderRow {
    pub reference: String,
    pub created: String,
    pub mode: String,
    pub status: String,
    pub buyer: String,
    pub total: String,
    pub refunded: Option<String>,
    pub earnings: String,
}

pub struct DayRow {
    pub day: String,
    pub gmv: String,
    pub orders: i64,
    pub refunds: String,
    pub commission: String,
    pub earnings: String,
}

#[derive(Template)]
#[template(path = "desk/orders.html")]
struct OrdersPage {
    ctx: PageCtx,
    handle: String,
    shop_live: bool,
    rows: Vec<OrderRow>,
    days: Vec<DayRow>,
    errors: FormErrors,
    mode: String,
    status: String,
    from: String,
    to: String,
    product: String,
    statuses: Vec<(String, String)>,
    next_page: Option<String>,
    prev_page: Option<String>,
}

fn trimmed(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().chars().take(30).collect()
}

fn parse_filters(q: &ListQuery, ctx: &PageCtx) -> (Filters, i64, FormErrors) {
    let mut errors = FormErrors::default();
    let mut f = Filters::default();
    match q.mode.as_deref().map(str::trim).unwrap_or("") {
        "" => {}
        m => match Mode::parse(m) {
            Some(mode) => f.mode = Some(mode.as_str()),
            None => errors.add("mode", ctx.t("desk.bad_mode")),
        },
    }
    match q.status.as_deref().map(str::trim).unwrap_or("") {
        "" => {}
        s => match OrderStatus::parse(s) {
            Some(status) => f.status = Some(status.as_str()),
            None => errors.add("status", ctx.t("desk.bad_status")),
        },
    }
    for (name, raw, slot) in [("from", &q.from, &mut f.from), ("to", &q.to, &mut f.to)] {
        match raw.as_deref().map(str::trim).unwrap_or("") {
            "" => {}
            d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(date) => *slot = Some(date),
                Err(_) => errors.add(name, ctx.t("desk.bad_date")),
            },
        }
    }
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a > b
    {
        errors.add("to", ctx.t("desk.bad_range"));
        f.to = None;
    }
    match q.product.as_deref().map(str::trim).unwrap_or("") {
        "" => {}
        p => match p.parse::<i64>() {
            Ok(id) if id > 0 => f.product_id = Some(id),
            _ => errors.add("product", ctx.t("desk.bad_product")),
        },
    }
    let page = match q.page.as_deref().map(str::trim).unwrap_or("") {
        "" => 1,
        p => match p.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                errors.add("page", ctx.t("desk.bad_page"));
                1
            }
        },
    };
    (f, page, errors)
}

fn page_link(q: &ListQuery, page: i64) -> String {
    let pairs = [
        ("mode", trimmed(&q.mode)),
        ("status", trimmed(&q.status)),
        ("from", trimmed(&q.from)),
        ("to", trimmed(&q.to)),
        ("product", trimmed(&q.product)),
    ];
    let mut s = form_urlencoded(&pairs);
    if !s.is_empty() {
        s.push('&');
    }
    format!("/desk/orders?{s}page={page}")
}

fn form_urlencoded(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::error::urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn order_row(ctx: &PageCtx, o: &Order) -> OrderRow {
    OrderRow {
        reference: o.reference.clone(),
        created: o.created_at.format("%Y-%m-%d %H:%M").to_string(),
        mode: ctx.t(&format!("orders.mode.{}", o.mode)),
        status: status_text(ctx, &o.status),
        buyer: o.buyer_name.clone(),
        total: yuan_text(o.total_fen),
        refunded: (o.refunded_fen > 0).then(|| yuan_text(o.refunded_fen)),
        earnings: yuan_text(o.earnings_fen),
    }
}

fn day_row(d: &DayTotals) -> DayRow {
    DayRow {
        day: d.day.format("%Y-%m-%d").to_string(),
        gmv: yuan_text(d.gmv_fen),
        orders: d.orders,
        refunds: yuan_text(d.refunds_fen),
        commission: yuan_text(d.commission_fen),
        earnings: yuan_text(d.earnings_fen),
    }
}

async fn orders_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let uid = creator(&ctx)?;
    let q = query.into_inner();
    let (filters, page, errors) = parse_filters(&q, &ctx);
    let now = state.now().naive_utc();
    let f = filters.clone();
    // Totals cover the chosen range, or the last 31 days when no start is given.
    let mut totals = filters.clone();
    if totals.from.is_none() {
        totals.from = Some(now.date() - chrono::Duration::days(30));
    }
    let (shop, rows, days) = state
        .db(move |conn| {
            let shop = shop::ensure(conn, uid, now)?;
            let rows = queries::orders(conn, uid, &f, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)?;
            let days = queries::daily_totals(conn, uid, &totals)?;
            Ok((shop, rows, days))
        })
        .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page_view = OrdersPage {
        handle: shop.handle.clone(),
        shop_live: shop.mode() == Mode::Live,
        rows: rows
            .iter()
            .take(PAGE_SIZE as usize)
            .map(|o| order_row(&ctx, o))
            .collect(),
        days: days.iter().map(day_row).collect(),
        errors,
        mode: trimmed(&q.mode),
        status: trimmed(&q.status),
        from: trimmed(&q.from),
        to: trimmed(&q.to),
        product: trimmed(&q.product),
        statuses: OrderStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), status_text(&ctx, s.as_str())))
            .collect(),
        next_page: more.then(|| page_link(&q, page + 1)),
        prev_page: (page > 1).then(|| page_link(&q, page - 1)),
        ctx,
    };
    render_with_status(&page_view, status)
}

// ------------------------------------------------------------------ one order

pub struct EventRow {
    pub at: String,
    pub what: String,
    pub actor: String,
    pub reason: String,
}

pub struct CaseView {
    pub id: i64,
    pub line_title: String,
    pub quantity: i32,
    pub status: String,
    pub reason: String,
    pub refund: Option<String>,
    pub tracking: Option<String>,
    pub notes: Vec<(String, String)>,
    pub open: bool,
    /// Waiting for a decision: the creator may approve or reject it.
    pub requested: bool,
    pub note_error: Option<String>,
    pub order_reference: String,
}

#[derive(Template)]
#[template(path = "desk/order.html")]
struct OrderPage {
    ctx: PageCtx,
    order: Order,
    status: String,
    mode: String,
    lines: Vec<Line>,
    parts: Vec<(SupplierOrder, String)>,
    payments: Vec<Payment>,
    events: Vec<EventRow>,
    cases: Vec<CaseView>,
    can_cancel: bool,
    cancel_error: Option<String>,
}

impl OrderPage {
    fn yuan(&self, fen: &i64) -> String {
        yuan_text(*fen)
    }
}

struct OrderData {
    order: Order,
    lines: Vec<Line>,
    parts: Vec<SupplierOrder>,
    payments: Vec<Payment>,
    events: Vec<Event>,
    cases: Vec<(Case, Vec<CaseNote>)>,
}

/// The order if it is this creator's; otherwise "not found", never someone else's.
async fn load_order(state: &AppState, uid: i64, reference: String) -> AppResult<OrderData> {
    if reference.len() > 20 || !reference.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound);
    }
    state
        .db(move |conn| {
            let order = model::order_by_reference(conn, &reference)?
                .filter(|o| o.shop_user_id == uid)
                .ok_or(AppError::NotFound)?;
            let cases = model::cases_of(conn, order.id)?
                .into_iter()
                .map(|c| {
                    let notes = model::case_notes_of(conn, c.id)?;
                    Ok((c, notes))
                })
                .collect::<Result<Vec<_>, diesel::result::Error>>()?;
            Ok(OrderData {
                lines: model::lines(conn, order.id)?,
                parts: model::supplier_orders_of(conn, order.id)?,
                payments: model::payments_of(conn, order.id)?,
                events: model::events_of(conn, order.id)?,
                cases,
                order,
            })
        })
        .await
}

fn actor_text(ctx: &PageCtx, actor: &str) -> String {
    let kind = actor.split(':').next().unwrap_or("");
    match kind {
        "buyer" | "creator" | "supplier" | "gateway" | "system" => {
            ctx.t(&format!("desk.actor.{kind}"))
        }
        _ => actor.to_string(),
    }
}

fn case_view(
    ctx: &PageCtx,
    case: &Case,
    notes: &[CaseNote],
    lines: &[Line],
    reference: &str,
) -> CaseView {
    CaseView {
        id: case.id,
        line_title: lines
            .iter()
            .find(|l| l.id == case.line_id)
            .map(|l| format!("{} ({})", l.title, l.sku_label))
            .unwrap_or_default(),
        quantity: case.quantity,
        status: status_text(ctx, &case.status),
        requested: case.status == CaseStatus::Requested.as_str(),
        reason: case.reason.clone(),
        refund: (case.refund_fen > 0).then(|| yuan_text(case.refund_fen)),
        tracking: case
            .return_tracking
            .as_ref()
            .map(|t| format!("{} {t}", case.return_carrier.as_deref().unwrap_or(""))),
        notes: notes
            .iter()
            .map(|n| {
                (
                    n.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    n.body.clone(),
                )
            })
            .collect(),
        open: CaseStatus::parse(&case.status).is_some_and(|s| s.is_open()),
        note_error: None,
        order_reference: reference.to_string(),
    }
}

fn order_view(
    ctx: PageCtx,
    d: OrderData,
    cancel_error: Option<String>,
    note_error: Option<(i64, String)>,
) -> OrderPage {
    let status = OrderStatus::parse(&d.order.status).unwrap_or(OrderStatus::PendingPayment);
    let events = d
        .events
        .iter()
        .map(|e| {
            let subject = match e.entity.as_str() {
                "supplier_order" => ctx.t("desk.entity.supplier_order"),
                "case" => ctx.t("desk.entity.case"),
                _ => ctx.t("desk.entity.order"),
            };
            EventRow {
                at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                what: format!("{subject}: {}", status_text(&ctx, &e.to_status)),
                actor: actor_text(&ctx, &e.actor),
                reason: e.reason.clone(),
            }
        })
        .collect();
    let mut cases: Vec<CaseView> = d
        .cases
        .iter()
        .map(|(c, n)| case_view(&ctx, c, n, &d.lines, &d.order.reference))
        .collect();
    if let Some((id, message)) = note_error
        && let Some(c) = cases.iter_mut().find(|c| c.id == id)
    {
        c.note_error = Some(message);
    }
    OrderPage {
        status: status_text(&ctx, status.as_str()),
        mode: ctx.t(&format!("orders.mode.{}", d.order.mode)),
        can_cancel: status.can_go(OrderStatus::Cancelled),
        parts: d
            .parts
            .into_iter()
            .map(|p| {
                let s = status_text(&ctx, &p.status);
                (p, s)
            })
            .collect(),
        lines: d.lines,
        payments: d.payments,
        events,
        cases,
        cancel_error,
        order: d.order,
        ctx,
    }
}

async fn order_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = creator(&ctx)?;
    let data = load_order(&state, uid, path.into_inner()).await?;
    render_with_status(&order_view(ctx, data, None, None), StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    reason: Option<String>,
}

fn order_error_message(ctx: &PageCtx, e: &OrderError) -> AppResult<(String, StatusCode)> {
    match e {
        OrderError::NotFound | OrderError::NotYours => Err(AppError::NotFound),
        OrderError::Db(_) | OrderError::Unavailable(_) => Err(AppError::Unavailable(e.to_string())),
        other => Ok((other.message(ctx.locale), StatusCode::UNPROCESSABLE_ENTITY)),
    }
}

async fn cancel(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ReasonForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = creator(&ctx)?;
    let data = load_order(&state, uid, path.into_inner()).await?;
    let (order_id, reference) = (data.order.id, data.order.reference.clone());
    let reason = form.reason.unwrap_or_default();
    let now = state.now().naive_utc();
    match state
        .write(move |conn| flow::cancel(conn, uid, order_id, &reason, now))
        .await
    {
        Ok(_) => {
            let mut r = see_other(&format!("/desk/orders/{reference}"));
            r.add_cookie(&flash_cookie("flash.order_cancelled", &state.settings))
                .ok();
            Ok(r)
        }
        Err(e) => {
            let (message, status) = order_error_message(&ctx, &e)?;
            let data = load_order(&state, uid, reference).await?;
            render_with_status(&order_view(ctx, data, Some(message), None), status)
        }
    }
}

// ------------------------------------------------------------------ cases

#[derive(Debug, Default, Deserialize)]
pub struct CasesQuery {
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "desk/cases.html")]
struct CasesPage {
    ctx: PageCtx,
    cases: Vec<CaseView>,
    status: String,
    statuses: Vec<(String, String)>,
    error: Option<String>,
}

async fn cases_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    query: web::Query<CasesQuery>,
) -> AppResult<HttpResponse> {
    let uid = creator(&ctx)?;
    let raw = query
        .status
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .to_string();
    let (filter, error) = match raw.as_str() {
        "" => (None, None),
        s => match CaseStatus::parse(s) {
            Some(s) => (Some(s.as_str()), None),
            None => (None, Some(ctx.t("desk.bad_status"))),
        },
    };
    let rows = state
        .db(move |conn| {
            let cases = queries::cases(conn, uid, filter)?;
            cases
                .into_iter()
                .map(|(c, reference)| {
                    let notes = model::case_notes_of(conn, c.id)?;
                    let lines = model::lines(conn, c.order_id)?;
                    Ok((c, notes, lines, reference))
                })
                .collect::<Result<Vec<_>, diesel::result::Error>>()
                .map_err(AppError::from)
        })
        .await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = CasesPage {
        cases: rows
            .iter()
            .map(|(c, n, l, r)| case_view(&ctx, c, n, l, r))
            .collect(),
        status: raw.chars().take(20).collect(),
        statuses: CaseStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), status_text(&ctx, s.as_str())))
            .collect(),
        error,
        ctx,
    };
    render_with_status(&page, status)
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    note: Option<String>,
}

async fn add_note(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<NoteForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = creator(&ctx)?;
    let case_id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let case = state
        .db(move |conn| Ok(model::find_case(conn, case_id)?))
        .await?
        .filter(|c| c.shop_user_id == uid)
        .ok_or(AppError::NotFound)?;
    let reference = state
        .db(move |conn| Ok(model::find_order(conn, case.order_id)?))
        .await?
        .ok_or(AppError::NotFound)?
        .reference;
    let body = form.note.unwrap_or_default();
    let now = state.now().naive_utc();
    match state
        .write(move |conn| flow::add_note(conn, uid, case_id, &body, now))
        .await
    {
        Ok(()) => {
            let mut r = see_other(&format!("/desk/orders/{reference}#case-{case_id}"));
            r.add_cookie(&flash_cookie("flash.note_added", &state.settings))
                .ok();
            Ok(r)
        }
        Err(e) => {
            let (message, status) = order_error_message(&ctx, &e)?;
            let data = load_order(&state, uid, reference).await?;
            render_with_status(
                &order_view(ctx, data, None, Some((case_id, message))),
                status,
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    refund_only: Option<String>,
    reason: Option<String>,
}

/// The creator answers a buyer's request: approve (return, or refund without return) or
/// reject with a reason. The supplier may do the same from its portal; whoever decides
/// first decides. In the sandbox the simulated supplier follows the creator.
async fn decide_case(
    state: web::Data<AppState>,
    form: DecideForm,
    ctx: PageCtx,
    path: web::Path<String>,
    approve: bool,
) -> AppResult<HttpResponse> {
    let uid = creator(&ctx)?;
    let case_id: i64 = path.parse().map_err(|_| AppError::NotFound)?;
    let case = state
        .db(move |conn| Ok(model::find_case(conn, case_id)?))
        .await?
        .filter(|c| c.shop_user_id == uid)
        .ok_or(AppError::NotFound)?;
    let reference = state
        .db(move |conn| Ok(model::find_order(conn, case.order_id)?))
        .await?
        .ok_or(AppError::NotFound)?
        .reference;
    let now = state.now().naive_utc();
    let actor = model::Actor::Creator(uid);
    let refund_only = form.refund_only.is_some_and(|v| !v.trim().is_empty());
    let reason = form.reason.unwrap_or_default();
    let result = state
        .write(move |conn| {
            if approve {
                flow::approve_case_by(conn, actor, case_id, refund_only, now)
            } else {
                flow::reject_case_by(conn, actor, case_id, &reason, now)
            }
        })
        .await;
    match result {
        Ok(_) => {
            let key = if approve {
                "flash.case_approved"
            } else {
                "flash.case_rejected"
            };
            let mut r = see_other(&format!("/desk/orders/{reference}#case-{case_id}"));
            r.add_cookie(&flash_cookie(key, &state.settings)).ok();
            Ok(r)
        }
        Err(e) => {
            let (message, status) = order_error_message(&ctx, &e)?;
            let data = load_order(&state, uid, reference).await?;
            render_with_status(
                &order_view(ctx, data, None, Some((case_id, message))),
                status,
            )
        }
    }
}

async fn approve_case(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<DecideForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide_case(state, form, ctx, path, true).await
}

async fn reject_case(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<DecideForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    decide_case(state, form, ctx, path, false).await
}
