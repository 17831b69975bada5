//! Shared web plumbing: application state, the request context (session, language,
//! CSRF), page rendering, error pages, security headers and static files.

pub mod assets;
pub mod csrf;
pub mod error_pages;
pub mod metrics;
pub mod page;
pub mod security_headers;
pub mod session;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::accounts::hashing::PasswordHasher;
use crate::accounts::throttle::LoginThrottle;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{DbConn, Pool};
use crate::error::{AppError, AppResult};

pub use csrf::CsrfForm;
pub use page::PageCtx;
pub use session::{CurrentUser, SessionUser};

/// Everything a handler may need, shared by all workers.
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
    pub throttle: LoginThrottle,
    pub csrf: csrf::CsrfKey,
    pub courses: Arc<crate::courses::store::CourseStore>,
    /// The catalog as the matching engine reads it; rebuilt when the catalog changes.
    pub catalog: Arc<crate::catalog::index::SharedIndex>,
    /// Order links and sandbox-shop tokens.
    pub links: Arc<crate::orders::links::LinkKey>,
    /// Group commit: every order-flow write on SQLite; order placements on PostgreSQL,
    /// whose other writes run on the pool.
    pub writer: Arc<crate::db::writer::Writer>,
    /// Wakes the outbox worker after a commit that wrote messages.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// This instance's show worker (lease name and the engines it keeps).
    pub runner: Arc<crate::live::runner::Runner>,
    /// Request, order and backlog figures for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    /// Runs database work on the blocking pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs a write transaction through the writer: batched with other writes on SQLite.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + From<crate::db::writer::WriteError> + Send + 'static,
    {
        self.writer.write(f).await
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Rebuilds the in-memory catalog when the stored one has a newer version (another
    /// instance imported a file, say). Returns whether it was rebuilt.
    pub async fn refresh_catalog(&self) -> AppResult<bool> {
        let current = self.catalog.current().version;
        let rebuilt = self
            .db(move |conn| {
                if crate::catalog::model::version(conn)? == current {
                    return Ok(None);
                }
                let rows = crate::catalog::model::load_index_rows(conn)?;
                Ok(Some(crate::catalog::index::CatalogIndex::build(rows)))
            })
            .await?;
        match rebuilt {
            Some(index) => {
                tracing::info!(
                    version = index.version,
                    products = index.len(),
                    "catalog reloaded"
                );
                self.catalog.replace(index);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Renders a page with status 200.
pub fn render<T: Template>(page: &T) -> AppResult<HttpResponse> {
    render_with_status(page, actix_web::http::StatusCode::OK)
}

/// Renders a page, for example a form with its errors as 422.
pub fn render_with_status<T: Template>(
    page: &T,
    status: actix_web::http::StatusCode,
) -> AppResult<HttpResponse> {
    let body = page
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A 303 redirect: after a form POST the browser GETs the next page.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// Only same-site paths are followed after login or a language switch, never `//host`
/// or an absolute URL, so a crafted link cannot send someone elsewhere.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && !next.chars().any(|c| c.is_control());
    ok.then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_paths_stay_on_site() {
        assert_eq!(safe_next(Some("/learn")), Some("/learn".into()));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("/a\nb")), None);
        assert_eq!(safe_next(None), None);
    }
}
