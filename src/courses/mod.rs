//! Courses and quizzes authored as markdown files: loading, checking, rendering,
//! grading, and the pages that serve them.

pub mod check;
pub mod diagnostics;
pub mod gift;
pub mod grading;
pub mod loader;
pub mod markdown;
pub mod model;
pub mod quiz;
pub mod routes;
pub mod source;
pub mod store;
