//! Starting a show and the trainee's actions on it: pin a product, start a flash deal,
//! answer a question, end the show. Every action is stored with its simulated timestamp
//! in the show's log, in one write transaction that holds the show's row, so two tabs
//! acting at once are put in order and the simulation replays them exactly.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;

use super::model::{self, RUNNING, Show};
use super::sim::{self, ActionKind, SimConfig, SimProduct, SimSku};
use crate::accounts::profile;
use crate::catalog::taxonomy::{self, CategoryPath, SEGMENT_ALL, segment_name};
use crate::db::schema::{
    flash_deals, product_stats, products, show_actions, show_comments, shows, skus,
};
use crate::db::{DbConn, write_tx};
use crate::i18n::Locale;
use crate::orders::Mode;

pub const MIN_MINUTES: i32 = 5;
pub const MAX_MINUTES: i32 = 120;
pub const DEFAULT_MINUTES: i32 = 30;
pub const SPEEDS: &[i32] = &[1, 5, 10, 30, 60];
pub const DEFAULT_SPEED: i32 = 10;
pub const MAX_DEAL_MINUTES: i64 = 60;
pub const MAX_PER_BUYER: i64 = 10;
pub const MAX_ANSWER_CHARS: usize = 300;

/// What can go wrong with a show; each has a message for the person acting.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("a show is already running")]
    AlreadyRunning(i64),
    #[error("the showcase is empty")]
    EmptyShowcase,
    #[error("live mode needs a graduated, public shop")]
    NotLive,
    #[error("the show has ended")]
    Ended,
    #[error("not in the showcase")]
    NotInShowcase,
    #[error("bad field {0}")]
    Field(&'static str, &'static str),
    #[error("deal price below cost")]
    BelowCost { cost: String },
    #[error("deal price not below the shop price")]
    NotADeal { price: String },
    #[error("more units than stock")]
    OverStock { stock: i64 },
    #[error("a deal already runs on this item")]
    DealRunning,
    #[error("no such question")]
    UnknownComment,
    #[error("already answered")]
    AlreadyAnswered,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("the write was not committed: {0}")]
    Unavailable(String),
}

impl From<crate::db::writer::WriteError> for LiveError {
    fn from(e: crate::db::writer::WriteError) -> Self {
        LiveError::Unavailable(e.0)
    }
}

impl LiveError {
    /// The field the message belongs next to, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            LiveError::Field(f, _) => Some(f),
            LiveError::BelowCost { .. } | LiveError::NotADeal { .. } => Some("price"),
            LiveError::OverStock { .. } => Some("quantity"),
            LiveError::DealRunning => Some("sku"),
            LiveError::AlreadyAnswered | LiveError::UnknownComment => Some("answer"),
            _ => None,
        }
    }

    pub fn message(&self, locale: Locale) -> String {
        match self {
            LiveError::AlreadyRunning(_) => locale.t("live.err.running"),
            LiveError::EmptyShowcase => locale.t("live.err.empty_showcase"),
            LiveError::NotLive => locale.t("live.err.not_live"),
            LiveError::Ended => locale.t("live.err.ended"),
            LiveError::NotInShowcase => locale.t("live.err.not_in_showcase"),
            LiveError::Field(_, key) => locale.t(key),
            LiveError::BelowCost { cost } => locale.tf("live.err.below_cost", &[("cost", cost)]),
            LiveError::NotADeal { price } => locale.tf("live.err.not_a_deal", &[("price", price)]),
            LiveError::OverStock { stock } => {
                locale.tf("live.err.over_stock", &[("stock", &stock.to_string())])
            }
            LiveError::DealRunning => locale.t("live.err.deal_running"),
            LiveError::UnknownComment => locale.t("live.err.unknown_comment"),
            LiveError::AlreadyAnswered => locale.t("live.err.answered"),
            LiveError::NotFound => locale.t("errors.not_found.title"),
            LiveError::Db(_) | LiveError::Unavailable(_) => locale.t("errors.unavailable.title"),
        }
    }
}

// ------------------------------------------------------------------ starting

#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub mode: Mode,
    pub minutes: i32,
    pub speed: i32,
}

/// Reads the start form: minutes 5–120 (default 30), a speed from `SPEEDS` (default 10).
pub fn parse_start(
    minutes: Option<&str>,
    speed: Option<&str>,
    mode: Option<&str>,
) -> Result<StartRequest, LiveError> {
    let minutes = match minutes.map(str::trim).unwrap_or("") {
        "" => DEFAULT_MINUTES,
        m => m
            .parse::<i32>()
            .ok()
            .filter(|m| (MIN_MINUTES..=MAX_MINUTES).contains(m))
            .ok_or(LiveError::Field("minutes", "live.err.minutes"))?,
    };
    let speed = match speed.map(str::trim).unwrap_or("") {
        "" => DEFAULT_SPEED,
        s => s
            .parse::<i32>()
            .ok()
            .filter(|s| SPEEDS.contains(s))
            .ok_or(LiveError::Field("speed", "live.err.speed"))?,
    };
    let mode = match mode.map(str::trim).unwrap_or("") {
        "" | "sandbox" => Mode::Sandbox,
        "live" => Mode::Live,
        _ => return Err(LiveError::Field("mode", "live.err.mode")),
    };
    Ok(StartRequest {
        mode,
        minutes,
        speed,
    })
}

/// The simulation's view of the creator's audience and showcase, as they are now.
pub fn build_setup(
    conn: &mut DbConn,
    user_id: i64,
    seed: u64,
    minutes: i32,
) -> Result<SimConfig, LiveError> {
    let prof = profile::load(conn, user_id)?.unwrap_or_default();
    let age_band = prof
        .audience_age_band
        .as_deref()
        .and_then(|a| taxonomy::AGE_BANDS.iter().position(|b| *b == a))
        .unwrap_or(1);
    let female_percent = prof.audience_female_percent.unwrap_or(60).clamp(0, 100) as u8;
    let niches: Vec<String> = prof.niches().iter().map(|s| s.to_string()).collect();
    let items = crate::selection::showcase::items(conn, user_id)?;
    if items.is_empty() {
        return Err(LiveError::EmptyShowcase);
    }
    let mut products_out = Vec::with_capacity(items.len());
    for item in &items {
        let p = &item.product;
        let path = CategoryPath::parse(&p.category);
        let cat = path.map(|c| &taxonomy::CATEGORIES[c.top]);
        let niche_fit = match path {
            Some(c) if niches.iter().any(|n| n == c.top_slug()) => 1.0,
            Some(_) if niches.is_empty() => 0.6,
            _ => 0.2,
        };
        let stats: Vec<(String, i64, i64, i64)> = product_stats::table
            .filter(product_stats::product_id.eq(p.id))
            .select((
                product_stats::segment,
                product_stats::views,
                product_stats::orders,
                product_stats::returns,
            ))
            .load(conn)?;
        let all = stats.iter().find(|s| s.0 == segment_name(SEGMENT_ALL));
        let all_rate = all.filter(|s| s.1 >= 50).map(|s| s.2 as f64 / s.1 as f64);
        let mut segment_fit = [1.0f32; sim::SEGMENTS];
        for (seg, fit) in segment_fit.iter_mut().enumerate() {
            let base = cat
                .map(|c| taxonomy::audience_share(c, seg) * 10.0)
                .unwrap_or(1.0);
            let history = match (all_rate, stats.iter().find(|s| s.0 == segment_name(seg))) {
                (Some(all), Some(s)) if s.1 >= 50 && all > 0.0 => {
                    ((s.2 as f64 / s.1 as f64) / all).clamp(0.5, 2.0)
                }
                _ => 1.0,
            };
            *fit = (base * history) as f32;
        }
        let prior = cat.map(|c| c.return_rate).unwrap_or(0.05);
        let (orders, returns) = all.map(|s| (s.2, s.3)).unwrap_or((0, 0));
        let return_rate = ((returns as f64 + 20.0 * prior) / (orders as f64 + 20.0)) as f32;
        let sku_rows: Vec<(i64, i32)> = skus::table
            .filter(skus::product_id.eq(p.id))
            .order(skus::id)
            .select((skus::id, skus::stock))
            .load(conn)?;
        products_out.push(SimProduct {
            product_id: p.id,
            skus: sku_rows
                .into_iter()
                .map(|(sku_id, stock)| SimSku {
                    sku_id,
                    stock: stock.max(0) as i64,
                })
                .collect(),
            price_fen: item.price_fen,
            reference_fen: p.suggested_fen.max(1),
            niche_fit,
            segment_fit,
            return_rate,
        });
    }
    Ok(SimConfig {
        seed,
        minutes: minutes.max(1) as u32,
        followers: prof.follower_count.unwrap_or(0),
        viewers: None,
        female_percent,
        age_band,
        products: products_out,
    })
}

/// Starts a show. A sandbox show snapshots the audience and showcase for its simulation;
/// a live session (graduates only) has none. One running show per creator: the database
/// refuses a second one, whatever the race.
pub fn start(
    conn: &mut DbConn,
    user_id: i64,
    req: &StartRequest,
    seed: Option<u64>,
    now: NaiveDateTime,
) -> Result<Show, LiveError> {
    write_tx(conn, |conn| {
        if let Some(running) = model::running_of(conn, user_id)? {
            return Err(LiveError::AlreadyRunning(running.id));
        }
        let shop = crate::orders::shop::ensure(conn, user_id, now)?;
        if req.mode == Mode::Live && shop.mode() != Mode::Live {
            return Err(LiveError::NotLive);
        }
        let seed = seed.unwrap_or_else(|| rand::rng().random::<u64>() >> 1);
        let setup = match req.mode {
            Mode::Sandbox => build_setup(conn, user_id, seed, req.minutes)?,
            Mode::Live => {
                if crate::selection::showcase::product_ids(conn, user_id)?.is_empty() {
                    return Err(LiveError::EmptyShowcase);
                }
                SimConfig {
                    seed,
                    minutes: req.minutes as u32,
                    followers: 0,
                    viewers: None,
                    female_percent: 50,
                    age_band: 1,
                    products: Vec::new(),
                }
            }
        };
        let setup_json = serde_json::to_string(&setup)
            .map_err(|e| LiveError::Unavailable(format!("setup: {e}")))?;
        let speed = if req.mode == Mode::Live { 1 } else { req.speed };
        let inserted = diesel::insert_into(shows::table)
            .values((
                shows::user_id.eq(user_id),
                shows::mode.eq(req.mode.as_str()),
                shows::status.eq(RUNNING),
                shows::seed.eq(seed as i64),
                shows::minutes.eq(req.minutes),
                shows::speed.eq(speed),
                shows::setup.eq(&setup_json),
                shows::started_at.eq(now),
                shows::sim_ms.eq(0i64),
                shows::done_ms.eq(0i64),
                shows::actions.eq(0),
                shows::clock_at.eq(now),
                shows::orders_placed.eq(0),
                shows::orders_refused.eq(0),
                shows::created_at.eq(now),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                let id = model::running_of(conn, user_id)?.map(|s| s.id).unwrap_or(0);
                return Err(LiveError::AlreadyRunning(id));
            }
            Err(e) => return Err(e.into()),
        }
        model::running_of(conn, user_id)?.ok_or(LiveError::NotFound)
    })
}

// ------------------------------------------------------------------ actions

/// Takes the show's row (a row lock on PostgreSQL; SQLite has one writer) and checks it
/// belongs to `user_id` and is still running at `now`. Returns it with the simulated
/// time the next action is stamped with.
fn lock_running(
    conn: &mut DbConn,
    user_id: i64,
    show_id: i64,
    now: NaiveDateTime,
) -> Result<(Show, i64), LiveError> {
    let touched = diesel::update(
        shows::table
            .filter(shows::id.eq(show_id))
            .filter(shows::user_id.eq(user_id)),
    )
    .set(shows::actions.eq(shows::actions))
    .execute(conn)?;
    if touched == 0 {
        return Err(LiveError::NotFound);
    }
    let show = model::find(conn, show_id)?.ok_or(LiveError::NotFound)?;
    if !show.is_running() {
        return Err(LiveError::Ended);
    }
    let last: Option<i64> = show_actions::table
        .filter(show_actions::show_id.eq(show_id))
        .select(diesel::dsl::max(show_actions::at_ms))
        .first(conn)?;
    // Never before a tick already claimed by the worker, nor before the last action:
    // the log stays in time order and a replay applies each action where it was.
    let at = show.sim_ms_at(now).max(show.sim_ms).max(last.unwrap_or(0));
    if at >= show.length_ms() || last_was_end(conn, show_id)? {
        return Err(LiveError::Ended);
    }
    Ok((show, at))
}

fn last_was_end(conn: &mut DbConn, show_id: i64) -> QueryResult<bool> {
    let n: i64 = show_actions::table
        .filter(show_actions::show_id.eq(show_id))
        .filter(show_actions::kind.eq("end"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn append(
    conn: &mut DbConn,
    show: &Show,
    at_ms: i64,
    kind: &ActionKind,
    body: Option<&str>,
    now: NaiveDateTime,
) -> Result<i32, LiveError> {
    let seq = show.actions + 1;
    let name = match kind {
        ActionKind::Pin { .. } => "pin",
        ActionKind::Unpin => "unpin",
        ActionKind::Deal { .. } => "deal",
        ActionKind::Answer { .. } => "answer",
        ActionKind::End => "end",
    };
    let payload =
        serde_json::to_string(kind).map_err(|e| LiveError::Unavailable(format!("action: {e}")))?;
    diesel::insert_into(show_actions::table)
        .values((
            show_actions::show_id.eq(show.id),
            show_actions::seq.eq(seq),
            show_actions::at_ms.eq(at_ms),
            show_actions::kind.eq(name),
            show_actions::payload.eq(&payload),
            show_actions::body.eq(body),
            show_actions::created_at.eq(now),
        ))
        .execute(conn)?;
    diesel::update(shows::table.find(show.id))
        .set(shows::actions.eq(seq))
        .execute(conn)?;
    Ok(seq)
}

/// Pins a showcase product: viewers now see it and may buy it.
pub fn pin(
    conn: &mut DbConn,
    user_id: i64,
    show_id: i64,
    product_id: i64,
    now: NaiveDateTime,
) -> Result<(), LiveError> {
    write_tx(conn, |conn| {
        let (show, at) = lock_running(conn, user_id, show_id, now)?;
        let in_showcase = crate::selection::showcase::product_ids(conn, user_id)?
            .iter()
            .any(|(p, _)| *p == product_id);
        if !in_showcase {
            return Err(LiveError::NotInShowcase);
        }
        append(conn, &show, at, &ActionKind::Pin { product_id }, None, now)?;
        diesel::update(shows::table.find(show.id))
            .set(shows::pinned_product_id.eq(Some(product_id)))
            .execute(conn)?;
        Ok(())
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRequest {
    pub sku_id: i64,
    pub price_fen: i64,
    pub quantity: i64,
    pub minutes: i64,
    pub per_buyer_limit: i64,
}

/// Reads the flash-deal form; each field is named in its error.
pub fn parse_deal(
    sku: Option<&str>,
    price: Option<&str>,
    quantity: Option<&str>,
    minutes: Option<&str>,
    per_buyer: Option<&str>,
) -> Result<DealRequest, LiveError> {
    let int = |raw: Option<&str>, field: &'static str, key: &'static str, min: i64, max: i64| {
        raw.map(str::trim)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|n| (min..=max).contains(n))
            .ok_or(LiveError::Field(field, key))
    };
    let sku_id = int(sku, "sku", "live.err.sku", 1, i64::MAX)?;
    let price_fen = match profile::parse_yuan(price.unwrap_or("")) {
        Ok(Some(fen)) if fen > 0 => fen,
        _ => return Err(LiveError::Field("price", "live.err.price")),
    };
    let quantity = int(quantity, "quantity", "live.err.quantity", 1, 100_000)?;
    let minutes = int(
        minutes,
        "duration",
        "live.err.duration",
        1,
        MAX_DEAL_MINUTES,
    )?;
    let per_buyer_limit = int(
        per_buyer,
        "per_buyer",
        "live.err.per_buyer",
        1,
        MAX_PER_BUYER,
    )?;
    Ok(DealRequest {
        sku_id,
        price_fen,
        quantity,
        minutes,
        per_buyer_limit,
    })
}

/// Starts a flash deal on a showcase SKU: below the shop price, not below cost, no more
/// units than in stock, one running deal per SKU. It pins the product too.
pub fn start_deal(
    conn: &mut DbConn,
    user_id: i64,
    show_id: i64,
    req: &DealRequest,
    now: NaiveDateTime,
) -> Result<i64, LiveError> {
    write_tx(conn, |conn| {
        let (show, at) = lock_running(conn, user_id, show_id, now)?;
        let (product_id, stock, cost): (i64, i32, i64) = skus::table
            .inner_join(products::table)
            .filter(skus::id.eq(req.sku_id))
            .select((products::id, skus::stock, products::cost_fen))
            .first(conn)
            .optional()?
            .ok_or(LiveError::NotInShowcase)?;
        let shop_price = crate::selection::showcase::product_ids(conn, user_id)?
            .into_iter()
            .find(|(p, _)| *p == product_id)
            .map(|(_, price)| price)
            .ok_or(LiveError::NotInShowcase)?;
        if req.price_fen < cost {
            return Err(LiveError::BelowCost {
                cost: crate::catalog::pricing::yuan_text(cost),
            });
        }
        if req.price_fen >= shop_price {
            return Err(LiveError::NotADeal {
                price: crate::catalog::pricing::yuan_text(shop_price),
            });
        }
        if req.quantity > stock as i64 {
            return Err(LiveError::OverStock {
                stock: stock.max(0) as i64,
            });
        }
        // The deal runs on the show's clock: simulated time in the sandbox.
        let starts = show.at(at);
        let running: i64 = flash_deals::table
            .filter(flash_deals::shop_user_id.eq(user_id))
            .filter(flash_deals::sku_id.eq(req.sku_id))
            .filter(flash_deals::starts_at.le(starts))
            .filter(flash_deals::ends_at.gt(starts))
            .filter(flash_deals::sold.lt(flash_deals::quantity))
            .count()
            .get_result(conn)?;
        if running > 0 {
            return Err(LiveError::DealRunning);
        }
        let ends = starts + Duration::minutes(req.minutes);
        let deal_id = crate::orders::model::insert_deal(
            conn,
            &crate::orders::model::NewDeal {
                shop_user_id: user_id,
                sku_id: req.sku_id,
                mode: &show.mode,
                price_fen: req.price_fen,
                quantity: req.quantity as i32,
                per_buyer_limit: req.per_buyer_limit as i32,
                starts_at: starts,
                ends_at: ends,
            },
            now,
        )?;
        let kind = ActionKind::Deal {
            deal_id,
            product_id,
            sku_id: req.sku_id,
            price_fen: req.price_fen,
            quantity: req.quantity,
            per_buyer_limit: req.per_buyer_limit,
            ends_at_ms: (at + req.minutes * 60_000) as u64,
        };
        append(conn, &show, at, &kind, None, now)?;
        // A deal is shown on the pinned product.
        if show.pinned_product_id != Some(product_id) {
            let show = model::find(conn, show.id)?.ok_or(LiveError::NotFound)?;
            append(conn, &show, at, &ActionKind::Pin { product_id }, None, now)?;
            diesel::update(shows::table.find(show.id))
                .set(shows::pinned_product_id.eq(Some(product_id)))
                .execute(conn)?;
        }
        Ok(deal_id)
    })
}

/// Claims a seller must not make on a live stream (health cures, guarantees, superlatives
/// that cannot be proven). The course's compliance module teaches why.
pub const OVERCLAIMS: &[&str] = &[
    "cure",
    "cures",
    "heals",
    "100% guaranteed",
    "100% guarantee",
    "guaranteed results",
    "best in the world",
    "world's best",
    "no side effects",
    "miracle",
    "risk-free",
    "never fails",
    "治愈",
    "根治",
    "百分百",
    "100%保证",
    "世界第一",
    "全网最低",
    "无副作用",
    "神奇",
    "包治",
];

/// The over-claims found in a reply, lowercased.
pub fn overclaims_in(text: &str) -> Vec<&'static str> {
    let lower = text.to_lowercase();
    OVERCLAIMS
        .iter()
        .copied()
        .filter(|w| {
            let mut from = 0;
            while let Some(i) = lower[from..].find(w) {
                let start = from + i;
                let end = start + w.len();
                let ascii = w.is_ascii();
                let before = lower[..start].chars().next_back();
                let after = lower[end..].chars().next();
                let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
                if !ascii || (boundary(before) && boundary(after)) {
                    return true;
                }
                from = end;
            }
            false
        })
        .collect()
}

/// Answers a viewer's question with a suggested reply or the trainee's own words.
/// Returns the over-claims found in it (they cost the viewers' trust).
pub fn answer(
    conn: &mut DbConn,
    user_id: i64,
    show_id: i64,
    comment_id: i64,
    text: &str,
    now: NaiveDateTime,
) -> Result<Vec<&'static str>, LiveError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(LiveError::Field("answer", "live.err.answer_empty"));
    }
    if text.chars().count() > MAX_ANSWER_CHARS || !crate::accounts::domain::is_printable_text(text)
    {
        return Err(LiveError::Field("answer", "live.err.answer_long"));
    }
    let found = overclaims_in(text);
    write_tx(conn, |conn| {
        let (show, at) = lock_running(conn, user_id, show_id, now)?;
        let comment =
            model::find_comment(conn, show_id, comment_id)?.ok_or(LiveError::UnknownComment)?;
        if comment.answered_ms.is_some() {
            return Err(LiveError::AlreadyAnswered);
        }
        let kind = ActionKind::Answer {
            comment_id: comment_id.max(0) as u64,
            overclaim: !found.is_empty(),
        };
        append(conn, &show, at, &kind, Some(text), now)?;
        diesel::update(show_comments::table.find((show_id, comment_id)))
            .set((
                show_comments::answered_ms.eq(Some(at)),
                show_comments::answer.eq(Some(text)),
                show_comments::overclaim.eq(!found.is_empty()),
            ))
            .execute(conn)?;
        Ok(found.clone())
    })
}

/// Ends the show. The simulation stops at the action's time; a live session ends at once.
pub fn end(
    conn: &mut DbConn,
    user_id: i64,
    show_id: i64,
    now: NaiveDateTime,
) -> Result<(), LiveError> {
    write_tx(conn, |conn| {
        let (show, at) = lock_running(conn, user_id, show_id, now)?;
        append(conn, &show, at, &ActionKind::End, None, now)?;
        if !show.is_sandbox() {
            diesel::update(shows::table.find(show.id))
                .set((
                    shows::status.eq(model::ENDED),
                    shows::ended_at.eq(Some(now)),
                    shows::end_reason.eq(Some("ended")),
                    shows::pinned_product_id.eq(None::<i64>),
                    shows::sim_ms.eq(at),
                    shows::done_ms.eq(at),
                    shows::clock_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_claims_are_found_as_words() {
        assert_eq!(overclaims_in("This cream cures acne"), vec!["cures"]);
        assert_eq!(
            overclaims_in("It is 100% GUARANTEED to work"),
            vec!["100% guaranteed"]
        );
        assert!(overclaims_in("Secure packaging, accurate sizes").is_empty());
        assert_eq!(overclaims_in("这款面霜能根治痘痘"), vec!["根治"]);
        assert!(overclaims_in("Ships in two days from Hangzhou").is_empty());
    }

    #[test]
    fn start_form_defaults_and_limits() {
        let r = parse_start(None, None, None).unwrap();
        assert_eq!((r.minutes, r.speed, r.mode), (30, 10, Mode::Sandbox));
        assert!(matches!(
            parse_start(Some("4"), None, None),
            Err(LiveError::Field("minutes", _))
        ));
        assert!(matches!(
            parse_start(None, Some("7"), None),
            Err(LiveError::Field("speed", _))
        ));
        assert!(matches!(
            parse_start(None, None, Some("party")),
            Err(LiveError::Field("mode", _))
        ));
    }

    #[test]
    fn deal_form_names_the_wrong_field() {
        let ok = parse_deal(Some("5"), Some("19.90"), Some("20"), Some("5"), Some("2")).unwrap();
        assert_eq!(ok.price_fen, 1990);
        let field = |r: Result<DealRequest, LiveError>| r.err().and_then(|e| e.field());
        assert_eq!(
            field(parse_deal(
                Some("x"),
                Some("1"),
                Some("1"),
                Some("1"),
                Some("1")
            )),
            Some("sku")
        );
        assert_eq!(
            field(parse_deal(
                Some("5"),
                Some("-3"),
                Some("1"),
                Some("1"),
                Some("1")
            )),
            Some("price")
        );
        assert_eq!(
            field(parse_deal(
                Some("5"),
                Some("3"),
                Some("0"),
                Some("1"),
                Some("1")
            )),
            Some("quantity")
        );
        assert_eq!(
            field(parse_deal(
                Some("5"),
                Some("3"),
                Some("1"),
                Some("61"),
                Some("1")
            )),
            Some("duration")
        );
        assert_eq!(
            field(parse_deal(
                Some("5"),
                Some("3"),
                Some("1"),
                Some("1"),
                Some("11")
            )),
            Some("per_buyer")
        );
    }
}
