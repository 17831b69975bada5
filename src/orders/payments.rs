//! Payments behind one trait. The sandbox gateway answers by test card number, like a
//! payment provider's test mode; cash on delivery serves live shops; a real provider
//! plugs in behind the same trait.
//!
//! Sandbox test cards (spaces optional, any future expiry, any CVC):
//!
//! | card number           | what happens                                           |
//! |-----------------------|--------------------------------------------------------|
//! | `4242 4242 4242 4242` | authorised and captured                                |
//! | `4000 0000 0000 0002` | declined (`card_declined`)                             |
//! | `4000 0000 0000 9995` | declined (`insufficient_funds`)                        |
//! | `4000 0000 0000 0341` | authorised, then the capture fails (`capture_failed`)  |
//! | `4000 0000 0000 0119` | `processing_error` on every try: the service retries,  |
//! |                       | then fails the payment and the buyer may try again     |
//!
//! Any other number is refused as "not a sandbox test card" before an order is made.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A card, in the sandbox: one of the test numbers.
    Card,
    /// Cash paid to the courier; the amount is settled when it is delivered.
    CashOnDelivery,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Card => "card",
            Method::CashOnDelivery => "cod",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "card" => Some(Method::Card),
            "cod" => Some(Method::CashOnDelivery),
            _ => None,
        }
    }
}

/// Why a gateway said no. `retryable` errors may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayError {
    Declined,
    InsufficientFunds,
    CaptureFailed,
    ProcessingError,
}

impl PayError {
    pub fn from_code(code: &str) -> Option<PayError> {
        [
            PayError::Declined,
            PayError::InsufficientFunds,
            PayError::CaptureFailed,
            PayError::ProcessingError,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            PayError::Declined => "card_declined",
            PayError::InsufficientFunds => "insufficient_funds",
            PayError::CaptureFailed => "capture_failed",
            PayError::ProcessingError => "processing_error",
        }
    }

    pub fn retryable(self) -> bool {
        matches!(self, PayError::ProcessingError)
    }
}

/// The test card numbers, as `(digits, outcome)`; `None` is success.
pub const TEST_CARDS: &[(&str, Option<PayError>)] = &[
    ("4242424242424242", None),
    ("4000000000000002", Some(PayError::Declined)),
    ("4000000000009995", Some(PayError::InsufficientFunds)),
    ("4000000000000341", Some(PayError::CaptureFailed)),
    ("4000000000000119", Some(PayError::ProcessingError)),
];

/// A card number as the gateway receives it: digits only, known to the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    /// Accepts spaces and dashes; refuses anything that is not a sandbox test card with
    /// a translation key the checkout shows next to the field.
    pub fn parse(input: &str) -> Result<CardNumber, &'static str> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.is_empty() {
            return Err("checkout.card_missing");
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) || !(12..=19).contains(&digits.len()) {
            return Err("checkout.card_invalid");
        }
        if !TEST_CARDS.iter().any(|(n, _)| *n == digits) {
            return Err("checkout.card_not_test");
        }
        Ok(CardNumber(digits))
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    fn outcome(&self) -> Option<PayError> {
        TEST_CARDS
            .iter()
            .find(|(n, _)| *n == self.0)
            .and_then(|(_, outcome)| *outcome)
    }
}

/// What the gateway is asked to do. `reference` is the order's reference, which makes
/// a repeated call for the same order recognisable to a real provider.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    pub reference: &'a str,
    pub amount_fen: i64,
    pub card: Option<&'a CardNumber>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub reference: String,
}

pub trait PaymentGateway: Send + Sync {
    /// The name stored with each payment record.
    fn name(&self) -> &'static str;
    fn authorize(&self, charge: &Charge<'_>) -> Result<Receipt, PayError>;
    fn capture(&self, charge: &Charge<'_>, auth: &Receipt) -> Result<Receipt, PayError>;
    /// Gives an authorisation back without taking money.
    fn void(&self, charge: &Charge<'_>, auth: &Receipt) -> Result<Receipt, PayError>;
    fn refund(&self, reference: &str, amount_fen: i64, seq: u32) -> Result<Receipt, PayError>;
    /// Answers without a network call. Placement then pays inside its one transaction;
    /// a remote gateway is called between two transactions instead, never inside one.
    fn in_process(&self) -> bool {
        false
    }
}

fn receipt(kind: &str, reference: &str, extra: &str) -> Receipt {
    let digest = Sha256::digest(format!("{kind}:{reference}:{extra}").as_bytes());
    Receipt {
        reference: format!("{kind}_{}", &hex::encode(digest)[..16]),
    }
}

/// The sandbox's card gateway: deterministic answers by test card number.
#[derive(Debug, Default)]
pub struct SandboxGateway;

impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn in_process(&self) -> bool {
        true
    }

    fn authorize(&self, charge: &Charge<'_>) -> Result<Receipt, PayError> {
        let Some(card) = charge.card else {
            return Err(PayError::Declined);
        };
        match card.outcome() {
            None | Some(PayError::CaptureFailed) => Ok(receipt(
                "auth",
                charge.reference,
                &charge.amount_fen.to_string(),
            )),
            Some(err) => Err(err),
        }
    }

    fn capture(&self, charge: &Charge<'_>, auth: &Receipt) -> Result<Receipt, PayError> {
        match charge.card.and_then(CardNumber::outcome) {
            Some(PayError::CaptureFailed) => Err(PayError::CaptureFailed),
            _ => Ok(receipt("cap", &auth.reference, "")),
        }
    }

    fn void(&self, _charge: &Charge<'_>, auth: &Receipt) -> Result<Receipt, PayError> {
        Ok(receipt("void", &auth.reference, ""))
    }

    fn refund(&self, reference: &str, amount_fen: i64, seq: u32) -> Result<Receipt, PayError> {
        Ok(receipt("ref", reference, &format!("{amount_fen}:{seq}")))
    }
}

/// Cash on delivery: nothing to authorise; the courier collects the amount. A refund is
/// paid back to the buyer by the platform and recorded the same way.
#[derive(Debug, Default)]
pub struct CashOnDelivery;

impl PaymentGateway for CashOnDelivery {
    fn name(&self) -> &'static str {
        "cod"
    }

    fn in_process(&self) -> bool {
        true
    }

    fn authorize(&self, charge: &Charge<'_>) -> Result<Receipt, PayError> {
        Ok(receipt(
            "cod",
            charge.reference,
            &charge.amount_fen.to_string(),
        ))
    }

    fn capture(&self, _charge: &Charge<'_>, auth: &Receipt) -> Result<Receipt, PayError> {
        Ok(receipt("codcap", &auth.reference, ""))
    }

    fn void(&self, _charge: &Charge<'_>, auth: &Receipt) -> Result<Receipt, PayError> {
        Ok(receipt("codvoid", &auth.reference, ""))
    }

    fn refund(&self, reference: &str, amount_fen: i64, seq: u32) -> Result<Receipt, PayError> {
        Ok(receipt("codref", reference, &format!("{amount_fen}:{seq}")))
    }
}

/// The gateway that serves a payment method.
pub fn gateway_for(method: Method) -> &'static dyn PaymentGateway {
    static SANDBOX: SandboxGateway = SandboxGateway;
    static COD: CashOnDelivery = CashOnDelivery;
    match method {
        Method::Card => &SANDBOX,
        Method::CashOnDelivery => &COD,
    }
}

/// The gateway a stored payment record names, for refunds.
pub fn gateway_named(name: &str) -> Option<&'static dyn PaymentGateway> {
    match name {
        "sandbox" => Some(gateway_for(Method::Card)),
        "cod" => Some(gateway_for(Method::CashOnDelivery)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(card: &CardNumber) -> Charge<'_> {
        Charge {
            reference: "K-TEST",
            amount_fen: 1_000,
            card: Some(card),
        }
    }

    #[test]
    fn test_cards_behave_as_documented() {
        let g = SandboxGateway;
        let ok = CardNumber::parse("4242 4242 4242 4242").unwrap();
        let auth = g.authorize(&charge(&ok)).unwrap();
        assert!(g.capture(&charge(&ok), &auth).is_ok());
        assert_eq!(ok.last4(), "4242");

        let declined = CardNumber::parse("4000-0000-0000-0002").unwrap();
        assert_eq!(g.authorize(&charge(&declined)), Err(PayError::Declined));
        let funds = CardNumber::parse("4000000000009995").unwrap();
        assert_eq!(
            g.authorize(&charge(&funds)),
            Err(PayError::InsufficientFunds)
        );
        let capture = CardNumber::parse("4000000000000341").unwrap();
        let auth = g.authorize(&charge(&capture)).unwrap();
        assert_eq!(
            g.capture(&charge(&capture), &auth),
            Err(PayError::CaptureFailed)
        );
        let flaky = CardNumber::parse("4000000000000119").unwrap();
        assert_eq!(g.authorize(&charge(&flaky)), Err(PayError::ProcessingError));
        assert!(PayError::ProcessingError.retryable());
        assert!(!PayError::Declined.retryable());
    }

    #[test]
    fn other_numbers_are_named() {
        assert_eq!(CardNumber::parse(""), Err("checkout.card_missing"));
        assert_eq!(CardNumber::parse("4242 abcd"), Err("checkout.card_invalid"));
        assert_eq!(
            CardNumber::parse("5555555555554444"),
            Err("checkout.card_not_test")
        );
    }

    #[test]
    fn receipts_are_stable_per_call() {
        let g = SandboxGateway;
        assert_eq!(g.refund("K-1", 500, 1), g.refund("K-1", 500, 1));
        assert_ne!(g.refund("K-1", 500, 1), g.refund("K-1", 500, 2));
    }
}
