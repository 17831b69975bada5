//! The buyer's cart, kept in a signed cookie scoped to one shop: SKU, quantity and flash
//! deal per line, never a price (the server prices every line when it shows or places
//! the cart). A cookie that does not parse or whose signature does not match is an
//! empty cart, never an error.

use crate::orders::place::{MAX_LINES, MAX_QUANTITY, NewLine};
use crate::web::csrf::CsrfKey;

pub const COOKIE: &str = "kaibo_cart";
/// Longer than any honest cart (20 lines of three numbers and a signature).
const MAX_COOKIE_LEN: usize = 1200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartLine {
    pub sku_id: i64,
    pub quantity: i64,
    pub deal_id: Option<i64>,
}

impl CartLine {
    pub fn new_line(&self) -> NewLine {
        NewLine {
            sku_id: self.sku_id,
            quantity: self.quantity,
            deal_id: self.deal_id,
        }
    }

    fn same_item(&self, sku_id: i64, deal_id: Option<i64>) -> bool {
        self.sku_id == sku_id && self.deal_id == deal_id
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cart {
    pub lines: Vec<CartLine>,
}

/// Why a cart change was refused; the page shows it next to the quantity field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartError {
    /// The total for the line would leave 1..=MAX_QUANTITY.
    TooMany,
    /// The cart already has MAX_LINES lines.
    Full,
}

/// A quantity as typed: a whole number from 1 to `MAX_QUANTITY`, or `None`.
pub fn parse_quantity(raw: &str) -> Option<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
}

/// A positive row id from a form field.
pub fn parse_id(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|id| *id > 0)
}

fn binding(handle: &str, payload: &str) -> String {
    format!("shop-cart:{handle}:{payload}")
}

impl Cart {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Reads a cookie value; anything unexpected gives an empty cart.
    pub fn decode(raw: &str, key: &CsrfKey, handle: &str) -> Cart {
        Self::try_decode(raw, key, handle).unwrap_or_default()
    }

    fn try_decode(raw: &str, key: &CsrfKey, handle: &str) -> Option<Cart> {
        if raw.is_empty() || raw.len() > MAX_COOKIE_LEN {
            return None;
        }
        let (payload, signature) = raw.rsplit_once('~')?;
        if !key.verify(&binding(handle, payload), signature) {
            return None;
        }
        let mut cart = Cart::default();
        if payload.is_empty() {
            return Some(cart);
        }
        for item in payload.split('.') {
            let mut parts = item.split('-');
            let sku_id = parse_id(parts.next()?)?;
            let quantity = parse_quantity(parts.next()?)?;
            let deal_id = match parts.next()? {
                "0" => None,
                d => Some(parse_id(d)?),
            };
            if parts.next().is_some() || cart.lines.iter().any(|l| l.same_item(sku_id, deal_id)) {
                return None;
            }
            cart.lines.push(CartLine {
                sku_id,
                quantity,
                deal_id,
            });
        }
        (cart.lines.len() <= MAX_LINES).then_some(cart)
    }

    /// The cookie value: `sku-quantity-deal` items joined by dots, then `~` and an HMAC
    /// bound to the shop.
    pub fn encode(&self, key: &CsrfKey, handle: &str) -> String {
        let payload = self
            .lines
            .iter()
            .map(|l| format!("{}-{}-{}", l.sku_id, l.quantity, l.deal_id.unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(".");
        let signature = key.token(&binding(handle, &payload));
        format!("{payload}~{signature}")
    }

    /// Adds units of an item, merging with a line of the same SKU and deal.
    pub fn add(
        &mut self,
        sku_id: i64,
        deal_id: Option<i64>,
        quantity: i64,
    ) -> Result<(), CartError> {
        if let Some(line) = self.lines.iter_mut().find(|l| l.same_item(sku_id, deal_id)) {
            let total = line.quantity + quantity;
            if !(1..=MAX_QUANTITY).contains(&total) {
                return Err(CartError::TooMany);
            }
            line.quantity = total;
            return Ok(());
        }
        if self.lines.len() >= MAX_LINES {
            return Err(CartError::Full);
        }
        if !(1..=MAX_QUANTITY).contains(&quantity) {
            return Err(CartError::TooMany);
        }
        self.lines.push(CartLine {
            sku_id,
            quantity,
            deal_id,
        });
        Ok(())
    }

    /// Sets the quantity of a line; false when the cart has no such line.
    pub fn set(&mut self, sku_id: i64, deal_id: Option<i64>, quantity: i64) -> bool {
        match self.lines.iter_mut().find(|l| l.same_item(sku_id, deal_id)) {
            Some(line) => {
                line.quantity = quantity.clamp(1, MAX_QUANTITY);
                true
            }
            None => false,
        }
    }

    pub fn remove(&mut self, sku_id: i64, deal_id: Option<i64>) {
        self.lines.retain(|l| !l.same_item(sku_id, deal_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CsrfKey {
        CsrfKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn carts_round_trip_and_merge() {
        let mut cart = Cart::default();
        cart.add(7, None, 2).unwrap();
        cart.add(7, Some(3), 1).unwrap();
        cart.add(7, None, 3).unwrap();
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].quantity, 5);
        let raw = cart.encode(&key(), "lily-abcd");
        assert_eq!(Cart::decode(&raw, &key(), "lily-abcd"), cart);
        assert_eq!(cart.add(7, None, 95), Err(CartError::TooMany));
        cart.remove(7, None);
        assert_eq!(cart.lines.len(), 1);
    }

    #[test]
    fn tampered_or_foreign_cookies_are_empty_carts() {
        let mut cart = Cart::default();
        cart.add(7, None, 2).unwrap();
        let raw = cart.encode(&key(), "lily-abcd");
        // Another shop's cart, an edited quantity, junk: all empty.
        assert!(Cart::decode(&raw, &key(), "other-shop").is_empty());
        let edited = raw.replacen("7-2-0", "7-9-0", 1);
        assert!(Cart::decode(&edited, &key(), "lily-abcd").is_empty());
        for junk in ["", "~", "abc", "7-2-0", "7-2-0~", "-~-", &"x".repeat(5000)] {
            assert!(Cart::decode(junk, &key(), "lily-abcd").is_empty(), "{junk}");
        }
        // Even a correctly signed cart with a bad quantity is refused.
        let payload = "7-0-0";
        let signed = format!("{payload}~{}", key().token(&binding("lily-abcd", payload)));
        assert!(Cart::decode(&signed, &key(), "lily-abcd").is_empty());
    }

    #[test]
    fn quantities_are_whole_numbers_in_range() {
        assert_eq!(parse_quantity(" 3 "), Some(3));
        for bad in [
            "0",
            "-1",
            "100",
            "100000",
            "abc",
            "",
            "1.5",
            "99999999999999999999",
        ] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
    }
}
