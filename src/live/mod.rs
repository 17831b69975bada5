//! The live studio: sandbox shows against a simulated audience (DESIGN.md "The audience
//! simulation"), live sessions where the studio is the commerce console of a real
//! stream, the fast-forward through fulfilment, and the report after a show.
//!
//! - `sim`: the deterministic audience engine (no I/O).
//! - `model`: the show records.
//! - `service`: starting a show and the trainee's actions, stamped on the show's clock.
//! - `runner`: the tick worker, one instance per show through a lease.
//! - `fulfil`: fast-forward with simulated suppliers and buyers.
//! - `report`: the figures, charts and coaching of a finished show.
//! - `routes`: the studio pages.

pub mod chart;
pub mod cli;
pub mod fulfil;
pub mod model;
pub mod report;
pub mod routes;
pub mod runner;
pub mod service;
pub mod sim;
