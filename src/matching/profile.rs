//! A creator profile turned into what the scoring loop needs: a niche bit mask, the
//! price band in ln(yuan), the audience's statistics segments, a precomputed distance fit
//! per ship-from region, the platform's fee and the stock a show needs.

use crate::accounts::profile::CreatorProfile;
use crate::catalog::regions::{self, REGIONS};
use crate::catalog::taxonomy::{AGE_BANDS, SEGMENT_ALL, category_index};

use super::weights::{BUYERS_PER_FOLLOWER, HALF_DISTANCE_KM, MIN_UNITS_PER_SHOW, platform_fee_bp};

#[derive(Debug, Clone)]
pub struct MatchProfile {
    /// Bit `i` set when top category `i` is a niche; 0 when no niche is set.
    pub niches: u64,
    pub price_band: Option<(f32, f32)>,
    pub price_band_fen: Option<(i64, i64)>,
    /// Statistics segments and their weights (adding to 1).
    pub segments: Vec<(usize, f32)>,
    /// The segment that weighs most, to name in reasons.
    pub main_segment: usize,
    pub regions: Vec<usize>,
    pub region_fit: Vec<f32>,
    /// Nearest audience region for each ship-from region.
    pub nearest_region: Vec<usize>,
    pub fee: f32,
    pub fee_bp: u32,
    /// ln(1 + ten times the units a show sells), the stock that scores 1.
    pub ln_stock_full: f32,
}

impl MatchProfile {
    pub fn from_profile(p: &CreatorProfile) -> Self {
        let niches = p
            .niches()
            .iter()
            .filter_map(|n| category_index(n))
            .fold(0u64, |m, i| m | (1 << i));
        let price_band_fen = match (p.price_min_fen, p.price_max_fen) {
            (None, None) => None,
            (min, max) => Some((min.unwrap_or(0), max.unwrap_or(i64::MAX / 4))),
        };
        let price_band = price_band_fen.map(|(lo, hi)| {
            let ln = |fen: i64| ((fen.max(1) as f64) / 100.0).ln() as f32;
            (ln(lo), ln(hi))
        });
        let band = p
            .audience_age_band
            .as_deref()
            .and_then(|b| AGE_BANDS.iter().position(|x| *x == b));
        let segments = match band {
            Some(b) => {
                let female = p.audience_female_percent.unwrap_or(50).clamp(0, 100) as f32 / 100.0;
                vec![(b, female), (b + 5, 1.0 - female)]
            }
            None => vec![(SEGMENT_ALL, 1.0)],
        };
        let main_segment = segments
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|s| s.0)
            .unwrap_or(SEGMENT_ALL);
        let audience = audience_regions(&p.top_regions);
        let mut region_fit = vec![0.5; REGIONS.len()];
        let mut nearest_region = vec![0; REGIONS.len()];
        if !audience.is_empty() {
            for (from, fit) in region_fit.iter_mut().enumerate() {
                let (near, d) = audience
                    .iter()
                    .map(|to| (*to, regions::distance_km(from, *to)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .unwrap_or((from, 0.0));
                nearest_region[from] = near;
                *fit = (1.0 / (1.0 + (d / HALF_DISTANCE_KM).powi(2))) as f32;
            }
        }
        let fee_bp = platform_fee_bp(p.platform.as_deref());
        let units = (p.follower_count.unwrap_or(1_000) as f32 * BUYERS_PER_FOLLOWER)
            .max(MIN_UNITS_PER_SHOW);
        Self {
            niches,
            price_band,
            price_band_fen,
            segments,
            main_segment,
            regions: audience,
            region_fit,
            nearest_region,
            fee: fee_bp as f32 / 10_000.0,
            fee_bp,
            ln_stock_full: (1.0 + 10.0 * units).ln(),
        }
    }
}

/// The audience's regions from the profile: stored as slugs, but older profiles may hold
/// names, which are looked up too; unknown names are ignored.
pub fn audience_regions(stored: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for name in stored.split([',', '，']) {
        if let Some(r) = regions::find(name)
            && let Some(i) = regions::index_of(r.slug)
            && !out.contains(&i)
        {
            out.push(i);
        }
    }
    out
}
