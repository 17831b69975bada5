//! Friendly error pages. Every 4xx/5xx response without a body of its own (our
//! `AppError`s, actix's own 404/405/413, payload errors) is drawn here, in the
//! request's language, and never shows internals: a 500 shows only a reference id
//! that matches the log line.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpResponse};
use askama::Template;

use super::page::PageCtx;
use super::session::RequestContext;
use crate::error::ErrorInfo;
use crate::i18n::Locale;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    status: u16,
    key: &'static str,
    detail: String,
    reference: Option<String>,
}

impl ErrorPage {
    fn title(&self) -> String {
        self.ctx.t(&format!("{}.title", self.key))
    }
    fn help(&self) -> String {
        self.ctx.t(&format!("{}.help", self.key))
    }
}

pub fn middleware<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(render)
}

fn default_key(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "errors.not_found",
        StatusCode::FORBIDDEN => "errors.forbidden",
        StatusCode::METHOD_NOT_ALLOWED => "errors.method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "errors.too_large",
        StatusCode::TOO_MANY_REQUESTS => "errors.too_many",
        StatusCode::SERVICE_UNAVAILABLE => "errors.unavailable",
        s if s.is_server_error() => "errors.internal",
        _ => "errors.bad_request",
    }
}

fn render<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let info = res.response().extensions().get::<ErrorInfo>().cloned();
    // A page that drew its own error (a form shown again with 422) keeps its body.
    if info.is_none() && res.response().headers().contains_key(header::CONTENT_TYPE) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let info = info.unwrap_or_else(|| ErrorInfo {
        key: default_key(status),
        detail: String::new(),
    });
    let (req, old) = res.into_parts();
    let reference = status.is_server_error().then(|| {
        req.extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default()
    });

    let mut builder = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            builder.append_header((name.clone(), value.clone()));
        }
    }
    builder.insert_header((header::CACHE_CONTROL, "no-store"));

    let new = if req.path().starts_with("/api/") {
        builder.json(serde_json::json!({
            "error": info.key.trim_start_matches("errors."),
            "message": Locale::En.t(info.key),
            "detail": info.detail,
        }))
    } else {
        let ctx = PageCtx::from_request_parts(&req).unwrap_or_else(|_| {
            let context = req.extensions().get::<RequestContext>().cloned();
            PageCtx {
                locale: context.as_ref().map(|c| c.locale).unwrap_or_else(|| {
                    req.headers()
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Locale::from_accept_language)
                        .unwrap_or_default()
                }),
                user: None,
                csrf: String::new(),
                path: "/".into(),
                flash: None,
            }
        });
        let page = ErrorPage {
            ctx,
            status: status.as_u16(),
            key: info.key,
            detail: info.detail,
            reference,
        };
        match page.render() {
            Ok(body) => builder.content_type("text/html; charset=utf-8").body(body),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                builder
                    .content_type("text/plain; charset=utf-8")
                    .body(status.canonical_reason().unwrap_or("Error").to_string())
            }
        }
    };
    let new: HttpResponse<BoxBody> = new;
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_body(|_, b| EitherBody::right(b)),
    ))
}
