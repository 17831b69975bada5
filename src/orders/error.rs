//! Everything the order flow can refuse, each with a translation key and the HTTP
//! status a page or the JSON API answers with. `line` counts from 1, as people do.

use actix_web::http::StatusCode;

use super::state::IllegalTransition;
use crate::i18n::Locale;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("the cart is empty")]
    EmptyCart,
    #[error("at most {max} lines per order")]
    TooManyLines { max: usize },
    #[error("line {line}: the quantity must be a whole number from 1 to {max}")]
    Quantity { line: usize, max: i64 },
    #[error("line {line}: there is no such product variant")]
    UnknownSku { line: usize },
    #[error("line {line}: this shop does not sell that product")]
    NotInShop { line: usize },
    #[error("line {line}: sold out ({left} left)")]
    SoldOut { line: usize, left: i64 },
    #[error("line {line}: there is no such flash deal for this product")]
    UnknownDeal { line: usize },
    #[error("line {line}: the flash deal has ended")]
    DealEnded { line: usize },
    #[error("line {line}: the flash deal has sold out ({left} left)")]
    DealSoldOut { line: usize, left: i64 },
    #[error("line {line}: at most {limit} per buyer in this flash deal")]
    DealLimit { line: usize, limit: i64 },
    #[error("an Idempotency-Key header (8 to 100 characters) is required")]
    MissingKey,
    #[error("this Idempotency-Key was used for a different order")]
    KeyReused,
    #[error("{field}: {key}")]
    Field {
        field: &'static str,
        key: &'static str,
    },
    #[error("the shop does not exist or is not open")]
    ShopNotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("not found")]
    NotFound,
    #[error("this record belongs to someone else")]
    NotYours,
    #[error("the return window closed on {until}")]
    WindowClosed { until: String },
    #[error("at most {max} can still be returned")]
    ReturnQuantity { max: i64 },
    #[error("this can only be done after delivery")]
    NotDelivered,
    #[error("the payment gateway refused the refund: {0}")]
    Refund(&'static str),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<crate::db::writer::WriteError> for OrderError {
    fn from(e: crate::db::writer::WriteError) -> Self {
        OrderError::Unavailable(e.0)
    }
}

impl OrderError {
    /// Whether this is the flow's own refusal, decided from what it read, rather than
    /// a failed statement or write (see `Writer::write_deferring_lazy`).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, OrderError::Db(_) | OrderError::Unavailable(_))
    }

    /// A stable code for the JSON API.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::EmptyCart => "empty_cart",
            OrderError::TooManyLines { .. } => "too_many_lines",
            OrderError::Quantity { .. } => "bad_quantity",
            OrderError::UnknownSku { .. } => "unknown_sku",
            OrderError::NotInShop { .. } => "not_in_shop",
            OrderError::SoldOut { .. } => "sold_out",
            OrderError::UnknownDeal { .. } => "unknown_deal",
            OrderError::DealEnded { .. } => "deal_ended",
            OrderError::DealSoldOut { .. } => "deal_sold_out",
            OrderError::DealLimit { .. } => "deal_limit",
            OrderError::MissingKey => "idempotency_key_missing",
            OrderError::KeyReused => "idempotency_key_reused",
            OrderError::Field { .. } => "invalid_field",
            OrderError::ShopNotFound => "shop_not_found",
            OrderError::Illegal(_) => "illegal_transition",
            OrderError::NotFound => "not_found",
            OrderError::NotYours => "forbidden",
            OrderError::WindowClosed { .. } => "return_window_closed",
            OrderError::ReturnQuantity { .. } => "return_quantity",
            OrderError::NotDelivered => "not_delivered",
            OrderError::Refund(_) => "refund_failed",
            OrderError::Unavailable(_) => "unavailable",
            OrderError::Db(e) if crate::db::is_unavailable(e) => "unavailable",
            OrderError::Db(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            OrderError::SoldOut { .. }
            | OrderError::DealSoldOut { .. }
            | OrderError::DealEnded { .. }
            | OrderError::KeyReused
            | OrderError::Illegal(_)
            | OrderError::WindowClosed { .. }
            | OrderError::NotDelivered => StatusCode::CONFLICT,
            OrderError::ShopNotFound | OrderError::NotFound => StatusCode::NOT_FOUND,
            OrderError::NotYours => StatusCode::FORBIDDEN,
            OrderError::Refund(_) => StatusCode::BAD_GATEWAY,
            OrderError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            OrderError::Db(e) if crate::db::is_unavailable(e) => StatusCode::SERVICE_UNAVAILABLE,
            OrderError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The line the problem is on, when it is on one.
    pub fn line(&self) -> Option<usize> {
        match self {
            OrderError::Quantity { line, .. }
            | OrderError::UnknownSku { line }
            | OrderError::NotInShop { line }
            | OrderError::SoldOut { line, .. }
            | OrderError::UnknownDeal { line }
            | OrderError::DealEnded { line }
            | OrderError::DealSoldOut { line, .. }
            | OrderError::DealLimit { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The message for a person, in their language.
    pub fn message(&self, locale: Locale) -> String {
        let line = self.line().map(|l| l.to_string()).unwrap_or_default();
        let text = match self {
            OrderError::TooManyLines { max } => {
                locale.tf("orders.error.too_many_lines", &[("max", &max.to_string())])
            }
            OrderError::Quantity { max, .. } => {
                locale.tf("orders.error.bad_quantity", &[("max", &max.to_string())])
            }
            OrderError::SoldOut { left, .. } => {
                locale.tf("orders.error.sold_out", &[("left", &left.to_string())])
            }
            OrderError::DealSoldOut { left, .. } => {
                locale.tf("orders.error.deal_sold_out", &[("left", &left.to_string())])
            }
            OrderError::DealLimit { limit, .. } => {
                locale.tf("orders.error.deal_limit", &[("limit", &limit.to_string())])
            }
            OrderError::Field { key, .. } => locale.t(key),
            OrderError::Illegal(t) => locale.tf(
                "orders.error.illegal_transition",
                &[
                    ("from", &locale.t(&format!("orders.status.{}", t.from))),
                    ("to", &locale.t(&format!("orders.status.{}", t.to))),
                ],
            ),
            OrderError::WindowClosed { until } => {
                locale.tf("orders.error.return_window_closed", &[("until", until)])
            }
            OrderError::ReturnQuantity { max } => {
                locale.tf("orders.error.return_quantity", &[("max", &max.to_string())])
            }
            other => locale.t(&format!("orders.error.{}", other.code())),
        };
        if line.is_empty() {
            text
        } else {
            locale.tf(
                "orders.error.on_line",
                &[("line", &line), ("message", &text)],
            )
        }
    }
}
