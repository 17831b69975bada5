//! Learning analytics: item statistics, the completion funnel chart, and exports.

pub mod funnel_chart;
pub mod item_analysis;
pub mod queries;
pub mod xapi;
