//! The supplier portal's order pages: routed orders, fulfilment and returns.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
