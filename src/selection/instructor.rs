//! `/instructor/showcases`: what trainees picked for their showcases, and how the
//! expected margins of those picks are spread.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;

use super::showcase;
use crate::accounts::domain::Role;
use crate::analytics::funnel_chart::{self, FunnelLabels, FunnelStep};
use crate::catalog::pricing::{creator_margin, percent_text, yuan_text};
use crate::db::schema::creator_profiles;
use crate::error::AppResult;
use crate::learning::cohorts;
use crate::matching::weights::platform_fee_bp;
use crate::web::{AppState, CurrentUser, PageCtx, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/instructor/showcases", web::get().to(showcases_page));
}

/// One pick of a trainee: (product title, margin, price), in fen.
type Pick = (String, i64, i64);

pub struct TraineeLine {
    pub name: String,
    pub email: String,
    pub items: usize,
    pub average_rate: String,
    pub picks: Vec<String>,
}

pub struct ProductLine {
    pub id: i64,
    pub title: String,
    pub picks: usize,
    pub average_price: String,
}

#[derive(Template)]
#[template(path = "selection/instructor.html")]
struct ShowcasesPage {
    ctx: PageCtx,
    trainees: Vec<TraineeLine>,
    products: Vec<ProductLine>,
    chart: String,
    items: usize,
    median_rate: String,
}

/// Margin-rate buckets of 10 points, from "below 0 %" to "60 % and more".
fn bucket(rate_bp: i64) -> usize {
    if rate_bp < 0 {
        0
    } else {
        ((rate_bp / 1_000) as usize + 1).min(7)
    }
}

fn bucket_label(ctx: &PageCtx, b: usize) -> String {
    match b {
        0 => ctx.t("showcases.bucket_loss"),
        7 => ctx.t("showcases.bucket_top"),
        b => format!("{}–{}%", (b - 1) * 10, b * 10),
    }
}

pub async fn showcases_page(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    if !matches!(user.role, Role::Instructor | Role::Admin) {
        return Err(crate::error::AppError::Forbidden);
    }
    let (items, people, platforms) = state
        .db(|conn| {
            let items = showcase::all_items(conn)?;
            let mut ids: Vec<i64> = items.iter().map(|(u, _, _)| *u).collect();
            ids.dedup();
            let people = cohorts::people(conn, &ids)?;
            let platforms: Vec<(i64, Option<String>)> = creator_profiles::table
                .filter(creator_profiles::user_id.eq_any(&ids))
                .select((creator_profiles::user_id, creator_profiles::platform))
                .load(conn)?;
            Ok((items, people, platforms))
        })
        .await?;
    let platforms: HashMap<i64, Option<String>> = platforms.into_iter().collect();
    let mut counts = [0u64; 8];
    let mut rates = Vec::with_capacity(items.len());
    let mut per_trainee: Vec<(i64, Vec<Pick>)> = Vec::new();
    let mut per_product: HashMap<i64, (String, usize, i64)> = HashMap::new();
    for (user_id, product, price) in &items {
        let fee = platform_fee_bp(platforms.get(user_id).and_then(|p| p.as_deref()));
        let m = creator_margin(
            *price,
            product.cost_fen,
            product.commission_bp.clamp(0, 10_000) as u32,
            fee,
        );
        counts[bucket(m.rate_bp)] += 1;
        rates.push(m.rate_bp);
        match per_trainee.last_mut() {
            Some((u, list)) if u == user_id => {
                list.push((product.title.clone(), m.margin_fen, m.price_fen))
            }
            _ => per_trainee.push((
                *user_id,
                vec![(product.title.clone(), m.margin_fen, m.price_fen)],
            )),
        }
        let entry = per_product
            .entry(product.id)
            .or_insert_with(|| (product.title.clone(), 0, 0));
        entry.1 += 1;
        entry.2 += price;
    }
    let people: HashMap<i64, (String, String)> = people
        .into_iter()
        .map(|(id, email, name)| (id, (name, email)))
        .collect();
    let trainees = per_trainee
        .into_iter()
        .map(|(id, list)| {
            let margin: i64 = list.iter().map(|(_, m, _)| m).sum();
            let revenue: i64 = list.iter().map(|(_, _, p)| p).sum();
            let (name, email) = people.get(&id).cloned().unwrap_or_default();
            TraineeLine {
                name,
                email,
                items: list.len(),
                average_rate: if revenue > 0 {
                    percent_text((margin as i128 * 10_000 / revenue as i128) as i64)
                } else {
                    "–".into()
                },
                picks: list.into_iter().map(|(t, _, _)| t).collect(),
            }
        })
        .collect();
    let mut products: Vec<ProductLine> = per_product
        .into_iter()
        .map(|(id, (title, picks, total))| ProductLine {
            id,
            title,
            picks,
            average_price: yuan_text(total / picks.max(1) as i64),
        })
        .collect();
    products.sort_by(|a, b| b.picks.cmp(&a.picks).then(a.id.cmp(&b.id)));
    products.truncate(20);
    rates.sort_unstable();
    let median_rate = rates
        .get(rates.len() / 2)
        .map(|r| percent_text(*r))
        .unwrap_or_else(|| "–".into());
    let steps: Vec<FunnelStep> = (0..8)
        .map(|b| FunnelStep {
            label: bucket_label(&ctx, b),
            count: counts[b],
        })
        .collect();
    let (title, axis) = (
        ctx.t("showcases.chart_title"),
        ctx.t("showcases.chart_axis"),
    );
    let chart = funnel_chart::funnel_svg(
        &steps,
        &FunnelLabels {
            title: &title,
            axis: &axis,
        },
    );
    render(&ShowcasesPage {
        ctx,
        trainees,
        products,
        chart,
        items: items.len(),
        median_rate,
    })
}
