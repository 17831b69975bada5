//! The creator's order desk: orders with filters, an order's timeline, daily totals,
//! and the after-sales cases of their shop with notes.

use actix_web::web;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
