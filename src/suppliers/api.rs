//! The supplier JSON API for suppliers' own systems, authenticated by API keys.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
