//! Accounts: registration, login and logout, passwords, sessions, throttling, and the
//! profile (display name, language, and a trainee's creator profile).

pub mod demo;
pub mod domain;
pub mod hashing;
pub mod profile;
mod routes;
pub mod sessions;
pub mod throttle;
pub mod users;

pub use routes::EmptyForm;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/register")
            .route(web::get().to(routes::register_page))
            .route(web::post().to(routes::register)),
    )
    .service(
        web::resource("/login")
            .route(web::get().to(routes::login_page))
            .route(web::post().to(routes::login)),
    )
    .service(web::resource("/logout").route(web::post().to(routes::logout)))
    .service(
        web::resource("/account/password")
            .route(web::get().to(routes::password_page))
            .route(web::post().to(routes::change_password)),
    )
    .service(
        web::resource("/profile")
            .route(web::get().to(profile::profile_page))
            .route(web::post().to(profile::save_profile)),
    )
    .service(web::resource("/lang").route(web::post().to(routes::switch_language)));
}
