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
    let [rating, handling, reliability, distance] = supplier_factors(supplier, profile);
    let (category, price) = category_and_price(index, profile, i);
    let margin = margin_rate(index, profile, i).clamp(0.0, 1.0);
    let stock = (index.ln_stock[i] / profile.ln_stock_full).min(1.0);
    let (conversion, returns) = history(index, profile, i);
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

/// The category and price factors of product `i`.
#[inline(always)]
fn category_and_price(index: &CatalogIndex, profile: &MatchProfile, i: usize) -> (f32, f32) {
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
    (category, price)
}

/// The conversion and returns factors: the audience's segments, weighted.
#[inline(always)]
fn history(index: &CatalogIndex, profile: &MatchProfile, i: usize) -> (f32, f32) {
    let (mut conversion, mut returns) = (0.0, 0.0);
    let lift = &index.conversion_lift[i];
    let low = &index.low_returns[i];
    for &(segment, weight) in &profile.segments {
        conversion += weight * lift[segment];
        returns += weight * low[segment];
    }
    (conversion, returns)
}

/// The supplier's factors: rating, handling, reliability and distance.
#[inline(always)]
fn supplier_factors(
    supplier: &crate::catalog::index::SupplierFacts,
    profile: &MatchProfile,
) -> [f32; 4] {
    [
        ((supplier.rating - 3.0) / 2.0).clamp(0.0, 1.0),
        ((96.0 - supplier.handling_hours as f32) / 72.0).clamp(0.0, 1.0),
        ((supplier.reliability - 0.8) / 0.2).clamp(0.0, 1.0),
        profile.region_fit[supplier.region],
    ]
}

/// The score of product `i`, as `score(&features(..))` but with the supplier's part
/// looked up from `supplier_part` (one sum per supplier, computed once per query), which
/// is what makes the scan fast. `scan_matches_explained_scores` keeps the two equal.
#[inline(always)]
fn fast_score(
    index: &CatalogIndex,
    profile: &MatchProfile,
    supplier_part: &[f32],
    i: usize,
) -> f32 {
    let (category, price) = category_and_price(index, profile, i);
    let margin = margin_rate(index, profile, i).clamp(0.0, 1.0);
    let stock = (index.ln_stock[i] / profile.ln_stock_full).min(1.0);
    let (conversion, returns) = history(index, profile, i);
    WEIGHTS[0] * category
        + WEIGHTS[1] * price
        + WEIGHTS[2] * margin
        + supplier_part[index.supplier[i] as usize]
        + WEIGHTS[7] * stock
        + WEIGHTS[8] * conversion
        + WEIGHTS[9] * returns
}

fn supplier_parts(index: &CatalogIndex, profile: &MatchProfile) -> Vec<f32> {
    index
        .suppliers
        .iter()
        .map(|s| {
            let [r, h, rel, d] = supplier_factors(s, profile);
            WEIGHTS[3] * r + WEIGHTS[4] * h + WEIGHTS[5] * rel + WEIGHTS[6] * d
        })
        .collect()
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
    let supplier_part = supplier_parts(index, profile);
    for i in 0..index.len() {
        if !unfiltered && !passes(index, profile, filters, i) {
            continue;
        }
        let s = fast_score(index, profile, &supplier_part, i);
        if best.len() == n && s <= best[n - 1].0 {
            continue;
        }
        let at = best.partition_point(|(b, _)| *b >= s);
        best.insert(at, (s, i));
        best.truncate(n);
    }
    best.into_iter()
        .map(|(_, i)| {
            let features = features(index, profile, i);
            Match {
                index: i,
                score: score(&features),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::profile::CreatorProfile;
    use crate::catalog::generate::in_memory_index;
    use crate::catalog::regions;
    use std::sync::OnceLock;

    fn index() -> &'static CatalogIndex {
        static INDEX: OnceLock<CatalogIndex> = OnceLock::new();
        INDEX.get_or_init(|| in_memory_index(42, 20_000))
    }

    fn profile(
        niches: &str,
        age: &str,
        female: i32,
        band: (i64, i64),
        regions: &str,
    ) -> MatchProfile {
        MatchProfile::from_profile(&CreatorProfile {
            niche_categories: niches.into(),
            audience_age_band: Some(age.into()),
            audience_female_percent: Some(female),
            top_regions: regions.into(),
            price_min_fen: Some(band.0),
            price_max_fen: Some(band.1),
            follower_count: Some(20_000),
            platform: Some("douyin".into()),
        })
    }

    fn share(matches: &[Match], f: impl Fn(usize) -> bool) -> f64 {
        matches.iter().filter(|m| f(m.index)).count() as f64 / matches.len() as f64
    }

    #[test]
    fn niches_decide_what_comes_first() {
        let idx = index();
        let beauty = top_matches(
            idx,
            &profile("beauty", "25-34", 85, (3_000, 15_000), ""),
            &Filters::default(),
            20,
        );
        let digital = top_matches(
            idx,
            &profile("digital", "18-24", 20, (10_000, 60_000), ""),
            &Filters::default(),
            20,
        );
        assert_eq!(beauty.len(), 20);
        let is = |slug: &'static str| move |i: usize| idx.category[i].top_slug() == slug;
        assert!(share(&beauty, is("beauty")) >= 0.9);
        assert!(share(&digital, is("digital")) >= 0.9);
        assert!(beauty.iter().all(|m| m.reasons.contains(&Factor::Category)));
        // Best first.
        assert!(beauty.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn the_price_band_moves_the_prices() {
        let idx = index();
        let mean = |band| {
            let m = top_matches(
                idx,
                &profile("food", "35-44", 60, band, ""),
                &Filters::default(),
                20,
            );
            m.iter().map(|m| idx.suggested[m.index] as f64).sum::<f64>() / m.len() as f64
        };
        let cheap = mean((1_000, 3_000));
        let dear = mean((15_000, 40_000));
        assert!(dear > cheap * 3.0, "cheap {cheap} vs dear {dear}");
    }

    #[test]
    fn the_audience_region_favours_nearby_suppliers() {
        let idx = index();
        // Mean distance from the top 50's suppliers to `to`, for an audience in `audience`.
        let distance = |audience: &str, to: &str| {
            let to = regions::index_of(to).unwrap();
            let p = profile("food,snacks,home", "25-34", 60, (1_000, 8_000), audience);
            let m = top_matches(idx, &p, &Filters::default(), 50);
            m.iter()
                .map(|m| regions::distance_km(idx.supplier_of(m.index).region, to))
                .sum::<f64>()
                / m.len() as f64
        };
        let south_for_south = distance("Guangdong", "guangdong");
        let south_for_north = distance("Heilongjiang", "guangdong");
        assert!(
            south_for_south < south_for_north,
            "{south_for_south} km vs {south_for_north} km"
        );
        let north_for_north = distance("Heilongjiang", "heilongjiang");
        let north_for_south = distance("Guangdong", "heilongjiang");
        assert!(
            north_for_north < north_for_south,
            "{north_for_north} vs {north_for_south}"
        );
    }

    #[test]
    fn the_audience_segment_weighs_its_own_history() {
        let idx = index();
        let women = profile("apparel", "25-34", 100, (5_000, 30_000), "");
        let men = profile("apparel", "25-34", 0, (5_000, 30_000), "");
        let (fi, mi) = (women.main_segment, men.main_segment);
        assert_ne!(fi, mi);
        let conv = |m: &[Match], seg: usize| {
            m.iter()
                .map(|m| idx.conversion[m.index][seg] as f64)
                .sum::<f64>()
                / m.len() as f64
        };
        let for_women = top_matches(idx, &women, &Filters::default(), 20);
        let for_men = top_matches(idx, &men, &Filters::default(), 20);
        assert!(
            conv(&for_women, fi) > conv(&for_men, fi),
            "women's list converts better with women"
        );
        assert!(
            conv(&for_men, mi) > conv(&for_women, mi),
            "men's list converts better with men"
        );
    }

    #[test]
    fn smoothing_keeps_new_products_in_the_running() {
        let idx = index();
        let p = profile("pets", "25-34", 70, (2_000, 20_000), "");
        // A product without history scores the category's average on conversion, not 0.
        let new = (0..idx.len())
            .find(|i| idx.counts[*i][crate::catalog::taxonomy::SEGMENT_ALL].views == 0)
            .expect("some products are new");
        let f = features(idx, &p, new);
        assert!((f[Factor::Conversion as usize] - 0.5).abs() < 0.01, "{f:?}");
        assert!((f[Factor::Returns as usize] - 0.5).abs() < 0.01, "{f:?}");
    }

    #[test]
    fn scan_matches_explained_scores() {
        let idx = index();
        for p in [
            profile(
                "beauty,food",
                "25-34",
                80,
                (3_000, 15_000),
                "Guangdong, 浙江",
            ),
            MatchProfile::from_profile(&CreatorProfile::default()),
        ] {
            let parts = supplier_parts(idx, &p);
            for i in 0..idx.len() {
                let explained = score(&features(idx, &p, i));
                let scanned = fast_score(idx, &p, &parts, i);
                assert!(
                    (explained - scanned).abs() < 1e-5,
                    "{i}: {explained} vs {scanned}"
                );
            }
        }
    }

    #[test]
    fn filters_are_applied() {
        let idx = index();
        let p = profile("beauty", "25-34", 85, (3_000, 15_000), "");
        let filters = Filters {
            category: crate::catalog::taxonomy::CategoryPath::parse("pets/pet-food"),
            price_max_fen: Some(5_000),
            min_margin_bp: Some(3_000),
            ..Default::default()
        };
        let m = top_matches(idx, &p, &filters, 20);
        assert!(!m.is_empty());
        for m in &m {
            assert_eq!(idx.category[m.index].as_string(), "pets/pet-food");
            assert!(idx.suggested[m.index] <= 5_000);
            assert!(margin_rate(idx, &p, m.index) >= 0.3);
        }
        assert!(top_matches(idx, &p, &Filters::default(), 0).is_empty());
    }
}
