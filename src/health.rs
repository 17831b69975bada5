//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use actix_web::{HttpResponse, web};

use crate::db;
use crate::web::AppState;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    match web::block(move || db::ping(&pool)).await {
        Ok(Ok(backend)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "ok", "database": backend.name()})),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({"status": "unavailable", "database": "unreachable"}))
        }
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
