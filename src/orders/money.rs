//! The creator's side of an order's money: commission and earnings on the units kept
//! (not refunded), recomputed whenever a refund changes what is kept.

use super::model::Line;
use crate::catalog::pricing::{creator_margin, yuan_text};

/// `(commission, earnings)` in fen over the units not refunded.
pub fn kept_earnings(lines: &[Line], fee_bp: i32) -> (i64, i64) {
    let mut commission = 0;
    let mut earnings = 0;
    for line in lines {
        let kept = (line.quantity - line.returned_quantity).max(0) as i64;
        let m = creator_margin(
            line.unit_price_fen,
            line.unit_cost_fen,
            line.commission_bp.max(0) as u32,
            fee_bp.max(0) as u32,
        );
        commission += m.commission_fen * kept;
        earnings += m.margin_fen * kept;
    }
    (commission, earnings)
}

pub fn fen(amount: i64) -> String {
    yuan_text(amount)
}
