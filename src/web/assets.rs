//! The few static files, compiled into the binary so it runs from any directory. URLs
//! carry a content hash, so browsers may cache them for a year.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::AppError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "kaibo.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/kaibo.css"),
    },
    Asset {
        name: "studio.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../static/studio.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
];

fn etag(body: &[u8]) -> String {
    hex::encode(&Sha256::digest(body)[..8])
}

pub fn css_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| format!("/static/kaibo.css?v={}", etag(ASSETS[0].body)))
}

/// The studio's live-update script, with its content hash.
pub fn studio_js_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| format!("/static/studio.js?v={}", etag(ASSETS[1].body)))
}

pub async fn serve(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name.as_str())
        .ok_or(AppError::NotFound)?;
    let tag = format!("\"{}\"", etag(asset.body));
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"));
    Ok(if matches {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    })
}
