//! The one place that lists every route.

use actix_web::web;

use crate::{
    accounts, analytics, courses, desk, graduation, health, home, learning, live, selection, shop,
    suppliers, web as kweb,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(crate::web::metrics::metrics))
        .route("/static/{name}", web::get().to(kweb::assets::serve))
        .configure(home::routes)
        .configure(accounts::routes)
        .configure(courses::routes::routes)
        .configure(learning::routes::routes)
        .configure(analytics::routes::routes)
        .configure(analytics::export::routes)
        .configure(selection::routes::routes)
        .configure(selection::instructor::routes)
        .configure(suppliers::portal::routes)
        .configure(suppliers::orders::routes)
        .configure(suppliers::api::routes)
        .configure(shop::api::routes)
        .configure(shop::pages::routes)
        .configure(desk::routes)
        .configure(live::routes::routes)
        .configure(graduation::routes);
}
