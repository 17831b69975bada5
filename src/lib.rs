rust_i18n::i18n!("locales", fallback = "en");

pub mod accounts;
pub mod analytics;
pub mod cli;
pub mod clock;
pub mod config;
pub mod courses;
pub mod db;
pub mod error;
pub mod health;
pub mod home;
pub mod i18n;
pub mod learning;
pub mod router;
pub mod startup;
pub mod telemetry;
pub mod web;
