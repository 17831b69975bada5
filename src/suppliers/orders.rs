//! The supplier portal's order pages: routed orders, fulfilment, returns and API keys.
//! Every handler finds the supplier of the logged-in supplier account and acts only on
//! that supplier's records; anyone else's id is answered with 404.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::keys::{self, ApiKey};
use super::queries::{self, CaseRow, OrderDetail, OrderFilter, OrderRow, StatusFilter};
use crate::accounts::domain::Role;
use crate::catalog::model::supplier_of_user;
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::orders::model::{Case, Event, SupplierOrder};
use crate::orders::{CaseStatus, Mode, OrderError, SupplierStatus, flow, money};
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, CurrentUser, PageCtx, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/supplier/orders", web::get().to(orders_page))
        .route("/supplier/orders/{id}", web::get().to(order_page))
        .route(
            "/supplier/orders/{id}/acknowledge",
            web::post().to(acknowledge),
        )
        .route("/supplier/orders/{id}/reject", web::post().to(reject))
        .route("/supplier/orders/{id}/ship", web::post().to(ship))
        .route("/supplier/orders/{id}/deliver", web::post().to(deliver))
        .route("/supplier/returns", web::get().to(returns_page))
        .route(
            "/supplier/returns/{id}/approve",
            web::post().to(approve_case),
        )
        .route("/supplier/returns/{id}/reject", web::post().to(reject_case))
        .route(
            "/supplier/returns/{id}/receive",
            web::post().to(receive_case),
        )
        .route("/supplier/api-keys", web::get().to(keys_page))
        .route("/supplier/api-keys", web::post().to(create_key))
        .route("/supplier/api-keys/{id}/revoke", web::post().to(revoke_key));
}

// ------------------------------------------------------------------ shared

pub fn time_text(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

pub fn status_label(locale: Locale, status: &str) -> String {
    locale.t(&format!("orders.status.{status}"))
}

/// The event log's actor, in words.
pub fn actor_label(locale: Locale, actor: &str) -> String {
    let kind = actor.split(':').next().unwrap_or("");
    match kind {
        "supplier" | "creator" | "buyer" | "gateway" => {
            locale.t(&format!("supplier_orders.actor.{kind}"))
        }
        _ => locale.t("supplier_orders.actor.system"),
    }
}

/// An order-flow refusal as a supplier should read it: a supplier order the creator
/// cancelled or the supplier rejected is said in so many words.
pub fn flow_message(err: &OrderError, current: Option<&str>, locale: Locale) -> String {
    match (err, current) {
        (OrderError::Illegal(_), Some("cancelled")) => locale.t("supplier_orders.error.cancelled"),
        (OrderError::Illegal(_), Some("rejected")) => locale.t("supplier_orders.error.rejected"),
        (OrderError::Db(_), _) => locale.t("errors.internal.title"),
        (other, _) => other.message(locale),
    }
}

/// Splits a flow error into a page to show again (status and message) or an error page.
fn shown_error(err: OrderError) -> Result<(StatusCode, OrderError), AppError> {
    match err {
        OrderError::NotFound | OrderError::NotYours => Err(AppError::NotFound),
        OrderError::Unavailable(e) => Err(AppError::Unavailable(e)),
        OrderError::Db(e) => Err(e.into()),
        OrderError::Field { .. } => Ok((StatusCode::UNPROCESSABLE_ENTITY, err)),
        other => Ok((other.status(), other)),
    }
}

/// The supplier user and the supplier record it manages, if it has one yet.
async fn supplier(state: &AppState, ctx: &PageCtx) -> AppResult<Option<i64>> {
    let user = ctx.require_role(&[Role::Supplier])?;
    let uid = user.id;
    state
        .db(move |conn| Ok(supplier_of_user(conn, uid)?.map(|s| s.id)))
        .await
}

#[derive(Template)]
#[template(path = "suppliers/no_supplier.html")]
struct NoSupplierPage {
    ctx: PageCtx,
    title_key: &'static str,
}

fn no_supplier(ctx: PageCtx, title_key: &'static str) -> AppResult<HttpResponse> {
    render_with_status(&NoSupplierPage { ctx, title_key }, StatusCode::OK)
}

fn with_flash(location: &str, key: &'static str, state: &AppState) -> HttpResponse {
    let mut response = see_other(location);
    response
        .add_cookie(&flash_cookie(key, &state.settings))
        .ok();
    response
}

/// Parses `?page=`: empty is the first page.
fn parse_page(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Some(1);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|p| (1..=100_000).contains(p))
}

fn pages_of(total: i64) -> i64 {
    ((total + queries::PER_PAGE - 1) / queries::PER_PAGE).max(1)
}

// ------------------------------------------------------------------ order list

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "suppliers/orders.html")]
struct OrdersPage {
    ctx: PageCtx,
    query: ListQuery,
    errors: Vec<String>,
    rows: Vec<OrderRow>,
    total: i64,
    page: i64,
    pages: i64,
    /// The valid filters as a query string ending in `&` (or empty), for page links.
    keep: String,
}

impl OrdersPage {
    fn statuses(&self) -> Vec<(&'static str, String)> {
        StatusFilter::all()
            .into_iter()
            .map(|s| {
                let label = match s {
                    StatusFilter::New => self.ctx.t("supplier_orders.new"),
                    StatusFilter::Is(st) => status_label(self.ctx.locale, st.as_str()),
                };
                (s.as_str(), label)
            })
            .collect()
    }
    fn modes(&self) -> Vec<(&'static str, String)> {
        [Mode::Sandbox, Mode::Live]
            .iter()
            .map(|m| {
                (
                    m.as_str(),
                    self.ctx.t(&format!("orders.mode.{}", m.as_str())),
                )
            })
            .collect()
    }
    fn status_text(&self, so: &SupplierOrder) -> String {
        status_label(self.ctx.locale, &so.status)
    }
    fn is_new(&self, so: &SupplierOrder) -> bool {
        so.status == "routed" && so.notified_at.is_some()
    }
    fn mode_text(&self, so: &SupplierOrder) -> String {
        self.ctx.t(&format!("orders.mode.{}", so.mode))
    }
    fn when(&self, at: &NaiveDateTime) -> String {
        time_text(at)
    }
    fn amount(&self, fen: &i64) -> String {
        money::fen(*fen)
    }
}

fn parse_filter(q: &ListQuery, locale: Locale) -> (OrderFilter, i64, Vec<String>) {
    let mut errors = Vec::new();
    let mut filter = OrderFilter::default();
    let status = q.status.trim();
    if !status.is_empty() {
        match StatusFilter::parse(status) {
            Some(s) => filter.status = Some(s),
            None => errors.push(locale.t("supplier_orders.filter.bad_status")),
        }
    }
    let mode = q.mode.trim();
    if !mode.is_empty() {
        match Mode::parse(mode) {
            Some(m) => filter.mode = Some(m),
            None => errors.push(locale.t("supplier_orders.filter.bad_mode")),
        }
    }
    let date = |raw: &str, errors: &mut Vec<String>| {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let parsed = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.push(locale.tf("supplier_orders.filter.bad_date", &[("value", raw)]));
        }
        parsed
    };
    filter.from = date(&q.from, &mut errors);
    filter.to = date(&q.to, &mut errors);
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        errors.push(locale.t("supplier_orders.filter.bad_range"));
        filter.from = None;
        filter.to = None;
    }
    let reference = q.q.trim().to_ascii_uppercase();
    if !reference.is_empty() {
        if reference.len() <= 20 && reference.bytes().all(|b| b.is_ascii_alphanumeric()) {
            filter.reference = Some(reference);
        } else {
            errors.push(locale.t("supplier_orders.filter.bad_reference"));
        }
    }
    let page = match parse_page(&q.page) {
        Some(p) => p,
        None => {
            errors.push(locale.t("supplier_orders.filter.bad_page"));
            1
        }
    };
    (filter, page, errors)
}

fn keep_query(filter: &OrderFilter) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(s) = filter.status {
        pairs.push(("status", s.as_str().into()));
    }
    if let Some(m) = filter.mode {
        pairs.push(("mode", m.as_str().into()));
    }
    if let Some(d) = filter.from {
        pairs.push(("from", d.to_string()));
    }
    if let Some(d) = filter.to {
        pairs.push(("to", d.to_string()));
    }
    if let Some(r) = &filter.reference {
        pairs.push(("q", r.clone()));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let mut s = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    s.push('&');
    s
}

pub async fn orders_page(
    state: web::Data<AppState>,
    _user: CurrentUser,
    ctx: PageCtx,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return no_supplier(ctx, "supplier_orders.title");
    };
    let query = query.into_inner();
    let (filter, page, errors) = parse_filter(&query, ctx.locale);
    let keep = keep_query(&filter);
    let (rows, total) = state
        .db(move |conn| {
            Ok(queries::list_orders(
                conn,
                sid,
                &filter,
                page,
                queries::PER_PAGE,
            )?)
        })
        .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_with_status(
        &OrdersPage {
            ctx,
            query,
            errors,
            rows,
            total,
            page,
            pages: pages_of(total),
            keep,
        },
        status,
    )
}

// ------------------------------------------------------------------ one order

#[derive(Template)]
#[template(path = "suppliers/order.html")]
struct OrderPage {
    ctx: PageCtx,
    d: OrderDetail,
    error: Option<String>,
    form: ActionForm,
}

impl OrderPage {
    fn status_text(&self, status: &str) -> String {
        status_label(self.ctx.locale, status)
    }
    fn mode_text(&self) -> String {
        self.ctx.t(&format!("orders.mode.{}", self.d.so.mode))
    }
    fn when(&self, at: &NaiveDateTime) -> String {
        time_text(at)
    }
    fn amount(&self, fen: &i64) -> String {
        money::fen(*fen)
    }
    fn actor(&self, e: &Event) -> String {
        actor_label(self.ctx.locale, &e.actor)
    }
    fn event_subject(&self, e: &Event) -> String {
        if e.case_id.is_some() {
            self.ctx.t("supplier_orders.timeline.case")
        } else {
            self.ctx.t("supplier_orders.timeline.order")
        }
    }
    fn status(&self) -> SupplierStatus {
        SupplierStatus::parse(&self.d.so.status).unwrap_or(SupplierStatus::Routed)
    }
    fn can_acknowledge(&self) -> bool {
        self.status() == SupplierStatus::Routed
    }
    fn can_reject(&self) -> bool {
        matches!(
            self.status(),
            SupplierStatus::Routed | SupplierStatus::Acknowledged
        )
    }
    fn can_ship(&self) -> bool {
        self.can_reject()
    }
    fn can_deliver(&self) -> bool {
        self.status() == SupplierStatus::Shipped
    }
    fn case_status(&self, c: &Case) -> String {
        status_label(self.ctx.locale, &c.status)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    carrier: String,
    #[serde(default)]
    tracking: String,
    #[serde(default)]
    refund_only: String,
}

async fn load_detail(state: &AppState, sid: i64, so_id: i64) -> AppResult<OrderDetail> {
    state
        .db(move |conn| queries::order_detail(conn, sid, so_id)?.ok_or(AppError::NotFound))
        .await
}

pub async fn order_page(
    state: web::Data<AppState>,
    _user: CurrentUser,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return Err(AppError::NotFound);
    };
    let d = load_detail(&state, sid, path.into_inner()).await?;
    render_with_status(
        &OrderPage {
            ctx,
            d,
            error: None,
            form: ActionForm::default(),
        },
        StatusCode::OK,
    )
}

#[derive(Clone, Copy)]
enum SoAction {
    Acknowledge,
    Reject,
    Ship,
    Deliver,
}

async fn so_action(
    state: web::Data<AppState>,
    form: ActionForm,
    ctx: PageCtx,
    so_id: i64,
    action: SoAction,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return Err(AppError::NotFound);
    };
    let now = state.now().naive_utc();
    let f = form.clone();
    let result = state
        .write(move |conn| match action {
            SoAction::Acknowledge => flow::acknowledge(conn, sid, so_id, now),
            SoAction::Reject => flow::reject(conn, sid, so_id, &f.reason, now),
            SoAction::Ship => flow::ship(conn, sid, so_id, &f.carrier, &f.tracking, now),
            SoAction::Deliver => flow::deliver(conn, sid, so_id, now),
        })
        .await;
    match result {
        Ok(_) => {
            let flash = match action {
                SoAction::Acknowledge => "flash.so_acknowledged",
                SoAction::Reject => "flash.so_rejected",
                SoAction::Ship => "flash.so_shipped",
                SoAction::Deliver => "flash.so_delivered",
            };
            Ok(with_flash(
                &format!("/supplier/orders/{so_id}"),
                flash,
                &state,
            ))
        }
        Err(err) => {
            let (status, err) = shown_error(err)?;
            let d = load_detail(&state, sid, so_id).await?;
            let error = Some(flow_message(&err, Some(&d.so.status), ctx.locale));
            render_with_status(
                &OrderPage {
                    ctx,
                    d,
                    error,
                    form,
                },
                status,
            )
        }
    }
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    so_action(state, form, ctx, path.into_inner(), SoAction::Acknowledge).await
}

pub async fn reject(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    so_action(state, form, ctx, path.into_inner(), SoAction::Reject).await
}

pub async fn ship(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    so_action(state, form, ctx, path.into_inner(), SoAction::Ship).await
}

pub async fn deliver(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    so_action(state, form, ctx, path.into_inner(), SoAction::Deliver).await
}

// ------------------------------------------------------------------ returns

#[derive(Debug, Default, Deserialize)]
pub struct ReturnsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "suppliers/returns.html")]
struct ReturnsPage {
    ctx: PageCtx,
    status: String,
    errors: Vec<String>,
    rows: Vec<CaseRow>,
    total: i64,
    page: i64,
    pages: i64,
    /// The case an action failed on, and the reason typed.
    failed: Option<i64>,
    form: ActionForm,
}

impl ReturnsPage {
    fn statuses(&self) -> Vec<(&'static str, String)> {
        CaseStatus::ALL
            .iter()
            .map(|s| (s.as_str(), status_label(self.ctx.locale, s.as_str())))
            .collect()
    }
    fn status_text(&self, c: &Case) -> String {
        status_label(self.ctx.locale, &c.status)
    }
    fn mode_text(&self, c: &Case) -> String {
        self.ctx.t(&format!("orders.mode.{}", c.mode))
    }
    fn when(&self, at: &NaiveDateTime) -> String {
        time_text(at)
    }
    fn amount(&self, fen: &i64) -> String {
        money::fen(*fen)
    }
    fn failed_on(&self, id: &i64) -> bool {
        self.failed == Some(*id)
    }
    fn can_decide(&self, c: &Case) -> bool {
        c.status == "requested"
    }
    fn can_receive(&self, c: &Case) -> bool {
        // Approved cases wait for the buyer's parcel; `received` is settled at once,
        // so it only shows when a refund failed and can be retried.
        matches!(c.status.as_str(), "return_shipped" | "received")
    }
    fn keep(&self) -> String {
        if self.status.is_empty() {
            String::new()
        } else {
            format!("status={}&", self.status)
        }
    }
}

async fn load_cases(
    state: &AppState,
    sid: i64,
    status: Option<CaseStatus>,
    page: i64,
) -> AppResult<(Vec<CaseRow>, i64)> {
    state
        .db(move |conn| {
            Ok(queries::list_cases(
                conn,
                sid,
                status,
                page,
                queries::PER_PAGE,
            )?)
        })
        .await
}

pub async fn returns_page(
    state: web::Data<AppState>,
    _user: CurrentUser,
    ctx: PageCtx,
    query: web::Query<ReturnsQuery>,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return no_supplier(ctx, "supplier_returns.title");
    };
    let mut errors = Vec::new();
    let raw = query.status.trim();
    let status = if raw.is_empty() {
        None
    } else {
        let parsed = CaseStatus::parse(raw);
        if parsed.is_none() {
            errors.push(ctx.t("supplier_orders.filter.bad_status"));
        }
        parsed
    };
    let page = parse_page(&query.page).unwrap_or_else(|| {
        errors.push(ctx.t("supplier_orders.filter.bad_page"));
        1
    });
    let (rows, total) = load_cases(&state, sid, status, page).await?;
    let code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_with_status(
        &ReturnsPage {
            ctx,
            status: status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            errors,
            rows,
            total,
            page,
            pages: pages_of(total),
            failed: None,
            form: ActionForm::default(),
        },
        code,
    )
}

#[derive(Clone, Copy)]
enum CaseAction {
    Approve,
    Reject,
    Receive,
}

async fn case_action(
    state: web::Data<AppState>,
    form: ActionForm,
    ctx: PageCtx,
    case_id: i64,
    action: CaseAction,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return Err(AppError::NotFound);
    };
    let now = state.now().naive_utc();
    let f = form.clone();
    let result = state
        .write(move |conn| match action {
            CaseAction::Approve => {
                flow::approve_case(conn, sid, case_id, f.refund_only == "1", now)
            }
            CaseAction::Reject => flow::reject_case(conn, sid, case_id, &f.reason, now),
            CaseAction::Receive => flow::receive_case(conn, sid, case_id, now),
        })
        .await;
    match result {
        Ok(_) => {
            let flash = match action {
                CaseAction::Approve => "flash.case_approved",
                CaseAction::Reject => "flash.case_rejected",
                CaseAction::Receive => "flash.case_received",
            };
            Ok(with_flash("/supplier/returns", flash, &state))
        }
        Err(err) => {
            let (status, err) = shown_error(err)?;
            let (rows, total) = load_cases(&state, sid, None, 1).await?;
            let error = flow_message(&err, None, ctx.locale);
            render_with_status(
                &ReturnsPage {
                    ctx,
                    status: String::new(),
                    errors: vec![error],
                    rows,
                    total,
                    page: 1,
                    pages: pages_of(total),
                    failed: Some(case_id),
                    form,
                },
                status,
            )
        }
    }
}

pub async fn approve_case(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    case_action(state, form, ctx, path.into_inner(), CaseAction::Approve).await
}

pub async fn reject_case(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    case_action(state, form, ctx, path.into_inner(), CaseAction::Reject).await
}

pub async fn receive_case(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ActionForm>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    case_action(state, form, ctx, path.into_inner(), CaseAction::Receive).await
}

// ------------------------------------------------------------------ API keys

#[derive(Template)]
#[template(path = "suppliers/api_keys.html")]
struct KeysPage {
    ctx: PageCtx,
    keys: Vec<ApiKey>,
    /// The full token of a key just created: shown on this response only.
    created: Option<String>,
    label: String,
    error: Option<String>,
}

impl KeysPage {
    fn when(&self, at: &NaiveDateTime) -> String {
        time_text(at)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    label: String,
}

async fn load_keys(state: &AppState, sid: i64) -> AppResult<Vec<ApiKey>> {
    state.db(move |conn| Ok(keys::list(conn, sid)?)).await
}

pub async fn keys_page(
    state: web::Data<AppState>,
    _user: CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return no_supplier(ctx, "supplier_keys.title");
    };
    let keys = load_keys(&state, sid).await?;
    render_with_status(
        &KeysPage {
            ctx,
            keys,
            created: None,
            label: String::new(),
            error: None,
        },
        StatusCode::OK,
    )
}

pub async fn create_key(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<KeyForm>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return Err(AppError::NotFound);
    };
    let Some(label) = keys::parse_label(&form.label) else {
        let keys = load_keys(&state, sid).await?;
        let error = Some(ctx.t("supplier_keys.label_invalid"));
        return render_with_status(
            &KeysPage {
                ctx,
                keys,
                created: None,
                label: form.label,
                error,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let now = state.now().naive_utc();
    let created = state
        .db(move |conn| {
            if keys::count(conn, sid)? >= keys::MAX_KEYS {
                return Ok(None);
            }
            Ok(Some(keys::create(conn, sid, &label, now)?))
        })
        .await?;
    let keys = load_keys(&state, sid).await?;
    let Some(created) = created else {
        let error = Some(ctx.tf(
            "supplier_keys.too_many",
            &[("max", &keys::MAX_KEYS.to_string())],
        ));
        return render_with_status(
            &KeysPage {
                ctx,
                keys,
                created: None,
                label: form.label,
                error,
            },
            StatusCode::CONFLICT,
        );
    };
    // The secret is on this page and nowhere else; the page must not be cached.
    let mut ctx = ctx;
    ctx.flash = Some("flash.api_key_created");
    render_with_status(
        &KeysPage {
            ctx,
            keys,
            created: Some(created.token),
            label: String::new(),
            error: None,
        },
        StatusCode::OK,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct Empty {}

pub async fn revoke_key(
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<Empty>,
    ctx: PageCtx,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let Some(sid) = supplier(&state, &ctx).await? else {
        return Err(AppError::NotFound);
    };
    let key_id = path.into_inner();
    let now = state.now().naive_utc();
    let found = state
        .db(move |conn| Ok(keys::revoke(conn, sid, key_id, now)?))
        .await?;
    if !found {
        return Err(AppError::NotFound);
    }
    Ok(with_flash(
        "/supplier/api-keys",
        "flash.api_key_revoked",
        &state,
    ))
}
