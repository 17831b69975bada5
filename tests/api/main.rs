//! One integration-test binary: every test starts the real app and talks HTTP.

mod accounts;
mod analytics;
mod browser;
mod catalog_csv;
mod cli;
mod course_check;
mod courses;
mod helpers;
mod orders;
mod profile;
mod progress;
mod routes;
mod schema;
mod security;
mod selection;
mod shop_fixture;
mod supplier_api;
mod supplier_orders;
mod supplier_portal;
