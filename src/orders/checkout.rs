//! The buyer's details as a checkout form or the JSON API sends them, checked once for
//! both. Each problem names its field and a translation key.

use super::payments::{CardNumber, Method};
use super::place::Buyer;
use crate::accounts::domain::is_printable_text;
use crate::catalog::taxonomy::segment_index;

pub type FieldProblems = Vec<(&'static str, &'static str)>;

fn text(raw: &str, min: usize, max: usize) -> Option<String> {
    let t = raw.trim();
    let n = t.chars().count();
    (n >= min && n <= max && is_printable_text(t)).then(|| t.to_string())
}

/// Name, phone and address, with an optional audience segment (simulated buyers).
pub fn parse_buyer(
    name: &str,
    phone: &str,
    address: &str,
    segment: Option<&str>,
) -> Result<Buyer, FieldProblems> {
    let mut problems = Vec::new();
    let name = text(name, 1, 60);
    if name.is_none() {
        problems.push(("name", "checkout.name_invalid"));
    }
    let phone_text = phone.trim();
    let digits: String = phone_text.chars().filter(char::is_ascii_digit).collect();
    let phone_ok = phone_text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
        && (6..=15).contains(&digits.len());
    if !phone_ok {
        problems.push(("phone", "checkout.phone_invalid"));
    }
    let address = text(address, 5, 300);
    if address.is_none() {
        problems.push(("address", "checkout.address_invalid"));
    }
    let segment = match segment.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) if segment_index(s).is_some() => Some(s.to_string()),
        Some(_) => {
            problems.push(("segment", "checkout.segment_invalid"));
            None
        }
    };
    match (name, address) {
        (Some(name), Some(address)) if problems.is_empty() => Ok(Buyer {
            name,
            phone: phone_text.to_string(),
            address,
            key: digits,
            segment,
        }),
        _ => Err(problems),
    }
}

/// The payment choice: a live shop takes cash on delivery; a sandbox shop takes test
/// cards (and cash on delivery, to rehearse it).
pub fn parse_payment(
    method: &str,
    card: Option<&str>,
    live: bool,
) -> Result<(Method, Option<CardNumber>), FieldProblems> {
    match Method::parse(method.trim()) {
        Some(Method::CashOnDelivery) => Ok((Method::CashOnDelivery, None)),
        Some(Method::Card) if live => Err(vec![("payment_method", "checkout.card_live")]),
        Some(Method::Card) => CardNumber::parse(card.unwrap_or(""))
            .map(|c| (Method::Card, Some(c)))
            .map_err(|key| vec![("card_number", key)]),
        None => Err(vec![("payment_method", "checkout.method_invalid")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyers_are_checked_field_by_field() {
        let b = parse_buyer(
            " Li Na ",
            "+86 138-0013-8000",
            "1 Nanjing Road, Shanghai",
            None,
        )
        .unwrap();
        assert_eq!(b.name, "Li Na");
        assert_eq!(b.key, "8613800138000");
        let err = parse_buyer("", "abc", "x", Some("z99")).unwrap_err();
        let fields: Vec<_> = err.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "phone", "address", "segment"]);
    }

    #[test]
    fn live_shops_take_cash_on_delivery() {
        assert!(parse_payment("cod", None, true).is_ok());
        assert_eq!(
            parse_payment("card", Some("4242424242424242"), true).unwrap_err(),
            vec![("payment_method", "checkout.card_live")]
        );
        assert!(parse_payment("card", Some("4242424242424242"), false).is_ok());
        assert_eq!(
            parse_payment("bitcoin", None, false).unwrap_err(),
            vec![("payment_method", "checkout.method_invalid")]
        );
    }
}
