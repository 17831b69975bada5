//! Product matching: scores every product in the catalog for a creator's profile and
//! returns the best, each with the factors that most raised its score. The weights are
//! in `weights.rs`.

pub mod engine;
pub mod profile;
pub mod weights;

pub use engine::{Filters, Match, top_matches};
pub use profile::MatchProfile;
