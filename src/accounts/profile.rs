//! The profile page: everyone's display name and language, and for trainees the creator
//! profile that product matching and the audience simulation start from.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::domain::{DisplayName, Role, is_printable_text};
use super::users;
use crate::courses::model::SandboxStep;
use crate::db::schema::creator_profiles;
use crate::db::{DbConn, write_tx};
use crate::error::{AppError, AppResult};
use crate::i18n::Locale;
use crate::learning::steps::{self, StepAccess, Unlocker};
use crate::web::page::FormErrors;
use crate::web::session::flash_cookie;
use crate::web::{AppState, CsrfForm, CurrentUser, PageCtx, render_with_status, see_other};

/// Livestream niches a creator can pick: the catalog's top-level categories, in the
/// catalog's order (a test keeps the two lists the same).
pub const NICHES: &[&str] = &[
    "beauty",
    "personal-care",
    "apparel",
    "shoes",
    "bags",
    "jewelry",
    "food",
    "snacks",
    "tea",
    "home",
    "kitchen",
    "appliances",
    "phone-accessories",
    "digital",
    "baby",
    "toys",
    "health",
    "pets",
    "sports",
    "outdoor",
    "books",
    "automotive",
];
pub const MAX_NICHES: usize = 5;
pub const AGE_BANDS: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55+"];
pub const PLATFORMS: &[&str] = &[
    "douyin",
    "kuaishou",
    "taobao-live",
    "wechat-channels",
    "xiaohongshu",
    "tiktok",
    "other",
];
pub const MAX_REGIONS: usize = 5;
const MAX_REGION_CHARS: usize = 40;
/// 1,000,000 yuan in fen: no livestream item costs more.
const MAX_PRICE_FEN: i64 = 100_000_000;
const MAX_FOLLOWERS: i64 = 1_000_000_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = creator_profiles)]
pub struct CreatorProfile {
    pub niche_categories: String,
    pub audience_age_band: Option<String>,
    pub audience_female_percent: Option<i32>,
    pub top_regions: String,
    pub price_min_fen: Option<i64>,
    pub price_max_fen: Option<i64>,
    pub follower_count: Option<i64>,
    pub platform: Option<String>,
}

impl CreatorProfile {
    pub fn niches(&self) -> Vec<&str> {
        self.niche_categories
            .split(',')
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn has_niche(&self, niche: &str) -> bool {
        self.niches().contains(&niche)
    }
}

/// Parses a yuan amount such as `29`, `29.9` or `29.90` into fen.
pub fn parse_yuan(input: &str) -> Result<Option<i64>, &'static str> {
    let input = input.trim().trim_start_matches(['¥', '￥']).trim();
    if input.is_empty() {
        return Ok(None);
    }
    let (whole, frac) = input.split_once('.').unwrap_or((input, ""));
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("validation.price_invalid");
    }
    let whole: i64 = whole.parse().map_err(|_| "validation.price_invalid")?;
    let frac: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| "validation.price_invalid")?;
    let fen = whole * 100 + frac;
    if fen > MAX_PRICE_FEN {
        return Err("validation.price_invalid");
    }
    Ok(Some(fen))
}

pub fn format_yuan(fen: Option<i64>) -> String {
    match fen {
        Some(fen) if fen % 100 == 0 => format!("{}", fen / 100),
        Some(fen) => format!("{}.{:02}", fen / 100, fen % 100),
        None => String::new(),
    }
}

/// Reads the creator-profile fields from the submitted pairs (checkboxes repeat).
pub fn parse_creator_profile(
    pairs: &[(String, String)],
) -> (CreatorProfile, Vec<(&'static str, &'static str)>) {
    let mut errors = Vec::new();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let mut niches: Vec<&str> = Vec::new();
    for (_, value) in pairs.iter().filter(|(k, _)| k == "niche") {
        match NICHES.iter().find(|n| **n == value.as_str()) {
            Some(n) if !niches.contains(n) => niches.push(n),
            Some(_) => {}
            None => errors.push(("niche", "validation.choice_invalid")),
        }
    }
    if niches.len() > MAX_NICHES {
        errors.push(("niche", "validation.too_many_niches"));
    }
    let choice = |name: &'static str, allowed: &[&str], errors: &mut Vec<_>| {
        let value = field(name);
        if value.is_empty() {
            None
        } else if allowed.contains(&value) {
            Some(value.to_string())
        } else {
            errors.push((name, "validation.choice_invalid"));
            None
        }
    };
    let age = choice("age_band", AGE_BANDS, &mut errors);
    let platform = choice("platform", PLATFORMS, &mut errors);
    let female = match field("female_percent") {
        "" => None,
        v => match v.parse::<i32>() {
            Ok(p) if (0..=100).contains(&p) => Some(p),
            _ => {
                errors.push(("female_percent", "validation.percent_invalid"));
                None
            }
        },
    };
    let followers = match field("follower_count")
        .replace([',', '_', ' '], "")
        .as_str()
    {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(n) if (0..=MAX_FOLLOWERS).contains(&n) => Some(n),
            _ => {
                errors.push(("follower_count", "validation.count_invalid"));
                None
            }
        },
    };
    let mut regions: Vec<String> = Vec::new();
    for region in field("top_regions").split([',', '，', '、', '\n']) {
        let region = region.trim();
        if region.is_empty() {
            continue;
        }
        if region.chars().count() > MAX_REGION_CHARS || !is_printable_text(region) {
            errors.push(("top_regions", "validation.region_invalid"));
            break;
        }
        // Stored as the region's slug, so matching can measure shipping distance.
        match crate::catalog::regions::find(region) {
            Some(r) if !regions.iter().any(|x| x == r.slug) => regions.push(r.slug.to_string()),
            Some(_) => {}
            None => {
                errors.push(("top_regions", "validation.region_unknown"));
                break;
            }
        }
    }
    if regions.len() > MAX_REGIONS {
        errors.push(("top_regions", "validation.too_many_regions"));
    }
    let price_min = parse_yuan(field("price_min")).unwrap_or_else(|key| {
        errors.push(("price_min", key));
        None
    });
    let price_max = parse_yuan(field("price_max")).unwrap_or_else(|key| {
        errors.push(("price_max", key));
        None
    });
    if let (Some(min), Some(max)) = (price_min, price_max)
        && min > max
    {
        errors.push(("price_max", "validation.price_band_order"));
    }
    let profile = CreatorProfile {
        niche_categories: niches.join(","),
        audience_age_band: age,
        audience_female_percent: female,
        top_regions: regions.join(","),
        price_min_fen: price_min,
        price_max_fen: price_max,
        follower_count: followers,
        platform,
    };
    (profile, errors)
}

pub fn load(conn: &mut DbConn, user_id: i64) -> QueryResult<Option<CreatorProfile>> {
    creator_profiles::table
        .find(user_id)
        .select(CreatorProfile::as_select())
        .first(conn)
        .optional()
}

/// Insert or replace. Written as delete + insert inside the caller's transaction, which
/// both backends run the same way.
pub fn save(
    conn: &mut DbConn,
    user_id: i64,
    p: &CreatorProfile,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(creator_profiles::table.find(user_id)).execute(conn)?;
    diesel::insert_into(creator_profiles::table)
        .values((
            creator_profiles::user_id.eq(user_id),
            creator_profiles::niche_categories.eq(&p.niche_categories),
            creator_profiles::audience_age_band.eq(&p.audience_age_band),
            creator_profiles::audience_female_percent.eq(p.audience_female_percent),
            creator_profiles::top_regions.eq(&p.top_regions),
            creator_profiles::price_min_fen.eq(p.price_min_fen),
            creator_profiles::price_max_fen.eq(p.price_max_fen),
            creator_profiles::follower_count.eq(p.follower_count),
            creator_profiles::platform.eq(&p.platform),
            creator_profiles::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stored region slugs as names in the page's language, as a trainee would type them.
pub fn regions_text(stored: &str, locale: Locale) -> String {
    stored
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| crate::catalog::regions::name(s, locale))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Template)]
#[template(path = "accounts/profile.html")]
struct ProfilePage {
    ctx: PageCtx,
    display_name: String,
    locale: String,
    is_trainee: bool,
    /// The creator profile opens with the course module that unlocks it.
    creator_open: bool,
    unlockers: Vec<Unlocker>,
    profile: CreatorProfile,
    regions: String,
    price_min: String,
    price_max: String,
    followers: String,
    female: String,
    errors: FormErrors,
}

impl ProfilePage {
    fn niches(&self) -> &'static [&'static str] {
        NICHES
    }
    fn age_bands(&self) -> &'static [&'static str] {
        AGE_BANDS
    }
    fn platforms(&self) -> &'static [&'static str] {
        PLATFORMS
    }
    fn niche_label(&self, niche: &str) -> String {
        self.ctx.t(&format!("niches.{niche}"))
    }
    fn platform_label(&self, platform: &str) -> String {
        self.ctx.t(&format!("platforms.{platform}"))
    }
}

pub async fn profile_page(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let id = user.id;
    let is_trainee = user.role == Role::Trainee;
    let courses = state.courses.clone();
    let (account, profile, access) = state
        .db(move |conn| {
            let access = if is_trainee {
                steps::access(conn, &courses, id, SandboxStep::Profile)?
            } else {
                StepAccess::Open
            };
            Ok((users::find(conn, id)?, load(conn, id)?, access))
        })
        .await?;
    let account = account.ok_or(AppError::NotFound)?;
    let profile = profile.unwrap_or_default();
    let regions = regions_text(&profile.top_regions, ctx.locale);
    let (creator_open, unlockers) = match access {
        StepAccess::Open => (true, Vec::new()),
        StepAccess::Locked(u) => (false, u),
    };
    render_with_status(
        &ProfilePage {
            ctx,
            display_name: account.display_name,
            locale: account.locale.unwrap_or_default(),
            is_trainee,
            creator_open,
            unlockers,
            regions,
            price_min: format_yuan(profile.price_min_fen),
            price_max: format_yuan(profile.price_max_fen),
            followers: profile
                .follower_count
                .map(|n| n.to_string())
                .unwrap_or_default(),
            female: profile
                .audience_female_percent
                .map(|n| n.to_string())
                .unwrap_or_default(),
            profile,
            errors: FormErrors::default(),
        },
        StatusCode::OK,
    )
}

pub async fn save_profile(
    state: web::Data<AppState>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
    ctx: PageCtx,
) -> AppResult<HttpResponse> {
    let user = ctx.require_user()?;
    if pairs.len() > 64 {
        return Err(AppError::bad_request("errors.bad_form", "too many fields"));
    }
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let mut errors = FormErrors::default();
    let name = DisplayName::parse(field("display_name"))
        .map_err(|key| errors.add("display_name", ctx.t(key)))
        .ok();
    let locale = match field("locale") {
        "" => None,
        tag => match Locale::parse(tag) {
            Some(l) => Some(l.code()),
            None => {
                errors.add("locale", ctx.t("validation.choice_invalid"));
                None
            }
        },
    };
    let is_trainee = user.role == Role::Trainee;
    let access = if is_trainee {
        let (courses, id) = (state.courses.clone(), user.id);
        state
            .db(move |conn| Ok(steps::access(conn, &courses, id, SandboxStep::Profile)?))
            .await?
    } else {
        StepAccess::Open
    };
    let (creator_open, unlockers) = match access {
        StepAccess::Open => (true, Vec::new()),
        StepAccess::Locked(u) => (false, u),
    };
    // A locked creator profile is not shown, and fields sent for it are not saved.
    let profile = if is_trainee && creator_open {
        let (profile, problems) = parse_creator_profile(&pairs);
        for (field, key) in problems {
            if !errors.has(field) {
                errors.add(field, ctx.t(key));
            }
        }
        Some(profile)
    } else {
        None
    };
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        // Show what was typed, so nothing needs typing twice.
        let profile = profile.unwrap_or_default();
        return render_with_status(
            &ProfilePage {
                display_name: field("display_name").chars().take(200).collect(),
                locale: field("locale").chars().take(10).collect(),
                is_trainee,
                creator_open,
                unlockers,
                regions: field("top_regions").chars().take(300).collect(),
                price_min: field("price_min").chars().take(20).collect(),
                price_max: field("price_max").chars().take(20).collect(),
                followers: field("follower_count").chars().take(20).collect(),
                female: field("female_percent").chars().take(5).collect(),
                profile,
                ctx,
                errors,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let id = user.id;
    let now = state.now().naive_utc();
    state
        .db(move |conn| {
            write_tx(conn, |conn| {
                users::set_name_and_locale(conn, id, &name, locale, now)?;
                if let Some(profile) = &profile {
                    save(conn, id, profile, now)?;
                }
                Ok::<_, AppError>(())
            })
        })
        .await?;
    let mut response = see_other("/profile");
    response
        .add_cookie(&flash_cookie("flash.profile_saved", &state.settings))
        .ok();
    Ok(response)
}
