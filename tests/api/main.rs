//! One integration-test binary: every test starts the real app and talks HTTP.

mod accounts;
mod analytics;
mod browser;
mod catalog_csv;
mod cli;
mod course_check;
mod courses;
mod desk;
mod helpers;
mod live;
mod order_concurrency;
mod order_crash;
mod order_journey;
mod order_properties;
mod orders;
mod profile;
mod progress;
mod routes;
mod schema;
mod security;
mod selection;
mod shop_fixture;
mod shop_pages;
mod supplier_api;
mod supplier_orders;
mod supplier_portal;
