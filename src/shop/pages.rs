//! Shop pages: `/shop/<handle>`, product pages, cart, checkout, and `/orders/<secret>`.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
