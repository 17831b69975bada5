//! The studio pages: the list of shows and the start form, the live console (figures,
//! questions, orders, stock; pin, flash deal, answer, end), its server-sent events, the
//! fast-forward after a sandbox show, the report, and the instructors' list of shows.
//! Trainees see only their own shows; instructors and admins may read every report.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use super::model::{self, Show};
use super::service::{self, LiveError};
use super::{fulfil, report};
use crate::accounts::domain::Role;
use crate::catalog::pricing::yuan_text;
use crate::courses::model::SandboxStep;
use crate::db::DbConn;
use crate::db::schema::{flash_deals, orders, skus};
use crate::error::{AppError, AppResult};
use crate::learning::steps::{self, StepAccess};
use crate::orders::{Mode, OrderStatus};
use crate::web::page::FormErrors;
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, PageCtx, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studio", web::get().to(home))
        .route("/studio/shows", web::post().to(start))
        .route("/studio/shows/{id}", web::get().to(show_page))
        .route("/studio/shows/{id}/feed", web::get().to(feed))
        .route("/studio/shows/{id}/events", web::get().to(events))
        .route("/studio/shows/{id}/pin", web::post().to(pin))
        .route("/studio/shows/{id}/deal", web::post().to(deal))
        .route("/studio/shows/{id}/answer", web::post().to(answer))
        .route("/studio/shows/{id}/end", web::post().to(end))
        .route(
            "/studio/shows/{id}/fast-forward",
            web::post().to(fast_forward),
        )
        .route("/studio/shows/{id}/report", web::get().to(report_page))
        .route("/instructor/shows", web::get().to(instructor_shows));
}

/// "12:05": simulated minutes and seconds into a show.
pub fn clock_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

fn parse_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

/// The trainee's own show, or "not found" (another trainee's id reveals nothing).
async fn own_show(state: &AppState, uid: i64, id: i64) -> AppResult<Show> {
    state
        .db(move |conn| Ok(model::find_own(conn, uid, id)?))
        .await?
        .ok_or(AppError::NotFound)
}

async fn live_step(state: &AppState, uid: i64) -> AppResult<StepAccess> {
    let courses = state.courses.clone();
    state
        .db(move |conn| Ok(steps::access(conn, &courses, uid, SandboxStep::Live)?))
        .await
}

// ------------------------------------------------------------------ home

pub struct ShowRow {
    pub id: i64,
    pub started: String,
    pub mode: String,
    pub status: String,
    pub running: bool,
    pub minutes: i32,
    pub orders: i64,
    pub gmv: String,
}

#[derive(Template)]
#[template(path = "live/home.html")]
struct HomePage {
    ctx: PageCtx,
    shows: Vec<ShowRow>,
    running: Option<i64>,
    shop_live: bool,
    showcase: usize,
    errors: FormErrors,
    minutes: String,
    speed: i32,
    speeds: Vec<i32>,
}

/// Paid orders and their GMV per show.
fn show_totals(conn: &mut DbConn, show_id: i64) -> QueryResult<(i64, i64)> {
    let rows: Vec<i64> = orders::table
        .filter(orders::show_id.eq(show_id))
        .filter(orders::paid_fen.gt(0).or(orders::payment_method.eq("cod")))
        .filter(orders::status.ne(OrderStatus::PaymentFailed.as_str()))
        .select(orders::total_fen)
        .load(conn)?;
    Ok((rows.len() as i64, rows.iter().sum()))
}

async fn home_page(
    state: &AppState,
    ctx: PageCtx,
    uid: i64,
    errors: FormErrors,
    minutes: String,
    speed: i32,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let now = state.now().naive_utc();
    let (shows, shop_live, showcase) = state
        .db(move |conn| {
            let mut rows = Vec::new();
            for s in model::of_user(conn, uid)? {
                let totals = show_totals(conn, s.id)?;
                rows.push((s, totals));
            }
            let shop = crate::orders::shop::ensure(conn, uid, now)?;
            let showcase = crate::selection::showcase::product_ids(conn, uid)?.len();
            Ok((rows, shop.mode() == Mode::Live, showcase))
        })
        .await?;
    let running = shows
        .iter()
        .find(|(s, _)| s.is_running())
        .map(|(s, _)| s.id);
    let rows = shows
        .iter()
        .map(|(s, (n, gmv))| ShowRow {
            id: s.id,
            started: s.started_at.format("%Y-%m-%d %H:%M").to_string(),
            mode: ctx.t(&format!("orders.mode.{}", s.mode)),
            status: ctx.t(&format!("live.status.{}", s.status)),
            running: s.is_running(),
            minutes: s.minutes,
            orders: *n,
            gmv: yuan_text(*gmv),
        })
        .collect();
    render_with_status(
        &HomePage {
            ctx,
            shows: rows,
            running,
            shop_live,
            showcase,
            errors,
            minutes,
            speed,
            speeds: service::SPEEDS.to_vec(),
        },
        status,
    )
}

async fn home(state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    if let StepAccess::Locked(unlockers) = live_step(&state, uid).await? {
        return steps::locked_page(ctx, SandboxStep::Live, unlockers);
    }
    home_page(
        &state,
        ctx,
        uid,
        FormErrors::default(),
        service::DEFAULT_MINUTES.to_string(),
        service::DEFAULT_SPEED,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    minutes: Option<String>,
    speed: Option<String>,
    mode: Option<String>,
}

async fn start(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<StartForm>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    if let StepAccess::Locked(unlockers) = live_step(&state, uid).await? {
        return steps::locked_page(ctx, SandboxStep::Live, unlockers);
    }
    let now = state.now().naive_utc();
    let parsed = service::parse_start(
        form.minutes.as_deref(),
        form.speed.as_deref(),
        form.mode.as_deref(),
    );
    let result = match parsed {
        Ok(req) => {
            state
                .write(move |conn| service::start(conn, uid, &req, None, now))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(show) => Ok(see_other(&format!("/studio/shows/{}", show.id))),
        Err(LiveError::Db(e)) => Err(e.into()),
        Err(LiveError::Unavailable(e)) => Err(AppError::Unavailable(e)),
        Err(e) => {
            let mut errors = FormErrors::default();
            errors.add(e.field().unwrap_or("start"), e.message(ctx.locale));
            let minutes: String = form.minutes.unwrap_or_default().chars().take(5).collect();
            let speed = form
                .speed
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(service::DEFAULT_SPEED);
            let status = match e {
                LiveError::AlreadyRunning(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            home_page(&state, ctx, uid, errors, minutes, speed, status).await
        }
    }
}

// ------------------------------------------------------------------ the console

pub struct StockRow {
    pub product_id: i64,
    pub title: String,
    pub price: String,
    pub stock: i64,
    pub pinned: bool,
    pub deal: Option<String>,
    pub skus: Vec<(i64, String, i64)>,
}

pub struct CommentView {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub text: String,
    pub topic: String,
    pub answer: Option<String>,
    pub overclaim: bool,
    pub replies: Vec<String>,
}

pub struct OrderView {
    pub at: String,
    pub buyer: String,
    pub what: String,
    pub total: String,
    pub status: String,
    pub reference: String,
}

/// Everything the console and its feed show.
pub struct Console {
    pub show: Show,
    pub clock: String,
    pub length: String,
    pub viewers: i64,
    pub orders: i64,
    pub gmv: String,
    pub open_questions: i64,
    pub stock: Vec<StockRow>,
    pub comments: Vec<CommentView>,
    pub recent_orders: Vec<OrderView>,
    pub clock_at: String,
}

async fn load_console(state: &AppState, ctx: &PageCtx, show: Show) -> AppResult<Console> {
    let now = state.now().naive_utc();
    let locale = ctx.locale;
    let show_id = show.id;
    let uid = show.user_id;
    let sim_now = if show.is_running() {
        show.at(show.sim_ms_at(now))
    } else {
        show.clock_at
    };
    let (items, minutes, comments, recent, totals, deals) = state
        .db(move |conn| {
            let items = crate::selection::showcase::items(conn, uid)?;
            let mut with_skus = Vec::new();
            for item in items {
                let s: Vec<(i64, Option<String>, Option<String>, i32)> = skus::table
                    .filter(skus::product_id.eq(item.product.id))
                    .order(skus::id)
                    .select((skus::id, skus::size, skus::colour, skus::stock))
                    .load(conn)?;
                with_skus.push((item, s));
            }
            let minutes = model::minutes(conn, show_id)?;
            let comments = model::recent_comments(conn, show_id, 30)?;
            let recent: Vec<crate::orders::model::Order> = orders::table
                .filter(orders::show_id.eq(show_id))
                .order(orders::id.desc())
                .limit(10)
                .select(crate::orders::model::Order::as_select())
                .load(conn)?;
            let mut recent_lines = Vec::new();
            for o in recent {
                let lines = crate::orders::model::lines(conn, o.id)?;
                recent_lines.push((o, lines));
            }
            let totals = show_totals(conn, show_id)?;
            let deals: Vec<crate::orders::model::FlashDeal> = flash_deals::table
                .filter(flash_deals::shop_user_id.eq(uid))
                .filter(flash_deals::starts_at.le(sim_now))
                .filter(flash_deals::ends_at.gt(sim_now))
                .select(crate::orders::model::FlashDeal::as_select())
                .load(conn)?;
            Ok((with_skus, minutes, comments, recent_lines, totals, deals))
        })
        .await?;
    let viewers = minutes
        .last()
        .map(|m| m.viewer_seconds / m.ticks.max(1) as i64)
        .unwrap_or(0);
    let stock = items
        .iter()
        .map(|(item, s)| {
            let deal = s.iter().find_map(|(sku, ..)| {
                deals.iter().find(|d| d.sku_id == *sku).map(|d| {
                    locale.tf(
                        "live.deal_running",
                        &[
                            ("price", &yuan_text(d.price_fen)),
                            ("left", &d.left().to_string()),
                            (
                                "ends",
                                &clock_text((d.ends_at - show.started_at).num_milliseconds()),
                            ),
                        ],
                    )
                })
            });
            StockRow {
                product_id: item.product.id,
                title: item.product.title.clone(),
                price: yuan_text(item.price_fen),
                stock: s.iter().map(|(.., n)| *n as i64).sum(),
                pinned: show.pinned_product_id == Some(item.product.id),
                deal,
                skus: s
                    .iter()
                    .map(|(id, size, colour, n)| {
                        let label: Vec<&str> = [size.as_deref(), colour.as_deref()]
                            .into_iter()
                            .flatten()
                            .filter(|x| !x.is_empty())
                            .collect();
                        let label = if label.is_empty() {
                            item.product.title.clone()
                        } else {
                            format!("{} · {}", item.product.title, label.join(" / "))
                        };
                        (*id, label, *n as i64)
                    })
                    .collect(),
            }
        })
        .collect();
    let titles: std::collections::HashMap<i64, String> = items
        .iter()
        .map(|(i, _)| (i.product.id, i.product.title.clone()))
        .collect();
    let open_questions = comments.iter().filter(|c| c.answered_ms.is_none()).count() as i64;
    let comments = comments
        .iter()
        .map(|c| {
            let product = c
                .product_id
                .and_then(|p| titles.get(&p))
                .cloned()
                .unwrap_or_default();
            let variant = c.variant.clamp(0, 2);
            CommentView {
                id: c.comment_id,
                at: clock_text(c.at_ms),
                who: locale.tf("live.viewer", &[("n", &c.viewer.to_string())]),
                text: locale.tf(
                    &format!("live.q.{}.{variant}", c.topic),
                    &[("product", &product)],
                ),
                topic: locale.t(&format!("live.topic.{}", c.topic)),
                answer: c.answer.clone(),
                overclaim: c.overclaim,
                replies: (0..3)
                    .map(|i| locale.t(&format!("live.reply.{}.{i}", c.topic)))
                    .collect(),
            }
        })
        .collect();
    let recent_orders = recent
        .iter()
        .map(|(o, lines)| OrderView {
            at: clock_text((o.created_at - show.started_at).num_milliseconds()),
            buyer: o.buyer_name.clone(),
            what: lines
                .iter()
                .map(|l| format!("{} × {}", l.title, l.quantity))
                .collect::<Vec<_>>()
                .join(", "),
            total: yuan_text(o.total_fen),
            status: locale.t(&format!("orders.status.{}", o.status)),
            reference: o.reference.clone(),
        })
        .collect();
    let clock_ms = if show.is_running() {
        show.sim_ms_at(now)
    } else {
        show.done_ms
    };
    Ok(Console {
        clock: clock_text(clock_ms),
        length: clock_text(show.length_ms()),
        viewers,
        orders: totals.0,
        gmv: yuan_text(totals.1),
        open_questions,
        stock,
        comments,
        recent_orders,
        clock_at: show.clock_at.format("%Y-%m-%d %H:%M").to_string(),
        show,
    })
}

#[derive(Template)]
#[template(path = "live/show.html")]
struct ShowPage {
    ctx: PageCtx,
    c: Console,
    errors: FormErrors,
    events_url: String,
    feed_url: String,
    script: &'static str,
    deal: DealFields,
    mode_label: String,
    status_label: String,
    /// Where the course teaches truthful claims, if a served course has that lesson.
    compliance: Option<String>,
}

#[derive(Template)]
#[template(path = "live/feed.html")]
struct FeedFragment {
    ctx: PageCtx,
    c: Console,
    errors: FormErrors,
}

#[derive(Debug, Default, Clone)]
pub struct DealFields {
    pub sku: String,
    pub price: String,
    pub quantity: String,
    pub minutes: String,
    pub per_buyer: String,
}

async fn render_show(
    state: &AppState,
    ctx: PageCtx,
    show: Show,
    errors: FormErrors,
    deal: DealFields,
    status: StatusCode,
) -> AppResult<HttpResponse> {
    let id = show.id;
    let mode_label = ctx.t(&format!("orders.mode.{}", show.mode));
    let status_label = ctx.t(&format!("live.status.{}", show.status));
    let c = load_console(state, &ctx, show).await?;
    render_with_status(
        &ShowPage {
            mode_label,
            status_label,
            ctx,
            c,
            errors,
            events_url: format!("/studio/shows/{id}/events"),
            feed_url: format!("/studio/shows/{id}/feed"),
            script: crate::web::assets::studio_js_url(),
            deal,
            // The lesson on truthful claims, wherever the served course keeps it.
            compliance: report::lesson(&state.courses, "truthful-claims").map(|(_, url)| url),
        },
        status,
    )
}

async fn show_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let show = own_show(&state, uid, parse_id(&path)?).await?;
    let deal = DealFields {
        minutes: "5".into(),
        per_buyer: "2".into(),
        ..Default::default()
    };
    render_show(
        &state,
        ctx,
        show,
        FormErrors::default(),
        deal,
        StatusCode::OK,
    )
    .await
}

async fn feed(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let show = own_show(&state, uid, parse_id(&path)?).await?;
    let c = load_console(&state, &ctx, show).await?;
    render_with_status(
        &FeedFragment {
            ctx,
            c,
            errors: FormErrors::default(),
        },
        StatusCode::OK,
    )
}

/// The figures the console shows, as one server-sent event.
#[derive(serde::Serialize)]
struct Figures {
    clock: String,
    viewers: String,
    orders: String,
    gmv: String,
    questions: String,
    comments: i64,
    actions: i32,
    ended: bool,
}

async fn figures(state: &AppState, uid: i64, id: i64) -> AppResult<Figures> {
    let now = state.now().naive_utc();
    let (show, minutes, totals, comments, open) = state
        .db(move |conn| {
            let show = model::find_own(conn, uid, id)?.ok_or(AppError::NotFound)?;
            let minutes = model::minutes(conn, id)?;
            let totals = show_totals(conn, id)?;
            let comments: i64 = crate::db::schema::show_comments::table
                .filter(crate::db::schema::show_comments::show_id.eq(id))
                .count()
                .get_result(conn)?;
            let open: i64 = crate::db::schema::show_comments::table
                .filter(crate::db::schema::show_comments::show_id.eq(id))
                .filter(crate::db::schema::show_comments::answered_ms.is_null())
                .count()
                .get_result(conn)?;
            Ok((show, minutes, totals, comments, open))
        })
        .await?;
    let viewers = minutes
        .last()
        .map(|m| m.viewer_seconds / m.ticks.max(1) as i64)
        .unwrap_or(0);
    Ok(Figures {
        clock: clock_text(if show.is_running() {
            show.sim_ms_at(now)
        } else {
            show.done_ms
        }),
        viewers: viewers.to_string(),
        orders: totals.0.to_string(),
        gmv: yuan_text(totals.1),
        questions: open.to_string(),
        comments,
        actions: show.actions + show.orders_placed,
        ended: !show.is_running(),
    })
}

/// Server-sent events: the console's figures once a second while the show runs.
async fn events(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let id = parse_id(&path)?;
    own_show(&state, uid, id).await?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30 * 60);
    let stream = futures_util::stream::unfold(
        (state, false, true),
        move |(state, done, first)| async move {
            if done || std::time::Instant::now() > until {
                return None;
            }
            if !first {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            let (chunk, ended) = match figures(&state, uid, id).await {
                Ok(f) => {
                    let ended = f.ended;
                    let json = serde_json::to_string(&f).unwrap_or_default();
                    (format!("data: {json}\n\n"), ended)
                }
                // A database hiccup: tell the browser to retry later.
                Err(_) => ("retry: 5000\n\n".to_string(), true),
            };
            Some((
                Ok::<_, actix_web::Error>(web::Bytes::from(chunk)),
                (state, ended, false),
            ))
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Compression would hold the events back.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .streaming(stream))
}

fn action_redirect(state: &AppState, id: i64, flash: &'static str) -> HttpResponse {
    let mut r = see_other(&format!("/studio/shows/{id}#console"));
    r.add_cookie(&flash_cookie(flash, &state.settings)).ok();
    r
}

/// An action refused: the console again with the message next to its field.
async fn refused(
    state: &AppState,
    ctx: PageCtx,
    uid: i64,
    id: i64,
    e: LiveError,
    deal: DealFields,
) -> AppResult<HttpResponse> {
    let status = match &e {
        LiveError::NotFound => return Err(AppError::NotFound),
        LiveError::Db(_) | LiveError::Unavailable(_) => {
            return Err(AppError::Unavailable(e.to_string()));
        }
        LiveError::Ended => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut errors = FormErrors::default();
    errors.add(e.field().unwrap_or("action"), e.message(ctx.locale));
    let show = own_show(state, uid, id).await?;
    render_show(state, ctx, show, errors, deal, status).await
}

#[derive(Debug, Deserialize)]
pub struct PinForm {
    product: Option<String>,
}

/// One studio action: runs `run(conn, user, show, now)` in a write transaction, then
/// answers with a redirect carrying the flash `done` picks, or with the console showing
/// the refusal next to its field (and the deal form as it was sent).
async fn act<T: Send + 'static>(
    state: &web::Data<AppState>,
    ctx: PageCtx,
    path: &str,
    fields: DealFields,
    run: impl FnOnce(&mut DbConn, i64, i64, NaiveDateTime) -> Result<T, LiveError> + Send + 'static,
    done: impl FnOnce(T) -> &'static str,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let id = parse_id(path)?;
    let now = state.now().naive_utc();
    match state.write(move |conn| run(conn, uid, id, now)).await {
        Ok(value) => Ok(action_redirect(state, id, done(value))),
        Err(e) => refused(state, ctx, uid, id, e, fields).await,
    }
}

async fn pin(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<PinForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let product = form
        .product
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok());
    act(
        &state,
        ctx,
        &path,
        DealFields::default(),
        move |conn, uid, id, now| {
            let product = product.ok_or(LiveError::NotInShowcase)?;
            service::pin(conn, uid, id, product, now)
        },
        |()| "flash.pinned",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct DealForm {
    sku: Option<String>,
    price: Option<String>,
    quantity: Option<String>,
    minutes: Option<String>,
    per_buyer: Option<String>,
}

async fn deal(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<DealForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let keep = |v: &Option<String>| v.as_deref().unwrap_or("").chars().take(20).collect();
    let fields = DealFields {
        sku: keep(&form.sku),
        price: keep(&form.price),
        quantity: keep(&form.quantity),
        minutes: keep(&form.minutes),
        per_buyer: keep(&form.per_buyer),
    };
    let parsed = service::parse_deal(
        form.sku.as_deref(),
        form.price.as_deref(),
        form.quantity.as_deref(),
        form.minutes.as_deref(),
        form.per_buyer.as_deref(),
    );
    act(
        &state,
        ctx,
        &path,
        fields,
        move |conn, uid, id, now| service::start_deal(conn, uid, id, &parsed?, now),
        |_| "flash.deal_started",
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    comment: Option<String>,
    reply: Option<String>,
    text: Option<String>,
}

async fn answer(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<AnswerForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let comment = form
        .comment
        .as_deref()
        .and_then(|c| c.trim().parse::<i64>().ok());
    // A suggested reply button sends `reply`; the text field sends `text`.
    let text = form
        .reply
        .filter(|r| !r.trim().is_empty())
        .or(form.text)
        .unwrap_or_default();
    act(
        &state,
        ctx,
        &path,
        DealFields::default(),
        move |conn, uid, id, now| {
            let comment = comment.ok_or(LiveError::UnknownComment)?;
            service::answer(conn, uid, id, comment, &text, now)
        },
        |overclaims| {
            if overclaims.is_empty() {
                "flash.answered"
            } else {
                "flash.overclaim"
            }
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

async fn end(
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<EmptyForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    act(
        &state,
        ctx,
        &path,
        DealFields::default(),
        service::end,
        |()| "flash.show_ending",
    )
    .await
}

async fn fast_forward(
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<EmptyForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let uid = ctx.require_role(&[Role::Trainee])?.id;
    let id = parse_id(&path)?;
    let show = own_show(&state, uid, id).await?;
    if show.is_running() || !show.is_sandbox() {
        let e = LiveError::Field("fast_forward", "live.err.ff");
        return refused(&state, ctx, uid, id, e, DealFields::default()).await;
    }
    let to = show.clock_at.max(show.ended_at.unwrap_or(show.clock_at))
        + Duration::days(fulfil::STEP_DAYS);
    state
        .write(move |conn| fulfil::advance(conn, &show, to).map_err(order_error))
        .await?;
    Ok(action_redirect(&state, id, "flash.fast_forwarded"))
}

// ------------------------------------------------------------------ report

async fn report_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user = ctx.require_role(&[Role::Trainee, Role::Instructor, Role::Admin])?;
    let id = parse_id(&path)?;
    let show = state
        .db(move |conn| Ok(model::find(conn, id)?))
        .await?
        .filter(|s| user.role != Role::Trainee || s.user_id == user.id)
        .ok_or(AppError::NotFound)?;
    report::page(&state, ctx, show).await
}

pub struct InstructorRow {
    pub id: i64,
    pub creator: String,
    pub started: String,
    pub mode: String,
    pub status: String,
    pub orders: i32,
}

#[derive(Template)]
#[template(path = "live/instructor.html")]
struct InstructorPage {
    ctx: PageCtx,
    rows: Vec<InstructorRow>,
}

async fn instructor_shows(state: web::Data<AppState>, ctx: PageCtx) -> AppResult<HttpResponse> {
    ctx.require_role(&[Role::Instructor, Role::Admin])?;
    let rows = state
        .db(|conn| Ok(model::all_with_names(conn, 200, 0)?))
        .await?;
    let rows = rows
        .into_iter()
        .map(|(s, name)| InstructorRow {
            id: s.id,
            creator: name,
            started: s.started_at.format("%Y-%m-%d %H:%M").to_string(),
            mode: ctx.t(&format!("orders.mode.{}", s.mode)),
            status: ctx.t(&format!("live.status.{}", s.status)),
            orders: s.orders_placed,
        })
        .collect();
    render_with_status(&InstructorPage { ctx, rows }, StatusCode::OK)
}

/// An order-flow error inside a simulated actor's step is ours, not the trainee's.
fn order_error(e: crate::orders::OrderError) -> AppError {
    use crate::orders::OrderError;
    match e {
        OrderError::Db(e) => e.into(),
        OrderError::Unavailable(e) => AppError::Unavailable(e),
        other => AppError::Internal(anyhow::anyhow!("fast-forward: {other}")),
    }
}
