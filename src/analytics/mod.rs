//! Learning analytics: item statistics, the completion funnel chart, and exports.

pub mod export;
pub mod funnel_chart;
pub mod item_analysis;
pub mod queries;
pub mod routes;
pub mod xapi;
