//! The report of a show: the figures (GMV, orders, units, buyers, conversion, GPM, peak
//! and average viewers, watch time, questions answered and how fast), a table per
//! product, refunds and returns, a chart of viewers and orders marked with the trainee's
//! actions, and 3–5 coaching observations drawn from the data, each linked to the lesson
//! that teaches it. Everything is computed from the stored show, its action log and its
//! orders, so the same seed and actions give the same report.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::HttpResponse;
use askama::Template;
use diesel::prelude::*;

use super::chart::{Marker, MarkerKind, ShowChartLabels, show_svg};
use super::model::{self, Show};
use super::routes::clock_text;
use super::sim::{ActionKind, SimConfig, Summary, segment_code};
use crate::catalog::pricing::yuan_text;
use crate::courses::store::CourseStore;
use crate::db::DbConn;
use crate::db::schema::{after_sales, order_lines, orders};
use crate::error::AppResult;
use crate::i18n::Locale;
use crate::orders::{CaseStatus, OrderStatus};
use crate::web::{AppState, PageCtx, render};

/// The figures of a show, locale-free, for the page and for comparing two runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub gmv_fen: i64,
    pub orders: i64,
    pub units: i64,
    pub buyers: i64,
    pub declined: i64,
    pub unique_viewers: i64,
    pub conversion_bp: i64,
    pub gpm_fen: i64,
    pub peak_viewers: i64,
    pub avg_viewers: i64,
    pub avg_watch_s: i64,
    pub questions: i64,
    pub answered: i64,
    pub avg_response_s: i64,
    pub refunded_fen: i64,
    pub cases: BTreeMap<String, i64>,
    pub products: Vec<ProductFigures>,
    pub per_minute_orders: Vec<u32>,
    pub per_minute_viewers: Vec<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFigures {
    pub product_id: i64,
    pub title: String,
    pub pinned_ms: i64,
    pub clicks: i64,
    pub orders: i64,
    pub units: i64,
}

/// What the report reads: the show, its summary, its orders and lines.
pub struct ReportData {
    pub show: Show,
    pub summary: Summary,
    pub setup: Option<SimConfig>,
    pub actions: Vec<model::ActionRow>,
    pub figures: Figures,
}

fn summary_of(show: &Show, actions: &[model::ActionRow]) -> Summary {
    if let Some(s) = show.summary() {
        return s;
    }
    // A show still running, or stored before summaries: replay what has been stored.
    let log: Vec<_> = actions
        .iter()
        .filter_map(model::ActionRow::action)
        .collect();
    super::runner::replay(show, &log, show.done_ms)
        .map(|e| e.summary())
        .unwrap_or_default()
}

/// An order line of the show as the report reads it: order id, status, buyer key, total,
/// refunded, payment method, product id, title, quantity, placed at.
type OrderLineRow = (
    i64,
    String,
    String,
    i64,
    i64,
    String,
    i64,
    String,
    i32,
    chrono::NaiveDateTime,
);

pub fn load(conn: &mut DbConn, show: Show) -> QueryResult<ReportData> {
    let actions = model::actions(conn, show.id)?;
    let summary = summary_of(&show, &actions);
    let setup: Option<SimConfig> = serde_json::from_str(&show.setup).ok();
    let rows: Vec<OrderLineRow> = orders::table
        .inner_join(order_lines::table)
        .filter(orders::show_id.eq(show.id))
        .filter(orders::shop_user_id.eq(show.user_id))
        .order((orders::id, order_lines::id))
        .select((
            orders::id,
            orders::status,
            orders::buyer_key,
            orders::total_fen,
            orders::refunded_fen,
            orders::payment_method,
            order_lines::product_id,
            order_lines::title,
            order_lines::quantity,
            orders::created_at,
        ))
        .load(conn)?;
    let cases: Vec<String> = after_sales::table
        .inner_join(orders::table)
        .filter(orders::show_id.eq(show.id))
        .filter(orders::shop_user_id.eq(show.user_id))
        .select(after_sales::status)
        .load(conn)?;
    let mut f = Figures::default();
    let mut seen_orders = BTreeSet::new();
    let mut buyers = BTreeSet::new();
    let mut per_product: BTreeMap<i64, ProductFigures> = BTreeMap::new();
    let minutes = (show.done_ms.max(0) as usize).div_ceil(60_000).max(1);
    f.per_minute_orders = vec![0; minutes];
    for (id, status, buyer, total, refunded, _method, product, title, qty, created) in &rows {
        let failed = status == OrderStatus::PaymentFailed.as_str();
        let entry = per_product
            .entry(*product)
            .or_insert_with(|| ProductFigures {
                product_id: *product,
                title: title.clone(),
                ..Default::default()
            });
        if failed {
            if seen_orders.insert(*id) {
                f.declined += 1;
            }
            continue;
        }
        entry.units += *qty as i64;
        entry.orders += 1;
        f.units += *qty as i64;
        if seen_orders.insert(*id) {
            f.orders += 1;
            f.gmv_fen += total;
            f.refunded_fen += refunded;
            buyers.insert(buyer.clone());
            let m = ((*created - show.started_at).num_milliseconds().max(0) / 60_000) as usize;
            if let Some(slot) = f.per_minute_orders.get_mut(m.min(minutes - 1)) {
                *slot += 1;
            }
        }
    }
    f.buyers = buyers.len() as i64;
    for c in cases {
        *f.cases.entry(c).or_default() += 1;
    }
    f.unique_viewers = summary.unique_viewers as i64;
    f.conversion_bp = if f.unique_viewers > 0 {
        f.buyers * 10_000 / f.unique_viewers
    } else {
        0
    };
    f.gpm_fen = if f.unique_viewers > 0 {
        f.gmv_fen * 1000 / f.unique_viewers
    } else {
        0
    };
    f.peak_viewers = summary.peak_viewers as i64;
    f.avg_viewers = summary.avg_viewers.round() as i64;
    f.avg_watch_s = summary.avg_watch_s.round() as i64;
    f.questions = summary.questions as i64;
    f.answered = summary.answered as i64;
    f.avg_response_s = (summary.avg_response_ms / 1000.0).round() as i64;
    f.per_minute_viewers = summary.minutes.iter().map(|m| m.viewers_avg).collect();
    let titles: BTreeMap<i64, String> = crate::selection::showcase::items(conn, show.user_id)?
        .into_iter()
        .map(|i| (i.product.id, i.product.title))
        .collect();
    for p in &summary.products {
        let entry = per_product
            .entry(p.product_id)
            .or_insert_with(|| ProductFigures {
                product_id: p.product_id,
                title: titles.get(&p.product_id).cloned().unwrap_or_default(),
                ..Default::default()
            });
        entry.pinned_ms = p.pinned_ms as i64;
        entry.clicks = p.clicks as i64;
    }
    f.products = per_product
        .into_values()
        .filter(|p| p.pinned_ms > 0 || p.orders > 0)
        .collect();
    f.products
        .sort_by(|a, b| b.orders.cmp(&a.orders).then(b.pinned_ms.cmp(&a.pinned_ms)));
    Ok(ReportData {
        show,
        summary,
        setup,
        actions,
        figures: f,
    })
}

/// One coaching observation and the lesson that teaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coaching {
    pub text: String,
    pub lesson: Option<(String, String)>,
}

/// Finds a lesson by slug in the served courses: (title, url).
pub fn lesson(courses: &CourseStore, slug: &str) -> Option<(String, String)> {
    for c in courses.served() {
        for m in &c.modules {
            if let Some(l) = m.lessons.iter().find(|l| l.slug == slug) {
                return Some((
                    l.title.clone(),
                    format!("{}/{}/{}", c.url(), m.slug, l.slug),
                ));
            }
        }
    }
    None
}

fn pct(bp: i64) -> String {
    format!("{}.{}%", bp / 100, (bp % 100) / 10)
}

/// 3–5 observations, the most important first.
pub fn coaching(data: &ReportData, courses: &CourseStore, locale: Locale) -> Vec<Coaching> {
    let f = &data.figures;
    let s = &data.summary;
    // (weight, text, lesson slug)
    let mut found: Vec<(i64, String, &str)> = Vec::new();

    // Flash deals that sold out fast: a larger quantity would have sold too.
    for a in &data.actions {
        let Some(ActionKind::Deal {
            product_id,
            price_fen,
            quantity,
            ends_at_ms,
            ..
        }) = a.action().map(|x| x.kind)
        else {
            continue;
        };
        let Some(p) = s.products.iter().find(|p| p.product_id == product_id) else {
            continue;
        };
        if let Some(out) = p.deal_sold_out_at_ms.filter(|o| *o as i64 >= a.at_ms) {
            let took = (out as i64 - a.at_ms).max(1000);
            let left = (ends_at_ms as i64 - out as i64).max(0);
            if left > 0 {
                let more =
                    (quantity as f64 * (left as f64 / took as f64)).min(quantity as f64 * 3.0);
                let extra = (more as i64) * price_fen;
                found.push((
                    90,
                    locale.tf(
                        "report.coach.deal_sold_out",
                        &[
                            ("at", &clock_text(a.at_ms)),
                            ("secs", &(took / 1000).to_string()),
                            ("amount", &yuan_text(extra)),
                        ],
                    ),
                    "flash-deals",
                ));
            }
        }
    }

    // Audience and product out of step.
    let top_segment = s
        .segments
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, _)| i)
        .unwrap_or(0);
    if let Some(setup) = &data.setup {
        let worst = s
            .products
            .iter()
            .filter(|p| p.pinned_ms >= 120_000)
            .filter_map(|p| {
                let prod = setup
                    .products
                    .iter()
                    .find(|x| x.product_id == p.product_id)?;
                let fit = *prod.segment_fit.get(top_segment)?;
                (fit < 0.7).then_some((p, fit))
            })
            .max_by_key(|(p, _)| p.pinned_ms);
        if let Some((p, _)) = worst {
            let title = f
                .products
                .iter()
                .find(|x| x.product_id == p.product_id)
                .map(|x| x.title.clone())
                .unwrap_or_default();
            found.push((
                85,
                locale.tf(
                    "report.coach.mismatch",
                    &[
                        (
                            "segment",
                            &locale.t(&format!("report.segment.{}", segment_code(top_segment))),
                        ),
                        ("product", &title),
                        ("minutes", &(p.pinned_ms / 60_000).to_string()),
                    ],
                ),
                "knowing-your-viewer",
            ));
        }
    }

    // Over-claims.
    if s.overclaims > 0 {
        found.push((
            95,
            locale.tf(
                "report.coach.overclaim",
                &[("n", &s.overclaims.to_string())],
            ),
            "truthful-claims",
        ));
    }

    // Questions left waiting.
    if s.questions > 0 {
        let share = s.answered as i64 * 100 / s.questions as i64;
        if share < 70 || f.avg_response_s > 60 {
            found.push((
                80,
                locale.tf(
                    "report.coach.questions",
                    &[
                        ("answered", &s.answered.to_string()),
                        ("questions", &s.questions.to_string()),
                        ("secs", &f.avg_response_s.to_string()),
                    ],
                ),
                "comments-and-trust",
            ));
        } else {
            found.push((
                30,
                locale.tf(
                    "report.coach.questions_good",
                    &[
                        ("share", &share.to_string()),
                        ("secs", &f.avg_response_s.to_string()),
                    ],
                ),
                "comments-and-trust",
            ));
        }
    }

    // Time with nothing pinned: nobody can buy.
    let pinned: i64 = s.products.iter().map(|p| p.pinned_ms as i64).sum();
    let idle = (data.show.done_ms - pinned).max(0);
    if data.show.done_ms > 0 && idle * 5 > data.show.done_ms {
        found.push((
            75,
            locale.tf(
                "report.coach.idle",
                &[("minutes", &(idle / 60_000).to_string())],
            ),
            "run-of-show",
        ));
    }

    // Prices above the suggested retail price that did not convert.
    if let Some(setup) = &data.setup {
        for p in &f.products {
            let Some(prod) = setup.products.iter().find(|x| x.product_id == p.product_id) else {
                continue;
            };
            if prod.price_fen > prod.reference_fen && p.clicks > 10 && p.orders * 100 < p.clicks * 2
            {
                found.push((
                    60,
                    locale.tf(
                        "report.coach.price",
                        &[
                            ("product", &p.title),
                            ("price", &yuan_text(prod.price_fen)),
                            ("reference", &yuan_text(prod.reference_fen)),
                        ],
                    ),
                    "margins-and-commission",
                ));
                break;
            }
        }
    }

    // The headline numbers, always there to read against the next show.
    found.push((
        20,
        locale.tf(
            "report.coach.conversion",
            &[
                ("conversion", &pct(f.conversion_bp)),
                ("buyers", &f.buyers.to_string()),
                ("viewers", &f.unique_viewers.to_string()),
                ("gpm", &yuan_text(f.gpm_fen)),
            ],
        ),
        "reading-a-show-report",
    ));
    if f.peak_viewers > 0 {
        found.push((
            10,
            locale.tf(
                "report.coach.watch",
                &[
                    ("secs", &f.avg_watch_s.to_string()),
                    ("peak", &f.peak_viewers.to_string()),
                ],
            ),
            "the-numbers-that-matter",
        ));
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.truncate(5);
    found
        .into_iter()
        .map(|(_, text, slug)| Coaching {
            text,
            lesson: lesson(courses, slug),
        })
        .collect()
}

pub struct ProductRow {
    pub title: String,
    pub pinned: String,
    pub clicks: i64,
    pub orders: i64,
    pub units: i64,
    pub conversion: String,
}

#[derive(Template)]
#[template(path = "live/report.html")]
struct ReportPage {
    ctx: PageCtx,
    show: Show,
    f: Figures,
    gmv: String,
    gpm: String,
    conversion: String,
    refunded: String,
    cases: Vec<(String, i64)>,
    products: Vec<ProductRow>,
    chart: String,
    coaching: Vec<Coaching>,
    owner: bool,
    mode_label: String,
    intro: String,
}

pub async fn page(state: &AppState, ctx: PageCtx, show: Show) -> AppResult<HttpResponse> {
    let owner = ctx.user.as_ref().is_some_and(|u| u.id == show.user_id);
    let data = state.db(move |conn| Ok(load(conn, show)?)).await?;
    let locale = ctx.locale;
    let coaching = coaching(&data, &state.courses, locale);
    let markers: Vec<Marker> = data
        .actions
        .iter()
        .filter_map(|a| {
            let minute = a.at_ms as f64 / 60_000.0;
            let titles = &data.figures.products;
            let name = |id: i64| {
                titles
                    .iter()
                    .find(|p| p.product_id == id)
                    .map(|p| p.title.clone())
                    .unwrap_or_default()
            };
            Some(match a.action()?.kind {
                ActionKind::Pin { product_id } => Marker {
                    minute,
                    label: locale.tf("report.marker.pin", &[("product", &name(product_id))]),
                    kind: MarkerKind::Pin,
                },
                ActionKind::Deal { price_fen, .. } => Marker {
                    minute,
                    label: locale.tf("report.marker.deal", &[("price", &yuan_text(price_fen))]),
                    kind: MarkerKind::Deal,
                },
                ActionKind::Answer { .. } => Marker {
                    minute,
                    label: locale.t("report.marker.answer"),
                    kind: MarkerKind::Answer,
                },
                ActionKind::End => Marker {
                    minute,
                    label: locale.t("report.marker.end"),
                    kind: MarkerKind::End,
                },
                ActionKind::Unpin => return None,
            })
        })
        .collect();
    let title = locale.t("report.chart_title");
    let minutes_axis = locale.t("report.chart_minutes");
    let viewers = locale.t("report.viewers");
    let orders_label = locale.t("report.orders");
    let chart = show_svg(
        &data.figures.per_minute_viewers,
        &data.figures.per_minute_orders,
        &markers,
        &ShowChartLabels {
            title: &title,
            minutes_axis: &minutes_axis,
            viewers: &viewers,
            orders: &orders_label,
        },
    );
    let f = data.figures;
    let products = f
        .products
        .iter()
        .map(|p| ProductRow {
            title: p.title.clone(),
            pinned: clock_text(p.pinned_ms),
            clicks: p.clicks,
            orders: p.orders,
            units: p.units,
            conversion: if p.clicks > 0 {
                pct(p.orders * 10_000 / p.clicks)
            } else {
                "—".into()
            },
        })
        .collect();
    let cases = CaseStatus::ALL
        .iter()
        .filter_map(|s| {
            f.cases
                .get(s.as_str())
                .map(|n| (locale.t(&format!("orders.status.{}", s.as_str())), *n))
        })
        .collect();
    let mode_label = locale.t(&format!("orders.mode.{}", data.show.mode));
    let intro = locale.tf(
        "report.intro",
        &[
            (
                "date",
                &data.show.started_at.format("%Y-%m-%d %H:%M").to_string(),
            ),
            ("minutes", &data.show.minutes.to_string()),
        ],
    );
    render(&ReportPage {
        mode_label,
        intro,
        gmv: yuan_text(f.gmv_fen),
        gpm: yuan_text(f.gpm_fen),
        conversion: pct(f.conversion_bp),
        refunded: yuan_text(f.refunded_fen),
        cases,
        products,
        chart,
        coaching,
        owner,
        show: data.show,
        f,
        ctx,
    })
}
