//! A trainee's learning progress: lesson completions, quiz attempts with every answer,
//! and the gating that follows from them; enrolments, visits, groups and the review queue.

pub mod cohorts;
pub mod dashboard;
pub mod enrolment;
pub mod progress;
pub mod review;
pub mod routes;
pub mod steps;
pub mod visits;
