//! Product selection for creators: the matched list with filters and typo-tolerant
//! search, product pages with a margin calculator, the showcase they build, and the
//! instructors' view of what trainees picked.

pub mod instructor;
pub mod routes;
pub mod showcase;
pub mod views;
