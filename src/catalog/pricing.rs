//! What a creator earns on one sale, in fen: retail − supplier cost − platform fee +
//! the supplier's commission (both a share of the selling price).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Margin {
    pub price_fen: i64,
    pub cost_fen: i64,
    pub fee_fen: i64,
    pub fee_bp: u32,
    pub commission_fen: i64,
    pub commission_bp: u32,
    pub margin_fen: i64,
    /// Margin as a share of the price, in basis points (may be negative).
    pub rate_bp: i64,
}

/// `value × bp ÷ 10,000`, rounded half away from zero, in integers only.
fn share(value: i64, bp: u32) -> i64 {
    let product = value as i128 * bp as i128;
    ((product + product.signum() * 5_000) / 10_000) as i64
}

pub fn creator_margin(price_fen: i64, cost_fen: i64, commission_bp: u32, fee_bp: u32) -> Margin {
    let fee_fen = share(price_fen, fee_bp);
    let commission_fen = share(price_fen, commission_bp);
    let margin_fen = price_fen - cost_fen - fee_fen + commission_fen;
    let rate_bp = if price_fen > 0 {
        (margin_fen as i128 * 10_000 / price_fen as i128) as i64
    } else {
        0
    };
    Margin {
        price_fen,
        cost_fen,
        fee_fen,
        fee_bp,
        commission_fen,
        commission_bp,
        margin_fen,
        rate_bp,
    }
}

/// `12.5%` from basis points, one decimal only when needed.
pub fn percent_text(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{}%", bp / 100)
    } else {
        format!("{:.1}%", bp as f64 / 100.0)
    }
}

/// `¥89.90` from fen; negative amounts keep their sign.
pub fn yuan_text(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", fen / 100, fen % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_adds_commission_and_takes_the_fee() {
        // ¥100 price, ¥55 cost, 5 % fee, 20 % commission: 100 − 55 − 5 + 20 = 60.
        let m = creator_margin(10_000, 5_500, 2_000, 500);
        assert_eq!(m.fee_fen, 500);
        assert_eq!(m.commission_fen, 2_000);
        assert_eq!(m.margin_fen, 6_000);
        assert_eq!(m.rate_bp, 6_000);
        // Rounds half away from zero: 5 % of ¥0.99 is 4.95 fen -> 5 fen.
        assert_eq!(creator_margin(99, 0, 0, 500).fee_fen, 5);
        // A price below cost is a loss, not an overflow.
        assert_eq!(creator_margin(1_000, 2_000, 0, 0).margin_fen, -1_000);
    }

    #[test]
    fn money_and_rates_read_well() {
        assert_eq!(yuan_text(8_990), "¥89.90");
        assert_eq!(yuan_text(-150), "-¥1.50");
        assert_eq!(percent_text(2_000), "20%");
        assert_eq!(percent_text(1_250), "12.5%");
    }
}
