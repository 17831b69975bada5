//! One error type for every handler. The user's faults become 4xx with a message they
//! can act on; ours become a 500 that is logged with its cause and shows no internals.
//! The page itself is drawn by `web::error_pages`, which knows the request's language.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("missing or invalid CSRF token")]
    Csrf,
    #[error("login required")]
    LoginRequired { next: String },
    /// A request we cannot read; the message is a translation key.
    #[error("bad request: {key}")]
    BadRequest { key: &'static str, detail: String },
    #[error("too many attempts, retry in {retry_after_secs}s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the error page needs to know, carried from `error_response` to the renderer.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Translation key of the headline and explanation.
    pub key: &'static str,
    /// Extra detail safe to show (which field was wrong, for example).
    pub detail: String,
}

impl AppError {
    pub fn bad_request(key: &'static str, detail: impl Into<String>) -> Self {
        Self::BadRequest {
            key,
            detail: detail.into(),
        }
    }

    fn info(&self) -> ErrorInfo {
        let (key, detail) = match self {
            AppError::NotFound => ("errors.not_found", String::new()),
            AppError::Forbidden => ("errors.forbidden", String::new()),
            AppError::Csrf => ("errors.csrf", String::new()),
            AppError::LoginRequired { .. } => ("errors.login_required", String::new()),
            AppError::BadRequest { key, detail } => (*key, detail.clone()),
            AppError::TooManyRequests { .. } => ("errors.too_many", String::new()),
            AppError::PayloadTooLarge => ("errors.too_large", String::new()),
            AppError::Unavailable(_) => ("errors.unavailable", String::new()),
            AppError::Internal(_) => ("errors.internal", String::new()),
        };
        ErrorInfo { key, detail }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        if crate::db::is_unavailable(&err) {
            return AppError::Unavailable(format!("database: {err}"));
        }
        AppError::Internal(anyhow::Error::new(err).context("database query"))
    }
}

impl From<crate::db::writer::WriteError> for AppError {
    fn from(err: crate::db::writer::WriteError) -> Self {
        AppError::Unavailable(err.0)
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(err.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {err}"))
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(err) => tracing::error!(error = ?err, "internal error"),
            AppError::Unavailable(err) => tracing::warn!(error = %err, "service unavailable"),
            AppError::Csrf => tracing::info!("request refused: CSRF token"),
            _ => {}
        }
        let mut response = HttpResponse::new(self.status_code());
        match self {
            AppError::LoginRequired { next } => {
                let location = format!("/login?next={}", urlencode(next));
                if let Ok(value) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
            }
            AppError::TooManyRequests { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            AppError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            }
            _ => {}
        }
        response.extensions_mut().insert(self.info());
        response
    }
}

pub fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
