//! THE place where matching is tuned. Every factor is scored in 0..1; a product's score
//! is the weighted sum. The baseline is what a typical product scores on that factor:
//! a factor "raised" a product's score by `weight × (value − baseline)`, and the two or
//! three factors that raised it most are shown as its reasons.
//!
//! | factor | 1.0 means | 0 means |
//! |---|---|---|
//! | category | the product's top category is one of the creator's niches (0.5 for everyone when no niche is set) | not a niche |
//! | price | the suggested price lies in the creator's price band; falls off smoothly outside it (0.5 without a band) | far outside |
//! | margin | (retail − cost − platform fee + commission) ÷ retail at the suggested price, capped at 1 | no margin |
//! | rating | supplier rating 5.0 (3.0 or below is 0) | |
//! | handling | ships within 24 h (96 h or more is 0) | |
//! | reliability | ships 100 % of orders on time (80 % or less is 0) | |
//! | distance | ships from one of the audience's top regions; half at 800 km (0.5 without regions) | far away |
//! | stock | stock covers ten times what a show of this size sells | no stock |
//! | conversion | converts twice the category's average in the audience's segment (smoothed) | never sells |
//! | returns | no returns in the audience's segment (smoothed; 0.5 = category average) | twice the average or worse |

pub const FACTORS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Category = 0,
    Price = 1,
    Margin = 2,
    Rating = 3,
    Handling = 4,
    Reliability = 5,
    Distance = 6,
    Stock = 7,
    Conversion = 8,
    Returns = 9,
}

impl Factor {
    pub const ALL: [Factor; FACTORS] = [
        Factor::Category,
        Factor::Price,
        Factor::Margin,
        Factor::Rating,
        Factor::Handling,
        Factor::Reliability,
        Factor::Distance,
        Factor::Stock,
        Factor::Conversion,
        Factor::Returns,
    ];
}

/// Weights, in factor order; they add up to 1.
pub const WEIGHTS: [f32; FACTORS] = [
    0.25, // category
    0.12, // price
    0.14, // margin
    0.07, // rating
    0.04, // handling
    0.05, // reliability
    0.06, // distance
    0.05, // stock
    0.16, // conversion
    0.06, // returns
];

/// What a typical product scores on each factor.
pub const BASELINES: [f32; FACTORS] = [
    0.0,  // category: only a niche product is raised by it
    0.5,  // price
    0.45, // margin
    0.6,  // rating (4.2)
    0.5,  // handling (60 h)
    0.6,  // reliability (92 %)
    0.5,  // distance
    0.7,  // stock
    0.5,  // conversion (the category's average)
    0.5,  // returns (the category's average)
];

/// Price fit halves this far outside the band, in ln(price) (0.35 ≈ 42 % above or 30 %
/// below).
pub const PRICE_FALLOFF: f32 = 0.35;
/// Shipping distance at which the distance factor is one half.
pub const HALF_DISTANCE_KM: f64 = 800.0;
/// The share of followers who buy in one show, to size the stock a creator needs.
pub const BUYERS_PER_FOLLOWER: f32 = 0.002;
pub const MIN_UNITS_PER_SHOW: f32 = 20.0;

/// The platform's fee on each sale, in basis points, by streaming platform.
pub fn platform_fee_bp(platform: Option<&str>) -> u32 {
    match platform {
        Some("douyin") => 500,
        Some("kuaishou") => 500,
        Some("taobao-live") => 400,
        Some("wechat-channels") => 300,
        Some("xiaohongshu") => 500,
        Some("tiktok") => 800,
        _ => 500,
    }
}

/// A factor counts as a reason when it raised the score at least this much.
pub const MIN_REASON: f32 = 0.004;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_add_up_to_one() {
        let total: f32 = WEIGHTS.iter().sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
    }
}
