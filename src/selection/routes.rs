//! Selection pages: `/selection` (matched list), `/selection/products/{id}` (detail and
//! margin calculator), `/showcase` and its forms. Trainees only, once the course module
//! that unlocks product selection is complete.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::showcase::{self, MAX_ITEMS, ShowcaseError};
use super::views::{category_label, category_options, reason_text, segment_label};
use crate::accounts::EmptyForm;
use crate::accounts::domain::Role;
use crate::accounts::profile::{self, CreatorProfile, format_yuan, parse_yuan};
use crate::catalog::index::CatalogIndex;
use crate::catalog::model::{self, Product, Sku, Supplier};
use crate::catalog::pricing::{Margin, creator_margin, percent_text, yuan_text};
use crate::catalog::regions;
use crate::catalog::taxonomy::{CategoryPath, SEGMENT_ALL};
use crate::courses::model::SandboxStep;
use crate::error::{AppError, AppResult};
use crate::learning::steps::{self, StepAccess};
use crate::matching::{self, Filters, MatchProfile};
use crate::web::page::FormErrors;
use crate::web::session::flash_cookie;
use crate::web::{
    AppState, CsrfForm, CurrentUser, PageCtx, SessionUser, render_with_status, see_other,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/selection", web::get().to(selection_page))
        .route("/selection/products/{id}", web::get().to(product_page))
        .route("/showcase", web::get().to(showcase_page))
        .route("/showcase/items", web::post().to(add_item))
        .route("/showcase/items/{id}", web::post().to(update_item))
        .route("/showcase/items/{id}/remove", web::post().to(remove_item));
}

pub const PAGE_SIZE: usize = 20;
pub const MAX_PAGES: usize = 5;
const MAX_QUERY_CHARS: usize = 100;

/// What the selection pages need about the trainee: their step access, profile and
/// showcase (product id -> price).
struct Trainee {
    profile: CreatorProfile,
    showcase: HashMap<i64, i64>,
}

enum Gate {
    Open(Trainee),
    Locked(HttpResponse),
}

async fn open_selection(state: &AppState, user: &SessionUser, ctx: &PageCtx) -> AppResult<Gate> {
    if user.role != Role::Trainee {
        return Err(AppError::Forbidden);
    }
    let (courses, id) = (state.courses.clone(), user.id);
    let (access, profile, showcase) = state
        .db(move |conn| {
            Ok((
                steps::access(conn, &courses, id, SandboxStep::Selection)?,
                profile::load(conn, id)?.unwrap_or_default(),
                showcase::product_ids(conn, id)?,
            ))
        })
        .await?;
    match access {
        StepAccess::Open => Ok(Gate::Open(Trainee {
            profile,
            showcase: showcase.into_iter().collect(),
        })),
        StepAccess::Locked(unlockers) => Ok(Gate::Locked(steps::locked_page(
            ctx.clone(),
            SandboxStep::Selection,
            unlockers,
        )?)),
    }
}

fn has_profile(p: &CreatorProfile) -> bool {
    !p.niche_categories.is_empty() || p.audience_age_band.is_some() || p.price_min_fen.is_some()
}

// ---------------------------------------------------------------- the matched list

#[derive(Debug, Default, Deserialize)]
pub struct SelectionQuery {
    q: Option<String>,
    category: Option<String>,
    price_min: Option<String>,
    price_max: Option<String>,
    min_margin: Option<String>,
    page: Option<String>,
}

pub struct Row {
    pub id: i64,
    pub title: String,
    pub category: String,
    pub price: String,
    pub price_value: String,
    pub min_price: String,
    pub margin: String,
    pub margin_rate: String,
    pub supplier: String,
    pub region: String,
    pub rating: String,
    pub reasons: Vec<String>,
    pub showcase_price: Option<String>,
}

#[derive(Template)]
#[template(path = "selection/list.html")]
struct SelectionPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    q: String,
    category: String,
    price_min: String,
    price_max: String,
    min_margin: String,
    categories: Vec<(String, String)>,
    errors: FormErrors,
    page: usize,
    next_page: Option<String>,
    prev_page: Option<String>,
    catalog_products: usize,
    has_profile: bool,
    audience: String,
    showcase_count: usize,
    max_items: i64,
}

fn bounded(value: &Option<String>, max: usize) -> String {
    value
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .take(max)
        .collect()
}

/// Reads the filters, naming each bad one; a bad filter is left out rather than
/// guessed at.
fn parse_filters(
    query: &SelectionQuery,
    ctx: &PageCtx,
    index: &CatalogIndex,
) -> (Filters, usize, FormErrors) {
    let mut errors = FormErrors::default();
    let mut filters = Filters::default();
    let q = query.q.as_deref().unwrap_or("").trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        errors.add(
            "q",
            ctx.tf(
                "selection.query_too_long",
                &[("max", &MAX_QUERY_CHARS.to_string())],
            ),
        );
    } else {
        filters.text = index.search.search(q, index.len());
    }
    match query.category.as_deref().map(str::trim).unwrap_or("") {
        "" => {}
        value => match CategoryPath::parse(value) {
            Some(path) => filters.category = Some(path),
            None => errors.add("category", ctx.t("selection.category_unknown")),
        },
    }
    for (name, raw, slot) in [
        ("price_min", &query.price_min, &mut filters.price_min_fen),
        ("price_max", &query.price_max, &mut filters.price_max_fen),
    ] {
        match parse_yuan(raw.as_deref().unwrap_or("")) {
            Ok(v) => *slot = v,
            Err(key) => errors.add(name, ctx.t(key)),
        }
    }
    if let (Some(lo), Some(hi)) = (filters.price_min_fen, filters.price_max_fen)
        && lo > hi
    {
        errors.add("price_max", ctx.t("validation.price_band_order"));
        filters.price_max_fen = None;
    }
    match query.min_margin.as_deref().map(str::trim).unwrap_or("") {
        "" => {}
        v => match v.trim_end_matches('%').trim().parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => {
                filters.min_margin_bp = Some((p * 100.0).round() as i64)
            }
            _ => errors.add("min_margin", ctx.t("selection.margin_invalid")),
        },
    }
    let page = match query.page.as_deref().map(str::trim).unwrap_or("") {
        "" => 1,
        v => match v.parse::<usize>() {
            Ok(p) if (1..=MAX_PAGES).contains(&p) => p,
            _ => {
                errors.add(
                    "page",
                    ctx.tf("selection.page_invalid", &[("max", &MAX_PAGES.to_string())]),
                );
                1
            }
        },
    };
    (filters, page, errors)
}

fn page_link(query: &SelectionQuery, page: usize) -> String {
    let pairs: Vec<(&str, String)> = [
        ("q", &query.q),
        ("category", &query.category),
        ("price_min", &query.price_min),
        ("price_max", &query.price_max),
        ("min_margin", &query.min_margin),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (k, v.clone()))
    })
    .chain(std::iter::once(("page", page.to_string())))
    .collect();
    format!(
        "/selection?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

pub fn audience_summary(ctx: &PageCtx, p: &CreatorProfile, m: &MatchProfile) -> String {
    let mut parts = Vec::new();
    let niches: Vec<String> = p
        .niches()
        .iter()
        .map(|n| ctx.t(&format!("niches.{n}")))
        .collect();
    if !niches.is_empty() {
        parts.push(niches.join(", "));
    }
    if m.main_segment != SEGMENT_ALL {
        parts.push(segment_label(ctx, m.main_segment));
    }
    if let Some((lo, hi)) = m.price_band_fen {
        parts.push(if hi < i64::MAX / 8 {
            format!("{}–{}", yuan_text(lo), yuan_text(hi))
        } else {
            format!("≥ {}", yuan_text(lo))
        });
    }
    let regions: Vec<&str> = m
        .regions
        .iter()
        .map(|r| regions::name(regions::REGIONS[*r].slug, ctx.locale))
        .collect();
    if !regions.is_empty() {
        parts.push(regions.join(", "));
    }
    parts.join(" · ")
}

pub fn row(
    ctx: &PageCtx,
    index: &CatalogIndex,
    mp: &MatchProfile,
    m: &matching::Match,
    showcase: &HashMap<i64, i64>,
) -> Row {
    let i = m.index;
    let supplier = index.supplier_of(i);
    let margin = creator_margin(
        index.suggested[i],
        index.cost[i],
        index.commission_bp[i] as u32,
        mp.fee_bp,
    );
    let id = index.ids[i];
    Row {
        id,
        title: index.titles[i].to_string(),
        category: category_label(ctx, &index.category[i]),
        price: yuan_text(index.suggested[i]),
        price_value: format_yuan(Some(index.suggested[i])),
        min_price: yuan_text(index.min_price[i]),
        margin: yuan_text(margin.margin_fen),
        margin_rate: percent_text(margin.rate_bp),
        supplier: supplier.name.clone(),
        region: regions::name(regions::REGIONS[supplier.region].slug, ctx.locale).to_string(),
        rating: format!("{:.1}", supplier.rating),
        reasons: m
            .reasons
            .iter()
            .map(|f| reason_text(ctx, index, mp, i, *f))
            .collect(),
        showcase_price: showcase.get(&id).map(|p| yuan_text(*p)),
    }
}

pub async fn selection_page(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageCtx,
    query: web::Query<SelectionQuery>,
) -> AppResult<HttpResponse> {
    let trainee = match open_selection(&state, &user, &ctx).await? {
        Gate::Open(t) => t,
        Gate::Locked(page) => return Ok(page),
    };
    let index = state.catalog.current();
    let (filters, page, errors) = parse_filters(&query, &ctx, &index);
    let mp = MatchProfile::from_profile(&trainee.profile);
    let index_for_match = index.clone();
    let mp_for_match = mp.clone();
    // Scoring is CPU work: keep it off the async workers.
    let matches = web::block(move || {
        matching::top_matches(&index_for_match, &mp_for_match, &filters, PAGE_SIZE * page)
    })
    .await?;
    let total = matches.len();
    let rows: Vec<Row> = matches
        .iter()
        .skip(PAGE_SIZE * (page - 1))
        .map(|m| row(&ctx, &index, &mp, m, &trainee.showcase))
        .collect();
    let next_page =
        (total == PAGE_SIZE * page && page < MAX_PAGES).then(|| page_link(&query, page + 1));
    let prev_page = (page > 1).then(|| page_link(&query, page - 1));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render_with_status(
        &SelectionPage {
            rows,
            q: bounded(&query.q, MAX_QUERY_CHARS + 20),
            category: bounded(&query.category, 60),
            price_min: bounded(&query.price_min, 20),
            price_max: bounded(&query.price_max, 20),
            min_margin: bounded(&query.min_margin, 10),
            categories: category_options(&ctx),
            errors,
            page,
            next_page,
            prev_page,
            catalog_products: index.len(),
            has_profile: has_profile(&trainee.profile),
            audience: audience_summary(&ctx, &trainee.profile, &mp),
            showcase_count: trainee.showcase.len(),
            max_items: MAX_ITEMS,
            ctx,
        },
        status,
    )
}

// ---------------------------------------------------------------- product page

#[derive(Debug, Default, Deserialize)]
pub struct ProductQuery {
    price: Option<String>,
}

pub struct StatLine {
    pub label: String,
    pub views: u32,
    pub orders: u32,
    pub conversion: String,
    pub returns: String,
}

#[derive(Template)]
#[template(path = "selection/product.html")]
struct ProductPage {
    ctx: PageCtx,
    product: Product,
    category: String,
    skus: Vec<Sku>,
    supplier: Supplier,
    supplier_region: String,
    price_range: (String, String),
    cost: String,
    commission: String,
    stock: i64,
    reasons: Vec<String>,
    stats: Vec<StatLine>,
    price_input: String,
    margin: Option<Margin>,
    showcase_price: Option<String>,
    showcase_count: usize,
    max_items: i64,
    errors: FormErrors,
}

impl ProductPage {
    fn yuan(&self, fen: &i64) -> String {
        yuan_text(*fen)
    }
    fn percent(&self, bp: &i64) -> String {
        percent_text(*bp)
    }
    fn fee_percent(&self, bp: &u32) -> String {
        percent_text(*bp as i64)
    }
    fn rating_text(&self) -> String {
        format!("{:.1}", self.supplier.rating_centi as f64 / 100.0)
    }
    fn reliability_text(&self) -> String {
        percent_text(self.supplier.reliability_bp as i64)
    }
}

struct ProductData {
    product: Product,
    skus: Vec<Sku>,
    supplier: Supplier,
}

async fn load_product(state: &AppState, id: i64) -> AppResult<ProductData> {
    let found = state
        .db(move |conn| {
            let Some(product) = model::find_product(conn, id)? else {
                return Ok(None);
            };
            let skus = model::product_skus(conn, id)?;
            let supplier = model::find_supplier(conn, product.supplier_id)?;
            Ok(supplier.map(|supplier| ProductData {
                product,
                skus,
                supplier,
            }))
        })
        .await?;
    found.ok_or(AppError::NotFound)
}

fn product_id(raw: &str) -> AppResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(AppError::NotFound)
}

#[allow(clippy::too_many_arguments)]
fn product_view(
    ctx: PageCtx,
    data: ProductData,
    index: &CatalogIndex,
    trainee: &Trainee,
    price_input: String,
    margin: Option<Margin>,
    errors: FormErrors,
) -> ProductPage {
    let mp = MatchProfile::from_profile(&trainee.profile);
    let p = &data.product;
    let (reasons, stats) = match index.position_of(p.id) {
        Some(i) => {
            let m = matching::engine::explain(index, &mp, i);
            let reasons = m
                .reasons
                .iter()
                .map(|f| reason_text(&ctx, index, &mp, i, *f))
                .collect();
            let mut segments = vec![SEGMENT_ALL];
            if mp.main_segment != SEGMENT_ALL {
                segments.insert(0, mp.main_segment);
            }
            let stats = segments
                .into_iter()
                .map(|s| {
                    let c = index.counts[i][s];
                    StatLine {
                        label: segment_label(&ctx, s),
                        views: c.views,
                        orders: c.orders,
                        conversion: percent_text(
                            (index.conversion[i][s] as f64 * 10_000.0).round() as i64,
                        ),
                        returns: percent_text(
                            (index.return_rate[i][s] as f64 * 10_000.0).round() as i64
                        ),
                    }
                })
                .collect();
            (reasons, stats)
        }
        None => (Vec::new(), Vec::new()),
    };
    let category = CategoryPath::parse(&p.category)
        .map(|c| category_label(&ctx, &c))
        .unwrap_or_else(|| p.category.clone());
    let stock = data.skus.iter().map(|s| s.stock as i64).sum();
    ProductPage {
        category,
        price_range: (yuan_text(p.min_price_fen), yuan_text(p.suggested_fen)),
        cost: yuan_text(p.cost_fen),
        commission: percent_text(p.commission_bp as i64),
        supplier_region: regions::name(&data.supplier.region, ctx.locale).to_string(),
        stock,
        reasons,
        stats,
        price_input,
        margin,
        showcase_price: trainee.showcase.get(&p.id).map(|v| format_yuan(Some(*v))),
        showcase_count: trainee.showcase.len(),
        max_items: MAX_ITEMS,
        errors,
        skus: data.skus,
        supplier: data.supplier,
        product: data.product,
        ctx,
    }
}

fn margin_for(product: &Product, price_fen: i64, profile: &CreatorProfile) -> Margin {
    let fee_bp = crate::matching::weights::platform_fee_bp(profile.platform.as_deref());
    creator_margin(
        price_fen,
        product.cost_fen,
        product.commission_bp.clamp(0, 10_000) as u32,
        fee_bp,
    )
}

fn range_message(ctx: &PageCtx, min: i64, max: i64) -> String {
    ctx.tf(
        "showcase.price_out_of_range",
        &[("min", &yuan_text(min)), ("max", &yuan_text(max))],
    )
}

/// Checks a typed price for a product: a message for the field, or the price.
fn typed_price(ctx: &PageCtx, product: &Product, raw: &str) -> Result<i64, String> {
    match parse_yuan(raw) {
        Ok(Some(fen)) => showcase::check_price(product, fen)
            .map(|_| fen)
            .map_err(|_| range_message(ctx, product.min_price_fen, product.suggested_fen)),
        Ok(None) => Err(ctx.t("showcase.price_required")),
        Err(key) => Err(ctx.t(key)),
    }
}

pub async fn product_page(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageCtx,
    path: web::Path<String>,
    query: web::Query<ProductQuery>,
) -> AppResult<HttpResponse> {
    let trainee = match open_selection(&state, &user, &ctx).await? {
        Gate::Open(t) => t,
        Gate::Locked(page) => return Ok(page),
    };
    let data = load_product(&state, product_id(&path)?).await?;
    let mut errors = FormErrors::default();
    // The margin calculator is a GET form: it changes nothing, so it needs no token.
    let (price_input, margin) = match query.price.as_deref() {
        Some(raw) => {
            let input: String = raw.trim().chars().take(20).collect();
            match typed_price(&ctx, &data.product, raw) {
                Ok(fen) => (
                    input,
                    Some(margin_for(&data.product, fen, &trainee.profile)),
                ),
                Err(message) => {
                    errors.add("price", message);
                    (input, None)
                }
            }
        }
        None => {
            let price = trainee
                .showcase
                .get(&data.product.id)
                .copied()
                .unwrap_or(data.product.suggested_fen);
            (
                format_yuan(Some(price)),
                Some(margin_for(&data.product, price, &trainee.profile)),
            )
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let index = state.catalog.current();
    render_with_status(
        &product_view(ctx, data, &index, &trainee, price_input, margin, errors),
        status,
    )
}

// ---------------------------------------------------------------- showcase forms

#[derive(Debug, Deserialize)]
pub struct ItemForm {
    product_id: Option<String>,
    price: Option<String>,
}

fn require_trainee(ctx: &PageCtx) -> AppResult<SessionUser> {
    ctx.require_role(&[Role::Trainee])
}

pub async fn add_item(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ItemForm>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = require_trainee(&ctx)?;
    let trainee = match open_selection(&state, &user, &ctx).await? {
        Gate::Open(t) => t,
        Gate::Locked(page) => return Ok(page),
    };
    let raw_id = form.product_id.as_deref().unwrap_or("").trim();
    let id = raw_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            AppError::bad_request(
                "errors.unknown_product",
                raw_id.chars().take(30).collect::<String>(),
            )
        })?;
    let data = match load_product(&state, id).await {
        Err(AppError::NotFound) => {
            return Err(AppError::bad_request(
                "errors.unknown_product",
                id.to_string(),
            ));
        }
        other => other?,
    };
    let raw_price = form.price.as_deref().unwrap_or("");
    let input: String = raw_price.trim().chars().take(20).collect();
    let price = match typed_price(&ctx, &data.product, raw_price) {
        Ok(fen) => fen,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("price", message);
            let index = state.catalog.current();
            return render_with_status(
                &product_view(ctx, data, &index, &trainee, input, None, errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let now = state.now().naive_utc();
    let (uid, was_there) = (user.id, trainee.showcase.contains_key(&id));
    let result = state
        .db(move |conn| Ok(showcase::put(conn, uid, id, price, now)))
        .await?;
    match result {
        Ok(_) => {
            let mut response = see_other("/showcase");
            let key = if was_there {
                "flash.showcase_updated"
            } else {
                "flash.showcase_added"
            };
            response
                .add_cookie(&flash_cookie(key, &state.settings))
                .ok();
            Ok(response)
        }
        Err(ShowcaseError::UnknownProduct) => Err(AppError::bad_request(
            "errors.unknown_product",
            id.to_string(),
        )),
        Err(ShowcaseError::Db(e)) => Err(e.into()),
        Err(err) => {
            let mut errors = FormErrors::default();
            let message = match err {
                ShowcaseError::PriceOutOfRange { min, max } => range_message(&ctx, min, max),
                _ => ctx.tf("showcase.full", &[("max", &MAX_ITEMS.to_string())]),
            };
            errors.add("price", message);
            let index = state.catalog.current();
            render_with_status(
                &product_view(ctx, data, &index, &trainee, input, None, errors),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

pub struct ShowcaseLine {
    pub product_id: i64,
    pub title: String,
    pub supplier: String,
    pub price_input: String,
    pub range: String,
    pub margin: Margin,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "selection/showcase.html")]
struct ShowcasePage {
    ctx: PageCtx,
    lines: Vec<ShowcaseLine>,
    max_items: i64,
    average_rate: String,
    total_margin: String,
    shop_handle: String,
}

impl ShowcasePage {
    fn yuan(&self, fen: &i64) -> String {
        yuan_text(*fen)
    }
    fn percent(&self, bp: &i64) -> String {
        percent_text(*bp)
    }
}

async fn render_showcase(
    state: &AppState,
    ctx: PageCtx,
    trainee: &Trainee,
    user_id: i64,
    failed: Option<(i64, String, String)>,
) -> AppResult<HttpResponse> {
    let now = state.now().naive_utc();
    let (items, shop) = state
        .db(move |conn| {
            Ok((
                showcase::items(conn, user_id)?,
                crate::orders::shop::ensure(conn, user_id, now)?,
            ))
        })
        .await?;
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        let margin = margin_for(&item.product, item.price_fen, &trainee.profile);
        let (price_input, error) = match &failed {
            Some((id, input, message)) if *id == item.product.id => {
                (input.clone(), Some(message.clone()))
            }
            _ => (format_yuan(Some(item.price_fen)), None),
        };
        lines.push(ShowcaseLine {
            product_id: item.product.id,
            range: format!(
                "{} – {}",
                yuan_text(item.product.min_price_fen),
                yuan_text(item.product.suggested_fen)
            ),
            title: item.product.title,
            supplier: item.supplier_name,
            price_input,
            margin,
            error,
        });
    }
    let total: i64 = lines.iter().map(|l| l.margin.margin_fen).sum();
    let revenue: i64 = lines.iter().map(|l| l.margin.price_fen).sum();
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_with_status(
        &ShowcasePage {
            ctx,
            max_items: MAX_ITEMS,
            average_rate: if revenue > 0 {
                percent_text((total as i128 * 10_000 / revenue as i128) as i64)
            } else {
                "–".into()
            },
            total_margin: yuan_text(total),
            shop_handle: shop.handle,
            lines,
        },
        status,
    )
}

pub async fn showcase_page(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let trainee = match open_selection(&state, &user, &ctx).await? {
        Gate::Open(t) => t,
        Gate::Locked(page) => return Ok(page),
    };
    render_showcase(&state, ctx, &trainee, user.id, None).await
}

pub async fn update_item(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<ItemForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user = require_trainee(&ctx)?;
    let trainee = match open_selection(&state, &user, &ctx).await? {
        Gate::Open(t) => t,
        Gate::Locked(page) => return Ok(page),
    };
    let id = product_id(&path)?;
    if !trainee.showcase.contains_key(&id) {
        return Err(AppError::NotFound);
    }
    let data = load_product(&state, id).await?;
    let raw = form.price.as_deref().unwrap_or("");
    let price = match typed_price(&ctx, &data.product, raw) {
        Ok(fen) => fen,
        Err(message) => {
            let input = raw.trim().chars().take(20).collect();
            return render_showcase(&state, ctx, &trainee, user.id, Some((id, input, message)))
                .await;
        }
    };
    let (uid, now) = (user.id, state.now().naive_utc());
    match state
        .db(move |conn| Ok(showcase::reprice(conn, uid, id, price, now)))
        .await?
    {
        Ok(_) => {
            let mut response = see_other("/showcase");
            response
                .add_cookie(&flash_cookie("flash.showcase_updated", &state.settings))
                .ok();
            Ok(response)
        }
        Err(ShowcaseError::NotInShowcase | ShowcaseError::UnknownProduct) => {
            Err(AppError::NotFound)
        }
        Err(ShowcaseError::Db(e)) => Err(e.into()),
        Err(ShowcaseError::PriceOutOfRange { min, max }) => {
            let input = raw.trim().chars().take(20).collect();
            let message = range_message(&ctx, min, max);
            render_showcase(&state, ctx, &trainee, user.id, Some((id, input, message))).await
        }
        Err(ShowcaseError::Full) => Err(AppError::Internal(anyhow::anyhow!(
            "repricing cannot fill a showcase"
        ))),
    }
}

pub async fn remove_item(
    state: web::Data<AppState>,
    CsrfForm(_): CsrfForm<EmptyForm>,
    ctx: PageCtx,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user = require_trainee(&ctx)?;
    if let Gate::Locked(page) = open_selection(&state, &user, &ctx).await? {
        return Ok(page);
    }
    let id = product_id(&path)?;
    let uid = user.id;
    match state
        .db(move |conn| Ok(showcase::remove(conn, uid, id)))
        .await?
    {
        Ok(()) => {
            let mut response = see_other("/showcase");
            response
                .add_cookie(&flash_cookie("flash.showcase_removed", &state.settings))
                .ok();
            Ok(response)
        }
        Err(ShowcaseError::Db(e)) => Err(e.into()),
        Err(_) => Err(AppError::NotFound),
    }
}
