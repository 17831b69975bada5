//! Shop pages: `/shop/<handle>`, product pages, cart, checkout. A live shop is public; a
//! sandbox shop answers 404 to everyone but its owner, so it does not leak. The order
//! page behind its secret link is in `order_page`.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use serde::Deserialize;

use super::cart::{self, Cart, CartError, CartLine, parse_id, parse_quantity};
use super::order_page;
use crate::catalog::model::{self as catalog, Product, Sku};
use crate::catalog::pricing::yuan_text;
use crate::config::Settings;
use crate::db::DbConn;
use crate::db::schema::{products, showcase_items, skus, users};
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::orders::checkout::{parse_buyer, parse_payment};
use crate::orders::model::{self, FlashDeal};
use crate::orders::place::{self, MAX_LINES, MAX_QUANTITY, NewOrder};
use crate::orders::shop::{self, Shop};
use crate::orders::{self, Mode, OrderError};
use crate::selection::showcase;
use crate::web::page::FormErrors;
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, PageCtx, render_with_status, see_other};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/shop/{handle}", web::get().to(shop_page))
        .route("/shop/{handle}/products/{id}", web::get().to(product_page))
        .route("/shop/{handle}/cart", web::get().to(cart_page))
        .route("/shop/{handle}/cart", web::post().to(cart_add))
        .route("/shop/{handle}/cart/update", web::post().to(cart_update))
        .route("/shop/{handle}/cart/remove", web::post().to(cart_remove))
        .route("/shop/{handle}/checkout", web::get().to(checkout_page))
        .route("/shop/{handle}/checkout", web::post().to(checkout))
        .configure(order_page::routes);
}

// ---------------------------------------------------------------- shared pieces

/// The top of every shop page: whose shop, the cart, and whether it is a rehearsal.
pub struct ShopHead {
    pub handle: String,
    pub name: String,
    pub sandbox: bool,
    pub is_owner: bool,
    pub cart_units: i64,
}

struct OpenShop {
    shop: Shop,
    head: ShopHead,
}

/// The shop at `handle`, if this visitor may see it: a sandbox shop is its owner's
/// alone, and anyone else gets the same 404 as for a shop that does not exist.
async fn open_shop(
    state: &AppState,
    ctx: &PageCtx,
    req: &HttpRequest,
    handle: &str,
) -> AppResult<OpenShop> {
    let wanted = handle.to_string();
    let found = state
        .db(move |conn| {
            let Some(shop) = shop::find_by_handle(conn, &wanted)? else {
                return Ok(None);
            };
            let name: String = users::table
                .find(shop.user_id)
                .select(users::display_name)
                .first(conn)?;
            Ok(Some((shop, name)))
        })
        .await?;
    let (shop, name) = found.ok_or(AppError::NotFound)?;
    let is_owner = ctx.user.as_ref().is_some_and(|u| u.id == shop.user_id);
    let sandbox = shop.mode() == Mode::Sandbox;
    if sandbox && !is_owner {
        return Err(AppError::NotFound);
    }
    let cart = read_cart(state, req, &shop.handle);
    Ok(OpenShop {
        head: ShopHead {
            handle: shop.handle.clone(),
            name,
            sandbox,
            is_owner,
            cart_units: cart.lines.iter().map(|l| l.quantity).sum(),
        },
        shop,
    })
}

fn read_cart(state: &AppState, req: &HttpRequest, handle: &str) -> Cart {
    req.cookie(cart::COOKIE)
        .map(|c| Cart::decode(c.value(), &state.csrf, handle))
        .unwrap_or_default()
}

fn cart_cookie(value: String, handle: &str, settings: &Settings) -> Cookie<'static> {
    Cookie::build(cart::COOKIE, value)
        .path(format!("/shop/{handle}"))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(settings.secure_cookies)
        .max_age(CookieDuration::days(7))
        .finish()
}

fn store_cart(response: &mut HttpResponse, cart: &Cart, state: &AppState, handle: &str) {
    let cookie = if cart.is_empty() {
        let mut c = cart_cookie(String::new(), handle, &state.settings);
        c.make_removal();
        c
    } else {
        cart_cookie(cart.encode(&state.csrf, handle), handle, &state.settings)
    };
    response.add_cookie(&cookie).ok();
}

fn redirect_with_flash(state: &AppState, location: &str, flash: &'static str) -> HttpResponse {
    let mut response = see_other(location);
    response
        .add_cookie(&flash_cookie(flash, &state.settings))
        .ok();
    response
}

pub fn time_text(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "Ends in 1 h 05 min": the countdown a deal shows, computed when the page is drawn.
pub fn countdown(locale: Locale, now: NaiveDateTime, ends: NaiveDateTime) -> String {
    let minutes = ((ends - now).num_seconds().max(0) + 59) / 60;
    if minutes >= 60 {
        locale.tf(
            "shop.deal.ends_in_hours",
            &[
                ("hours", &(minutes / 60).to_string()),
                ("minutes", &format!("{:02}", minutes % 60)),
            ],
        )
    } else {
        locale.tf(
            "shop.deal.ends_in_minutes",
            &[("minutes", &minutes.max(1).to_string())],
        )
    }
}

fn stock_text(locale: Locale, stock: i64) -> String {
    if stock <= 0 {
        locale.t("shop.stock.sold_out")
    } else if stock < 10 {
        locale.tf("shop.stock.low", &[("count", &stock.to_string())])
    } else {
        locale.t("shop.stock.in_stock")
    }
}

fn variant_label(sku: &Sku) -> String {
    let parts: Vec<&str> = [sku.size.as_deref(), sku.colour.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        sku.sku_code.clone()
    } else {
        parts.join(" / ")
    }
}

/// Only images served by this site: the Content-Security-Policy allows no others.
fn local_image(url: &Option<String>) -> Option<String> {
    url.as_ref()
        .filter(|u| u.starts_with('/') && !u.starts_with("//"))
        .cloned()
}

pub struct DealView {
    pub id: i64,
    pub price: String,
    pub left: String,
    pub ends: String,
    pub ends_at: String,
    pub sold_out: bool,
}

fn deal_view(locale: Locale, deal: &FlashDeal, now: NaiveDateTime) -> DealView {
    DealView {
        id: deal.id,
        price: yuan_text(deal.price_fen),
        left: locale.tf("shop.deal.left", &[("left", &deal.left().to_string())]),
        ends: countdown(locale, now, deal.ends_at),
        ends_at: locale.tf("shop.deal.until", &[("time", &time_text(deal.ends_at))]),
        sold_out: deal.left() == 0,
    }
}

/// The running deal of a SKU, if any (the newest when there are several).
fn deal_for(deals: &[FlashDeal], sku_id: i64) -> Option<&FlashDeal> {
    deals.iter().find(|d| d.sku_id == sku_id)
}

fn bounded(raw: Option<&str>, max: usize) -> String {
    raw.unwrap_or("").trim().chars().take(max).collect()
}

// ---------------------------------------------------------------- the shop

pub struct CardView {
    pub product_id: i64,
    pub title: String,
    pub price: String,
    pub image: Option<String>,
    pub stock: String,
    pub sold_out: bool,
    pub deal: Option<DealView>,
    /// The product the creator has pinned in the show running now.
    pub pinned: bool,
}

#[derive(Template)]
#[template(path = "shop/shop.html")]
struct ShopPage {
    ctx: PageCtx,
    head: ShopHead,
    cards: Vec<CardView>,
    /// A show is running now: the page says so and puts the pinned product first.
    on_air: bool,
}

pub async fn shop_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let (uid, now) = (open.shop.user_id, state.now().naive_utc());
    let (items, deals, show) = state
        .db(move |conn| {
            let items = showcase::items(conn, uid)?;
            let mut with_skus = Vec::with_capacity(items.len());
            for item in items {
                let skus = catalog::product_skus(conn, item.product.id)?;
                with_skus.push((item, skus));
            }
            let show = crate::live::model::running_of(conn, uid)?;
            Ok((with_skus, model::running_deals(conn, uid, now)?, show))
        })
        .await?;
    let locale = ctx.locale;
    let pinned = show.as_ref().and_then(|s| s.pinned_product_id);
    let mut cards: Vec<CardView> = items
        .into_iter()
        .map(|(item, skus)| {
            let stock: i64 = skus.iter().map(|s| s.stock.max(0) as i64).sum();
            let deal = skus
                .iter()
                .find_map(|s| deal_for(&deals, s.id))
                .map(|d| deal_view(locale, d, now));
            CardView {
                product_id: item.product.id,
                price: yuan_text(item.price_fen),
                image: local_image(&item.product.image_url),
                title: item.product.title,
                stock: stock_text(locale, stock),
                sold_out: stock == 0,
                deal,
                pinned: pinned == Some(item.product.id),
            }
        })
        .collect();
    // The pinned product leads the page while the show runs (a stable sort keeps the rest
    // in showcase order).
    cards.sort_by_key(|c| !c.pinned);
    render_with_status(
        &ShopPage {
            ctx,
            head: open.head,
            cards,
            on_air: show.is_some(),
        },
        StatusCode::OK,
    )
}

// ---------------------------------------------------------------- a product

pub struct SkuView {
    pub id: i64,
    pub label: String,
    pub size: String,
    pub colour: String,
    pub stock: String,
    pub available: bool,
    pub deal: Option<DealView>,
    pub quantity: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "shop/product.html")]
struct ProductPage {
    ctx: PageCtx,
    head: ShopHead,
    product: Product,
    price: String,
    image: Option<String>,
    skus: Vec<SkuView>,
    max_quantity: i64,
    top_error: Option<String>,
}

/// A product of this shop, its SKUs, its shop price and the running deals.
async fn load_product(
    state: &AppState,
    shop_user_id: i64,
    product_id: i64,
) -> AppResult<(Product, i64, Vec<Sku>, Vec<FlashDeal>)> {
    let now = state.now().naive_utc();
    let found = state
        .db(move |conn| {
            let price: Option<i64> = showcase_items::table
                .find((shop_user_id, product_id))
                .select(showcase_items::price_fen)
                .first(conn)
                .optional()?;
            let Some(price) = price else {
                return Ok(None);
            };
            let Some(product) = catalog::find_product(conn, product_id)? else {
                return Ok(None);
            };
            let skus = catalog::product_skus(conn, product_id)?;
            let deals = model::running_deals(conn, shop_user_id, now)?;
            Ok(Some((product, price, skus, deals)))
        })
        .await?;
    found.ok_or(AppError::NotFound)
}

/// A failed add-to-cart: which SKU, what was typed, and why.
struct Failed {
    sku_id: i64,
    input: String,
    message: String,
}

async fn render_product(
    state: &AppState,
    ctx: PageCtx,
    open: OpenShop,
    product_id: i64,
    failed: Option<Failed>,
) -> AppResult<HttpResponse> {
    let (product, price, skus, deals) = load_product(state, open.shop.user_id, product_id).await?;
    let now = state.now().naive_utc();
    let locale = ctx.locale;
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut top_error = None;
    let sku_views: Vec<SkuView> = skus
        .iter()
        .map(|s| {
            let (quantity, error) = match &failed {
                Some(f) if f.sku_id == s.id => (f.input.clone(), Some(f.message.clone())),
                _ => ("1".to_string(), None),
            };
            SkuView {
                id: s.id,
                label: variant_label(s),
                size: s.size.clone().unwrap_or_default(),
                colour: s.colour.clone().unwrap_or_default(),
                stock: stock_text(locale, s.stock as i64),
                available: s.stock > 0,
                deal: deal_for(&deals, s.id).map(|d| deal_view(locale, d, now)),
                quantity,
                error,
            }
        })
        .collect();
    if let Some(f) = failed
        && !sku_views.iter().any(|s| s.id == f.sku_id)
    {
        top_error = Some(f.message);
    }
    render_with_status(
        &ProductPage {
            ctx,
            head: open.head,
            price: yuan_text(price),
            image: local_image(&product.image_url),
            product,
            skus: sku_views,
            max_quantity: MAX_QUANTITY,
            top_error,
        },
        status,
    )
}

pub async fn product_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (handle, id) = path.into_inner();
    let open = open_shop(&state, &ctx, &req, &handle).await?;
    let id = parse_id(&id).ok_or(AppError::NotFound)?;
    render_product(&state, ctx, open, id, None).await
}

// ---------------------------------------------------------------- the cart

#[derive(Debug, Deserialize)]
pub struct CartForm {
    sku_id: Option<String>,
    quantity: Option<String>,
    deal_id: Option<String>,
}

impl CartForm {
    fn sku(&self) -> AppResult<i64> {
        parse_id(self.sku_id.as_deref().unwrap_or(""))
            .ok_or_else(|| AppError::bad_request("errors.bad_form", "sku_id"))
    }

    fn deal(&self) -> AppResult<Option<i64>> {
        match self.deal_id.as_deref().map(str::trim).unwrap_or("") {
            "" | "0" => Ok(None),
            raw => parse_id(raw)
                .map(Some)
                .ok_or_else(|| AppError::bad_request("errors.bad_form", "deal_id")),
        }
    }

    fn quantity_input(&self) -> String {
        bounded(self.quantity.as_deref(), 20)
    }
}

fn quantity_message(locale: Locale) -> String {
    locale.tf(
        "shop.cart.quantity_invalid",
        &[("max", &MAX_QUANTITY.to_string())],
    )
}

/// One cart line as the server prices it now.
pub struct PricedLine {
    pub n: usize,
    pub line: CartLine,
    pub product_id: i64,
    pub title: String,
    pub variant: String,
    pub unit: String,
    pub total: String,
    pub total_fen: i64,
    pub regular: Option<String>,
    pub note: Option<String>,
    pub quantity: String,
    pub error: Option<String>,
}

/// A cart line with what the database says about it: product, SKU, shop price, deal.
type Stored = (CartLine, Product, Sku, i64, Option<FlashDeal>);

/// Prices the cart: each SKU at this shop's showcase price, or its deal's price while
/// the deal runs. Lines this shop no longer sells are dropped, so line numbers in the
/// order service's messages match what the buyer sees.
fn price_cart(conn: &mut DbConn, shop_user_id: i64, cart: &Cart) -> QueryResult<Vec<Stored>> {
    let mut out = Vec::with_capacity(cart.lines.len());
    for line in &cart.lines {
        let found: Option<(Sku, Product)> = skus::table
            .inner_join(products::table)
            .filter(skus::id.eq(line.sku_id))
            .select((Sku::as_select(), Product::as_select()))
            .first(conn)
            .optional()?;
        let Some((sku, product)) = found else {
            continue;
        };
        let price: Option<i64> = showcase_items::table
            .find((shop_user_id, product.id))
            .select(showcase_items::price_fen)
            .first(conn)
            .optional()?;
        let Some(price) = price else {
            continue;
        };
        let deal = match line.deal_id {
            Some(id) => model::find_deal(conn, id)?
                .filter(|d| d.shop_user_id == shop_user_id && d.sku_id == sku.id),
            None => None,
        };
        out.push((*line, product, sku, price, deal));
    }
    Ok(out)
}

struct CartView {
    cart: Cart,
    lines: Vec<PricedLine>,
    total: String,
}

async fn load_cart(
    state: &AppState,
    locale: Locale,
    shop_user_id: i64,
    cart: Cart,
) -> AppResult<CartView> {
    let now = state.now().naive_utc();
    let priced = state
        .db(move |conn| Ok(price_cart(conn, shop_user_id, &cart)?))
        .await?;
    let mut lines = Vec::with_capacity(priced.len());
    let mut kept = Cart::default();
    for (i, (line, product, sku, price, deal)) in priced.into_iter().enumerate() {
        let (unit, regular, note) = match (&deal, line.deal_id) {
            (Some(d), _) if d.is_running(now) => (
                d.price_fen,
                Some(yuan_text(price)),
                Some(countdown(locale, now, d.ends_at)),
            ),
            (_, Some(_)) => (price, None, Some(locale.t("shop.cart.deal_ended"))),
            (_, None) => (price, None, None),
        };
        kept.lines.push(line);
        lines.push(PricedLine {
            n: i + 1,
            line,
            product_id: product.id,
            title: product.title,
            variant: variant_label(&sku),
            unit: yuan_text(unit),
            total: yuan_text(unit * line.quantity),
            total_fen: unit * line.quantity,
            regular,
            note,
            quantity: line.quantity.to_string(),
            error: None,
        });
    }
    let total = yuan_text(lines.iter().map(|l| l.total_fen).sum());
    Ok(CartView {
        cart: kept,
        lines,
        total,
    })
}

#[derive(Template)]
#[template(path = "shop/cart.html")]
struct CartPage {
    ctx: PageCtx,
    head: ShopHead,
    lines: Vec<PricedLine>,
    total: String,
    max_quantity: i64,
}

pub async fn cart_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let cart = read_cart(&state, &req, &open.shop.handle);
    let view = load_cart(&state, ctx.locale, open.shop.user_id, cart).await?;
    render_with_status(
        &CartPage {
            ctx,
            head: open.head,
            lines: view.lines,
            total: view.total,
            max_quantity: MAX_QUANTITY,
        },
        StatusCode::OK,
    )
}

pub async fn cart_add(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CartForm>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let sku_id = form.sku()?;
    let deal_id = form.deal()?;
    let (uid, now) = (open.shop.user_id, state.now().naive_utc());
    let found = state
        .db(move |conn| {
            let probe = Cart {
                lines: vec![CartLine {
                    sku_id,
                    quantity: 1,
                    deal_id,
                }],
            };
            Ok(price_cart(conn, uid, &probe)?.pop())
        })
        .await?;
    // A SKU this shop does not sell is not a typo a person can make in this form.
    let Some((_, product, sku, _, deal)) = found else {
        return Err(AppError::NotFound);
    };
    let locale = ctx.locale;
    let fail = |message: String| Failed {
        sku_id,
        input: form.quantity_input(),
        message,
    };
    let Some(quantity) = parse_quantity(form.quantity.as_deref().unwrap_or("")) else {
        let failed = fail(quantity_message(locale));
        return render_product(&state, ctx, open, product.id, Some(failed)).await;
    };
    if deal_id.is_some() && !deal.as_ref().is_some_and(|d| d.is_running(now)) {
        let failed = fail(locale.t("orders.error.deal_ended"));
        return render_product(&state, ctx, open, product.id, Some(failed)).await;
    }
    let mut cart = read_cart(&state, &req, &open.shop.handle);
    let in_cart: i64 = cart
        .lines
        .iter()
        .filter(|l| l.sku_id == sku_id)
        .map(|l| l.quantity)
        .sum();
    let available = match &deal {
        Some(d) => (sku.stock as i64).min(d.left() as i64),
        None => sku.stock as i64,
    };
    if in_cart + quantity > available {
        let message = if available <= 0 {
            locale.t("shop.stock.sold_out")
        } else {
            locale.tf("shop.cart.not_enough", &[("left", &available.to_string())])
        };
        return render_product(&state, ctx, open, product.id, Some(fail(message))).await;
    }
    if let Err(e) = cart.add(sku_id, deal_id, quantity) {
        let message = match e {
            CartError::TooMany => {
                locale.tf("shop.cart.too_many", &[("max", &MAX_QUANTITY.to_string())])
            }
            CartError::Full => locale.tf("shop.cart.full", &[("max", &MAX_LINES.to_string())]),
        };
        return render_product(&state, ctx, open, product.id, Some(fail(message))).await;
    }
    let handle = open.shop.handle;
    let mut response =
        redirect_with_flash(&state, &format!("/shop/{handle}/cart"), "flash.cart_added");
    store_cart(&mut response, &cart, &state, &handle);
    Ok(response)
}

pub async fn cart_update(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CartForm>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let sku_id = form.sku()?;
    let deal_id = form.deal()?;
    let mut cart = read_cart(&state, &req, &open.shop.handle);
    let handle = open.shop.handle.clone();
    let Some(quantity) = parse_quantity(form.quantity.as_deref().unwrap_or("")) else {
        let mut view = load_cart(&state, ctx.locale, open.shop.user_id, cart).await?;
        for line in &mut view.lines {
            if line.line.sku_id == sku_id && line.line.deal_id == deal_id {
                line.quantity = form.quantity_input();
                line.error = Some(quantity_message(ctx.locale));
            }
        }
        return render_with_status(
            &CartPage {
                ctx,
                head: open.head,
                lines: view.lines,
                total: view.total,
                max_quantity: MAX_QUANTITY,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    cart.set(sku_id, deal_id, quantity);
    let mut response = redirect_with_flash(
        &state,
        &format!("/shop/{handle}/cart"),
        "flash.cart_updated",
    );
    store_cart(&mut response, &cart, &state, &handle);
    Ok(response)
}

pub async fn cart_remove(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CartForm>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let sku_id = form.sku()?;
    let deal_id = form.deal()?;
    let mut cart = read_cart(&state, &req, &open.shop.handle);
    cart.remove(sku_id, deal_id);
    let handle = open.shop.handle;
    let mut response = redirect_with_flash(
        &state,
        &format!("/shop/{handle}/cart"),
        "flash.cart_removed",
    );
    store_cart(&mut response, &cart, &state, &handle);
    Ok(response)
}

// ---------------------------------------------------------------- checkout

#[derive(Debug, Default, Deserialize)]
pub struct CheckoutForm {
    name: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    payment_method: Option<String>,
    card_number: Option<String>,
    idempotency_key: Option<String>,
}

#[derive(Template)]
#[template(path = "shop/checkout.html")]
struct CheckoutPage {
    ctx: PageCtx,
    head: ShopHead,
    lines: Vec<PricedLine>,
    total: String,
    live: bool,
    key: String,
    buyer_name: String,
    phone: String,
    address: String,
    method: String,
    card: String,
    errors: FormErrors,
    top_error: Option<String>,
}

/// A fresh key for each rendering of the form: a double submit of one form is one
/// order, and a corrected form after a refused payment is a new attempt.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("web-{}", hex::encode(bytes))
}

fn render_checkout(
    ctx: PageCtx,
    open: OpenShop,
    view: CartView,
    form: &CheckoutForm,
    errors: FormErrors,
    top_error: Option<String>,
) -> AppResult<HttpResponse> {
    let status = if errors.is_empty() && top_error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let live = open.shop.mode() == Mode::Live;
    let default_method = if live { "cod" } else { "card" };
    let method = match form.payment_method.as_deref().map(str::trim) {
        Some(m @ ("cod" | "card")) => m.to_string(),
        _ => default_method.to_string(),
    };
    render_with_status(
        &CheckoutPage {
            ctx,
            head: open.head,
            lines: view.lines,
            total: view.total,
            live,
            key: new_key(),
            buyer_name: bounded(form.name.as_deref(), 80),
            phone: bounded(form.phone.as_deref(), 30),
            address: bounded(form.address.as_deref(), 320),
            method,
            card: bounded(form.card_number.as_deref(), 30),
            errors,
            top_error,
        },
        status,
    )
}

pub async fn checkout_page(
    state: web::Data<AppState>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let cart = read_cart(&state, &req, &open.shop.handle);
    let view = load_cart(&state, ctx.locale, open.shop.user_id, cart).await?;
    render_checkout(
        ctx,
        open,
        view,
        &CheckoutForm::default(),
        FormErrors::default(),
        None,
    )
}

/// Order-service errors that are ours, not the buyer's, become the app's error page.
pub fn service_failure(err: OrderError) -> AppError {
    match err {
        OrderError::Db(e) => e.into(),
        OrderError::Unavailable(e) => AppError::Unavailable(e),
        OrderError::NotFound | OrderError::ShopNotFound => AppError::NotFound,
        other => AppError::Internal(anyhow::anyhow!("order service: {other}")),
    }
}

/// The shop's mode changed between the checks of a checkout and its placement.
struct ShopChanged;

pub async fn checkout(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<CheckoutForm>,
    ctx: PageCtx,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let open = open_shop(&state, &ctx, &req, &path).await?;
    let key = place::parse_key(form.idempotency_key.as_deref())
        .map_err(|_| AppError::bad_request("errors.bad_form", "idempotency_key"))?;
    let cart = read_cart(&state, &req, &open.shop.handle);
    let view = load_cart(&state, ctx.locale, open.shop.user_id, cart).await?;
    let locale = ctx.locale;
    if view.lines.is_empty() {
        let top = Some(locale.t("orders.error.empty_cart"));
        return render_checkout(ctx, open, view, &form, FormErrors::default(), top);
    }
    let mode = open.shop.mode();
    let mut errors = FormErrors::default();
    let buyer = parse_buyer(
        form.name.as_deref().unwrap_or(""),
        form.phone.as_deref().unwrap_or(""),
        form.address.as_deref().unwrap_or(""),
        None,
    )
    .map_err(|problems| {
        for (field, key) in problems {
            errors.add(field, locale.t(key));
        }
    });
    let payment = parse_payment(
        form.payment_method.as_deref().unwrap_or(""),
        form.card_number.as_deref(),
        mode == Mode::Live,
    )
    .map_err(|problems| {
        for (field, key) in problems {
            errors.add(field, locale.t(key));
        }
    });
    let (Ok(buyer), Ok((method, card))) = (buyer, payment) else {
        return render_checkout(ctx, open, view, &form, errors, None);
    };
    let handle = open.shop.handle.clone();
    let lines: Vec<_> = view.cart.lines.iter().map(CartLine::new_line).collect();
    let skus = orders::place::skus_of(&lines);
    // The shop, the creator's fee and running show are read in the placement's own write
    // job: an order placed while the creator is live belongs to that session, and a shop
    // whose mode changed since this request checked the payment gets no order.
    let resolve = move |conn: &mut DbConn| -> Result<Result<NewOrder, ShopChanged>, OrderError> {
        let found = shop::for_order(conn, &handle)?.ok_or(OrderError::ShopNotFound)?;
        if found.shop.mode() != mode {
            return Ok(Err(ShopChanged));
        }
        let show_id = found.show_for(None).unwrap_or(None);
        Ok(Ok(NewOrder {
            shop_user_id: found.shop.user_id,
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
        Ok(Ok(placed)) => placed,
        Ok(Err(ShopChanged)) => {
            let top = Some(locale.t("shop.checkout.shop_changed"));
            return render_checkout(ctx, open, view, &form, errors, top);
        }
        Err(
            e @ (OrderError::Db(_)
            | OrderError::Unavailable(_)
            | OrderError::NotFound
            | OrderError::ShopNotFound),
        ) => return Err(service_failure(e)),
        Err(e) => {
            let top = Some(e.message(locale));
            return render_checkout(ctx, open, view, &form, errors, top);
        }
    };
    // A refused payment, now or in the earlier submit this one repeats: the cart stays.
    let declined = match placed.declined {
        Some(e) => Some(e.code().to_string()),
        None if placed.order.status == orders::OrderStatus::PaymentFailed.as_str() => {
            let order_id = placed.order.id;
            let code = state
                .db(move |conn| {
                    Ok(model::payments_of(conn, order_id)?
                        .into_iter()
                        .rev()
                        .find_map(|p| p.error_code))
                })
                .await?;
            Some(code.unwrap_or_else(|| "card_declined".into()))
        }
        None => None,
    };
    if let Some(code) = declined {
        let known = [
            "card_declined",
            "insufficient_funds",
            "capture_failed",
            "processing_error",
        ];
        let code = if known.contains(&code.as_str()) {
            code
        } else {
            "card_declined".to_string()
        };
        errors.add(
            "card_number",
            locale.t(&format!("checkout.declined.{code}")),
        );
        let top = Some(locale.t("shop.checkout.payment_refused"));
        return render_checkout(ctx, open, view, &form, errors, top);
    }
    let mut response = see_other(&format!("/orders/{}", placed.token));
    store_cart(&mut response, &Cart::default(), &state, &open.shop.handle);
    Ok(response)
}
