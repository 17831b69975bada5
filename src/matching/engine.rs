//! The scoring loop. Every product is scored with the same `features` function that
//! later explains the winners, so a reason always matches the score it explains.

use crate::catalog::index::CatalogIndex;
use crate::catalog::search;
use crate::catalog::taxonomy::CategoryPath;

use super::profile::MatchProfile;
use super::weights::{BASELINES, FACTORS, Factor, MIN_REASON, PRICE_FALLOFF, WEIGHTS};

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub category: Option<CategoryPath>,
    pub price_min_fen: Option<i64>,
    pub price_max_fen: Option<i64>,
    /// Minimum creator margin at the suggested price, in basis points of the price.
    pub min_margin_bp: Option<i64>,
    /// Products matching the text search, as a bit set (see `search`).
    pub text: Option<Vec<u64>>,
}

#[derive(Debug, Clone)]
pub struct Match {
    pub index: usize,
    pub score: f32,
    pub features: [f32; FACTORS],
    /// The factors that raised the score most, strongest first (two or three).
    pub reasons: Vec<Factor>,
}

#[inline(always)]
fn falloff(distance: f32, scale: f32) -> f32 {
    let x = distance / scale;
    1.0 / (1.0 + x * x)
}

/// The creator's margin rate at the suggested price, after the platform's fee.
#[inline(always)]
pub fn margin_rate(index: &CatalogIndex, profile: &MatchProfile, i: usize) -> f32 {
    index.margin_base[i] - profile.fee
}

/// Each factor of product `i` for the profile, in 0..1 (see `weights.rs`).
#[inline(always)]
pub fn features(index: &CatalogIndex, profile: &MatchProfile, i: usize) -> [f32; FACTORS] {
    let supplier = &index.suppliers[index.supplier[i] as usize];
    let category = if profile.niches == 0 {
        0.5
    } else if profile.niches & (1 << index.category[i].top) != 0 {
        1.0
    } else {
        0.0
    };
    let price = match profile.price_band {
        None => 0.5,
        Some((lo, hi)) => {
            let p = index.ln_price[i];
            if p < lo {
                falloff(lo - p, PRICE_FALLOFF)
            } else if p > hi {
                falloff(p - hi, PRICE_FALLOFF)
            } else {
                1.0
            }
        }
    };
    let margin = margin_rate(index, profile, i).clamp(0.0, 1.0);
    let rating = ((supplier.rating - 3.0) / 2.0).clamp(0.0, 1.0);
    let handling = ((96.0 - supplier.handling_hours as f32) / 72.0).clamp(0.0, 1.0);
    let reliability = ((supplier.reliability - 0.8) / 0.2).clamp(0.0, 1.0);
    let distance = profile.region_fit[supplier.region];
    let stock = ((index.stock[i] as f32).ln_1p() / profile.ln_stock_full).min(1.0);
    let (mut conversion, mut returns) = (0.0, 0.0);
    let lift = &index.conversion_lift[i];
    let low = &index.low_returns[i];
    for &(segment, weight) in &profile.segments {
        conversion += weight * lift[segment];
        returns += weight * low[segment];
    }
    [
        category,
        price,
        margin,
        rating,
        handling,
        reliability,
        distance,
        stock,
        conversion,
        returns,
    ]
}

#[inline(always)]
fn score(features: &[f32; FACTORS]) -> f32 {
    let mut total = 0.0;
    for k in 0..FACTORS {
        total += WEIGHTS[k] * features[k];
    }
    total
}

fn passes(index: &CatalogIndex, profile: &MatchProfile, filters: &Filters, i: usize) -> bool {
    if let Some(cat) = filters.category
        && (index.category[i].top != cat.top || (cat.sub.is_some() && index.category[i] != cat))
    {
        return false;
    }
    let price = index.suggested[i];
    if filters.price_min_fen.is_some_and(|min| price < min)
        || filters.price_max_fen.is_some_and(|max| price > max)
    {
        return false;
    }
    if let Some(min) = filters.min_margin_bp
        && ((margin_rate(index, profile, i) * 10_000.0) as i64) < min
    {
        return false;
    }
    if let Some(bits) = &filters.text
        && !search::contains(bits, i)
    {
        return false;
    }
    true
}

/// The factors that raised the score most: up to three, strongest first.
pub fn reasons(features: &[f32; FACTORS]) -> Vec<Factor> {
    let mut raised: Vec<(Factor, f32)> = Factor::ALL
        .iter()
        .map(|f| {
            (
                *f,
                WEIGHTS[*f as usize] * (features[*f as usize] - BASELINES[*f as usize]),
            )
        })
        .filter(|(_, c)| *c >= MIN_REASON)
        .collect();
    raised.sort_by(|a, b| b.1.total_cmp(&a.1));
    raised.truncate(3);
    raised.into_iter().map(|(f, _)| f).collect()
}

/// The `n` best products for the profile among those passing the filters, best first.
/// Ties go to the lower index (the older product), so the order is stable.
pub fn top_matches(
    index: &CatalogIndex,
    profile: &MatchProfile,
    filters: &Filters,
    n: usize,
) -> Vec<Match> {
    if n == 0 {
        return Vec::new();
    }
    let unfiltered = filters.category.is_none()
        && filters.price_min_fen.is_none()
        && filters.price_max_fen.is_none()
        && filters.min_margin_bp.is_none()
        && filters.text.is_none();
    // The best n so far, kept sorted best first; the last is the one to beat.
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(n + 1);
    for i in 0..index.len() {
        if !unfiltered && !passes(index, profile, filters, i) {
            continue;
        }
        let s = score(&features(index, profile, i));
        if best.len() == n && s <= best[n - 1].0 {
            continue;
        }
        let at = best.partition_point(|(b, _)| *b >= s);
        best.insert(at, (s, i));
        best.truncate(n);
    }
    best.into_iter()
        .map(|(score, i)| {
            let features = features(index, profile, i);
            Match {
                index: i,
                score,
                reasons: reasons(&features),
                features,
            }
        })
        .collect()
}

/// One product scored for the profile, for its detail page.
pub fn explain(index: &CatalogIndex, profile: &MatchProfile, i: usize) -> Match {
    let features = features(index, profile, i);
    Match {
        index: i,
        score: score(&features),
        reasons: reasons(&features),
        features,
    }
}
